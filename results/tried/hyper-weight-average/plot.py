"""Per seed, the evaluations of the latest actor weights beside those of the weight averages.

Run from the repository root (writes curves.png next to this script):
    python results/tried/hyper-weight-average/plot.py runs/hyper-ema-s0 runs/hyper-ema-s1 runs/hyper-ema-s2
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hyirl.report import load_run  # noqa: E402

BAR = 0.8 * 3128  # 80 % of the shipped Hopper expert (docs/experts.md)
METRICS = ("eval_return_latest", "eval_return_ema500", "eval_return_ema1000", "eval_return_ema2000")

run_dirs = [Path(p) for p in sys.argv[1:]]
fig, axes = plt.subplots(len(run_dirs), 1, figsize=(9, 2.6 * len(run_dirs)), sharex=True, squeeze=False)
for ax, run_dir in zip(axes[:, 0], run_dirs):
    for metric in METRICS:
        run = load_run(run_dir, metric)
        ax.plot(run["env_steps"], run["returns"], label=metric.removeprefix("eval_return_"), lw=1.2)
    ax.axhline(BAR, color="grey", ls="--", lw=0.8)
    ax.set_title(f"seed {run['seed']}", fontsize=9)
    ax.set_ylabel("return")
axes[0, 0].legend(fontsize=8, ncol=4)
axes[-1, 0].set_xlabel("real env steps")
fig.tight_layout()
fig.savefig(Path(__file__).with_name("curves.png"), dpi=90)
