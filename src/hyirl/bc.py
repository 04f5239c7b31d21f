"""Behaviour cloning (spec §1.4): the actor regressed onto expert actions, no interaction.

As the reference: on the MuJoCo tasks SB3's SAC actor (``policy="sac"``), MSE between its *sampled*
(reparameterised, squashed) action and the expert action, Adam; on AntMaze the TD3-BC actor in its
BC mode (``policy="td3bc"``), MSE of its deterministic action, OAdam. Both lr 3e-4, batch 256, 300k
gradient steps fused 1,000 per call; evaluated with 50 deterministic episodes in the trembling eval
env (plus 10-episode checks along the way for the progress bar).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hyirl.demos import expert_buffer, load_expert_data
from hyirl.envs import make_env, observed_task
from hyirl.errors import HyirlError, check_choice, check_config, check_widths
from hyirl.experts import save_policy
from hyirl.learner import evaluate_with_lengths, evaluation_record
from hyirl.networks import Actor, sample_tanh_gaussian
from hyirl.optim import oadam
from hyirl.runs import RunDir, StepProgress
from hyirl.sac import NumpyPolicy

STEPS_PER_CALL = 1_000


@dataclasses.dataclass(frozen=True)
class BCConfig:
    env: str
    seed: int = 0
    grad_steps: int = 300_000
    batch_size: int = 256
    learning_rate: float = 3e-4
    hidden: tuple[int, ...] = (256, 256)
    demos: int = 64
    demos_file: str | None = None
    p_tremble: float | None = None
    eval_every: int = 50_000  # gradient steps between progress evaluations
    eval_episodes: int = 10
    final_eval_episodes: int = 50
    policy: Literal["sac", "td3bc"] | None = None  # None: the reference's for the task (td3bc on AntMaze)
    contact_forces: bool = True  # False: Ant's and Humanoid's observation without them (the reference's)
    # True: the reference's targets, the demonstrated actions in the env's units regressed onto the actor's
    # [-1, 1] output; where the bounds are not ±1 (Humanoid's ±0.4) BC then acts at a scaled torque.
    targets_in_env_units: bool = False
    settings: tuple[str, ...] = ()  # the --set overrides this run was made with (provenance)

    def __post_init__(self):
        check_config(
            self,
            positive=(
                "grad_steps",
                "batch_size",
                "learning_rate",
                "demos",
                "eval_every",
                "eval_episodes",
                "final_eval_episodes",
            ),
            fractions=("p_tremble",),
            problems=check_widths("hidden", self.hidden)
            + check_choice("policy", self.policy, ("sac", "td3bc", None))
            + [
                f"{name}={value} must be a multiple of {STEPS_PER_CALL} (gradient steps fused per call)"
                for name, value in (("grad_steps", self.grad_steps), ("eval_every", self.eval_every))
                if isinstance(value, int) and value % STEPS_PER_CALL
            ],
        )


@partial(jax.jit, static_argnames=("actor", "tx", "batch_size", "sampled"), donate_argnums=(0, 1))
def _bc_steps(params, opt_state, key, obs, actions, *, actor, tx, batch_size, sampled):
    def step(carry, key):
        params, opt_state = carry
        k_idx, k_noise = jax.random.split(key)
        idx = jax.random.randint(k_idx, (batch_size,), 0, obs.shape[0])

        def loss(p):
            mean, log_std = actor.apply(p, obs[idx])
            action = sample_tanh_gaussian(mean, log_std, k_noise)[0] if sampled else jnp.tanh(mean)
            return jnp.mean((action - actions[idx]) ** 2)

        value, grads = jax.value_and_grad(loss)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), value

    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), jax.random.split(key, STEPS_PER_CALL))
    return params, opt_state, losses.mean()


def train_bc(cfg: BCConfig, out: Path, *, progress: bool = True) -> Path:
    task = observed_task(cfg.env, contact_forces=cfg.contact_forces)
    eval_env = make_env(task, p_tremble=cfg.p_tremble)
    demos = load_expert_data(cfg, eval_env)
    cfg = dataclasses.replace(cfg, policy=cfg.policy or ("td3bc" if task.success_task else "sac"))
    run = RunDir(out, dataclasses.asdict(cfg))
    expert = expert_buffer(demos)  # float32, actions pulled inside (-1, 1) as for the other methods
    obs, actions = expert.obs, expert.action
    if cfg.targets_in_env_units:
        actions = eval_env.to_env_action(np.asarray(actions)).astype(np.float32)
    actor = Actor(cfg.hidden, actions.shape[1])
    tx = oadam(cfg.learning_rate) if cfg.policy == "td3bc" else optax.adam(cfg.learning_rate)
    key, init_key = jax.random.split(jax.random.PRNGKey(cfg.seed))
    params = actor.init(init_key, obs[:1])
    opt_state = tx.init(params)
    latest = None
    with StepProgress(cfg.grad_steps, f"bc {task.name} (gradient steps)", enabled=progress) as bar:
        for done in range(STEPS_PER_CALL, cfg.grad_steps + 1, STEPS_PER_CALL):
            key, k = jax.random.split(key)
            params, opt_state, loss = _bc_steps(
                params,
                opt_state,
                k,
                obs,
                actions,
                actor=actor,
                tx=tx,
                batch_size=cfg.batch_size,
                sampled=cfg.policy == "sac",
            )
            final = done == cfg.grad_steps
            if done % cfg.eval_every == 0 or final:
                loss = float(loss)
                if not np.isfinite(loss):
                    raise HyirlError(f"non-finite BC loss at gradient step {done}")
                episodes = cfg.final_eval_episodes if final else cfg.eval_episodes
                returns, lengths = evaluate_with_lengths(
                    NumpyPolicy(params), eval_env, episodes, seed=1_000_000 + cfg.seed * 1000
                )
                latest = float(returns.mean())
                run.log(
                    dict(
                        env_steps=0,
                        grad_steps=done,
                        **evaluation_record(task, returns, lengths),
                        eval_episodes=episodes,
                        bc_loss=loss,
                    )
                )
            bar.update(done, latest)
    save_policy(run.path / "policy.npz", params, dict(env=task.name, algo="bc", grad_steps=cfg.grad_steps))
    run.finish(grad_steps=cfg.grad_steps)
    return run.path
