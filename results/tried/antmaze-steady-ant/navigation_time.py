"""How long the data-making ant (planner + goal-reaching policy) needs for the task itself: from
the task's start to its far goal, EPISODES episodes of at most 1,000 steps; success, the steps
the successful episodes took, the torso's mean speed, and for failures how many cells were left.

    python results/tried/antmaze-steady-ant/navigation_time.py POLICY.npz EPISODES
"""

import sys

import numpy as np

from hyirl.antmaze import EVAL_GOAL, AntMazeEnv, GoalReacher
from hyirl.antmaze_data import navigation_success
from hyirl.experts import load_policy

policy, meta = load_policy(sys.argv[1])
reacher = GoalReacher.of(policy, meta)
success, outcomes = navigation_success(reacher, pairs=int(sys.argv[2]), evaluation_task=True, progress=False)
grid = AntMazeEnv(ant=reacher.ant).grid
cells_left = grid.distances_to(EVAL_GOAL)
steps = [len(o["path"]) - 1 for o in outcomes if o["success"]]
speeds = [np.linalg.norm(np.diff(o["path"], axis=0), axis=1).mean() for o in outcomes]
left = [cells_left[grid.cell_of(o["path"][-1])] for o in outcomes if not o["success"]]
print(f"{sys.argv[1]} (ant {reacher.ant}, {reacher.frame} frame)")
print(f"reached {len(steps)} of {len(outcomes)} ({success:.0%}) within 1000 steps")
if steps:
    print(f"steps of the successful episodes: median {np.median(steps):.0f}, min {min(steps)}, max {max(steps)}")
print(f"torso speed: mean {np.mean(speeds):.4f} m per step")
print(f"failures: cells left to the goal cell at the end: {sorted(left)}")
