"""Every method runs from the CLI on every MuJoCo task, on tiny budgets with untrained-policy demos.

Not in the default suite (the methods' CLI runs are tested on Pendulum and AntMaze there):
``pytest -m slow tests/test_tasks.py`` runs the whole matrix, seven methods on four tasks, HyPER with
both presets on the truncated observations of Ant and Humanoid.
"""

import dataclasses
import json
import math

import pytest

from hyirl.cli import main
from hyirl.envs import get_task, make_env

TASKS = ("hopper", "walker2d", "ant", "humanoid")
MODEL_FREE = ("mm", "bc-reg", "filter", "hype", "hype-filter")
# Untrained policies fall within tens of steps; short demo episodes suffice for the loops' mechanics.
DEMO_HORIZON = {"hopper": 10, "walker2d": 10, "ant": 50, "humanoid": 10}
TINY = {
    "bc": ["--steps", "2000", "--eval-every", "1000", "--eval-episodes", "1"],
    **{
        algo: ["--steps", "256", "--train-every", "128", "--eval-every", "256", "--eval-episodes", "1"]
        + ["--disc-samples", "recent"]
        for algo in MODEL_FREE
    },
    "hyper": ["--steps", "500", "--eval-every", "500", "--eval-episodes", "1"]
    + [f"--set={key}" for key in ("exploration_steps=250", "epoch_length=250", "model_every=250")]
    + [f"--set={key}" for key in ("disc_every=250", "disc_pairs=250", "rollouts_per_step=2", "updates_per_step=1")]
    + ["--set=update_every=1", "--set=model.first_fit_max_epochs=1", "--set=model.max_epochs=1"],
}
DEFAULT_CASES: set = set()  # the methods' CLI runs are in test_irl, test_hyper and test_presets
CASES = [(algo, task, None) for algo in ("bc", *MODEL_FREE) for task in TASKS] + [
    ("hyper", task, preset) for preset in ("efficient", "paper") for task in TASKS
]


@pytest.fixture(scope="module")
def demos_for(untrained_demos):
    made = {}

    def make(task: str, truncated_obs: bool):
        if (task, truncated_obs) not in made:
            short = dataclasses.replace(get_task(task), horizon=DEMO_HORIZON[task])
            env = make_env(short, p_tremble=0.0, truncated_obs=truncated_obs)
            made[task, truncated_obs] = untrained_demos(env, 2, f"{task}-{truncated_obs}")
        return made[task, truncated_obs]

    return make


@pytest.mark.parametrize(
    "algo,task,preset",
    [case if case in DEFAULT_CASES else pytest.param(*case, marks=pytest.mark.slow) for case in CASES],
    ids=lambda v: v or "",
)
def test_method_runs_from_the_cli(algo, task, preset, demos_for, tmp_path):
    # HyPER runs Ant and Humanoid on the truncated observations, as the paper does (spec §10.12).
    truncated = algo == "hyper" and task in ("ant", "humanoid")
    args = ["train", "--algo", algo, "--env", task, "--demos-file", str(demos_for(task, truncated)), "--no-progress"]
    args += TINY[algo] + (["--preset", preset] if preset else []) + (["--truncated-obs"] if truncated else [])
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records and all(math.isfinite(r["eval_return_mean"]) for r in records)
    if algo != "bc":
        assert records[-1]["env_steps"] >= int(TINY[algo][1])
