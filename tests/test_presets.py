import json

import pytest

from hyirl.cli import main
from hyirl.errors import HyirlError
from hyirl.hyper import HyPERConfig
from hyirl.irl import IRLConfig
from hyirl.presets import apply_settings, build_config, hyper_preset, model_free_preset


def test_settings_override_top_level_and_nested_values():
    preset = hyper_preset("hopper", "efficient")
    merged = apply_settings(
        HyPERConfig, preset, ["updates_per_step=20", "sac.hidden=[512,512]", "disc.ensemble_size=1"]
    )
    cfg = build_config(HyPERConfig, merged, {}, env="hopper")
    assert cfg.updates_per_step == 20 and cfg.sac.hidden == (512, 512) and cfg.disc.ensemble_size == 1
    assert cfg.sac.target_entropy == preset["sac"]["target_entropy"]  # the rest of the nested preset is kept
    assert preset["updates_per_step"] != 20  # the preset itself is untouched


def test_settings_parse_json_and_bare_strings():
    settings = ["disc_samples=recent", "reset_prob=1", "sac.target_entropy=null"]
    merged = apply_settings(IRLConfig, model_free_preset("hopper"), settings)
    assert merged["disc_samples"] == "recent" and merged["reset_prob"] == 1 and merged["sac"]["target_entropy"] is None


@pytest.mark.parametrize(
    "setting, message",
    [
        ("updates_per_step", "use KEY=VALUE"),
        ("no_such_thing=1", "has no setting 'no_such_thing'"),
        ("sac.no_such_thing=1", "SACConfig has no setting 'no_such_thing'"),
        ("steps.deeper=1", "has no setting 'steps.deeper'"),
        ("steps=many", "expected a value like"),
        ("sac.learn_alpha=1", "expected a value like"),
    ],
)
def test_bad_settings_are_refused(setting, message):
    with pytest.raises(HyirlError, match=message):
        apply_settings(HyPERConfig, hyper_preset("hopper", "efficient"), [setting])


def test_cli_set_is_applied_and_recorded(pendulum_demos, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--algo", "hype", "--env", "pendulum", "--steps", "256", "--eval-episodes", "1"]
    args += ["--demos-file", str(pendulum_demos), "--out", str(out), "--no-progress"]
    small = ["sac.hidden=[16,16]", "train_every=128", "disc.hidden=[16,16]", "disc.batch_size=256"]
    assert main([*args, *(x for item in small for x in ("--set", item))]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["sac"]["hidden"] == [16, 16] and config["train_every"] == 128
    assert config["settings"] == small
    assert main([*args[:-3], "--out", str(tmp_path / "bad"), "--set", "sac.widths=[8]"]) == 2
    assert "SACConfig has no setting 'widths'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_a_preset_measured_not_to_learn_a_task_says_so(capsys):
    """Guards the Ant caveat: `hyirl train --algo hyper --env ant` with the efficient preset (which
    stayed near a return of 0 on Ant, docs/hyper.md §19) prints a note pointing at --preset paper,
    while Hopper and Ant's paper preset print none. A bad --set makes each call stop before training."""
    bad = ["--set", "sac.widths=[8]", "--no-progress"]
    assert main(["train", "--algo", "hyper", "--env", "ant", *bad]) == 2
    assert "note: the efficient HyPER preset has not learned Ant" in capsys.readouterr().err
    for env, preset in (("hopper", "efficient"), ("ant", "paper")):
        assert main(["train", "--algo", "hyper", "--env", env, "--preset", preset, *bad]) == 2
        assert "note:" not in capsys.readouterr().err
