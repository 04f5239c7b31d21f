"""Does this machine's second vCPU add arithmetic? TD3-BC updates/s of one process against two at once.

The long runs are planned as two single-threaded processes, one per vCPU. On some machines the two
vCPUs share one core's floating-point units, and then two processes each run at about half the rate
of one alone. This benchmark times the AntMaze-size TD3-BC update (hybrid batches, the benchmark of
``td3bc_throughput.py``) with XLA on one thread: in one process alone, then in two processes started
together. Stop other work first. The last line is one JSON object.

    python benchmarks/core_sharing.py [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def worker(reps: int) -> None:
    """Print the median TD3-BC updates/s of this process (XLA on one thread, set by the parent)."""
    import jax

    sys.path.insert(0, os.path.dirname(__file__))
    import td3bc_throughput as bench

    from hyirl.networks import MLP
    from hyirl.td3bc import TD3BC

    disc = MLP((256, 256), 1)
    disc_params = disc.init(jax.random.PRNGKey(1), jax.numpy.zeros((1, bench.OBS + bench.ACT)))

    def reward(params, batch):
        pairs = jax.numpy.concatenate([batch["obs"], batch["action"]], -1)
        return -disc.apply(params, pairs)[:, 0]

    agent = TD3BC(bench.OBS, bench.ACT, reward_fn=reward)
    learner, offline = bench._buffer(100_000, 0), bench._buffer(100_000, 1)
    state = agent.init(jax.random.PRNGKey(0))
    state, _ = agent.train_chunk(state, learner, offline, disc_params, num_updates=bench.CHUNK, mode="hybrid")
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(5):
            state, _ = agent.train_chunk(state, learner, offline, disc_params, num_updates=bench.CHUNK, mode="hybrid")
        jax.block_until_ready(state)
        rates.append(5 * bench.CHUNK / (time.perf_counter() - t0))
    print(statistics.median(rates))


def run_together(count: int, reps: int) -> list[float]:
    env = dict(os.environ, XLA_FLAGS=ONE_THREAD)
    command = [sys.executable, __file__, "--worker", "--reps", str(reps)]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(count)]
    return [float(p.communicate()[0].split()[-1]) for p in procs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.reps)
    alone = run_together(1, args.reps)[0]
    pair = run_together(2, args.reps)
    total = sum(pair)
    print(f"one process alone: {alone:.1f} TD3-BC updates/s")
    print(f"two processes at once: {pair[0]:.1f} + {pair[1]:.1f} = {total:.1f} updates/s ({total / alone:.2f}x one)")
    print(json.dumps(dict(alone=alone, pair=pair, speedup=total / alone, cpus=os.cpu_count())))


if __name__ == "__main__":
    main()
