"""How far and how fast a policy's ant moves in AntMaze's evaluation episodes (D4RL's ant):
mean torso speed (m per step), path length, fewest cells left to the goal, and success.

    python results/tried/antmaze-hype-filter/speed.py EPISODES POLICY.npz [POLICY.npz ...]

Episodes use the evaluation seeds of `hyirl train --seed 0` (1,000,000 + k).
"""

import sys

import numpy as np

from hyirl.antmaze import EVAL_GOAL, AntMazeEnv
from hyirl.experts import load_policy

env = AntMazeEnv(ant="d4rl")
cells_to_goal = env.grid.distances_to(EVAL_GOAL)
for path in sys.argv[2:]:
    policy, _ = load_policy(path)
    rows = []
    for k in range(int(sys.argv[1])):
        obs, _ = env.reset(seed=1_000_000 + k)
        xy, length, fewest, success = obs[:2].copy(), 0.0, 99, False
        for t in range(1000):
            obs, _, success, _, _ = env.step(policy(obs))
            length += float(np.linalg.norm(obs[:2] - xy))
            xy = obs[:2].copy()
            fewest = min(fewest, cells_to_goal.get(env.grid.cell_of(xy), 99))
            if success:
                break
        rows.append((length / (t + 1), length, fewest, success))
    speed, length, fewest, success = (np.array(c, float) for c in zip(*rows))
    print(
        f"{path}: {len(rows)} episodes, speed {speed.mean():.3f} m/step, path {length.mean():.1f} m, "
        f"fewest cells to goal {fewest.mean():.1f} (min {fewest.min():.0f}), success {100 * success.mean():.0f} %"
    )
