"""How the data's ant is turned relative to the way it walks: the angle between the torso's own x axis
and its planar velocity, over rows moving faster than 0.3 m/s.

    python results/tried/antmaze-d4rl-ant/heading.py DATASET.npz
"""

import sys

import numpy as np

from hyirl.antmaze import torso_heading
from hyirl.checkpoint import load_npz

rows, _ = load_npz(sys.argv[1], "dataset", keys=("observations",))
obs = rows["observations"]
yaw = torso_heading(obs)  # observation columns 0:15 are qpos
moving = np.linalg.norm(obs[:, 15:17], axis=1) > 0.3
course = np.arctan2(obs[moving, 16], obs[moving, 15])
offset = np.degrees(np.angle(np.exp(1j * (course - yaw[moving]))))
counts, edges = np.histogram(offset, bins=12, range=(-180, 180))
print(f"{moving.sum():,} moving rows; walking direction minus torso heading, degrees:")
for lo, n in zip(edges[:-1], counts):
    print(f"  [{lo:5.0f}, {lo + 30:5.0f}): {n / moving.sum():.3f}")
