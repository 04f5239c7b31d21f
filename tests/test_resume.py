"""Determinism and resume of IRL runs (same seed on CPU => identical metrics.jsonl)."""

import os
import signal
import subprocess
import sys
import time

import jax
import pytest

from hyirl.demos import rollout_demos, save_demos
from hyirl.envs import make_env
from hyirl.sac import SAC, NumpyPolicy


@pytest.fixture(scope="module")
def demos_file(tmp_path_factory):
    env = make_env("pendulum", p_tremble=0.0)
    policy = NumpyPolicy(SAC(3, 1).init(jax.random.PRNGKey(0)).actor_params)
    path = tmp_path_factory.mktemp("demos") / "pendulum.npz"
    save_demos(path, rollout_demos(policy, env, 2), dict(env="pendulum"))
    return path


def _train(out, demos_file, steps, *extra):
    return [sys.executable, "-m", "hyirl.cli", "train", "--algo", "hype-filter", "--env", "pendulum", "--steps", str(steps),
            "--train-every", "256", "--eval-every", "500", "--eval-episodes", "1", "--checkpoint-every", "256", "--demos-file", str(demos_file),
            "--out", str(out), "--no-progress", *extra]


def test_same_seed_gives_identical_metrics(tmp_path, demos_file):
    for name in ("a", "b"):
        subprocess.run(_train(tmp_path / name, demos_file, 1000), check=True, capture_output=True)
    assert (tmp_path / "a" / "metrics.jsonl").read_text() == (tmp_path / "b" / "metrics.jsonl").read_text()


def test_killed_run_resumes_to_the_same_result(tmp_path, demos_file):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(_train(straight, demos_file, 2200), check=True, capture_output=True)
    # checkpoint every round, then SIGKILL the run while it is in its second half
    proc = subprocess.Popen(_train(killed, demos_file, 2200), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = killed / "checkpoints" / "learner.npz"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        metrics = killed / "metrics.jsonl"
        if checkpoint.exists() and metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    was_running = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert was_running, "the run finished before it could be killed; make it longer"
    assert not list((killed / "checkpoints").glob("*.tmp")) or checkpoint.exists()
    subprocess.run(_train(killed, demos_file, 2200, "--resume"), check=True, capture_output=True)
    assert (killed / "metrics.jsonl").read_text() == (straight / "metrics.jsonl").read_text()
