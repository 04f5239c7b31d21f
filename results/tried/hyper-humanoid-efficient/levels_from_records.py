"""Diagnostic from records alone: the learned soft reward's level on a HyPER run's own states, per evaluation.

From each metrics.jsonl row: -f on the discriminator's newest real learner pairs (``disc_learner_reward``)
plus SAC's entropy term gamma * alpha * H, with H the entropy SAC last measured on its batch (the policy's
own log-density, which a target of -|A| keeps positive: a cost per step). Without absorbing states the value
of ending an episode is 0, so where this level is below 0 ending pays (docs/hyper.md §27). It is a proxy:
H is measured on model rows, not on the learner's real states (``free_level.py`` measures both at a
checkpoint). With absorbing states (``disc.absorbing``), a last column gives what ending pays per step
instead of 0: -f(abs), plus the same entropy term where ``sac.terminal_entropy`` is on. Printed beside
it: the deployed policy's return and mean episode length, and the latest weights' return (10 deterministic
episodes each).

Run from the repository root:
    python results/tried/hyper-humanoid-efficient/levels_from_records.py results/runs/hyper-humanoid-efficient-s*
"""

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args()
    for run in args.runs:
        sac = json.loads((run / "config.json").read_text())["sac"]
        gamma, ending_entropy = sac["gamma"], sac.get("terminal_entropy", False)
        print(f"== {run}: real steps, -f on learner pairs, + gamma alpha H, = level | deployed (length), latest")
        for line in (run / "metrics.jsonl").read_text().splitlines():
            row = json.loads(line)
            if "disc_learner_reward" not in row:
                continue
            entropy_term = gamma * row["alpha"] * row["entropy"]
            ending = ""
            if "disc_absorbing_reward" in row:
                ending = f" | ending {row['disc_absorbing_reward'] + ending_entropy * entropy_term:7.2f}"
            print(
                f"{row['env_steps']:7d} {row['disc_learner_reward']:7.2f} {entropy_term:7.2f} "
                f"{row['disc_learner_reward'] + entropy_term:7.2f} | {row['eval_return_mean']:7.0f} "
                f"({row['eval_length_mean']:4.0f}) {row['eval_return_latest']:7.0f}{ending}"
            )


if __name__ == "__main__":
    main()
