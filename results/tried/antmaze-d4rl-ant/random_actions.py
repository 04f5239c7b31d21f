"""How often each ant model tips past horizontal under random actions, and how far it gets.

    python results/tried/antmaze-d4rl-ant/random_actions.py [EPISODES]

Each episode: the ant's default pose, 1,000 env steps (frame skip 5) of actions drawn from
N(0, sigma^2) per joint and clipped to [-1, 1], the same draws for both models.
"""

import sys

import mujoco
import numpy as np

from hyirl.antmaze import ant_model_xml, torso_up

EPISODES = int(sys.argv[1]) if len(sys.argv) > 1 else 10
for model_name in ("gymnasium", "d4rl"):
    with ant_model_xml(model_name) as path:
        model = mujoco.MjModel.from_xml_path(path)
    data = mujoco.MjData(model)
    for sigma in (0.2, 0.5, 1.0):
        rng = np.random.default_rng(0)
        tipped, speeds = 0, []
        for _ in range(EPISODES):
            mujoco.mj_resetData(model, data)
            start, was_tipped = data.qpos[:2].copy(), False
            for _ in range(1000):
                data.ctrl[:] = np.clip(rng.normal(0, sigma, 8), -1, 1)
                mujoco.mj_step(model, data, nstep=5)
                was_tipped |= torso_up(data.qpos) < 0
            tipped += was_tipped
            speeds.append(np.linalg.norm(data.qpos[:2] - start) / (1000 * 5 * model.opt.timestep))
        print(
            f"{model_name:9s} ant, sigma {sigma}: tipped past horizontal in {tipped} of {EPISODES} episodes, "
            f"net speed {np.mean(speeds):.3f} m/s"
        )
