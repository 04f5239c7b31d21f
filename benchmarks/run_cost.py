"""What training runs cost: CPU core-seconds and wall-clock seconds per 100k real env steps, per task and
method, read from the ``cost.jsonl`` every run directory keeps since hyirl 0.8.0.

CPU seconds count every thread of the run's processes, so they do not depend on what else shared the
machine; wall-clock seconds do (two runs on two cores each get one core; a third halves them again).
A run trained with ``--seeds`` in one process records the whole process's cost in each seed's
directory (hyirl sweep runs one process per seed); since hyirl 0.18.0 its records say how many seeds
shared it (``process_seeds``), and each seed is charged its share. Older records do not say it: their
figures are the whole process's. Set-up, compilation and evaluations are
included: this is what a user pays for the curve.

    python benchmarks/run_cost.py results/runs/*      # runs without cost.jsonl are listed and skipped
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from hyirl.report import method_label


def run_cost(path: Path) -> dict | None:
    """Task, method, steps and seconds of one run directory, or None without cost records. A run begun
    before hyirl 0.8.0 and resumed since has cost records from its resume on only: then the steps and
    seconds are those between its first and last cost record, and ``since`` says from where."""
    cost_file = path / "cost.jsonl"
    costs = [json.loads(line) for line in cost_file.read_text().splitlines() if line] if cost_file.is_file() else []
    if not costs:
        return None
    config = json.loads((path / "config.json").read_text())
    key = "grad_steps" if "grad_steps" in costs[0] else "env_steps"
    algo = config.get("algo", "bc" if key == "grad_steps" else "expert")  # BC and expert configs name no algo
    first_logged = json.loads((path / "metrics.jsonl").read_text().splitlines()[0])[key]
    start = {key: 0, "cpu_s": 0.0, "wall_s": 0.0} if costs[0][key] == first_logged else costs[0]
    share = costs[-1].get("process_seeds", 1)
    return dict(
        env=config["env"],
        method=method_label(algo, config),
        unit=key.replace("_", " "),
        since=start[key],
        steps=costs[-1][key] - start[key],
        cpu_s=(costs[-1]["cpu_s"] - start["cpu_s"]) / share,
        wall_s=(costs[-1]["wall_s"] - start["wall_s"]) / share,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories")
    args = parser.parse_args()
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for path in args.runs:
        cost = run_cost(path)
        if cost is None or cost["steps"] <= 0:
            print(f"skipped (no cost.jsonl, or one record only): {path}")
            continue
        groups[cost["env"], cost["method"], cost["unit"]].append(cost)
    print("| task | method | runs | steps per run | CPU core-h per 100k steps | wall h per 100k steps |")
    print("|---|---|---|---|---|---|")
    for (env, method, unit), costs in sorted(groups.items()):
        per_100k = [(c["cpu_s"] / c["steps"] * 1e5 / 3600, c["wall_s"] / c["steps"] * 1e5 / 3600) for c in costs]
        cpu = " / ".join(f"{p[0]:.2f}" for p in per_100k)
        wall = " / ".join(f"{p[1]:.2f}" for p in per_100k)
        steps = " / ".join(f"{c['steps']:,}" + (f" (from {c['since']:,})" if c["since"] else "") for c in costs)
        print(f"| {env} | {method} | {len(costs)} | {steps} ({unit}) | {cpu} | {wall} |")


if __name__ == "__main__":
    main()
