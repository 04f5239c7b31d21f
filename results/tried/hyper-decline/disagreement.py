"""Diagnostic: does the dynamics ensemble know where it is wrong?

For each HyPER checkpoint, runs the deterministic policy in the real env (env resets, evaluation seeds)
and, along every real transition, compares the elites' one-step error (mean prediction vs the real next
state) with their disagreement (standard deviation of the elites' mean predictions). Printed per
checkpoint: both at the median step and over the last 10 steps of episodes that fall, and their rank
correlation over all steps. A disagreement that rises where the error rises would let an uncertainty
penalty (as in MOPO) keep the policy away from states the model gets wrong.

Run from the repository root (run-directory views as made for hyper-model-vs-real/diagnose.py):
    python results/tried/hyper-decline/disagreement.py RUN_DIR [RUN_DIR ...]
"""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hyper-model-vs-real"))
from diagnose import load, real_episode  # noqa: E402

from hyirl.envs import make_env  # noqa: E402

EPISODES = 10


def main(run_dir: Path) -> None:
    cfg, task, agent, dynamics, learner, model, env_steps = load(run_dir)

    @jax.jit
    def elite_means(obs, action):
        return obs + dynamics.elite_mean_deltas(model, obs, action)

    env = make_env(task)
    errors, spreads, fall_errors, fall_spreads, lengths = [], [], [], [], []
    for i in range(EPISODES):
        states, actions, _, terminated = real_episode(env, learner.policy, env.reset(seed=1_000_000 + i)[0])
        means = np.asarray(elite_means(jnp.asarray(states[:-1], jnp.float32), jnp.asarray(actions, jnp.float32)))
        error = ((means.mean(0) - states[1:]) ** 2).mean(-1)
        spread = means.std(0).mean(-1)
        errors.append(error), spreads.append(spread), lengths.append(len(actions))
        if terminated:
            fall_errors.append(error[-10:]), fall_spreads.append(spread[-10:])
    error, spread = np.concatenate(errors), np.concatenate(spreads)
    falls = f"{len(fall_errors)} of {EPISODES} episodes fall"
    if fall_errors:
        falls += (
            f"; last 10 steps before a fall: error {np.concatenate(fall_errors).mean():.4f}, "
            f"disagreement {np.concatenate(fall_spreads).mean():.4f}"
        )
    print(
        f"{run_dir} ({env_steps} real steps): mean length {np.mean(lengths):.0f}; median step: error "
        f"{np.median(error):.4f}, disagreement {np.median(spread):.4f}; {falls}; "
        f"rank correlation (all steps) {spearmanr(error, spread)[0]:.2f}"
    )


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        main(Path(arg))
