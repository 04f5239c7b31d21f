"""How much of HyPE's learned cost on Ant rests on the contact-force inputs.

The reference's model-free Ant (gym 0.22 Ant-v3 on mujoco-py 2.x) observed 84 contact-force numbers
that were always zero (MuJoCo 2.0 stopped computing cfrc_ext by default; openai/gym#1541), so its
methods saw only qpos[2:] + qvel. gymnasium's Ant-v5 computes them (78 numbers, clipped to [-1, 1]),
and hyirl's model-free Ant uses the full v5 observation. This probe takes a run's final checkpoint,
draws 20,000 learner rows from its replay buffer and 20,000 expert rows from the cached demonstrations,
and reports the learner-minus-expert gap of the discriminator's cost f(s, a) with the inputs as they
are and with one group of inputs (contact forces, qpos[2:] + qvel, action) set to its mean over both.

    python results/tried/ant-contact-forces/probe.py runs/hype-ant/s0/checkpoints/learner.npz ...
    python results/tried/ant-contact-forces/probe.py --task humanoid runs/hype-humanoid/s0/checkpoints/learner.npz ...

Humanoid-v5 observes its external contact forces unclipped (the last 78 of 348 columns; the
reference's Humanoid-v3 observed zeros there), so its groups are the observation's five blocks.
"""

import argparse
import glob
import os

import numpy as np

GROUPS = {
    "ant": {
        "contact forces (obs 27-104)": slice(27, 105),
        "qpos[2:]+qvel (obs 0-26)": slice(0, 27),
        "action": slice(105, 113),
    },
    "humanoid": {
        "contact forces (obs 270-347)": slice(270, 348),
        "qpos[2:]+qvel (obs 0-44)": slice(0, 45),
        "cinert (obs 45-174)": slice(45, 175),
        "cvel (obs 175-252)": slice(175, 253),
        "qfrc_actuator (obs 253-269)": slice(253, 270),
        "action": slice(348, 365),
    },
}


def cost(params, x):
    """The discriminator's one-member ReLU MLP, in NumPy."""
    h = np.maximum(x @ params[0] + params[1], 0)
    h = np.maximum(h @ params[2] + params[3], 0)
    return (h @ params[4] + params[5])[:, 0]


def main(checkpoints, task="ant"):
    demos = np.load(glob.glob(os.path.expanduser(f"~/.cache/hyirl/demos/{task}-*.npz"))[0])
    expert_all = np.concatenate([demos["observations"], demos["actions"]], 1)
    rng = np.random.default_rng(0)
    for name, cols in GROUPS[task].items():  # the inputs' scale over all expert rows (the network sees them raw)
        block = np.abs(expert_all[:, cols])
        print(f"expert {name}: mean |x| {block.mean():.2f}, max |x| {block.max():.1f}")
    contact_cols = next(cols for name, cols in GROUPS[task].items() if name.startswith("contact forces"))
    for path in checkpoints:
        ckpt = np.load(path)
        params = [ckpt[f"disc/params/params/VmapMLP_0/Dense_{i}/{w}"][0] for i in range(3) for w in ("kernel", "bias")]
        learner = np.concatenate([ckpt["buffer/obs"], ckpt["buffer/action"]], 1)
        learner = learner[rng.choice(len(learner), 20_000, replace=False)]
        expert = expert_all[rng.choice(len(expert_all), 20_000, replace=False)]
        mean = np.concatenate([expert, learner]).mean(0)
        print(f"{path}: learner - expert cost {cost(params, learner).mean() - cost(params, expert).mean():.3f}")
        for name, cols in GROUPS[task].items():
            learner_, expert_ = learner.copy(), expert.copy()
            learner_[:, cols] = expert_[:, cols] = mean[cols]
            print(f"  {name} set to its mean: {cost(params, learner_).mean() - cost(params, expert_).mean():.3f}")
        for name, rows in (("learner", learner), ("expert", expert)):
            contact = np.abs(rows[:, contact_cols])
            share = 100 * (contact > 1e-6).mean()
            print(f"  {name} contact-force entries not zero: {share:.1f} %, mean |x| {contact.mean():.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(GROUPS), default="ant")
    parser.add_argument("checkpoints", nargs="+")
    args = parser.parse_args()
    main(args.checkpoints, args.task)
