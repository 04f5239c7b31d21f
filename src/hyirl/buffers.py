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

    @property
    def capacity(self) -> int:
        return self.obs.shape[0]

    def batch(self, idx) -> dict[str, jax.Array]:
        return {f: getattr(self, f)[idx] for f in FIELDS}


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
def insert(buffer: Buffer, chunk: dict[str, jax.Array]) -> Buffer:
    """Append a chunk of transitions (FIFO: the oldest rows are overwritten when full)."""
    n = chunk["obs"].shape[0]
    idx = (buffer.ptr + jnp.arange(n)) % buffer.capacity
    cols = {f: getattr(buffer, f).at[idx].set(chunk[f].astype(jnp.float32)) for f in FIELDS}
    return buffer.replace(
        **cols, ptr=(buffer.ptr + n) % buffer.capacity, size=jnp.minimum(buffer.size + n, buffer.capacity)
    )


def sample_indices(buffer: Buffer, key, n: int):
    return jax.random.randint(key, (n,), 0, buffer.size)


def recent_pairs(buffer: Buffer, n: int) -> jax.Array:
    """concat(obs, action) of the ``n`` most recently inserted transitions."""
    idx = (buffer.ptr - n + jnp.arange(n)) % buffer.capacity
    return jnp.concatenate([buffer.obs[idx], buffer.action[idx]], -1)


def to_numpy(buffer: Buffer) -> dict[str, np.ndarray]:
    size = int(buffer.size)
    out = {f: np.asarray(getattr(buffer, f)) for f in FIELDS}
    out.update(size=np.int64(size), ptr=np.int64(int(buffer.ptr)))
    return out


def from_numpy(data: dict[str, np.ndarray]) -> Buffer:
    cols = {f: jnp.asarray(data[f], jnp.float32) for f in FIELDS}
    return Buffer(**cols, size=jnp.int32(int(data["size"])), ptr=jnp.int32(int(data["ptr"])))
