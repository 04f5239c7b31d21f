"""Which actor HyPER deploys: the latest weights (the paper) or, as options that are not in the
paper, a moving average of the weights or the best recent snapshot. :class:`Deployment` holds them.

Selecting the best recent policy, judged on real training episodes without the env's reward, is
not in the paper either. HyPER's policy can leave a good gait for one that is stable only in the model
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

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

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


def average_in(averages: dict, actor_params, real_steps: int, time_constants: tuple[int, ...]) -> dict:
    """Moves each EMA ``ema{T}`` of the actor weights towards ``actor_params`` by ``real_steps`` steps."""
    return {
        f"ema{t}": optax.incremental_update(actor_params, averages[f"ema{t}"], 1.0 - math.exp(-real_steps / t))
        for t in time_constants
    }


class Deployment:
    """The policies HyPER can deploy besides its latest weights, and which one acts in the real env.

    ``select_epochs`` N > 0: an actor snapshot taken at each epoch's start acts for the whole epoch,
    and the deployed policy is the best of the last N by learned return (scored as
    ``eval_return_selected``). ``policy_averages`` (time constants in real steps): exponential moving
    averages of the weights, only scored (``eval_return_ema{T}``); the first deployed when there is no
    selection. Training never uses either. Without both, the latest weights act and are deployed, as
    in the paper."""

    def __init__(self, actor_params, select_epochs: int, policy_averages: tuple[int, ...]):
        self.select_epochs, self.time_constants = select_epochs, tuple(policy_averages)
        self.averages = {f"ema{t}": jax.tree.map(jnp.copy, actor_params) for t in self.time_constants}
        self.snapshots = empty(actor_params, select_epochs) if select_epochs else {}

    def trees(self) -> dict:
        """The state a checkpoint keeps."""
        return dict(averages=self.averages, snapshots=self.snapshots)

    def restore(self, trees: dict) -> Any | None:
        """Restore :meth:`trees`; returns the snapshot acting now (None: the latest weights act)."""
        self.averages, self.snapshots = trees["averages"], trees["snapshots"]
        return newest(self.snapshots) if self.select_epochs else None

    def start_epoch(self, epoch: int, env_steps: int, actor_params) -> Any | None:
        """A new epoch begins: with selection, the snapshot that acts for all of it (else None)."""
        if not self.select_epochs:
            return None
        self.snapshots = store(self.snapshots, epoch, env_steps, actor_params)
        return actor_params

    def after_update(self, actor_params, real_steps: int) -> bool:
        """Fold new weights into the averages; whether the learner should act with them now."""
        self.averages = average_in(self.averages, actor_params, real_steps, self.time_constants)
        return not self.select_epochs

    def candidates(self, latest, real: buffers.Buffer, env_steps: int, epoch_length: int, reward) -> tuple[dict, dict]:
        """The policies to score, deployed one first (``{name: actor params}``), and how it was chosen."""
        chosen, info = {}, {}
        if self.select_epochs:
            lengths, returns = episode_scores(self.snapshots, real, env_steps, epoch_length, reward)
            slot = best_slot(returns)
            chosen["selected"] = latest if slot is None else snapshot(self.snapshots, slot)  # None: no epoch over yet
            if slot is not None:
                age = env_steps - int(self.snapshots["start"][slot])
                info = dict(selected_age=age, selected_episode_length=int(lengths[slot]))
                info = {k: float(v) for k, v in dict(info, selected_learned_return=returns[slot]).items()}
        chosen.update({f"ema{t}": self.averages[f"ema{t}"] for t in self.time_constants})
        chosen["latest"] = latest
        return chosen, info
