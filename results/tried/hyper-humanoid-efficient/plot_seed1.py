"""Figure: HyPER Humanoid seed 1 (efficient preset), the record beside the branches and the variants.

Left: the record and its branches with the learned reward moved by a constant c from a kept checkpoint
(docs/hyper.md §27). Right: the record and the runs from scratch with settings changed (§28, §29). Both
plot the latest weights' return (10 deterministic real episodes at each evaluation); the deployed
policy's return is in the records. The expert scores 5,580.6 (docs/experts.md), the paper's HyPER 5,546 at
100k, both far above this figure's range.

Run from the repository root:
    python results/tried/hyper-humanoid-efficient/plot_seed1.py
"""

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hyirl.report import load_run  # noqa: E402

HERE = Path(__file__).parent
RECORD = Path("results/runs/hyper-humanoid-efficient-s1")
BRANCHES = {  # label: (directory under branches/, the real step it branched at)
    "c = −1 from 40k": ("branch-s1-at40000-offset-1", 40_000),
    "c = +1 from 40k": ("branch-s1-at40000-offset1", 40_000),
    "c = +0.5 from 67.5k": ("branch-s1-at67500-offset0.5", 67_500),
    "c = +1 from 67.5k": ("branch-s1-at67500-offset1", 67_500),
}
VARIANTS = {
    "disc.absorbing=true": "absorbing-s1",
    "sac.target_entropy=0": "ent0-s1",
    "disc.absorbing=true, sac.terminal_entropy=true": "absorbing-entropy-s1",
}


def curve(run: Path, after: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Real steps (thousands) and the latest weights' return, from evaluations after ``after`` real steps."""
    records = load_run(run, "eval_return_latest")
    kept = records["env_steps"] > after
    return records["env_steps"][kept] / 1000, records["returns"][kept]


def panel(ax, title: str, others: dict[str, tuple], top: float) -> None:
    ax.plot(*curve(RECORD), color="black", lw=2, label="the record (efficient preset)")
    for label, (xs, ys) in others.items():
        ax.plot(xs, ys, lw=1.5, marker=".", label=label)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("real steps (thousands)")
    ax.set_xlim(0, 115)
    ax.set_ylim(0, top)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)


def main() -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    branches = {label: curve(HERE / "branches" / name, after=start) for label, (name, start) in BRANCHES.items()}
    panel(left, "learned reward −f + c, branched from the record (§27)", branches, top=1000)
    variants = {f"from scratch, {label}": curve(HERE / "variants" / name) for label, name in VARIANTS.items()}
    panel(right, "settings changed, from scratch (§28, §29)", variants, top=3600)
    left.set_ylabel("latest weights' return (10 episodes)")
    fig.suptitle("HyPER, Humanoid, seed 1 (expert 5,580.6; the paper's HyPER 5,546 at 100k)", fontsize=11)
    fig.tight_layout()
    fig.savefig(HERE / "seed1.png", dpi=110)
    print(f"wrote {HERE / 'seed1.png'}")


if __name__ == "__main__":
    main()
