"""Diagnostic for true_reward.py's run: does its critic know how soon the policy falls?

Loads the run's checkpoint (the latest actor and its critic), plays the actor deterministically from
the evaluation's reset states in the real Humanoid-v5 (with the evaluation's trembling hand, p = 0.025),
and prints, at the episode's first step, at step 30 and five steps before its end, the critic's
Q(s, a) (the minimum of its two heads, as SAC's target takes it) beside the discounted return that the
episode actually paid from there, in the reward SAC learned from (true_reward.py's `humanoid_reward`,
the same discount). A critic that expects far more than the episode pays believes the policy lives
longer than it does. First it prints how close that reward comes to Humanoid-v5's own on the expert's
64 demonstrated trajectories (its mean per step beside the env's, and their per-step correlation).

Run from the repository root:
    python results/tried/hyper-humanoid-efficient/true_reward_critic.py runs/hyper-humanoid-true-reward-s0 [EPISODES]
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np

from hyirl.demos import expert_demos
from hyirl.hyper import load_hyper_run

_spec = importlib.util.spec_from_file_location("true_reward", Path(__file__).with_name("true_reward.py"))
true_reward = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(true_reward)


def real_episode(env, policy, seed: int):
    obs, actions = [env.reset(seed=seed)[0]], []
    for _ in range(1000):
        actions.append(policy(obs[-1]))
        o, _, terminated, truncated, _ = env.step(actions[-1])
        obs.append(o)
        if terminated or truncated:
            break
    return np.array(obs[:-1], np.float32), np.array(actions, np.float32)


def reward_on_demos() -> None:
    demos, _ = expert_demos("humanoid", 64)
    batch = dict(obs=demos["observations"], action=demos["actions"])
    ours, env = np.asarray(true_reward.humanoid_reward(None, None, batch)), demos["rewards"]
    print(
        f"on the expert's {len(env)} steps: the env's reward {env.mean():.2f} a step, true_reward.py's "
        f"{ours.mean():.2f}, per-step correlation {np.corrcoef(env, ours)[0, 1]:.2f}"
    )


def main(run: Path, episodes: int) -> None:
    reward_on_demos()
    saved = load_hyper_run(run)
    learner, gamma = saved.learner, saved.cfg.sac.gamma
    print(f"== {run}: checkpoint at {learner.env_steps} real steps, gamma {gamma}")
    for i in range(episodes):
        obs, actions = real_episode(learner.env, learner.policy, 1_000_000 + i)
        rewards = np.asarray(true_reward.humanoid_reward(None, None, dict(obs=obs, action=actions)))
        paid = np.zeros(len(rewards) + 1)
        for t in reversed(range(len(rewards))):  # the discounted return from each step to the episode's end
            paid[t] = rewards[t] + gamma * paid[t + 1]
        q = np.asarray(learner.agent.critic.apply(learner.state.critic_params, obs, actions)).min(0)
        steps = [0, min(30, len(obs) - 1), max(len(obs) - 5, 0)]
        cells = "; ".join(f"t={t}: Q {q[t]:.0f}, paid {paid[t]:.0f}" for t in steps)
        print(f"episode {i}: {len(obs)} steps | {cells}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 5)
