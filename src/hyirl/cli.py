"""The ``hyirl`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hyirl.errors import HyirlError


def _expert_train(args) -> None:
    from hyirl.experts import ExpertConfig, train_expert
    from hyirl.learner import LoopConfig

    cfg = ExpertConfig(
        env=args.env,
        steps=args.steps,
        seed=args.seed,
        truncated_obs=args.truncated_obs,
        loop=LoopConfig(learning_starts=args.learning_starts),
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
    )
    out = Path(args.out or f"runs/expert-{args.env}-s{args.seed}")
    path = train_expert(cfg, out, resume=args.resume, progress=not args.no_progress)
    print(f"expert run written to {path} (best policy: {path / 'best_policy.npz'})")


def _expert_eval(args) -> None:
    from hyirl.experts import evaluate_policy

    result = evaluate_policy(
        args.env, Path(args.policy) if args.policy else None, args.episodes, p_tremble=args.p_tremble
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.env}: {result['mean_return']:.1f} ± {result['std_return']:.1f} over {args.episodes} episodes")


def _expert_ship(args) -> None:
    from hyirl.experts import ship_expert

    print(f"shipped expert to {ship_expert(Path(args.run_dir), args.episodes)}")


def _demos(args) -> None:
    from hyirl.demos import generate_demos, save_demos
    from hyirl.envs import get_task, make_env
    from hyirl.experts import load_policy, shipped_policy_path

    get_task(args.env)
    policy_path = Path(args.policy) if args.policy else shipped_policy_path(args.env)
    policy, meta = load_policy(policy_path)
    out = Path(args.out or f"runs/demos-{args.env}-{args.trajectories}.npz")
    if out.exists():
        raise HyirlError(f"{out} already exists; not overwriting it")
    env = make_env(args.env, p_tremble=0.0, truncated_obs=meta.get("truncated_obs", False))
    demos, demo_meta = generate_demos(policy, meta, env, args.trajectories, first_seed=args.seed)
    save_demos(out, demos, demo_meta)
    print(
        f"wrote {args.trajectories} trajectories ({len(demos['observations'])} transitions, return "
        f"{demo_meta['return_mean']:.1f} ± {demo_meta['return_std']:.1f}) to {out}"
    )


def _train(args) -> None:
    from hyirl.envs import get_task
    from hyirl.irl import check_algo
    from hyirl.sweep import parse_seeds

    check_algo(args.algo)
    get_task(args.env)
    seeds = parse_seeds(args.seeds) if args.seeds else None
    if seeds and args.algo in ("bc", "hyper"):
        raise HyirlError(f"--seeds trains the model-free methods; run {args.algo} once per seed (or use hyirl sweep)")
    if seeds:
        args.seed = seeds[0]
    default_out = f"runs/{args.algo}-{args.env}" + ("" if seeds and len(seeds) > 1 else f"-s{args.seed}")
    out = Path(args.out or default_out)
    print(f"training {args.algo} on {args.env}: run directory {out} (metrics.jsonl, tb/, checkpoints/)", flush=True)
    common = dict(env=args.env, seed=args.seed, demos=args.demos, demos_file=args.demos_file, p_tremble=args.p_tremble)
    overrides = dict(steps=args.steps, eval_every=args.eval_every, eval_episodes=args.eval_episodes)
    overrides.update(checkpoint_every=args.checkpoint_every)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.algo == "bc":
        from hyirl.bc import BCConfig, train_bc

        if args.set:
            raise HyirlError("--set applies to the SAC-based methods; bc takes --steps and --demos")
        if args.resume:
            raise HyirlError("bc runs are offline and short; they cannot be resumed")
        # bc counts gradient steps; --eval-episodes sets its progress and final evaluations alike.
        bc_overrides = dict(grad_steps=args.steps, eval_every=args.eval_every, eval_episodes=args.eval_episodes)
        bc_overrides.update(final_eval_episodes=args.eval_episodes)
        cfg = BCConfig(**common, **{k: v for k, v in bc_overrides.items() if v is not None})
        paths = [train_bc(cfg, out, progress=not args.no_progress)]
    elif args.algo == "hyper":
        from hyirl.hyper import HyPERConfig, train_hyper
        from hyirl.presets import apply_settings, build_config, hyper_preset

        extra = dict(preset=args.preset, truncated_obs=args.truncated_obs, settings=tuple(args.set))
        defaults = apply_settings(HyPERConfig, hyper_preset(args.env, args.preset), args.set)
        cfg = build_config(HyPERConfig, defaults, overrides, **extra, **common)
        paths = [train_hyper(cfg, out, resume=args.resume, progress=not args.no_progress)]
    else:
        from hyirl.irl import IRLConfig, train_irl
        from hyirl.presets import apply_settings, build_config, model_free_preset

        overrides.update(train_every=args.train_every, disc_samples=args.disc_samples, reset_mode=args.reset_mode)
        if args.no_reference_rounds:
            overrides["reference_rounds"] = False
        preset = apply_settings(IRLConfig, model_free_preset(args.env), args.set)
        preset["expert_schedule"] = tuple(tuple(seg) for seg in preset["expert_schedule"])
        cfg = build_config(IRLConfig, preset, overrides, algo=args.algo, settings=tuple(args.set), **common)
        paths = train_irl(cfg, out, resume=args.resume, progress=not args.no_progress, seeds=seeds)
    for path in paths:
        print(f"results in {path} (metrics: {path / 'metrics.jsonl'})")


def _report(args) -> None:
    import shlex

    from hyirl.report import build_report

    at = [int(float(x)) for x in args.at.split(",")]
    intro = None
    if args.intro:
        if not Path(args.intro).is_file():
            raise HyirlError(f"--intro {args.intro}: no such file")
        intro = Path(args.intro).read_text()
    # The report names the exact command that makes it again (tests re-run the one in docs/results.md).
    command = ["hyirl", "report", *_as_glob(args.run_dirs), "--out", args.out, "--at", args.at, "--axis", args.axis]
    command += (["--no-paper"] if args.no_paper else []) + (["--intro", args.intro] if args.intro else [])
    path = build_report(
        [Path(p) for p in args.run_dirs],
        Path(args.out),
        at=at,
        axis=args.axis,
        overlay_paper=not args.no_paper,
        intro=intro,
        command=" ".join(a if a.endswith("/*") else shlex.quote(a) for a in command),  # a glob stays a glob
    )
    print(f"report written to {path}")


def _as_glob(paths: list[str]) -> list[str]:
    """``[a/x, a/y]`` as ``[a/*]`` when that is exactly what the shell glob gives; else unchanged."""
    parents = {str(Path(p).parent) for p in paths}
    if len(parents) == 1:
        parent = parents.pop()
        if sorted(map(str, Path(parent).glob("*"))) == sorted(str(Path(p)) for p in paths):
            return [f"{parent}/*"]
    return paths


def _sweep(args) -> None:
    import shlex

    from hyirl.sweep import parse_seeds, run_sweep

    outcome = run_sweep(
        args.algos.split(","),
        args.envs.split(","),
        parse_seeds(args.seeds),
        Path(args.out),
        steps=args.steps,
        extra=shlex.split(args.train_args),
        workers=args.workers,
        ray_address=args.ray,
        progress=not args.no_progress,
    )
    failed = {k: v for k, v in outcome.items() if v.startswith("failed")}
    for name, result in sorted(outcome.items()):
        print(f"{name}: {result}")
    print(f"sweep in {args.out}: {len(outcome) - len(failed)} of {len(outcome)} cells done")
    if failed:
        raise HyirlError(f"{len(failed)} cells failed: {', '.join(sorted(failed))}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyirl", description="Hybrid inverse reinforcement learning (HyPE, HyPER, baselines)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    expert = sub.add_parser("expert", help="train, evaluate and ship expert policies").add_subparsers(
        dest="expert_command", required=True
    )
    p = expert.add_parser("train", help="train a SAC expert on the true reward")
    p.add_argument("env", help="task name (hopper, walker2d, ant, humanoid, pendulum) or a gymnasium id")
    p.add_argument("--steps", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--learning-starts", type=int, default=10_000)
    p.add_argument("--eval-every", type=int, default=10_000)
    p.add_argument("--checkpoint-every", type=int, default=50_000, help="env steps between full learner checkpoints")
    p.add_argument("--truncated-obs", action="store_true", help="ant/humanoid: qpos[2:]+qvel observations")
    p.add_argument("--out", help="run directory (default runs/expert-ENV-sSEED)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint (same options; --steps may grow)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_expert_train)

    p = expert.add_parser("eval", help="evaluate a deterministic expert policy")
    p.add_argument("env")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--policy", help="policy .npz (default: the shipped expert)")
    p.add_argument("--p-tremble", type=float, default=0.0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_expert_eval)

    p = expert.add_parser("ship", help="copy a run's best policy into the package with a manifest")
    p.add_argument("run_dir")
    p.add_argument("--episodes", type=int, default=20)
    p.set_defaults(func=_expert_ship)

    p = sub.add_parser("train", help="train an imitation method (bc, mm, bc-reg, filter, hype, hype-filter, hyper)")
    p.add_argument("--algo", required=True, help="bc, mm, bc-reg, filter, hype, hype-filter or hyper")
    p.add_argument("--env", required=True, help="task name or gymnasium id")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--seeds",
        help="several seeds in one process, updates vmapped over seeds (e.g. 0-2); one run directory per seed "
        "(OUT/sSEED) for the model-free methods",
    )
    p.add_argument("--steps", type=int, help="real env steps, honestly counted (bc: gradient steps); default: preset")
    p.add_argument("--out", help="run directory (default runs/ALGO-ENV-sSEED)")
    p.add_argument("--demos", type=int, default=64, help="expert trajectories from the shipped expert")
    p.add_argument("--demos-file", help="use this demo .npz instead of the shipped expert's")
    p.add_argument("--p-tremble", type=float, help="trembling-hand probability (default: the paper's per task)")
    p.add_argument("--eval-every", type=int, help="env steps between evaluations (bc: gradient steps; default: preset)")
    p.add_argument("--eval-episodes", type=int, help="episodes per evaluation (default 10; bc's final one 50)")
    p.add_argument("--train-every", type=int, help="policy steps per discriminator update (default: preset)")
    p.add_argument(
        "--disc-samples",
        choices=["fresh", "recent"],
        help="fresh: new trajectories per discriminator update (counted); recent: reuse the latest real transitions",
    )
    p.add_argument("--checkpoint-every", type=int, help="env steps between checkpoints (default 50000)")
    p.add_argument(
        "--reset-mode",
        choices=["state", "replay"],
        help="FILTER resets: restore the saved state (default) or replay the expert's actions from its seed",
    )
    p.add_argument(
        "--no-reference-rounds",
        action="store_true",
        help="do not reproduce SB3 0.8's per-round restarts (env reset, 100 random steps, LR saw-tooth)",
    )
    p.add_argument(
        "--preset",
        choices=["efficient", "paper"],
        default="efficient",
        help="hyper: efficient (CPU default, docs/hyper.md) or paper (the reference's settings, for a GPU)",
    )
    p.add_argument("--truncated-obs", action="store_true", help="hyper on ant/humanoid: qpos[2:]+qvel observations")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any preset setting (repeatable; VALUE is JSON), e.g. --set updates_per_step=20 "
        "--set sac.hidden=[512,512]; recorded in config.json and in report labels",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_train)

    p = sub.add_parser("sweep", help="run a method x task x seed grid (local worker pool or Ray)")
    p.add_argument("--algos", required=True, help="comma-separated methods, e.g. hype,mm")
    p.add_argument("--envs", required=True, help="comma-separated tasks, e.g. hopper,walker2d")
    p.add_argument("--seeds", default="0-2", help="a range like 0-4 or a list like 0,1,2")
    p.add_argument("--steps", type=int, help="env steps per cell (bc: gradient steps); default: preset")
    p.add_argument("--train-args", default="", help='more options for every cell, e.g. "--disc-samples recent"')
    p.add_argument("--out", default="runs/sweep", help="sweep directory: one run directory per cell, logs/")
    p.add_argument("--workers", type=int, help="parallel cells (default: one per CPU core)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the cells on an existing Ray cluster")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("report", help="IQM curves, tables and probability of improvement over run directories")
    p.add_argument("run_dirs", nargs="*", help="run directories (each with config.json and metrics.jsonl)")
    p.add_argument(
        "--out",
        required=True,
        help="output folder (report.md, ENV.png, summary.json), or a .md file (plots go to the folder of its name)",
    )
    p.add_argument("--at", default="100000,200000,300000", help="comma-separated steps for the table")
    p.add_argument(
        "--axis",
        choices=["env_steps", "policy_steps"],
        default="env_steps",
        help="env_steps counts every real step; policy_steps is the reference's count",
    )
    p.add_argument("--no-paper", action="store_true", help="do not overlay the paper's curves")
    p.add_argument("--intro", help="markdown file placed under the title (e.g. the commands that made the runs)")
    p.set_defaults(func=_report)

    p = sub.add_parser("demos", help="roll out an expert deterministically and write demonstrations (.npz)")
    p.add_argument("env")
    p.add_argument("--trajectories", type=int, default=64)
    p.add_argument("--policy", help="policy .npz (default: the shipped expert)")
    p.add_argument("--seed", type=int, default=0, help="reset seed of the first episode")
    p.add_argument("--out", help="output file (default runs/demos-ENV-N.npz)")
    p.set_defaults(func=_demos)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except HyirlError as err:
        print(f"hyirl: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
