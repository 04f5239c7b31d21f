import json

import jax
import pytest

from hyirl.cli import main
from hyirl.demos import rollout_demos, save_demos
from hyirl.envs import HyirlError, make_env
from hyirl.sac import SAC, NumpyPolicy
from hyirl.sweep import parse_seeds, run_sweep

TRAIN_ARGS = "--train-every 256 --eval-every 400 --eval-episodes 1 --demos-file {}"


@pytest.fixture(scope="module")
def demos_file(tmp_path_factory):
    policy = NumpyPolicy(SAC(3, 1).init(jax.random.PRNGKey(0)).actor_params)
    path = tmp_path_factory.mktemp("demos") / "pendulum.npz"
    save_demos(path, rollout_demos(policy, make_env("pendulum", p_tremble=0.0), 2), dict(env="pendulum"))
    return path


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,2,5-6") == [0, 2, 5, 6]
    with pytest.raises(HyirlError):
        parse_seeds("a-b")


def test_local_sweep_runs_grid_then_skips_finished_cells(tmp_path, demos_file):
    args = ["sweep", "--algos", "hype,mm", "--envs", "pendulum", "--seeds", "0-1", "--steps", "600",
            "--train-args", TRAIN_ARGS.format(demos_file), "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    cells = sorted(p.name for p in tmp_path.iterdir() if (p / "done.json").exists())
    assert cells == ["hype-pendulum-s0", "hype-pendulum-s1", "mm-pendulum-s0", "mm-pendulum-s1"]
    seeds = {json.loads((tmp_path / c / "config.json").read_text())["seed"] for c in cells}
    assert seeds == {0, 1}
    before = {c: (tmp_path / c / "metrics.jsonl").read_text() for c in cells}
    outcome = run_sweep(["hype", "mm"], ["pendulum"], [0, 1], tmp_path, progress=False)
    assert set(outcome.values()) == {"skipped"}
    assert before == {c: (tmp_path / c / "metrics.jsonl").read_text() for c in cells}


def test_sweep_unknown_method_fails_before_running(tmp_path, capsys):
    assert main(["sweep", "--algos", "hype,gail", "--envs", "pendulum", "--out", str(tmp_path / "s")]) == 2
    assert "unknown method 'gail'" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_sweep_on_local_ray(tmp_path, demos_file):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        outcome = run_sweep(["hype"], ["pendulum"], [0], tmp_path, extra=["--steps", "300", *TRAIN_ARGS.format(demos_file).split()],
                            ray_address="auto", progress=False)
    finally:
        ray.shutdown()
    assert outcome == {"hype-pendulum-s0": "finished"}
    assert (tmp_path / "hype-pendulum-s0" / "done.json").exists()
