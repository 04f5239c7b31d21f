"""Experiment: HyPER on Humanoid with Humanoid-v5's own reward in place of the learned one.

HyPER and HyPE both sit near 300-600 on Humanoid for tens of thousands of steps where the paper's
curves have left that level (docs/hyper.md §33). This run splits the question in two. If SAC on the
model's rollouts, fed the task's reward, leaves the plateau by about where the paper's HyPER does
(925 at 51k and 3,475 at 71k real steps, at the x it was measured at, spec §8), the model, the
rollouts and the SAC settings can learn Humanoid at that pace and the learned reward is what holds
the runs back; if it stays as slow, the learned reward is not the cause. Everything else is the
command's own (`hyirl train --algo hyper --env humanoid ...`): the model fits on the hybrid buffer,
the start states, the discriminator's updates (which then go unused) and the deployment of
real-episode-judged snapshots.

The reward is Humanoid-v5's, read from the truncated observation (qpos[2:] + qvel) and the action in
[-1, 1]: 1.25 x the root's forward velocity (obs[22] = qvel[0]; the env pays the centre of mass's over
the step), + 5 for being alive, - 0.1 |0.4 a|^2 (the env's bounds are +-0.4); the contact cost
(weight 5e-7) is left out. Episodes end where the model's termination says (torso height outside
[1, 2]), so the +5 makes living pay. It is not a hyirl option: the script patches the discriminator's
reward for its own process only, then runs the command line.

Run from the repository root:
    python results/tried/hyper-humanoid-efficient/true_reward.py --seed 0 --steps 50000 \
        --eval-every 2500 --checkpoint-every 2500 --out runs/hyper-humanoid-true-reward-s0
and, to continue it, with `--resume runs/hyper-humanoid-true-reward-s0 --steps N` instead. With
`--algo hype --env humanoid` it runs HyPE the same way (the model-free observation also holds qvel[0]
at index 22, after qpos[2:]; the reward then replaces -f in every SAC batch):
    python results/tried/hyper-humanoid-efficient/true_reward.py --algo hype --env humanoid --seed 0 \
        --steps 50000 --eval-every 10000 --out runs/hype-humanoid-true-reward-s0
"""

import sys

import jax.numpy as jnp

from hyirl.cli import main
from hyirl.discriminator import Discriminator

FORWARD_VELOCITY = 22  # qvel[0] in the truncated observation (22 qpos entries come first)


def humanoid_reward(self, params, batch):
    action = 0.4 * batch["action"]
    return 1.25 * batch["obs"][..., FORWARD_VELOCITY] + 5.0 - 0.1 * jnp.sum(action**2, axis=-1)


if __name__ == "__main__":
    Discriminator.reward = humanoid_reward  # HyPER's SAC labels every model transition with this
    args = sys.argv[1:]
    if "--resume" not in args and "--algo" not in args:
        args = ["--algo", "hyper", "--env", "humanoid", *args]
    sys.exit(main(["train", *args]))
