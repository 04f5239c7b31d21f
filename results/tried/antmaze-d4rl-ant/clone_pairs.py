"""A BC clone (31-number AntMaze observation in, action out) on random start/goal cell pairs of the
maze, as `hyirl navigate --mode pairs` draws them for the planner: how many it reaches in 1,000
steps, by how many cells apart start and goal are.

    python results/tried/antmaze-d4rl-ant/clone_pairs.py POLICY.npz PAIRS ANT
"""

import collections
import sys

import numpy as np

from hyirl.antmaze import AntMazeEnv
from hyirl.experts import load_policy

policy, _ = load_policy(sys.argv[1])
env = AntMazeEnv(terminate_on_success=True, ant=sys.argv[3])
grid, rng = env.grid, np.random.default_rng(0)
by_distance = collections.defaultdict(list)
for k in range(int(sys.argv[2])):
    start, goal_cell = (grid.free_cells[i] for i in rng.choice(len(grid.free_cells), 2, replace=False))
    obs, _ = env.reset(seed=k, options=dict(start=grid.center(start), goal=env.sample_goal(rng, goal_cell)))
    success = False
    for _ in range(1000):
        obs, _, success, _, _ = env.step(policy(obs))
        if success:
            break
    by_distance[grid.distances_to(goal_cell)[start]].append(success)
for cells, outcomes in sorted(by_distance.items()):
    print(f"start {cells:2d} cells from the goal cell: reached {sum(outcomes)} of {len(outcomes)}")
print(f"all: reached {sum(map(sum, by_distance.values()))} of {int(sys.argv[2])}")
