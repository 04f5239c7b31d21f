"""Method x task x seed grids: each cell is a normal run directory, run by a pool of workers.

Each cell runs as its own ``hyirl train`` process pinned to one XLA thread: on a CPU, one
single-threaded process per core gives the most updates per second in total (perf probe: 289 vs
246 for one two-threaded process). Re-running a sweep skips finished cells and resumes unfinished
ones from their checkpoints. ``--ray ADDRESS`` sends the same cell commands to a Ray cluster.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hyirl.errors import HyirlError

SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def parse_seeds(text: str) -> list[int]:
    """``0-4`` or ``0,2,5`` (or a mix: ``0-2,7``)."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            if hi and int(hi) < int(lo):
                raise ValueError
            seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    except ValueError:
        raise HyirlError(f"bad --seeds {text!r}: use a rising range like 0-4 or a list like 0,1,2") from None
    if len(set(seeds)) != len(seeds):
        raise HyirlError(f"bad --seeds {text!r}: a seed is listed twice")
    return seeds


def cell_name(algo: str, env: str, seed: int) -> str:
    return f"{algo}-{env}-s{seed}"


def is_finished(run_dir: Path, steps: int | None = None) -> bool:
    """Finished, and (when ``steps`` is given) configured for at least that many steps; a shorter
    finished cell is resumed and extended instead."""
    done = run_dir / "done.json"
    if not (done.is_file() and json.loads(done.read_text()).get("finished", False)):
        return False
    return steps is None or json.loads((run_dir / "config.json").read_text()).get("steps", 0) >= steps


def cell_command(algo: str, env: str, seed: int, run_dir: Path, extra: list[str]) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "hyirl.cli",
        "train",
        "--algo",
        algo,
        "--env",
        env,
        "--seed",
        str(seed),
        "--out",
        str(run_dir),
        "--no-progress",
        *extra,
    ]
    if (run_dir / "config.json").is_file() and algo != "bc":
        cmd.append("--resume")
    return cmd


def run_cell(cmd: list[str], log_file: str) -> int:
    env = dict(os.environ, XLA_FLAGS=SINGLE_THREAD)
    with open(log_file, "a") as log:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode


def run_sweep(
    algos: list[str],
    envs: list[str],
    seeds: list[int],
    out: Path,
    *,
    steps: int | None = None,
    extra: list[str] | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    progress: bool = True,
) -> dict[str, str]:
    """Run the grid; returns each cell's outcome: finished, skipped (already finished) or failed."""
    from hyirl.envs import get_task
    from hyirl.irl import check_algo  # imported here: Ray workers import this module and need only run_cell

    for algo in algos:
        check_algo(algo)
    for env in envs:
        get_task(env)
    out = Path(out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    extra = (["--steps", str(steps)] if steps else []) + (extra or [])
    outcome: dict[str, str] = {}
    todo = []
    for algo, env, seed in itertools.product(algos, envs, seeds):
        name, run_dir = cell_name(algo, env, seed), out / cell_name(algo, env, seed)
        if is_finished(run_dir, steps):
            outcome[name] = "skipped"
        else:
            todo.append((name, cell_command(algo, env, seed, run_dir, extra), str(out / "logs" / f"{name}.log")))
    with Progress(
        TextColumn("[bold]sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        disable=not progress,
    ) as bar:
        task = bar.add_task("cells", total=len(outcome) + len(todo), completed=len(outcome), last="")
        for name, code in _execute(todo, workers or os.cpu_count() or 1, ray_address):
            outcome[name] = "finished" if code == 0 else f"failed (exit {code}, see logs/{name}.log)"
            bar.update(task, advance=1, last=f"{name}: {outcome[name]}")
    return outcome


def _execute(todo, workers: int, ray_address: str | None):
    if ray_address:
        yield from _execute_on_ray(todo, ray_address)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_cell, cmd, log): name for name, cmd, log in todo}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _execute_on_ray(todo, address: str):
    try:
        import ray
    except ImportError:
        raise HyirlError("--ray needs Ray: pip install -e '.[ray]'") from None
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    remote_cell = ray.remote(num_cpus=1)(run_cell)
    refs = {remote_cell.remote(cmd, log): name for name, cmd, log in todo}
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield refs[done[0]], ray.get(done[0])
