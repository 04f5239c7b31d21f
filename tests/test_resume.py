"""Determinism and resume of IRL runs (same seed on CPU => identical metrics.jsonl)."""

import os
import signal
import subprocess
import sys
import time


def _train(out, pendulum_demos, steps, *extra):
    return [
        sys.executable,
        "-m",
        "hyirl.cli",
        "train",
        "--algo",
        "hype-filter",
        "--env",
        "pendulum",
        "--steps",
        str(steps),
        "--train-every",
        "256",
        "--eval-every",
        "300",
        "--eval-episodes",
        "1",
        "--checkpoint-every",
        "256",
        "--demos-file",
        str(pendulum_demos),
        *("--set", "sac.hidden=[32,32]", "--set", "disc.hidden=[32,32]", "--set", "disc.batch_size=256"),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def test_killed_run_resumes_to_the_same_result(tmp_path, pendulum_demos):
    """A run SIGKILLed in its second half and resumed from its directory logs exactly what an
    uninterrupted run with the same seed logs. This also guards determinism: a run that depends on
    anything but its seed (unseeded noise, wall clock) fails here."""
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(_train(straight, pendulum_demos, 1300), check=True, capture_output=True)
    # checkpoint every round, then SIGKILL the run while it is in its second half
    proc = subprocess.Popen(_train(killed, pendulum_demos, 1300), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    # the run directory alone is enough: its config.json holds every setting
    resume = [sys.executable, "-m", "hyirl.cli", "train", "--resume", str(killed), "--no-progress"]
    subprocess.run(resume, check=True, capture_output=True)
    assert (killed / "metrics.jsonl").read_text() == (straight / "metrics.jsonl").read_text()
