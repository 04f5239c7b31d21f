"""HyPE end-to-end throughput (Hopper-v5 by default) against plain SAC at one update per env step.

HyPE's loop = SAC on mixed expert/learner batches with every batch relabelled by the
discriminator, plus one discriminator update and its 4 fresh trajectories per round. Set-up and
compilation are excluded by timing a short and a long run and using the difference:

    rate = (steps_long - steps_short) / (time_long - time_short)

Reported: policy steps/s (steps that get one SAC update, the figure comparable with plain SAC) and
all real env steps/s (including the discriminator's samples). Plain SAC uses the same online loop
(`hyirl.learner.OnlineSAC`) with the true reward. SAC and HyPE repetitions alternate and each
repetition's ratio is reported, so a drift in the machine's speed does not favour either. The last
line printed is one JSON object.

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


def irl_rep(env: str, algo: str, rounds: int, rep: int, workdir: Path) -> tuple[float, float]:
    """One repetition: (policy steps/s, all real env steps/s) of ``algo``, set-up and compilation excluded."""
    t_short, short = timed_irl(env, algo, 1, rep, workdir)
    t_long, long = timed_irl(env, algo, 1 + rounds, rep, workdir)
    dt = t_long - t_short
    policy_steps = long["env_steps"] - long["disc_env_steps"] - (short["env_steps"] - short["disc_env_steps"])
    return policy_steps / dt, (long["env_steps"] - short["env_steps"]) / dt


def sac_rep(env_name: str, steps: int, rep: int) -> float:
    """One repetition: plain SAC env steps/s after a 2,048-step warm-up (which includes compilation)."""
    learner = OnlineSAC(
        env := make_env(env_name, p_tremble=0.0),
        SAC(env.observation_space.shape[0], env.action_space.shape[0]),
        LoopConfig(buffer_size=200_000, learning_starts=1024),
        seed=rep,
    )
    learner.collect(2048)
    t0 = time.perf_counter()
    learner.collect(steps)
    return steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="hopper", help="task with a shipped expert (demos come from it)")
    parser.add_argument("--rounds", type=int, default=4, help="extra rounds (K policy steps each) in the long run")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    round_steps = -(-model_free_preset(args.env)["train_every"] // 64) * 64
    # SAC and HyPE repetitions alternate, so a drift of the machine's speed affects both alike.
    sac, hype, hype_all = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            sac.append(sac_rep(args.env, args.rounds * round_steps, rep))
            policy_rate, all_rate = irl_rep(args.env, "hype", args.rounds, rep, Path(tmp))
            hype.append(policy_rate)
            hype_all.append(all_rate)
            print(f"rep {rep}: SAC {sac[-1]:.1f} env steps/s, HyPE {policy_rate:.1f} policy steps/s", flush=True)
    median = statistics.median
    ratios = [h / s for h, s in zip(hype, sac)]
    print(f"{args.env}: plain SAC (true reward): {median(sac):.1f} env steps/s")
    print(
        f"HyPE: {median(hype):.1f} policy steps/s ({median(hype_all):.1f} real env steps/s including the "
        f"discriminator's samples); per repetition HyPE / SAC = {', '.join(f'{r:.0%}' for r in ratios)}, "
        f"median {median(ratios):.0%}"
    )
    summary = dict(sac_env_steps_per_s=sac, hype_policy_steps_per_s=hype, hype_all_env_steps_per_s=hype_all)
    print(json.dumps(dict(env=args.env, **summary, hype_over_sac=ratios, median_ratio=median(ratios))))


if __name__ == "__main__":
    main()
