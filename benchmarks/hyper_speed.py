"""HyPER real steps per second, side by side: this checkout against an earlier hyirl (default 0.2.0).

Each version trains the `efficient` preset on Hopper in the layout its results are made in: two
processes at once, one per core, each pinned to one thread. The two versions take turns (this
checkout's pair, then the baseline's pair, ``--reps`` times). A process logs a record every
``--record-every`` real steps; its rate is the real steps between the first record after
``--warmup`` loop steps and the last one, divided by the wall-clock between them, so start-up,
compilation, exploration and the first model fit are left out while model refits, rollouts, SAC
updates, discriminator updates and evaluations (1 episode per record) are all inside the window.
The baseline's source is taken from git (``git archive REV src``) and run with this environment's
packages. The last line printed is one JSON object.

``--current-set`` changes settings of this checkout only (a candidate preset against the baseline's).

    python benchmarks/hyper_speed.py [--baseline b21ae04] [--steps 1000] [--reps 1] [--set KEY=VALUE ...]
                                     [--current-set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

# Runs inside each timed process, importing hyirl from the version under test.
DRIVER = """
import json, sys, time
from pathlib import Path
import hyirl
from hyirl import runs
from hyirl.hyper import HyPERConfig, train_hyper
from hyirl.presets import apply_settings, build_config, hyper_preset

args = json.loads(sys.argv[1])
log = runs.RunDir.log
def timed_log(self, record):
    print(json.dumps(dict(env_steps=record["env_steps"], time=time.perf_counter())), flush=True)
    log(self, record)
runs.RunDir.log = timed_log
defaults = apply_settings(HyPERConfig, hyper_preset("hopper", "efficient"), args["settings"])
overrides = dict(steps=args["steps"], eval_every=args["record_every"], eval_episodes=1, checkpoint_every=10**9)
cfg = build_config(HyPERConfig, defaults, overrides, env="hopper", preset="efficient")
print(json.dumps(dict(version=hyirl.__version__)), flush=True)
train_hyper(cfg, Path(args["out"]), progress=False)
"""


def baseline_source(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def checkout_commit() -> str:
    """This checkout's commit, with ``+changes`` when the working tree differs from it."""
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "src"]).returncode
    return commit + ("+changes" if dirty else "")


def run_pair(source: Path, args: argparse.Namespace, work: Path, label: str, settings: list[str]) -> list[dict]:
    """Two identical processes at once; each one's steady real steps/s."""
    first_fit = ["model.first_fit_max_epochs=5"]  # the first fit is outside the timed window anyway
    total = 1_000 + args.warmup + args.steps  # 1,000 exploration steps come first
    env = {**os.environ, "PYTHONPATH": str(source), "XLA_FLAGS": SINGLE_THREAD}
    procs = []
    for i in range(2):
        spec = dict(
            steps=total, record_every=args.record_every, settings=first_fit + settings, out=str(work / f"{label}-{i}")
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", DRIVER, json.dumps(spec)], env=env, stdout=subprocess.PIPE, text=True
            )
        )
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"{label}: the timed process failed (exit {proc.returncode})")
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        version = lines[0]["version"]
        timed = [r for r in lines[1:] if r["env_steps"] >= 1_000 + args.warmup]
        steps = timed[-1]["env_steps"] - timed[0]["env_steps"]
        results.append(
            dict(version=version, steps=steps, real_steps_per_s=steps / (timed[-1]["time"] - timed[0]["time"]))
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="b21ae04", help="git revision to compare with (default: hyirl 0.2.0)")
    parser.add_argument("--steps", type=int, default=1_000, help="timed real steps per process")
    parser.add_argument("--warmup", type=int, default=500, help="loop steps before the timed window")
    parser.add_argument("--record-every", type=int, default=250)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="for both versions")
    parser.add_argument("--current-set", action="append", default=[], metavar="KEY=VALUE", help="this checkout only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sources = dict(current=REPO / "src", baseline=baseline_source(args.baseline, work / "baseline"))
        rates: dict[str, list[float]] = dict(current=[], baseline=[])
        versions = {}
        settings = dict(current=args.set + args.current_set, baseline=args.set)
        for rep in range(args.reps):
            for label, source in sources.items():
                pair = run_pair(source, args, work, f"{label}-{rep}", settings[label])
                versions[label] = pair[0]["version"]
                rates[label] += [r["real_steps_per_s"] for r in pair]
                print(
                    f"rep {rep} {label} (hyirl {versions[label]}): "
                    + ", ".join(f"{r['real_steps_per_s']:.2f}" for r in pair)
                    + " real steps/s per process",
                    flush=True,
                )
    medians = {label: statistics.median(values) for label, values in rates.items()}
    ratio = medians["current"] / medians["baseline"]
    current, baseline = medians["current"], medians["baseline"]
    print(f"median real steps/s per process: current {current:.2f}, baseline {baseline:.2f}; ratio {ratio:.2f}x")
    print(
        json.dumps(
            dict(
                machine=dict(cpus=os.cpu_count(), processor=platform.processor()),
                versions=versions,
                current_commit=checkout_commit(),
                baseline_rev=args.baseline,
                settings=args.set,
                current_settings=args.current_set,
                steps=args.steps,
                rates=rates,
                median=medians,
                ratio=ratio,
            )
        )
    )


if __name__ == "__main__":
    main()
