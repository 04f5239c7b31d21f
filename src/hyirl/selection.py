"""Deploying the best recent policy, judged on real training episodes without the env's reward.

Not in the paper. HyPER's policy can leave a good gait for one that is stable only in the model
(docs/hyper.md §8), while its discriminator still ranks the better policy's real episodes higher. With
policy selection the real env is driven, for a whole epoch, by a snapshot of the actor taken at the
epoch's start, so the epoch's first episode (from the reset at its start to its first termination, at
most an epoch long) scores that snapshot. The deployed policy is the snapshot whose episode has the
highest learned return under the current discriminator, among the last ``slots`` epochs: the
objective SAC maximises, measured on real episodes instead of model rollouts (a fall ends the sum
early, as a terminal ends the Q target). The env's reward is never read, and no extra real step is
taken: the episodes are the training data.

The snapshots live in a fixed-size ring (a pytree with a leading slot axis), so they checkpoint like
any other state.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers


def empty(actor_params: Any, slots: int) -> dict:
    """A ring of ``slots`` actor snapshots; ``start`` is the real step at which each epoch began (-1: empty)."""
    return dict(
        params=jax.tree.map(lambda x: jnp.zeros((slots, *x.shape), x.dtype), actor_params),
        start=jnp.full(slots, -1, jnp.int32),
    )


def store(snapshots: dict, epoch: int, env_steps: int, actor_params: Any) -> dict:
    """Snapshot ``actor_params`` for the epoch numbered ``epoch`` that starts at real step ``env_steps``."""
    slot = epoch % snapshots["start"].shape[0]
    return dict(
        params=jax.tree.map(lambda ring, x: jnp.asarray(ring).at[slot].set(x), snapshots["params"], actor_params),
        start=jnp.asarray(snapshots["start"]).at[slot].set(env_steps),
    )


def snapshot(snapshots: dict, slot: int) -> Any:
    return jax.tree.map(lambda ring: ring[slot], snapshots["params"])


def newest(snapshots: dict) -> Any | None:
    """The snapshot of the latest epoch: the one acting now (None before the first epoch)."""
    start = np.asarray(snapshots["start"])
    return snapshot(snapshots, int(start.argmax())) if start.max() >= 0 else None


def episode_scores(
    snapshots: dict, real: buffers.Buffer, env_steps: int, epoch_length: int, reward: Callable[[dict], jax.Array]
) -> tuple[np.ndarray, np.ndarray]:
    """Per slot: the length and the learned return of its epoch's first episode.

    Every real step is one row of ``real``, so the epoch that began at step s starts
    ``env_steps - s`` rows before the newest. Slots that are empty, whose epoch is not over, or whose
    rows were overwritten get length -1."""
    start = np.asarray(snapshots["start"])
    age = env_steps - start
    usable = (start >= 0) & (age >= epoch_length) & (age <= int(real.size))
    rows = (int(real.ptr) - age[:, None] + np.arange(epoch_length)) % real.capacity
    terminal = np.asarray(real.terminal[rows]) > 0
    # the first episode runs to its first termination (that step included) or to the epoch's end
    length = np.where(terminal.any(1), terminal.argmax(1) + 1, epoch_length)
    step_rewards = np.asarray(reward(dict(obs=real.obs[rows.ravel()], action=real.action[rows.ravel()])))
    in_episode = np.arange(epoch_length) < length[:, None]
    returns = (step_rewards.reshape(rows.shape) * in_episode).sum(1)
    return np.where(usable, length, -1), np.where(usable, returns, -np.inf)


def best_slot(returns: np.ndarray) -> int | None:
    """The slot with the highest learned return (None if no slot is usable)."""
    return int(np.argmax(returns)) if np.isfinite(returns).any() else None
