"""How widely a dataset's ant turns: the torso's heading in world axes (the world-frame input a BC clone
sees) and its walking direction minus its heading, over rows moving faster than 0.3 m/s.

    python results/tried/antmaze-steady-ant/heading_spread.py DATASET.npz
"""

import sys

import numpy as np

from hyirl.antmaze import torso_heading
from hyirl.checkpoint import load_npz

rows, _ = load_npz(sys.argv[1], "dataset", keys=("observations",))
obs = rows["observations"]
moving = np.linalg.norm(obs[:, 15:17], axis=1) > 0.3
yaw = torso_heading(obs[moving])  # observation columns 0:15 are qpos
course = np.arctan2(obs[moving, 16], obs[moving, 15])
spreads = {
    "torso heading (world)": np.degrees(yaw),
    "walking direction - heading": np.degrees(np.angle(np.exp(1j * (course - yaw)))),
}
print(f"{moving.sum():,} moving rows of {len(obs):,}; share per 30-degree bin")
print(f"{'bin':>14}" + "".join(f"{name:>30}" for name in spreads))
histograms = {name: np.histogram(v, bins=12, range=(-180, 180)) for name, v in spreads.items()}
for b in range(12):
    lo = -180 + 30 * b
    print(f"[{lo:5d}, {lo + 30:5d})" + "".join(f"{h[0][b] / moving.sum():30.3f}" for h in histograms.values()))
print("within 30 degrees of +x:", f"{np.mean(np.abs(spreads['torso heading (world)']) < 30):.3f}")
