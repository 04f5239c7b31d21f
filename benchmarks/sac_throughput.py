"""SAC throughput, side by side: hyirl vs stable-baselines3 vs sbx, against this machine's fp32 peak.

Measures, in one run:
  * fp32 matmul GFLOP/s (2048x2048, numpy and jitted JAX): the machine's achievable peak;
  * hyirl SAC updates/s for the network sizes of ``--sizes`` (default: every size of ``SIZES``: Hopper,
    Ant and Humanoid with their gymnasium-v5 full and truncated observations, and the paper's v3
    Humanoid), batch 256, 64 updates fused per call, with FLOPs per update from XLA's cost analysis;
  * end-to-end env steps/s of SAC on Hopper-v5 at one update per env step (learning_starts 1000,
    steady phase only) for hyirl, SB3 and sbx (the latter two need ``pip install -e '.[bench]'``).
Every rate is the median of ``--reps`` timed repetitions. The last line printed is one JSON object.

    python benchmarks/sac_throughput.py [--e2e-steps 10000] [--reps 3] [--skip-peers] [--sizes ant,humanoid]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

# (obs, act) of the SAC networks each task trains; "truncated" = qpos[2:] + qvel (spec §10.12).
SIZES = {
    "hopper": (11, 3),
    "ant": (105, 8),
    "ant_truncated": (27, 8),
    "humanoid": (348, 17),
    "humanoid_truncated": (45, 17),
    "humanoid_v3": (376, 17),
}


def median_rate(fn, work: float, reps: int) -> tuple[float, list[float]]:
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        rates.append(work / (time.perf_counter() - t0))
    return statistics.median(rates), rates


def matmul_gflops(reps: int) -> dict:
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    flop = 2 * n**3
    np_rate, _ = median_rate(lambda: [a @ a for _ in range(5)], 5 * flop / 1e9, max(reps, 5))
    ja = jnp.asarray(a)
    mm = jax.jit(lambda x: x @ x)
    mm(ja).block_until_ready()
    jax_rate, _ = median_rate(lambda: [mm(ja).block_until_ready() for _ in range(5)], 5 * flop / 1e9, max(reps, 5))
    return dict(numpy=np_rate, jax=jax_rate)


def hyirl_updates(obs_dim: int, act_dim: int, reps: int, chunks: int = 10) -> dict:
    from hyirl import buffers
    from hyirl.sac import SAC

    agent = SAC(obs_dim, act_dim)
    state = agent.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    n = 100_000
    buf = buffers.from_arrays(
        obs=rng.standard_normal((n, obs_dim)),
        action=rng.uniform(-1, 1, (n, act_dim)),
        next_obs=rng.standard_normal((n, obs_dim)),
        reward=rng.standard_normal(n),
        terminal=np.zeros(n),
    )
    k = 64
    lowered = jax.jit(agent._train_chunk, static_argnames="num_updates").lower(
        state, buf, None, None, 3e-4, num_updates=1
    )
    cost = lowered.compile().cost_analysis()
    flop = (cost[0] if isinstance(cost, list) else cost)["flops"]
    state, _ = agent.train_chunk(state, buf, None, None, 3e-4, num_updates=k)
    jax.block_until_ready(state)

    def run():
        nonlocal state
        for _ in range(chunks):
            state, _ = agent.train_chunk(state, buf, None, None, 3e-4, num_updates=k)
        jax.block_until_ready(state)

    rate, rates = median_rate(run, chunks * k, reps)
    return dict(updates_per_s=rate, reps=rates, gflop_per_update=flop / 1e9, gflops=rate * flop / 1e9)


def hyirl_end_to_end(steps: int, reps: int) -> dict:
    from hyirl.envs import make_env
    from hyirl.learner import LoopConfig, OnlineSAC
    from hyirl.sac import SAC

    rates = []
    for rep in range(reps):
        env = make_env("hopper", p_tremble=0.0)
        learner = OnlineSAC(env, SAC(11, 3), LoopConfig(buffer_size=100_000, learning_starts=1024), seed=rep)
        learner.collect(2048)  # random phase + first chunks (compilation) are not timed
        t0 = time.perf_counter()
        learner.collect(steps - steps % 64)
        rates.append((steps - steps % 64) / (time.perf_counter() - t0))
    return dict(env_steps_per_s=statistics.median(rates), reps=rates)


def peer_end_to_end(which: str, steps: int, reps: int) -> dict:
    import gymnasium as gym

    if which == "sb3":
        from stable_baselines3 import SAC as PeerSAC
    else:
        from sbx import SAC as PeerSAC
    rates = []
    for rep in range(reps):
        model = PeerSAC(
            "MlpPolicy",
            gym.make("Hopper-v5"),
            learning_starts=1000,
            train_freq=1,
            gradient_steps=1,
            batch_size=256,
            buffer_size=100_000,
            seed=rep,
            verbose=0,
        )
        model.learn(2000)  # random phase and warm-up (and sbx's compilation) are not timed
        t0 = time.perf_counter()
        model.learn(steps, reset_num_timesteps=False)
        rates.append(steps / (time.perf_counter() - t0))
    return dict(env_steps_per_s=statistics.median(rates), reps=rates)


def versions() -> dict:
    out = {}
    for pkg in (
        "hyirl",
        "jax",
        "jaxlib",
        "flax",
        "optax",
        "gymnasium",
        "mujoco",
        "numpy",
        "torch",
        "stable_baselines3",
        "sbx-rl",
    ):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--e2e-steps", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true", help="only the peak and the update rates")
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}")
    args = parser.parse_args()
    sizes = args.sizes.split(",")
    if unknown := set(sizes) - set(SIZES):
        parser.error(f"unknown sizes {sorted(unknown)}: use {', '.join(SIZES)}")

    result: dict = dict(
        machine=dict(
            cpus=os.cpu_count(), processor=platform.processor() or platform.machine(), jax_backend=jax.default_backend()
        ),
        versions=versions(),
    )
    result["matmul_gflops"] = peak = matmul_gflops(args.reps)
    print(f"fp32 matmul: numpy {peak['numpy']:.1f} GFLOP/s, jax {peak['jax']:.1f} GFLOP/s")
    for name in sizes:
        dims = SIZES[name]
        r = hyirl_updates(*dims, args.reps)
        r["fraction_of_jax_peak"] = r["gflops"] / peak["jax"]
        result[f"hyirl_updates_{name}"] = r
        print(
            f"hyirl SAC updates/s ({name}, obs {dims[0]} / act {dims[1]}): {r['updates_per_s']:.1f} "
            f"({r['gflop_per_update']:.3f} GFLOP each, {r['gflops']:.0f} GFLOP/s"
            f" = {100 * r['fraction_of_jax_peak']:.0f}% of the JAX peak)"
        )
    if args.skip_e2e:
        print(json.dumps(result))
        return
    e2e = {"hyirl": hyirl_end_to_end(args.e2e_steps, args.reps)}
    if not args.skip_peers:
        for peer in ("sb3", "sbx"):
            try:
                e2e[peer] = peer_end_to_end(peer, args.e2e_steps, args.reps)
            except ImportError as err:
                print(f"skipping {peer}: {err} (install with pip install -e '.[bench]')")
    for name, r in e2e.items():
        print(f"end to end, SAC on Hopper-v5, 1 update/step: {name} {r['env_steps_per_s']:.1f} env steps/s")
    for peer in ("sb3", "sbx"):
        if peer in e2e:
            e2e[f"hyirl_over_{peer}"] = e2e["hyirl"]["env_steps_per_s"] / e2e[peer]["env_steps_per_s"]
            print(f"hyirl / {peer}: {e2e[f'hyirl_over_{peer}']:.2f}x")
    result["end_to_end_hopper"] = e2e
    print(json.dumps(result))


if __name__ == "__main__":
    main()
