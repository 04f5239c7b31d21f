"""Keep each AntMaze episode only while the ant walks upright towards its goal.

    python results/tried/antmaze-trim/trim.py DATASET.npz OUT.npz

Rows are 1,000-step episodes. An episode is cut after the first row within 0.5 m of its goal, or
before the first row with the torso past horizontal, whichever comes first; its last kept row is
marked as a time-limit end. A diagnosis of BC's 0 % (docs/antmaze.md), not a paper setting.
"""

import sys

import numpy as np

from hyirl.antmaze import torso_up
from hyirl.checkpoint import load_npz, save_npz

EPISODE = 1000
rows, meta = load_npz(sys.argv[1], "dataset")
obs = rows["observations"]
up = torso_up(rows["qpos"]).reshape(-1, EPISODE)
reached = (np.linalg.norm(obs[:, -2:] - obs[:, :2], axis=1) <= 0.5).reshape(-1, EPISODE)
steps = np.arange(EPISODE)
first_reach = np.where(reached.any(1), reached.argmax(1), EPISODE - 1)
first_tip = np.where((up < 0).any(1), (up < 0).argmax(1), EPISODE)
last_kept = np.minimum(first_reach, first_tip - 1)  # -1: the episode starts tipped, nothing kept
keep = (steps[None, :] <= last_kept[:, None]).reshape(-1)
ends = (steps[None, :] == last_kept[:, None]).reshape(-1)
trimmed = {k: v[keep] for k, v in rows.items()}
trimmed["timeouts"] = ends[keep]
trimmed["terminals"] = np.zeros_like(trimmed["timeouts"])
meta = {**meta, "transitions": int(keep.sum()), "trimmed": "to the first goal reach or the first tip past horizontal"}
save_npz(sys.argv[2], trimmed, meta)
print(
    f"{sys.argv[1]}: kept {keep.sum():,} of {keep.size:,} rows; episodes ending at their goal "
    f"{np.mean(reached.any(1) & (first_reach < first_tip)):.2f}, cut by a tip {np.mean(first_tip <= first_reach):.2f}"
)
