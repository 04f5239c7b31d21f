"""Moment-matching discriminator: a cost f(s, a) whose negative is the learner's reward (spec §2).

Loss (IPM with gradient penalty): mean_expert f - mean_learner f + w * mean_i (||grad_x f(x_i)|| - c)^2
on random interpolates x_i of expert and learner pairs, with w = 10 and target norm c = 0.4.

The reference re-creates its Optimistic-Adam optimiser before every (single-step) update, so each
update is a *first* OAdam step: theta <- theta - 2 lr_k sign(g) up to eps. ``fresh_optimizer=True``
reproduces that exactly (it is the default, because the paper's results come from it);
``fresh_optimizer=False`` keeps one persistent optimiser. The step size decays as lr0 / max(k, 1)
over discriminator updates k.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, Literal

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hyirl.errors import check_choice, check_config, check_widths
from hyirl.networks import MLP
from hyirl.optim import oadam


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
    hidden: tuple[int, ...] = (256, 256)
    ensemble_size: int = 1  # > 1: min over members (optimistic reward), as HyPER uses
    clip_output: float | None = None  # e.g. 40.0: clamp f to [-40, 40]
    learning_rate: float = 8e-4
    harmonic_decay: bool = True  # lr_k = lr0 / max(k, 1)
    fresh_optimizer: bool = True  # re-create OAdam every update, as the reference does
    weight_decay: float = 0.0  # coupled L2 added to the gradient
    gp_weight: float = 10.0
    gp_target: float = 0.4
    batch_size: int = 4096  # expert and learner pairs per update, each
    # The reference's initialisation (orthogonal weights, PyTorch biases). Under sign-step updates each
    # weight moves by about 0.01 over a whole run, so the initialisation persists (docs/methods.md);
    # "lecun" is what hyirl 0.2.0 used.
    init: Literal["torch", "lecun"] = "torch"
    # Absorbing states (Kostrikov et al. 2019, DAC; not the paper's): f reads one more input, 0 on every
    # real pair and 1 on the absorbing pair that a terminal step leads into, and a terminal step's reward
    # holds the absorbing state's value (see reward_fn). The best policy then no longer depends on the
    # level of f, which moment matching leaves free and which on Ant decides whether ending pays; with
    # SAC only up to the entropy term, which living steps pay and the absorbing state does not
    # (docs/hyper.md §28).
    absorbing: bool = False

    def __post_init__(self):
        check_config(
            self,
            positive=("ensemble_size", "learning_rate", "batch_size", "clip_output"),
            non_negative=("weight_decay", "gp_weight", "gp_target"),
            problems=check_widths("disc.hidden", self.hidden)
            + check_choice("disc.init", self.init, ("torch", "lecun")),
        )


class CostEnsemble(nn.Module):
    hidden: tuple[int, ...]
    size: int
    weight_init: str

    @nn.compact
    def __call__(self, x):
        members = nn.vmap(
            MLP, variable_axes={"params": 0}, split_rngs={"params": True}, in_axes=None, out_axes=0, axis_size=self.size
        )
        return members(self.hidden, 1, self.weight_init)(x)[..., 0]  # (members, batch)


class DiscriminatorState(flax.struct.PyTreeNode):
    params: Any
    opt_state: Any
    num_updates: jax.Array


class Discriminator:
    def __init__(self, obs_dim: int, act_dim: int, cfg: DiscriminatorConfig = DiscriminatorConfig()):
        self.obs_dim, self.act_dim, self.cfg = obs_dim, act_dim, cfg
        self.input_dim = obs_dim + act_dim + int(cfg.absorbing)
        self.net = CostEnsemble(cfg.hidden, cfg.ensemble_size, cfg.init)
        self.tx = optax.inject_hyperparams(oadam)(learning_rate=cfg.learning_rate)
        self.update = jax.jit(self._update, donate_argnums=0)
        # Not jitted: jaxlib 0.10's batched LAPACK calls can deadlock when one compiled program holds two of
        # them, as the orthogonal kernels of an ensemble do (7 members of 14x256 and 256x256 hung every
        # time on a 2-vCPU machine); run eagerly, each QR is its own program (a few seconds, once per process).
        self.init = self._init

    def _init(self, key) -> DiscriminatorState:
        params = self.net.init(key, jnp.zeros((1, self.input_dim)))
        return DiscriminatorState(params=params, opt_state=self.tx.init(params), num_updates=jnp.int32(0))

    def rows(self, obs, action) -> jax.Array:
        """The discriminator's input rows for real (s, a) pairs: concat(obs, action[, 0 = not absorbing])."""
        obs, action = jnp.asarray(obs), jnp.asarray(action)
        parts = [obs, action] + ([jnp.zeros((*obs.shape[:-1], 1), obs.dtype)] if self.cfg.absorbing else [])
        return jnp.concatenate(parts, -1)

    def absorbing_row(self) -> np.ndarray:
        """The input row of the absorbing state (zero observation and action, indicator 1)."""
        return np.eye(1, self.input_dim, self.input_dim - 1, dtype=np.float32)[0]

    def learner_rows(self, real_rows, terminated: int, size: int) -> tuple[np.ndarray, int]:
        """The learner side of an update as one fixed-shape array: ``real_rows`` (from :meth:`rows`), then
        with absorbing states one absorbing row per terminated trajectory, zero-padded to ``size`` rows
        (a fixed shape keeps one compiled update); and how many rows are live (the update samples those)."""
        live = np.asarray(real_rows, np.float32)
        if self.cfg.absorbing:  # each terminal step leads into the absorbing state
            live = np.concatenate([live, np.tile(self.absorbing_row(), (terminated, 1))])
        padded = np.zeros((size, self.input_dim), np.float32)
        padded[: len(live)] = live
        return padded, len(live)

    def _f(self, params, x):
        f = self.net.apply(params, x).min(0)
        if self.cfg.clip_output is not None:
            f = jnp.clip(f, -self.cfg.clip_output, self.cfg.clip_output)
        return f

    def cost(self, params, obs, action):
        return self._f(params, self.rows(obs, action))

    def reward(self, params, batch):
        """r = -f(s, a): the SAC reward function, applied to every sampled batch."""
        return -self.cost(params, batch["obs"], batch["action"])

    def reward_fn(self, gamma: float):
        """SAC's reward function. With absorbing states a terminal step's reward also holds the value of
        the absorbing state, which loops on itself with reward -f(abs): SAC's target r + gamma (1 - d) V(s')
        is then, on a terminal step, the target of a step into that state, -f(s, a) + gamma (-f(abs)) / (1 - gamma)."""
        if not self.cfg.absorbing:
            return self.reward

        def reward(params, batch):
            absorbed = -self._f(params, jnp.asarray(self.absorbing_row())[None])[0] / (1.0 - gamma)
            return self.reward(params, batch) + gamma * batch["terminal"] * absorbed

        return reward

    def loss(self, params, expert_x, learner_x, key):
        cfg = self.cfg
        f = partial(self._f, params)
        learner_cost = f(learner_x).mean()
        moment_gap = f(expert_x).mean() - learner_cost
        mix = jax.random.uniform(key, (expert_x.shape[0], 1))
        interpolates = mix * expert_x + (1.0 - mix) * learner_x
        # f is per-sample, so the gradient of the sum holds each sample's own input gradient.
        grads = jax.grad(lambda x: f(x).sum())(interpolates)
        norms = jnp.sqrt((grads**2).sum(-1) + 1e-12)
        penalty = ((norms - cfg.gp_target) ** 2).mean()
        # The level of -f, which moment matching leaves free: on tasks that end, whether living pays.
        levels = dict(learner_reward=-learner_cost)
        if cfg.absorbing:
            levels["absorbing_reward"] = -f(jnp.asarray(self.absorbing_row())[None])[0]
        return moment_gap + cfg.gp_weight * penalty, dict(moment_gap=moment_gap, grad_penalty=penalty, **levels)

    def _update(self, state: DiscriminatorState, expert_x, learner_x, key, num_learner=None):
        """One gradient step on (expert, learner) input rows (:meth:`rows`, :meth:`absorbing_row`), sampled
        with replacement (from the first ``num_learner`` learner rows if given: padded stacks of several seeds)."""
        cfg = self.cfg
        k_expert, k_learner, k_mix = jax.random.split(key, 3)
        num_learner = learner_x.shape[0] if num_learner is None else num_learner
        expert_x = expert_x[jax.random.randint(k_expert, (cfg.batch_size,), 0, expert_x.shape[0])]
        learner_x = learner_x[jax.random.randint(k_learner, (cfg.batch_size,), 0, num_learner)]
        (loss, aux), grads = jax.value_and_grad(self.loss, has_aux=True)(state.params, expert_x, learner_x, k_mix)
        if cfg.weight_decay:
            grads = jax.tree.map(lambda g, p: g + cfg.weight_decay * p, grads, state.params)
        opt_state = self.tx.init(state.params) if cfg.fresh_optimizer else state.opt_state
        lr = cfg.learning_rate / jnp.maximum(state.num_updates, 1) if cfg.harmonic_decay else cfg.learning_rate
        opt_state = opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": lr})
        updates, opt_state = self.tx.update(grads, opt_state, state.params)
        new_state = DiscriminatorState(
            params=optax.apply_updates(state.params, updates), opt_state=opt_state, num_updates=state.num_updates + 1
        )
        return new_state, dict(loss=loss, **aux)
