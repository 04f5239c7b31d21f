"""How the discriminator's initialisation shapes its cost at the start of a run, on Hopper inputs.

Under the reference's sign-step updates (a fresh Optimistic Adam per update, lr_k = lr0 / k) each
weight moves by at most 2 lr0 (1 + H_{N-1}) over N updates, so the initial network is most of the
final one. This prints, for each initialisation and several seeds, the spread of f over expert
(s, a) pairs and the input-gradient norm ||grad_x f|| at interpolates of expert and learner pairs
(the gradient penalty pulls it towards 0.4), with learner pairs from an untrained SAC policy; and
how much of the first sign step serves the moment term: the share of weights whose step has the sign
of the moment term's own gradient, and the moment gap's change after that step against a step on the
moment term alone.

    python benchmarks/disc_init.py [--env hopper] [--seeds 5]
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np

from hyirl.demos import expert_demos
from hyirl.discriminator import Discriminator, DiscriminatorConfig
from hyirl.envs import make_env
from hyirl.learner import episode
from hyirl.sac import SAC, NumpyPolicy


def learner_pairs(env_name: str, n: int) -> np.ndarray:
    env = make_env(env_name, p_tremble=0.0)
    agent = SAC(env.observation_space.shape[0], env.action_space.shape[0])
    policy = NumpyPolicy(agent.init(jax.random.PRNGKey(0)).actor_params)
    rng = np.random.default_rng(0)
    rows, seed = [], 0
    while len(rows) < n:
        rows += [
            np.concatenate([o, a])
            for o, a, _ in episode(env, lambda o: policy(o, rng.standard_normal(policy.act_dim)), seed)
        ]
        seed += 1
    return np.array(rows[:n], np.float32)


def first_step(disc: Discriminator, params, expert: jax.Array, learner: jax.Array) -> dict:
    """The first update's sign step (a fresh OAdam step is 2 lr0 sign(g)) on the whole loss and on the
    moment term alone: the sign agreement of the two, and the moment gap each step leaves."""
    key = jax.random.PRNGKey(0)
    step = 2 * disc.cfg.learning_rate

    def gap(p):
        return disc.loss(p, expert, learner, key)[1]["moment_gap"]

    def signed_step(g):
        return jax.tree.map(lambda p, gi: p - step * jnp.sign(gi), params, g)

    whole = jax.grad(lambda p: disc.loss(p, expert, learner, key)[0])(params)
    moment = jax.grad(gap)(params)
    agree = [jnp.mean(jnp.sign(a) == jnp.sign(b)) for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(moment))]
    sizes = [a.size for a in jax.tree.leaves(whole)]
    return dict(
        sign_agreement=float(np.average(agree, weights=sizes)),
        gap_change_whole_step=float(gap(signed_step(whole)) - gap(params)),
        gap_change_moment_step=float(gap(signed_step(moment)) - gap(params)),
    )


def measure(env_name: str, seeds: int) -> dict:
    demos, _ = expert_demos(env_name, 4)
    expert = np.concatenate([demos["observations"], demos["actions"]], 1).astype(np.float32)
    learner = learner_pairs(env_name, len(expert))
    obs_dim = demos["observations"].shape[1]
    mix = np.random.default_rng(1).uniform(size=(len(expert), 1)).astype(np.float32)
    interpolates = jnp.asarray(mix * expert + (1 - mix) * learner)
    out = {}
    for init in ("torch", "lecun"):
        disc = Discriminator(obs_dim, expert.shape[1] - obs_dim, DiscriminatorConfig(init=init))
        rows = []
        for seed in range(seeds):
            params = disc.init(jax.random.PRNGKey(seed)).params
            f = lambda x: disc.cost(params, x[:, :obs_dim], x[:, obs_dim:])  # noqa: E731
            norms = jnp.linalg.norm(jax.grad(lambda x: f(x).sum())(interpolates), axis=1)
            rows.append(
                dict(
                    f_std_expert=float(f(jnp.asarray(expert)).std()),
                    grad_norm_median=float(jnp.median(norms)),
                    gradient_penalty=float(((norms - 0.4) ** 2).mean()),
                    **first_step(disc, params, jnp.asarray(expert), jnp.asarray(learner)),
                )
            )
        out[init] = {k: float(np.median([r[k] for r in rows])) for k in rows[0]}
        out[init]["grad_norm_median_per_seed"] = [round(r["grad_norm_median"], 3) for r in rows]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.env, args.seeds)
    lr0 = DiscriminatorConfig().learning_rate
    for n in (60, 200):  # discriminator updates in a 300k-step Hopper run, and in 1M steps
        result[f"max_weight_move_{n}_updates"] = 2 * lr0 * (1 + sum(1 / k for k in range(1, n)))
    for init in ("torch", "lecun"):
        r = result[init]
        print(
            f"{init:6s} median over {args.seeds} seeds: std f(expert) {r['f_std_expert']:.3f}, "
            f"median ||grad f|| {r['grad_norm_median']:.3f} {r['grad_norm_median_per_seed']}, "
            f"gradient penalty {r['gradient_penalty']:.4f}; first sign step: sign agreement with the "
            f"moment term {r['sign_agreement']:.2f}, moment gap change {r['gap_change_whole_step']:+.4f} "
            f"(moment term alone {r['gap_change_moment_step']:+.4f})"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
