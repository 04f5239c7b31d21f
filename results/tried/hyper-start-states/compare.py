"""Summarise HyPER Hopper runs over the window the issue's target is about (10k-30k real steps).

For each run directory (or committed results/ folder holding metrics.jsonl) prints the evaluations
from 10k to 30k, their mean, how many are at >= 80 % of the expert (2,502), and the return at 30k.

Run from the repository root:
    python results/tried/hyper-start-states/compare.py runs/hyper-mix-s0 results/tried/hyper-hopper-ent-3-s0 ...
"""

import sys
from pathlib import Path

from hyirl.report import load_run

BAR = 0.8 * 3128  # 80 % of the shipped Hopper expert (docs/experts.md)

for run_dir in map(Path, sys.argv[1:]):
    run = load_run(run_dir)
    evals = {
        s: r for s, r in zip(run["env_steps"].astype(int).tolist(), run["returns"].tolist()) if 10_000 <= s <= 30_000
    }
    values = list(evals.values())
    if not values:
        print(f"{run_dir}: no evaluation between 10k and 30k yet")
        continue
    print(
        f"{run_dir}: {len(values)} evaluations 10k-{max(evals) // 1000}k, mean {sum(values) / len(values):,.0f}, "
        f">= {BAR:,.0f}: {sum(v >= BAR for v in values)}, at 30k: "
        + (f"{evals[30_000]:,.0f}" if 30_000 in evals else "-")
    )
