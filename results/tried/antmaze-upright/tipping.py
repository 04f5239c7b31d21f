"""How often the ant of an AntMaze dataset is past horizontal, before and after reaching its goal.

    python results/tried/antmaze-upright/tipping.py DATASET.npz [DATASET.npz ...]

Rows are 1,000-step episodes; observation columns 3:7 are the torso quaternion, the last two the goal.
"""

import sys

import numpy as np

from hyirl.antmaze import torso_up
from hyirl.checkpoint import load_npz

NEVER = 10**6
for path in sys.argv[1:]:
    rows, _ = load_npz(path, "dataset")
    obs = rows["observations"]
    up = torso_up(obs).reshape(-1, 1000)  # observation columns 0:15 are qpos
    reached = (np.linalg.norm(obs[:, -2:] - obs[:, :2], axis=1) <= 0.5).reshape(-1, 1000)
    first_reach = np.where(reached.any(1), reached.argmax(1), NEVER)
    first_tip = np.where((up < 0).any(1), (up < 0).argmax(1), NEVER)
    speed = np.linalg.norm(obs[:, 15:17], axis=1).mean()
    after = np.mean((first_reach < first_tip) & (first_tip < NEVER))
    median = np.median(first_reach[first_reach < NEVER])
    print(
        f"{path}: rows past horizontal {(up < 0).mean():.3f}, episodes tipping before their goal "
        f"{np.mean(first_tip < first_reach):.2f}, after it {after:.2f}, reached {np.mean(first_reach < NEVER):.2f}, "
        f"median first reach {median:.0f}, mean planar speed {speed:.2f} m/s"
    )
