"""Figures: HyPER Humanoid, each seed's record (efficient preset) beside the same seed from scratch with
``disc.absorbing=true`` and ``sac.terminal_entropy=true`` (docs/hyper.md §29, §31), and seed 0 with the
paper's Humanoid rollouts as well (§32), in ``seeds.png``; seed 0's record beside its one-setting probes
(§33, §34) in ``seed0-probes.png``. Seed 0 with both settings runs on to 200k (§33), seeds 1 and 2 in a
second run from scratch (``variants/absorbing-entropy-200k-sS``, equal to the first line for line where both
exist, §36): each panel draws the longer of the two records.

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
# label: (colour, run directories with {seed}: the longest record that exists is drawn)
RECORD = {"efficient preset (the record)": ("black", ("results/runs/hyper-humanoid-efficient-s{seed}",))}
RUNS = {
    **RECORD,
    "efficient, disc.absorbing=true, sac.terminal_entropy=true": (
        "tab:blue",
        (
            str(HERE / "variants" / "absorbing-entropy-s{seed}"),
            str(HERE / "variants" / "absorbing-entropy-200k-s{seed}"),
        ),
    ),
    "the same, rollout_schedule=[20,300,1,25], rollouts_per_step=400 (the paper's rollouts)": (
        "tab:green",
        (str(HERE / "variants" / "absorbing-entropy-paper-rollouts-s{seed}"),),
    ),
}
PROBES = {  # seed 0, one setting changed from the efficient preset each (§33)
    **RECORD,
    "efficient, the paper's actor schedule (sac.learning_rate=1e-4, actor_lr_decay=10000, 20 updates every 2 steps)": (
        "tab:purple",
        (str(HERE / "variants" / "paper-sac-schedule-s{seed}"),),
    ),
    "efficient, disc_pairs=1000 (the discriminator on the newest epoch only)": (
        "tab:orange",
        (str(HERE / "variants" / "disc-pairs-1000-s{seed}"),),
    ),
    "efficient, Humanoid-v5's own reward in place of -f (true_reward.py, §34)": (
        "tab:brown",
        (str(HERE / "variants" / "true-reward-s{seed}"),),
    ),
}


def draw(ax, seed: int, paper: tuple, runs: dict, right: float) -> None:
    for label, (colour, patterns) in runs.items():
        found = [Path(pattern.format(seed=seed)) for pattern in patterns]
        found = [run for run in found if run.is_dir()]
        if not found:
            continue
        run = max(found, key=lambda run: len((run / "metrics.jsonl").read_text().splitlines()))
        for metric, style, suffix in (("eval_return_mean", "-", "deployed"), ("eval_return_latest", ":", "latest")):
            records = load_run(run, metric)
            ax.plot(records["env_steps"] / 1000, records["returns"], style, color=colour, label=f"{label}: {suffix}")
    xs, values, offset = paper
    ax.plot((xs + offset) / 1000, values, "o", color="tab:red", ms=4, label="the paper's HyPER (at measured x)")
    ax.set_title(f"seed {seed}", fontsize=10)
    ax.set_xlabel("real steps (thousands)")
    ax.set_xlim(0, right)
    ax.grid(alpha=0.3)


def figure(
    seeds: list[int], runs: dict, title: str, name: str, right: float, legend_columns: int, legend_height: float
) -> None:
    fig, grid = plt.subplots(
        1, len(seeds), figsize=(14 if len(seeds) > 1 else 9, 4.6 if len(seeds) > 1 else 6.4), sharey=True, squeeze=False
    )
    axes = grid[0]
    paper = paper_results()
    curve = paper_curve(paper, "humanoid", "hyper")
    ours, theirs = _shipped_expert_return("humanoid"), paper["tasks"]["humanoid"]["expert"]
    for seed, ax in zip(seeds, axes):
        draw(ax, seed, curve, runs, right)
        ax.axhline(ours, color="grey", lw=1, label=f"our expert ({ours:,.1f})")
        ax.axhline(theirs, color="grey", ls="--", lw=1, label=f"the paper's expert ({theirs:,})")
    axes[0].set_ylabel("return (10 episodes)")
    named = {}  # every panel's entries once, in drawing order (a seed may lack a run)
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            named.setdefault(label, handle)
    fig.legend(named.values(), named.keys(), loc="lower center", ncol=legend_columns, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, legend_height, 1, 1))
    fig.savefig(HERE / name, dpi=110)
    print(f"wrote {HERE / name}")


def main() -> None:
    title = "HyPER, Humanoid: each seed's record and the same seed with the two settings"
    figure([0, 1, 2], RUNS, title, "seeds.png", right=205, legend_columns=3, legend_height=0.13)
    title = "HyPER, Humanoid, seed 0: the record and one setting changed at a time"
    figure([0], PROBES, title, "seed0-probes.png", right=135, legend_columns=1, legend_height=0.35)


if __name__ == "__main__":
    main()
