"""Several seeds in one process (updates vmapped over seeds) against one process per seed.

HyPE with recent-transition discriminator data (so every seed takes the same number of real steps)
on ``--env`` (walker2d by default), rounds of ``--round-steps`` policy steps. Set-up and compilation
are excluded by timing a 1-round and a (1 + rounds)-round run and using the difference. Layouts:

* ``vmapped``: ``--seeds`` seeds in one process, JAX on all cores;
* ``processes``: the same seeds as separate single-threaded processes run at the same time, one per
  core at most (the layout `hyirl sweep` uses).

Per-seed and total policy steps/s are printed; the last line is one JSON object.

    python benchmarks/seeds_throughput.py [--env walker2d] [--seeds 2] [--rounds 3] [--round-steps 2048]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def timed(env: str, seeds: list[int], rounds: int, round_steps: int, out: Path) -> float:
    from hyirl.irl import IRLConfig, train_irl

    cfg = IRLConfig(
        algo="hype",
        env=env,
        steps=rounds * round_steps,
        train_every=round_steps,
        eval_every=10**9,
        eval_episodes=1,
        disc_samples="recent",
        buffer_size=100_000,
    )
    t0 = time.perf_counter()
    train_irl(cfg, out, progress=False, seeds=seeds)
    return time.perf_counter() - t0


def rate(env: str, seeds: list[int], rounds: int, round_steps: int) -> float:
    """Policy steps per second per seed, set-up excluded."""
    with tempfile.TemporaryDirectory() as tmp:
        short = timed(env, seeds, 1, round_steps, Path(tmp) / "short")
        long = timed(env, seeds, 1 + rounds, round_steps, Path(tmp) / "long")
    return rounds * round_steps / (long - short)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="walker2d", help="task with a shipped expert")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--round-steps", type=int, default=2048)
    parser.add_argument("--worker-seed", type=int, help=argparse.SUPPRESS)  # one seed, for the processes layout
    args = parser.parse_args()
    if args.worker_seed is not None:
        print(json.dumps(rate(args.env, [args.worker_seed], args.rounds, args.round_steps)))
        return

    seeds = list(range(args.seeds))
    vmapped = rate(args.env, seeds, args.rounds, args.round_steps)
    print(f"vmapped: {len(seeds)} seeds in one process: {vmapped:.1f} policy steps/s per seed", flush=True)
    cores = os.cpu_count() or 1
    workers = [
        subprocess.Popen(
            ["taskset", "-c", str(seed % cores), sys.executable, __file__, "--worker-seed", str(seed)]
            + ["--env", args.env, "--rounds", str(args.rounds), "--round-steps", str(args.round_steps)],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, XLA_FLAGS=SINGLE_THREAD),
        )
        for seed in seeds
    ]
    separate = [float(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
    print(f"processes: {len(seeds)} single-threaded processes: {[round(r, 1) for r in separate]} policy steps/s each")
    result = dict(
        env=args.env,
        seeds=len(seeds),
        cores=cores,
        vmapped_per_seed=vmapped,
        vmapped_total=vmapped * len(seeds),
        processes_per_seed=separate,
        processes_total=sum(separate),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
