"""Diagnostic: why does the efficient HyPER preset not learn Ant (docs/hyper.md §19)?

Loads a HyPER Ant run's checkpoint (``hyirl.hyper.load_hyper_run``: the latest actor, not the
deployed snapshot, and the dynamics ensemble) and runs the actor
deterministically from the evaluation's reset states in the real Ant-v5 (truncated observations, so
obs[0] is the torso height z; the episode terminates when z leaves [0.2, 1.0]) and, from the same
start, inside the model (elite-mean prediction, HyPER's Ant termination rule on the predicted z).
Printed per episode: the real length and which bound ended it, the model's length, and whether the
model's one-step prediction of the real terminal transition is itself terminal.

If the real ant falls or jumps out of range where the model keeps it alive, the policy is trained on
a world without those ends: the model, not the policy search, is what fails. Also printed: the learned
reward -f(s, a) of the checkpoint's discriminator along each real episode, beside its mean on the
expert's rows, to see whether the reward itself favours what ends the episode.

It reads Humanoid runs as well (docs/hyper.md §34): their truncated observation also starts with the
torso height, healthy in [1, 2].

Run from the repository root:
    python results/tried/hyper-ant-falls/diagnose.py runs/hyper-ant-efficient-cpu-s0 [EPISODES]
"""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from hyirl.demos import expert_demos
from hyirl.envs import get_task, model_termination
from hyirl.hyper import load_hyper_run

HORIZON = 1000
HEALTHY_Z = {"ant": (0.2, 1.0), "humanoid": (1.0, 2.0)}  # the torso height's healthy range, obs[0]


def load(run_dir: Path):
    saved = load_hyper_run(run_dir)
    cfg, disc, params = saved.cfg, saved.disc, saved.disc_state.params
    reward = jax.jit(lambda obs, action: -disc.cost(params, obs, action))
    expert, _ = expert_demos(cfg.env, cfg.demos, truncated_obs=cfg.truncated_obs)
    expert_reward = float(reward(jnp.asarray(expert["observations"]), jnp.asarray(expert["actions"])).mean())
    learner = saved.learner  # its policy is the latest actor
    return (
        get_task(cfg.env),
        learner.env,
        saved.dynamics,
        learner,
        saved.model_state,
        learner.env_steps,
        reward,
        expert_reward,
    )


def real_episode(env, policy, obs):
    states, actions = [obs], []
    for _ in range(HORIZON):
        action = policy(obs)
        obs, _, terminated, truncated, _ = env.step(action)
        states.append(obs), actions.append(action)
        if terminated or truncated:
            break
    return np.array(states), np.array(actions), terminated


def imagined_length(policy, mean_next, done_fn, obs) -> int:
    o = jnp.asarray(obs, jnp.float32)[None]
    for t in range(HORIZON):
        o = mean_next(o, jnp.asarray(policy(np.asarray(o[0])), jnp.float32)[None])
        if bool(done_fn(o)[0]):
            return t + 1
    return HORIZON


def diagnose(run_dir: Path, episodes: int) -> None:
    task, env, dynamics, learner, model, env_steps, reward, expert_reward = load(run_dir)
    policy, done_fn = learner.policy, model_termination(task)
    mean_next = jax.jit(lambda obs, action: obs + dynamics.elite_mean_deltas(model, obs, action).mean(0))
    elite_mse = np.asarray(model.val_mse)[model.elites]
    print(f"== {run_dir}: checkpoint at {env_steps} real steps, elite val MSE {elite_mse}")
    print(f"learned reward on the expert's rows: mean {expert_reward:.2f}")
    flagged = ends = 0
    for i in range(episodes):
        obs = env.reset(seed=1_000_000 + i)[0]
        states, actions, terminated = real_episode(env, policy, obs)
        pred = np.asarray(mean_next(jnp.asarray(states[:-1], jnp.float32), jnp.asarray(actions, jnp.float32)))
        z_err = np.abs(pred[:, 0] - states[1:, 0])
        end = "time limit"
        if terminated:
            ends += 1
            z, (low, high) = states[-1, 0], HEALTHY_Z[task.name]
            end = f"z = {z:.2f} ({f'above {high}' if z > high else f'below {low}' if z < low else 'non-finite state'})"
            model_says = bool(done_fn(jnp.asarray(pred[-1:]))[0])
            flagged += model_says
            end += f", model's prediction of that step: z = {pred[-1, 0]:.2f}, {'terminal' if model_says else 'alive'}"
        model_steps = imagined_length(policy, mean_next, done_fn, obs)
        learned = np.asarray(reward(jnp.asarray(states[:-1], jnp.float32), jnp.asarray(actions, jnp.float32)))
        print(
            f"episode {i}: real {len(actions):4d} steps, ended by {end} | in the model {model_steps:4d} steps"
            f" | one-step |z error| median {np.median(z_err):.3f}, last 5 steps {z_err[-5:].mean():.3f}"
            f" | learned reward mean {learned.mean():.2f}, last 5 steps {learned[-5:].mean():.2f}"
        )
    print(f"real terminations the model's one-step prediction also ends: {flagged} of {ends}")


if __name__ == "__main__":
    diagnose(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 10)
