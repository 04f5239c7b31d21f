"""Where HyPE's critic on Ant diverges: Q, the policy's spread and the learned reward at expert states
and at the learner's own, read from a run's checkpoint (its SAC state, replay buffer and discriminator).

    python results/tried/hype-ant-critic/probe.py RUN/sS/checkpoints/learner.npz [...] \
        --demos ~/.cache/hyirl/demos/ant-61998c4da3d0-64.npz

The demos hold the full observation; the runs observe its first 27 entries (no contact forces).
"""

import argparse

import numpy as np

from hyirl.sac import numpy_mlp


def layers(ckpt, prefix, member=None):
    out, i = [], 0
    while f"{prefix}/Dense_{i}/kernel" in ckpt.files:
        kernel, bias = ckpt[f"{prefix}/Dense_{i}/kernel"], ckpt[f"{prefix}/Dense_{i}/bias"]
        out.append((kernel, bias) if member is None else (kernel[member], bias[member]))
        i += 1
    return out


def percentiles(values):
    return " ".join(f"{np.percentile(values, p):9.1f}" for p in (1, 25, 50, 75, 99))


def probe(path, demos, obs_dim, rng):
    ckpt = np.load(path, allow_pickle=True)
    actor = layers(ckpt, "state/actor_params/params/MLP_0")
    critics = [layers(ckpt, f"state/critic_params/params/MLP_{i}") for i in (0, 1)]
    disc = layers(ckpt, "disc/params/params/VmapMLP_0", member=0)
    alpha = float(np.exp(ckpt["state/log_alpha"]))
    print(f"{path}: policy step {int(ckpt['state/step'])}, alpha {alpha:.3f}, gamma 0.98")
    pick = lambda n: rng.choice(n, 4096)  # noqa: E731
    e, n_learner = pick(len(demos["observations"])), pick(len(ckpt["buffer/obs"]))
    sets = {
        "expert states": (demos["observations"][e, :obs_dim], demos["actions"][e]),
        "learner states": (ckpt["buffer/obs"][n_learner], ckpt["buffer/action"][n_learner]),
    }
    for name, (obs, data_action) in sets.items():
        mean, log_std = np.split(numpy_mlp(actor, obs), 2, -1)
        log_std = np.clip(log_std, -20, 2)
        noise = rng.standard_normal(mean.shape)
        pre_tanh = mean + np.exp(log_std) * noise
        log_prob = (-0.5 * noise**2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
        log_prob -= (2 * (np.log(2) - pre_tanh - np.logaddexp(0, -2 * pre_tanh))).sum(-1)
        q = lambda a: np.minimum(*(numpy_mlp(c, np.concatenate([obs, a], -1))[:, 0] for c in critics))  # noqa: E731
        reward = -numpy_mlp(disc, np.concatenate([obs, data_action], -1))[:, 0]
        print(f"  {name}: policy log-std median {np.median(log_std):.2f}, log pi mean {log_prob.mean():.1f}")
        print(f"    min Q(s, a ~ pi)   p1/25/50/75/99 {percentiles(q(np.tanh(pre_tanh)))}")
        print(f"    min Q(s, a data)   p1/25/50/75/99 {percentiles(q(data_action))}")
        print(f"    -f(s, a data)      p1/25/50/75/99 {percentiles(reward)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--demos", required=True)
    parser.add_argument("--obs-dim", type=int, default=27)
    args = parser.parse_args()
    demos = np.load(args.demos)
    for path in args.checkpoints:
        probe(path, demos, args.obs_dim, np.random.default_rng(0))


if __name__ == "__main__":
    main()
