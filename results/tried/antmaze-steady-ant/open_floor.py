"""A goal-reaching policy on the open floor, on the ant and input frame it learnt on: the share of
episodes reaching their first goal within 1,000 steps, and how far the torso's heading strays from
+x (the steady task's aim) over those steps, with the walking direction minus the heading.

    python results/tried/antmaze-steady-ant/open_floor.py POLICY.npz EPISODES
"""

import sys

import numpy as np

from hyirl.antmaze import HORIZON, AntGoalEnv, GoalReacher, torso_heading
from hyirl.experts import load_policy

reacher = GoalReacher.of(*load_policy(sys.argv[1]))
env = AntGoalEnv(ant=reacher.ant)
reached, headings, offsets = 0, [], []
for k in range(int(sys.argv[2])):
    env.reset(seed=k)
    for _ in range(HORIZON):
        _, _, terminated, _, info = env.step(reacher(env.ant._get_obs(), env.goal))
        velocity = env.data.qvel[:2]
        heading = torso_heading(env.data.qpos)
        headings.append(heading)
        if np.linalg.norm(velocity) > 0.3:
            offsets.append(np.angle(np.exp(1j * (np.arctan2(velocity[1], velocity[0]) - heading))))
        if info["reached"] or terminated:
            reached += info["reached"]
            break
headings = np.degrees(np.abs(headings))
print(f"{reacher.ant} ant, {reacher.frame}-frame input: reached {reached} of {sys.argv[2]} first goals")
within = np.mean(headings < 30)
print(f"|heading| over {len(headings)} steps: median {np.median(headings):.0f} deg, within 30 deg {within:.2f}")
if offsets:
    median = np.degrees(np.median(np.abs(offsets)))
    print(f"walking direction - heading, moving steps ({len(offsets)}): |median| {median:.0f} deg")
