"""Where a BC clone's task episodes go wrong: from the task's start cell towards its far goal, the
cells each episode passes through (as cells left to the goal cell), the nearest it came, and how it
ended (reached, tipped over, stuck in place for its last 200 steps, or still moving).

    python results/tried/antmaze-steady-ant/clone_task_paths.py POLICY.npz EPISODES ANT
"""

import sys

import numpy as np

from hyirl.antmaze import EVAL_GOAL, EVAL_START, AntMazeEnv, torso_up
from hyirl.experts import load_policy

policy, _ = load_policy(sys.argv[1])
env = AntMazeEnv(terminate_on_success=True, ant=sys.argv[3])
cells_left = env.grid.distances_to(EVAL_GOAL)
nearest_counts = []
for episode in range(int(sys.argv[2])):
    obs, _ = env.reset(seed=episode)
    path, positions, success = [], [], False
    for _ in range(1000):
        obs, _, success, _, _ = env.step(policy(obs))
        xy = env.data.qpos[:2].copy()
        positions.append(xy)
        left = cells_left[env.grid.cell_of(xy)]
        if not path or path[-1] != left:
            path.append(left)
        if success:
            break
    moved_late = np.linalg.norm(positions[-1] - positions[-200])
    ending = (
        "reached"
        if success
        else "tipped"
        if torso_up(env.data.qpos) < 0
        else f"stuck (moved {moved_late:.1f} m in its last 200 steps)"
        if moved_late < 1.0
        else "moving"
    )
    nearest_counts.append(min(path))
    print(f"episode {episode}: cells left {' '.join(map(str, path))}; nearest {min(path)}; {ending}")
print(f"start cell is {cells_left[EVAL_START]} cells from the goal cell")
print(f"nearest reached, median {np.median(nearest_counts):.0f}")
