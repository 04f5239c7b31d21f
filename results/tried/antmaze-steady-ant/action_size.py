"""How hard a dataset's ant acts: the mean |action| and the share of action entries clipped at ±1.

python results/tried/antmaze-steady-ant/action_size.py DATASET.npz [DATASET.npz ...]
"""

import sys

import numpy as np

from hyirl.checkpoint import load_npz

for path in sys.argv[1:]:
    actions = load_npz(path, "dataset", keys=("actions",))[0]["actions"]
    print(f"{path}: mean |a| {np.abs(actions).mean():.3f}, at ±1 {np.mean(np.abs(actions) >= 0.999):.3f}")
