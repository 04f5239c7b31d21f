"""HyPE end-to-end throughput (Hopper-v5 by default) against plain SAC at one update per env step.

HyPE's loop = SAC on mixed expert/learner batches with every batch relabelled by the
discriminator, plus one discriminator update and its 4 fresh trajectories per round. Set-up and
compilation are excluded by timing a short and a long run and using the difference:

    rate = (steps_long - steps_short) / (time_long - time_short)

Reported: policy steps/s (steps that get one SAC update, the figure comparable with plain SAC) and
all real env steps/s (including the discriminator's samples). Plain SAC uses the same online loop
(`hyirl.learner.OnlineSAC`) with the true reward. The last line printed is one JSON object.

    python benchmarks/irl_throughput.py [--env hopper] [--rounds 4] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from hyirl.envs import make_env
from hyirl.irl import IRLConfig, train_irl
from hyirl.learner import LoopConfig, OnlineSAC
from hyirl.presets import model_free_preset
from hyirl.sac import SAC


def timed_irl(env: str, algo: str, rounds: int, seed: int, workdir: Path) -> tuple[float, dict]:
    preset = model_free_preset(env)
    steps = rounds * preset["train_every"]
    cfg = IRLConfig(
        algo=algo,
        env=env,
        seed=seed,
        steps=steps,
        train_every=preset["train_every"],
        eval_every=10**9,
        eval_episodes=1,
        expert_schedule=preset["expert_schedule"],
        buffer_size=200_000,
    )
    t0 = time.perf_counter()
    (path,) = train_irl(cfg, workdir / f"{algo}-{rounds}-{seed}", progress=False)
    elapsed = time.perf_counter() - t0
    last = json.loads((path / "metrics.jsonl").read_text().splitlines()[-1])
    return elapsed, last


def irl_rate(env: str, algo: str, rounds: int, reps: int) -> dict:
    policy_rates, real_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(reps):
            t_short, short = timed_irl(env, algo, 1, rep, Path(tmp))
            t_long, long = timed_irl(env, algo, 1 + rounds, rep, Path(tmp))
            dt = t_long - t_short
            policy_steps = long["env_steps"] - long["disc_env_steps"] - (short["env_steps"] - short["disc_env_steps"])
            policy_rates.append(policy_steps / dt)
            real_rates.append((long["env_steps"] - short["env_steps"]) / dt)
    return dict(
        policy_steps_per_s=statistics.median(policy_rates),
        all_env_steps_per_s=statistics.median(real_rates),
        reps=policy_rates,
    )


def sac_rate(env_name: str, steps: int, reps: int) -> dict:
    rates = []
    for rep in range(reps):
        learner = OnlineSAC(
            env := make_env(env_name, p_tremble=0.0),
            SAC(env.observation_space.shape[0], env.action_space.shape[0]),
            LoopConfig(buffer_size=200_000, learning_starts=1024),
            seed=rep,
        )
        learner.collect(2048)
        t0 = time.perf_counter()
        learner.collect(steps)
        rates.append(steps / (time.perf_counter() - t0))
    return dict(env_steps_per_s=statistics.median(rates), reps=rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="hopper", help="task with a shipped expert (demos come from it)")
    parser.add_argument("--rounds", type=int, default=4, help="extra rounds (K policy steps each) in the long run")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    round_steps = -(-model_free_preset(args.env)["train_every"] // 64) * 64
    sac = sac_rate(args.env, args.rounds * round_steps, args.reps)
    hype = irl_rate(args.env, "hype", args.rounds, args.reps)
    ratio = hype["policy_steps_per_s"] / sac["env_steps_per_s"]
    print(f"{args.env}: plain SAC (true reward): {sac['env_steps_per_s']:.1f} env steps/s")
    print(
        f"HyPE: {hype['policy_steps_per_s']:.1f} policy steps/s ({hype['all_env_steps_per_s']:.1f} real env steps/s "
        f"including the discriminator's samples) = {100 * ratio:.0f}% of plain SAC"
    )
    print(json.dumps(dict(env=args.env, sac=sac, hype=hype, hype_over_sac=ratio)))


if __name__ == "__main__":
    main()
