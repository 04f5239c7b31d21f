"""TD3-BC throughput against this machine's fp32 peak (issue 28).

Measures, in one run: the fp32 matmul peak (2048², jitted JAX, one thread as the runs use it) and
hyirl TD3-BC critic updates/s (with the actor every second update, as TD3 does) for the AntMaze size
(obs 31 / act 8, 2×256, batch 256, 64 updates fused per call) in each batch mode, with FLOPs per
update from XLA's cost analysis of its pieces. Rewards are relabelled by a 256-wide MLP standing in for the
discriminator, as in the IRL loops. Median of ``--reps`` timings; the last line is one JSON object.

    python benchmarks/td3bc_throughput.py [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers
from hyirl.networks import MLP
from hyirl.td3bc import TD3BC

OBS, ACT, CHUNK = 31, 8, 64


def _buffer(n: int, seed: int) -> buffers.Buffer:
    rng = np.random.default_rng(seed)
    return buffers.from_arrays(
        obs=rng.standard_normal((n, OBS)),
        action=rng.uniform(-1, 1, (n, ACT)),
        next_obs=rng.standard_normal((n, OBS)),
        reward=np.zeros(n),
        terminal=np.zeros(n),
    )


def peak_gflops(reps: int) -> float:
    a = jnp.asarray(np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32))
    mm = jax.jit(lambda x: x @ x)
    mm(a).block_until_ready()
    rates = []
    for _ in range(max(reps, 5)):
        t0 = time.perf_counter()
        mm(a).block_until_ready()
        rates.append(2 * 2048**3 / 1e9 / (time.perf_counter() - t0))
    return statistics.median(rates)


def _flop(fn, *args) -> float:
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    return (cost[0] if isinstance(cost, list) else cost)["flops"]


def update_flop(agent: TD3BC, state, learner, offline, reward, reward_params, mode: str) -> float:
    """FLOPs of one critic update: the reward relabel, the critic step and 1/policy_delay of the actor
    step, each counted on its own (XLA counts a scan's body once, and a cond's branch whether taken
    or not, so the fused chunk's count says neither how many updates nor how many actor steps)."""
    key = jax.random.PRNGKey(0)
    batch = agent._sample_batch(learner, offline, key, mode)
    rewards = reward(reward_params, batch)
    return (
        _flop(reward, reward_params, batch)
        + _flop(lambda s, b, r: agent._critic_step(s, b, r, key), state, batch, rewards)
        + _flop(lambda s, b: agent._actor_step(s, b, mode), state, batch) / agent.cfg.policy_delay
    )


def td3bc_rate(mode: str, reps: int, chunks: int = 10) -> dict:
    disc = MLP((256, 256), 1)
    disc_params = disc.init(jax.random.PRNGKey(1), jnp.zeros((1, 2 * OBS)))

    def reward(params, batch):
        return -disc.apply(params, jnp.concatenate([batch["obs"], batch["next_obs"]], -1))[:, 0]

    agent = TD3BC(OBS, ACT, reward_fn=reward)
    state = agent.init(jax.random.PRNGKey(0))
    learner, offline = _buffer(100_000, 0), _buffer(100_000, 1)
    flop = update_flop(agent, state, learner, offline, reward, disc_params, mode)
    state, _ = agent.train_chunk(state, learner, offline, disc_params, num_updates=CHUNK, mode=mode)
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(chunks):
            state, _ = agent.train_chunk(state, learner, offline, disc_params, num_updates=CHUNK, mode=mode)
        jax.block_until_ready(state)
        rates.append(chunks * CHUNK / (time.perf_counter() - t0))
    rate = statistics.median(rates)
    return dict(updates_per_s=rate, reps=rates, gflop_per_update=flop / 1e9, gflops=rate * flop / 1e9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    result = dict(peak_gflops_jax=peak_gflops(args.reps))
    print(f"fp32 matmul peak (jitted JAX): {result['peak_gflops_jax']:.1f} GFLOP/s")
    for mode in ("hybrid", "learner", "bc"):
        r = td3bc_rate(mode, args.reps)
        r["fraction_of_peak"] = r["gflops"] / result["peak_gflops_jax"]
        result[mode] = r
        print(
            f"TD3-BC {mode}: {r['updates_per_s']:.1f} updates/s ({r['gflop_per_update']:.3f} GFLOP each, "
            f"{r['gflops']:.0f} GFLOP/s = {100 * r['fraction_of_peak']:.0f} % of the peak)"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
