"""Do HyPER's falls follow the discriminator updates? Reads a run evaluated every 250 real steps.

The discriminator is updated when env_steps crosses a multiple of ``disc_every`` (1,000), before that
step's evaluation; SAC then trains on the new reward until the next one. For every 1,000-step period
this prints the evaluations at phase 0 (right after the update, before any SAC step on the new reward),
250, 500 and 750, and then sums the changes between consecutive evaluations by phase: if the
discriminator update drives the falls, the changes into phases 250-750 (SAC on a fresh reward) should
hold the large drops, the change into phase 0 (SAC on the old reward, ending with the update) not.

Run from the repository root:
    python results/tried/hyper-fine-evals/phases.py runs/hyper-mix-fine-s0
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

from hyirl.report import load_run

run_dir = Path(sys.argv[1])
period = json.loads((run_dir / "config.json").read_text())["disc_every"]
run = load_run(run_dir)
evals = dict(zip(run["env_steps"].astype(int).tolist(), run["returns"].tolist()))

steps = sorted(evals)
print("period start | evaluations at phase 0, 250, 500, 750")
for start in range(period * (steps[0] // period), steps[-1] + 1, period):
    row = [evals.get(start + phase) for phase in range(0, period, 250)]
    print(f"{start:>12,} | " + "  ".join("     -" if v is None else f"{v:6,.0f}" for v in row))

changes = defaultdict(list)  # phase of the later evaluation -> changes into it
for a, b in zip(steps, steps[1:]):
    changes[b % period].append(evals[b] - evals[a])
print("\nphase of the later evaluation | count | mean change | drops > 1,000 | rises > 1,000")
for phase in sorted(changes):
    c = changes[phase]
    print(
        f"{phase:>29} | {len(c):>5} | {sum(c) / len(c):>+11,.0f} | {sum(x < -1000 for x in c):>13} | "
        f"{sum(x > 1000 for x in c):>12}"
    )
