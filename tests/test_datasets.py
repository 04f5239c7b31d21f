"""Readers for D4RL HDF5 files and Minari dataset folders (hyirl.datasets), on small files written here."""

import h5py
import numpy as np
import pytest

from hyirl.antmaze import MazeGrid
from hyirl.antmaze_data import DATASETS, generate_dataset
from hyirl.cli import main
from hyirl.demos import load_demos
from hyirl.envs import make_env
from hyirl.errors import HyirlError


@pytest.fixture(scope="module")
def rows(still_maze_ant):
    """Two episodes (1000 + 300 rows) made by the dataset generator with a constant policy."""
    data, _ = generate_dataset(DATASETS["antmaze-large-diverse"], still_maze_ant, 1300, seed=2, progress=False)
    return data


def _write_d4rl(path, rows, **replace):
    """``rows`` as D4RL stores them: 29-d observations and positions in D4RL's coordinates."""
    shift = MazeGrid().d4rl_offset
    obs, qpos = rows["observations"][:, :29].copy(), rows["qpos"].copy()
    obs[:, :2] -= shift
    qpos[:, :2] -= shift
    arrays = {
        "observations": obs,
        "actions": rows["actions"],
        "rewards": rows["rewards"],
        "terminals": rows["rewards"] > 0,
        "timeouts": rows["timeouts"],
        "infos/goal": rows["goal"] - shift,
        "infos/qpos": qpos,
        "infos/qvel": rows["qvel"],
    }
    arrays.update(replace)
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f[key] = value


def test_d4rl_file_reads_back_as_the_rows_that_made_it(tmp_path, rows):
    """Written in D4RL's layout and read back: the same transitions in hyirl's coordinates, without
    each episode's last row (it has no next observation). Guards the coordinate shift and the
    episode split."""
    path = tmp_path / "antmaze-large-diverse-v2.hdf5"
    _write_d4rl(path, rows)
    demos, meta = load_demos(path, make_env("antmaze-large-diverse"))
    keep = np.ones(1300, bool)
    keep[[999, 1299]] = False
    assert meta["layout"] == "d4rl" and meta["episodes"] == 2 and len(demos["actions"]) == 1298
    for key in ("observations", "next_observations", "actions", "qpos", "qvel", "goal", "timestep"):
        assert np.allclose(demos[key], rows[key][keep], atol=1e-5), key
    assert np.flatnonzero(demos["timeouts"]).tolist() == [998, 1297]
    assert not demos["terminals"].any()


def test_minari_folder_reads_as_transitions_with_the_goal(tmp_path, rows):
    """A Minari episode (observation / achieved_goal / desired_goal with one more row than actions)
    becomes rows whose observation is qpos[:15] + qvel[:14] + goal, marked with Minari's layout."""
    folder = tmp_path / "large-diverse-v1"
    (folder / "data").mkdir(parents=True)
    ep = slice(0, 1001)
    with h5py.File(folder / "data" / "main_data.hdf5", "w") as f:
        g = f.create_group("episode_0")
        g["observations/observation"] = rows["observations"][ep, 2:29]
        g["observations/achieved_goal"] = rows["observations"][ep, :2]
        g["observations/desired_goal"] = rows["goal"][ep]
        g["actions"] = rows["actions"][:1000]
        g["rewards"] = rows["rewards"][:1000]
        g["terminations"] = np.zeros(1000, bool)
        g["truncations"] = np.arange(1000) == 999
    demos, meta = load_demos(folder, make_env("hyirl/AntMazeLargeMinari-v0"))
    assert meta["layout"] == "minari" and len(demos["actions"]) == 1000
    assert np.allclose(demos["observations"][:999], rows["observations"][:999], atol=1e-6)
    assert np.allclose(demos["next_observations"][:998], rows["observations"][1:999], atol=1e-6)
    assert np.allclose(demos["qpos"], rows["qpos"][:1000], atol=1e-6)
    with pytest.raises(HyirlError, match="mirror images"):
        load_demos(folder, make_env("antmaze-large-diverse"))


def test_rows_at_the_evaluation_goal_load_as_terminal_and_reach_the_expert_buffer(tmp_path, rows):
    """D4RL's terminal flag (docs/antmaze.md): D4RL relabelled its files against the evaluation goal,
    so a D4RL file's own flags (its sparse rewards) are kept, and hyirl's ``.npz`` (which leaves the flag
    unset) gets it on every row whose next position lies within 0.5 m of the evaluation goal, not on
    rows that reached their own episode's goal elsewhere. The expert buffer keeps the flags for
    TD3-BC's offline rows; Hopper's demos have none. Fails if the loader flags the rows' own goals
    (hyirl 0.16's rule), ignores a D4RL file's flags, or ``expert_buffer`` marks no row terminal."""
    from hyirl.antmaze import EVAL_GOAL
    from hyirl.demos import expert_buffer, save_demos

    at_eval_goal, own_goal = [5, 6, 700], [10, 11, 900]
    moved = rows["next_observations"].copy()
    moved[at_eval_goal, :2] = MazeGrid().mean_goal(EVAL_GOAL) + [0.3, -0.2]
    own = dict(rows, next_observations=moved, rewards=np.isin(np.arange(1300), own_goal).astype(np.float32))
    d4rl, npz = tmp_path / "antmaze-large-diverse-v2.hdf5", tmp_path / "own.npz"
    _write_d4rl(d4rl, dict(rows, rewards=np.isin(np.arange(1300), at_eval_goal).astype(np.float32)))
    save_demos(npz, own, {})
    for path in (d4rl, npz):
        demos, _ = load_demos(path)
        assert np.flatnonzero(demos["terminals"]).tolist() == at_eval_goal, path.name
        assert np.flatnonzero(np.asarray(expert_buffer(demos).terminal)).tolist() == at_eval_goal, path.name
    hopper = {k: np.zeros((3, 2)) for k in ("observations", "actions", "next_observations")}
    hopper.update(terminals=np.zeros(3, bool), rewards=np.ones(3))
    assert not np.asarray(expert_buffer(hopper).terminal).any()


@pytest.mark.parametrize(
    "damage, message",
    [
        (dict(observations=np.zeros((1300, 27))), "observations has shape"),
        (dict(actions=np.zeros((1299, 8))), "actions has shape"),
    ],
)
def test_a_d4rl_file_of_the_wrong_shape_is_refused(tmp_path, rows, damage, message):
    path = tmp_path / "bad.hdf5"
    _write_d4rl(path, rows, **damage)
    with pytest.raises(HyirlError, match=message):
        load_demos(path)


def test_missing_or_unreadable_datasets_fail_with_one_line(tmp_path, capsys):
    not_hdf5 = tmp_path / "notes.hdf5"
    not_hdf5.write_text("not a dataset")
    empty_folder = tmp_path / "minari"
    empty_folder.mkdir()
    for path, message in (
        (tmp_path / "absent.hdf5", "does not exist"),
        (not_hdf5, "cannot read"),
        (empty_folder, "not a Minari dataset folder"),
    ):
        with pytest.raises(HyirlError, match=message):
            load_demos(path)
    args = ["train", "--algo", "bc", "--env", "antmaze-large-diverse", "--demos-file", str(not_hdf5)]
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot read" in err
    assert not (tmp_path / "run").exists()
