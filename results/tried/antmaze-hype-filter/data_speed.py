"""Torso speed of the AntMaze dataset's rows (m per step), and the share of rows near their goal.

    python results/tried/antmaze-hype-filter/data_speed.py DIGEST

DIGEST: the data ant's digest in the cache file name (b4e5e0278ec7 for the shipped one).
"""

import sys

import numpy as np

from hyirl.demos import cache_dir

(path,) = (cache_dir() / "demos").glob(f"antmaze-large-diverse-v*-{sys.argv[1]}-1000000-s0.npz")
data = np.load(path)
obs, next_obs = data["observations"], data["next_observations"]
speed = np.linalg.norm(next_obs[:, :2] - obs[:, :2], axis=1)
near_goal = np.linalg.norm(obs[:, :2] - obs[:, -2:], axis=1) <= 0.5
print(f"{path.name}: {len(speed)} rows, mean speed {speed.mean():.3f} m/step")
for bound in (0.01, 0.02, 0.05):
    print(f"  rows slower than {bound} m/step: {100 * np.mean(speed < bound):.1f} %")
share, goal_speed = 100 * near_goal.mean(), speed[near_goal].mean()
print(f"  rows within 0.5 m of their goal: {share:.1f} % (their mean speed {goal_speed:.3f})")
print(f"  rows farther: mean speed {speed[~near_goal].mean():.3f} m/step")
