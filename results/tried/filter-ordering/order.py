"""Issue 26 item 5: is FILTER ahead of HyPE on Hopper and Walker2d because of the x axis? And on Ant?

hyirl's tables count every real step (`env_steps`), the discriminator's fresh trajectories included;
the paper plots `policy_steps` (those trajectories uncounted, spec §8, §10.1). This prints, from the
committed 300k records, the IQM of each method with three seeds on the task and P(HyPE > FILTER) at
the same steps on both axes beside the paper's values, and how many discriminator steps each method had
paid by 100k policy steps.

    python results/tried/filter-ordering/order.py > results/tried/filter-ordering/order.txt

``--tag T --envs hopper`` reads the records ``results/runs/{method}-{env}-T-s{seed}`` instead (e.g. the
runs with the reference's discriminator initialisation, tag ``torchinit``); a method without three such
records is left out.
"""

import argparse
import json
from pathlib import Path

from rliable import metrics

from hyirl.report import _values_at, iqm_with_ci, load_run, paper_results, paper_value

RUNS = Path(__file__).resolve().parents[2] / "runs"
METHODS = ("hype", "filter", "mm", "bc-reg")
STEPS = (50_000, 100_000, 150_000, 200_000)
PAPER = paper_results()


def discriminator_steps(record_dir: Path, policy_steps: int) -> tuple[int, int]:
    """(env steps, discriminator steps) of the evaluation nearest to ``policy_steps``."""
    rows = [json.loads(line) for line in (record_dir / "metrics.jsonl").read_text().splitlines()]
    row = min(rows, key=lambda r: abs(r["policy_steps"] - policy_steps))
    return row["env_steps"], row["disc_env_steps"]


parser = argparse.ArgumentParser()
parser.add_argument("--tag", default="", help="read {method}-{env}-TAG-s{seed}")
parser.add_argument("--envs", default="hopper,walker2d,ant")
args = parser.parse_args()
suffix = f"-{args.tag}" if args.tag else ""


def record(method: str, env: str, seed: int) -> Path:
    return RUNS / f"{method}-{env}{suffix}-s{seed}"


for env in args.envs.split(","):
    methods = [m for m in METHODS if all(record(m, env, s).is_dir() for s in range(3))]
    runs = {m: [load_run(record(m, env, s)) for s in range(3)] for m in methods}
    print(f"## {env}{suffix} (seeds 0-2)\n")
    print("| axis | step | " + " | ".join(f"{m} IQM" for m in methods) + " | P(hype > filter) |")
    print("|---|---|" + "---|" * (len(methods) + 1))
    for axis in ("env_steps", "policy_steps"):
        for step in STEPS + ((300_000,) if axis == "env_steps" else ()):  # policy steps end at 205k-290k
            values = {m: _values_at(r, step, axis) for m, r in runs.items()}
            iqms = [f"{iqm_with_ci(v[:, None])[0][0]:,.0f}" if v is not None else "–" for v in values.values()]
            hype, filter_ = values["hype"], values["filter"]
            p = (
                "–"
                if hype is None or filter_ is None
                else f"{metrics.probability_of_improvement(hype[:, None], filter_[:, None]):.2f}"
            )
            print(f"| {axis} | {step // 1000}k | " + " | ".join(iqms) + f" | {p} |")
    for step in STEPS:
        values = [paper_value(PAPER, env, m, step) for m in methods]
        shown = " | ".join("–" if v is None else f"{v:,.0f}" for v in values)
        print(f"| paper (policy steps, plotted x) | {step // 1000}k | {shown} | |")
    print("\nenv steps and discriminator steps at 100k policy steps, per seed:\n")
    for m in methods:
        paid = [discriminator_steps(record(m, env, s), 100_000) for s in range(3)]
        print(f"* {m}: " + ", ".join(f"{e:,} env ({d:,} discriminator)" for e, d in paid))
    print()
