"""Does the MuJoCo release change a task's physics? The same env under two `mujoco` releases.

docs/hyper.md §34 narrowed what holds HyPER and HyPE on Humanoid's early plateau towards the simulator:
the reference ran the v3 envs on MuJoCo 2.1 (mujoco-py), hyirl runs the v5 envs on the `mujoco` release
its install resolves. gymnasium's v5 envs accept mujoco >= 2.3.3, so the same env code runs on older
releases beside the current one (a second virtual environment with `pip install mujoco==VERSION`).
Run this script once under each interpreter:

    python results/tried/mujoco-contact-margins/compare.py --save runs/humanoid-trace.npz
    OTHER_PYTHON results/tried/mujoco-contact-margins/compare.py --replay runs/humanoid-trace.npz

Each run prints the mujoco release, the compiled model's solver options and geom margins, and the task's
shipped expert's return and episode length over --episodes deterministic episodes (no trembling). --save
also plays one expert episode (reset seed 0) and stores its states (positions, velocities and the
solver's warm start before each step) and actions. --replay steps once from every stored state with its
stored action and prints how far the next state lands from the stored one (the one-step gap: what
differs in the physics itself), then applies the actions open loop from the first state (the gap
compounding over an episode). Under the interpreter that saved the trace both gaps are exactly zero;
--cold replays with the solver's warm start zeroed instead of the stored one (what the solver's own
tolerance allows within one release); --margin-scale multiplies every geom's contact margin first.
"""

import argparse

import mujoco
import numpy as np

from hyirl.envs import make_env
from hyirl.experts import load_policy, shipped_policy_path
from hyirl.learner import evaluate_with_lengths

OPTIONS = ("timestep", "integrator", "solver", "cone", "jacobian", "iterations", "tolerance", "impratio",
           "noslip_iterations", "disableflags", "enableflags")  # fmt: skip
CHECK_STEPS = (1, 10, 25, 50, 100, 200, 500)


def model_options(env) -> str:
    opt = env.unwrapped.model.opt
    return ", ".join(f"{name} {getattr(opt, name)}" for name in OPTIONS if hasattr(opt, name))


def expert_episode(env, policy) -> dict[str, np.ndarray]:
    """One deterministic expert episode: the state before every step (and after the last), the actions."""
    obs, _ = env.reset(seed=0)
    states, actions = [env.get_state()], []
    for _ in range(env.task.horizon):
        action = policy(obs)
        obs, _, terminated, truncated, _ = env.step(action)
        states.append(env.get_state()), actions.append(action)
        if terminated or truncated:
            break
    return dict(actions=np.array(actions), **{key: np.array([s[key] for s in states]) for key in states[0]})


def replay(env, saved, cold: bool) -> None:
    data, actions = env.unwrapped.data, saved["actions"]
    warm = np.zeros_like(saved["qacc_warmstart"]) if cold else saved["qacc_warmstart"]
    one_step = []
    for t, action in enumerate(actions):
        env.reset_to_state(saved["qpos"][t], saved["qvel"][t], t=t, qacc_warmstart=warm[t])
        env.step(action)
        one_step.append(
            [np.abs(data.qpos - saved["qpos"][t + 1]).max(), np.abs(data.qvel - saved["qvel"][t + 1]).max()]
        )
    one_step = np.array(one_step)
    print(f"one step from each of the {len(actions)} stored states, max gap over the episode (median):")
    print(f"  qpos {one_step[:, 0].max():.2e} ({np.median(one_step[:, 0]):.2e}), "
          f"qvel {one_step[:, 1].max():.2e} ({np.median(one_step[:, 1]):.2e}); "
          f"steps with a qvel gap over 1e-3: {np.sum(one_step[:, 1] > 1e-3)}")  # fmt: skip
    env.reset_to_state(saved["qpos"][0], saved["qvel"][0], qacc_warmstart=warm[0])
    print("open loop from the first state: max |qpos - stored qpos|")
    for step, action in enumerate(actions, start=1):
        env.step(action)
        if step in CHECK_STEPS:
            gap = np.abs(data.qpos - saved["qpos"][step])
            print(f"  step {step:4d}: all joints {gap.max():.2e}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="humanoid", help="a task with a shipped expert")
    parser.add_argument("--save")
    parser.add_argument("--replay")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--cold", action="store_true", help="replay without the stored warm starts")
    parser.add_argument("--margin-scale", type=float, default=1.0, help="multiply every geom's contact margin")
    args = parser.parse_args()
    policy, meta = load_policy(shipped_policy_path(args.env))
    env = make_env(args.env, p_tremble=0.0, truncated_obs=meta.get("truncated_obs", False))
    env.unwrapped.model.geom_margin[:] *= args.margin_scale
    margins = np.unique(env.unwrapped.model.geom_margin).tolist()
    print(f"mujoco {mujoco.__version__}: {model_options(env)}, geom margins {margins}")
    if args.episodes:
        returns, lengths = evaluate_with_lengths(policy, env, args.episodes, seed=1_000_000)
        print(f"shipped expert, {args.episodes} episodes: return {np.mean(returns):.1f} "
              f"(min {np.min(returns):.1f}), length {np.mean(lengths):.1f}")  # fmt: skip
    if args.save:
        np.savez(args.save, **expert_episode(env, policy))
    if args.replay:
        replay(env, np.load(args.replay), args.cold)


if __name__ == "__main__":
    main()
