"""Does the reference's BC act at 0.4 times the expert's torques on Humanoid?

Humanoid is the only one of the four MuJoCo tasks whose action bounds are not ±1 (they are ±0.4).
The reference's demonstrations store SB3's ``predict`` output, which is in the environment's units
(±0.4), and its BC regresses the SAC actor's squashed output, which SB3 maps from [-1, 1] to the
bounds when it acts, onto those numbers. A BC that fits its targets perfectly would then apply 0.4
times the demonstrated torque. hyirl stores and regresses actions in [-1, 1] (the env wrapper
rescales), so its BC applies the demonstrated torque.

This probe plays the shipped expert (truncated observation) and each given hyirl BC policy (the
preset's observation) in the trembling evaluation env (p_tremble 0.025) with their actions scaled
by 1.0 and by 0.4, and prints the mean return and episode length.

    python results/tried/humanoid-bc-action-scale/probe.py runs/bc-humanoid-s0/policy.npz ...
"""

import argparse

import numpy as np

from hyirl.envs import make_env, observed_task
from hyirl.experts import load_policy, shipped_policy_path
from hyirl.learner import evaluate_with_lengths

P_TREMBLE = 0.025


def scaled(policy, scale):
    return lambda obs: scale * policy(obs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bc_policies", nargs="*")
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    expert_env = make_env("humanoid", p_tremble=P_TREMBLE, truncated_obs=True)
    bc_env = make_env(observed_task("humanoid", contact_forces=False), p_tremble=P_TREMBLE)
    players = [("shipped expert", shipped_policy_path("humanoid"), expert_env)]
    players += [(path, path, bc_env) for path in args.bc_policies]
    print(
        f"{'policy':40s} {'scale':>5s} {'return':>8s} {'length':>7s}  ({args.episodes} episodes, p_tremble {P_TREMBLE})"
    )
    for name, path, env in players:
        policy, _ = load_policy(path)
        for scale in (1.0, 0.4):
            returns, lengths = evaluate_with_lengths(scaled(policy, scale), env, args.episodes, seed=1_000_000)
            print(f"{str(name):40s} {scale:5.1f} {np.mean(returns):8.1f} {np.mean(lengths):7.1f}")


if __name__ == "__main__":
    main()
