"""Diagnostic: where does a HyPER Hopper policy fail — in the model or in the real env?

Loads a HyPER run's checkpoint (policy, critic, dynamics ensemble) and runs its deterministic policy
(the one the evaluation scores) from two kinds of start states:

* the env's own reset states (evaluation seeds), and
* states drawn from the expert demonstrations, restored exactly in the simulator (qpos, qvel),
  which is where half of HyPER's model rollouts start;

each both in the real Hopper-v5 and "imagined" inside the model for up to 1,000 steps (elite-mean
prediction, and one Gaussian sample of a random elite per step as in HyPER's rollouts), with the
Hopper termination function and the true Hopper reward read from the imagined states. Also printed:
the model's one-step error along the real episodes and the critic's Q(s0, pi(s0)).

If the model says the policy hops on where the real env says it falls, the policy exploits model
error; if the model also predicts the fall, SAC did not find a good policy even in the model.

Run from the repository root:
    python results/tried/hyper-model-vs-real/diagnose.py runs/hyper-hopper-s0-true-reward [more run dirs]
"""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from hyirl.demos import expert_demos
from hyirl.envs import get_task, make_env, model_termination
from hyirl.hyper import load_hyper_run

HORIZON = 1000


def hopper_reward(action, next_obs):
    """Hopper-v5's reward from the next observation: x-velocity + 1 (healthy) - 1e-3 |a|^2."""
    return float(next_obs[5] + 1.0 - 1e-3 * np.sum(np.square(action)))


def load(run_dir: Path):
    saved = load_hyper_run(run_dir)
    learner = saved.learner  # its policy is the latest actor
    return (
        saved.cfg,
        get_task(saved.cfg.env),
        learner.agent,
        saved.dynamics,
        learner,
        saved.model_state,
        learner.env_steps,
    )


def real_episode(env, policy, obs):
    states, actions, rewards, terminated = [obs], [], [], False
    for _ in range(HORIZON):
        action = policy(obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        states.append(obs), actions.append(action), rewards.append(reward)
        if terminated or truncated:
            break
    return np.array(states), np.array(actions), np.array(rewards), terminated


def imagined_episode(policy, next_fn, done_fn, obs):
    """Return and length of the policy inside the model from ``obs`` (stops at a predicted terminal)."""
    total, o = 0.0, jnp.asarray(obs, jnp.float32)[None]
    for t in range(HORIZON):
        action = jnp.asarray(policy(np.asarray(o[0])), jnp.float32)[None]
        o = next_fn(o, action, jax.random.PRNGKey(t))
        total += hopper_reward(np.asarray(action[0]), np.asarray(o[0]))
        if bool(done_fn(o)[0]):
            return total, t + 1
    return total, HORIZON


def diagnose(run_dir: Path, episodes: int = 4) -> None:
    cfg, task, agent, dynamics, learner, model, env_steps = load(run_dir)
    policy, done_fn = learner.policy, model_termination(task)

    @jax.jit
    def mean_next(obs, action, _key):
        return obs + dynamics.elite_mean_deltas(model, obs, action).mean(0)

    sample_next = jax.jit(lambda obs, action, key: dynamics.sample_next(model, obs, action, key))

    def q_value(obs):
        obs = jnp.asarray(obs, jnp.float32)[None]
        action = jnp.asarray(policy(np.asarray(obs[0])), jnp.float32)[None]
        return float(agent.critic.apply(learner.state.critic_params, obs, action).min())

    elite_mse = np.asarray(model.val_mse)[model.elites]
    print(f"== {run_dir}: checkpoint at {env_steps} real steps, elite val MSE {elite_mse}")
    env = make_env(task)
    demos, _ = expert_demos(cfg.env, cfg.demos)
    rows = np.random.default_rng(0).integers(0, len(demos["observations"]), episodes)
    starts = [("env reset", lambda i: env.reset(seed=1_000_000 + i)[0]) for _ in range(episodes)]
    starts += [
        (f"expert row {r}", lambda i, r=r: env.reset_to_state(qpos=demos["qpos"][r], qvel=demos["qvel"][r], t=0))
        for r in rows
    ]
    env.reset(seed=0)
    for i, (name, start) in enumerate(starts):
        obs = start(i)
        states, actions, rewards, _ = real_episode(env, policy, obs)
        mean_ret, mean_len = imagined_episode(policy, mean_next, done_fn, obs)
        sample_ret, sample_len = imagined_episode(policy, sample_next, done_fn, obs)
        pred = np.asarray(mean_next(jnp.asarray(states[:-1], jnp.float32), jnp.asarray(actions, jnp.float32), None))
        err = ((pred - states[1:]) ** 2).mean(-1)
        print(
            f"{name:>17}: real {rewards.sum():6.0f} / {len(rewards):4d} steps | model (mean) {mean_ret:6.0f} / "
            f"{mean_len:4d} | model (sampled) {sample_ret:6.0f} / {sample_len:4d} | Q(s0) {q_value(obs):6.1f} | "
            f"one-step MSE median {np.median(err):.4f}, last 10 steps {err[-10:].mean():.4f}"
        )


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        diagnose(Path(arg))
