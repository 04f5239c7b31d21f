"""Summarise HyPER Hopper runs over the window the issue's target is about (10k-30k real steps).

For each run directory (or committed results/ folder holding metrics.jsonl) prints the evaluations
from 10k to 30k, their mean, how many are at >= 80 % of the expert (2,502), and the return at 30k.
``--metric`` picks another logged score (e.g. eval_return_ema1000 of a run with policy_averages);
``--until`` ends the window earlier; ``--iqm`` adds the IQM of the 30k returns over the given runs,
with its 95 % bootstrap CI.

Run from the repository root:
    python results/tried/hyper-start-states/compare.py runs/hyper-mix-s0 results/tried/hyper-hopper-ent-3-s0 ...
    python results/tried/hyper-start-states/compare.py --metric eval_return_latest --iqm runs/hyper-ema-s{0,1,2}
"""

import argparse
from pathlib import Path

import numpy as np

from hyirl.report import iqm_with_ci, load_run

BAR = 0.8 * 3128  # 80 % of the shipped Hopper expert (docs/experts.md)

parser = argparse.ArgumentParser()
parser.add_argument("runs", nargs="+", type=Path)
parser.add_argument("--metric", default="eval_return_mean")
parser.add_argument("--until", type=int, default=30_000, help="last real step of the window")
parser.add_argument("--iqm", action="store_true")
args = parser.parse_args()

at_30k = []
for run_dir in args.runs:
    run = load_run(run_dir, args.metric)
    steps, returns = run["env_steps"].astype(int).tolist(), run["returns"].tolist()
    evals = {s: r for s, r in zip(steps, returns) if 10_000 <= s <= args.until}
    values = list(evals.values())
    if not values:
        print(f"{run_dir}: no evaluation between 10k and {args.until // 1000}k yet")
        continue
    at_30k.append(evals.get(30_000))
    print(
        f"{run_dir}: {len(values)} evaluations 10k-{max(evals) // 1000}k, mean {sum(values) / len(values):,.0f}, "
        f">= {BAR:,.0f}: {sum(v >= BAR for v in values)}, at 30k: "
        + (f"{evals[30_000]:,.0f}" if 30_000 in evals else "-")
    )
if args.iqm and at_30k and None not in at_30k:
    point, (low, high) = iqm_with_ci(np.array(at_30k)[:, None])
    print(f"{args.metric}: IQM at 30k over {len(at_30k)} runs {point[0]:,.0f} [{low[0]:,.0f}, {high[0]:,.0f}]")
