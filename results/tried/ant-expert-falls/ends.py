"""How an expert Ant policy's episodes end early: torso height and up-axis at the last step.

    python results/tried/ant-expert-falls/ends.py POLICY.npz [FIRST_SEED] [EPISODES]

Seeds default to `hyirl expert eval`'s (100000...); truncated observations, no trembling.
"""

import sys

from hyirl.antmaze import torso_up
from hyirl.envs import make_env
from hyirl.experts import load_policy

policy, _ = load_policy(sys.argv[1])
first = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
episodes = int(sys.argv[3]) if len(sys.argv) > 3 else 20
env = make_env("ant", p_tremble=0.0, truncated_obs=True)
for seed in range(first, first + episodes):
    obs, _ = env.reset(seed=seed)
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        obs, _, terminated, truncated, _ = env.step(policy(obs))
        steps += 1
    qpos = env.unwrapped.data.qpos
    end = "ended early" if terminated else "full length"
    print(f"seed {seed}: {end} at step {steps}, torso z {qpos[2]:.2f} m, up-axis {torso_up(qpos):.2f}")
