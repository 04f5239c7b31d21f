"""HyPER efficient preset on hopper with the standard SAC entropy target (-dim A) instead of the paper's +1.

Run from the repository root: python results/tried/hyper-hopper-s0-entropy-minus3/run.py
(writes runs/hyper-hopper-s0-entropy-minus3/; runs/ is not committed).
"""

from pathlib import Path

from hyirl.hyper import HyPERConfig, train_hyper
from hyirl.presets import build_config, hyper_preset

preset = hyper_preset("hopper", "efficient")
preset["rollout_schedule"] = (20, 100, 1, 25)  # the efficient preset's schedule when this ran (the paper's)
preset["sac"] = {**preset["sac"], "target_entropy": None}
cfg = build_config(HyPERConfig, preset, dict(steps=30000, eval_every=2500), env="hopper", seed=0, preset="efficient")
print(cfg.sac)
train_hyper(cfg, Path("runs/hyper-hopper-s0-entropy-minus3"), progress=False)
