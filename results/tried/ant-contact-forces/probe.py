"""How much of HyPE's learned cost on Ant rests on the contact-force inputs.

The reference's model-free Ant (gym 0.22 Ant-v3 on mujoco-py 2.x) observed 84 contact-force numbers
that were always zero (MuJoCo 2.0 stopped computing cfrc_ext by default; openai/gym#1541), so its
methods saw only qpos[2:] + qvel. gymnasium's Ant-v5 computes them (78 numbers, clipped to [-1, 1]),
and hyirl's model-free Ant uses the full v5 observation. This probe takes a run's final checkpoint,
draws 20,000 learner rows from its replay buffer and 20,000 expert rows from the cached demonstrations,
and reports the learner-minus-expert gap of the discriminator's cost f(s, a) with the inputs as they
are and with one group of inputs (contact forces, qpos[2:] + qvel, action) set to its mean over both.

    python results/tried/ant-contact-forces/probe.py runs/hype-ant/s0/checkpoints/learner.npz ...
"""

import glob
import os
import sys

import numpy as np

GROUPS = {
    "contact forces (obs 27-104)": slice(27, 105),
    "qpos[2:]+qvel (obs 0-26)": slice(0, 27),
    "action": slice(105, 113),
}


def cost(params, x):
    """The discriminator's one-member ReLU MLP, in NumPy."""
    h = np.maximum(x @ params[0] + params[1], 0)
    h = np.maximum(h @ params[2] + params[3], 0)
    return (h @ params[4] + params[5])[:, 0]


def main(checkpoints):
    demos = np.load(glob.glob(os.path.expanduser("~/.cache/hyirl/demos/ant-*.npz"))[0])
    expert_all = np.concatenate([demos["observations"], demos["actions"]], 1)
    rng = np.random.default_rng(0)
    for path in checkpoints:
        ckpt = np.load(path)
        params = [ckpt[f"disc/params/params/VmapMLP_0/Dense_{i}/{w}"][0] for i in range(3) for w in ("kernel", "bias")]
        learner = np.concatenate([ckpt["buffer/obs"], ckpt["buffer/action"]], 1)
        learner = learner[rng.choice(len(learner), 20_000, replace=False)]
        expert = expert_all[rng.choice(len(expert_all), 20_000, replace=False)]
        mean = np.concatenate([expert, learner]).mean(0)
        print(f"{path}: learner - expert cost {cost(params, learner).mean() - cost(params, expert).mean():.3f}")
        for name, cols in GROUPS.items():
            learner_, expert_ = learner.copy(), expert.copy()
            learner_[:, cols] = expert_[:, cols] = mean[cols]
            print(f"  {name} set to its mean: {cost(params, learner_).mean() - cost(params, expert_).mean():.3f}")
        contact = learner[:, 27:105]
        print(f"  learner contact-force entries not zero: {100 * (np.abs(contact) > 1e-6).mean():.1f} %")


if __name__ == "__main__":
    main(sys.argv[1:])
