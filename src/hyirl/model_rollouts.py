"""HyPER's model side (spec §5.2, §5.6): compiled rollouts of the policy in the learned dynamics
ensemble, the learned reward stored with each model transition and kept current after discriminator
updates, AntMaze's sliding-window expert start states, and one model event (refit, then roll out).
The loop that schedules them is :mod:`hyirl.hyper`."""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers
from hyirl.dynamics import Dynamics
from hyirl.networks import sample_tanh_gaussian
from hyirl.sac import RewardFn


def make_model_rollout(
    agent, dynamics: Dynamics, done_fn, uncertainty_penalty: float = 0.0, action_noise: float | None = None
):
    """Compiled L-step rollouts of the stochastic policy in the model; rows after a terminal are masked.
    A transition's reward field holds its uncertainty penalty; the discriminator's reward is added at update time.
    With ``action_noise`` (TD3) the actions are tanh(mean) + N(0, noise²), clipped to [-1, 1]."""

    @partial(jax.jit, static_argnames="length")
    def rollout(model_state, actor_params, start_obs, key, *, length: int):
        def step(carry, key):
            obs, alive = carry
            k_act, k_model = jax.random.split(key)
            if action_noise is None:
                action, _ = sample_tanh_gaussian(*agent.actor.apply(actor_params, obs), k_act)
            else:
                noise = action_noise * jax.random.normal(k_act, (obs.shape[0], agent.act_dim))
                action = jnp.clip(agent.act(actor_params, obs) + noise, -1.0, 1.0)
            next_obs = dynamics.sample_next(model_state, obs, action, k_model)
            done = done_fn(next_obs)
            next_obs = jnp.where(jnp.isfinite(next_obs), next_obs, 0.0)  # keeps 0 * NaN out of the targets
            penalty = jnp.zeros(len(obs))
            if uncertainty_penalty:
                penalty = -uncertainty_penalty * dynamics.disagreement(model_state, obs, action)
            transition = dict(
                obs=obs, action=action, next_obs=next_obs, reward=penalty, terminal=done.astype(jnp.float32)
            )
            return (next_obs, alive & ~done), (transition, alive)

        alive = jnp.ones(start_obs.shape[0], bool)
        _, (steps, valid) = jax.lax.scan(step, (start_obs, alive), jax.random.split(key, length))
        flat = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), steps)
        return flat, valid.reshape(-1)

    return rollout


def make_learned_rewards(reward_fn: RewardFn, rows_per_call: int = 4096):
    """``rewards(disc_params, transitions)``: the learned reward (:meth:`Discriminator.reward_fn`: -f(s, a),
    with absorbing states plus a terminal step's absorbing value) of every row of a buffer or rollout
    (``obs``, ``action``, ``terminal``), ``rows_per_call`` rows at a time so that a million rows need no
    more memory than a few thousand."""

    @jax.jit
    def rewards(disc_params, transitions):
        rows = {k: transitions[k] for k in ("obs", "action", "terminal")}
        return jax.lax.map(partial(reward_fn, disc_params), rows, batch_size=rows_per_call)

    return rewards


def make_relabel(reward_fn: RewardFn, block: int = 4096):
    """``relabel(buffer, disc_params, count, old_params=None)``: the stored rewards of the ``count`` oldest
    rows set to the learned reward of ``disc_params`` (see :func:`make_learned_rewards`), ``block`` rows at
    a time (one compiled loop for any count). With ``old_params``, the discriminator they were labelled
    with, each row keeps what its reward held besides the learned reward (the uncertainty penalty)."""

    @partial(jax.jit, donate_argnums=0)
    def relabel(buffer: buffers.Buffer, disc_params, count, old_params=None) -> buffers.Buffer:
        size = min(block, buffer.capacity)  # a block never holds one row twice
        oldest = buffer.ptr - buffer.size

        def body(i, reward):
            age = i * size + jnp.arange(size)
            rows = (oldest + age) % buffer.capacity
            batch = dict(obs=buffer.obs[rows], action=buffer.action[rows], terminal=buffer.terminal[rows])
            new = reward_fn(disc_params, batch)
            if old_params is not None:
                new = new + reward[rows] - reward_fn(old_params, batch)
            return reward.at[rows].set(jnp.where(age < count, new, reward[rows]))

        reward = jax.lax.fori_loop(0, (count + size - 1) // size, body, buffer.reward)
        return buffer.replace(reward=reward)

    return relabel


def sliding_window_rows(
    ends: np.ndarray,
    env_steps: int,
    n: int,
    rng: np.random.Generator,
    *,
    horizon: int = 1000,
    span: int = 150_000,
    width: float = 0.1,
) -> np.ndarray:
    """Rows of AntMaze start states in a time window sliding back over training (spec §5.6).

    Trajectories (rows up to and including the next one marked in ``ends``, see
    :func:`~hyirl.demos.trajectory_ends`) are picked uniformly and stretched to ``horizon`` steps by
    repeating states, and the time index is uniform in [low, high) with low = floor((1 - env_steps /
    span) * horizon) and high = min(horizon, low + width * horizon): early on the starts lie near
    the trajectories' ends, where their goals are, and the window reaches their starts after ``span``
    real steps. At 0 steps the window is the last step, and past ``span`` it stays at the start (the
    reference's empty range at 0 and negative indices past ``span``, which wrap round to the ends,
    are avoided).
    """
    ends = np.asarray(ends, bool)
    starts = np.concatenate([[0], np.flatnonzero(ends[:-1]) + 1])
    lengths = np.diff(np.append(starts, len(ends)))
    low = min(horizon - 1, max(0, math.floor((1.0 - env_steps / span) * horizon)))
    high = min(horizon, max(low + 1, math.floor((1.0 - env_steps / span + width) * horizon)))
    trajectory = rng.integers(len(starts), size=n)
    t = rng.integers(low, high, size=n)
    return starts[trajectory] + t * lengths[trajectory] // horizon


def refit_and_roll_out(
    cfg, dynamics, rollout, label, model_state, model_buffer, hybrid, learner, expert, expert_rows, rng, fit_index,
    on_fit_epoch=None,
):  # fmt: skip
    """One model event: fit the ensemble on the hybrid buffer (``on_fit_epoch`` sees each epoch, as
    ``Dynamics.fit``'s ``on_epoch``), then fill the model buffer with rollouts, each transition stored
    with its learned reward ``label(transitions)``. Expert start states are the rows
    ``expert_rows(n, key)`` of ``expert``."""
    model_state, info = dynamics.fit(model_state, hybrid, rng, first=fit_index == 0, on_epoch=on_fit_epoch)
    key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed + 40_000), fit_index)
    k_start, k_roll = jax.random.split(key)
    n, window = cfg.rollouts_per_fit, cfg.learner_start_window
    if cfg.start_coin == "event":  # the reference: all starts from one source, chosen per event (spec §10.9)
        from_expert = rng.random() < cfg.expert_start_prob
        if from_expert:
            start_obs = expert.obs[expert_rows(n, k_start)]
        else:
            start_obs = learner.buffer.obs[buffers.sample_indices(learner.buffer, k_start, n, window)]
    else:  # a coin per start state: every fit holds the same expert/learner mix
        k_expert, k_learner, k_coin = jax.random.split(k_start, 3)
        from_expert = jax.random.uniform(k_coin, (n, 1)) < cfg.expert_start_prob
        start_obs = jnp.where(
            from_expert,
            expert.obs[expert_rows(n, k_expert)],
            learner.buffer.obs[buffers.sample_indices(learner.buffer, k_learner, n, window)],
        )
    length = cfg.rollout_length(learner.env_steps)
    transitions, valid = rollout(model_state, learner.state.actor_params, start_obs, k_roll, length=length)
    transitions["reward"] = transitions["reward"] + label(transitions)
    if cfg.model_window(length) > model_buffer.capacity:  # L grew: keep more transitions (spec §5.2)
        model_buffer = buffers.resize(model_buffer, cfg.model_window(length))
    model_buffer = buffers.insert(model_buffer, transitions, valid)
    info.update(
        rollout_from_expert=float(jnp.mean(from_expert)),
        rollout_kept=float(valid.mean()),
        rollout_rows=int(valid.sum()),
    )
    return model_state, model_buffer, info
