import subprocess
import sys

import pytest

from hyirl.cli import main

SUBCOMMANDS = [[], ["expert"], ["expert", "train"], ["expert", "eval"], ["expert", "ship"], ["demos"], ["train"]]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=lambda w: " ".join(w) or "hyirl")
def test_help_on_every_subcommand(words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(words + ["--help"])
    assert exit_info.value.code == 0
    assert "usage: hyirl" in capsys.readouterr().out


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "hyirl.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "expert" in result.stdout and "train" in result.stdout


TRAIN = ["train", "--algo", "hype", "--env", "pendulum", "--steps", "200", "--no-progress"]
BAD_INPUT = {
    "steps 0": TRAIN + ["--steps", "0"],
    "eval-every 0": TRAIN + ["--eval-every", "0"],
    "train-every 0": TRAIN + ["--train-every", "0"],
    "p-tremble 5": TRAIN + ["--p-tremble", "5"],
    "demos 0": TRAIN + ["--demos", "0"],
    "reversed seeds": TRAIN + ["--seeds", "3-1"],
    "empty seeds": TRAIN + ["--seeds", ","],
    "schedule of the wrong type": TRAIN + ["--set", "expert_schedule=5"],
    "schedule of the wrong shape": TRAIN + ["--set", "expert_schedule=[[0.2,0.1]]"],
    "unknown key": TRAIN + ["--set", "no_such_setting=1"],
    "string for a number": TRAIN + ["--set", 'train_every="often"'],
    "float for a count": TRAIN + ["--set", "train_every=1.5"],
    "unknown choice": TRAIN + ["--set", "disc_samples=sometimes"],
    "hyper act_chunk 0": ["train", "--algo", "hyper", "--env", "pendulum", "--set", "act_chunk=0"],
    "hyper elites > members": ["train", "--algo", "hyper", "--env", "pendulum", "--set", "model.elites=9"],
    "empty hidden": TRAIN + ["--set", "sac.hidden=[]"],
    "bc steps 0": ["train", "--algo", "bc", "--env", "pendulum", "--steps", "0"],
    "expert steps 0": ["expert", "train", "pendulum", "--steps", "0", "--no-progress"],
    "expert eval-every 0": ["expert", "train", "pendulum", "--eval-every", "0", "--no-progress"],
    "expert confirm-episodes -1": ["expert", "train", "pendulum", "--confirm-episodes", "-1", "--no-progress"],
    "demos 0 trajectories": ["demos", "pendulum", "--trajectories", "0"],
    "sweep reversed seeds": ["sweep", "--algos", "hype", "--envs", "pendulum", "--seeds", "3-1"],
    "sweep steps 0": ["sweep", "--algos", "hype", "--envs", "pendulum", "--steps", "0"],
    "train without algo": ["train", "--env", "pendulum"],
    "absorbing with buffer samples": TRAIN + ["--set", "disc.absorbing=true", "--set", "disc_samples=recent"],
    "hyper td3 absorbing": ["train", "--algo", "hyper", "--env", "pendulum"]
    + ["--set", "disc.absorbing=true", "--set", "policy=td3bc"],
    "hyper td3 terminal entropy": ["train", "--algo", "hyper", "--env", "pendulum"]
    + ["--set", "sac.terminal_entropy=true", "--set", "policy=td3bc"],
    "td3 terminal entropy": TRAIN + ["--set", "sac.terminal_entropy=true", "--set", "policy=td3bc"],
    "model-free truncated observations": TRAIN + ["--truncated-obs"],
    "bc truncated observations": ["train", "--algo", "bc", "--env", "pendulum", "--truncated-obs"],
    "contact forces on a task without them": TRAIN + ["--set", "contact_forces=false"],
    "unknown contact margins": TRAIN + ["--set", "contact_margins=soft"],
    "hyper unknown contact margins": ["train", "--algo", "hyper", "--env", "pendulum", "--set", "contact_margins=soft"],
    "contact margins on a task without contacts": TRAIN + ["--set", "contact_margins=reference"],
    "hyper contact margins on a task without contacts": ["train", "--algo", "hyper", "--env", "pendulum"]
    + ["--set", "contact_margins=reference"],
    "expert bootstrap without hybrid batches": ["train", "--algo", "mm", "--env", "pendulum"]
    + ["--set", "sac.expert_bootstrap=expert-action"],
    "hyper expert bootstrap": ["train", "--algo", "hyper", "--env", "pendulum"]
    + ["--set", "sac.expert_bootstrap=expert-action"],
    "unknown expert bootstrap": TRAIN + ["--set", "sac.expert_bootstrap=sometimes"],
}


@pytest.mark.parametrize("argv", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_config_is_refused_before_anything_is_written(argv, tmp_path, capsys, monkeypatch):
    """Guards up-front validation: each of these once ended in a traceback or in a run that
    "finished" without training. Now: one ``hyirl: error:`` line, exit status 2, and no directory."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    target = ["--out", str(out)] if argv[0] in ("train", "sweep", "demos") or argv[:2] == ["expert", "train"] else []
    assert main(argv + target) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hyirl: error: "), err
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_a_task_without_an_expert_points_to_demos_file(capsys, tmp_path):
    """Guards the hint: train has no --policy, so a task without a shipped expert must point to
    --demos-file (it used to say "pass --policy PATH")."""
    assert main(["train", "--algo", "hype", "--env", "HalfCheetah-v5", "--out", str(tmp_path / "x")]) == 2
    out, err = capsys.readouterr()
    assert "--demos-file" in err and "--policy PATH" not in err
    assert "run directory" not in out + err  # announced only once set-up has succeeded
    assert not (tmp_path / "x").exists()


def test_a_corrupt_demo_file_says_so_without_unsafe_advice(capsys, tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(bytes(range(256)) * 4)
    argv = ["train", "--algo", "hype", "--env", "pendulum", "--demos-file", str(garbage), "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "corrupt demo file" in err and "pickle" not in err and "unsafe" not in err
