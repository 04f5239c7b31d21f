"""Figure: HyPER Humanoid, each seed's record (efficient preset) beside the same seed from scratch with
``disc.absorbing=true`` and ``sac.terminal_entropy=true`` (docs/hyper.md §29, §31), and seed 0 with the
paper's Humanoid rollouts as well (§32).

One panel per seed: the deployed policy's return (solid, the score in docs/results.md) and the latest
weights' return (dotted), each over 10 deterministic real episodes per evaluation; the paper's HyPER
at the real steps it was measured at, our expert and the paper's.

Run from the repository root:
    python results/tried/hyper-humanoid-efficient/plot_seeds.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hyirl.report import _shipped_expert_return, load_run, paper_curve, paper_results  # noqa: E402

HERE = Path(__file__).parent
RUNS = {  # label: (colour, run directory with {seed})
    "efficient preset (the record)": ("black", "results/runs/hyper-humanoid-efficient-s{seed}"),
    "efficient, disc.absorbing=true, sac.terminal_entropy=true": (
        "tab:blue",
        str(HERE / "variants" / "absorbing-entropy-s{seed}"),
    ),
    "the same, rollout_schedule=[20,300,1,25], rollouts_per_step=400 (the paper's rollouts)": (
        "tab:green",
        str(HERE / "variants" / "absorbing-entropy-paper-rollouts-s{seed}"),
    ),
}


def draw(ax, seed: int, paper: tuple) -> None:
    for label, (colour, pattern) in RUNS.items():
        run = Path(pattern.format(seed=seed))
        if not run.is_dir():
            continue
        for metric, style, suffix in (("eval_return_mean", "-", "deployed"), ("eval_return_latest", ":", "latest")):
            records = load_run(run, metric)
            ax.plot(records["env_steps"] / 1000, records["returns"], style, color=colour, label=f"{label}: {suffix}")
    xs, values, offset = paper
    ax.plot((xs + offset) / 1000, values, "o", color="tab:red", ms=4, label="the paper's HyPER (at measured x)")
    ax.set_title(f"seed {seed}", fontsize=10)
    ax.set_xlabel("real steps (thousands)")
    ax.set_xlim(0, 117)
    ax.grid(alpha=0.3)


def main() -> None:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), sharey=True)
    paper = paper_results()
    curve = paper_curve(paper, "humanoid", "hyper")
    ours, theirs = _shipped_expert_return("humanoid"), paper["tasks"]["humanoid"]["expert"]
    for seed, ax in enumerate(axes):
        draw(ax, seed, curve)
        ax.axhline(ours, color="grey", lw=1, label=f"our expert ({ours:,.1f})")
        ax.axhline(theirs, color="grey", ls="--", lw=1, label=f"the paper's expert ({theirs:,})")
    axes[0].set_ylabel("return (10 episodes)")
    named = {}  # every panel's entries once, in drawing order (a seed may lack a run)
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            named.setdefault(label, handle)
    fig.legend(named.values(), named.keys(), loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("HyPER, Humanoid: each seed's record and the same seed with the two settings", fontsize=11)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    fig.savefig(HERE / "seeds.png", dpi=110)
    print(f"wrote {HERE / 'seeds.png'}")


if __name__ == "__main__":
    main()
