"""What a BC policy does in AntMaze's evaluation episodes: how far along the shortest cell path to
the goal it gets, how close to the goal, and whether it ends on its back.

    python results/tried/antmaze-bc/episodes.py POLICY.npz EPISODES [ANT]

ANT: the ant model, gymnasium (default) or d4rl (hyirl.antmaze.ant_model_xml).

Episodes use the evaluation seeds of `hyirl train --algo bc --seed 0` (1,000,000 + k).
"""

import sys

import numpy as np

from hyirl.antmaze import EVAL_GOAL, EVAL_START, AntMazeEnv
from hyirl.experts import load_policy

policy, _ = load_policy(sys.argv[1])
env = AntMazeEnv(ant=sys.argv[3] if len(sys.argv) > 3 else "gymnasium")
cells_to_goal = env.grid.distances_to(EVAL_GOAL)
print(f"start cell {EVAL_START} is {cells_to_goal[EVAL_START]} cells from the goal cell {EVAL_GOAL}")
for k in range(int(sys.argv[2])):
    obs, _ = env.reset(seed=1_000_000 + k)
    fewest, nearest, success = 99, np.inf, False
    for t in range(1000):
        obs, reward, success, _, _ = env.step(policy(obs))
        fewest = min(fewest, cells_to_goal.get(env.grid.cell_of(obs[:2]), 99))
        nearest = min(nearest, env.distance())
        if success:
            break
    w = env.data.qpos[3]  # the torso quaternion's w: |w| well below 0.7 is tipped over, near 0 on its back
    print(
        f"episode {k}: success {success}, steps {t + 1}, fewest cells to the goal {fewest}, "
        f"nearest {nearest:.2f} m, final torso height {obs[2]:.2f} m, quaternion w {w:.2f}"
    )
