"""TD3-BC (Fujimoto & Gu 2021) as pure functions, the policy optimiser of the AntMaze methods (spec §3.4).

Like :mod:`hyirl.sac`: K critic updates fused into one compiled call with sampling inside, and every
sampled batch relabelled by ``reward_fn(reward_params, batch)`` (the discriminator's −f). Four
batch modes, chosen per call:

* ``hybrid``: half the batch from the learner buffer, half from the offline buffer; actor loss
  −λ·mean Q1(s, π(s)) + MSE(π(s), a) over the **whole** batch (the BC term also pulls toward the
  learner's actions, as the reference does);
* ``learner``: the whole batch from the learner buffer; actor loss −λ·mean Q1(s, π(s));
* ``offline``: the whole batch from the offline buffer; actor loss −λ·mean Q1(s, π(s)) + MSE (the
  reference's first public version, of 2024-07-21, gave this to every method without hybrid
  batches: the online data then fed only the discriminator);
* ``bc``: the whole batch from the offline buffer; actor loss MSE only (BC initialisation), the
  critic still trained on the relabelled rewards; the actor moves on every update and the update
  counter stays put, as in the reference's latest code (``bc_delayed_actor`` for its first version).

λ = α / mean|Q1(s, π(s))|, held constant in the gradient. Target policy smoothing (noise 0.2 clipped
to ±0.5), the actor and both targets updated every ``policy_delay`` critic updates, optional critic
gradient-norm clipping and coupled L2 weight decay (added to the gradient before the optimiser, as
PyTorch's ``weight_decay``), Optimistic Adam by default.

The actor is :class:`hyirl.networks.Actor` acting with tanh(mean): its log-std head is unused, and in
exchange a TD3-BC policy is stored, evaluated and shipped exactly like a SAC one
(:class:`hyirl.sac.NumpyPolicy` with no noise).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_args

import flax.struct
import jax
import jax.numpy as jnp
import optax

from hyirl import buffers
from hyirl.errors import check_choice, check_config, check_widths
from hyirl.networks import Actor, TwinCritic
from hyirl.optim import oadam
from hyirl.sac import RewardFn, stored_reward

Mode = Literal["hybrid", "learner", "offline", "bc"]
MODES = get_args(Mode)


@dataclasses.dataclass(frozen=True)
class TD3BCConfig:
    hidden: tuple[int, ...] = (256, 256)
    batch_size: int = 256
    gamma: float = 0.99
    tau: float = 0.005
    learning_rate: float = 3e-4
    optimizer: Literal["adam", "oadam"] = "oadam"
    alpha: float = 2.5  # λ = alpha / mean |Q|
    policy_noise: float = 0.2
    noise_clip: float = 0.5
    policy_delay: int = 2
    critic_clip: float | None = None  # gradient-norm clip of the critic (HyPER antmaze: 1.0)
    actor_weight_decay: float = 0.0
    critic_weight_decay: float = 0.0
    # The batches of a method without hybrid ones: "learner" (the reference's latest code, spec §3.4)
    # or "offline" (its first public version; reference_history §1, docs/methods.md).
    single_source: Literal["learner", "offline"] = "learner"
    # BC-mode updates delay the actor like online ones and advance the update counter (the reference's
    # first public version); False: the actor moves on every BC update (its latest, spec §3.4).
    bc_delayed_actor: bool = False

    def __post_init__(self):
        check_config(
            self,
            positive=("batch_size", "learning_rate", "alpha", "policy_delay", "critic_clip"),
            non_negative=("policy_noise", "noise_clip", "actor_weight_decay", "critic_weight_decay"),
            fractions=("gamma", "tau"),
            problems=check_widths("td3.hidden", self.hidden)
            + check_choice("optimizer", self.optimizer, ("adam", "oadam"))
            + check_choice("td3.single_source", self.single_source, ("learner", "offline")),
        )


def batch_mode(hybrid: bool, cfg: TD3BCConfig) -> Mode:
    """The batches of a method's TD3-BC: hybrid ones, or ``cfg.single_source``'s."""
    return "hybrid" if hybrid else cfg.single_source


class TD3BCState(flax.struct.PyTreeNode):
    actor_params: Any
    actor_target: Any
    actor_opt: Any
    critic_params: Any
    critic_target: Any
    critic_opt: Any
    step: jax.Array  # critic updates so far, BC-mode ones not counted (unless ``bc_delayed_actor``)
    key: jax.Array


def _optimizer(cfg: TD3BCConfig, weight_decay: float, clip: float | None) -> optax.GradientTransformation:
    base = oadam(cfg.learning_rate) if cfg.optimizer == "oadam" else optax.adam(cfg.learning_rate)
    parts = [optax.clip_by_global_norm(clip)] if clip is not None else []
    if weight_decay:
        parts.append(optax.add_decayed_weights(weight_decay))
    return optax.chain(*parts, base)


class TD3BC:
    """Networks, optimisers and the compiled chunk update for one (obs_dim, act_dim, config).

    ``mode`` is the batch mode of :meth:`train_chunk` calls that do not name one; the chunk takes
    the same positional arguments as :class:`hyirl.sac.SAC`'s, so the online loops drive either.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        cfg: TD3BCConfig = TD3BCConfig(),
        *,
        reward_fn: RewardFn = stored_reward,
        mode: Mode = "hybrid",
    ):
        self.obs_dim, self.act_dim, self.cfg, self.mode = obs_dim, act_dim, cfg, mode
        # The share of offline rows in a batch, as SAC's schedule reports it (a fixed half in hybrid mode).
        self.expert_fraction = (lambda step: 0.5) if mode == "hybrid" else None
        self.actor = Actor(cfg.hidden, act_dim)
        self.critic = TwinCritic(cfg.hidden)
        self.actor_tx = _optimizer(cfg, cfg.actor_weight_decay, None)
        self.critic_tx = _optimizer(cfg, cfg.critic_weight_decay, cfg.critic_clip)
        self.reward_fn = reward_fn
        self.train_chunk = jax.jit(self._train_chunk, static_argnames=("num_updates", "mode"), donate_argnums=0)
        # One compiled program: run eagerly, the initialisers compile dozens of small ones (~0.2 s each here).
        self.init = jax.jit(self._init)

    def _init(self, key) -> TD3BCState:
        k_actor, k_critic, k_state = jax.random.split(key, 3)
        obs, act = jnp.zeros((1, self.obs_dim)), jnp.zeros((1, self.act_dim))
        actor_params = self.actor.init(k_actor, obs)
        critic_params = self.critic.init(k_critic, obs, act)
        return TD3BCState(
            actor_params=actor_params,
            actor_target=jax.tree.map(jnp.copy, actor_params),
            actor_opt=self.actor_tx.init(actor_params),
            critic_params=critic_params,
            critic_target=jax.tree.map(jnp.copy, critic_params),
            critic_opt=self.critic_tx.init(critic_params),
            step=jnp.int32(0),
            key=k_state,
        )

    def act(self, actor_params, obs):
        return jnp.tanh(self.actor.apply(actor_params, obs)[0])

    def _sample_batch(self, learner, offline, key, mode: Mode) -> dict:
        size = self.cfg.batch_size
        if mode != "hybrid":
            source = learner if mode == "learner" else offline
            return source.batch(buffers.sample_indices(source, key, size))
        k_learner, k_offline = jax.random.split(key)
        half = size // 2
        parts = (
            learner.batch(buffers.sample_indices(learner, k_learner, half)),
            offline.batch(buffers.sample_indices(offline, k_offline, size - half)),
        )
        return {f: jnp.concatenate([p[f] for p in parts]) for f in parts[0]}

    def _critic_step(self, state: TD3BCState, batch: dict, rewards, k_noise):
        """One critic update towards r + gamma (1 - terminal) min Q'(s', clip(pi'(s') + clipped noise))."""
        cfg = self.cfg
        noise = jnp.clip(
            cfg.policy_noise * jax.random.normal(k_noise, batch["action"].shape), -cfg.noise_clip, cfg.noise_clip
        )
        next_action = jnp.clip(self.act(state.actor_target, batch["next_obs"]) + noise, -1.0, 1.0)
        next_q = self.critic.apply(state.critic_target, batch["next_obs"], next_action).min(0)
        target = rewards + cfg.gamma * (1.0 - batch["terminal"]) * next_q

        def critic_loss(params):
            q = self.critic.apply(params, batch["obs"], batch["action"])
            return ((q - target) ** 2).mean(-1).sum(), q

        (c_loss, q), grads = jax.value_and_grad(critic_loss, has_aux=True)(state.critic_params)
        updates, critic_opt = self.critic_tx.update(grads, state.critic_opt, state.critic_params)
        critic_params = optax.apply_updates(state.critic_params, updates)
        return state.replace(critic_params=critic_params, critic_opt=critic_opt), c_loss, q

    def _actor_step(self, state: TD3BCState, batch: dict, mode: Mode):
        """The delayed update: the actor on −λ·Q1(s, π(s)) and/or the BC term, then both targets."""
        cfg = self.cfg

        def actor_loss(params):
            action = self.act(params, batch["obs"])
            bc = jnp.mean((action - batch["action"]) ** 2)
            if mode == "bc":
                return bc
            q1 = self.critic.apply(state.critic_params, batch["obs"], action)[0]
            lam = jax.lax.stop_gradient(cfg.alpha / jnp.abs(q1).mean())
            return -lam * q1.mean() + (0.0 if mode == "learner" else bc)

        a_loss, grads = jax.value_and_grad(actor_loss)(state.actor_params)
        updates, actor_opt = self.actor_tx.update(grads, state.actor_opt, state.actor_params)
        actor_params = optax.apply_updates(state.actor_params, updates)
        return state.replace(
            actor_params=actor_params,
            actor_opt=actor_opt,
            actor_target=optax.incremental_update(actor_params, state.actor_target, cfg.tau),
            critic_target=optax.incremental_update(state.critic_params, state.critic_target, cfg.tau),
        ), a_loss

    def _update(self, state: TD3BCState, learner, offline, reward_params, mode: Mode):
        key, k_batch, k_noise = jax.random.split(state.key, 3)
        batch = self._sample_batch(learner, offline, k_batch, mode)
        rewards = jax.lax.stop_gradient(self.reward_fn(reward_params, batch))
        state, c_loss, q = self._critic_step(state, batch, rewards, k_noise)
        if mode == "bc" and not self.cfg.bc_delayed_actor:
            # The reference counts online updates only, so during BC its actor and targets move every time.
            state, a_loss = self._actor_step(state, batch, mode)
            counted = state.step
        else:
            due = state.step % self.cfg.policy_delay == self.cfg.policy_delay - 1
            state, a_loss = jax.lax.cond(
                due, lambda s: self._actor_step(s, batch, mode), lambda s: (s, jnp.float32(jnp.nan)), state
            )
            counted = state.step + 1
        metrics = dict(critic_loss=c_loss, actor_loss=a_loss, q_mean=q.mean(), reward_mean=rewards.mean())
        return state.replace(step=counted, key=key), metrics

    def _train_chunk(
        self, state, learner, offline, reward_params, learning_rate=None, *, num_updates: int, mode: Mode | None = None
    ):
        """``num_updates`` critic updates (and every ``policy_delay``-th an actor update) in one call;
        returns the chunk's mean metrics (the actor loss over the steps that updated the actor).
        ``learning_rate`` is accepted for the loops' sake and unused: TD3-BC keeps its fixed rate (the
        reference's decay option is off everywhere, spec §3.4)."""
        mode = self.mode if mode is None else mode
        if mode not in MODES:
            raise ValueError(f"unknown TD3-BC mode {mode!r}")

        def body(state, _):
            return self._update(state, learner, offline, reward_params, mode)

        state, metrics = jax.lax.scan(body, state, None, length=num_updates)
        return state, {k: jnp.nanmean(v) for k, v in metrics.items()}
