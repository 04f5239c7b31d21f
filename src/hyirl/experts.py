"""Experts: SAC on the true reward, shipped policy checkpoints, evaluation (spec §7)."""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import json
import math
from pathlib import Path

import numpy as np

from hyirl import __version__, buffers, checkpoint
from hyirl.envs import get_task, make_env
from hyirl.errors import HyirlError, check_choice, check_config
from hyirl.learner import LoopConfig, OnlineSAC, episode, evaluate_with_lengths, restore_learner, save_learner
from hyirl.runs import RunDir, StepProgress, crossed
from hyirl.sac import SAC, NumpyPolicy, SACConfig, actor_flat_params

SHIPPED_DIR = Path(__file__).parent / "shipped_experts"
# Expert training and its checkpoints are unchanged since 0.2.0, so its expert runs can be continued
# (0.5.0 added ``init_from``, which only matters when a run starts; 0.7.0 the second look at a new
# best policy, which a resumed older run first gives the policy it kept).
EXPERT_RUNS_READABLE_SINCE = "0.2.0"


@dataclasses.dataclass(frozen=True)
class ExpertConfig:
    """SB3-default SAC as used for the paper's experts (spec §7), with fused 64-step chunks."""

    env: str
    steps: int = 1_000_000
    seed: int = 0
    truncated_obs: bool = False
    sac: SACConfig = SACConfig()
    loop: LoopConfig = LoopConfig(learning_starts=10_000)
    eval_every: int = 10_000
    eval_episodes: int = 5
    # a policy that beats the best on its eval_episodes is judged again on this many before it is kept:
    # the bar is 20 episodes, and a lucky 5 picked a 4,447 Ant as the best of a run (0 = no second look)
    confirm_episodes: int = 20
    checkpoint_every: int = 50_000
    init_from: str | None = None  # another expert run whose networks this one starts from (not the paper's)
    # "linear": every learning rate falls linearly from sac.learning_rate to 0 at ``steps`` (rl-zoo's
    # lin_ schedules; not the paper's), tried for continuing a swinging run (Humanoid's kept swinging)
    lr_schedule: str = "constant"

    def __post_init__(self):
        check_config(
            self,
            positive=("steps", "eval_every", "eval_episodes", "checkpoint_every"),
            non_negative=("confirm_episodes",),
            problems=check_choice("lr_schedule", self.lr_schedule, ("constant", "linear")),
        )

    def learning_rate(self, env_steps: int) -> float:
        if self.lr_schedule == "constant":
            return self.sac.learning_rate
        return self.sac.learning_rate * max(0.0, 1.0 - env_steps / self.steps)


def save_policy(path: Path, actor_params, meta: dict) -> None:
    checkpoint.save_npz(path, actor_flat_params(actor_params), meta)


def load_policy(path: Path) -> tuple[NumpyPolicy, dict]:
    flat, meta = checkpoint.load_npz(path, "expert policy")
    try:
        return NumpyPolicy({"params": checkpoint.nest(flat)}), meta
    except (KeyError, ValueError, IndexError) as err:
        raise HyirlError(f"corrupt expert policy {path}: unexpected contents ({err})") from None


def shipped_policy_path(env: str, instead: str = "pass --policy PATH") -> Path:
    """The packaged expert policy of ``env``; without one, the error says what to do ``instead``."""
    path = SHIPPED_DIR / env / "policy.npz"
    if not path.is_file():
        shipped = (
            sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / "policy.npz").is_file())
            if SHIPPED_DIR.is_dir()
            else []
        )
        raise HyirlError(f"no shipped expert for {env!r} (shipped: {', '.join(shipped) or 'none'}); {instead}")
    return path


def check_policy_fits(meta: dict, policy: NumpyPolicy, env) -> None:
    obs_dim = env.observation_space.shape[0]
    in_dim = policy.layers[0][0].shape[0]
    if in_dim != obs_dim or policy.act_dim != env.action_space.shape[0]:
        raise HyirlError(
            f"policy expects obs {in_dim} / act {policy.act_dim} but env {env.task.name} has obs {obs_dim} / "
            f"act {env.action_space.shape[0]} (policy trained on {meta.get('env', '?')})"
        )


def train_expert(cfg: ExpertConfig, out: Path, *, resume: bool = False, progress: bool = True) -> Path:
    """Train SAC on the true reward; keeps the best deterministic policy as ``best_policy.npz``."""
    task = get_task(cfg.env)
    run = RunDir(
        out,
        dataclasses.asdict(cfg),
        resume=resume,
        readable_since=EXPERT_RUNS_READABLE_SINCE,
        defaults=dataclasses.asdict(ExpertConfig(cfg.env)),
    )
    env = make_env(task, p_tremble=0.0, truncated_obs=cfg.truncated_obs)
    eval_env = make_env(task, p_tremble=0.0, truncated_obs=cfg.truncated_obs)
    agent = SAC(env.observation_space.shape[0], env.action_space.shape[0], cfg.sac)
    learner = OnlineSAC(env, agent, cfg.loop, cfg.seed)
    # The best policy is the one whose evaluation episodes most often last the whole horizon, then
    # the highest return: demos keep only full-length episodes, so a fast expert that falls is useless.
    best = (-1.0, -math.inf)
    if run.resumed:  # from the full checkpoint, or from the portable one where the full one was lost
        source = run.checkpoint_file if run.checkpoint_file.is_file() else run.portable_file
        meta = restore_learner(learner, source)[0]
        best = tuple(meta.get("best", (0.0, meta.get("best_return", -math.inf))))
        kept = run.path / "best_policy.npz"
        if cfg.confirm_episodes and not meta.get("best_confirmed") and kept.is_file():
            best = _second_look(load_policy(kept)[0], eval_env, cfg.confirm_episodes)  # a run of 0.6.1 or older
        run.truncate_metrics(learner.env_steps)
    elif cfg.init_from:
        _start_from(learner, Path(cfg.init_from), cfg)
    policy_meta = dict(
        env=task.name, gym_id=task.gym_id, truncated_obs=cfg.truncated_obs, hidden=list(cfg.sac.hidden), seed=cfg.seed
    )
    latest, confirmed = None, cfg.confirm_episodes > 0
    with StepProgress(cfg.steps, f"expert {task.name}", learner.env_steps, enabled=progress) as bar:
        while learner.env_steps < cfg.steps:
            before = learner.env_steps
            learner.collect(cfg.loop.train_freq, learning_rate=cfg.learning_rate(learner.env_steps))
            if crossed(before, learner.env_steps, cfg.eval_every):
                best, latest = _evaluate_and_keep(learner, eval_env, cfg, run, best, policy_meta)
                # a few MB without the replay buffer, kept fresh: what survives a lost run directory
                save_learner(learner, run.portable_file, dict(best=best, best_confirmed=confirmed), with_buffer=False)
            if crossed(before, learner.env_steps, cfg.checkpoint_every) or learner.env_steps >= cfg.steps:
                save_learner(learner, run.checkpoint_file, dict(best=best, best_confirmed=confirmed))
            bar.update(learner.env_steps, latest)
    save_policy(run.path / "final_policy.npz", learner.state.actor_params, dict(policy_meta, steps=learner.env_steps))
    run.finish(env_steps=learner.env_steps)
    return run.path


def _evaluate_and_keep(learner: OnlineSAC, eval_env, cfg: ExpertConfig, run: RunDir, best: tuple, policy_meta: dict):
    """Screen the policy on ``eval_episodes``, give a new best its second look, log both, and keep it
    as ``best_policy.npz`` if it still beats ``best``. Returns (best, the screen's mean return)."""
    returns, lengths = evaluate_with_lengths(learner.policy, eval_env, cfg.eval_episodes, seed=10_000)
    latest = float(returns.mean())
    score = (float(np.mean(lengths >= eval_env.horizon)), latest)
    record = dict(
        env_steps=learner.env_steps,
        eval_return_mean=latest,
        eval_return_std=float(returns.std()),
        eval_full_length=score[0],
        learning_rate=cfg.learning_rate(learner.env_steps),
    )
    if score > best and cfg.confirm_episodes:
        score = _second_look(learner.policy, eval_env, cfg.confirm_episodes)
        record.update(confirm_full_length=score[0], confirm_return_mean=score[1])
    recent = learner.finished_returns[-10:]
    train_return = float(np.mean(recent)) if recent else None
    run.log(dict(record, train_return_mean=train_return, **learner.last_metrics))
    if score > best:
        best = score
        meta = dict(policy_meta, steps=learner.env_steps, selection_return=score[1])
        save_policy(run.path / "best_policy.npz", learner.state.actor_params, meta)
    return best, latest


def _second_look(policy, env, episodes: int) -> tuple[float, float]:
    """(share of full-length episodes, mean return) on ``episodes`` fresh seeds, not the screening ones."""
    returns, lengths = evaluate_with_lengths(policy, env, episodes, seed=20_000)
    return float(np.mean(lengths >= env.horizon)), float(returns.mean())


def _start_from(learner: OnlineSAC, run_dir: Path, cfg: ExpertConfig) -> None:
    """Take another run's actor, critic, their targets and optimiser moments, its temperature and, from
    the full checkpoint of a run on the same task (the buffer's rewards are that task's), its replay
    buffer: updates go on at once on the data the critic was fitted to. Otherwise the buffer is first
    filled by that policy (``learning_starts`` steps, no updates); on Humanoid at 1.38M steps the first
    30k updates on so small a buffer took the policy from ≈ 2,600 to ≈ 400 (docs/experts.md)."""
    full, config = run_dir / "checkpoints" / "learner.npz", run_dir / "config.json"
    other = json.loads(config.read_text()) if config.is_file() else {}
    same_data = other.get("truncated_obs") == cfg.truncated_obs and _task_name(other.get("env")) == _task_name(cfg.env)
    source = full if same_data and full.is_file() else run_dir / "checkpoints" / "portable.npz"
    arrays, _ = checkpoint.load_npz(source, "checkpoint to start from")
    part = functools.partial(checkpoint.part, arrays)
    state = checkpoint.unflatten(learner.state, part("state/"))
    learner.state = state.replace(step=learner.state.step, key=learner.state.key)
    learner.policy = NumpyPolicy(learner.state.actor_params)
    if part("buffer/"):
        learner.buffer = buffers.from_numpy(part("buffer/"), capacity=learner.buffer.capacity)
        learner.warmup_until = 0
    else:
        learner.refill_until, learner.warmup_until = learner.warmup_until, 0


def _task_name(env: str | None) -> str | None:
    try:
        return get_task(env).name if env else None
    except HyirlError:
        return None


def evaluate_policy(
    env_name: str,
    policy_path: Path | None,
    episodes: int,
    *,
    p_tremble: float = 0.0,
    seed: int = 100_000,
    truncated_obs: bool | None = None,
) -> dict:
    """Deterministic episodes of a policy; ``truncated_obs`` None: the observations it was trained on
    (True lets e.g. the goal-reaching ant, whose input is Ant's truncated observation, walk Ant-v5)."""
    get_task(env_name)  # an unknown env name is reported before a missing policy
    path = policy_path or shipped_policy_path(env_name)
    policy, meta = load_policy(path)
    truncated = meta.get("truncated_obs", False) if truncated_obs is None else truncated_obs
    env = make_env(env_name, p_tremble=p_tremble, truncated_obs=truncated)
    check_policy_fits(meta, policy, env)
    steps = [[r for *_, r in episode(env, policy, seed + i)] for i in range(episodes)]
    returns = np.array([sum(rewards) for rewards in steps])
    lengths = [len(rewards) for rewards in steps]
    return dict(
        env=env_name,
        policy=str(path),
        episodes=episodes,
        p_tremble=p_tremble,
        seed=seed,
        mean_return=float(returns.mean()),
        std_return=float(returns.std()),
        returns=returns.tolist(),
        lengths=lengths,
        full_length_episodes=sum(n == env.horizon for n in lengths),
    )


def ship_expert(source: Path, episodes: int = 20) -> Path:
    """Copy a trained run's best policy (``source`` a run directory) or a policy file (e.g. a later
    actor the run's selection did not keep) into the package with a manifest of its measured quality."""
    chosen = Path(source).is_file()
    source = Path(source) if chosen else Path(source) / "best_policy.npz"
    arrays, meta = checkpoint.load_npz(source, "expert policy")
    result = evaluate_policy(meta["env"], source, episodes)  # also checks the policy loads and fits its env
    dest = SHIPPED_DIR / meta["env"]
    dest.mkdir(parents=True, exist_ok=True)
    checkpoint.save_npz(dest / "policy.npz", arrays, meta)
    # hyirl's own version from the source: an editable install's metadata keeps the version it was installed at
    versions = dict(hyirl=__version__) | {
        p: importlib.metadata.version(p) for p in ("jax", "flax", "optax", "gymnasium", "mujoco", "numpy")
    }
    manifest = dict(
        env=meta["env"],
        gym_id=meta["gym_id"],
        truncated_obs=meta["truncated_obs"],
        hidden=meta["hidden"],
        training_steps=meta["steps"],
        seed=meta["seed"],
        action_space="normalised to [-1, 1]",
        full_length_episodes=f"{result['full_length_episodes']} of {episodes} (demos keep only these)",
        deterministic_return=dict(
            mean=result["mean_return"],
            std=result["std_return"],
            episodes=episodes,
            eval_seeds=f"{result['seed']}..{result['seed'] + episodes - 1}",
            p_tremble=0.0,
        ),
        command=f"hyirl expert train {meta['env']} --seed {meta['seed']} --steps {meta['steps']}, then "
        + (
            f"hyirl expert ship {source.name} (the run's actor at {meta['steps']} steps)"
            if chosen
            else "hyirl expert ship RUN_DIR (of the 5-episode evaluations during training, the policy with the "
            "most full-length episodes, then the highest return)"
        ),
        versions=versions,
    )
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return dest
