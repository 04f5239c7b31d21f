"""Figure: HyPE on Ant and Humanoid with MuJoCo <= 3.4's contact margins (`paper_margins.py`) beside the
same command on MuJoCo 4.0.1's own margins, the paper's HyPE and both experts (docs/hyper.md §35; Ant
seeds 3-5 with ``--set contact_margins=reference`` and their control, §36), in ``hype-margins.png``.
Each line is one seed's return over 10 deterministic real episodes per evaluation, against all real steps
(the discriminator's trajectories counted, as in docs/results.md); the paper's curve at the x it plots.

Run from the repository root:
    python results/tried/mujoco-contact-margins/plot.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hyirl.report import _shipped_expert_return, load_run, paper_curve, paper_results  # noqa: E402

HERE = Path(__file__).parent
RECORDS = Path("results/runs")
SEEDS = range(3)
ANT_CONTROL = [HERE / "hype-ant-control" / f"s{s}" for s in SEEDS]
ANT_RECORD = [RECORDS / f"hype-ant-nocontact-s{s}" for s in SEEDS]
ANT_MARGINS = [HERE / "hype-ant-margins" / f"s{s}" for s in SEEDS]
MORE_SEEDS = range(3, 6)
ANT_CONTROL_MORE = [HERE / "hype-ant-control-s345" / f"s{s}" for s in MORE_SEEDS]
ANT_MARGINS_MORE = [HERE / "hype-ant-margins-s345" / f"s{s}" for s in MORE_SEEDS]
HUMANOID_RECORD = [RECORDS / f"hype-humanoid-nocontact-s{s}" for s in SEEDS]
HUMANOID_MARGINS = [HERE / "hype-humanoid-margins-s0", *(HERE / "hype-humanoid-margins-s12" / f"s{s}" for s in (1, 2))]
ACTION_UNITS = [HERE.parent / "humanoid-hype-action-units" / "hype-env-units-s0"]
OLD_RULE = "MuJoCo <= 3.4's margins (paper_margins.py)"
# (task, seeds): {label: (colour, style, run directories)}
PANELS = {
    ("ant", "0-2"): {
        "MuJoCo 4.0.1's margins (hyirl 0.31.0, control)": ("black", "-", ANT_CONTROL),
        "MuJoCo >= 3.5's margins (hyirl 0.26.0, the record)": ("grey", ":", ANT_RECORD),
        OLD_RULE: ("tab:orange", "-", ANT_MARGINS),
    },
    ("ant", "3-5"): {
        "MuJoCo 4.0.1's margins (hyirl 0.32.0, control)": ("black", "-", ANT_CONTROL_MORE),
        "MuJoCo <= 3.4's margins (--set contact_margins=reference)": ("tab:orange", "-", ANT_MARGINS_MORE),
    },
    ("humanoid", "0-2"): {
        "MuJoCo >= 3.5's margins (hyirl 0.24.0, the record)": ("black", "-", HUMANOID_RECORD),
        OLD_RULE: ("tab:orange", "-", HUMANOID_MARGINS),
        "the reference's action units (env_units.py)": ("tab:purple", "-", ACTION_UNITS),
    },
}


def draw(ax, panel: tuple[str, str], paper: dict) -> None:
    task, seeds = panel
    for label, (colour, style, runs) in PANELS[panel].items():
        for i, run in enumerate(r for r in runs if (r / "metrics.jsonl").is_file()):
            records = load_run(run)
            ax.plot(records["env_steps"] / 1000, records["returns"], style, color=colour, marker=".", ms=4,
                    lw=1.2, label=label if i == 0 else None)  # fmt: skip
    xs, values, offset = paper_curve(paper, task, "hype")
    ax.plot((xs + offset) / 1000, values, "o", color="tab:red", ms=5, label="the paper's HyPE (at measured x)")
    ours, theirs = _shipped_expert_return(task), paper["tasks"][task]["expert"]
    ax.axhline(ours, color="grey", lw=1, label=f"our expert ({ours:,.0f})")
    ax.axhline(theirs, color="grey", ls="--", lw=1, label=f"the paper's expert ({theirs:,})")
    ax.set_title(f"HyPE, {task}, seeds {seeds} (one line a seed)", fontsize=10)
    ax.set_xlabel("real steps (thousands)")
    ax.set_xlim(0, 112)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, frameon=False)


def main() -> None:
    fig, axes = plt.subplots(1, len(PANELS), figsize=(18, 6.2))
    paper = paper_results()
    for ax, panel in zip(axes, PANELS):
        draw(ax, panel, paper)
    axes[0].set_ylabel("return (10 episodes)")
    fig.suptitle(
        "HyPE with MuJoCo <= 3.4's contact margins (the reference's rule) and with MuJoCo 4.0.1's", fontsize=11
    )
    fig.tight_layout()
    fig.savefig(HERE / "hype-margins.png", dpi=110)
    print(f"wrote {HERE / 'hype-margins.png'}")


if __name__ == "__main__":
    main()
