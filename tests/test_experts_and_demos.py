import json

import numpy as np
import pytest

from hyirl.cli import main
from hyirl.demos import expert_demos, load_demos
from hyirl.envs import make_env
from hyirl.errors import HyirlError
from hyirl.experts import SHIPPED_DIR, ExpertConfig, load_policy

TRAIN = ["expert", "train", "pendulum", "--learning-starts", "256", "--eval-every", "256", "--confirm-episodes", "3"]
TRAIN += ["--no-progress"]


@pytest.fixture(scope="module")
def tiny_expert(tmp_path_factory):
    out = tmp_path_factory.mktemp("expert") / "run"
    assert main(TRAIN + ["--steps", "640", "--checkpoint-every", "320", "--out", str(out)]) == 0
    return out


def test_expert_run_directory(tiny_expert):
    records = [json.loads(line) for line in (tiny_expert / "metrics.jsonl").read_text().splitlines()]
    assert [r["env_steps"] for r in records] == [256, 512]
    assert all({"env_steps", "eval_return_mean"} <= set(r) for r in records)
    assert (tiny_expert / "config.json").is_file() and (tiny_expert / "best_policy.npz").is_file()
    assert any((tiny_expert / "tb").iterdir())


def test_best_policy_is_kept_on_its_second_look(tiny_expert):
    """Guards the expert's selection: a policy that beats the best on its 5 screening episodes is
    judged again on ``confirm_episodes`` fresh ones, and the kept policy is the one whose second look
    scored best (most full-length episodes, then mean return), recorded with that score."""
    records = [json.loads(line) for line in (tiny_expert / "metrics.jsonl").read_text().splitlines()]
    looked = [r for r in records if "confirm_return_mean" in r]
    assert looked and looked[0] is records[0]  # the first evaluation always beats the empty best
    assert all(r["confirm_return_mean"] != r["eval_return_mean"] for r in looked)  # other episodes
    kept = max(looked, key=lambda r: (r["confirm_full_length"], r["confirm_return_mean"]))
    _, meta = load_policy(tiny_expert / "best_policy.npz")
    assert meta["steps"] == kept["env_steps"]
    assert meta["selection_return"] == pytest.approx(kept["confirm_return_mean"])


def test_resumed_training_matches_uninterrupted(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(TRAIN + ["--steps", "768", "--checkpoint-every", "384", "--out", str(straight)]) == 0
    assert main(TRAIN + ["--steps", "384", "--checkpoint-every", "384", "--out", str(split)]) == 0
    # the run directory alone holds every setting; only the longer budget is said again
    assert main(["expert", "train", "--resume", str(split), "--steps", "768", "--no-progress"]) == 0
    assert (straight / "metrics.jsonl").read_text() == (split / "metrics.jsonl").read_text()


def test_a_run_that_lost_its_full_checkpoint_continues_from_the_portable_one(tmp_path):
    """Guards expert runs across lost run directories: the small checkpoint written at every
    evaluation is enough to continue, from its step, with the metrics logged up to it kept."""
    run = tmp_path / "run"
    assert main(TRAIN + ["--steps", "512", "--checkpoint-every", "10000", "--out", str(run)]) == 0
    full, portable = run / "checkpoints" / "learner.npz", run / "checkpoints" / "portable.npz"
    assert portable.stat().st_size < full.stat().st_size
    full.unlink()
    assert main(["expert", "train", "--resume", str(run), "--steps", "768", "--no-progress"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["env_steps"] for r in records] == [256, 512, 768]


def test_resume_with_other_options_is_refused(tmp_path, capsys, tiny_expert):
    assert (
        main(
            TRAIN
            + ["--steps", "640", "--checkpoint-every", "320", "--seed", "5", "--out", str(tiny_expert), "--resume"]
        )
        == 2
    )
    assert "differs in seed" in capsys.readouterr().err
    assert main(TRAIN + ["--steps", "640", "--out", str(tiny_expert)]) == 2  # no silent overwrite


def test_eval_json_and_demo_round_trip(tiny_expert, tmp_path, capsys):
    policy = str(tiny_expert / "best_policy.npz")
    assert main(["expert", "eval", "pendulum", "--policy", policy, "--episodes", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["episodes"] == 3 and len(result["returns"]) == 3
    assert result["mean_return"] == pytest.approx(np.mean(result["returns"]))

    out = tmp_path / "demos.npz"
    assert main(["demos", "pendulum", "--policy", policy, "--trajectories", "3", "--out", str(out)]) == 0
    env = make_env("pendulum", p_tremble=0.0)
    demos, meta = load_demos(out, env)
    assert len(demos["observations"]) == 3 * env.horizon
    assert demos["timeouts"].sum() == 3 and not demos["terminals"].any()
    assert list(np.unique(demos["seed"])) == [0, 1, 2]
    # replaying a demo's actions from a recorded mid-episode state reproduces its observations
    row = env.horizon + 50
    obs = env.reset_to_state(qpos=demos["qpos"][row], qvel=demos["qvel"][row], t=int(demos["timestep"][row]))
    np.testing.assert_allclose(obs, demos["observations"][row], atol=1e-6)
    for i in range(row, row + 20):
        obs, *_ = env.step(demos["actions"][i])
        np.testing.assert_allclose(obs, demos["next_observations"][i], atol=1e-5)

    before = out.read_bytes()
    assert main(["demos", "pendulum", "--policy", policy, "--trajectories", "3", "--out", str(out)]) == 2
    assert out.read_bytes() == before


@pytest.mark.parametrize("contents", [b"", b"not a zip file", b"PK\x03\x04garbage"])
def test_corrupt_files_fail_cleanly(tmp_path, capsys, contents):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(contents)
    assert main(["expert", "eval", "pendulum", "--policy", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hyirl: error: corrupt expert policy") and err.count("\n") == 1
    with pytest.raises(HyirlError, match="corrupt demo file"):
        load_demos(bad)


def test_missing_files_and_unknown_env(tmp_path, capsys):
    assert main(["expert", "eval", "pendulum", "--policy", str(tmp_path / "nope.npz")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["expert", "eval", "hoppper"]) == 2
    assert "unknown environment 'hoppper'" in capsys.readouterr().err
    with pytest.raises(HyirlError, match="not found"):
        load_demos(tmp_path / "missing.npz")


def test_demos_of_another_env_are_rejected(tiny_expert, tmp_path, capsys):
    out = tmp_path / "pendulum_demos.npz"
    assert (
        main(
            [
                "demos",
                "pendulum",
                "--policy",
                str(tiny_expert / "best_policy.npz"),
                "--trajectories",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with pytest.raises(HyirlError, match="obs 3 / act 1 but env hopper has obs 11 / act 3"):
        load_demos(out, make_env("hopper"))
    assert main(["expert", "eval", "hopper", "--policy", str(tiny_expert / "best_policy.npz")]) == 2
    assert "policy expects obs 3" in capsys.readouterr().err


SHIPPED = sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / "policy.npz").exists()) if SHIPPED_DIR.is_dir() else []


@pytest.mark.parametrize("env_name", SHIPPED)
def test_shipped_expert_manifest_and_cached_demos(env_name):
    manifest = json.loads((SHIPPED_DIR / env_name / "manifest.json").read_text())
    assert manifest["env"] == env_name and manifest["deterministic_return"]["episodes"] >= 10
    policy, meta = load_policy(SHIPPED_DIR / env_name / "policy.npz")
    assert policy.act_dim == make_env(env_name).action_space.shape[0] and meta["env"] == env_name
    if manifest["full_length_episodes"].startswith("0 of"):
        pytest.skip(f"the shipped {env_name} expert never reaches the time limit, so it cannot produce demos")
    demos, demo_meta = expert_demos(env_name, 2)
    env = make_env(env_name)
    assert demos["observations"].shape == (2 * env.horizon, env.observation_space.shape[0])
    # cached: a second call reads the same file instead of rolling out again
    again, _ = expert_demos(env_name, 2)
    np.testing.assert_array_equal(demos["actions"], again["actions"])
    expected = manifest["deterministic_return"]["mean"]
    assert demo_meta["return_mean"] > expected - 0.5 * abs(expected)  # demos from a competent expert


def test_a_truncated_observation_expert_records_every_observation_form():
    """An expert acting on qpos[2:] + qvel is rolled out in the full-observation env: the demos hold
    the full observations, and their leading columns are exactly what the same expert sees in the
    truncated env (same seeds, same actions). Guards the column cut: feeding the policy any other
    columns changes its actions and the trajectories part."""
    import dataclasses

    import jax

    from hyirl.demos import generate_demos, rollout_demos
    from hyirl.envs import get_task
    from hyirl.sac import SAC, NumpyPolicy

    task = dataclasses.replace(get_task("ant"), horizon=30)
    truncated_env = make_env(task, p_tremble=0.0, truncated_obs=True)
    policy = NumpyPolicy(SAC(27, 8).init(jax.random.PRNGKey(1)).actor_params)
    demos, meta = generate_demos(policy, dict(env="ant", truncated_obs=True), make_env(task, p_tremble=0.0), 2)
    alone = rollout_demos(policy, truncated_env, 2)
    assert demos["observations"].shape[1] == 105 and not meta["truncated_obs"]
    assert np.array_equal(demos["observations"][:, :27], alone["observations"])
    assert np.array_equal(demos["actions"], alone["actions"])


def test_a_run_started_from_another_takes_its_buffer_or_refills_one(tiny_expert, tmp_path):
    """``--init-from`` takes the other run's networks and, from the full checkpoint of a run on the same
    task, its replay buffer, updating at once; from a portable checkpoint alone, or from a run on
    another task (whose buffer holds that task's rewards), it first refills a buffer with that policy,
    so with fewer steps than ``learning_starts`` its final policy is the other run's. Guards the
    loading, the buffer taken over, and that a refilled buffer is full before the first update."""
    import shutil

    from hyirl import checkpoint

    args = ["expert", "train", "pendulum", "--steps", "256", "--learning-starts", "320", "--eval-every", "256"]
    portable_only, other_task = tmp_path / "portable-only", tmp_path / "other-task"
    for copy in (portable_only, other_task):
        shutil.copytree(tiny_expert, copy)
    (portable_only / "checkpoints" / "learner.npz").unlink()
    config = other_task / "config.json"
    config.write_text(config.read_text().replace('"env": "pendulum"', '"env": "hopper"'))
    for source in (tiny_expert, portable_only, other_task):
        out = tmp_path / f"from-{source.name}"
        assert main([*args, "--init-from", str(source), "--out", str(out), "--no-progress"]) == 0
        assert json.loads((out / "config.json").read_text())["init_from"] == str(source)
    full, _ = checkpoint.load_npz(tiny_expert / "checkpoints" / "learner.npz", "checkpoint")
    started, _ = checkpoint.load_npz(tmp_path / "from-run" / "checkpoints" / "learner.npz", "checkpoint")
    assert np.array_equal(started["buffer/obs"][: len(full["buffer/obs"])], full["buffer/obs"])
    assert len(started["buffer/obs"]) == len(full["buffer/obs"]) + 256
    portable, _ = checkpoint.load_npz(tiny_expert / "checkpoints" / "portable.npz", "checkpoint")
    for run, source in (("run", full), ("portable-only", portable), ("other-task", portable)):
        final, _ = checkpoint.load_npz(tmp_path / f"from-{run}" / "final_policy.npz", "policy")
        same = all(np.array_equal(v, source[f"state/actor_params/params/{k}"]) for k, v in final.items())
        assert same == (run != "run"), run


def test_a_linear_schedule_anneals_every_update_chunk_to_zero(tmp_path, monkeypatch):
    """``--lr-schedule linear`` (for continuing a swinging expert run): each chunk of updates gets
    sac.learning_rate * (1 - env_steps / steps), so the rate falls to 0 by the run's end; the default
    stays the paper's constant rate. Guards that the loop passes the schedule to the updates."""
    from hyirl.learner import OnlineSAC

    seen = []
    collect = OnlineSAC.collect
    monkeypatch.setattr(
        OnlineSAC, "collect", lambda self, n, **kw: (seen.append(kw["learning_rate"]), collect(self, n, **kw))[1]
    )
    base = ["expert", "train", "pendulum", "--steps", "512", "--learning-starts", "128", "--eval-every", "512"]
    assert main([*base, "--lr-schedule", "linear", "--out", str(tmp_path / "linear"), "--no-progress"]) == 0
    assert np.allclose(seen, [3e-4 * (1 - 64 * i / 512) for i in range(8)])
    seen.clear()
    assert main([*base, "--out", str(tmp_path / "constant"), "--no-progress"]) == 0
    assert seen == [3e-4] * 8
    with pytest.raises(HyirlError, match="lr_schedule='cosine' must be one of"):
        ExpertConfig("pendulum", lr_schedule="cosine")


@pytest.mark.parametrize("source", ["run directory", "policy file"])
def test_ship_copies_the_chosen_policy_with_its_manifest(tiny_expert, tmp_path, monkeypatch, source):
    """Guards `hyirl expert ship SOURCE`: a run directory ships its best policy, a policy file (e.g. a
    later actor the selection did not keep) ships that file; the packaged arrays are the source's and
    the manifest names its training steps, how it was chosen and the source's hyirl version (an
    editable install's metadata keeps the version it was installed at: faked stale here)."""
    import importlib.metadata

    import hyirl
    import hyirl.experts

    monkeypatch.setattr(hyirl.experts, "SHIPPED_DIR", tmp_path / "shipped")
    installed = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda p: "0.0.1" if p == "hyirl" else installed(p))
    path = tiny_expert if source == "run directory" else tiny_expert / "final_policy.npz"
    assert main(["expert", "ship", str(path), "--episodes", "2"]) == 0
    chosen = tiny_expert / ("best_policy.npz" if source == "run directory" else "final_policy.npz")
    shipped = tmp_path / "shipped" / "pendulum"
    manifest = json.loads((shipped / "manifest.json").read_text())
    assert manifest["training_steps"] == load_policy(chosen)[1]["steps"]
    assert ("final_policy.npz" in manifest["command"]) == (source == "policy file")
    assert manifest["versions"]["hyirl"] == hyirl.__version__
    with np.load(shipped / "policy.npz") as got, np.load(chosen) as want:
        assert sorted(got.files) == sorted(want.files)
        assert all(np.array_equal(got[k], want[k]) for k in want.files)
