"""Experiment: a hyirl run with the contact margins of MuJoCo <= 3.4 on MuJoCo >= 3.5.

MuJoCo 3.5.0 changed how a contact's margin comes from its two geoms' margins: their sum instead of the
larger of the two (its changelog, "General", item 12). Humanoid-v5 gives every geom a margin of 1 mm,
so under MuJoCo >= 3.5 every contact starts at 2 mm instead of 1 mm; Hopper-v5 the same, Ant-v5 2 cm
instead of 1 cm; Walker2d-v5 has no margins. The reference ran MuJoCo 2.1, and `compare.py` here finds
Humanoid's physics the same to rounding on mujoco 2.3.7, 3.0.0 and 3.3.0, while 4.0.1 (hyirl's records)
moves the next state's velocities by 0.12 (median) from the same state and action. Halving every geom's
margin when all are equal restores the older rule exactly (m/2 + m/2 = max(m, m)); `compare.py
--margin-scale 0.5` shows 4.0.1 then back at 3.3.0's physics to rounding.

This script halves the margins of every task env the run creates (training, discriminator sampling,
evaluation) for its own process only, then runs the `hyirl train` command line. The learned model of
HyPER sees only what these envs produce. It refuses tasks whose geoms do not share one margin. Since
hyirl 0.32.0 the halving is the package's (`hyirl.envs.reference_contact_margins`, also behind `--set
contact_margins=reference`); this script keeps the runs below resumable as they were made.

Run from the repository root, e.g. HyPE on Humanoid, seed 0, as results/runs/hype-humanoid-nocontact-s0:
    python results/tried/mujoco-contact-margins/paper_margins.py --algo hype --env humanoid --seed 0 \
        --steps 100000 --eval-every 10000 --checkpoint-every 10000 --out runs/hype-humanoid-margins-s0
and, to continue it, `--resume RUN --steps N` instead. With `expert eval ENV ...` in place of train's arguments
it evaluates an expert under the older rule instead (output-experts.txt).
"""

import sys

import mujoco

from hyirl.cli import main
from hyirl.envs import MARGINS_ADD_UP, TaskEnv, reference_contact_margins

_init = TaskEnv.__init__


def init_with_paper_margins(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    reference_contact_margins(self.env.model, self.task.name)


if __name__ == "__main__":
    if not MARGINS_ADD_UP:
        raise SystemExit(f"mujoco {mujoco.__version__} already uses the larger margin; run without this script")
    TaskEnv.__init__ = init_with_paper_margins
    args = sys.argv[1:]
    sys.exit(main(args if args[:2] == ["expert", "eval"] else ["train", *args]))
