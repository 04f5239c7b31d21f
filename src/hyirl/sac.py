"""Soft actor-critic as pure functions: K gradient updates fused into one compiled call.

The update is written for the IRL methods from the start (spec §1.3, §3):

* ``reward_fn(reward_params, batch) -> rewards`` is applied to every sampled batch, so rewards are
  relabelled with the current discriminator at update time (stored rewards are used only when the
  reward function says so, e.g. for expert training);
* each batch can mix two buffers: the first ``floor(B * expert_fraction(step))`` rows come from the
  expert buffer, the rest from the learner buffer (HyPE, spec §3.2);
* ``actor_regulariser(actor_params, apply_fn, expert_batch, key)`` adds a term to the actor loss
  (BC-Reg, spec §3.3).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Literal

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hyirl import buffers
from hyirl.errors import check_choice, check_config, check_widths
from hyirl.networks import LOG_STD_MAX, LOG_STD_MIN, Actor, TwinCritic, sample_tanh_gaussian
from hyirl.optim import oadam

RewardFn = Callable[[Any, dict], jax.Array]
FractionFn = Callable[[jax.Array], jax.Array]


def stored_reward(_params, batch):
    """Use the reward stored with each transition (expert training on the true reward)."""
    return batch["reward"]


@dataclasses.dataclass(frozen=True)
class SACConfig:
    hidden: tuple[int, ...] = (256, 256)
    batch_size: int = 256
    gamma: float = 0.99
    tau: float = 0.005
    learning_rate: float = 3e-4
    optimizer: Literal["adam", "oadam"] = "adam"  # oadam: Optimistic Adam (spec §3.1)
    init_alpha: float = 1.0
    learn_alpha: bool = True
    target_entropy: float | None = None  # None: -dim(A)
    target_update_every: int = 1  # soft target update every n gradient steps (pytorch_sac: 4, spec §3.5)
    # Actor and critic initialisation: "lecun" (flax's default, hyirl's since 0.1.0), "torch-default"
    # (PyTorch's nn.Linear default, which the reference's SB3 networks start from) or "xavier"
    # (Xavier-uniform weights, zero biases: the reference's pytorch_sac in HyPER, spec §3.5).
    init: Literal["lecun", "torch-default", "xavier"] = "lecun"
    # The value an expert row of a hybrid batch bootstraps from: "policy" (the reference's soft target
    # through the actor's action at the expert's next state) or "expert-action" (the expert's recorded
    # next action, no entropy term), so the critic is never read at the actor's own action on expert
    # states, which only the expert's one action per state fits (not the paper's; results/README.md).
    expert_bootstrap: Literal["policy", "expert-action"] = "policy"
    # A terminal step's target also holds the entropy term that living on would pay: the batch's mean
    # -alpha log pi(a'|s') at every later step, gamma (that mean) / (1 - gamma). With disc.absorbing,
    # ending and living then differ in f only, not in SAC's entropy cost, which made Humanoid's learner
    # fall (not the paper's; docs/hyper.md §28, §29).
    terminal_entropy: bool = False

    def __post_init__(self):
        check_config(
            self,
            positive=("batch_size", "learning_rate", "init_alpha", "target_update_every"),
            fractions=("gamma", "tau"),
            problems=check_widths("sac.hidden", self.hidden)
            + check_choice("optimizer", self.optimizer, ("adam", "oadam"))
            + check_choice("init", self.init, ("lecun", "torch-default", "xavier"))
            + check_choice("expert_bootstrap", self.expert_bootstrap, ("policy", "expert-action")),
        )


class SACState(flax.struct.PyTreeNode):
    actor_params: Any
    actor_opt: Any
    critic_params: Any
    critic_target: Any
    critic_opt: Any
    log_alpha: jax.Array
    alpha_opt: Any
    step: jax.Array  # batches sampled so far: the clock of the expert-fraction schedule (spec §10.27)
    key: jax.Array


def _optimizer(cfg: SACConfig, learning_rate=None):
    lr = cfg.learning_rate if learning_rate is None else learning_rate
    base = oadam if cfg.optimizer == "oadam" else optax.adam

    def make(learning_rate):  # only the learning rate lives in the state (b1, b2, eps stay constants)
        return base(learning_rate)

    # The learning rate is a hyper-parameter in the state, so the host can change it between chunks.
    return optax.inject_hyperparams(make)(learning_rate=lr)


class SAC:
    """Networks, optimisers and the compiled chunk update for one (obs_dim, act_dim, config)."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        cfg: SACConfig = SACConfig(),
        *,
        reward_fn: RewardFn = stored_reward,
        expert_fraction: FractionFn | None = None,
        actor_regulariser: Callable | None = None,
    ):
        self.obs_dim, self.act_dim, self.cfg = obs_dim, act_dim, cfg
        self.actor = Actor(cfg.hidden, act_dim, cfg.init)
        self.critic = TwinCritic(cfg.hidden, cfg.init)
        self.tx = _optimizer(cfg)
        self.alpha_tx = optax.inject_hyperparams(optax.adam)(learning_rate=cfg.learning_rate)
        self.target_entropy = -float(act_dim) if cfg.target_entropy is None else float(cfg.target_entropy)
        self.reward_fn = reward_fn
        self.expert_fraction = expert_fraction
        self.actor_regulariser = actor_regulariser
        self.train_chunk = jax.jit(self._train_chunk, static_argnames="num_updates", donate_argnums=0)
        # One compiled program: run eagerly, the initialisers compile dozens of small ones (~0.2 s each here).
        self.init = jax.jit(self._init)

    def _init(self, key) -> SACState:
        k_actor, k_critic, k_state = jax.random.split(key, 3)
        obs = jnp.zeros((1, self.obs_dim))
        act = jnp.zeros((1, self.act_dim))
        actor_params = self.actor.init(k_actor, obs)
        critic_params = self.critic.init(k_critic, obs, act)
        log_alpha = jnp.log(jnp.float32(self.cfg.init_alpha))
        return SACState(
            actor_params=actor_params,
            actor_opt=self.tx.init(actor_params),
            critic_params=critic_params,
            critic_target=jax.tree.map(jnp.copy, critic_params),
            critic_opt=self.tx.init(critic_params),
            log_alpha=log_alpha,
            alpha_opt=self.alpha_tx.init(log_alpha),
            step=jnp.int32(0),
            key=k_state,
        )

    # --- one gradient step ------------------------------------------------------------------------
    def _sample_batch(self, step, learner: buffers.Buffer, expert: buffers.Buffer | None, key):
        k_learner, k_expert = jax.random.split(key)
        size = self.cfg.batch_size
        batch = learner.batch(buffers.sample_indices(learner, k_learner, size))
        if expert is None or self.expert_fraction is None:
            return batch, None
        expert_batch = expert.batch(buffers.sample_indices(expert, k_expert, size))
        n_expert = jnp.floor(size * self.expert_fraction(step)).astype(jnp.int32)
        from_expert = jnp.arange(size) < n_expert
        mixed = {
            f: jnp.where(from_expert.reshape((-1,) + (1,) * (v.ndim - 1)), expert_batch[f], v) for f, v in batch.items()
        }
        if self.cfg.expert_bootstrap == "expert-action":
            mixed["expert_next_action"] = jnp.where(from_expert[:, None], expert_batch["next_action"], jnp.nan)
        return mixed, expert_batch

    def _update(self, state: SACState, learner, expert, reward_params, lr, actor_lr):
        key, k_batch, k_next, k_pi, k_reg = jax.random.split(state.key, 5)
        batch, expert_batch = self._sample_batch(state.step, learner, expert, k_batch)
        k_reg_rows, k_reg = jax.random.split(k_reg)  # BC-Reg's expert rows and its action noise: two draws
        if self.actor_regulariser is not None and expert_batch is None:
            expert_batch = expert.batch(buffers.sample_indices(expert, k_reg_rows, self.cfg.batch_size))
        alpha = jnp.exp(state.log_alpha)
        rewards = jax.lax.stop_gradient(self.reward_fn(reward_params, batch))
        critic_params, critic_opt, c_loss, q = self._critic_step(state, batch, rewards, alpha, lr, k_next)
        actor_params, actor_opt, a_loss, log_prob = self._actor_step(
            state, critic_params, batch, expert_batch, alpha, actor_lr, (k_pi, k_reg)
        )
        log_alpha, alpha_opt = self._temperature_step(state, log_prob, lr)
        critic_target = optax.incremental_update(critic_params, state.critic_target, self.cfg.tau)
        if self.cfg.target_update_every > 1:
            due = (state.step + 1) % self.cfg.target_update_every == 0
            critic_target = jax.tree.map(lambda new, old: jnp.where(due, new, old), critic_target, state.critic_target)
        new_state = state.replace(
            actor_params=actor_params,
            actor_opt=actor_opt,
            critic_params=critic_params,
            critic_target=critic_target,
            critic_opt=critic_opt,
            log_alpha=log_alpha,
            alpha_opt=alpha_opt,
            step=state.step + 1,
            key=key,
        )
        metrics = dict(
            critic_loss=c_loss,
            actor_loss=a_loss,
            alpha=alpha,
            q_mean=q.mean(),
            entropy=-log_prob.mean(),
            reward_mean=rewards.mean(),
        )
        return new_state, metrics

    def _critic_step(self, state: SACState, batch: dict, rewards, alpha, lr, k_next):
        """Both critics towards the soft TD target (:meth:`td_target`)."""
        target = self.td_target(state, batch, rewards, alpha, k_next)

        def critic_loss(params):
            q = self.critic.apply(params, batch["obs"], batch["action"])
            return 0.5 * ((q - target) ** 2).mean(-1).sum(), q

        (c_loss, q), grads = jax.value_and_grad(critic_loss, has_aux=True)(state.critic_params)
        updates, critic_opt = self.tx.update(grads, _with_lr(state.critic_opt, lr), state.critic_params)
        return optax.apply_updates(state.critic_params, updates), critic_opt, c_loss, q

    def td_target(self, state: SACState, batch: dict, rewards, alpha, k_next):
        """y = r + gamma (1 - terminal) (min target Q(s', a') - alpha log pi(a'|s')), with a' ~ pi(s')."""
        next_action, next_log_prob = sample_tanh_gaussian(
            *self.actor.apply(state.actor_params, batch["next_obs"]), k_next
        )
        policy_log_prob = next_log_prob
        if "expert_next_action" in batch:  # expert rows with a recorded next action bootstrap through it
            recorded = ~jnp.isnan(batch["expert_next_action"]).any(-1)
            next_action = jnp.where(recorded[:, None], batch["expert_next_action"], next_action)
            next_log_prob = jnp.where(recorded, 0.0, next_log_prob)
        next_q = self.critic.apply(state.critic_target, batch["next_obs"], next_action).min(0)
        target = rewards + self.cfg.gamma * (1.0 - batch["terminal"]) * (next_q - alpha * next_log_prob)
        if self.cfg.terminal_entropy:
            living_entropy_term = -alpha * policy_log_prob.mean()  # the policy's own, not a recorded action's
            target += self.cfg.gamma * batch["terminal"] * living_entropy_term / (1.0 - self.cfg.gamma)
        return target

    def _actor_step(self, state: SACState, critic_params, batch: dict, expert_batch, alpha, actor_lr, keys):
        """The actor on mean(alpha log pi(a|s) - min Q(s, a)) with the freshly updated critic (as SB3
        does), plus BC-Reg's term on expert rows when there is one."""
        k_pi, k_reg = keys

        def actor_loss(params):
            action, log_prob = sample_tanh_gaussian(*self.actor.apply(params, batch["obs"]), k_pi)
            loss = (alpha * log_prob - self.critic.apply(critic_params, batch["obs"], action).min(0)).mean()
            if self.actor_regulariser is not None:
                loss = loss + self.actor_regulariser(params, self.actor.apply, expert_batch, k_reg)
            return loss, log_prob

        (a_loss, log_prob), grads = jax.value_and_grad(actor_loss, has_aux=True)(state.actor_params)
        updates, actor_opt = self.tx.update(grads, _with_lr(state.actor_opt, actor_lr), state.actor_params)
        return optax.apply_updates(state.actor_params, updates), actor_opt, a_loss, log_prob

    def _temperature_step(self, state: SACState, log_prob, lr):
        """log alpha down the gradient of -log_alpha * (log pi + target_entropy), when alpha is learned."""
        if not self.cfg.learn_alpha:
            return state.log_alpha, state.alpha_opt
        alpha_grad = -jnp.mean(jax.lax.stop_gradient(log_prob) + self.target_entropy)
        updates, alpha_opt = self.alpha_tx.update(alpha_grad, _with_lr(state.alpha_opt, lr), state.log_alpha)
        return optax.apply_updates(state.log_alpha, updates), alpha_opt

    def _train_chunk(self, state, learner, expert, reward_params, lr, actor_lr=None, *, num_updates: int):
        """``num_updates`` gradient steps in one compiled call; returns the chunk's mean metrics.
        ``actor_lr`` (default ``lr``) lets the actor follow its own schedule (HyPER, spec §3.5)."""
        actor_lr = lr if actor_lr is None else actor_lr

        def body(state, _):
            return self._update(state, learner, expert, reward_params, lr, actor_lr)

        state, metrics = jax.lax.scan(body, state, None, length=num_updates)
        return state, jax.tree.map(jnp.mean, metrics)


def _with_lr(opt_state, lr):
    return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": jnp.asarray(lr, jnp.float32)})


def numpy_layers(mlp_params) -> list[tuple[np.ndarray, np.ndarray]]:
    """One flax ``MLP``'s (kernel, bias) pairs in layer order, as float64 NumPy arrays."""
    names = sorted(mlp_params, key=lambda n: int(n.split("_")[-1]))
    return [
        (np.asarray(mlp_params[n]["kernel"], np.float64), np.asarray(mlp_params[n]["bias"], np.float64)) for n in names
    ]


def numpy_mlp(layers, x) -> np.ndarray:
    """The ReLU MLP over ``layers`` ((kernel, bias) pairs) evaluated in NumPy."""
    for kernel, bias in layers[:-1]:
        x = np.maximum(x @ kernel + bias, 0.0)
    kernel, bias = layers[-1]
    return x @ kernel + bias


class NumpyPolicy:
    """The actor evaluated in NumPy: a jitted call costs ~210 µs at batch 1, NumPy ~15 µs (perf probe)."""

    def __init__(self, actor_params):
        self.layers = numpy_layers(jax.device_get(actor_params)["params"]["MLP_0"])

    @property
    def act_dim(self) -> int:
        return self.layers[-1][1].shape[0] // 2

    def mean_and_std(self, obs) -> tuple[np.ndarray, np.ndarray]:
        """The Gaussian's mean and std before the tanh squashing."""
        mean, log_std = np.split(numpy_mlp(self.layers, np.asarray(obs, np.float64)), 2, axis=-1)
        return mean, np.exp(np.clip(log_std, LOG_STD_MIN, LOG_STD_MAX))

    def __call__(self, obs, noise=None):
        """Deterministic action tanh(mean) if ``noise`` is None, else a squashed Gaussian sample."""
        mean, std = self.mean_and_std(obs)
        return np.tanh(mean if noise is None else mean + std * noise)


def actor_flat_params(actor_params) -> dict[str, np.ndarray]:
    """Actor parameters as a flat ``{"MLP_0/Dense_0/kernel": array}`` dict (safe to store as .npz)."""
    flat = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(jax.device_get(actor_params)["params"])[0]:
        flat["/".join(p.key for p in path)] = np.asarray(leaf)
    return flat
