"""Diagnostic: HyPER's efficient preset on hopper with the *true* task reward instead of r = -f.

It splits the gap to the paper in two: if SAC on model rollouts learns Hopper well from the true
reward, the model, the rollouts and the SAC settings work and the gap lies in the learned reward;
if it stays as low as with -f, the model-based machinery is the bottleneck. Everything else
(model fits on the hybrid buffer, expert start states, the discriminator updates, which then go
unused) is the preset's.

The reward is Hopper-v5's, read from the model's predicted next observation: forward velocity
(next_obs[5] = qvel[0], the simulator's x-velocity at the end of the step, close to the env's
finite difference) + 1 (healthy) - 1e-3 |a|^2.

Run from the repository root: python results/tried/hyper-hopper-s0-true-reward/run.py
(writes runs/hyper-hopper-s0-true-reward/; runs/ is not committed).
"""

from pathlib import Path

import jax.numpy as jnp

import hyirl.hyper
from hyirl.hyper import HyPERConfig, train_hyper
from hyirl.presets import build_config, hyper_preset


def hopper_reward(self, params, batch):
    return batch["next_obs"][:, 5] + 1.0 - 1e-3 * jnp.sum(batch["action"] ** 2, axis=-1)


hyirl.hyper.Discriminator.reward = hopper_reward  # the SAC agent in train_hyper relabels with this
preset = hyper_preset("hopper", "efficient")
preset["rollout_schedule"] = (20, 100, 1, 25)  # the efficient preset's schedule when this ran (the paper's)
cfg = build_config(HyPERConfig, preset, dict(steps=10000, eval_every=2500), env="hopper", seed=0, preset="efficient")
train_hyper(cfg, Path("runs/hyper-hopper-s0-true-reward"), progress=False)
