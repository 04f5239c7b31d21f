"""Does this machine's second vCPU add arithmetic? TD3-BC updates/s of one process against two at once.

The long runs are planned as two single-threaded processes, one per vCPU. On some machines the two
vCPUs share one core's floating-point units, and then two processes each run at about half the rate
of one alone. This benchmark times the AntMaze-size TD3-BC update (hybrid batches, timed by
``td3bc_throughput.py``) with XLA on one thread: in one process alone, then in two processes started
together. Stop other work first. The last line is one JSON object.

    python benchmarks/core_sharing.py [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def worker(reps: int) -> None:
    """Print the median TD3-BC updates/s of this process (XLA on one thread, set by the parent)."""
    sys.path.insert(0, os.path.dirname(__file__))
    import td3bc_throughput as bench

    print(bench.td3bc_rate("hybrid", reps, chunks=5)["updates_per_s"])


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
