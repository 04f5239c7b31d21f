"""Diagnostic: how do a HyPER checkpoint's deterministic policy (the one evaluated) and its stochastic one compare?

With the paper's Hopper entropy target (+1 nat) SAC trains a very noisy policy, but the evaluation
(and the real acting) uses its mean action. This loads a run's latest checkpoint and scores both on
the evaluation env (same trembling, same episode seeds as the run's evaluation), and prints the
policy's mean per-dimension std along the deterministic episodes.

Run from the repository root:
    python results/tried/hyper-stochastic-eval/eval_modes.py runs/hyper-cap256-s0 [more run dirs]
"""

import json
import sys
from pathlib import Path

import numpy as np

from hyirl import checkpoint
from hyirl.envs import get_task, make_env
from hyirl.hyper import HyPERConfig
from hyirl.learner import episode
from hyirl.presets import build_config
from hyirl.sac import NumpyPolicy

EPISODES = 10


for run_dir in map(Path, sys.argv[1:]):
    cfg = build_config(HyPERConfig, json.loads((run_dir / "config.json").read_text()), {})
    env = make_env(get_task(cfg.env), p_tremble=cfg.p_tremble, truncated_obs=cfg.truncated_obs)
    arrays, meta = checkpoint.load_npz(run_dir / "checkpoints" / "learner.npz", "checkpoint")
    prefix = "state/actor_params/params/MLP_0/"
    layers: dict = {}
    for key, value in arrays.items():
        if key.startswith(prefix):
            layer, name = key.removeprefix(prefix).split("/")
            layers.setdefault(layer, {})[name] = value
    policy = NumpyPolicy({"params": {"MLP_0": layers}})
    seed0 = 1_000_000 + cfg.seed * 1000
    rng = np.random.default_rng(0)
    det, stds = [], []
    for i in range(EPISODES):
        steps = list(episode(env, policy, seed0 + i))
        det.append(sum(r for *_, r in steps))
        stds.append(policy.mean_and_std(np.array([o for o, *_ in steps]))[1].mean(0))
    sto = [
        sum(r for *_, r in episode(env, lambda o: policy(o, rng.standard_normal(policy.act_dim)), seed0 + i))
        for i in range(EPISODES)
    ]
    print(
        f"{run_dir} @ {meta.get('env_steps')} real steps: deterministic {np.mean(det):.0f} ± {np.std(det):.0f}, "
        f"stochastic {np.mean(sto):.0f} ± {np.std(sto):.0f}, policy std per action dim {np.mean(stds, 0).round(3)}"
    )
