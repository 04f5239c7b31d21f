"""docs/results.md must be what its own command makes from the committed result summaries."""

import shlex
from pathlib import Path

from hyirl.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_results_md_is_generated_from_committed_summaries(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "results.md").read_text()
    (command,) = [line.strip() for line in text.splitlines() if line.startswith("    hyirl report ")]
    args = shlex.split(command)[1:]
    out = args[args.index("--out") + 1]
    monkeypatch.chdir(ROOT)
    expanded = [str(p) for a in args for p in (sorted(Path().glob(a)) if a.endswith("/*") else [a])]
    expanded[expanded.index("--out") + 1] = str(tmp_path / "results.md")
    assert main(expanded) == 0
    remade = (tmp_path / "results.md").read_text().replace(str(tmp_path / "results.md"), out)
    assert remade == text
