"""Experiment: HyPE on Humanoid with the reference's two action units (docs/methods.md, "Humanoid's BC").

Humanoid-v5's torques are bounded by +-0.4. hyirl keeps every action in [-1, 1] and lets the env wrapper
scale it. The reference's HyPE (Stable-Baselines3 SAC) mixes two units:
  * its demonstrations hold what SB3's `predict` returned, in the env's units (a = 0.4 u);
  * its learner trajectories for the discriminator are played in the env, also in the env's units;
  * SB3's replay buffer stores the learner's actions rescaled to [-1, 1] (u), while the expert rows it
    mixes into each SAC batch keep the demonstrations' env units (0.4 u);
  * every SAC batch is relabelled with -f(s, stored action).
So its discriminator learns in env units, its SAC critic sees the expert's actions at 0.4 times their
torque, and its learner rows are rewarded at 2.5 times the action scale the discriminator learned on.
hyirl's HyPE on Humanoid sits on a 300-600 plateau at 50k where the paper's HyPE is at 1,760 (hyper.md
§33-§34); this run asks whether the reference's units change that pace. It is not a hyirl option: the
script patches two functions for its own process only, then runs the `hyirl train` command line:
  * the expert buffer (the discriminator's expert pairs and SAC's expert rows) holds 0.4 u;
  * the discriminator's learner pairs hold 0.4 u;
SAC's learner rows keep u and the reward stays -f(s, stored action), as in the reference.

Run from the repository root (seed 0, the paper's HyPE settings, as results/runs/hype-humanoid-nocontact-s0):
    python results/tried/humanoid-hype-action-units/env_units.py --algo hype --env humanoid --seed 0 \
        --steps 50000 --eval-every 10000 --checkpoint-every 10000 --out runs/hype-humanoid-env-units-s0
and, to continue it, `--resume runs/hype-humanoid-env-units-s0 --steps N` instead.
"""

import sys

import gymnasium as gym
import numpy as np

import hyirl.irl
from hyirl.cli import main
from hyirl.demos import expert_buffer
from hyirl.discriminator import Discriminator
from hyirl.envs import get_task

_task = get_task("humanoid")
ENV_UNITS = float(gym.make(_task.gym_id).action_space.high[0])  # 0.4: u in [-1, 1] is a = 0.4 u in the env
_learner_rows = Discriminator.learner_rows


def expert_buffer_in_env_units(demos):
    buffer = expert_buffer(demos)
    return buffer.replace(action=ENV_UNITS * buffer.action)


def learner_rows_in_env_units(self, real_rows, terminated, size):
    rows = np.array(real_rows, np.float32)
    rows[:, self.obs_dim : self.obs_dim + self.act_dim] *= ENV_UNITS
    return _learner_rows(self, rows, terminated, size)


if __name__ == "__main__":
    hyirl.irl.expert_buffer = expert_buffer_in_env_units
    Discriminator.learner_rows = learner_rows_in_env_units
    sys.exit(main(["train", *sys.argv[1:]]))
