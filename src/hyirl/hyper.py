"""HyPER: model-based hybrid IRL (spec §5).

Per real step (in chunks of ``act_chunk`` steps):

1. act in the real env with the deterministic policy (trembling applied); the transition goes to the
   policy buffer and, with one uniformly drawn expert transition, to the hybrid buffer;
2. every ``model_every`` steps: refit the dynamics ensemble on the hybrid buffer, then roll the
   stochastic policy out in the model for L steps from a batch of start states that come, by one coin
   flip per event, all from the expert's states or all from the learner's real states;
3. ``updates_per_step`` SAC updates on model transitions only, rewards relabelled by r = -f;
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
import math
from functools import partial
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hyirl import buffers, selection
from hyirl.demos import expert_buffer, load_expert_data
from hyirl.discriminator import Discriminator, DiscriminatorConfig
from hyirl.dynamics import Dynamics, DynamicsConfig
from hyirl.envs import get_task, make_env, model_termination
from hyirl.errors import HyirlError, check_choice, check_config
from hyirl.learner import LoopConfig, OnlineSAC, evaluate, restore_learner, save_learner
from hyirl.networks import sample_tanh_gaussian
from hyirl.runs import RunDir, StepProgress, crossed
from hyirl.sac import SAC, NumpyPolicy, SACConfig


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
                "learner_start_window",
                "actor_lr_decay",
            ),
            non_negative=("exploration_steps", "retain_epochs", "uncertainty_penalty", "select_epochs"),
            fractions=("p_tremble", "expert_start_prob"),
            problems=check_choice("start_coin", self.start_coin, ("event", "state")),
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
        """Truncated-linear schedule over epochs counted from 1 (spec §5.4)."""
        e_min, e_max, l_min, l_max = self.rollout_schedule
        progress = min(max((env_steps // self.epoch_length + 1 - e_min) / max(e_max - e_min, 1), 0.0), 1.0)
        return int(l_min + progress * (l_max - l_min))

    def model_window(self, length: int) -> int:
        """Capacity of the model-rollout buffer for rollout length ``length`` (spec §5.2)."""
        fits_per_epoch = math.ceil(self.epoch_length / self.model_every)
        return length * self.rollouts_per_fit * fits_per_epoch * self.retain_epochs


def make_model_rollout(agent: SAC, dynamics: Dynamics, done_fn, uncertainty_penalty: float = 0.0):
    """Compiled L-step rollouts of the stochastic policy in the model; rows after a terminal are masked.
    A transition's reward field holds its uncertainty penalty; the discriminator's reward is added at update time."""

    @partial(jax.jit, static_argnames="length")
    def rollout(model_state, actor_params, start_obs, key, *, length: int):
        def step(carry, key):
            obs, alive = carry
            k_act, k_model = jax.random.split(key)
            action, _ = sample_tanh_gaussian(*agent.actor.apply(actor_params, obs), k_act)
            next_obs = dynamics.sample_next(model_state, obs, action, k_model)
            done = done_fn(next_obs)
            next_obs = jnp.where(jnp.isfinite(next_obs), next_obs, 0.0)  # keeps 0 * NaN out of the targets
            penalty = jnp.zeros(len(obs))
            if uncertainty_penalty:
                penalty = -uncertainty_penalty * dynamics.disagreement(model_state, obs, action)
            transition = dict(
                obs=obs, action=action, next_obs=next_obs, reward=penalty, terminal=done.astype(jnp.float32)
            )
            return (next_obs, alive & ~done), (transition, alive)

        alive = jnp.ones(start_obs.shape[0], bool)
        _, (steps, valid) = jax.lax.scan(step, (start_obs, alive), jax.random.split(key, length))
        flat = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), steps)
        return flat, valid.reshape(-1)

    return rollout


def train_hyper(cfg: HyPERConfig, out: Path, *, resume: bool = False, progress: bool = True) -> Path:
    task = get_task(cfg.env)
    env = make_env(task, p_tremble=cfg.p_tremble, truncated_obs=cfg.truncated_obs)
    demos = load_expert_data(cfg, env)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    expert = expert_buffer(demos)
    expert_pairs = jnp.concatenate([expert.obs, expert.action], -1)
    # The hybrid buffer (the model's training data) starts with the expert transitions.
    hybrid = buffers.insert(
        buffers.empty(cfg.real_capacity, obs_dim, act_dim), expert.batch(jnp.arange(int(expert.size)))
    )

    disc = Discriminator(obs_dim, act_dim, cfg.disc)
    # r = -f(s, a) plus the penalty that model transitions carry in their reward field (zero by default).
    agent = SAC(obs_dim, act_dim, cfg.sac, reward_fn=lambda params, batch: disc.reward(params, batch) + batch["reward"])
    dynamics = Dynamics(obs_dim, act_dim, cfg.model)
    rollout = make_model_rollout(agent, dynamics, model_termination(task), cfg.uncertainty_penalty)
    learner = OnlineSAC(
        env, agent, LoopConfig(cfg.real_capacity, learning_starts=0, train_freq=cfg.act_chunk), cfg.seed
    )
    model_buffer = buffers.empty(cfg.model_window(cfg.rollout_length(0)), obs_dim, act_dim)  # grows with L
    disc_state = disc.init(jax.random.PRNGKey(cfg.seed + 10_000))
    model_state = dynamics.init(jax.random.PRNGKey(cfg.seed + 20_000))
    rng = np.random.default_rng(cfg.seed + 30_000)  # coin flips, expert rows for the hybrid buffer, model splits
    eval_env = make_env(task, p_tremble=cfg.p_tremble, truncated_obs=cfg.truncated_obs)

    run = RunDir(out, dataclasses.asdict(cfg), resume=resume)
    counters = dict(updates_since_disc=0, disc_updates=0, fits=0, eval_return=None)
    averages = {f"ema{t}": jax.tree.map(jnp.copy, learner.state.actor_params) for t in cfg.policy_averages}
    snapshots = selection.empty(learner.state.actor_params, cfg.select_epochs) if cfg.select_epochs else {}
    trees = lambda: dict(disc=disc_state, model=model_state, averages=averages, snapshots=snapshots)  # noqa: E731
    if run.resumed:
        meta, restored = restore_learner(learner, run.checkpoint_file, trees(), ("hybrid", "model_buffer"))
        disc_state, model_state, averages = restored["disc"], restored["model"], restored["averages"]
        snapshots = restored["snapshots"]
        if cfg.select_epochs and (acting := selection.newest(snapshots)) is not None:
            learner.policy = NumpyPolicy(acting)
        hybrid, model_buffer = restored["hybrid"], restored["model_buffer"]
        counters = meta["counters"]
        rng.bit_generator.state = meta["loop_rng"]
        run.truncate_metrics(learner.env_steps)

    info: dict[str, float] = {}
    with StepProgress(cfg.steps, f"hyper {task.name}", learner.env_steps, enabled=progress) as bar:
        while learner.env_steps < cfg.steps:
            before = learner.env_steps
            loop_steps = before - cfg.exploration_steps
            learner.deterministic = loop_steps >= 0  # the first steps explore with the stochastic policy
            if loop_steps >= 0 and loop_steps % cfg.epoch_length == 0:
                learner.restart_episode()
                if cfg.select_epochs:  # one snapshot acts for the whole epoch, so its first episode scores it
                    epoch = loop_steps // cfg.epoch_length
                    snapshots = selection.store(snapshots, epoch, learner.env_steps, learner.state.actor_params)
                    learner.policy = NumpyPolicy(learner.state.actor_params)
            if loop_steps >= 0 and loop_steps % cfg.model_every == 0:
                model_state, model_buffer, fit_info = _refit_and_roll_out(
                    cfg, dynamics, rollout, model_state, model_buffer, hybrid, learner, expert, rng, counters["fits"]
                )
                counters["fits"] += 1
                info.update(fit_info)

            chunk = learner.rollout_chunk(cfg.act_chunk)
            learner.buffer = buffers.insert(learner.buffer, chunk)
            hybrid = buffers.insert(hybrid, chunk)
            hybrid = buffers.insert(hybrid, expert.batch(jnp.asarray(rng.integers(0, int(expert.size), cfg.act_chunk))))

            if loop_steps >= 0 and int(model_buffer.size) >= cfg.sac.batch_size:
                num_updates = cfg.act_chunk * cfg.updates_per_step // cfg.update_every
                lr = cfg.sac.learning_rate
                actor_lr = lr
                if cfg.actor_lr_decay:  # spec §3.5: linear decay, restarted by every discriminator update
                    actor_lr = lr * max(1.0 - counters["updates_since_disc"] / cfg.actor_lr_decay, 1e-8)
                learner.state, metrics = agent.train_chunk(
                    learner.state, model_buffer, None, disc_state.params, lr, actor_lr, num_updates=num_updates
                )
                counters["updates_since_disc"] += num_updates
                averages = _average_in(averages, learner.state.actor_params, cfg.act_chunk, cfg.policy_averages)
                learner.record_update(
                    {k: float(v) for k, v in jax.device_get(metrics).items()},
                    None if cfg.select_epochs else learner.state.actor_params,
                )

            if loop_steps >= 0 and crossed(before, learner.env_steps, cfg.disc_every):
                n = min(cfg.disc_pairs, int(learner.buffer.size))
                key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), counters["disc_updates"])
                disc_state, disc_metrics = disc.update(
                    disc_state, expert_pairs, buffers.recent_pairs(learner.buffer, n), key
                )
                info.update({f"disc_{k}": float(v) for k, v in jax.device_get(disc_metrics).items()})
                if not all(map(math.isfinite, info.values())):
                    raise HyirlError(f"non-finite discriminator loss at env step {learner.env_steps}: {info}")
                counters["disc_updates"] += 1
                if cfg.actor_lr_decay:  # the reference re-creates its optimisers here (spec §3.5)
                    counters["updates_since_disc"] = 0
                    learner.state = learner.state.replace(
                        actor_opt=agent.tx.init(learner.state.actor_params),
                        critic_opt=agent.tx.init(learner.state.critic_params),
                    )

            done = learner.env_steps >= cfg.steps
            if crossed(before, learner.env_steps, cfg.eval_every) or done:
                selected, selection_info = _select(cfg, disc, disc_state, snapshots, learner)
                scores = _evaluate_policies(cfg, learner, averages, selected, eval_env)
                counters["eval_return"] = scores["eval_return_mean"]
                run.log(
                    dict(
                        env_steps=learner.env_steps,
                        **scores,
                        rollout_length=cfg.rollout_length(learner.env_steps),
                        model_buffer_size=int(model_buffer.size),
                        **selection_info,
                        **info,
                        **learner.last_metrics,
                    )
                )
            if crossed(before, learner.env_steps, cfg.checkpoint_every) or done:
                save_learner(
                    learner,
                    run.checkpoint_file,
                    dict(counters=counters, loop_rng=rng.bit_generator.state),
                    extra_trees=trees(),
                    extra_buffers=dict(hybrid=hybrid, model_buffer=model_buffer),
                )
            bar.update(learner.env_steps, counters["eval_return"])
    run.finish(env_steps=learner.env_steps)
    return run.path


def _refit_and_roll_out(cfg, dynamics, rollout, model_state, model_buffer, hybrid, learner, expert, rng, fit_index):
    """One model event: fit the ensemble on the hybrid buffer, then fill the model buffer with rollouts."""
    model_state, info = dynamics.fit(model_state, hybrid, rng, first=fit_index == 0)
    key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed + 40_000), fit_index)
    k_start, k_roll = jax.random.split(key)
    n, window = cfg.rollouts_per_fit, cfg.learner_start_window
    if cfg.start_coin == "event":  # the reference: all starts from one source, chosen per event (spec §10.9)
        from_expert = rng.random() < cfg.expert_start_prob
        source, newest = (expert, None) if from_expert else (learner.buffer, window)
        start_obs = source.obs[buffers.sample_indices(source, k_start, n, newest)]
    else:  # a coin per start state: every fit holds the same expert/learner mix
        k_expert, k_learner, k_coin = jax.random.split(k_start, 3)
        from_expert = jax.random.uniform(k_coin, (n, 1)) < cfg.expert_start_prob
        start_obs = jnp.where(
            from_expert,
            expert.obs[buffers.sample_indices(expert, k_expert, n)],
            learner.buffer.obs[buffers.sample_indices(learner.buffer, k_learner, n, window)],
        )
    length = cfg.rollout_length(learner.env_steps)
    transitions, valid = rollout(model_state, learner.state.actor_params, start_obs, k_roll, length=length)
    if cfg.model_window(length) > model_buffer.capacity:  # L grew: keep more transitions (spec §5.2)
        model_buffer = buffers.resize(model_buffer, cfg.model_window(length))
    model_buffer = buffers.insert(model_buffer, transitions, valid)
    info.update(rollout_from_expert=float(jnp.mean(from_expert)), rollout_kept=float(valid.mean()))
    return model_state, model_buffer, info


def _average_in(averages: dict, actor_params, real_steps: int, time_constants: tuple[int, ...]) -> dict:
    """Moves each EMA ``ema{T}`` of the actor weights towards ``actor_params`` by ``real_steps`` steps."""
    return {
        f"ema{t}": optax.incremental_update(actor_params, averages[f"ema{t}"], 1.0 - math.exp(-real_steps / t))
        for t in time_constants
    }


def _select(cfg: HyPERConfig, disc, disc_state, snapshots: dict, learner: OnlineSAC):
    """The selected snapshot (None without selection) and how it was chosen."""
    if not cfg.select_epochs:
        return None, {}
    lengths, returns = selection.episode_scores(
        snapshots, learner.buffer, learner.env_steps, cfg.epoch_length, partial(disc.reward, disc_state.params)
    )
    slot = selection.best_slot(returns)
    if slot is None:  # no epoch is over yet
        return learner.state.actor_params, {}
    age = learner.env_steps - int(snapshots["start"][slot])
    info = dict(selected_age=age, selected_episode_length=int(lengths[slot]), selected_learned_return=returns[slot])
    return selection.snapshot(snapshots, slot), {k: float(v) for k, v in info.items()}


def _evaluate_policies(cfg: HyPERConfig, learner: OnlineSAC, averages: dict, selected, eval_env) -> dict[str, float]:
    """Evaluation scores: the deployed policy's (eval_return_mean/std), then every other policy's mean."""
    candidates = {"selected": NumpyPolicy(selected)} if selected is not None else {}
    candidates.update({f"ema{t}": NumpyPolicy(averages[f"ema{t}"]) for t in cfg.policy_averages})
    candidates["latest"] = NumpyPolicy(learner.state.actor_params)  # not learner.policy: a snapshot may act
    deployed = next(iter(candidates))
    scores = {}
    for name, policy in candidates.items():
        returns = evaluate(policy, eval_env, cfg.eval_episodes, seed=1_000_000 + cfg.seed * 1000)
        if name == deployed:
            scores.update(eval_return_mean=float(returns.mean()), eval_return_std=float(returns.std()))
        if len(candidates) > 1:
            scores[f"eval_return_{name}"] = float(returns.mean())
    return scores
