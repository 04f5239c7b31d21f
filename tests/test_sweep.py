import json
import os
import subprocess
import sys

import pytest

from hyirl.cli import main
from hyirl.errors import HyirlError
from hyirl.sweep import parse_seeds, run_sweep

# small networks: these tests are about the sweep's bookkeeping, not learning
SMALL = "--set sac.hidden=[32,32] --set disc.hidden=[32,32] --set disc.batch_size=256"
TRAIN_ARGS = "--train-every 256 --eval-every 400 --eval-episodes 1 " + SMALL + " --demos-file {}"


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,2,5-6") == [0, 2, 5, 6]
    with pytest.raises(HyirlError):
        parse_seeds("a-b")


def test_local_sweep_runs_grid_then_skips_finished_cells(tmp_path, pendulum_demos):
    args = [
        "sweep",
        "--algos",
        "hype,mm",
        "--envs",
        "pendulum",
        "--seeds",
        "1",
        "--steps",
        "600",
        "--train-args",
        TRAIN_ARGS.format(pendulum_demos),
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    assert main(args) == 0
    cells = sorted(p.name for p in tmp_path.iterdir() if (p / "done.json").exists())
    assert cells == ["hype-pendulum-s1", "mm-pendulum-s1"]
    assert {json.loads((tmp_path / c / "config.json").read_text())["seed"] for c in cells} == {1}
    before = {c: (tmp_path / c / "metrics.jsonl").read_text() for c in cells}
    outcome = run_sweep(["hype", "mm"], ["pendulum"], [1], tmp_path, progress=False)
    assert set(outcome.values()) == {"skipped"}
    assert before == {c: (tmp_path / c / "metrics.jsonl").read_text() for c in cells}

    # A larger --steps resumes a finished cell and extends it, keeping what it had logged.
    extra = TRAIN_ARGS.format(pendulum_demos).split()
    outcome = run_sweep(["hype"], ["pendulum"], [1], tmp_path, steps=1200, extra=extra, progress=False)
    assert outcome == {"hype-pendulum-s1": "finished"}
    cell = tmp_path / "hype-pendulum-s1"
    assert json.loads((cell / "done.json").read_text())["env_steps"] >= 1200
    extended = (cell / "metrics.jsonl").read_text()
    assert extended.startswith(before["hype-pendulum-s1"]) and len(extended) > len(before["hype-pendulum-s1"])


def test_sweep_unknown_method_fails_before_running(tmp_path, capsys):
    assert main(["sweep", "--algos", "hype,gail", "--envs", "pendulum", "--out", str(tmp_path / "s")]) == 2
    assert "unknown method 'gail'" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


RAY_SWEEP = """
import sys
import ray
from hyirl.sweep import run_sweep
try:
    ray.init(num_cpus=2, include_dashboard=False)
except Exception as err:  # Ray could not start on this machine: not a failure of hyirl
    print("RAY_UNAVAILABLE", err)
    sys.exit(3)
outcome = run_sweep(["hype"], ["pendulum"], [0], sys.argv[1], extra=sys.argv[2:], ray_address="auto", progress=False)
ray.shutdown()
print(outcome)
"""


@pytest.mark.slow  # Ray's start-up alone is ~30 s of the 2-core machine; run with -m slow
def test_sweep_on_local_ray(tmp_path, pendulum_demos):
    pytest.importorskip("ray")
    extra = ["--steps", "300", *TRAIN_ARGS.format(pendulum_demos).split()]
    result = subprocess.run(
        [sys.executable, "-c", RAY_SWEEP, str(tmp_path), *extra],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, RAY_ADDRESS=""),
    )
    if result.returncode == 3 and "RAY_UNAVAILABLE" in result.stdout:
        pytest.skip(f"a local Ray instance could not start here: {result.stdout.strip()[-300:]}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "{'hype-pendulum-s0': 'finished'}" in result.stdout
    assert (tmp_path / "hype-pendulum-s0" / "done.json").exists()
