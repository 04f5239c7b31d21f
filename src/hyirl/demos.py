"""Expert demonstrations: generation from a policy, a documented ``.npz`` format, validation, cache.

Format (one row per transition, trajectories stored back to back, each ``horizon`` rows long):

==================  ==============  =====================================================================
key                 shape           meaning
==================  ==============  =====================================================================
observations        (N, obs_dim)    observation before the step
actions             (N, act_dim)    expert action, normalised to [-1, 1]
next_observations   (N, obs_dim)    observation after the step
rewards             (N,)            true env reward (never shown to a learner)
terminals           (N,)            True where the task's episode ends with the step (see below)
timeouts            (N,)            True on the last step of each trajectory
seed                (N,)            int64 reset seed of the row's episode
timestep            (N,)            time index t within the episode
qpos, qvel          (N, nq), (N,nv) simulator state before the step (for resets, spec §4)
qacc_warmstart      (N, nv)         MuJoCo solver warm start (makes replays bit-exact); absent otherwise
==================  ==============  =====================================================================

Only episodes that reach the time limit are kept, as in the paper (spec §7); the episode seed keeps
incrementing over discarded episodes, and no kept MuJoCo row is terminal. AntMaze data (rows with a
``goal``) gets D4RL's terminal flag on loading, whatever its source (:func:`goal_terminals`): every row
whose next position lies within 0.5 m of the *evaluation* task's goal, as D4RL's released files were
relabelled, whatever goal the row's own episode drove to. The reference's learners read the flags
(docs/antmaze.md, "The goal's terminal flag").
Metadata (env, policy, returns) is stored as JSON in the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from hyirl import antmaze_data, buffers, checkpoint, datasets
from hyirl.antmaze import EVAL_GOAL, SUCCESS_RADIUS, GoalReacher, MazeGrid
from hyirl.envs import TaskEnv, leaves_out_contact_forces, make_env
from hyirl.errors import HyirlError
from hyirl.experts import check_policy_fits, load_policy, shipped_policy_path
from hyirl.sac import NumpyPolicy

REQUIRED = (
    "observations",
    "actions",
    "next_observations",
    "rewards",
    "terminals",
    "timeouts",
    "seed",
    "timestep",
    "qpos",
    "qvel",
)


def rollout_demos(
    policy: NumpyPolicy, env: TaskEnv, n_trajectories: int, first_seed: int = 0, max_attempts_factor: int = 5
) -> dict[str, np.ndarray]:
    """Deterministic expert rollouts without noise; keeps full-length episodes only."""
    if env.p_tremble:
        raise ValueError("demonstrations are collected without trembling noise (spec §7)")
    kept: list[dict[str, np.ndarray]] = []
    seed = first_seed
    while len(kept) < n_trajectories:
        if seed - first_seed >= max_attempts_factor * n_trajectories:
            raise HyirlError(
                f"only {len(kept)} of {seed - first_seed} expert episodes reached the time limit; "
                "the expert is too weak to produce demonstrations"
            )
        episode = _episode(policy, env, seed)
        if episode is not None:
            kept.append(episode)
        seed += 1
    return {k: np.concatenate([ep[k] for ep in kept]) for k in kept[0]}


def _episode(policy: NumpyPolicy, env: TaskEnv, seed: int) -> dict[str, np.ndarray] | None:
    obs, _ = env.reset(seed=seed)
    rows: dict[str, list] = {k: [] for k in REQUIRED}
    states: dict[str, list] = {}
    for t in range(env.horizon):
        for key, value in env.get_state().items():
            states.setdefault(key, []).append(value)
        action = policy(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        for key, value in (
            ("observations", obs),
            ("actions", action),
            ("next_observations", next_obs),
            ("rewards", reward),
            ("terminals", terminated),
            ("timeouts", truncated),
            ("seed", seed),
            ("timestep", t),
        ):
            rows[key].append(value)
        if terminated:
            return None
        obs = next_obs
    rows.update(states)
    out = {k: np.asarray(v) for k, v in rows.items()}
    out["seed"] = out["seed"].astype(np.int64)
    return out


def save_demos(path: Path, demos: dict[str, np.ndarray], meta: dict) -> None:
    """Write demos atomically; refuses to overwrite an existing file."""
    path = Path(path)
    if path.exists():
        raise HyirlError(f"{path} already exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save_npz(path, demos, meta)


def load_demos(path: Path, env: TaskEnv | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Load and validate a demo file (and its fit to ``env`` if given): a hyirl ``.npz``, a D4RL HDF5
    file or a Minari dataset folder (:mod:`hyirl.datasets`)."""
    if datasets.is_external(path):
        demos, meta = datasets.load_external(path)
    else:
        demos, meta = checkpoint.load_npz(path, "demo file")
    missing = [k for k in REQUIRED if k not in demos]
    if missing:
        raise HyirlError(f"demo file {path} lacks {', '.join(missing)}")
    n = len(demos["observations"])
    if n == 0 or any(len(demos[k]) != n for k in REQUIRED):
        raise HyirlError(f"demo file {path} is inconsistent: its arrays have different lengths or are empty")
    if env is not None:
        obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
        if demos["observations"].shape[1] != obs_dim or demos["actions"].shape[1] != act_dim:
            raise HyirlError(
                f"demo file {path} has obs {demos['observations'].shape[1]} / act "
                f"{demos['actions'].shape[1]} but env {env.task.name} has obs {obs_dim} / act {act_dim}"
            )
        _check_maze_data(path, meta, env)
    if "goal" in demos:
        demos = dict(demos, terminals=np.asarray(demos["terminals"], bool) | goal_terminals(demos, meta))
    return demos, meta


def goal_terminals(demos: dict[str, np.ndarray], meta: dict) -> np.ndarray:
    """D4RL's terminal flag on AntMaze rows. D4RL relabelled its antmaze files against the evaluation
    env's goal (``scripts/generation/relabel_antmaze_rewards.py``: sparse reward and terminal where the
    next position is within 0.5 m of ``env.target_goal``), not against each episode's own goal. A D4RL
    file keeps its flags (its sparse rewards, relabelled against one draw of that noisy goal); other
    sources get them at the goal's mean position."""
    if meta.get("source") == "d4rl":
        return np.asarray(demos["rewards"]) > 0
    goal = MazeGrid(layout=meta.get("layout", "d4rl")).mean_goal(EVAL_GOAL)
    return np.linalg.norm(demos["next_observations"][:, :2] - goal, axis=1) <= SUCCESS_RADIUS


def _check_maze_data(path: Path, meta: dict, env: TaskEnv) -> None:
    """AntMaze data must come from the same of the maze's two mirror-image layouts as the env, and
    hyirl's own data from the same ant model."""
    grid = getattr(env.env, "grid", None)
    layout = meta.get("layout")
    if grid is not None and layout is not None and layout != grid.layout:
        fix = "--env hyirl/AntMazeLargeMinari-v0" if layout == "minari" else "--env antmaze-large-diverse"
        raise HyirlError(
            f"{path} lies in the {layout!r} maze layout but env {env.task.name} uses {grid.layout!r} "
            f"(mirror images of each other, docs/antmaze.md); use {fix}"
        )
    ant = meta.get("ant")
    if grid is not None and ant is not None and ant != env.env.ant_model:
        fix = "antmaze-large-diverse" if ant == "d4rl" else "hyirl/AntMazeLarge-v0"
        raise HyirlError(
            f"{path} was made on the {ant!r} ant but env {env.task.name} has the {env.env.ant_model!r} ant "
            f"(docs/antmaze.md); use --env {fix}"
        )


def load_expert_data(cfg, env: TaskEnv) -> dict[str, np.ndarray]:
    """The demos a run config asks for (``demos_file``, else ``demos`` trajectories of the shipped
    expert), in ``env``'s observation form."""
    if cfg.demos_file:
        return load_demos(Path(cfg.demos_file), env)[0]
    demos = expert_demos(cfg.env, cfg.demos, truncated_obs=env.truncated_obs)[0]
    if leaves_out_contact_forces(env):
        demos = leading_columns(demos, env.observation_space.shape[0])  # the contact forces are the last columns
    return demos


def generated_data_name(cfg) -> str | None:
    """The recipe of the data a run config uses where hyirl makes it (an AntMaze dataset's cache name:
    generator version, policy, size and seed), else None (a user's file, an expert's demos)."""
    if cfg.demos_file or cfg.env not in antmaze_data.DATASETS:
        return None
    return antmaze_dataset_path(cfg.env, antmaze_data.DATASETS[cfg.env].transitions, _data_ant_path()).stem


def expert_buffer(demos: dict[str, np.ndarray]) -> buffers.Buffer:
    """The expert transitions as a full replay buffer. Actions are pulled inside (-1, 1), where the
    squashed Gaussian has a finite log-density; rewards are never used (the learner's come from f).
    Terminal rows (AntMaze's rows at the evaluation goal) bootstrap no value, as in the reference's offline rows."""
    n = len(demos["actions"])
    return buffers.from_arrays(
        obs=demos["observations"],
        action=np.clip(demos["actions"], -1 + 1e-6, 1 - 1e-6),
        next_obs=demos["next_observations"],
        reward=np.zeros(n),
        terminal=np.asarray(demos["terminals"], np.float32),
    )


def with_next_actions(expert: buffers.Buffer, demos: dict[str, np.ndarray]) -> buffers.Buffer:
    """``expert`` (from :func:`expert_buffer`) with each row's next action in its trajectory: NaN on a
    trajectory's last row, where none was recorded (SAC's ``expert_bootstrap="expert-action"``)."""
    actions = np.asarray(expert.action)
    continues = ~trajectory_ends(demos)[:-1]
    next_action = np.full_like(actions, np.nan)
    next_action[:-1][continues] = actions[1:][continues]
    return expert.replace(next_action=jnp.asarray(next_action))


def trajectory_ends(demos: dict[str, np.ndarray]) -> np.ndarray:
    """Rows that end a trajectory: timeouts and terminal rows (on AntMaze each row at the evaluation
    goal, so that, as in the reference's reset states, such a row is a trajectory of its own)."""
    return np.asarray(demos["timeouts"], bool) | np.asarray(demos["terminals"], bool)


def trajectory_returns(demos: dict[str, np.ndarray]) -> np.ndarray:
    ends = np.flatnonzero(trajectory_ends(demos)) + 1
    return np.array([seg.sum() for seg in np.split(demos["rewards"], ends)[:-1]])


def cache_dir() -> Path:
    return Path(os.environ.get("HYIRL_CACHE", Path.home() / ".cache" / "hyirl"))


def expert_demos(env_name: str, n_trajectories: int = 64, *, truncated_obs: bool = False) -> tuple[dict, dict]:
    """Demos from the shipped expert, generated on first use and cached (keyed by the policy file).

    With ``truncated_obs`` the observation columns are cut to qpos[2:]+qvel, which are the leading
    columns of the full ant/humanoid observation (spec §10.12). AntMaze tasks use their whole
    dataset (:func:`antmaze_dataset`) whatever ``n_trajectories`` says, as the paper does.
    """
    if env_name in antmaze_data.DATASETS:
        return antmaze_dataset(env_name)
    policy_path = shipped_policy_path(
        env_name, f"pass --demos-file FILE (made by `hyirl demos {env_name} --policy POLICY.npz`, see docs/experts.md)"
    )
    policy, policy_meta = load_policy(policy_path)
    expert_env = make_env(env_name, p_tremble=0.0)  # full observations: the truncated ones are cut from them
    path = cache_dir() / "demos" / f"{env_name}-{checkpoint.file_digest(policy_path)[:12]}-{n_trajectories}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.save_npz(path, *generate_demos(policy, policy_meta, expert_env, n_trajectories))
    demos, meta = load_demos(path, expert_env)
    if truncated_obs:
        demos, meta = leading_columns(demos, truncated_obs_dim(env_name)), dict(meta, truncated_obs=True)
    return demos, meta


def leading_columns(demos: dict[str, np.ndarray], dim: int) -> dict[str, np.ndarray]:
    """The demos with their observations cut to the first ``dim`` columns."""
    return dict(
        demos, observations=demos["observations"][:, :dim], next_observations=demos["next_observations"][:, :dim]
    )


def antmaze_dataset(name: str) -> tuple[dict, dict]:
    """The AntMaze task's D4RL-style dataset made by the shipped goal-reaching ant (cached)."""
    return load_demos(antmaze_dataset_file(name))


def antmaze_dataset_file(
    name: str, transitions: int | None = None, policy_path: Path | None = None, seed: int = 0, progress: bool = True
) -> Path:
    """The cache file of a D4RL-style AntMaze dataset, made on first use (by default with the
    shipped goal-reaching ant) and keyed by the generator's version, the policy file, size and seed."""
    spec = antmaze_data.dataset_spec(name)
    policy_path = policy_path or _data_ant_path()
    n = spec.transitions if transitions is None else transitions
    path = antmaze_dataset_path(name, n, policy_path, seed)
    if not path.exists():
        policy, policy_meta = load_policy(policy_path)
        reacher = GoalReacher.of(policy, policy_meta)  # on the ant the policy learnt to walk
        rows, meta = antmaze_data.generate_dataset(spec, reacher, n, seed=seed, progress=progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.save_npz(path, rows, dict(meta, policy=policy_meta))
    return path


def antmaze_dataset_path(name: str, transitions: int, policy_path: Path, seed: int = 0) -> Path:
    """Where the cache keeps a dataset: its recipe (generator version, policy file, size, seed) names it."""
    digest = checkpoint.file_digest(policy_path)[:12]
    return cache_dir() / "demos" / f"{name}-v{antmaze_data.GENERATOR_VERSION}-{digest}-{transitions}-s{seed}.npz"


def _data_ant_path() -> Path:
    return shipped_policy_path(
        antmaze_data.DATA_ANT,
        f"train one (`hyirl expert train {antmaze_data.DATA_ANT}`, docs/antmaze.md) or pass --demos-file FILE",
    )


def truncated_obs_dim(task) -> int:
    return make_env(task, truncated_obs=True).observation_space.shape[0]


class _OnLeadingColumns:
    """A policy of the truncated observations acting in the full-observation env: qpos[2:] + qvel are
    the full observation's leading columns, so the demos can record every observation form."""

    def __init__(self, policy: NumpyPolicy, dim: int):
        self.policy, self.dim = policy, dim

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.policy(obs[..., : self.dim])


def generate_demos(
    policy: NumpyPolicy, policy_meta: dict, env: TaskEnv, n_trajectories: int, first_seed: int = 0
) -> tuple[dict, dict]:
    if policy_meta.get("truncated_obs") and not env.truncated_obs:
        check_policy_fits(policy_meta, policy, make_env(env.task, truncated_obs=True))
        policy = _OnLeadingColumns(policy, truncated_obs_dim(env.task))
    else:
        check_policy_fits(policy_meta, policy, env)
    demos = rollout_demos(policy, env, n_trajectories, first_seed)
    returns = trajectory_returns(demos)
    meta = dict(
        env=env.task.name,
        gym_id=env.task.gym_id,
        truncated_obs=env.truncated_obs,
        horizon=env.horizon,
        n_trajectories=n_trajectories,
        first_seed=first_seed,
        policy=policy_meta,
        return_mean=float(returns.mean()),
        return_std=float(returns.std()),
    )
    return demos, meta
