"""Readers for AntMaze data users already have: D4RL HDF5 files and Minari dataset folders.

Both are turned into hyirl's demo format (:mod:`hyirl.demos`) with the goal appended to every
observation (29 + 2 = 31 numbers, spec §7) and ``goal``, ``qpos``, ``qvel`` per row:

* **D4RL** ``antmaze-large-{diverse,play}-v2.hdf5``: ``observations`` (N, 29), ``actions``, ``rewards``,
  ``terminals``, ``timeouts``, ``infos/goal``, ``infos/qpos``, ``infos/qvel``. Coordinates are shifted
  from D4RL's (cell (1, 1) at the origin) to hyirl's ``d4rl`` layout. Episodes end at ``timeouts``;
  the last row of each has no next observation and is dropped (as D4RL's ``qlearning_dataset``).
  D4RL's ``terminals`` (every step within 0.5 m of the evaluation goal) are not episode ends; loading
  sets them again from ``rewards``, D4RL's relabelled sparse reward (:func:`hyirl.demos.goal_terminals`).
  D4RL's ant is not gymnasium's (time step 0.02 s with RK4, motors of range ±30), so its transitions
  follow slightly different dynamics.
* **Minari** ``D4RL/antmaze/large-{diverse,play}-v1`` (a folder with ``data/main_data.hdf5``): one
  group per episode with ``observations/{observation, achieved_goal, desired_goal}`` (one more row
  than actions), ``actions``, ``rewards``, ``terminations``, ``truncations``. The data lives in
  gymnasium-robotics' layout, the mirror image of D4RL's, so it is marked ``layout: minari``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hyirl.antmaze import MazeGrid
from hyirl.errors import HyirlError

_D4RL_KEYS = {
    "observations": 29,
    "actions": 8,
    "rewards": None,
    "timeouts": None,
    "infos/goal": 2,
    "infos/qpos": 15,
    "infos/qvel": 14,
}


def is_external(path: Path) -> bool:
    """Whether ``path`` names a D4RL HDF5 file or a Minari dataset folder rather than a hyirl ``.npz``."""
    path = Path(path)
    return path.suffix in (".hdf5", ".h5") or path.is_dir()


def load_external(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    path = Path(path)
    if not path.exists():
        raise HyirlError(f"dataset {path} does not exist")
    if path.is_dir():
        return load_minari(path)
    return load_d4rl(path)


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency; this guards broken installs
        raise HyirlError("reading HDF5 datasets needs h5py: pip install h5py") from None
    return h5py


def _read(path: Path, read):
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            return read(f)
    except OSError as err:
        raise HyirlError(f"cannot read {path} as HDF5: {err}") from None
    except KeyError as err:
        raise HyirlError(f"{path} lacks {err.args[0] if err.args else err}") from None


def load_d4rl(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """A D4RL antmaze-large HDF5 file in hyirl's demo format and ``d4rl`` layout."""
    raw = _read(path, lambda f: {k: np.asarray(f[k]) for k in _D4RL_KEYS})
    n = len(raw["observations"])
    for key, dim in _D4RL_KEYS.items():
        shape = raw[key].shape
        if shape[0] != n or (dim is not None and shape[1:] != (dim,)) or (dim is None and len(shape) != 1):
            want = f"({n}, {dim})" if dim else f"({n},)"
            raise HyirlError(f"{path}: {key} has shape {shape}, expected {want} for antmaze-large")
    offset = MazeGrid(layout="d4rl").d4rl_offset.astype(np.float32)
    ant = raw["observations"].copy()
    ant[:, :2] += offset
    qpos = raw["infos/qpos"].copy()
    qpos[:, :2] += offset
    goal = raw["infos/goal"] + offset
    ends = np.flatnonzero(raw["timeouts"])
    ends = ends if len(ends) and ends[-1] == n - 1 else np.append(ends, n - 1)
    keep = np.ones(n, bool)
    keep[ends] = False  # no next observation after an episode's last row
    nxt = np.minimum(np.arange(n) + 1, n - 1)
    starts = np.concatenate([[0], ends[:-1] + 1])
    timestep = np.arange(n) - np.repeat(starts, ends - starts + 1)
    obs = np.concatenate([ant, goal], 1)
    rows = dict(
        observations=obs,
        actions=raw["actions"],
        next_observations=np.concatenate([ant[nxt], goal], 1),
        rewards=raw["rewards"],
        terminals=np.zeros(n, bool),
        timeouts=np.isin(np.arange(n), ends - 1),
        seed=np.full(n, -1, np.int64),
        timestep=timestep,
        qpos=qpos,
        qvel=raw["infos/qvel"],
        goal=goal,
    )
    rows = {k: v[keep] for k, v in rows.items()}
    return rows, dict(source="d4rl", file=str(path), layout="d4rl", episodes=len(ends), transitions=int(keep.sum()))


def load_minari(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """A Minari AntMaze dataset folder in hyirl's demo format and ``minari`` layout."""
    data = path / "data" / "main_data.hdf5"
    if not data.is_file():
        raise HyirlError(f"{path} is not a Minari dataset folder: {data} is missing")
    episodes = _read(data, _minari_episodes)
    if not episodes:
        raise HyirlError(f"{data} holds no episodes")
    rows = {k: np.concatenate([ep[k] for ep in episodes]) for k in episodes[0]}
    return rows, dict(
        source="minari", file=str(path), layout="minari", episodes=len(episodes), transitions=len(rows["actions"])
    )


def _minari_episodes(f) -> list[dict[str, np.ndarray]]:
    names = sorted((k for k in f if k.startswith("episode_")), key=lambda k: int(k.split("_")[1]))
    return [_minari_episode(f[name], name) for name in names]


def _minari_episode(group, name: str) -> dict[str, np.ndarray]:
    obs = group["observations"]
    ant, xy, goal = (np.asarray(obs[k]) for k in ("observation", "achieved_goal", "desired_goal"))
    actions = np.asarray(group["actions"])
    t = len(actions)
    if ant.shape != (t + 1, 27) or xy.shape != (t + 1, 2) or goal.shape != (t + 1, 2) or actions.shape != (t, 8):
        raise HyirlError(
            f"{name}: observation {ant.shape}, achieved_goal {xy.shape}, desired_goal {goal.shape}, actions "
            f"{actions.shape}; expected ({t + 1}, 27), ({t + 1}, 2), ({t + 1}, 2), ({t}, 8) for AntMaze"
        )
    state = np.concatenate([xy, ant], 1)  # qpos[:15] + qvel[:14]
    truncations = np.asarray(group["truncations"], bool)
    return dict(
        observations=np.concatenate([state[:-1], goal[:-1]], 1),
        actions=actions,
        next_observations=np.concatenate([state[1:], goal[:-1]], 1),
        rewards=np.asarray(group["rewards"]),
        terminals=np.asarray(group["terminations"], bool),
        timeouts=truncations | (np.arange(t) == t - 1),
        seed=np.full(t, -1, np.int64),
        timestep=np.arange(t),
        qpos=state[:-1, :15],
        qvel=state[:-1, 15:],
        goal=goal[:-1],
    )
