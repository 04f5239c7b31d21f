"""Share of a cached AntMaze dataset's episodes that head for the evaluation goal's cell (and start in
the evaluation start's cell): BC sees no goal in its observation, so this share is what it can copy.

    python results/tried/antmaze-goal-share/goal_share.py DIGEST   # DIGEST: the data ant's file digest[:12]
"""

import sys
from pathlib import Path

import numpy as np

from hyirl.antmaze import CELL_SIZE, EVAL_GOAL, EVAL_START, MazeGrid
from hyirl.demos import cache_dir

digest = sys.argv[1]
grid = MazeGrid()
goal_xy, start_xy = grid.center(EVAL_GOAL), grid.center(EVAL_START)
for name in ("antmaze-large-diverse", "antmaze-large-play"):
    path = next((cache_dir() / "demos").glob(f"{name}-v2-{digest}-*.npz"))
    data = np.load(path, mmap_mode="r")
    goals = np.asarray(data["goal"][::1000])  # one goal per 1,000-step episode
    starts = np.asarray(data["observations"][::1000, :2])
    to_goal = np.linalg.norm(goals - goal_xy, axis=1) < CELL_SIZE / 2 + 1  # the cell plus D4RL's goal noise
    from_start = np.linalg.norm(starts - start_xy, axis=1) < CELL_SIZE / 2 + 1
    print(
        f"{name}: {len(goals)} episodes ({Path(path).name}); goal in the evaluation goal's cell "
        f"{to_goal.mean():.1%}, start in the evaluation start's cell {from_start.mean():.1%}, "
        f"both {(to_goal & from_start).mean():.1%}"
    )
