"""Where a HyPER run's time goes: wall-clock per phase of the loop, as a share of the whole run.

Trains a preset (default: `efficient` on Hopper) for ``--steps`` real steps (the first ones explore,
1,000 on Hopper) and times every phase of ``hyirl.hyper._HyPERLoop`` (acting, model refit + rollouts, SAC updates,
discriminator update, evaluation, checkpoints), waiting for the device to finish each one, and the
pieces inside them (model fit, model rollouts, learned rewards of new model rows, recomputing the
stale ones). The first model fit is cut to ``--first-fit-epochs`` epochs so that the table shows the
steady loop (presets with a pretrained model, AntMaze's, load it instead).

    python benchmarks/hyper_phases.py [--env hopper] [--preset efficient] [--steps 2500] [--eval-every 1000]
        [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

import jax

from hyirl import dynamics, hyper
from hyirl.presets import apply_settings, build_config, hyper_preset

PHASES = ("start_epoch", "refit_model_and_roll_out", "act", "update_policy", "update_discriminator", "evaluate")
# pieces inside the phases: the compiled functions the loop makes, and the model fit
PIECES = dict(
    make_model_rollout="  model rollouts",
    make_learned_rewards="  learned rewards of new model rows",
    make_relabel="  recomputing stale stored rewards",
)


def timed(method, seconds: dict):
    def run(loop, *args, **kwargs):
        t0 = time.perf_counter()
        out = method(loop, *args, **kwargs)
        jax.block_until_ready((loop.learner.state, loop.model_buffer, loop.disc_state))
        seconds[method.__name__] += time.perf_counter() - t0
        return out

    return run


def timed_call(function, name: str, seconds: dict):
    def run(*args, **kwargs):
        t0 = time.perf_counter()
        out = jax.block_until_ready(function(*args, **kwargs))
        seconds[name] += time.perf_counter() - t0
        return out

    return run


def timed_factory(factory, name: str, seconds: dict):
    return lambda *args, **kwargs: timed_call(factory(*args, **kwargs), name, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--preset", default="efficient")
    parser.add_argument("--steps", type=int, default=2_500)
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--first-fit-epochs", type=int, default=5)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as in hyirl train")
    args = parser.parse_args()
    preset = hyper_preset(args.env, args.preset)
    # a pretrained model (AntMaze) is loaded, not fitted: a changed model setting would refit it
    first_fit = [] if preset.get("pretrain_model") else [f"model.first_fit_max_epochs={args.first_fit_epochs}"]
    settings = [*first_fit, *args.set]
    defaults = apply_settings(hyper.HyPERConfig, preset, settings)
    overrides = dict(steps=args.steps, eval_every=args.eval_every, checkpoint_every=10**9)
    cfg = build_config(hyper.HyPERConfig, defaults, overrides, env=args.env, preset=args.preset)
    seconds: dict[str, float] = collections.defaultdict(float)
    for name in PHASES:
        setattr(hyper._HyPERLoop, name, timed(getattr(hyper._HyPERLoop, name), seconds))
    for factory, name in PIECES.items():
        setattr(hyper, factory, timed_factory(getattr(hyper, factory), name, seconds))
    dynamics.Dynamics.fit = timed_call(dynamics.Dynamics.fit, "  model fit", seconds)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        hyper.train_hyper(cfg, Path(tmp) / "run", progress=False)
        total = time.perf_counter() - t0
    rate = f"{args.steps / total:.2f} real steps/s"
    print(f"{args.env} {args.preset}: {args.steps} real steps in {total:.1f} s ({rate}), settings {settings}")
    by_time = sorted(seconds.items(), key=lambda item: -item[1])
    for title, pieces in (("phases", False), ("pieces inside them", True)):
        print(f"{title}:")
        for name, s in by_time:
            if name.startswith(" ") == pieces:
                print(f"  {name.strip():34s} {s:7.1f} s  {100 * s / total:5.1f} %")
    print("(the stale stored rewards are recomputed in update_policy or before a checkpoint)")
    print(
        json.dumps(
            dict(env=args.env, preset=args.preset, steps=args.steps, settings=settings, total_s=total, phase_s=seconds)
        )
    )


if __name__ == "__main__":
    main()
