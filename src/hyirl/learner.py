"""Online SAC in a real environment: act for a chunk of steps, then one fused update per chunk.

Used for expert training (true reward) and, with a reward function and optional expert buffer, by
every model-free IRL method. Every real step goes through :meth:`OnlineSAC.collect` and is counted.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers, checkpoint
from hyirl.envs import TaskEnv
from hyirl.errors import HyirlError, check_config
from hyirl.sac import SAC, NumpyPolicy, SACState


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    buffer_size: int = 1_000_000
    learning_starts: int = 10_000  # uniformly random actions before the first update
    train_freq: int = 64  # env steps per chunk; the chunk is followed by as many gradient steps

    def __post_init__(self):
        check_config(self, positive=("buffer_size", "train_freq"), non_negative=("learning_starts",))


class OnlineSAC:
    """A SAC agent, its replay buffer and its environment, stepping in chunks of ``train_freq``."""

    def __init__(self, env: TaskEnv, agent: SAC, loop: LoopConfig, seed: int, expert_buffer=None):
        self.env, self.agent, self.loop = env, agent, loop
        obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
        self.state: SACState = agent.init(jax.random.PRNGKey(seed))
        self.buffer = buffers.empty(loop.buffer_size, obs_dim, act_dim)
        self.expert_buffer = expert_buffer
        self.rng = np.random.default_rng(seed)
        self.policy = NumpyPolicy(self.state.actor_params)
        self.env_steps = 0
        self.warmup_until = loop.learning_starts  # uniformly random actions and no updates before this step
        self.refill_until = 0  # no updates before this step while a restored learner refills its buffer
        self.deterministic = False  # act with the mean action (HyPER's real-env acting, spec §10.14)
        self.obs, _ = env.reset(seed=seed)
        self.episode_return = 0.0
        self.finished_returns: list[float] = []  # true returns of finished training episodes
        self.last_metrics: dict[str, float] = {}

    def restart_episode(self, warmup: int = 0) -> None:
        """Start a fresh episode (dropping the unfinished one) with ``warmup`` random steps, as SB3 0.8's
        ``learn()`` does at every call (spec §3.1)."""
        self.obs, _ = self.env.reset()
        self.episode_return = 0.0
        self.warmup_until = self.env_steps + warmup

    def act(self, obs) -> np.ndarray:
        if self.env_steps < self.warmup_until:
            return self.rng.uniform(-1.0, 1.0, self.policy.act_dim)
        if self.deterministic:
            return self.policy(obs)
        return self.policy(obs, noise=self.rng.standard_normal(self.policy.act_dim))

    def collect(self, n_steps: int, reward_params: Any = None, learning_rate: float | None = None) -> None:
        """Take ``n_steps`` real steps (a multiple of ``train_freq``), training after every chunk."""
        freq = self.loop.train_freq
        if n_steps % freq:
            raise ValueError(f"n_steps={n_steps} must be a multiple of train_freq={freq}")
        lr = self.agent.cfg.learning_rate if learning_rate is None else learning_rate
        for _ in range(n_steps // freq):
            chunk = self.rollout_chunk(freq)
            self.buffer = buffers.insert(self.buffer, chunk)
            if self.env_steps >= max(self.warmup_until, self.refill_until):
                self.state, metrics = self.agent.train_chunk(
                    self.state, self.buffer, self.expert_buffer, reward_params, lr, num_updates=freq
                )
                self.record_update({k: float(v) for k, v in jax.device_get(metrics).items()}, self.state.actor_params)

    def record_update(self, metrics: dict[str, float], actor_params) -> None:
        """After an update: keep its metrics (refusing non-finite ones) and act with the new actor
        (``actor_params`` None: keep acting with the current one)."""
        if not all(map(np.isfinite, metrics.values())):
            raise HyirlError(f"non-finite SAC loss at env step {self.env_steps}: {metrics}")
        self.last_metrics = metrics
        if actor_params is not None:
            self.policy = NumpyPolicy(actor_params)

    def rollout_chunk(self, n: int) -> dict[str, jax.Array]:
        """Take ``n`` real steps with :meth:`act` (resetting at episode ends); returns the transitions."""
        env = self.env
        obs_dim, act_dim = env.observation_space.shape[0], self.policy.act_dim
        chunk = dict(
            obs=np.empty((n, obs_dim)),
            action=np.empty((n, act_dim)),
            next_obs=np.empty((n, obs_dim)),
            reward=np.empty(n),
            terminal=np.empty(n),
        )
        for i in range(n):
            action = self.act(self.obs)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            chunk["obs"][i], chunk["action"][i], chunk["next_obs"][i] = self.obs, action, next_obs
            chunk["reward"][i], chunk["terminal"][i] = reward, float(terminated)
            self.episode_return += reward
            self.env_steps += 1
            if terminated or truncated:
                self.finished_returns.append(self.episode_return)
                self.episode_return = 0.0
                next_obs, _ = env.reset()
            self.obs = next_obs
        return {k: jnp.asarray(v, jnp.float32) for k, v in chunk.items()}


def episode(env: TaskEnv, act, seed: int | None = None):
    """Run one episode with ``act(obs) -> action``; yields (obs, action, reward) for every step."""
    obs, _ = env.reset(seed=seed)
    done = False
    while not done:
        action = act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        yield obs, action, reward
        obs, done = next_obs, terminated or truncated


def evaluate(policy: NumpyPolicy, env: TaskEnv, episodes: int, seed: int) -> np.ndarray:
    """Returns of ``episodes`` deterministic-policy episodes (true reward), seeds seed, seed+1, ..."""
    return evaluate_with_lengths(policy, env, episodes, seed)[0]


def evaluation_record(task, returns: np.ndarray, lengths: np.ndarray) -> dict:
    """What a run logs of an evaluation: the returns' mean and std, the mean episode length (an episode
    ended early shows there, not only in the return) and, on a task scored by success (AntMaze: return 1
    when the goal is reached), the success rate in %."""
    record = dict(
        eval_return_mean=float(returns.mean()),
        eval_return_std=float(returns.std()),
        eval_length_mean=float(lengths.mean()),
    )
    if task.success_task:
        record["eval_success_pct"] = 100.0 * float(np.mean(returns > 0))
    return record


def evaluate_with_lengths(policy: NumpyPolicy, env: TaskEnv, episodes: int, seed: int):
    """Like :func:`evaluate`, plus each episode's length."""
    rewards = [[r for *_, r in episode(env, policy, seed + i)] for i in range(episodes)]
    return np.array([sum(r) for r in rewards]), np.array([len(r) for r in rewards])


def save_learner(
    learner: OnlineSAC,
    path,
    extra_meta: dict | None = None,
    extra_trees: dict | None = None,
    extra_buffers: dict[str, buffers.Buffer] | None = None,
    sac_state: SACState | None = None,
    buffer: buffers.Buffer | None = None,
    with_buffer: bool = True,
) -> None:
    """Everything needed to continue bit-exactly: SAC state, replay buffer, RNGs, env state, counters
    (plus ``extra_trees``, e.g. the discriminator, and ``extra_buffers``, in the same atomic file).
    ``sac_state`` and ``buffer`` default to the learner's own (a :class:`SeedGroup` passes its slices).
    ``with_buffer=False`` leaves the replay buffer out: a portable checkpoint of a few MB, continued by
    :func:`restore_learner` after refilling the buffer."""
    sac_state = learner.state if sac_state is None else sac_state
    buffer = learner.buffer if buffer is None else buffer
    arrays = {f"state/{k}": v for k, v in checkpoint.flatten(sac_state).items()}
    for name, tree in (extra_trees or {}).items():
        arrays.update({f"{name}/{k}": v for k, v in checkpoint.flatten(tree).items()})
    for name, extra in (extra_buffers or {}).items():
        arrays.update({f"{name}/{k}": v for k, v in buffers.to_numpy(extra).items()})
    if with_buffer:
        arrays.update({f"buffer/{k}": v for k, v in buffers.to_numpy(buffer).items()})
    arrays.update({f"env/{k}": v for k, v in learner.env.get_state().items()})
    arrays["env/obs"] = np.asarray(learner.obs)
    meta = dict(
        env_steps=learner.env_steps,
        warmup_until=learner.warmup_until,
        refill_until=learner.refill_until,
        env_t=learner.env.t,
        episode_return=learner.episode_return,
        finished_returns=learner.finished_returns,
        last_metrics=learner.last_metrics,
        rng=learner.rng.bit_generator.state,
        env_rng=learner.env.np_random.bit_generator.state,
        **(extra_meta or {}),
    )
    checkpoint.save_npz(path, arrays, meta)


def restore_learner(
    learner: OnlineSAC, path, extra_trees: dict | None = None, extra_buffers: tuple[str, ...] = ()
) -> tuple[dict, dict]:
    """Load a :func:`save_learner` checkpoint into a freshly built learner.

    Returns its metadata and the extras: ``extra_trees`` restored into the given templates and the
    buffers named in ``extra_buffers``. From a checkpoint without the replay buffer, the learner
    first refills its empty buffer with ``learning_starts`` steps of its current policy, without
    updates: it continues from where it was, though not bit-exactly."""
    arrays, meta = checkpoint.load_npz(path, "checkpoint")
    part = partial(checkpoint.part, arrays)
    extras = {name: checkpoint.unflatten(tree, part(f"{name}/")) for name, tree in (extra_trees or {}).items()}
    for name in extra_buffers:
        if not part(f"{name}/"):
            raise HyirlError(f"checkpoint does not match this run: buffer {name!r} is missing")
        extras[name] = buffers.from_numpy(part(f"{name}/"))
    learner.state = checkpoint.unflatten(learner.state, part("state/"))
    learner.refill_until = meta.get("refill_until", 0)
    if part("buffer/"):
        learner.buffer = buffers.from_numpy(part("buffer/"))
    else:
        learner.refill_until = meta["env_steps"] + learner.loop.learning_starts
    env_state = part("env/")
    learner.obs = env_state.pop("obs")
    learner.env.reset_to_state(t=meta["env_t"], **env_state)
    learner.env.np_random.bit_generator.state = meta["env_rng"]
    learner.rng.bit_generator.state = meta["rng"]
    learner.env_steps, learner.episode_return = meta["env_steps"], meta["episode_return"]
    learner.warmup_until = meta.get("warmup_until", learner.loop.learning_starts)
    learner.finished_returns, learner.last_metrics = meta["finished_returns"], meta["last_metrics"]
    learner.policy = NumpyPolicy(learner.state.actor_params)
    return meta, extras


def stack(trees: list) -> Any:
    """One pytree with a leading seed axis from a list of like-shaped pytrees."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def unstack(tree: Any, i: int) -> Any:
    return jax.tree.map(lambda leaf: leaf[i], tree)


def _on_only_seed(update):
    """``update`` applied to seed-stacked arguments that hold one seed: what the vmap computes, unbatched."""

    def one(state, buffer, expert_buffer, reward_params, learning_rate):
        out = update(unstack(state, 0), unstack(buffer, 0), expert_buffer, unstack(reward_params, 0), learning_rate)
        return stack([out])

    return one


class SeedGroup:
    """Several seeds trained in one process: each learner acts in its own environment on the host,
    and all their SAC updates run as one compiled call vmapped over seeds.

    The group owns the SAC states and replay buffers, stacked over seeds: it takes them from the
    learners when it is built (after any restore) and the learners keep only acting (environment,
    policy, counters). :meth:`save` checkpoints one seed exactly as a single run would. With one seed
    this is ordinary training.
    """

    def __init__(self, learners: list[OnlineSAC], expert_buffer=None):
        self.learners = learners
        self.state: SACState = stack([learner.state for learner in learners])
        self.buffer = stack([learner.buffer for learner in learners])
        for learner in learners:  # from here on the stacked copies are the only ones
            learner.state = learner.buffer = None
        self.expert_buffer = expert_buffer
        freq = learners[0].loop.train_freq
        agent = learners[0].agent
        update = partial(agent._train_chunk, num_updates=freq)
        # vmap over a single seed costs ~13 % per update on CPU (batched matmuls of batch size 1).
        batched = jax.vmap(update, in_axes=(0, 0, None, 0, None)) if len(learners) > 1 else _on_only_seed(update)
        self._train = jax.jit(batched, donate_argnums=0)
        self._insert = jax.jit(jax.vmap(buffers.insert), donate_argnums=0)

    def collect(self, n_steps: int, reward_params: Any, learning_rate: float) -> None:
        """``n_steps`` real steps per seed; after every chunk, one vmapped fused update.
        ``reward_params`` has a leading seed axis (one discriminator per seed)."""
        freq = self.learners[0].loop.train_freq
        for _ in range(n_steps // freq):
            chunks = [learner.rollout_chunk(freq) for learner in self.learners]
            self.buffer = self._insert(self.buffer, stack(chunks))
            lead = self.learners[0]  # all seeds share the step count and warm-up schedule
            if lead.env_steps < lead.warmup_until:
                continue
            self.state, metrics = self._train(self.state, self.buffer, self.expert_buffer, reward_params, learning_rate)
            metrics = jax.device_get(metrics)
            for i, learner in enumerate(self.learners):
                learner.record_update({k: float(v[i]) for k, v in metrics.items()}, unstack(self.state.actor_params, i))

    def save(self, i: int, path, extra_meta: dict, extra_trees: dict) -> None:
        """Checkpoint seed ``i`` alone (its slice of the stacked state and buffer), like a single run."""
        state, buffer = unstack(self.state, i), unstack(self.buffer, i)
        save_learner(self.learners[i], path, extra_meta, extra_trees, sac_state=state, buffer=buffer)
