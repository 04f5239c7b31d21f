"""One AntMaze HyPER model event, piece by piece, against this machine's fp32 peak (issue 28 item 5).

A model event (every 2,000 real steps in the `paper` AntMaze preset) refits the 7 x (4 x 200) ensemble
on the hybrid buffer until 10 epochs bring no improvement, then rolls the TD3 actor out from 800,000
dataset states for L steps (L grows from 1 to 25 over the run), labels every new row with the
discriminator's reward and stores it; when L grows, the model buffer grows too. This times each
piece once warm (random weights and data of the run's shapes; the cost does not depend on the
values): one fit epoch on ``--rows`` hybrid rows with its validation, the rollouts, the labels, the
insert and the buffer's growth. Multiply the epoch by a run's ``model_epochs`` for its fit.

    python benchmarks/hyper_model_event.py [--rows 150000] [--length 5]
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from td3bc_throughput import _buffer, peak_gflops

from hyirl import buffers
from hyirl.discriminator import Discriminator
from hyirl.dynamics import Dynamics
from hyirl.hyper import HyPERConfig
from hyirl.model_rollouts import make_learned_rewards, make_model_rollout
from hyirl.presets import apply_settings, build_config, hyper_preset
from hyirl.td3bc import TD3BC

ENV, OBS, ACT = "antmaze-large-diverse", 31, 8


def timed(seconds: dict, name: str, fn):
    fn()  # compiles
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    seconds[name] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000, help="hybrid buffer rows the model is fitted on")
    parser.add_argument("--length", type=int, default=5, help="rollout length L")
    args = parser.parse_args()
    cfg = build_config(HyPERConfig, apply_settings(HyPERConfig, hyper_preset(ENV, "paper"), []), {}, env=ENV)
    rng = np.random.default_rng(0)
    dynamics, agent, disc = Dynamics(OBS, ACT, cfg.model), TD3BC(OBS, ACT, cfg.td3), Discriminator(OBS, ACT, cfg.disc)
    model, actor = dynamics.init(jax.random.PRNGKey(0)), agent.init(jax.random.PRNGKey(1)).actor_params
    hybrid, n_train = _buffer(args.rows, 0), int(args.rows * (1 - cfg.model.validation_ratio))
    boot = jnp.asarray(rng.integers(0, n_train, (cfg.model.members, args.rows)), jnp.int32)
    val_rows = jnp.asarray(np.arange(-(-args.rows // 1024) * 1024) % args.rows, jnp.int32)
    never_done = lambda obs: jnp.zeros(obs.shape[0], bool)  # noqa: E731  (AntMaze's model never terminates)
    rollout = make_model_rollout(agent, dynamics, never_done, 0.0, cfg.model_action_noise)
    label = partial(make_learned_rewards(disc.reward), disc.init(jax.random.PRNGKey(2)).params)
    starts = jnp.asarray(rng.standard_normal((cfg.rollouts_per_fit, OBS)), jnp.float32)
    window = cfg.model_window(args.length)

    seconds: dict[str, float] = {}
    key = jax.random.PRNGKey(3)
    state = dynamics.init(key)
    # the epoch call donates its state: each timing gets a fresh copy
    timed(seconds, "fit epoch", lambda: dynamics._epoch(jax.tree.map(jnp.copy, state), hybrid, boot, n_train, key))
    timed(seconds, "validation", lambda: dynamics._validate(model, hybrid, val_rows, args.rows - n_train))
    rows, valid = timed(seconds, "rollouts", lambda: rollout(model, actor, starts, key, length=args.length))
    timed(seconds, "labels", lambda: label(rows))
    full = buffers.insert(buffers.empty(window, OBS, ACT), rows, valid)
    timed(seconds, "insert", lambda: buffers.insert(buffers.empty(window, OBS, ACT), rows, valid))
    timed(seconds, "buffer growth (L to L + 1)", lambda: buffers.resize(full, cfg.model_window(args.length + 1)))

    peak = peak_gflops(5)
    steps, members, widths = dynamics.epoch_steps(n_train), cfg.model.members, cfg.model.hidden
    sizes = [OBS + ACT, *widths, 2 * OBS]
    macs = sum(a * b for a, b in zip(sizes, sizes[1:]))
    epoch_gflop = 6 * macs * cfg.model.batch_size * members * int(steps) / 1e9  # forward + backward
    print(f"fp32 matmul peak (one thread, same run): {peak:.1f} GFLOP/s")
    print(f"{ENV} paper preset, {args.rows:,} hybrid rows, {cfg.rollouts_per_fit:,} rollouts of L = {args.length}:")
    for name, s in seconds.items():
        extra = (
            f"  ({epoch_gflop / s:.1f} GFLOP/s, {100 * epoch_gflop / s / peak:.0f} % of peak)"
            if name == "fit epoch"
            else ""
        )
        print(f"  {name:28s} {s:7.2f} s{extra}")
    print(json.dumps(dict(rows=args.rows, length=args.length, peak_gflops=peak, seconds=seconds)))


if __name__ == "__main__":
    main()
