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
