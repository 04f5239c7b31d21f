"""Where a HyPER run's time goes: wall-clock per phase of the loop, as a share of the whole run.

Trains the `efficient` preset on Hopper for ``--steps`` real steps (the first 1,000 explore) and
times every phase of ``hyirl.hyper._HyPERLoop`` (acting, model refit + rollouts, SAC updates,
discriminator update, evaluation, checkpoints), waiting for the device to finish each one. The
first model fit is cut to ``--first-fit-epochs`` epochs so that the table shows the steady loop.

    python benchmarks/hyper_phases.py [--steps 2500] [--eval-every 1000] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

import jax

from hyirl import hyper
from hyirl.presets import apply_settings, build_config, hyper_preset

PHASES = ("start_epoch", "refit_model_and_roll_out", "act", "update_policy", "update_discriminator", "evaluate")


def timed(method, seconds: dict):
    def run(loop, *args):
        t0 = time.perf_counter()
        out = method(loop, *args)
        jax.block_until_ready((loop.learner.state, loop.model_buffer, loop.disc_state))
        seconds[method.__name__] += time.perf_counter() - t0
        return out

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2_500)
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--first-fit-epochs", type=int, default=5)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as in hyirl train")
    args = parser.parse_args()
    settings = [f"model.first_fit_max_epochs={args.first_fit_epochs}", *args.set]
    defaults = apply_settings(hyper.HyPERConfig, hyper_preset("hopper", "efficient"), settings)
    overrides = dict(steps=args.steps, eval_every=args.eval_every, checkpoint_every=10**9)
    cfg = build_config(hyper.HyPERConfig, defaults, overrides, env="hopper", preset="efficient")
    seconds: dict[str, float] = collections.defaultdict(float)
    for name in PHASES:
        setattr(hyper._HyPERLoop, name, timed(getattr(hyper._HyPERLoop, name), seconds))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        hyper.train_hyper(cfg, Path(tmp) / "run", progress=False)
        total = time.perf_counter() - t0
    print(f"{args.steps} real steps in {total:.1f} s ({args.steps / total:.2f} real steps/s), settings {settings}")
    for name, s in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"  {name:26s} {s:7.1f} s  {100 * s / total:5.1f} %")
    print(json.dumps(dict(steps=args.steps, settings=settings, total_s=total, phase_s=seconds)))


if __name__ == "__main__":
    main()
