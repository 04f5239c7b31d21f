"""The ``hyirl`` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hyirl.errors import HyirlError


def _expert_train(args) -> None:
    from hyirl.experts import ExpertConfig, train_expert
    from hyirl.presets import build_config

    saved, _ = _saved_run(args.resume, args.out)
    env = _resolved("env", args.env, saved, "expert train needs ENV (or --resume RUN_DIR)")
    flags = dict(
        steps=args.steps,
        seed=args.seed,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
        confirm_episodes=args.confirm_episodes,
    )
    if args.truncated_obs:
        flags["truncated_obs"] = True
    if args.init_from:
        flags["init_from"] = args.init_from
    if args.lr_schedule:
        flags["lr_schedule"] = args.lr_schedule
    if args.learning_starts is not None:
        flags["loop"] = dict((saved or {}).get("loop", {}), learning_starts=args.learning_starts)
    cfg = build_config(ExpertConfig, saved or dict(env=env), flags)
    out = Path(args.resume or args.out or f"runs/expert-{env}-s{cfg.seed}")
    path = train_expert(cfg, out, resume=args.resume is not None, progress=not args.no_progress)
    print(f"expert run written to {path} (best policy: {path / 'best_policy.npz'})")


def _expert_eval(args) -> None:
    from hyirl.experts import evaluate_policy

    if args.episodes < 1 or not 0 <= args.p_tremble <= 1:
        raise HyirlError("expert eval needs --episodes >= 1 and --p-tremble in [0, 1]")
    result = evaluate_policy(
        args.env,
        Path(args.policy) if args.policy else None,
        args.episodes,
        p_tremble=args.p_tremble,
        truncated_obs=True if args.truncated_obs else None,
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.env}: {result['mean_return']:.1f} ± {result['std_return']:.1f} over {args.episodes} episodes")


def _navigate(args) -> None:
    from hyirl.antmaze import GoalReacher, MazeGrid
    from hyirl.antmaze_data import DATA_ANT, goal_reaching_success, navigation_success, plot_paths
    from hyirl.experts import load_policy, shipped_policy_path

    if args.episodes < 1:
        raise HyirlError(f"--episodes {args.episodes}: need at least one episode")
    reacher = GoalReacher.of(*load_policy(Path(args.policy) if args.policy else shipped_policy_path(DATA_ANT)))
    if args.mode == "open-floor":
        success = goal_reaching_success(reacher, args.episodes)
        result = dict(mode=args.mode, episodes=args.episodes, success=success)
    else:
        mode = dict(evaluation_task=args.mode == "evaluation", progress=not args.no_progress)
        success, outcomes = navigation_success(reacher, args.episodes, args.seed, **mode)
        result = dict(mode=args.mode, episodes=args.episodes, seed=args.seed, success=success)
        if args.plot:
            title = f"planner + goal-reaching ant, {args.mode}: {100 * success:.0f} % of {args.episodes} reached"
            plot_paths(outcomes[: args.plot_paths], MazeGrid(), args.plot, title)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.mode}: {100 * result['success']:.1f} % of {args.episodes} episodes reached their goal")


def _expert_ship(args) -> None:
    from hyirl.experts import ship_expert

    print(f"shipped expert to {ship_expert(Path(args.source), args.episodes)}")


def _demos(args) -> None:
    from hyirl.antmaze_data import DATASETS
    from hyirl.demos import generate_demos, save_demos
    from hyirl.envs import get_task, make_env
    from hyirl.experts import load_policy, shipped_policy_path

    get_task(args.env)
    if args.env in DATASETS:
        return _antmaze_demos(args)
    if args.trajectories < 1:
        raise HyirlError(f"--trajectories {args.trajectories}: need at least one trajectory")
    policy_path = Path(args.policy) if args.policy else shipped_policy_path(args.env)
    policy, meta = load_policy(policy_path)
    out = Path(args.out or f"runs/demos-{args.env}-{args.trajectories}.npz")
    if out.exists():
        raise HyirlError(f"{out} already exists; not overwriting it")
    env = make_env(args.env, p_tremble=0.0)  # full observations, whatever the policy acts on
    demos, demo_meta = generate_demos(policy, meta, env, args.trajectories, first_seed=args.seed)
    save_demos(out, demos, demo_meta)
    print(
        f"wrote {args.trajectories} trajectories ({len(demos['observations'])} transitions, return "
        f"{demo_meta['return_mean']:.1f} ± {demo_meta['return_std']:.1f}) to {out}"
    )


def _antmaze_demos(args) -> None:
    import shutil

    from hyirl.checkpoint import load_npz
    from hyirl.demos import antmaze_dataset_file

    out = Path(args.out) if args.out else None
    if out and out.exists():
        raise HyirlError(f"{out} already exists; not overwriting it")
    policy = Path(args.policy) if args.policy else None
    start = time.perf_counter()
    path = antmaze_dataset_file(args.env, args.transitions, policy, args.seed, progress=not args.no_progress)
    _, meta = load_npz(path, "AntMaze dataset", keys=())  # its statistics only, not its 1M rows
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
    print(
        f"{meta['transitions']} transitions in {meta['episodes']} episodes ({time.perf_counter() - start:.0f} s) "
        f"at {out or path} ({meta.get('ant', 'gymnasium')}'s ant): {100 * meta['goal_reached_fraction']:.1f} % "
        "reached their goal, "
        f"{meta['cells_visited']} of {meta['free_cells']} free cells visited"
    )


def _saved_run(resume: str | None, out: str | None) -> tuple[dict | None, list[int] | None]:
    """For ``--resume RUN_DIR``: the run's saved config and, for a multi-seed directory (RUN_DIR/sSEED),
    its seeds. ``--resume`` alone (continue ``--out``) and no ``--resume`` give (None, None)."""
    from hyirl.runs import seed_run_configs

    if not resume:
        return None, None
    if out and Path(out) != Path(resume):
        raise HyirlError(f"--resume {resume} and --out {out} name different run directories")
    run = Path(resume)
    if (run / "config.json").is_file():
        return _read_config(run / "config.json"), None
    seed_runs = seed_run_configs(run)
    if not seed_runs:
        raise HyirlError(f"cannot resume: {run} holds no run (no config.json)")
    configs = [_read_config(path) for path in seed_runs]
    return configs[0], sorted(c["seed"] for c in configs)


def _read_config(path: Path) -> dict:
    from hyirl.presets import from_json

    try:
        return from_json(json.loads(path.read_text()))
    except json.JSONDecodeError as err:
        raise HyirlError(f"corrupt run config {path}: {err}") from None


def _resolved(name: str, given, saved: dict | None, missing: str):
    """A setting that a resumed run already fixes: taken from its config, and a different value refused."""
    if saved is not None:
        if given is not None and given != saved.get(name):
            raise HyirlError(f"cannot resume: the run has {name} {saved.get(name)!r}, the command says {given!r}")
        return saved.get(name)
    if given is None:
        raise HyirlError(missing)
    return given


def _train(args) -> None:
    from hyirl.envs import get_task
    from hyirl.irl import check_algo
    from hyirl.sweep import parse_seeds

    saved, saved_seeds = _saved_run(args.resume, args.out)
    algo = _resolved("algo", args.algo, saved, "train needs --algo and --env (or --resume RUN_DIR)")
    env = _resolved("env", args.env, saved, "train needs --algo and --env (or --resume RUN_DIR)")
    check_algo(algo)
    get_task(env)
    seeds = parse_seeds(args.seeds) if args.seeds else saved_seeds
    if args.truncated_obs and algo != "hyper":
        raise HyirlError(
            "--truncated-obs is HyPER's; the model-free methods and BC observe what the reference's did "
            "(on ant and humanoid no contact forces: contact_forces=false, their presets' default)"
        )
    if seeds and algo in ("bc", "hyper"):
        raise HyirlError(f"--seeds trains the model-free methods; run {algo} once per seed (or use hyirl sweep)")
    seed = seeds[0] if seeds else args.seed
    flags = dict(seed=seed, demos=args.demos, demos_file=args.demos_file, p_tremble=args.p_tremble, steps=args.steps)
    flags.update(eval_every=args.eval_every, eval_episodes=args.eval_episodes, checkpoint_every=args.checkpoint_every)
    if args.set or saved is None:
        flags["settings"] = tuple(args.set)
    seed_part = "" if seeds and len(seeds) > 1 else f"-s{seed or 0}"
    out = Path(args.resume or args.out or f"runs/{algo}-{env}{seed_part}")
    resume, progress = args.resume is not None, not args.no_progress
    if algo == "bc":
        paths = [_train_bc(args, env, flags, out)]
    elif algo == "hyper":
        from hyirl.hyper import HyPERConfig, train_hyper
        from hyirl.presets import HYPER_PRESET_CAVEATS, apply_settings, build_config, hyper_preset

        default = "paper" if get_task(env).success_task else "efficient"  # AntMaze has the paper's preset only
        preset = args.preset or (saved or {}).get("preset", default)
        if (preset, env) in HYPER_PRESET_CAVEATS:
            print(f"note: {HYPER_PRESET_CAVEATS[preset, env]}", file=sys.stderr)
        base = saved or dict(hyper_preset(env, preset), env=env, preset=preset)
        flags.update(preset=args.preset, truncated_obs=args.truncated_obs or None)
        cfg = build_config(HyPERConfig, apply_settings(HyPERConfig, base, args.set), flags)
        paths = [train_hyper(cfg, out, resume=resume, progress=progress)]
    else:
        from hyirl.irl import IRLConfig, train_irl
        from hyirl.presets import apply_settings, build_config, model_free_preset

        flags.update(train_every=args.train_every, disc_samples=args.disc_samples, reset_mode=args.reset_mode)
        if args.no_reference_rounds:
            flags["reference_rounds"] = False
        base = saved or dict(model_free_preset(env), algo=algo, env=env)
        cfg = build_config(IRLConfig, apply_settings(IRLConfig, base, args.set), flags)
        paths = train_irl(cfg, out, resume=resume, progress=progress, seeds=seeds)
    for path in paths:
        print(f"results in {path} (metrics: {path / 'metrics.jsonl'}); {_last_evaluation(path)}")


def _last_evaluation(run: Path) -> str:
    """The run's last evaluation in words: the success rate on AntMaze, the return elsewhere."""
    lines = (run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").is_file() else []
    if not lines:
        return "no evaluation yet"
    last = json.loads(lines[-1])
    if "eval_success_pct" in last:
        words = f"last evaluation: success {last['eval_success_pct']:.1f} %"
    else:
        words = f"last evaluation: return {last['eval_return_mean']:.1f}"
    words += f" over {last['eval_episodes']} episodes" if "eval_episodes" in last else ""
    return words + (f" at {last['env_steps']:,} env steps" if last["env_steps"] else "")


def _train_bc(args, env: str, flags: dict, out: Path) -> Path:
    from hyirl.bc import BCConfig, train_bc
    from hyirl.presets import apply_settings, model_free_preset

    if args.resume is not None:
        raise HyirlError("bc runs are offline and short; they cannot be resumed")
    # bc counts gradient steps; --eval-episodes sets its progress and final evaluations alike.
    values = dict(flags, grad_steps=flags.pop("steps"), final_eval_episodes=args.eval_episodes)
    values["contact_forces"] = model_free_preset(env).get("contact_forces", True)  # the reference's observation
    values = {k: v for k, v in values.items() if v is not None and k != "checkpoint_every"}
    values = apply_settings(BCConfig, values, args.set)
    return train_bc(BCConfig(env=env, **values), out, progress=not args.no_progress)


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

    for flag, value in (("--steps", args.steps), ("--workers", args.workers)):
        if value is not None and value < 1:
            raise HyirlError(f"{flag} {value}: must be at least 1")
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

    _add_expert_commands(sub)
    _add_train_command(sub)
    _add_sweep_command(sub)
    _add_report_command(sub)
    _add_navigate_command(sub)
    _add_demos_command(sub)
    return parser


def _add_expert_commands(sub: argparse._SubParsersAction) -> None:
    """hyirl expert train|eval|ship."""
    expert = sub.add_parser("expert", help="train, evaluate and ship expert policies").add_subparsers(
        dest="expert_command", required=True
    )
    p = expert.add_parser("train", help="train a SAC expert on the true reward")
    p.add_argument("env", nargs="?", help="task name (hopper, walker2d, ant, humanoid, pendulum) or a gymnasium id")
    p.add_argument("--steps", type=int, help="env steps (default 1000000)")
    p.add_argument("--seed", type=int, help="default 0")
    p.add_argument("--learning-starts", type=int, help="uniformly random steps before the first update (default 10000)")
    p.add_argument("--eval-every", type=int, help="env steps between evaluations (default 10000)")
    p.add_argument("--checkpoint-every", type=int, help="env steps between full learner checkpoints (default 50000)")
    p.add_argument(
        "--confirm-episodes",
        type=int,
        help="episodes that judge a new best policy again before it is kept (default 20; 0: keep the 5-episode pick)",
    )
    p.add_argument("--truncated-obs", action="store_true", help="ant/humanoid: qpos[2:]+qvel observations")
    p.add_argument(
        "--init-from",
        metavar="RUN_DIR",
        help="start from another expert run (its networks, and its replay buffer where its full checkpoint is left; "
        "same observation and action sizes)",
    )
    p.add_argument(
        "--lr-schedule",
        choices=("constant", "linear"),
        help="constant (default, the paper's) or linear: every learning rate falls to 0 at --steps",
    )
    p.add_argument("--out", help="run directory (default runs/expert-ENV-sSEED)")
    _add_resume(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_expert_train)

    p = expert.add_parser("eval", help="evaluate a deterministic expert policy")
    p.add_argument("env")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--policy", help="policy .npz (default: the shipped expert)")
    p.add_argument("--p-tremble", type=float, default=0.0)
    p.add_argument(
        "--truncated-obs", action="store_true", help="feed the policy qpos[2:]+qvel (default: what it was trained on)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_expert_eval)

    p = expert.add_parser("ship", help="copy a run's best policy into the package with a manifest")
    p.add_argument("source", help="an expert run directory (its best_policy.npz) or a policy .npz")
    p.add_argument("--episodes", type=int, default=20)
    p.set_defaults(func=_expert_ship)


def _add_train_command(sub: argparse._SubParsersAction) -> None:
    """hyirl train: one imitation method on one task."""
    p = sub.add_parser("train", help="train an imitation method (bc, mm, bc-reg, filter, hype, hype-filter, hyper)")
    p.add_argument("--algo", help="bc, mm, bc-reg, filter, hype, hype-filter or hyper")
    p.add_argument("--env", help="task name or gymnasium id")
    p.add_argument("--seed", type=int, help="default 0")
    p.add_argument(
        "--seeds",
        help="several seeds in one process, updates vmapped over seeds (e.g. 0-2); one run directory per seed "
        "(OUT/sSEED) for the model-free methods",
    )
    p.add_argument("--steps", type=int, help="real env steps, honestly counted (bc: gradient steps); default: preset")
    p.add_argument("--out", help="run directory (default runs/ALGO-ENV-sSEED)")
    p.add_argument("--demos", type=int, help="expert trajectories from the shipped expert (default 64)")
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
        help="hyper: efficient (CPU default, docs/hyper.md) or paper (the reference's settings, for a GPU)",
    )
    p.add_argument(
        "--truncated-obs",
        action="store_true",
        help="ant/humanoid: qpos[2:]+qvel observations (HyPER's presets use them there, as the paper)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any preset setting (repeatable; VALUE is JSON), e.g. --set updates_per_step=20 "
        "--set sac.hidden=[512,512]; recorded in config.json and in report labels",
    )
    _add_resume(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_train)


def _add_sweep_command(sub: argparse._SubParsersAction) -> None:
    """hyirl sweep: a method x task x seed grid."""
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


def _add_report_command(sub: argparse._SubParsersAction) -> None:
    """hyirl report: curves and tables over run directories."""
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


def _add_navigate_command(sub: argparse._SubParsersAction) -> None:
    """hyirl navigate: the AntMaze planner and goal-reaching ant."""
    p = sub.add_parser("navigate", help="measure the AntMaze planner and goal-reaching ant (success rate, paths)")
    p.add_argument(
        "--mode",
        choices=("pairs", "evaluation", "open-floor"),
        default="pairs",
        help="random start/goal cells of the large maze, the task's evaluation start/goal, or single goals "
        "on an open floor",
    )
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--policy", help="goal-reaching policy .npz (default: the shipped ant that makes the datasets)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="PNG of the first --plot-paths driven paths over the maze")
    p.add_argument("--plot-paths", type=int, default=6)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_navigate)


def _add_demos_command(sub: argparse._SubParsersAction) -> None:
    """hyirl demos: demonstrations or an AntMaze dataset."""
    p = sub.add_parser(
        "demos", help="roll out an expert deterministically and write demonstrations (.npz), or make an AntMaze dataset"
    )
    p.add_argument("env")
    p.add_argument("--trajectories", type=int, default=64)
    p.add_argument("--policy", help="policy .npz (default: the shipped expert)")
    p.add_argument("--seed", type=int, default=0, help="reset seed of the first episode")
    p.add_argument("--transitions", type=int, help="AntMaze datasets: rows to make (default 1000000)")
    p.add_argument(
        "--out", help="output file (default runs/demos-ENV-N.npz; AntMaze: the cache, where training finds it)"
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_demos)


def _add_resume(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--resume",
        nargs="?",
        const="",
        metavar="RUN_DIR",
        help="continue RUN_DIR (or --out) from its last checkpoint; its config.json holds every setting, "
        "and options given too must agree with it (--steps may grow)",
    )


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
