"""bf16 matmuls on this CPU (AVX-512 BF16): what they give a chain of matmuls and a whole SAC update.

Issue 25 listed bf16 matmuls as an idea to measure. Two measurements, in one process, each the
median of ``--reps`` timed repetitions, fp32 right before bf16, so that a steady load on the machine
slows both alike:

  * a chain of dependent (B x k) @ (k x k) matmuls with a tanh between them (so XLA cannot hoist
    them), fp32 against bf16 operands with fp32 accumulation and bf16 results;
  * hyirl's SAC update (64 fused per call, batch 256) for the Hopper and Humanoid network sizes, fp32
    against mixed precision: every Dense layer multiplies bf16 copies of its input and kernel with
    fp32 accumulation, and its backward matmuls do the same (fp32 weights, biases, activations, Adam).

    python benchmarks/bf16_matmul.py [--reps 5] [--sizes hopper,humanoid]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from unittest import mock

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from sac_throughput import SIZES, hyirl_updates, versions

BF16 = jnp.bfloat16


def _dot_bf16(a, b, dimension_numbers):
    return jax.lax.dot_general(a.astype(BF16), b.astype(BF16), dimension_numbers, preferred_element_type=jnp.float32)


@jax.custom_vjp
def _mixed_matmul(x, w):
    return _dot_bf16(x, w, (((x.ndim - 1,), (0,)), ((), ())))


def _mixed_fwd(x, w):
    return _mixed_matmul(x, w), (x, w)


def _mixed_bwd(saved, g):
    x, w = saved
    x2 = x.reshape(-1, x.shape[-1])
    g2 = g.reshape(-1, g.shape[-1])
    dx = _dot_bf16(g, w, (((g.ndim - 1,), (1,)), ((), ())))
    dw = _dot_bf16(x2, g2, (((0,), (0,)), ((), ())))
    return dx, dw


_mixed_matmul.defvjp(_mixed_fwd, _mixed_bwd)


def mixed_dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """Flax Dense's dot_general (inputs @ kernel) with bf16 operands, fp32 accumulation and result."""
    assert dimension_numbers == (((lhs.ndim - 1,), (0,)), ((), ())), dimension_numbers
    return _mixed_matmul(lhs, rhs)


def matmul_chain(rows: int, k: int, dtype, reps: int, length: int = 400) -> float:
    rng = np.random.default_rng(0)
    x0 = jnp.asarray(rng.standard_normal((rows, k)) * 0.05, dtype)
    w = jnp.asarray(rng.standard_normal((k, k)) / np.sqrt(k), dtype)
    body = lambda i, x: jnp.tanh(jnp.dot(x, w, preferred_element_type=jnp.float32)).astype(dtype)  # noqa: E731
    chain = jax.jit(lambda x: jax.lax.fori_loop(0, length, body, x))
    chain(x0).block_until_ready()
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        chain(x0).block_until_ready()
        rates.append(2 * rows * k * k * length / (time.perf_counter() - t0) / 1e9)
    return statistics.median(rates)


def sac_update_rates(obs_dim: int, act_dim: int, reps: int) -> dict:
    fp32 = hyirl_updates(obs_dim, act_dim, reps)
    dense = nn.Dense
    mixed_dense = lambda *a, **kw: dense(*a, dot_general=mixed_dot_general, **kw)  # noqa: E731
    with mock.patch.object(nn, "Dense", mixed_dense):
        mixed = hyirl_updates(obs_dim, act_dim, reps)
    return dict(
        fp32=fp32["updates_per_s"], mixed_bf16=mixed["updates_per_s"], gflop_per_update=fp32["gflop_per_update"]
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--sizes", default="hopper,humanoid")
    args = p.parse_args()
    out = dict(versions=versions(), chain={}, sac={})
    for rows, k in [(256, 256), (1792, 200), (1024, 1024)]:
        rates = {
            name: matmul_chain(rows, k, dtype, args.reps) for name, dtype in (("fp32", jnp.float32), ("bf16", BF16))
        }
        out["chain"][f"{rows}x{k}"] = rates
        print(
            f"matmul chain {rows} x {k}: fp32 {rates['fp32']:.1f}, bf16 {rates['bf16']:.1f} GFLOP/s "
            f"({rates['bf16'] / rates['fp32']:.2f}x)"
        )
    for size in args.sizes.split(","):
        rates = sac_update_rates(*SIZES[size], args.reps)
        out["sac"][size] = rates
        print(
            f"SAC update, {size} networks: fp32 {rates['fp32']:.1f}, mixed bf16 {rates['mixed_bf16']:.1f} "
            f"updates/s ({rates['mixed_bf16'] / rates['fp32']:.2f}x)"
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
