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
from hyirl.demos import expert_buffer, load_expert_data, with_next_actions
from hyirl.discriminator import Discriminator, DiscriminatorConfig, DiscriminatorState
from hyirl.envs import CONTACT_MARGIN_RULES, Task, TaskEnv, make_env, observed_task, with_contact_margins
from hyirl.errors import HyirlError, check_choice, check_config, check_sac_only
from hyirl.learner import (
    LoopConfig,
    OnlineSAC,
    SeedGroup,
    episode,
    evaluate_with_lengths,
    evaluation_record,
    restore_learner,
    stack,
    unstack,
)
from hyirl.networks import sample_tanh_gaussian
from hyirl.runs import RunDir, StepProgress, crossed
from hyirl.sac import SAC, NumpyPolicy, SACConfig
from hyirl.td3bc import TD3BC, TD3BCConfig, batch_mode

CHUNK = 64  # env steps per fused update call (SB3's train_freq = gradient_steps = 64, spec §3.1)

# The model-free family and its checkpoints are unchanged since 0.3.0 (0.4.0 changed HyPER only; 0.5.0
# added the TD3-BC settings, whose defaults are the SAC loop of before; 0.6.0 merged AntMaze's walls only).
IRL_RUNS_READABLE_SINCE = "0.3.0"


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
    # AntMaze (spec §3.4): TD3-BC instead of SAC, a deterministic actor with no exploration, first
    # trained ``bc_init_steps`` updates in BC mode on the expert data. Its batches are half expert
    # data for the methods in ``td3_hybrid_methods`` (None: those with hybrid batches); the reference
    # gives them to hype-filter only, so its HyPE and BC-Reg are MM there (spec §10.6).
    policy: Literal["sac", "td3bc"] = "sac"
    td3: TD3BCConfig = TD3BCConfig()
    bc_init_steps: int = 0
    td3_hybrid_methods: tuple[str, ...] | None = None
    # AntMaze training episodes end, as terminal, on reaching the goal, as in D4RL's registered envs
    # (the reference). With False they go on to the time limit, as the dataset's episodes do, so a
    # positive offset of the learned reward cannot make the goal a state to avoid (docs/antmaze.md).
    # Evaluation episodes end at the goal either way.
    goal_ends_episode: bool = True
    # Ant/Humanoid: v5 observes the external contact forces, which the reference's v3 envs observed as
    # zeros; False leaves them out, so that every network sees the reference's information (docs/methods.md).
    contact_forces: bool = True
    # "reference": contacts as on the reference's MuJoCo, not as on MuJoCo >= 3.5 (envs.reference_contact_margins)
    contact_margins: str = "mujoco"
    disc: DiscriminatorConfig = DiscriminatorConfig()
    buffer_size: int = 1_000_000
    checkpoint_every: int = 50_000
    settings: tuple[str, ...] = ()  # the --set overrides of the preset this run was made with (provenance)

    def __post_init__(self):
        check_config(
            self,
            positive=(
                "steps",
                "train_every",
                "eval_every",
                "eval_episodes",
                "demos",
                "disc_trajectories",
                "buffer_size",
                "checkpoint_every",
            ),
            non_negative=("bc_weight", "bc_init_steps"),
            fractions=("p_tremble", "reset_prob"),
            problems=_schedule_problems(self.expert_schedule)
            + check_choice("disc_samples", self.disc_samples, ("fresh", "recent"))
            + check_choice("reset_mode", self.reset_mode, ("state", "replay"))
            + check_choice("policy", self.policy, ("sac", "td3bc"))
            + check_choice("contact_margins", self.contact_margins, CONTACT_MARGIN_RULES)
            + _absorbing_problems(self)
            + check_sac_only(self.policy, {"sac.terminal_entropy": self.sac.terminal_entropy})
            + _expert_bootstrap_problems(self),
        )


def _expert_bootstrap_problems(cfg: IRLConfig) -> list[str]:
    """sac.expert_bootstrap acts on the expert rows of SAC's hybrid batches, which only HyPE's have."""
    if cfg.sac.expert_bootstrap == "policy" or (
        cfg.policy == "sac" and cfg.algo in METHODS and METHODS[cfg.algo].hybrid_batches
    ):
        return []
    return [f"sac.expert_bootstrap={cfg.sac.expert_bootstrap!r} needs SAC's hybrid batches (hype, hype-filter)"]


def _absorbing_problems(cfg: IRLConfig) -> list[str]:
    """Where absorbing states are not implemented (yet): TD3-BC (AntMaze, whose expert rows end in
    terminals too) and discriminator samples taken from the replay buffer."""
    if not cfg.disc.absorbing:
        return []
    return [
        f"disc.absorbing=true needs {k}={v!r}"
        for k, v in (("policy", "sac"), ("disc_samples", "fresh"))
        if getattr(cfg, k) != v
    ]


def _schedule_problems(segments) -> list[str]:
    """An expert schedule is segments (rho_start, rho_end, t_end) with fractions in [0, 1], ends rising."""
    try:
        ends = [int(end) for _, _, end in segments]
        fractions = [float(rho) for rho0, rho1, _ in segments for rho in (rho0, rho1)]
    except (TypeError, ValueError):
        ends, fractions = [], [-1.0]
    if ends and all(0 <= f <= 1 for f in fractions) and all(a < b for a, b in zip([0] + ends, ends)):
        return []
    return [
        f"expert_schedule={segments!r} must be segments [rho_start, rho_end, t_end] with rho in [0, 1] and rising t_end"
    ]


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


def _policy_optimiser(cfg: IRLConfig, method: Method, obs_dim: int, act_dim: int, disc: Discriminator):
    """The method's SAC (or, on AntMaze, TD3-BC) on the reward -f, and whether it reads expert rows."""
    if cfg.policy == "td3bc":
        hybrid = cfg.algo in cfg.td3_hybrid_methods if cfg.td3_hybrid_methods is not None else method.hybrid_batches
        mode = batch_mode(hybrid, cfg.td3)
        return TD3BC(obs_dim, act_dim, cfg.td3, reward_fn=disc.reward, mode=mode), mode != "learner"
    agent = SAC(
        obs_dim,
        act_dim,
        cfg.sac,
        reward_fn=disc.reward_fn(cfg.sac.gamma),
        expert_fraction=expert_fraction_schedule(cfg.expert_schedule) if method.hybrid_batches else None,
        actor_regulariser=bc_regulariser(cfg.bc_weight) if method.bc_regularise else None,
    )
    return agent, method.hybrid_batches or method.bc_regularise


def _bc_initialise(cfg: IRLConfig, agent: TD3BC, group: SeedGroup, expert, disc_params) -> None:
    """TD3-BC in BC mode on the expert data before the first real step (the critic learns -f too)."""

    def bc(state, buffer, params):
        return agent._train_chunk(state, buffer, expert, params, num_updates=cfg.bc_init_steps, mode="bc")

    group.state, _ = jax.jit(jax.vmap(bc))(group.state, group.buffer, disc_params)
    for i, learner in enumerate(group.learners):
        learner.policy = NumpyPolicy(unstack(group.state.actor_params, i))


@dataclasses.dataclass
class _SeedRun:
    """One seed of a (possibly multi-seed) run: its environments, learner, discriminator and run dir."""

    cfg: IRLConfig
    learner: OnlineSAC
    sampler_env: TaskEnv  # fresh trajectories for the discriminator
    eval_env: TaskEnv
    run: RunDir
    disc_state: DiscriminatorState
    counters: dict
    finished: bool = False

    @property
    def env_steps(self) -> int:
        return self.learner.env_steps + self.counters["disc_env_steps"]

    def fresh_pairs(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The reference's discriminator data: new trajectories of the acting policy (SB3 predict():
        stochastic for SAC, the deterministic actor for TD3), as their observations and actions, and how
        many of the trajectories ended in a terminal step (before the time limit)."""
        policy, rng, env = self.learner.policy, self.learner.rng, self.sampler_env
        if self.learner.deterministic:
            act = policy
        else:
            act = lambda obs: policy(obs, noise=rng.standard_normal(policy.act_dim))  # noqa: E731
        steps, terminated = [], 0
        for _ in range(self.cfg.disc_trajectories):
            steps += [(obs, action) for obs, action, _ in episode(env, act)]
            terminated += env.t < env.horizon
        obs, actions = map(np.array, zip(*steps))
        return obs, actions, terminated


def _learner_pairs(
    cfg: IRLConfig, group: SeedGroup, seeds: list[_SeedRun], disc: Discriminator
) -> tuple[jax.Array, np.ndarray]:
    """The discriminator's learner rows of every seed, padded to one array, and each seed's number of rows."""
    if cfg.disc_samples == "recent":  # the latest real transitions: no extra interaction
        n = min(cfg.disc_trajectories * seeds[0].sampler_env.horizon, int(group.buffer.size[0]))
        return jax.vmap(buffers.recent_pairs, in_axes=(0, None))(group.buffer, n), np.full(len(seeds), n)
    # A fixed row count (the most the trajectories can hold; a terminated one is shorter than the time
    # limit, so it has room for its absorbing row) keeps one compiled discriminator update: padding to
    # each round's longest trajectory set recompiled it almost every round (seconds each).
    size = cfg.disc_trajectories * seeds[0].sampler_env.horizon
    rows, counts = [], []
    for seed in seeds:
        obs, actions, terminated = seed.fresh_pairs()
        seed.counters["disc_env_steps"] += len(obs)
        padded, live = disc.learner_rows(disc.rows(obs, actions), terminated, size)
        rows.append(padded)
        counts.append(live)
    return jnp.asarray(np.stack(rows)), np.array(counts)


def training_task(cfg: IRLConfig, task: Task) -> Task:
    """The task the learner acts in: the evaluation task, or on AntMaze with ``goal_ends_episode=False``
    one whose episodes go on past the goal."""
    if cfg.goal_ends_episode:
        return task
    if not task.success_task:
        raise HyirlError(f"goal_ends_episode=false applies to the goal-reaching tasks (AntMaze), not {task.name!r}")
    return dataclasses.replace(task, gym_kwargs={**task.gym_kwargs, "terminate_on_success": False})


def training_demos(cfg: IRLConfig, demos: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The data as the training task reads it: with ``goal_ends_episode=False`` no goal row is terminal
    either, since the flags stand for where the task's episodes end (docs/antmaze.md)."""
    return demos if cfg.goal_ends_episode else dict(demos, terminals=np.zeros_like(demos["terminals"]))


def run_dir_for(out: Path, seed: int, num_seeds: int) -> Path:
    """A single-seed run writes to ``out``; several seeds write to ``out/sSEED`` each."""
    return out if num_seeds == 1 else out / f"s{seed}"


def train_irl(cfg: IRLConfig, out: Path, *, resume: bool = False, progress: bool = True, seeds=None) -> list[Path]:
    """Train ``cfg.algo`` for ``seeds`` (default ``[cfg.seed]``) in one process, SAC and discriminator
    updates vmapped over seeds; returns the run directories (see :func:`run_dir_for`)."""
    loop = _IRLLoop(cfg, Path(out), resume, list(seeds) if seeds is not None else [cfg.seed])
    loop.run(progress)
    return [r.run.path for r in loop.seeds]


class _IRLLoop:
    """The outer loop of spec §1.3 for every seed of one run, as its phases: K real steps of the policy
    optimiser on r = -f (:meth:`policy_phase`), one discriminator update (:meth:`discriminator_phase`),
    then each seed's evaluation, checkpoint and stop (:meth:`end_round`)."""

    def __init__(self, cfg: IRLConfig, out: Path, resume: bool, seed_list: list[int]):
        if cfg.algo not in METHODS:
            raise HyirlError(f"unknown model-free method {cfg.algo!r}: use one of {', '.join(METHODS)}")
        self.cfg, self.method = cfg, METHODS[cfg.algo]
        self.task = with_contact_margins(observed_task(cfg.env, contact_forces=cfg.contact_forces), cfg.contact_margins)
        self.train_task = training_task(cfg, self.task)
        probe_env = make_env(self.task, p_tremble=cfg.p_tremble)
        self.demos = training_demos(cfg, load_expert_data(cfg, probe_env))
        obs_dim, act_dim = probe_env.observation_space.shape[0], probe_env.action_space.shape[0]
        expert = expert_buffer(self.demos)
        self.disc = Discriminator(obs_dim, act_dim, self.cfg.disc)
        self.expert_pairs = self.disc.rows(expert.obs, expert.action)
        self.agent, needs_expert = _policy_optimiser(cfg, self.method, obs_dim, act_dim, self.disc)
        # run dirs only now: set-up errors leave nothing behind
        self.seeds = [self._seed_run(seed, out, resume, len(seed_list)) for seed in seed_list]
        if cfg.sac.expert_bootstrap == "expert-action":
            expert = with_next_actions(expert, self.demos)
        self.group = SeedGroup([r.learner for r in self.seeds], expert_buffer=expert if needs_expert else None)
        self.disc_states = stack([r.disc_state for r in self.seeds])
        if cfg.bc_init_steps and not any(r.run.resumed for r in self.seeds):
            _bc_initialise(cfg, self.agent, self.group, expert, self.disc_states.params)
        self.disc_update = jax.jit(jax.vmap(self.disc._update, in_axes=(0, None, 0, 0, 0)), donate_argnums=0)

    def _seed_run(self, seed: int, out: Path, resume: bool, num_seeds: int) -> _SeedRun:
        """One seed's environments, learner, discriminator and run directory, restored when resumed."""
        cfg = dataclasses.replace(self.cfg, seed=seed)
        env, sampler_env = (make_env(self.train_task, p_tremble=cfg.p_tremble) for _ in range(2))
        sampler_env.reset(seed=seed + 1)
        if self.method.expert_resets:
            # The reference samples the discriminator's trajectories with resets on too (spec §10.23).
            for e in (env, sampler_env):
                e.use_expert_resets(self.demos, cfg.reset_prob, cfg.reset_mode)
        learner = OnlineSAC(env, self.agent, LoopConfig(cfg.buffer_size, learning_starts=0, train_freq=CHUNK), seed)
        learner.deterministic = cfg.policy == "td3bc"  # TD3 acts without exploration noise (spec §10.14)
        run = RunDir(
            run_dir_for(out, seed, num_seeds),
            dataclasses.asdict(cfg),
            resume=resume,
            readable_since=IRL_RUNS_READABLE_SINCE,
            defaults=dataclasses.asdict(IRLConfig(cfg.algo, cfg.env)),
            process_seeds=num_seeds,
        )
        counters = dict(round=0, policy_steps=0, disc_env_steps=0, eval_return=None)
        eval_env = make_env(self.task, p_tremble=cfg.p_tremble)
        one = _SeedRun(
            cfg, learner, sampler_env, eval_env, run, self.disc.init(jax.random.PRNGKey(seed + 10_000)), counters
        )
        if run.resumed:
            meta, extras = restore_learner(learner, run.checkpoint_file, {"disc": one.disc_state})
            one.disc_state, one.counters = extras["disc"], meta["counters"]
            sampler_env.np_random.bit_generator.state = meta["sampler_rng"]
            run.truncate_metrics(one.env_steps)
            if one.env_steps >= cfg.steps:
                run.finish(env_steps=one.env_steps)
                one.finished = True
        return one

    def run(self, progress: bool) -> None:
        cfg = self.cfg
        label = f"{cfg.algo} {self.task.name}" + (f" x{len(self.seeds)} seeds" if len(self.seeds) > 1 else "")
        progress_steps = lambda: sum(min(r.env_steps, cfg.steps) for r in self.seeds)  # noqa: E731
        with StepProgress(cfg.steps * len(self.seeds), label, progress_steps(), enabled=progress) as bar:
            while not all(r.finished for r in self.seeds):
                before = [r.env_steps for r in self.seeds]
                self.policy_phase()
                self.end_round(before, self.discriminator_phase())
                bar.update(progress_steps(), self.seeds[0].counters["eval_return"])

    def policy_phase(self) -> None:
        """K real steps of the policy optimiser on r = -f, every seed at once, in whole chunks (SB3 collects
        whole chunks, spec §3.1)."""
        cfg = self.cfg
        if cfg.reference_rounds:
            for r in self.seeds:
                r.learner.restart_episode(warmup=100)
        for i in range(math.ceil(cfg.train_every / CHUNK)):
            # SB3's linear schedule restarts with every learn() call: a saw-tooth over rounds.
            lr = cfg.sac.learning_rate
            if cfg.reference_rounds:
                lr *= max(1.0 - (i + 1) * CHUNK / cfg.train_every, 0.0)
            self.group.collect(CHUNK, self.disc_states.params, lr)

    def discriminator_phase(self) -> dict[str, np.ndarray]:
        """One update per seed on its learner vs expert pairs; the metrics, one value per seed."""
        learner_pairs, counts = _learner_pairs(self.cfg, self.group, self.seeds, self.disc)
        keys = jnp.stack([jax.random.fold_in(jax.random.PRNGKey(r.cfg.seed), r.counters["round"]) for r in self.seeds])
        self.disc_states, metrics = self.disc_update(
            self.disc_states, self.expert_pairs, learner_pairs, keys, jnp.asarray(counts)
        )
        return jax.device_get(metrics)

    def end_round(self, before: list[int], disc_metrics: dict[str, np.ndarray]) -> None:
        """Per seed: count the round, evaluate and log when due, checkpoint, and stop at ``cfg.steps``."""
        cfg = self.cfg
        for i, (r, start) in enumerate(zip(self.seeds, before)):
            r.counters["policy_steps"] += cfg.train_every
            r.counters["round"] += 1
            if r.finished:
                continue
            metrics = {f"disc_{k}": float(v[i]) for k, v in disc_metrics.items()}
            self._evaluate_if_due(i, start, metrics)
            if crossed(start, r.env_steps, cfg.checkpoint_every) or r.env_steps >= cfg.steps:
                extra = dict(counters=r.counters, sampler_rng=r.sampler_env.np_random.bit_generator.state)
                self.group.save(i, r.run.checkpoint_file, extra, {"disc": unstack(self.disc_states, i)})
            if r.env_steps >= cfg.steps:
                r.run.finish(env_steps=r.env_steps)
                r.finished = True

    def _evaluate_if_due(self, i: int, start: int, disc_metrics: dict) -> None:
        """Check seed ``i``'s discriminator, and evaluate and log it when it crossed an evaluation point."""
        r, cfg = self.seeds[i], self.cfg
        if not all(map(math.isfinite, disc_metrics.values())):
            raise HyirlError(f"non-finite discriminator loss at env step {r.env_steps}: {disc_metrics}")
        if crossed(start, r.env_steps, cfg.eval_every) or r.env_steps >= cfg.steps:
            returns, lengths = evaluate_with_lengths(
                r.learner.policy, r.eval_env, cfg.eval_episodes, seed=1_000_000 + r.cfg.seed * 1000
            )
            r.counters["eval_return"] = float(returns.mean())
            expert_fraction = getattr(self.agent, "expert_fraction", None)
            fraction = expert_fraction(unstack(self.group.state.step, i)) if expert_fraction else 0.0
            r.run.log(
                dict(
                    env_steps=r.env_steps,
                    policy_steps=r.counters["policy_steps"],
                    disc_env_steps=r.counters["disc_env_steps"],
                    **evaluation_record(r.eval_env.task, returns, lengths),
                    expert_fraction=float(fraction),
                    **disc_metrics,
                    **r.learner.last_metrics,
                )
            )
