import importlib.util
import json
import struct
from pathlib import Path

import pytest
from tensorboardX.proto.event_pb2 import Event, SessionLog

from hyirl import __version__
from hyirl.errors import HyirlError
from hyirl.runs import RunDir, StepProgress


def test_resume_checks_config_but_lets_steps_grow_and_new_empty_fields_in(tmp_path):
    config = dict(algo="hype", env="hopper", steps=100, sac=dict(hidden=[256, 256]))
    run = RunDir(tmp_path / "r", config)
    run.finish(env_steps=100)
    RunDir(tmp_path / "r", {**config, "steps": 200, "settings": []}, resume=True)  # a field newer code added
    assert not (tmp_path / "r" / "done.json").exists()  # resumed: unfinished until its loop ends again
    for changed in ({"sac": dict(hidden=[512, 512])}, {"settings": ["sac.hidden=[512,512]"]}):
        with pytest.raises(HyirlError, match="config differs"):
            RunDir(tmp_path / "r", {**config, "settings": [], **changed}, resume=True)


def test_a_new_run_never_reuses_a_run_directory(tmp_path):
    RunDir(tmp_path / "r", dict(algo="mm"))
    with pytest.raises(HyirlError, match="already holds a run"):
        RunDir(tmp_path / "r", dict(algo="mm"))


def test_a_new_run_never_writes_among_the_seeds_of_a_multi_seed_run_or_inside_a_run(tmp_path):
    """Guards the one-run-per-directory rule across the two layouts: a single-seed run must not write
    its records beside a ``--seeds`` run's ``sSEED`` directories (once this wrote a Pendulum run into a
    Humanoid run's directory), nor a seed's directory go inside a single-seed run."""
    RunDir(tmp_path / "multi" / "s0", dict(algo="mm"))
    with pytest.raises(HyirlError, match="multi/s0 already holds a run"):
        RunDir(tmp_path / "multi", dict(algo="mm"))
    RunDir(tmp_path / "multi" / "s1", dict(algo="mm"))  # the next seed of the same run is welcome
    RunDir(tmp_path / "single", dict(algo="mm"))
    with pytest.raises(HyirlError, match="single already holds a run"):
        RunDir(tmp_path / "single" / "s0", dict(algo="mm"))
    assert not (tmp_path / "multi" / "config.json").exists() and not (tmp_path / "single" / "s0").exists()


def test_resume_refuses_a_run_made_by_another_code_version(tmp_path):
    run_dir = tmp_path / "r"
    RunDir(run_dir, dict(algo="mm", steps=100)).finish(env_steps=100)
    config_file = run_dir / "config.json"
    config_file.write_text(config_file.read_text().replace('"hyirl_version": "', '"hyirl_version": "0.0.1-'))
    before = config_file.read_text()
    with pytest.raises(HyirlError, match=r"made by hyirl 0\.0\.1-.*this is hyirl"):
        RunDir(run_dir, dict(algo="mm", steps=100), resume=True)
    assert config_file.read_text() == before and (run_dir / "done.json").exists()  # nothing touched


def test_resume_continues_a_run_of_a_version_declared_readable(tmp_path):
    """Guards the runs' continuation across versions: an old run is continued only where its version
    is one of the releases from the caller's ``readable_since`` to this one (a newer one, or one
    before it, is refused), and the config records every version that trained it."""
    run_dir = tmp_path / "r"
    RunDir(run_dir, dict(algo="expert", steps=100)).close()
    config_file = run_dir / "config.json"
    current = json.loads(config_file.read_text())["hyirl_version"]
    for version, since in (("0.0.1", "0.0.2"), ("999.0.0", "0.0.1"), ("0.0.1-dev", "0.0.1")):
        config_file.write_text(
            config_file.read_text().replace(f'"hyirl_version": "{current}', f'"hyirl_version": "{version}')
        )
        with pytest.raises(HyirlError, match=f"made by hyirl {version}, this is hyirl"):
            RunDir(run_dir, dict(algo="expert", steps=100), resume=True, readable_since=since)
        current = version
    config_file.write_text(config_file.read_text().replace(f'"hyirl_version": "{current}', '"hyirl_version": "0.0.10'))
    RunDir(
        run_dir, dict(algo="expert", steps=200), resume=True, readable_since="0.0.9"
    ).close()  # 10 > 9, not "1" < "9"
    saved = json.loads(config_file.read_text())
    assert saved["earlier_versions"] == ["0.0.10"] and saved["hyirl_version"] != "0.0.10" and saved["steps"] == 200
    RunDir(run_dir, dict(algo="expert", steps=200), resume=True).close()  # now of this version
    assert json.loads(config_file.read_text())["earlier_versions"] == ["0.0.10"]


def test_resuming_a_run_killed_before_its_first_checkpoint_starts_it_again(tmp_path):
    config = dict(algo="mm", steps=100)
    killed = RunDir(tmp_path / "r", config)
    killed.log(dict(env_steps=0, eval_return_mean=1.0))
    killed.close()  # as the operating system does for a killed process
    again = RunDir(tmp_path / "r", config, resume=True)
    assert not again.resumed and not again.metrics_file.exists()  # step 0's record will be logged again
    again.checkpoint_file.write_bytes(b"")
    again.close()
    assert RunDir(tmp_path / "r", config, resume=True).resumed


def test_cost_adds_up_across_a_resume_and_drops_with_the_records_after_the_checkpoint(tmp_path, monkeypatch):
    """Guards cost.jsonl, the per-method cost figures of docs/benchmarks.md: each record's seconds count
    from the run's start, a resumed process adds its own to those of the last record kept, and the
    records after the checkpoint go with their metrics. Fails if a resume restarts the count at zero."""
    clock = {"wall": 100.0, "cpu": 5.0}
    monkeypatch.setattr("hyirl.runs.time.monotonic", lambda: clock["wall"])
    monkeypatch.setattr("hyirl.runs.time.process_time", lambda: clock["cpu"])
    first = RunDir(tmp_path / "r", dict(algo="mm", steps=300))
    for steps in (100, 200):
        clock["wall"] += 10.0
        clock["cpu"] += 8.0
        first.log(dict(env_steps=steps, eval_return_mean=1.0))
    first.checkpoint_file.write_bytes(b"")  # the checkpoint is at 100 steps: the 200-step record is dropped
    first.close()
    clock.update(wall=50.0, cpu=1.0)  # a new process: its clocks start again
    again = RunDir(tmp_path / "r", dict(algo="mm", steps=300), resume=True)
    again.truncate_metrics(100)
    clock["wall"] += 30.0
    clock["cpu"] += 20.0
    again.log(dict(env_steps=300, eval_return_mean=2.0))
    costs = [json.loads(line) for line in again.cost_file.read_text().splitlines()]
    assert costs == [dict(env_steps=100, wall_s=10.0, cpu_s=8.0), dict(env_steps=300, wall_s=40.0, cpu_s=28.0)]
    assert [json.loads(line)["env_steps"] for line in again.metrics_file.read_text().splitlines()] == [100, 300]


def test_a_seed_trained_beside_others_is_charged_its_share_of_the_process(tmp_path, monkeypatch):
    """Guards the per-seed cost of ``--seeds`` runs (docs/benchmarks.md): the process's seconds are in
    every seed's cost records, which say how many seeds shared them, and benchmarks/run_cost.py charges
    each seed its share. Fails if the records drop ``process_seeds`` or the script ignores it."""
    spec = importlib.util.spec_from_file_location("run_cost", Path(__file__).parents[1] / "benchmarks" / "run_cost.py")
    run_cost = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_cost)
    clock = {"wall": 0.0, "cpu": 0.0}
    monkeypatch.setattr("hyirl.runs.time.monotonic", lambda: clock["wall"])
    monkeypatch.setattr("hyirl.runs.time.process_time", lambda: clock["cpu"])
    config = dict(algo="mm", env="hopper", steps=300)
    seeds = [RunDir(tmp_path / f"s{seed}", config, process_seeds=3) for seed in range(3)]
    for steps in (100, 200):
        clock["wall"] += 30.0
        clock["cpu"] += 60.0
        for run in seeds:
            run.log(dict(env_steps=steps, eval_return_mean=1.0))
    record = json.loads(seeds[0].cost_file.read_text().splitlines()[-1])
    assert record == dict(env_steps=200, wall_s=60.0, cpu_s=120.0, process_seeds=3)
    cost = run_cost.run_cost(tmp_path / "s1")
    assert (cost["steps"], cost["cpu_s"], cost["wall_s"]) == (200, 40.0, 20.0)
    alone = RunDir(tmp_path / "alone", config)
    alone.log(dict(env_steps=100, eval_return_mean=1.0))
    assert "process_seeds" not in json.loads(alone.cost_file.read_text())


def test_a_run_directory_is_trained_by_one_process_at_a_time(tmp_path):
    config = dict(algo="mm", steps=100)
    first = RunDir(tmp_path / "r", config)
    before = (tmp_path / "r" / "config.json").read_text()
    with pytest.raises(HyirlError, match=r"being trained by another process \(pid \d+\)"):
        RunDir(tmp_path / "r", config, resume=True)
    assert (tmp_path / "r" / "config.json").read_text() == before
    first.finish(env_steps=100)
    RunDir(tmp_path / "r", {**config, "steps": 200}, resume=True)  # free again once the first has finished


def _tensorboard_restarts(run_dir) -> list[int]:
    """Steps of the restart events in a run's TensorBoard files (TensorBoard hides older events from there on)."""
    steps = []
    for path in sorted((run_dir / "tb").iterdir()):
        data = path.read_bytes()
        while data:  # TFRecord: length (8 bytes), its CRC (4), payload, payload CRC (4)
            (length,) = struct.unpack("<Q", data[:8])
            event = Event.FromString(data[12 : 12 + length])
            if event.session_log.status == SessionLog.START:
                steps.append(event.step)
            data = data[16 + length :]
    return steps


def test_resumed_runs_hide_the_killed_process_tensorboard_events_after_the_checkpoint(tmp_path):
    config = dict(algo="mm", steps=100)
    killed = RunDir(tmp_path / "r", config)
    for step in (0, 10, 20):
        killed.log(dict(env_steps=step, eval_return_mean=1.0))
    killed.checkpoint_file.write_bytes(b"")  # saved at step 10, killed after logging step 20
    killed.close()
    resumed = RunDir(tmp_path / "r", config, resume=True)
    resumed.truncate_metrics(10)
    resumed.log(dict(env_steps=20, eval_return_mean=2.0))
    resumed.close()
    assert _tensorboard_restarts(tmp_path / "r") == [11]


def test_a_run_started_again_from_step_0_hides_all_its_earlier_tensorboard_events(tmp_path):
    config = dict(algo="mm", steps=100)
    killed = RunDir(tmp_path / "r", config)
    killed.log(dict(env_steps=0, eval_return_mean=1.0))
    killed.close()
    again = RunDir(tmp_path / "r", config, resume=True)
    again.log(dict(env_steps=0, eval_return_mean=1.0))
    again.close()
    assert _tensorboard_restarts(tmp_path / "r") == [0]


def test_progress_shows_time_left_from_the_mean_rate(monkeypatch):
    """Guards the time-remaining column: rich's own estimate only looks at the last 30 s and showed
    -:--:-- for hours when updates come once per 5k-step round; the mean rate since start always has one."""
    import hyirl.runs

    clock = iter([0.0, 40.0, 100.0])
    monkeypatch.setattr(hyirl.runs.time, "perf_counter", lambda: next(clock))
    bar = StepProgress(10_000, "test", start=1_000, enabled=False)
    bar.update(1_400)  # 400 steps in 40 s: 10 steps/s, 8,600 left
    assert bar.progress.tasks[0].fields["left"] == "0:14:20"
    bar.update(2_000)  # 1,000 steps in 100 s
    assert bar.progress.tasks[0].fields["left"] == "0:13:20"


def test_progress_of_a_slow_unit_shows_its_rate_and_a_small_score(monkeypatch):
    """Guards the bar of AntMaze's model pretraining (minutes an epoch): a rate below 1 per second and
    a held-out error below 1 keep their digits instead of showing 0.0, and a fit with no epoch bound
    (early stopping only, AntMaze's preset) shows no time left instead of failing."""
    import hyirl.runs

    clock = iter([0.0, 120.0])
    monkeypatch.setattr(hyirl.runs.time, "perf_counter", lambda: next(clock))
    bar = StepProgress(100, "pretraining", enabled=False, unit="epochs", score="val mse")
    bar.update(2, 0.012345)
    fields = bar.progress.tasks[0].fields
    assert (fields["rate"], fields["eval"], fields["left"]) == ("0.0167", "0.01235", "1:38:00")
    clock = iter([0.0, 120.0])
    unbounded = StepProgress(None, "pretraining", enabled=False, unit="epochs", score="val mse")  # early stopping only
    unbounded.update(2, 0.012345)
    assert unbounded.progress.tasks[0].fields["left"] == "-"


def test_progress_without_a_terminal_prints_a_line_a_minute_and_at_the_end(monkeypatch):
    """Guards the progress of background and batch jobs: without a terminal rich's live bar shows
    nothing until the work is over, so the fields come as plain lines, the first at once, then at most
    one per ``line_every_s``, and a last one at the end, never wrapped (a log's console is 80 wide);
    with a terminal, the live bar and no lines."""
    import io

    from rich.console import Console

    import hyirl.runs

    clock = iter([0.0, 10.0, 30.0, 75.0, 80.0])
    monkeypatch.setattr(hyirl.runs.time, "perf_counter", lambda: next(clock))
    log = io.StringIO()
    with StepProgress(10_000, "hyper hopper", console=Console(file=log, width=40), line_every_s=60.0) as bar:
        bar.update(100)  # t = 10: the first line
        bar.update(300, 12.5)  # t = 30: within the minute, no line
        bar.update(750)  # t = 75: a minute after the first
        bar.update(800)  # t = 80: no line, but the last one at the end
    assert log.getvalue().splitlines() == [
        "hyper hopper: 100/10,000 steps, 10.0 steps/s, eval -, 0:16:30 left",
        "hyper hopper: 750/10,000 steps, 10.0 steps/s, eval 12.5, 0:15:25 left",
        "hyper hopper: 800/10,000 steps, 10.0 steps/s, eval 12.5, 0:15:20 left",
    ]
    clock = iter([0.0, 10.0])
    terminal = StepProgress(10_000, "t", console=Console(file=io.StringIO(), force_terminal=True))
    terminal.update(100)
    assert not terminal.progress.disable and not terminal._lines


def test_a_note_shows_work_between_updates_with_the_rate_brought_up_to_now(monkeypatch):
    """Guards the progress of a long model fit between two real steps (the paper preset's first fit
    runs for an hour on a CPU): a note goes into the line with the rate and time left of the moment,
    keeps the once-a-minute limit, and is gone once cleared."""
    import io

    from rich.console import Console

    import hyirl.runs

    clock = iter([0.0, 10.0, 30.0, 70.0, 200.0])
    monkeypatch.setattr(hyirl.runs.time, "perf_counter", lambda: next(clock))
    log = io.StringIO()
    with StepProgress(10_000, "hyper hopper", console=Console(file=log, width=40), line_every_s=60.0) as bar:
        bar.update(100)  # t = 10: the first line
        bar.note("model fit: epoch 1")  # t = 30: within the minute, no line
        bar.note("model fit: epoch 2")  # t = 70: a minute after the first
        bar.note("")  # t = 200: cleared; the last line at the end
    assert log.getvalue().splitlines() == [
        "hyper hopper: 100/10,000 steps, 10.0 steps/s, eval -, 0:16:30 left",
        "hyper hopper: 100/10,000 steps, 1.4 steps/s, eval -, 1:55:30 left, model fit: epoch 2",
        "hyper hopper: 100/10,000 steps, 0.5000 steps/s, eval -, 5:30:00 left",
    ]


def test_a_setting_newer_than_the_run_matches_only_at_its_default(tmp_path):
    """Resuming an older run whose config lacks a setting added since (top level or nested): the
    setting at its default (what the older code did) matches, any other value is refused."""
    run_dir = tmp_path / "r"
    RunDir(run_dir, dict(algo="mm", steps=100, model=dict(hidden=[8]))).close()
    defaults = dict(policy="sac", model=dict(hidden=[4], split="random"))
    now = dict(algo="mm", steps=100, policy="sac", model=dict(hidden=[8], split="random"))
    RunDir(run_dir, now, resume=True, defaults=defaults).close()
    config_file = run_dir / "config.json"
    for key, changed in (("policy", "td3bc"), ("model", dict(hidden=[8], split="spatial"))):
        config_file.write_text(
            json.dumps(dict(algo="mm", steps=100, model=dict(hidden=[8]), hyirl_version=__version__))
        )
        with pytest.raises(HyirlError, match=f"differs in {key}"):
            RunDir(run_dir, {**now, key: changed}, resume=True, defaults=defaults)
    with pytest.raises(HyirlError, match="differs in model"):  # an existing setting still has to match
        RunDir(run_dir, {**now, "model": dict(hidden=[16], split="random")}, resume=True, defaults=defaults)
