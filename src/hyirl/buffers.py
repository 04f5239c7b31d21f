"""Replay buffers that live on the accelerator, so sampling happens inside the fused update.

A buffer is an immutable pytree; :func:`insert` is jitted with buffer donation, so adding a chunk of
transitions updates the arrays in place instead of copying a million rows.
"""

from __future__ import annotations

from functools import partial

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

FIELDS = ("obs", "action", "next_obs", "reward", "terminal")


@flax.struct.dataclass
class Buffer:
    obs: jax.Array
    action: jax.Array
    next_obs: jax.Array
    reward: jax.Array
    terminal: jax.Array  # 1.0 where the episode ended by termination (not by time limit)
    size: jax.Array
    ptr: jax.Array
    # Expert rows only: the action recorded at next_obs (NaN where the trajectory ends there), for SAC's
    # expert_bootstrap="expert-action"; learner buffers have none.
    next_action: jax.Array | None = None

    @property
    def capacity(self) -> int:
        return self.obs.shape[0]

    def batch(self, idx) -> dict[str, jax.Array]:
        rows = {f: getattr(self, f)[idx] for f in FIELDS}
        if self.next_action is not None:
            rows["next_action"] = self.next_action[idx]
        return rows


def empty(capacity: int, obs_dim: int, act_dim: int) -> Buffer:
    z = partial(jnp.zeros, dtype=jnp.float32)
    return Buffer(
        obs=z((capacity, obs_dim)),
        action=z((capacity, act_dim)),
        next_obs=z((capacity, obs_dim)),
        reward=z((capacity,)),
        terminal=z((capacity,)),
        size=jnp.int32(0),
        ptr=jnp.int32(0),
    )


def from_arrays(**arrays: np.ndarray) -> Buffer:
    """A full buffer holding fixed data (e.g. expert transitions)."""
    n = len(arrays["obs"])
    cols = {f: jnp.asarray(arrays[f], jnp.float32) for f in FIELDS}
    return Buffer(**cols, size=jnp.int32(n), ptr=jnp.int32(0))


@partial(jax.jit, donate_argnums=0)
def insert(buffer: Buffer, chunk: dict[str, jax.Array], mask: jax.Array | None = None) -> Buffer:
    """Append a chunk of transitions (FIFO: the oldest rows are overwritten when full).

    ``mask`` keeps only the rows where it is true (model rollouts drop steps after a terminal) with
    fixed shapes, so one compiled insert serves every chunk of that size.
    """
    n = chunk["obs"].shape[0]
    keep = jnp.ones(n, bool) if mask is None else mask.astype(bool)
    offset = jnp.cumsum(keep) - 1
    # Dropped rows are sent past the end of the array, where ``mode="drop"`` ignores them.
    idx = jnp.where(keep, (buffer.ptr + offset) % buffer.capacity, buffer.capacity)
    cols = {f: getattr(buffer, f).at[idx].set(chunk[f].astype(jnp.float32), mode="drop") for f in FIELDS}
    added = keep.sum().astype(jnp.int32)
    return buffer.replace(
        **cols, ptr=(buffer.ptr + added) % buffer.capacity, size=jnp.minimum(buffer.size + added, buffer.capacity)
    )


def sample_indices(buffer: Buffer, key, n: int, newest: int | None = None):
    """Uniform over the ``size`` newest rows (counted back from ``ptr``), or over the ``newest`` ones."""
    age = jax.random.randint(key, (n,), 0, buffer.size if newest is None else jnp.minimum(buffer.size, newest))
    return (buffer.ptr - 1 - age) % buffer.capacity


def recent_indices(buffer: Buffer, n: int, rows: int | None = None) -> jax.Array:
    """Rows of the ``n`` most recently inserted transitions, oldest first; with ``rows`` (>= n) padded to
    that many by the rows after them (a fixed shape for a compiled consumer)."""
    return (buffer.ptr - n + jnp.arange(n if rows is None else rows)) % buffer.capacity


def recent_pairs(buffer: Buffer, n: int, rows: int | None = None) -> jax.Array:
    """concat(obs, action) of :func:`recent_indices`."""
    idx = recent_indices(buffer, n, rows)
    return jnp.concatenate([buffer.obs[idx], buffer.action[idx]], -1)


def to_numpy(buffer: Buffer) -> dict[str, np.ndarray]:
    """The ``size`` live rows, oldest first, and the capacity: a compact, layout-free checkpoint.

    Sampling counts rows back from ``ptr``, so a buffer rebuilt by :func:`from_numpy` samples exactly
    the same transitions from the same keys."""
    size = int(buffer.size)
    rows = (int(buffer.ptr) - size + np.arange(size)) % buffer.capacity
    out = {f: np.asarray(getattr(buffer, f))[rows] for f in FIELDS}
    out["capacity"] = np.int64(buffer.capacity)
    return out


def from_numpy(data: dict[str, np.ndarray], capacity: int | None = None) -> Buffer:
    """Rebuild a :func:`to_numpy` buffer, optionally with another capacity (keeping the newest rows)."""
    if "capacity" not in data:  # checkpoints written before 2026-11-24 hold the raw arrays
        cols = {f: jnp.asarray(data[f], jnp.float32) for f in FIELDS}
        return Buffer(**cols, size=jnp.int32(int(data["size"])), ptr=jnp.int32(int(data["ptr"])))
    capacity = int(data["capacity"]) if capacity is None else capacity
    rows = {f: np.asarray(data[f])[-capacity:] for f in FIELDS}
    buffer = empty(capacity, data["obs"].shape[1], data["action"].shape[1])
    n = len(rows["obs"])
    cols = {f: getattr(buffer, f).at[:n].set(jnp.asarray(rows[f], jnp.float32)) for f in FIELDS}
    return buffer.replace(**cols, size=jnp.int32(n), ptr=jnp.int32(n % capacity))


def resize(buffer: Buffer, capacity: int) -> Buffer:
    """The same FIFO buffer with another capacity (the newest rows are kept)."""
    return from_numpy(to_numpy(buffer), capacity)
