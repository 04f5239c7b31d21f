"""Where the data's ant goes when it leaves the evaluation start cell (1, 1), by its episode's goal.

python results/tried/antmaze-d4rl-ant/start_cell_exits.py DATASET.npz
"""

import collections
import sys

import numpy as np

from hyirl.antmaze import EVAL_START, MazeGrid
from hyirl.checkpoint import load_npz

rows, _ = load_npz(sys.argv[1], "dataset", keys=("observations",))
grid = MazeGrid()
cells = [grid.cell_of(xy) for xy in rows["observations"][:, :2]]
goal_cells = [grid.cell_of(xy) for xy in rows["observations"][:, 29:31]]
exits = collections.Counter()
for t in range(len(cells) - 1):
    if t % 1000 != 999 and cells[t] == EVAL_START and cells[t + 1] != EVAL_START:
        exits[(cells[t + 1], "goal in (7, 9)" if goal_cells[t] == (7, 9) else "other goal")] += 1
for (cell, goal), n in sorted(exits.items()):
    print(f"leaves {EVAL_START} for {cell} ({goal}): {n} rows")
print(f"rows in the start cell: {np.sum([c == EVAL_START for c in cells])}")
