"""Experiment: continue a HyPER run from a kept checkpoint with a constant added to the learned reward.

Moment matching leaves the level of -f free; on a task that ends when the body falls, the level decides
whether living pays. If a run falls because ending an episode (value 0) beats living at its own states
(docs/hyper.md §27), then r = -f + c with c > 0 from the same checkpoint should keep it standing, and
c < 0 should make it fall sooner, while everything else (the discriminator's training, the model, the
real steps' randomness) continues exactly as in the original run. The offset is not a hyirl option:
this script patches the discriminator's reward for its own process only.

Run from the repository root:
    python results/tried/hyper-humanoid-efficient/branch_with_offset.py RUN CHECKPOINT OUT --offset 1 --steps 77500

OUT gets RUN's config and records up to CHECKPOINT's step, and CHECKPOINT as its checkpoint; RUN is not
changed. The branch's metrics.jsonl goes on from there, as a resumed run's would. Where OUT already holds
a branch, the same command with a larger ``--steps`` continues it from its last checkpoint.
"""

import argparse
import json
import shutil
from pathlib import Path

from hyirl.discriminator import Discriminator
from hyirl.errors import HyirlError
from hyirl.hyper import HyPERConfig, train_hyper
from hyirl.presets import build_config, from_json


def branch_directory(run: Path, checkpoint: Path, out: Path) -> None:
    if out.exists():
        raise HyirlError(f"{out} exists and holds no branch; choose another OUT")
    (out / "checkpoints").mkdir(parents=True)
    for name in ("config.json", "metrics.jsonl", "cost.jsonl"):
        shutil.copy(run / name, out / name)
    shutil.copy(checkpoint, out / "checkpoints" / "learner.npz")


def offset_reward(offset: float) -> None:
    """Every reward the process computes from the discriminator becomes -f(s, a) + offset."""
    learned = Discriminator.reward

    def reward(self, params, batch):
        return learned(self, params, batch) + offset

    Discriminator.reward = reward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--offset", type=float, required=True)
    parser.add_argument("--steps", type=int, required=True)
    args = parser.parse_args()
    if not (args.out / "config.json").is_file():
        branch_directory(args.run, args.checkpoint, args.out)
    offset_reward(args.offset)
    saved = from_json(json.loads((args.out / "config.json").read_text()))
    cfg = build_config(HyPERConfig, saved, {"steps": args.steps})
    print(f"branch of {args.run} at {args.checkpoint}, reward -f + {args.offset:g}, to {args.steps} real steps")
    train_hyper(cfg, args.out, resume=True, progress=False)


if __name__ == "__main__":
    main()
