"""Table: HyPE on Ant, six seeds with MuJoCo <= 3.4's contact margins against six on MuJoCo 4.0.1's own
(docs/hyper.md §35, §36). Seeds 0-2 of the older rule ran through ``paper_margins.py`` (their config.json does
not record the halving, so ``hyirl report`` cannot tell them apart), seeds 3-5 with ``--set
contact_margins=reference``; the controls are the same commands without either.

Per seed the return at the evaluation of each policy-step count and at its last evaluation (≈ 100k real
steps, the discriminator's counted); per column the IQM with its 95 % stratified-bootstrap interval
(hyirl.report, rliable) and rliable's probability that a run of the older rule scores above one of the
control.

Run from the repository root:
    python results/tried/mujoco-contact-margins/ant_pair.py
"""

from pathlib import Path

import numpy as np
from rliable import metrics

from hyirl.report import iqm_with_ci, load_run

HERE = Path(__file__).parent
OLDER_RULE = [HERE / "hype-ant-margins" / f"s{s}" for s in range(3)]
OLDER_RULE += [HERE / "hype-ant-margins-s345" / f"s{s}" for s in range(3, 6)]
CONTROL = [HERE / "hype-ant-control" / f"s{s}" for s in range(3)]
CONTROL += [HERE / "hype-ant-control-s345" / f"s{s}" for s in range(3, 6)]
POLICY_STEPS = (30_000, 50_000, 60_000, 70_000, 80_000)


def returns(run: Path) -> list[float]:
    """The run's return at each of POLICY_STEPS, then at its last evaluation."""
    record = load_run(run)
    at = dict(zip(record["policy_steps"], record["returns"]))
    return [at[step] for step in POLICY_STEPS] + [record["returns"][-1]]


def main() -> None:
    columns = [f"{step // 1000}k" for step in POLICY_STEPS] + ["last (≈ 100k real)"]
    print("| HyPE, Ant | seed | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    scores = {}
    for label, runs in (("MuJoCo <= 3.4's margins", OLDER_RULE), ("MuJoCo 4.0.1's margins", CONTROL)):
        scores[label] = np.array([returns(run) for run in runs])
        for run, row in zip(runs, scores[label]):
            print(f"| {label} | {run.name[1:]} | " + " | ".join(f"{v:,.0f}" for v in row) + " |")
        iqm, ci = iqm_with_ci(scores[label])
        cells = [f"{m:,.0f} [{lo:,.0f}, {hi:,.0f}]" for m, lo, hi in zip(iqm, *ci)]
        print(f"| {label} | IQM [95 % CI] | " + " | ".join(cells) + " |")
    older, control = scores.values()
    better = [metrics.probability_of_improvement(older[:, [i]], control[:, [i]]) for i in range(len(columns))]
    print("| P(older rule > control) | | " + " | ".join(f"{p:.2f}" for p in better) + " |")


if __name__ == "__main__":
    main()
