"""Run directories: resolved config, metrics.jsonl, cost.jsonl, TensorBoard events, checkpoints, live progress."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from tensorboardX import SummaryWriter

from hyirl import __version__
from hyirl.errors import HyirlError


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


_ABSENT = object()


def release(version: str | None) -> tuple[int, ...] | None:
    """A plain X.Y.Z release as numbers to compare; None for anything else (or no version)."""
    try:
        return tuple(int(part) for part in version.split("."))
    except (AttributeError, ValueError):
        return None


def _released_between(version, first: str | None, last: str) -> bool:
    """Whether release ``version`` is one of ``first`` ... ``last``."""
    bounds = release(first), release(version), release(last)
    return None not in bounds and bounds[0] <= bounds[1] <= bounds[2]


def _differs(saved: dict, config: dict, key: str, defaults: dict) -> bool:
    """Whether ``config[key]`` differs from the saved run's, counting a setting newer than the run (absent
    from ``saved``) as matching when it is empty or has its default."""
    if key not in saved:
        return config[key] not in (None, [], {}) and config[key] != defaults.get(key, _ABSENT)
    if key not in config:
        return True
    old, new = saved[key], config[key]
    if isinstance(old, dict) and isinstance(new, dict):
        nested = defaults.get(key) if isinstance(defaults.get(key), dict) else {}
        return any(_differs(old, new, k, nested) for k in set(old) | set(new))
    return old != new


def seed_run_configs(path: Path) -> list[Path]:
    """The configs of a multi-seed run's seeds (``path/sSEED``, as ``--seeds`` writes them)."""
    return sorted(path.glob("s[0-9]*/config.json"))


def _run_in_the_way(path: Path) -> Path | None:
    """The run a new run at ``path`` would write into: one at ``path``, a multi-seed run whose seeds
    (``path/sSEED``) it would sit among, or a single-seed run that ``path`` would sit inside."""
    found = (path / "config.json", *seed_run_configs(path), path.parent / "config.json")
    return next((config.parent for config in found if config.exists()), None)


class RunDir:
    """One run's directory. A new run refuses a directory that already holds a run, and a directory is
    trained by one process at a time (a lock the operating system drops when the process ends)."""

    def __init__(
        self,
        path: str | Path,
        config: dict,
        *,
        resume: bool = False,
        extendable: tuple[str, ...] = ("steps",),
        readable_since: str | None = None,
        defaults: dict | None = None,
        process_seeds: int = 1,
    ):
        """``extendable`` keys may differ on resume (e.g. training for more steps); all others must match.
        ``readable_since``: the first hyirl version whose runs of this kind this code continues exactly
        (every release from it to this one kept their checkpoints); the versions a run was trained with
        are kept in its config as ``earlier_versions``. A setting added since (absent from the saved
        config, at any depth) matches when it has its value in ``defaults`` (the config class's
        defaults: what the older code did) or is empty. ``process_seeds``: the seeds one process trains
        together (``--seeds``), each in its own directory; every cost record says so, since it counts the
        whole process."""
        self.path = Path(path)
        config_file = self.path / "config.json"
        # The code version is part of the config: checkpoints are only read back by the code that wrote them.
        config = {**to_jsonable(config), "hyirl_version": __version__}
        if resume:
            if not config_file.is_file():
                raise HyirlError(f"cannot resume: {self.path} holds no run (no config.json)")
            self._lock()
            saved = json.loads(config_file.read_text())
            config = self._continued_config(saved, config, extendable, readable_since, to_jsonable(defaults or {}))
            # A resumed run is unfinished until its loop says otherwise (it may be extended to more steps).
            (self.path / "done.json").unlink(missing_ok=True)
        else:
            holder = _run_in_the_way(self.path)
            if holder is not None:
                raise HyirlError(f"{holder} already holds a run; use --resume or another --out")
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock()
        config_file.write_text(json.dumps(config, indent=2) + "\n")
        self.checkpoint_dir = self.path / "checkpoints"
        self.checkpoint_dir.mkdir(exist_ok=True)
        # A run killed before its first checkpoint has nothing to continue from: it starts again from
        # step 0 (its config matched), and records it logged before being killed are logged afresh.
        self.resumed = resume and (self.checkpoint_file.is_file() or self.portable_file.is_file())
        if resume and not self.resumed:
            self.metrics_file.unlink(missing_ok=True)
            self.cost_file.unlink(missing_ok=True)
        # What the run has cost so far, carried across resumes (see ``cost_file``).
        self._cost_offset = {"wall_s": 0.0, "cpu_s": 0.0}
        self._process_seeds = process_seeds
        self._clock_start = {"wall_s": time.monotonic(), "cpu_s": time.process_time()}
        self._tb: SummaryWriter | None = None
        # TensorBoard hides a killed process's events at or after this step once the new writer starts.
        self._tb_purge_step: int | None = 0 if resume and not self.resumed else None
        # Said only now that the run's set-up (config, demos, environments) has succeeded.
        verb = "continuing" if self.resumed else "training"
        print(f"{verb} in run directory {self.path} (metrics.jsonl, tb/, checkpoints/)", file=sys.stderr, flush=True)

    def _continued_config(
        self, saved: dict, config: dict, extendable: tuple[str, ...], readable_since: str | None, defaults: dict
    ) -> dict:
        """``config`` with the versions the run was trained with, once it is found to continue ``saved``."""
        version = saved.get("hyirl_version")
        if version != __version__ and not _released_between(version, readable_since, __version__):
            made_by = f"hyirl {version}" if version else "a hyirl that recorded no version"
            raise HyirlError(f"cannot resume {self.path}: it was made by {made_by}, this is hyirl {__version__}")
        earlier = [*saved.get("earlier_versions", []), *([version] if version != __version__ else [])]
        if earlier:
            config = {**config, "earlier_versions": earlier}
        differing = sorted(
            k
            for k in set(saved) | set(config)
            if k not in (*extendable, "hyirl_version", "earlier_versions") and _differs(saved, config, k, defaults)
        )
        if differing:
            raise HyirlError(f"cannot resume {self.path}: this command's config differs in {', '.join(differing)}")
        return config

    def _lock(self) -> None:
        self._lock_file = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            owner = self._lock_file.read().strip() or "unknown"
            self._lock_file.close()
            raise HyirlError(f"{self.path} is being trained by another process (pid {owner})") from None
        self._lock_file.truncate(0)
        self._lock_file.write(f"{os.getpid()}\n")
        self._lock_file.flush()

    @property
    def checkpoint_file(self) -> Path:
        return self.checkpoint_dir / "learner.npz"

    @property
    def portable_file(self) -> Path:
        """A checkpoint without the replay buffer (expert runs): small enough to keep in git."""
        return self.checkpoint_dir / "portable.npz"

    @property
    def metrics_file(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def cost_file(self) -> Path:
        """Per evaluation: the wall-clock and CPU seconds (all threads) the run's processes have spent
        since it started, across resumes. Kept apart from metrics.jsonl, which depends on the seed alone."""
        return self.path / "cost.jsonl"

    def log(self, record: dict) -> None:
        """Append one evaluation record to metrics.jsonl and TensorBoard, and its cost to cost.jsonl."""
        with open(self.metrics_file, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        now = {"wall_s": time.monotonic(), "cpu_s": time.process_time()}
        spent = {k: round(self._cost_offset[k] + now[k] - self._clock_start[k], 1) for k in now}
        with open(self.cost_file, "a") as fh:
            steps = {k: record[k] for k in ("env_steps", "policy_steps", "grad_steps") if k in record}
            shared = {"process_seeds": self._process_seeds} if self._process_seeds > 1 else {}
            fh.write(json.dumps({**steps, **spent, **shared}) + "\n")
        if self._tb is None:
            self._tb = SummaryWriter(str(self.path / "tb"), purge_step=self._tb_purge_step)
        step = record["env_steps"]
        for key, value in record.items():
            if key != "env_steps" and isinstance(value, (int, float)):
                self._tb.add_scalar(key, value, step)
        self._tb.flush()

    def truncate_metrics(self, env_steps: int) -> None:
        """On resume, drop records logged after the checkpoint we restart from; the cost goes on from
        the last record kept (the work between that record and the kill is not counted)."""
        self._tb_purge_step = env_steps + 1
        kept = {}
        for file in (self.metrics_file, self.cost_file):
            if file.exists():
                records = [(line, json.loads(line)) for line in file.read_text().splitlines() if line]
                kept[file] = [(line, r) for line, r in records if r["env_steps"] <= env_steps]
                file.write_text("".join(line + "\n" for line, _ in kept[file]))  # kept lines verbatim
        if kept.get(self.cost_file):
            self._cost_offset = {k: kept[self.cost_file][-1][1][k] for k in self._cost_offset}

    def finish(self, **summary) -> None:
        """Mark the run complete (``done.json``); sweeps skip finished runs."""
        self.close()
        tmp = self.path / "done.json.tmp"
        tmp.write_text(json.dumps(dict(finished=True, **summary)) + "\n")
        tmp.replace(self.path / "done.json")

    def close(self) -> None:
        """Flush TensorBoard and let another process take the directory."""
        if self._tb is not None:
            self._tb.close()
        self._lock_file.close()


def crossed(before: int, after: int, every: int) -> bool:
    """Whether a step count that went from ``before`` to ``after`` passed a multiple of ``every``
    (loops advance in chunks, so they rarely land on the multiple itself)."""
    return after // every > before // every


def _duration(seconds: float) -> str:
    s = int(max(seconds, 0))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class StepProgress:
    """A rich progress bar over env steps (or another ``unit``) showing the rate, the latest evaluation
    return (or another ``score``), the time left and a ``note`` on work between two updates (a model
    fit's epochs). Without a terminal (a background or batch job's log), where a live bar shows nothing
    until the work is over, it prints the same fields as one plain line at most every ``line_every_s``
    seconds and one at the end."""

    def __init__(
        self,
        total: int | None,
        description: str,
        start: int = 0,
        enabled: bool = True,
        unit: str = "steps",
        score: str = "eval",
        console: Console | None = None,
        line_every_s: float = 60.0,
    ):
        console = console or Console(stderr=True)  # stdout stays for results (--json)
        self._lines = enabled and not console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(f"{{task.fields[rate]:>7}} {unit}/s"),
            TextColumn(f"{score} {{task.fields[eval]}}"),
            TextColumn("{task.fields[left]} left"),
            TextColumn("{task.fields[note]}"),
            console=console,
            disable=not enabled or self._lines,
        )
        self.task = self.progress.add_task(
            description, total=total, completed=start, rate="-", eval="-", left="-", note=""
        )
        self._unit, self._score, self._line_every_s = unit, score, line_every_s
        self._t0, self._s0 = time.perf_counter(), start
        self._last_line: float | None = None
        self._unprinted = False  # an update since the last line

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)
        if self._lines and self._unprinted:
            self._print_line()

    def _print_line(self) -> None:
        task = self.progress.tasks[0]
        done = f"{int(task.completed):,}" + ("" if task.total is None else f"/{int(task.total):,}")
        fields = task.fields
        note = f", {fields['note']}" if fields["note"] else ""
        self.progress.console.print(
            f"{task.description}: {done} {self._unit}, {fields['rate']} {self._unit}/s, "
            f"{self._score} {fields['eval']}, {fields['left']} left{note}",
            markup=False,
            highlight=False,
            soft_wrap=True,  # one line per record, whatever width the log's console assumes
        )

    def update(self, env_steps: int, eval_return: float | None = None) -> None:
        now = time.perf_counter()
        rate = (env_steps - self._s0) / max(now - self._t0, 1e-9)
        # rich's own estimate looks at the last 30 s only and shows -:--:-- when updates are rarer than
        # that (one per 5k-step round); the mean rate since this process started always has a value.
        total = self.progress.tasks[0].total  # None: until a stopping rule ends it (a model fit's epochs)
        left = (total - env_steps) / rate if rate > 0 and total is not None else None
        fields = dict(rate=f"{rate:.1f}" if rate >= 1 else f"{rate:.4f}", left="-" if left is None else _duration(left))
        if eval_return is not None:
            fields["eval"] = f"{eval_return:.4g}" if abs(eval_return) < 1 else f"{eval_return:.1f}"
        self.progress.update(self.task, completed=env_steps, **fields)
        self._unprinted = True
        if self._lines and (self._last_line is None or now - self._last_line >= self._line_every_s):
            self._print_line()
            self._last_line, self._unprinted = now, False

    def note(self, text: str) -> None:
        """Show ``text`` beside the fields, their rate and time left brought up to now, until the next
        ``note`` (``""`` clears it): work between two updates that takes long (a model fit's epochs),
        which would otherwise leave the same line for most of an hour."""
        self.progress.update(self.task, note=text)
        self.update(int(self.progress.tasks[0].completed))
