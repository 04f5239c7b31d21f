"""HyPER: model-based hybrid IRL (spec §5).

Per real step (in chunks of ``act_chunk`` steps):

1. act in the real env with the deterministic policy (trembling applied); the transition goes to the
   policy buffer and, with one uniformly drawn expert transition, to the hybrid buffer;
2. every ``model_every`` steps: refit the dynamics ensemble on the hybrid buffer, then roll the
   stochastic policy out in the model for L steps from a batch of start states that come, by one coin
   flip per event, all from the expert's states or all from the learner's real states;
3. ``updates_per_step`` SAC updates on model transitions only, with the reward r = -f of the current
   discriminator. It is stored with each model transition when the transition is generated, and after
   a discriminator update the rows labelled before it are recomputed when SAC next reads the buffer:
   the same rewards as relabelling every sampled batch, computed ~2.5x less often (each row is sampled
   ~2.5 times), and never for the rows that a model event due at once overwrites;
4. every ``disc_every`` steps: one discriminator update on the latest real learner transitions vs
   expert pairs. They were collected already, so the discriminator costs no extra interaction (the
   reference draws 4 fresh, uncounted trajectories per update, spec §10.1).

Where HyPER differs from the model-free family: the policy never trains on real or expert transitions
(spec §10.8); the expert enters through the model's training data and the rollout start states.
``env_steps`` counts every real step, including the initial exploration the reference leaves out.
The evaluated policy is the latest actor or, as options, a moving average of its weights
(``policy_averages``) or the best recent per-epoch snapshot judged on real episodes (``select_epochs``,
see :mod:`hyirl.selection`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from functools import partial
from pathlib import Path
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers
from hyirl.demos import expert_buffer, generated_data_name, load_expert_data, trajectory_ends
from hyirl.discriminator import Discriminator, DiscriminatorConfig, DiscriminatorState
from hyirl.dynamics import Dynamics, DynamicsConfig, DynamicsState
from hyirl.envs import CONTACT_MARGIN_RULES, get_task, make_env, model_termination, with_contact_margins
from hyirl.errors import HyirlError, check_choice, check_config, check_sac_only
from hyirl.learner import LoopConfig, OnlineSAC, evaluate_with_lengths, evaluation_record, restore_learner, save_learner
from hyirl.model_rollouts import (
    make_learned_rewards,
    make_model_rollout,
    make_relabel,
    refit_and_roll_out,
    sliding_window_rows,
)
from hyirl.presets import build_config, from_json
from hyirl.pretraining import pretrained_model
from hyirl.runs import RunDir, StepProgress, crossed
from hyirl.sac import SAC, NumpyPolicy, SACConfig, stored_reward
from hyirl.selection import Deployment
from hyirl.td3bc import TD3BC, TD3BCConfig, batch_mode

# HyPER runs of 0.4.0 continue exactly (0.5.0 added the model's spatial validation split, off by default;
# 0.6.0 merged AntMaze's wall blocks, the same solid with slightly different contacts; 0.6.1 initialises
# the discriminator eagerly, which a resumed run never does; 0.9.0 defers the stored rewards' recomputation,
# bitwise the same rewards), since 0.29.0 up to floating-point detail (the model's output layer).
HYPER_RUNS_READABLE_SINCE = "0.4.0"


@dataclasses.dataclass(frozen=True)
class HyPERConfig:
    env: str
    algo: str = "hyper"  # recorded in config.json, as every run's method
    seed: int = 0
    preset: str = "efficient"
    steps: int = 50_000  # real env steps, honestly counted
    eval_every: int = 10_000
    eval_episodes: int = 10
    demos: int = 64
    demos_file: str | None = None
    p_tremble: float | None = None  # None: the task's paper value
    truncated_obs: bool = False  # ant/humanoid: the paper's qpos[2:]+qvel observations
    # "reference": contacts as on the reference's MuJoCo, not as on MuJoCo >= 3.5 (envs.reference_contact_margins)
    contact_margins: str = "mujoco"
    settings: tuple[str, ...] = ()  # the --set overrides of the preset this run was made with (provenance)
    exploration_steps: int = 1_000  # stochastic-policy steps before the loop (counted here)
    epoch_length: int = 1_000  # the real env is reset at every epoch start
    act_chunk: int = 50  # real steps between fused update calls
    model_every: int = 250  # real steps between model fits
    rollouts_per_step: int = 100  # model rollouts started per real step (batched per fit)
    rollout_schedule: tuple[int, int, int, int] = (20, 100, 1, 25)  # epochs e_min, e_max -> lengths L_min, L_max
    retain_epochs: int = 1  # model transitions kept for this many epochs' worth of fits
    expert_start_prob: float = 0.5  # P(a start state comes from the expert)
    start_coin: Literal["event", "state"] = "event"  # one coin for all starts of a fit (spec §10.9) or one each
    learner_start_window: int | None = None  # learner start states from the newest N real steps (None: all)
    updates_per_step: int = 10
    update_every: int = 1  # updates_per_step SAC updates every this many real steps
    actor_lr_decay: int | None = None  # linear actor-lr decay over this many updates, reset by each disc update
    disc_every: int = 1_000  # real steps between discriminator updates
    disc_pairs: int = 4_000  # latest real learner transitions per discriminator update
    # Time constants (real steps) of exponential moving averages of the actor weights. Each average is
    # scored at every evaluation as eval_return_ema{T}; the first is the deployed policy, so it also
    # gives eval_return_mean (the latest weights then give eval_return_latest). Training never uses them.
    policy_averages: tuple[int, ...] = ()
    # lambda of an uncertainty penalty (MOPO-style, not in the paper): each model transition's reward is
    # -f(s, a) - lambda * the elites' disagreement at (s, a), against the model exploitation of §8.
    uncertainty_penalty: float = 0.0
    # N > 0: act with one actor snapshot per epoch and deploy the best of the last N epochs' snapshots,
    # judged by the learned return of their real episodes (selection.py; not in the paper).
    # It is scored as eval_return_selected, and the latest weights as eval_return_latest.
    select_epochs: int = 0
    real_capacity: int = 150_000  # hybrid and policy buffers (reference: total_env_steps)
    # AntMaze (spec §5.3, §5.6, §5.8): TD3-BC instead of SAC, on batches of half model, half dataset rows
    # relabelled by -f, BC-initialised and acting deterministically; the model pretrained on the whole
    # dataset (cached); rollout starts from the dataset in a time window sliding back over training.
    policy: Literal["sac", "td3bc"] = "sac"
    td3: TD3BCConfig = TD3BCConfig()
    # Half of each TD3 batch from the dataset (the reference's latest); False: ``td3.single_source``
    # only, and with "offline" (its first public version) the model's rollouts never reach the policy.
    td3_hybrid: bool = True
    bc_init_steps: int = 0
    # TD3 in model rollouts: tanh(mean) + N(0, noise²), clipped; AntMaze's preset has the reference's 0
    model_action_noise: float = 0.1
    expert_starts: Literal["uniform", "sliding_window"] = "uniform"
    window_span: int = 150_000  # real steps for the window to slide from the ends to the starts
    pretrain_model: bool = False
    # The reference's pretraining script reads ``patience`` from its config's root, where no key sets it,
    # so mbrl-lib's trainer stops after the first epoch in which no member improves by > 1 % (the 10 of
    # its overrides reaches the refits only); its trainer there also gets no learning-rate schedule.
    pretrain_patience: int = 1
    expert_rows: int | None = None  # the first expert rows: the hybrid buffer's start and per-step draws (None: all)
    sac: SACConfig = SACConfig()
    model: DynamicsConfig = DynamicsConfig()
    disc: DiscriminatorConfig = DiscriminatorConfig()
    checkpoint_every: int = 10_000

    def __post_init__(self):
        check_config(
            self,
            positive=(
                "steps",
                "eval_every",
                "eval_episodes",
                "demos",
                "epoch_length",
                "act_chunk",
                "model_every",
                "rollouts_per_step",
                "updates_per_step",
                "update_every",
                "disc_every",
                "disc_pairs",
                "real_capacity",
                "checkpoint_every",
                "pretrain_patience",
                "learner_start_window",
                "actor_lr_decay",
            ),
            non_negative=(
                "exploration_steps",
                "retain_epochs",
                "uncertainty_penalty",
                "select_epochs",
                "bc_init_steps",
                "model_action_noise",
                "window_span",
                "expert_rows",
            ),
            fractions=("p_tremble", "expert_start_prob"),
            problems=check_choice("start_coin", self.start_coin, ("event", "state"))
            + check_choice("contact_margins", self.contact_margins, CONTACT_MARGIN_RULES)
            + check_choice("policy", self.policy, ("sac", "td3bc"))
            + check_choice("expert_starts", self.expert_starts, ("uniform", "sliding_window"))
            + (
                ["the uncertainty penalty works with SAC's stored rewards only"]
                if self.policy == "td3bc" and self.uncertainty_penalty
                else []
            )
            + check_sac_only(
                self.policy, {"disc.absorbing": self.disc.absorbing, "sac.terminal_entropy": self.sac.terminal_entropy}
            )
            + (
                ["sac.expert_bootstrap acts on HyPE's hybrid batches; HyPER's SAC reads no expert rows"]
                if self.sac.expert_bootstrap != "policy"
                else []
            ),
        )
        self.check_multiples()

    def check_multiples(self) -> None:
        problems = [
            (self.model_every % self.act_chunk, f"model_every={self.model_every} must be a multiple of act_chunk"),
            (self.epoch_length % self.act_chunk, f"epoch_length={self.epoch_length} must be a multiple of act_chunk"),
            (self.exploration_steps % self.act_chunk, "exploration_steps must be a multiple of act_chunk"),
            (
                (self.act_chunk * self.updates_per_step) % self.update_every,
                "act_chunk * updates_per_step must be a multiple of update_every",
            ),
        ]
        for bad, message in problems:
            if bad:
                raise HyirlError(f"invalid HyPER config: {message}")

    @property
    def rollouts_per_fit(self) -> int:
        return self.rollouts_per_step * self.model_every

    def rollout_length(self, env_steps: int) -> int:
        """Truncated-linear schedule over epochs counted from 1 (spec §5.4). Its epochs leave out the
        exploration beyond its first epoch: the reference counts loop epochs only, so on AntMaze (10,000
        exploration steps) they are not ten ahead of its, and on MuJoCo (1,000) they stay as they were,
        one ahead."""
        e_min, e_max, l_min, l_max = self.rollout_schedule
        epoch = (env_steps - max(self.exploration_steps - self.epoch_length, 0)) // self.epoch_length + 1
        progress = min(max((epoch - e_min) / max(e_max - e_min, 1), 0.0), 1.0)
        return int(l_min + progress * (l_max - l_min))

    def model_window(self, length: int) -> int:
        """Capacity of the model-rollout buffer for rollout length ``length`` (spec §5.2)."""
        fits_per_epoch = math.ceil(self.epoch_length / self.model_every)
        return length * self.rollouts_per_fit * fits_per_epoch * self.retain_epochs


def train_hyper(cfg: HyPERConfig, out: Path, *, resume: bool = False, progress: bool = True) -> Path:
    """HyPER's outer loop: chunks of ``act_chunk`` real steps, each followed by the phases that are due."""
    loop = _HyPERLoop(cfg, out, resume, progress)
    learner = loop.learner
    with StepProgress(cfg.steps, f"hyper {cfg.env}", learner.env_steps, enabled=progress) as bar:
        while learner.env_steps < cfg.steps:
            before = learner.env_steps
            loop_steps = before - cfg.exploration_steps  # negative while exploring
            # the first steps explore with SAC's stochastic policy (TD3 always acts deterministically)
            learner.deterministic = loop_steps >= 0 or cfg.policy == "td3bc"
            if loop_steps >= 0 and loop_steps % cfg.epoch_length == 0:
                loop.start_epoch(loop_steps // cfg.epoch_length)
            if loop_steps >= 0 and loop_steps % cfg.model_every == 0:
                loop.refit_model_and_roll_out(on_fit_epoch=partial(_show_fit, bar))
                bar.note("")
            loop.act()
            if loop_steps >= 0 and int(loop.model_buffer.size) >= cfg.sac.batch_size:
                loop.update_policy()
            if loop_steps >= 0 and crossed(before, learner.env_steps, cfg.disc_every):
                loop.update_discriminator()
            done = learner.env_steps >= cfg.steps
            if crossed(before, learner.env_steps, cfg.eval_every) or done:
                loop.evaluate()
            if crossed(before, learner.env_steps, cfg.checkpoint_every) or done:
                loop.checkpoint()
            bar.update(learner.env_steps, loop.counters["eval_return"])
    loop.run.finish(env_steps=learner.env_steps)
    return loop.run.path


def _show_fit(bar: StepProgress, fit: dict) -> None:
    """A model fit's epochs in the progress line: the paper preset's first fit runs for an hour on a CPU."""
    bar.note(f"model fit: epoch {fit['epochs']}, held-out mse {float(np.mean(fit['best_mse'])):.4g}")


def _hyper_parts(cfg: HyPERConfig, env) -> tuple[Discriminator, SAC | TD3BC, Dynamics, OnlineSAC]:
    """The discriminator, policy optimiser, dynamics ensemble and real-env learner of a HyPER run."""
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    disc = Discriminator(obs_dim, act_dim, cfg.disc)
    if cfg.policy == "td3bc":  # every batch relabelled (half of it is dataset rows, spec §3.4)
        agent = TD3BC(obs_dim, act_dim, cfg.td3, reward_fn=disc.reward, mode=batch_mode(cfg.td3_hybrid, cfg.td3))
    else:
        # A model transition's stored reward is r = -f(s, a) of the current discriminator (plus the
        # uncertainty penalty, zero by default), kept current by update_discriminator.
        agent = SAC(obs_dim, act_dim, cfg.sac, reward_fn=stored_reward)
    loop_config = LoopConfig(cfg.real_capacity, learning_starts=0, train_freq=cfg.act_chunk)
    return disc, agent, Dynamics(obs_dim, act_dim, cfg.model), OnlineSAC(env, agent, loop_config, cfg.seed)


def _real_env(cfg: HyPERConfig):
    """One real environment of a HyPER run: its task, trembling, observation and contact rule."""
    task = with_contact_margins(get_task(cfg.env), cfg.contact_margins)
    return make_env(task, p_tremble=cfg.p_tremble, truncated_obs=cfg.truncated_obs)


class _HyPERLoop:
    """HyPER's parts and the state its phases share; each phase is one method."""

    def __init__(self, cfg: HyPERConfig, out: Path, resume: bool, progress: bool = True):
        self.cfg, self.progress = cfg, progress
        env, self.eval_env = (_real_env(cfg) for _ in range(2))
        demos = load_expert_data(cfg, env)
        self.expert = expert_buffer(demos)
        self.expert_ends = trajectory_ends(demos)
        obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
        # The hybrid buffer (the model's training data) starts with the first expert transitions, and the
        # one it gains per real step is drawn from them too (the reference's expert buffer holds only those).
        self.expert_prefix = min(int(self.expert.size), cfg.expert_rows or int(self.expert.size))
        first_rows = jnp.arange(self.expert_prefix)
        self.hybrid = buffers.insert(buffers.empty(cfg.real_capacity, obs_dim, act_dim), self.expert.batch(first_rows))
        self.disc, self.agent, self.dynamics, self.learner = _hyper_parts(cfg, env)
        self.expert_pairs = self.disc.rows(self.expert.obs, self.expert.action)
        reward_fn = self.disc.reward_fn(cfg.sac.gamma)  # -f, and with absorbing states their value at terminals
        self.learned_rewards = make_learned_rewards(reward_fn)
        self.relabel = make_relabel(reward_fn)
        self.stale_params = None  # with the uncertainty penalty: the discriminator that labelled the stale rows
        noise = cfg.model_action_noise if cfg.policy == "td3bc" else None
        self.rollout = make_model_rollout(
            self.agent, self.dynamics, model_termination(env.task), cfg.uncertainty_penalty, noise
        )
        self.model_buffer = buffers.empty(cfg.model_window(cfg.rollout_length(0)), obs_dim, act_dim)  # grows with L
        self.disc_state = self.disc.init(jax.random.PRNGKey(cfg.seed + 10_000))
        self.model_state = self.dynamics.init(jax.random.PRNGKey(cfg.seed + 20_000))
        self.rng = np.random.default_rng(cfg.seed + 30_000)  # coin flips, expert rows for the hybrid buffer, splits
        self.deployment = Deployment(self.learner.state.actor_params, cfg.select_epochs, cfg.policy_averages)
        # stale_rows: the oldest model transitions, labelled before the latest discriminator update
        self.counters = dict(updates_since_disc=0, disc_updates=0, fits=0, eval_return=None, stale_rows=0)
        self.info: dict[str, float] = {}  # the latest model fit's and discriminator update's diagnostics
        self.run = RunDir(  # only now: set-up errors leave nothing
            out,
            dataclasses.asdict(cfg),
            resume=resume,
            readable_since=HYPER_RUNS_READABLE_SINCE,
            defaults=dataclasses.asdict(HyPERConfig(cfg.env)),
        )
        if self.run.resumed:
            self._restore()
        else:
            self._initialise()

    def _initialise(self) -> None:
        """AntMaze's start (spec §5.3): the pretrained model, then TD3-BC's BC updates on the dataset."""
        cfg, learner = self.cfg, self.learner
        if cfg.pretrain_model:
            self.model_state, info = pretrained_model(
                self.dynamics,
                self.expert,
                cfg.model,
                patience=cfg.pretrain_patience,
                data_name=generated_data_name(cfg),
                progress=self.progress,
            )
            self.info.update({f"pretrain_{k}": v for k, v in info.items()})
        if cfg.bc_init_steps:
            learner.state, _ = self.agent.train_chunk(
                learner.state,
                learner.buffer,
                self.expert,
                self.disc_state.params,
                num_updates=cfg.bc_init_steps,
                mode="bc",
            )
            learner.policy = NumpyPolicy(learner.state.actor_params)

    def _trees(self) -> dict:
        return dict(disc=self.disc_state, model=self.model_state, **self.deployment.trees())

    def _restore(self) -> None:
        learner = self.learner
        meta, restored = restore_learner(learner, self.run.checkpoint_file, self._trees(), ("hybrid", "model_buffer"))
        self.disc_state, self.model_state = restored["disc"], restored["model"]
        if (acting := self.deployment.restore(restored)) is not None:
            learner.policy = NumpyPolicy(acting)
        self.hybrid, self.model_buffer = restored["hybrid"], restored["model_buffer"]
        self.counters = {"stale_rows": 0, **meta["counters"]}  # checkpoints hold no stale rows
        self.rng.bit_generator.state = meta["loop_rng"]
        self.run.truncate_metrics(learner.env_steps)

    def start_epoch(self, epoch: int) -> None:
        """The real env restarts at every epoch; with selection, one snapshot acts for the whole epoch."""
        self.learner.restart_episode()
        acting = self.deployment.start_epoch(epoch, self.learner.env_steps, self.learner.state.actor_params)
        if acting is not None:
            self.learner.policy = NumpyPolicy(acting)

    def refit_model_and_roll_out(self, on_fit_epoch=None) -> None:
        cfg = self.cfg
        label = partial(self.learned_rewards, self.disc_state.params)
        if cfg.expert_starts == "sliding_window":
            ends = self.expert_ends
            loop_steps = self.learner.env_steps - cfg.exploration_steps  # the reference's clock for the window
            expert_rows = lambda n, key: jnp.asarray(  # noqa: E731
                sliding_window_rows(ends, loop_steps, n, self.rng, span=cfg.window_span)
            )
        else:
            expert_rows = lambda n, key: buffers.sample_indices(self.expert, key, n)  # noqa: E731
        size_before = int(self.model_buffer.size)
        self.model_state, self.model_buffer, fit_info = refit_and_roll_out(
            cfg, self.dynamics, self.rollout, label, self.model_state, self.model_buffer, self.hybrid,
            self.learner, self.expert, expert_rows, self.rng, self.counters["fits"], on_fit_epoch,
        )  # fmt: skip
        self.counters["fits"] += 1
        # the new rows push out the oldest, stale ones first (a resize only grows the buffer)
        overwritten = max(0, size_before + int(fit_info["rollout_rows"]) - self.model_buffer.capacity)
        self.counters["stale_rows"] = max(0, self.counters["stale_rows"] - overwritten)
        self.info.update(fit_info)

    def act(self) -> None:
        """``act_chunk`` real steps into the policy buffer; into the hybrid buffer, each with one expert row."""
        cfg, learner = self.cfg, self.learner
        chunk = learner.rollout_chunk(cfg.act_chunk)
        learner.buffer = buffers.insert(learner.buffer, chunk)
        self.hybrid = buffers.insert(self.hybrid, chunk)
        rows = jnp.asarray(self.rng.integers(0, self.expert_prefix, cfg.act_chunk))
        self.hybrid = buffers.insert(self.hybrid, self.expert.batch(rows))

    def update_policy(self) -> None:
        """SAC on model transitions only, rewards relabelled by the current discriminator."""
        cfg, learner, counters = self.cfg, self.learner, self.counters
        num_updates = cfg.act_chunk * cfg.updates_per_step // cfg.update_every
        lr = actor_lr = cfg.sac.learning_rate
        if cfg.actor_lr_decay:  # spec §3.5: linear decay, restarted by every discriminator update
            actor_lr = lr * max(1.0 - counters["updates_since_disc"] / cfg.actor_lr_decay, 1e-8)
        if cfg.policy == "td3bc":  # model and/or dataset rows (cfg.td3_hybrid), all relabelled by -f
            learner.state, metrics = self.agent.train_chunk(
                learner.state, self.model_buffer, self.expert, self.disc_state.params, num_updates=num_updates
            )
        else:
            self._relabel_stale_rows()
            learner.state, metrics = self.agent.train_chunk(
                learner.state, self.model_buffer, None, None, lr, actor_lr, num_updates=num_updates
            )
        counters["updates_since_disc"] += num_updates
        act_now = self.deployment.after_update(learner.state.actor_params, cfg.act_chunk)
        metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
        learner.record_update(metrics, learner.state.actor_params if act_now else None)

    def update_discriminator(self) -> None:
        """One update on the newest real learner transitions vs expert pairs (no extra interaction); the
        model transitions' stored rewards become stale, to be recomputed before SAC reads them."""
        cfg, learner = self.cfg, self.learner
        # A fixed row count (disc_pairs, twice that with absorbing rows) keeps one compiled update, where a
        # growing buffer recompiled it at every update of a run's first disc_pairs steps.
        newest = buffers.recent_indices(learner.buffer, min(cfg.disc_pairs, int(learner.buffer.size)))
        learner_pairs, count = self.disc.learner_rows(
            self.disc.rows(learner.buffer.obs[newest], learner.buffer.action[newest]),
            int(learner.buffer.terminal[newest].sum()),
            cfg.disc_pairs * (2 if cfg.disc.absorbing else 1),
        )
        key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), self.counters["disc_updates"])
        self._relabel_stale_rows()  # so that stale rows are never two updates behind
        if cfg.uncertainty_penalty:  # the update donates its state: keep what the penalty's relabel needs
            self.stale_params = jax.tree.map(jnp.copy, self.disc_state.params)
        self.disc_state, metrics = self.disc.update(
            self.disc_state, self.expert_pairs, learner_pairs, key, num_learner=count
        )
        if cfg.policy == "sac":  # TD3-BC relabels every batch instead
            self.counters["stale_rows"] = int(self.model_buffer.size)
        self.info.update({f"disc_{k}": float(v) for k, v in jax.device_get(metrics).items()})
        if not all(map(math.isfinite, self.info.values())):
            raise HyirlError(f"non-finite discriminator loss at env step {learner.env_steps}: {self.info}")
        self.counters["disc_updates"] += 1
        if cfg.actor_lr_decay and cfg.policy == "sac":  # the reference re-creates its optimisers here (spec §3.5)
            self.counters["updates_since_disc"] = 0
            learner.state = learner.state.replace(
                actor_opt=self.agent.tx.init(learner.state.actor_params),
                critic_opt=self.agent.tx.init(learner.state.critic_params),
            )

    def evaluate(self) -> None:
        """Score every deployable policy (the deployed one first) and log one record."""
        cfg, learner = self.cfg, self.learner
        reward = partial(self.disc.reward, self.disc_state.params)
        candidates, selection_info = self.deployment.candidates(
            learner.state.actor_params, learner.buffer, learner.env_steps, cfg.epoch_length, reward
        )
        scores = {}
        for i, (name, params) in enumerate(candidates.items()):
            returns, lengths = evaluate_with_lengths(
                NumpyPolicy(params), self.eval_env, cfg.eval_episodes, seed=1_000_000 + cfg.seed * 1000
            )
            if i == 0:
                scores.update(evaluation_record(self.eval_env.task, returns, lengths))
            if len(candidates) > 1:
                scores[f"eval_return_{name}"] = float(returns.mean())
        self.counters["eval_return"] = scores["eval_return_mean"]
        self.run.log(
            dict(
                env_steps=learner.env_steps,
                **scores,
                rollout_length=cfg.rollout_length(learner.env_steps),
                model_buffer_size=int(self.model_buffer.size),
                **selection_info,
                **self.info,
                **learner.last_metrics,
            )
        )

    def _relabel_stale_rows(self) -> None:
        """Recompute the rewards of the rows labelled before the latest discriminator update. Deferred to
        here (SAC's next read, a checkpoint) because a model event due right after the update overwrites
        the oldest rows first: with the efficient preset's timing, half of them."""
        if self.counters["stale_rows"]:
            self.model_buffer = self.relabel(
                self.model_buffer, self.disc_state.params, self.counters["stale_rows"], self.stale_params
            )
            self.counters["stale_rows"] = 0

    def checkpoint(self) -> None:
        self._relabel_stale_rows()  # a checkpoint holds current rewards only
        save_learner(
            self.learner,
            self.run.checkpoint_file,
            dict(counters=self.counters, loop_rng=self.rng.bit_generator.state),
            extra_trees=self._trees(),
            extra_buffers=dict(hybrid=self.hybrid, model_buffer=self.model_buffer),
        )


@dataclasses.dataclass
class SavedHyPERRun:
    """A HyPER run rebuilt from its last checkpoint, for analysis (see :func:`load_hyper_run`)."""

    cfg: HyPERConfig
    learner: OnlineSAC  # the real env where the run left it, the replay buffer and the latest weights
    disc: Discriminator
    disc_state: DiscriminatorState
    dynamics: Dynamics
    model_state: DynamicsState
    deployed_params: Any  # the actor the run's evaluation scores as eval_return_mean


def load_hyper_run(run_dir: Path, checkpoint: Path | None = None) -> SavedHyPERRun:
    """Read a HyPER run directory's config and last checkpoint; nothing in the directory changes.

    ``checkpoint`` reads another of the run's checkpoints (a copy kept at an earlier step) instead."""
    run_dir = Path(run_dir)
    config_file = run_dir / "config.json"
    checkpoint_file = Path(checkpoint) if checkpoint is not None else run_dir / "checkpoints" / "learner.npz"
    if not config_file.is_file():
        raise HyirlError(f"{run_dir} holds no HyPER run (needs config.json)")
    if not checkpoint_file.is_file():
        raise HyirlError(f"no HyPER checkpoint at {checkpoint_file}")
    saved = from_json(json.loads(config_file.read_text()))
    if saved.get("algo") != "hyper":
        raise HyirlError(f"{run_dir} is a {saved.get('algo')} run, not a HyPER run")
    cfg = build_config(HyPERConfig, saved, {})
    env = _real_env(cfg)
    disc, _, dynamics, learner = _hyper_parts(cfg, env)
    deployment = Deployment(learner.state.actor_params, cfg.select_epochs, cfg.policy_averages)
    key = jax.random.PRNGKey(0)  # the templates' values are all overwritten
    templates = dict(disc=disc.init(key), model=dynamics.init(key), **deployment.trees())
    _, restored = restore_learner(learner, checkpoint_file, templates)
    deployment.restore(restored)
    reward = partial(disc.reward, restored["disc"].params)
    candidates, _ = deployment.candidates(
        learner.state.actor_params, learner.buffer, learner.env_steps, cfg.epoch_length, reward
    )
    deployed = next(iter(candidates.values()))
    return SavedHyPERRun(cfg, learner, disc, restored["disc"], dynamics, restored["model"], deployed)
