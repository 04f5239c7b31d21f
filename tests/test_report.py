import json

import numpy as np
import pytest
from rliable import metrics

from hyirl.cli import main
from hyirl.errors import HyirlError
from hyirl.presets import hyper_preset
from hyirl.report import _iqm_per_column, load_run, method_label


def _fake_run(root, algo, seed, slope, env="hopper", steps=(50_000, 100_000, 150_000, 200_000), **options):
    path = root / f"{algo}-{seed}{''.join(map(str, options.values()))}"
    path.mkdir()
    (path / "config.json").write_text(json.dumps(dict(algo=algo, env=env, seed=seed, **options)))
    lines = [json.dumps(dict(env_steps=s, policy_steps=s, eval_return_mean=slope * s / 1000 + seed)) for s in steps]
    (path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return path


def test_report_tables_plots_and_improvement(tmp_path):
    runs = [_fake_run(tmp_path, "hype", s, slope=10) for s in range(3)] + [
        _fake_run(tmp_path, "mm", s, slope=5) for s in range(3)
    ]
    out = tmp_path / "report"
    assert main(["report", *map(str, runs), "--out", str(out), "--at", "100000,200000"]) == 0
    text = (out / "report.md").read_text()
    assert "| hype | 3 | 1001 [1000, 1002] | 2120 |" in text  # IQM of 1000, 1001, 1002; paper's HyPE at 100k
    assert "| mm | 3 | 501 [500, 502] | 1085 |" in text
    assert "| hype | – | 1.00 |" in text and "| mm | 0.00 | – |" in text
    assert (out / "hopper.png").stat().st_size > 10_000
    (tmp_path / "intro.md").write_text("Made by `hyirl sweep ...`.\n")
    args = ["--out", str(tmp_path / "docs" / "results.md"), "--intro", str(tmp_path / "intro.md")]
    assert main(["report", *map(str, runs), *args]) == 0
    text = (tmp_path / "docs" / "results.md").read_text()
    assert "![hopper](results/hopper.png)" in text and "Made by `hyirl sweep ...`." in text
    assert (tmp_path / "docs" / "results" / "hopper.png").is_file()


def test_report_bad_input(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "r")]) == 2
    assert "no run directories" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "r")]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_report_keeps_variants_of_a_method_apart(tmp_path):
    fresh = [_fake_run(tmp_path, "hype", s, slope=10, disc_samples="fresh") for s in range(3)]
    recent = [_fake_run(tmp_path, "hype", s, slope=8, disc_samples="recent") for s in range(3)]
    out = tmp_path / "report"
    assert main(["report", *map(str, fresh + recent), "--out", str(out), "--at", "100000"]) == 0
    text = (out / "report.md").read_text()
    assert "| hype | 3 | 1001 [1000, 1002] | 2120 |" in text
    assert "| hype (disc_samples=recent) | 3 | 801 [800, 802] | 2120 |" in text


def test_improvement_leaves_out_methods_whose_runs_stop_early(tmp_path):
    runs = [_fake_run(tmp_path, "hype", s, slope=10) for s in range(3)]
    runs += [_fake_run(tmp_path, "mm", s, slope=5) for s in range(3)]
    runs += [_fake_run(tmp_path, "hyper", s, slope=20, steps=(10_000, 50_000)) for s in range(2)]
    out = tmp_path / "report"
    assert main(["report", *map(str, runs), "--out", str(out), "--at", "50000,200000"]) == 0
    text = (out / "report.md").read_text()
    assert "Probability of improvement P(row > column) at 200k env_steps:" in text
    assert "| | hype | mm |" in text and "| hype | – | 1.00 |" in text


def test_load_run_reads_the_named_evaluation_metric(tmp_path):
    path = _fake_run(tmp_path, "hyper", 0, slope=1, steps=(10_000, 20_000))
    lines = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    (path / "metrics.jsonl").write_text("".join(json.dumps({**r, "eval_return_latest": 7.0}) + "\n" for r in lines))
    assert load_run(path)["returns"].tolist() == [10.0, 20.0]
    assert load_run(path, "eval_return_latest")["returns"].tolist() == [7.0, 7.0]
    with pytest.raises(HyirlError, match="eval_return_ema500"):
        load_run(path, "eval_return_ema500")


def test_antmaze_is_scored_by_its_success_rate(tmp_path):
    """On AntMaze the report's score is the success rate in % (the return is its fraction), beside the
    paper's BC (29.5 % on diverse); BC alone is a table row without a plot. Its label says the data
    are hyirl's, not the paper's D4RL files."""
    runs = []
    for seed, success in enumerate((20.0, 40.0, 60.0)):
        path = tmp_path / f"bc-{seed}"
        path.mkdir()
        (path / "config.json").write_text(json.dumps(dict(env="antmaze-large-diverse", seed=seed, grad_steps=1000)))
        record = dict(env_steps=0, grad_steps=1000, eval_return_mean=success / 100, eval_success_pct=success)
        (path / "metrics.jsonl").write_text(json.dumps(record) + "\n")
        runs.append(path)
    out = tmp_path / "report"
    assert main(["report", *map(str, runs), "--out", str(out), "--at", "100000"]) == 0
    text = (out / "report.md").read_text()
    assert "Score: success rate (%)." in text and "| bc (hyirl data) | 3 | 40 [20, 60] | 30 |" in text
    assert not (out / "antmaze-large-diverse.png").exists()


def test_antmaze_paper_curves_sit_on_their_own_grid(tmp_path):
    """AntMaze's paper curves are on their own x grids (model-free every 25k, HyPER every 10k from 10k):
    HyPE+FILTER's 39 % at 100k and HyPER's 49 % at 20k on diverse. Read on the MuJoCo grids they
    would be 30 % (the 25k point) and 46 % (the third point); at 20k HyPE+FILTER is read between
    its 0 and 25k points (10 %, 30 %). AntMaze's preset has no SB3 rounds, so a run without them is
    the paper's method, not a variant."""
    runs = []
    for algo, steps in (("hype-filter", (25_000, 100_000)), ("hyper", (10_000, 20_000))):
        for seed in range(3):
            path = tmp_path / f"{algo}-{seed}"
            path.mkdir()
            config = dict(algo=algo, env="antmaze-large-diverse", seed=seed, reference_rounds=False)
            (path / "config.json").write_text(json.dumps(config))
            records = [dict(env_steps=s, eval_return_mean=0.1, eval_success_pct=10.0 + seed) for s in steps]
            (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
            runs.append(path)
    out = tmp_path / "report"
    assert main(["report", *map(str, runs), "--out", str(out), "--at", "20000,100000"]) == 0
    text = (out / "report.md").read_text()
    assert "| hype-filter (hyirl data) | 3 | – | 26 | 11 [10, 12] | 39 |" in text
    assert "| hyper efficient (hyirl data) | 3 | 11 [10, 12] | 49 | – | 41 |" in text


@pytest.mark.parametrize("runs", [1, 2, 3, 4, 5, 8, 10])
def test_column_iqm_is_rliables_iqm(runs):
    scores = np.random.default_rng(runs).normal(size=(runs, 6)) * 1000
    expected = [metrics.aggregate_iqm(scores[:, j]) for j in range(6)]
    np.testing.assert_array_equal(_iqm_per_column(scores), expected)


def test_hyper_labels_name_the_preset_and_every_non_paper_option(tmp_path):
    """Guards honest labels: an ``efficient`` HyPER run that deploys the best of 10 snapshots used to be
    reported as plain "hyper" beside the paper's curve; and a setting unlike today's preset (a --set, or
    a preset value that has changed since the run) is named with the run's value, while a --set equal
    to it, or SAC's -dim(A) written out, is not; a config made before ``sac.init`` existed started from
    LeCun's weights, which the paper preset no longer does. Fails with the comparison dropped or inverted,
    or with a missing field or the unused policy's settings counted wrongly."""
    efficient = _fake_run(
        tmp_path,
        "hyper",
        0,
        slope=20,
        steps=(10_000, 20_000),
        preset="efficient",
        select_epochs=10,
        start_coin="state",
        learner_start_window=5000,
        policy_averages=[],
        uncertainty_penalty=0.0,
        updates_per_step=20,
        model_every=2 * hyper_preset("hopper", "efficient")["model_every"],
        sac=dict(target_entropy=-3.0),
        settings=["updates_per_step=20", "select_epochs=10"],
    )
    paper = _fake_run(
        tmp_path,
        "hyper",
        1,
        slope=20,
        steps=(10_000, 20_000),
        preset="paper",
        select_epochs=0,
        start_coin="event",
        learner_start_window=None,
        policy_averages=[],
        uncertainty_penalty=0.0,
    )
    today = hyper_preset("hopper", "efficient")
    assert today["sac"]["target_entropy"] is None
    assert load_run(efficient)["method"] == (
        "hyper efficient (best of 10 snapshots, starts mixed per state, learner starts <= 5k old, "
        f"updates_per_step=20, model_every={2 * today['model_every']})"
    )
    set_as_today = _fake_run(
        tmp_path, "hyper", 3, slope=1, model_every=today["model_every"], settings=["model_every=X"]
    )
    assert load_run(set_as_today)["method"] == "hyper efficient"
    assert load_run(paper)["method"] == 'hyper paper (sac.init="lecun")'  # made before the field: LeCun's
    for env, label in (
        ("hopper", 'hyper paper (sac.init="lecun")'),
        ("antmaze-large-play", "hyper paper (hyirl data)"),
    ):
        policy = hyper_preset(env, "paper").get("policy", "sac")
        made = dict(env=env, preset="paper", policy=policy, sac=dict(init="lecun"))
        assert method_label("hyper", made) == label  # AntMaze's TD3 run: its SAC settings played no part in it
    for truncated, label in ((True, "hyper efficient"), (False, "hyper efficient (truncated_obs=false)")):
        ant = _fake_run(tmp_path, "hyper", 4, slope=1, env="ant", preset="efficient", truncated_obs=truncated)
        assert load_run(ant)["method"] == label  # the paper's Ant observations are the truncated ones
    assert load_run(_fake_run(tmp_path, "hype", 0, slope=1))["method"] == "hype"


def test_labels_name_a_discriminator_initialised_unlike_the_reference(tmp_path):
    """Guards the labels of runs whose discriminator did not start as the reference's: configs written
    before hyirl 0.3.0 carry no ``disc.init`` and used LeCun's init, and were reported as the paper's
    method. An explicit ``--set disc.init=...`` is named once."""
    before_0_3 = _fake_run(tmp_path, "hype", 0, slope=1, disc=dict(hidden=[256, 256]))
    reference = _fake_run(tmp_path, "hype", 1, slope=1, disc=dict(init="torch"))
    chosen = _fake_run(tmp_path, "hyper", 2, slope=1, disc=dict(init="lecun"), settings=["disc.init=lecun"])
    assert load_run(before_0_3)["method"] == "hype (disc.init=lecun)"
    assert load_run(reference)["method"] == "hype"
    assert load_run(chosen)["method"] == "hyper efficient (disc.init=lecun)"


def test_labels_name_runs_with_the_references_contact_margins():
    """Guards the label of ``contact_margins=reference`` (MuJoCo <= 3.4's contacts on a newer MuJoCo):
    such a run is named so beside the paper's number, and a run made before the field is not."""
    ant = dict(env="ant", contact_forces=False)
    assert method_label("hype", dict(ant, contact_margins="reference")) == "hype (contact_margins=reference)"
    assert method_label("hype", ant) == "hype"
    humanoid = dict(env="humanoid", preset="efficient", select_epochs=0)
    assert (
        method_label("hyper", dict(humanoid, contact_margins="reference"))
        == 'hyper efficient (contact_margins="reference")'
    )
    assert method_label("hyper", humanoid) == "hyper efficient"


def test_labels_name_td3_bc_runs_whose_bc_updates_delayed_the_actor():
    """Guards the AntMaze labels of the BC-update change of 0.15.0: a TD3-BC config written before it
    carries no ``bc_delayed_actor`` and delayed the actor during BC (the reference's first version), so
    it is named; the latest behaviour is not, a SAC run never is, and an explicit --set is named once."""
    maze = dict(env="antmaze-large-diverse", policy="td3bc", demos_file=None)
    before = method_label("bc", dict(maze, td3=dict(hidden=[256, 256])))
    assert before == "bc (td3.bc_delayed_actor=true, hyirl data)"
    assert method_label("bc", dict(maze, td3=dict(bc_delayed_actor=False))) == "bc (hyirl data)"
    chosen = dict(maze, td3=dict(bc_delayed_actor=True), settings=["td3.bc_delayed_actor=true"])
    assert method_label("hype-filter", chosen) == "hype-filter (td3.bc_delayed_actor=true, hyirl data)"
    assert method_label("mm", dict(env="walker2d", policy="sac", td3=dict(hidden=[256, 256]))) == "mm"


def test_an_antmaze_mm_run_is_named_for_the_three_methods_it_stands_for():
    """Guards the AntMaze MM row's name: under the preset's ``td3_hybrid_methods`` HyPE and BC-Reg
    train as MM (tests/test_irl.py::test_hype_and_bc_reg_are_mm_on_antmaze), so its runs stand for the
    three; once HyPE gets hybrid batches, or on a SAC task, MM is MM alone."""
    from hyirl.presets import model_free_preset

    maze = dict(env="antmaze-large-play", policy="td3bc", td3=dict(bc_delayed_actor=False), demos_file=None)
    preset = dict(maze, td3_hybrid_methods=list(model_free_preset("antmaze-large-play")["td3_hybrid_methods"]))
    assert method_label("mm", preset) == "mm = hype = bc-reg (hyirl data)"
    assert method_label("hype", preset) == "hype (hyirl data)"
    every_hybrid = dict(maze, td3_hybrid_methods=None, settings=["td3_hybrid_methods=null"])
    assert method_label("mm", every_hybrid) == "mm (td3_hybrid_methods=null, hyirl data)"
    assert method_label("mm", dict(env="hopper", policy="sac", td3_hybrid_methods=["hype-filter"])) == "mm"


def test_antmaze_runs_made_before_the_goal_terminals_are_named_so():
    """Guards the labels of AntMaze runs made, even in part, before hyirl 0.17.0 gave the data D4RL's
    terminal flag at the evaluation goal (docs/antmaze.md): before 0.16.0 no row was terminal, in
    0.16.x the rows at their own goals were. They read other data than the paper's. BC (which reads
    no flag), MuJoCo runs and ``goal_ends_episode=false`` runs are not named so."""
    maze = dict(env="antmaze-large-play", demos_file=None, hyirl_version="0.17.0")
    assert method_label("hype-filter", maze) == "hype-filter (hyirl data)"
    own_goals = dict(maze, hyirl_version="0.16.0")
    assert method_label("filter", own_goals) == "filter (hyirl data, terminals at own goals)"
    extended = dict(maze, earlier_versions=["0.16.0"])
    assert method_label("mm", extended) == "mm (hyirl data, terminals at own goals)"
    old = dict(maze, hyirl_version="0.15.1")
    assert method_label("hype-filter", old) == "hype-filter (hyirl data, no goal terminals)"
    resumed = dict(maze, earlier_versions=["0.15.0", "0.16.0"])
    assert method_label("hyper", dict(resumed, preset="paper")) == "hyper paper (hyirl data, no goal terminals)"
    assert method_label("bc", old) == "bc (hyirl data)"
    goes_on = dict(old, goal_ends_episode=False, settings=["goal_ends_episode=false"])
    assert method_label("hype-filter", goes_on) == "hype-filter (goal_ends_episode=false, hyirl data)"
    assert method_label("filter", dict(env="hopper", hyirl_version="0.16.0")) == "filter"


def test_labels_name_demonstrations_unlike_the_papers():
    """Guards the labels of runs on other data than the paper's: a ``--demos-file`` is named (the
    paper's demos come from its experts, as hyirl's shipped ones), and so is a HyPER run on hyirl's
    own AntMaze data."""
    assert method_label("mm", dict(env="walker2d", demos_file="/data/hand-made.npz")) == "mm (demos hand-made.npz)"
    assert method_label("mm", dict(env="walker2d", demos_file=None)) == "mm"
    maze = dict(env="antmaze-large-play", preset="paper", demos_file=None)
    assert method_label("hyper", maze) == "hyper paper (hyirl data)"


def test_ant_and_humanoid_runs_that_observed_contact_forces_are_named_so():
    """Guards the labels of the reference's observation on Ant and Humanoid (no contact forces, the
    presets' default since 0.25.0): a run that observed v5's contact forces, including every run made
    before the field existed, is named ``contact_forces=true``; one made as the preset says is not,
    even where ``--set`` chose it before it was the default; other tasks never are."""
    assert method_label("hype", dict(env="humanoid")) == "hype (contact_forces=true)"
    assert method_label("bc", dict(env="ant", contact_forces=True)) == "bc (contact_forces=true)"
    chosen = dict(env="humanoid", contact_forces=False, settings=["contact_forces=false"])
    assert method_label("filter", chosen) == "filter"
    assert method_label("mm", dict(env="hopper")) == "mm"
