"""The model-free IRL family: MM, BC-Reg, FILTER, HyPE, HyPE+FILTER (spec §1.3, §1.4).

All five share one outer loop: K real steps of SAC on the reward r = -f (relabelled on every batch),
then one discriminator update on learner vs expert pairs, evaluation every E env steps. They differ
only in the three switches of :class:`Method`:

    method        real episodes start from expert states   expert rows in SAC batches   BC term in actor loss
    mm            -                                        -                            -
    bc-reg        -                                        -                            MSE to expert actions
    filter        with probability reset_prob              -                            -
    hype          -                                        scheduled fraction rho(t)    -
    hype-filter   with probability reset_prob              scheduled fraction rho(t)    -

``env_steps`` counts every real step, including the trajectories sampled for the discriminator
(the reference leaves those uncounted, spec §10.1); ``policy_steps`` is the reference's count.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers
from hyirl.demos import expert_demos, load_demos
from hyirl.discriminator import Discriminator, DiscriminatorConfig
from hyirl.envs import get_task, make_env
from hyirl.errors import HyirlError
from hyirl.learner import LoopConfig, OnlineSAC, episode, evaluate, restore_learner, save_learner
from hyirl.networks import sample_tanh_gaussian
from hyirl.runs import RunDir, StepProgress
from hyirl.sac import SAC, SACConfig

CHUNK = 64  # env steps per fused update call (SB3's train_freq = gradient_steps = 64, spec §3.1)


@dataclasses.dataclass(frozen=True)
class Method:
    expert_resets: bool = False  # FILTER
    hybrid_batches: bool = False  # HyPE
    bc_regularise: bool = False  # BC-Reg


METHODS: dict[str, Method] = {
    "mm": Method(),
    "bc-reg": Method(bc_regularise=True),
    "filter": Method(expert_resets=True),
    "hype": Method(hybrid_batches=True),
    "hype-filter": Method(expert_resets=True, hybrid_batches=True),
}

ALGOS = ("bc", *METHODS, "hyper")  # everything `hyirl train --algo` accepts


def check_algo(name: str) -> None:
    if name not in ALGOS:
        raise HyirlError(f"unknown method {name!r}: use one of {', '.join(ALGOS)}")


# SB3-0.8 SAC as the reference configures it (spec §3.1): OAdam, lr 7.3e-4, gamma 0.98, tau 0.02.
REFERENCE_SAC = SACConfig(gamma=0.98, tau=0.02, learning_rate=7.3e-4, optimizer="oadam")


@dataclasses.dataclass(frozen=True)
class IRLConfig:
    algo: str
    env: str
    seed: int = 0
    steps: int = 1_000_000  # real env steps, honestly counted
    train_every: int = 5_000  # K: policy steps per round between discriminator updates
    eval_every: int = 50_000
    eval_episodes: int = 10
    demos: int = 64
    demos_file: str | None = None
    p_tremble: float | None = None  # None: the task's paper value
    reset_prob: float = 0.5  # FILTER variants
    reset_mode: Literal["state", "replay"] = "state"  # restore saved states, or the reference's seeded replay
    expert_schedule: tuple[tuple[float, float, int], ...] = ((0.2, 0.1, 200_000), (0.1, 0.01, 1_000_000))
    bc_weight: float = 1.0  # BC-Reg
    # "fresh": the reference's 4 new trajectories per update (counted); "recent": the latest real
    # transitions already in the replay buffer, so the discriminator costs no extra interaction.
    disc_samples: Literal["fresh", "recent"] = "fresh"
    disc_trajectories: int = 4
    # SB3-0.8 learn() restarts each round: env reset, 100 random steps, LR saw-tooth (spec §3.1).
    reference_rounds: bool = True
    sac: SACConfig = REFERENCE_SAC
    disc: DiscriminatorConfig = DiscriminatorConfig()
    buffer_size: int = 1_000_000
    checkpoint_every: int = 50_000


def expert_fraction_schedule(segments):
    """rho(t) over sampled batches t: linear from rho_start to rho_end within each segment (spec §3.2)."""
    starts = [0] + [end for _, _, end in segments[:-1]]

    def fraction(t):
        rho = jnp.float32(segments[-1][1])
        for (rho0, rho1, end), start in reversed(list(zip(segments, starts))):
            progress = jnp.clip((t - start) / max(end - start, 1), 0.0, 1.0)
            rho = jnp.where(t < end, rho0 + (rho1 - rho0) * progress, rho)
        return rho

    return fraction


def bc_regulariser(weight: float):
    """BC-Reg: weight * MSE between the actor's sampled action and the expert's action (spec §3.3)."""

    def term(params, apply_fn, expert_batch, key):
        action, _ = sample_tanh_gaussian(*apply_fn(params, expert_batch["obs"]), key)
        return weight * jnp.mean((action - expert_batch["action"]) ** 2)

    return term


def load_expert_data(cfg, env) -> dict[str, np.ndarray]:
    """Demos for a run config with ``env``, ``demos`` and ``demos_file`` (IRL and BC)."""
    if cfg.demos_file:
        demos, _ = load_demos(Path(cfg.demos_file), env)
    else:
        demos, _ = expert_demos(cfg.env, cfg.demos, truncated_obs=env.truncated_obs)
    return demos


class _Sampler:
    """Learner (s, a) pairs for the discriminator, and how many real steps they cost."""

    def __init__(self, cfg: IRLConfig, learner: OnlineSAC, env):
        self.cfg, self.learner, self.env = cfg, learner, env

    def __call__(self) -> tuple[jax.Array, int]:
        if self.cfg.disc_samples == "recent":
            n = min(self.cfg.disc_trajectories * self.env.horizon, int(self.learner.buffer.size))
            return buffers.recent_pairs(self.learner.buffer, n), 0
        policy, rng = self.learner.policy, self.learner.rng
        stochastic = lambda obs: policy(obs, noise=rng.standard_normal(policy.act_dim))  # noqa: E731  SB3 predict()
        pairs = [
            np.concatenate([obs, action])
            for _ in range(self.cfg.disc_trajectories)
            for obs, action, _ in episode(self.env, stochastic)
        ]
        return jnp.asarray(np.array(pairs), jnp.float32), len(pairs)


def train_irl(cfg: IRLConfig, out: Path, *, resume: bool = False, progress: bool = True) -> Path:
    if cfg.algo not in METHODS:
        raise HyirlError(f"unknown model-free method {cfg.algo!r}: use one of {', '.join(METHODS)}")
    method = METHODS[cfg.algo]
    task = get_task(cfg.env)
    env = make_env(task, p_tremble=cfg.p_tremble)
    demos = load_expert_data(cfg, env)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]

    expert_actions = np.clip(demos["actions"], -1 + 1e-6, 1 - 1e-6)
    expert = buffers.from_arrays(
        obs=demos["observations"],
        action=expert_actions,
        next_obs=demos["next_observations"],
        reward=np.zeros(len(expert_actions)),
        terminal=np.zeros(len(expert_actions)),
    )
    expert_pairs = jnp.concatenate([expert.obs, expert.action], -1)
    sampler_env = make_env(task, p_tremble=cfg.p_tremble)
    sampler_env.reset(seed=cfg.seed + 1)
    if method.expert_resets:
        # The reference samples the discriminator's trajectories with resets on too (spec §10.23).
        for e in (env, sampler_env):
            e.use_expert_resets(demos, cfg.reset_prob, cfg.reset_mode)

    disc = Discriminator(obs_dim, act_dim, cfg.disc)
    agent = SAC(
        obs_dim,
        act_dim,
        cfg.sac,
        reward_fn=disc.reward,
        expert_fraction=expert_fraction_schedule(cfg.expert_schedule) if method.hybrid_batches else None,
        actor_regulariser=bc_regulariser(cfg.bc_weight) if method.bc_regularise else None,
    )
    needs_expert = method.hybrid_batches or method.bc_regularise
    learner = OnlineSAC(
        env,
        agent,
        LoopConfig(cfg.buffer_size, learning_starts=0, train_freq=CHUNK),
        cfg.seed,
        expert_buffer=expert if needs_expert else None,
    )
    disc_state = disc.init(jax.random.PRNGKey(cfg.seed + 10_000))
    sample_learner_pairs = _Sampler(cfg, learner, sampler_env)
    eval_env = make_env(task, p_tremble=cfg.p_tremble)

    run = RunDir(out, dataclasses.asdict(cfg), resume=resume)  # only now: set-up errors leave no directory
    state_file = run.checkpoint_dir / "learner.npz"
    counters = dict(round=0, policy_steps=0, disc_env_steps=0, eval_return=None)
    if resume:
        meta, extras = restore_learner(learner, state_file, {"disc": disc_state})
        disc_state = extras["disc"]
        counters = meta["counters"]
        sampler_env.np_random.bit_generator.state = meta["sampler_rng"]
        run.truncate_metrics(learner.env_steps + counters["disc_env_steps"])

    round_steps = math.ceil(cfg.train_every / CHUNK) * CHUNK  # SB3 collects whole chunks (spec §3.1)
    lr0 = cfg.sac.learning_rate
    env_steps = lambda: learner.env_steps + counters["disc_env_steps"]  # noqa: E731
    with StepProgress(cfg.steps, f"{cfg.algo} {task.name}", env_steps(), enabled=progress) as bar:
        while env_steps() < cfg.steps:
            before = env_steps()
            # Policy phase: K real steps of SAC on r = -f.
            if cfg.reference_rounds:
                learner.restart_episode(warmup=100)
            for i in range(round_steps // CHUNK):
                # SB3's linear schedule restarts with every learn() call: a saw-tooth over rounds.
                lr = lr0 * max(1.0 - (i + 1) * CHUNK / cfg.train_every, 0.0) if cfg.reference_rounds else lr0
                learner.collect(CHUNK, disc_state.params, lr)
            counters["policy_steps"] += cfg.train_every
            # Discriminator phase: one update on learner vs expert pairs.
            learner_pairs, sampled = sample_learner_pairs()
            counters["disc_env_steps"] += sampled
            disc_state, disc_metrics = disc.update(
                disc_state,
                expert_pairs,
                learner_pairs,
                jax.random.fold_in(jax.random.PRNGKey(cfg.seed), counters["round"]),
            )
            disc_metrics = {f"disc_{k}": float(v) for k, v in jax.device_get(disc_metrics).items()}
            if not all(map(math.isfinite, disc_metrics.values())):
                raise HyirlError(f"non-finite discriminator loss at env step {env_steps()}: {disc_metrics}")
            counters["round"] += 1
            if env_steps() // cfg.eval_every > before // cfg.eval_every or env_steps() >= cfg.steps:
                returns = evaluate(learner.policy, eval_env, cfg.eval_episodes, seed=1_000_000 + cfg.seed * 1000)
                counters["eval_return"] = float(returns.mean())
                fraction = agent.expert_fraction(learner.state.step) if agent.expert_fraction else 0.0
                run.log(
                    dict(
                        env_steps=env_steps(),
                        policy_steps=counters["policy_steps"],
                        disc_env_steps=counters["disc_env_steps"],
                        eval_return_mean=counters["eval_return"],
                        eval_return_std=float(returns.std()),
                        expert_fraction=float(fraction),
                        **disc_metrics,
                        **learner.last_metrics,
                    )
                )
            if env_steps() // cfg.checkpoint_every > before // cfg.checkpoint_every or env_steps() >= cfg.steps:
                save_learner(
                    learner,
                    state_file,
                    dict(counters=counters, sampler_rng=sampler_env.np_random.bit_generator.state),
                    extra_trees={"disc": disc_state},
                )
            bar.update(env_steps(), counters["eval_return"])
    run.finish(env_steps=env_steps())
    return run.path
