"""Diagnostic: does living still pay the policy where a HyPER Humanoid run falls (docs/hyper.md §27)?

Without absorbing states a terminal step's value is 0, so SAC prefers ending an episode wherever the
soft reward it is trained on, r - gamma * alpha * log pi(a|s) with r = -f(s, a), is negative along the
policy's own states: moment matching fixes only differences of f, not its level, and with a target
entropy of -|A| the entropy term is a cost per step. For one checkpoint this prints, on the latest
actor's real episodes (the mean action, as its evaluation) and on the expert's rows:

* the learned reward r and the entropy term gamma * alpha * log pi at a sampled action, and their difference;
* the critic's min Q(s, a) at the episode's first step and along it (the value of ending is 0);
* for episodes that end early, r over their last 10 steps.

Run from the repository root:
    python results/tried/hyper-humanoid-efficient/free_level.py RUN [--checkpoint FILE] [--episodes 5]

``--checkpoint`` reads another copy of the run's checkpoint (e.g. one kept at an earlier step) in place of
RUN/checkpoints/learner.npz; nothing in RUN changes.
"""

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from hyirl.demos import expert_buffer, load_expert_data
from hyirl.hyper import load_hyper_run
from hyirl.learner import episode
from hyirl.networks import sample_tanh_gaussian
from hyirl.sac import NumpyPolicy


def episodes(saved, count: int) -> list[dict]:
    """The latest actor's real episodes (its mean action); one shorter than the horizon ended by a fall."""
    env, policy = saved.learner.env, NumpyPolicy(saved.learner.state.actor_params)
    found = []
    for seed in range(count):
        obs, action, true_reward = map(np.asarray, zip(*episode(env, policy, seed=10_000 + seed)))
        found.append(dict(obs=obs, action=action, true_reward=true_reward, terminated=len(obs) < env.horizon))
    return found


def soft_terms(saved, obs, action, key) -> dict[str, np.ndarray]:
    """r = -f(s, a), the entropy term gamma * alpha * log pi at a sampled action, and min Q(s, a)."""
    agent, state = saved.learner.agent, saved.learner.state
    alpha, gamma = jnp.exp(state.log_alpha), agent.cfg.gamma
    obs, action = jnp.asarray(obs), jnp.asarray(action)
    _, log_prob = sample_tanh_gaussian(*agent.actor.apply(state.actor_params, obs), key)
    return dict(
        reward=np.asarray(saved.disc.reward(saved.disc_state.params, dict(obs=obs, action=action))),
        entropy_cost=np.asarray(gamma * alpha * log_prob),
        q=np.asarray(agent.critic.apply(state.critic_params, obs, action).min(0)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--episodes", type=int, default=5)
    args = parser.parse_args()
    saved = load_hyper_run(args.run, args.checkpoint)
    state = saved.learner.state
    print(
        f"== {args.run} ({args.checkpoint or 'last checkpoint'}): {saved.learner.env_steps} real steps, "
        f"alpha {float(jnp.exp(state.log_alpha)):.4f}, gamma {saved.learner.agent.cfg.gamma}"
    )
    key = jax.random.PRNGKey(0)
    header = "           length  true return | r mean  entropy cost  r - cost | Q first  Q mean | r last 10"
    print(header)
    for i, ep in enumerate(episodes(saved, args.episodes)):
        t = soft_terms(saved, ep["obs"], ep["action"], jax.random.fold_in(key, i))
        last = f"{t['reward'][-10:].mean():9.2f}" if ep["terminated"] else "        -"
        print(
            f"episode {i}: {len(ep['obs']):6d} {ep['true_reward'].sum():12.1f} | {t['reward'].mean():6.2f} "
            f"{t['entropy_cost'].mean():13.2f} {(t['reward'] - t['entropy_cost']).mean():9.2f} | "
            f"{t['q'][0]:7.1f} {t['q'].mean():7.1f} | {last}"
        )
    expert = expert_buffer(load_expert_data(saved.cfg, saved.learner.env))
    rows = np.random.default_rng(0).choice(int(expert.size), 5000, replace=False)
    t = soft_terms(saved, expert.obs[rows], expert.action[rows], jax.random.fold_in(key, 99))
    print(
        f"expert rows (5000): r mean {t['reward'].mean():.2f}, entropy cost {t['entropy_cost'].mean():.2f}, "
        f"r - cost {(t['reward'] - t['entropy_cost']).mean():.2f}, Q mean {t['q'].mean():.1f}"
    )


if __name__ == "__main__":
    main()
