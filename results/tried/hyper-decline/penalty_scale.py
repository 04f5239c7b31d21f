"""How large is the elites' disagreement u on HyPER's own model rollouts, next to the learned reward?

For each checkpoint: 10-step model rollouts of its stochastic policy (as the loop makes them) from
2,000 expert and 2,000 recent real start states, with uncertainty_penalty = 1 so that each
transition's reward field is -u; printed: percentiles of u and of the discriminator's r = -f on the
same transitions. Used to choose the λ of ``--set uncertainty_penalty=λ``.

Run from the repository root:
    python results/tried/hyper-decline/penalty_scale.py RUN_DIR CHECKPOINT.npz [CHECKPOINT.npz ...]
"""

import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers
from hyirl.demos import expert_demos
from hyirl.discriminator import Discriminator
from hyirl.dynamics import Dynamics
from hyirl.envs import get_task, make_env, model_termination
from hyirl.hyper import HyPERConfig
from hyirl.learner import LoopConfig, OnlineSAC, restore_learner
from hyirl.model_rollouts import make_model_rollout
from hyirl.presets import build_config
from hyirl.sac import SAC

STARTS, LENGTH = 2_000, 10


def main(run_dir: Path, checkpoints: list[Path]) -> None:
    cfg = build_config(HyPERConfig, json.loads((run_dir / "config.json").read_text()), {})
    task = get_task(cfg.env)
    env = make_env(task)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    expert_obs = jnp.asarray(expert_demos(cfg.env, cfg.demos)[0]["observations"], jnp.float32)
    agent, disc = SAC(obs_dim, act_dim, cfg.sac), Discriminator(obs_dim, act_dim, cfg.disc)
    dynamics = Dynamics(obs_dim, act_dim, cfg.model)
    rollout = make_model_rollout(agent, dynamics, model_termination(task), uncertainty_penalty=1.0)
    print(f"{'checkpoint':>10} | u: median, 90 %, 99 % | r = -f: median, 10 %, 1 %")
    for path in checkpoints:
        learner = OnlineSAC(env, agent, LoopConfig(cfg.real_capacity, 0, cfg.act_chunk), cfg.seed)
        template = dict(model=dynamics.init(jax.random.PRNGKey(0)), disc=disc.init(jax.random.PRNGKey(0)))
        meta, extras = restore_learner(learner, path, template)
        key = jax.random.PRNGKey(0)
        recent = learner.buffer.obs[buffers.sample_indices(learner.buffer, key, STARTS, cfg.learner_start_window)]
        starts = jnp.concatenate([expert_obs[jax.random.randint(key, (STARTS,), 0, len(expert_obs))], recent])
        steps, valid = rollout(extras["model"], learner.state.actor_params, starts, key, length=LENGTH)
        valid = np.asarray(valid)
        u = -np.asarray(steps["reward"])[valid]
        r = np.asarray(disc.reward(extras["disc"].params, steps))[valid]
        print(
            f"{meta['env_steps']:>10} | {np.median(u):.4f}, {np.percentile(u, 90):.4f}, {np.percentile(u, 99):.4f} | "
            f"{np.median(r):.2f}, {np.percentile(r, 10):.2f}, {np.percentile(r, 1):.2f}"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
