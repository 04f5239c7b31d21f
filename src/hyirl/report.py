"""Aggregate run directories into IQM curves, tables and probabilities of improvement (rliable).

Runs are grouped by task x method. Each run's evaluation returns are interpolated onto a common grid
of env steps (evaluations happen at irregular steps because discriminator samples are counted),
then rliable gives the interquartile mean with 95 % stratified-bootstrap confidence intervals.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections import defaultdict
from importlib import resources
from pathlib import Path

import numpy as np

from hyirl.envs import get_task, make_env
from hyirl.errors import HyirlError
from hyirl.hyper import HyPERConfig
from hyirl.presets import build_config, hyper_preset, model_free_preset
from hyirl.runs import release, to_jsonable

BOOTSTRAP_REPS = 2000
# Options that make a model-free run a variant of its method: runs that differ from these defaults (or
# from the task's preset: AntMaze has no SB3 rounds) are reported as separate methods, e.g.
# "hype (disc_samples=recent)", so a comparison never mixes them.
VARIANT_DEFAULTS = {
    "disc_samples": "fresh",
    "reset_mode": "state",
    "reference_rounds": True,
    "contact_forces": True,
    "contact_margins": "mujoco",
}
# What a config lacking the field did: it was made before the field existed (contact forces observed;
# contacts as the installed MuJoCo made them; every SAC started from LeCun's weights). Keys as ``_flat`` writes them.
MADE_BEFORE_THE_FIELD = {"contact_forces": True, "contact_margins": "mujoco", "sac.init": "lecun"}
# HyPER options that are not in the paper, named in every label of a run that uses them.
HYPER_TAGS = {
    "select_epochs": lambda n: f"best of {n} snapshots" if n else None,
    "policy_averages": lambda ts: f"EMA {'/'.join(map(str, ts))}" if ts else None,
    "uncertainty_penalty": lambda lam: f"penalty {lam:g}" if lam else None,
    "start_coin": lambda coin: "starts mixed per state" if coin == "state" else None,
    "learner_start_window": lambda w: f"learner starts <= {w / 1000:g}k old" if w else None,
}


def discriminator_init(config: dict) -> str | None:
    """How a run initialised its discriminator (None: it has none). Configs written before hyirl 0.3.0
    do not record it: that code used flax's LeCun init, not the reference's (docs/methods.md)."""
    disc = config.get("disc")
    return disc.get("init", "lecun") if isinstance(disc, dict) else None


def bc_actor_delay(config: dict) -> list[str]:
    """TD3-BC runs whose BC updates delayed the actor, as the reference's first version did: configs
    written before hyirl 0.15.0 carry no ``bc_delayed_actor`` and were made so (docs/methods.md)."""
    td3 = config.get("td3")
    delayed = config.get("policy") == "td3bc" and isinstance(td3, dict) and td3.get("bc_delayed_actor", True)
    return ["td3.bc_delayed_actor=true"] if delayed else []


def data_source(config: dict) -> list[str]:
    """Where a run's demonstrations came from when it is not where the paper's did: a ``--demos-file``
    by name, and hyirl's own AntMaze datasets (the paper used D4RL's files; docs/antmaze.md)."""
    if config.get("demos_file"):
        return [f"demos {Path(config['demos_file']).name}"]
    return ["hyirl data"] if get_task(config.get("env", "hopper")).success_task else []


def goal_terminals(algo: str, config: dict) -> list[str]:
    """AntMaze runs made, even in part, by a hyirl whose data flags differ from D4RL's: before 0.16.0
    no row was terminal ("no goal terminals"); 0.16.x marked the rows at their own episode's goal,
    where D4RL marks those at the evaluation goal ("terminals at own goals"; docs/antmaze.md). BC reads
    neither; with ``goal_ends_episode=false`` the flags are off by design."""
    maze = get_task(config.get("env", "hopper")).success_task
    if algo == "bc" or not maze or not config.get("goal_ends_episode", True):
        return []
    made_by = [r for r in map(release, (config.get("hyirl_version"), *config.get("earlier_versions", []))) if r]
    if any(r < (0, 16, 0) for r in made_by):
        return ["no goal terminals"]
    return ["terminals at own goals"] if any(r < (0, 17, 0) for r in made_by) else []


def trained_as(algo: str, config: dict) -> str:
    """The method's name, or ``mm = hype = bc-reg`` for an AntMaze MM run whose config gives HyPE and
    BC-Reg MM's training exactly (the reference's yaml, spec §10.6): one run stands for the three."""
    hybrid = config.get("td3_hybrid_methods")
    plain_td3 = config.get("policy") == "td3bc" and hybrid is not None and {"hype", "bc-reg"}.isdisjoint(hybrid)
    return "mm = hype = bc-reg" if algo == "mm" and plain_td3 else algo


def method_label(algo: str, config: dict) -> str:
    """What made a run: the method, HyPER's preset and its non-paper options, every --set override and
    a data source unlike the paper's. Only a label equal to the bare method name (or ``hyper paper``)
    is the paper's configuration."""
    init = discriminator_init(config)
    own_init = [f"disc.init={init}"] if init not in (None, "torch") else []
    if algo == "hyper":
        preset = config.get("preset", "efficient")
        tags = [tag(config[k]) for k, tag in HYPER_TAGS.items() if k in config]
        tags = [t for t in tags if t] + own_init + unlike_hyper_preset(config, preset) + data_source(config)
        tags += goal_terminals(algo, config)
        return f"hyper {preset}" + (f" ({', '.join(tags)})" if tags else "")
    preset = model_free_preset(config.get("env", "hopper"))
    paper = {k: preset.get(k, default) for k, default in VARIANT_DEFAULTS.items()}
    made = {**paper, **MADE_BEFORE_THE_FIELD, **config}
    changed = [
        f"{k}={str(made[k]).lower() if isinstance(made[k], bool) else made[k]}" for k in paper if made[k] != paper[k]
    ]
    named = ("disc.init=", "td3.bc_delayed_actor=", "contact_forces=", "contact_margins=")  # named by their own checks
    settings = [s for s in config.get("settings", []) if not s.startswith(named)]  # hyirl train --set
    changed += own_init + settings + bc_actor_delay(config) + data_source(config) + goal_terminals(algo, config)
    return trained_as(algo, config) + (f" ({', '.join(changed)})" if changed else "")


# What a HyPER config holds besides the method's settings: never part of a label.
HYPER_RUN_FIELDS = {"env", "algo", "seed", "preset", "steps", "eval_every", "eval_episodes", "demos", "demos_file"}
HYPER_RUN_FIELDS |= {"settings", "checkpoint_every", "p_tremble", "disc.init"}


def _flat(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


@functools.cache
def _action_dim(env: str) -> int:
    return make_env(get_task(env)).action_space.shape[0]


def _resolved(flat: dict, env: str) -> dict:
    """SAC's target entropy None is -dim(A), which older presets wrote out."""
    if flat.get("sac.target_entropy", 0) is None:
        flat["sac.target_entropy"] = -float(_action_dim(env))
    return flat


def unlike_hyper_preset(config: dict, preset: str) -> list[str]:
    """``key=value`` for each setting of a HyPER run that differs from its preset as it is today: a
    preset's values change between versions (the efficient preset's Hopper entropy target did, the
    paper preset's SAC initialisation did), and a run's label says what made it. A field a config lacks
    (written before it existed) counts at ``MADE_BEFORE_THE_FIELD`` or is left out; the non-paper
    options of ``HYPER_TAGS`` and the settings of the policy a run did not use are left out."""
    env = config.get("env", "hopper")
    try:
        today = to_jsonable(build_config(HyPERConfig, hyper_preset(env, preset), {}, env=env, preset=preset))
    except HyirlError:  # a preset that does not cover the task (a config of before the check)
        return []
    today, config = (_resolved(_flat(c), env) for c in (today, config))
    config = {**MADE_BEFORE_THE_FIELD, **config}
    # The other policy's settings play no part (a config lacking the field ran its preset's policy).
    unused = "sac." if config.get("policy", today["policy"]) == "td3bc" else "td3."
    return [
        f"{key}={json.dumps(value, separators=(',', ':'))}"
        for key, value in config.items()
        if key in today
        and key not in HYPER_RUN_FIELDS
        and key not in HYPER_TAGS
        and value != today[key]
        and not key.startswith(unused)
    ]


def load_run(path: Path, metric: str | None = None) -> dict:
    """A run's config and its evaluations: ``returns`` holds ``metric`` of every metrics.jsonl record
    (e.g. ``eval_return_latest`` or ``eval_return_ema1000`` of a HyPER run with ``policy_averages``);
    by default the task's score: the return, or the success rate in % on AntMaze."""
    path = Path(path)
    config_file, metrics_file = path / "config.json", path / "metrics.jsonl"
    if not config_file.is_file() or not metrics_file.is_file():
        raise HyirlError(f"{path} is not a run directory (needs config.json and metrics.jsonl)")
    config = json.loads(config_file.read_text())
    records = [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()]
    if not records:
        raise HyirlError(f"{path} has no evaluations yet")
    algo = config.get("algo", "bc" if "grad_steps" in config else None)
    if algo is None or "env" not in config:
        raise HyirlError(f"{path} is not an imitation run (its config names no method)")
    metric = metric or score_metric(config["env"])
    steps = np.array([r["env_steps"] for r in records], float)
    if any(metric not in r for r in records):
        raise HyirlError(f"{path}: not every evaluation in metrics.jsonl has {metric!r}")
    returns = np.array([r[metric] for r in records], float)
    return dict(
        path=str(path),
        algo=algo,
        method=method_label(algo, config),
        env=config["env"],
        seed=config.get("seed"),
        env_steps=steps,
        returns=returns,
        policy_steps=np.array([r.get("policy_steps", r["env_steps"]) for r in records], float),
    )


def score_metric(env: str) -> str:
    return "eval_success_pct" if get_task(env).success_task else "eval_return_mean"


def score_name(env: str) -> str:
    return "success rate (%)" if get_task(env).success_task else "return"


def paper_results() -> dict:
    return json.loads(resources.files("hyirl").joinpath("paper_results.json").read_text())


def paper_curve(paper: dict, env: str, algo: str) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The paper's curve for ``algo`` on ``env``: plotted x, values (missing points dropped), and the
    offset between plotted and measured x (one evaluation interval)."""
    task = paper["tasks"].get(env)
    if task is None:
        return None
    family = "hyper" if algo == "hyper" else "model_free"
    values = task.get("hyper") if algo == "hyper" else task["curves"].get(algo)
    if values is None:
        return None
    # A task may have its own grid (AntMaze: evaluations every 25k model-free, 10k HyPER after 10k exploring).
    xs = np.array(task.get(f"x_{family}", paper[f"x_{family}"]), float)
    keep = [i for i, v in enumerate(values) if v is not None]
    offset = task.get("measured_offset", paper["measured_offset"])[family]
    return xs[keep], np.array([values[i] for i in keep], float), offset


def paper_value(paper: dict, env: str, algo: str, plotted_x: int) -> float | None:
    if algo == "bc":
        task = paper["tasks"].get(env)
        return None if task is None else task["bc"]
    curve = paper_curve(paper, env, algo)
    if curve is None or not curve[0][0] <= plotted_x <= curve[0][-1]:
        return None
    return float(np.interp(plotted_x, curve[0], curve[1]))


def _iqm_per_column(scores: np.ndarray) -> np.ndarray:
    """rliable's IQM (the 25 %-trimmed mean) of each column, computed as scipy.stats.trim_mean does.

    Called once per bootstrap resample: scipy's own argument handling took ~98 % of report time."""
    n = len(scores)
    cut = int(0.25 * n)
    return np.partition(scores, (cut, n - cut - 1), axis=0)[cut : n - cut].mean(axis=0)


def iqm_with_ci(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IQM per column of ``scores`` (runs x points) and its 95 % CI, shape (2, points)."""
    from rliable import library as rly

    np.random.seed(0)  # rliable's bootstrap draws from NumPy's global RNG: fixed so reports are reproducible
    point, interval = rly.get_interval_estimates({"m": scores}, _iqm_per_column, reps=BOOTSTRAP_REPS)
    return point["m"], interval["m"]


def build_report(
    run_dirs: list[Path],
    out: Path,
    *,
    at: list[int],
    axis: str = "env_steps",
    overlay_paper: bool = True,
    intro: str | None = None,
    command: str | None = None,
) -> Path:
    if not run_dirs:
        raise HyirlError("no run directories given")
    runs = [load_run(p) for p in run_dirs]
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        groups[run["env"]][run["method"]].append(run)
    # ``out`` is a folder (report.md, plots, summary.json inside) or a markdown file whose plots and
    # summary go to the folder of the same name (docs/results.md -> docs/results/).
    out = Path(out)
    markdown = out if out.suffix == ".md" else out / "report.md"
    out = out.with_suffix("") if out.suffix == ".md" else out
    out.mkdir(parents=True, exist_ok=True)
    link = "" if markdown.parent == out else f"{out.name}/"
    paper = paper_results()
    lines = [
        "# Results",
        "",
        f"Generated from {len(runs)} runs by",
        "",
        f"    {command or 'hyirl report'}",
        "",
        "IQM over seeds with 95 % "
        f"stratified-bootstrap confidence intervals ({BOOTSTRAP_REPS} resamples, rliable). x axis: `{axis}`.",
        "",
        *([intro.rstrip(), ""] if intro else []),
    ]
    summary: dict = {}
    for env, by_method in sorted(groups.items()):
        section, summary[env] = _env_section(env, by_method, out, link, at, axis, paper, overlay_paper)
        lines += section
    lines += [
        "Paper values are read off the reference's figures (`src/hyirl/paper_results.json` gives the source); the"
        " paper plots each point one evaluation interval (model-free 50k, on AntMaze 25k; HyPER 10k) before the "
        "step it was measured at and does not count the discriminator's samples (nor HyPER's first 1k exploration"
        " steps), so its x is closest to our `policy_steps` minus one interval. The tables compare at equal "
        "plotted x; the plots draw the paper's points at their measured x.",
        "",
    ]
    markdown.write_text("\n".join(lines))
    (out / "summary.json").write_text(json.dumps(summary))
    return markdown


def _env_section(env, by_method, out: Path, link: str, at, axis: str, paper: dict, overlay_paper: bool):
    """One task's part of the report: its table, pairwise improvement probabilities and plot (the lines),
    and its IQM curves (the summary)."""
    lines = [f"## {env}", ""]
    curves, finals = {}, {}
    for method, method_runs in sorted(by_method.items()):
        if method_runs[0]["algo"] == "bc":
            finals[method] = np.array([r["returns"][-1] for r in method_runs])
            continue
        # only where every run has been evaluated: no extrapolation before the first or after the last point
        start, end = max(r[axis][0] for r in method_runs), min(r[axis][-1] for r in method_runs)
        grid = np.linspace(start, end, 40)
        scores = np.array([np.interp(grid, r[axis], r["returns"]) for r in method_runs])
        iqm, ci = iqm_with_ci(scores)
        curves[method] = dict(grid=grid, iqm=iqm, ci=ci, runs=method_runs)
    lines += [f"Score: {score_name(env)}.", ""]
    lines += [*_table(env, finals, by_method, at, axis, paper), ""]
    improvement = _improvement(curves, at, axis)
    lines += [*improvement, ""] if improvement else []
    if curves:  # BC alone is a table row, not a curve
        plot = _plot(env, curves, finals, out, axis, paper if overlay_paper else None)
        lines += [f"![{env}]({link}{plot.name})", ""]
    summary = {
        a: dict(
            grid=c["grid"].tolist(), iqm=c["iqm"].tolist(), ci=c["ci"].tolist(), runs=[r["path"] for r in c["runs"]]
        )
        for a, c in curves.items()
    }
    return lines, summary


def _values_at(runs: list[dict], step: int, axis: str) -> np.ndarray | None:
    if any(r[axis][-1] < step or r[axis][0] > step for r in runs):
        return None
    return np.array([np.interp(step, r[axis], r["returns"]) for r in runs])


def _table(env, finals, by_method, at, axis, paper) -> list[str]:
    header = (
        "| method | seeds | " + " | ".join(f"{s / 1000:g}k (ours)" + f" | {s / 1000:g}k (paper)" for s in at) + " |"
    )
    rows = [header, "|" + "---|" * (2 + 2 * len(at))]
    for method, runs in sorted(by_method.items()):
        cells = [method, str(len(runs))]
        for step in at:
            values = finals[method] if method in finals else _values_at(runs, step, axis)
            if values is None:
                cells.append("–")
            else:
                iqm, ci = iqm_with_ci(values[:, None])
                cells.append(f"{iqm[0]:.0f} [{ci[0, 0]:.0f}, {ci[1, 0]:.0f}]")
            ref = paper_value(paper, env, runs[0]["algo"], step)
            cells.append("–" if ref is None else f"{ref:.0f}")
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _improvement(curves, at, axis) -> list[str]:
    from rliable import metrics

    # The last step that at least two methods reach; methods whose runs stop earlier are left out.
    reached = {s: [a for a in sorted(curves) if _values_at(curves[a]["runs"], s, axis) is not None] for s in at}
    step = max((s for s, algos in reached.items() if len(algos) >= 2), default=None)
    if step is None:
        return []
    algos = reached[step]
    lines = [
        f"Probability of improvement P(row > column) at {step / 1000:g}k {axis}:",
        "",
        "| | " + " | ".join(algos) + " |",
        "|" + "---|" * (len(algos) + 1),
    ]
    for x in algos:
        cells = []
        for y in algos:
            sx, sy = _values_at(curves[x]["runs"], step, axis), _values_at(curves[y]["runs"], step, axis)
            cells.append("–" if x == y else f"{metrics.probability_of_improvement(sx[:, None], sy[:, None]):.2f}")
        lines.append(f"| {x} | " + " | ".join(cells) + " |")
    return lines


PANEL_ORDER = ("hype", "hype-filter", "filter", "mm", "bc-reg", "hyper")


FINAL_ONLY_COLORS = ("gray", "tab:purple", "tab:brown", "tab:olive")  # BC and its variants, told apart


def _reference_lines(ax, finals: dict, task: dict, ours: float | None) -> list:
    """The horizontal lines every panel shares (our final-only methods such as BC, the paper's BC, both
    experts), returned to be named once in the figure's legend."""
    shared = [
        ax.axhline(np.mean(values), color=color, ls=":", lw=1.2, label=f"our {method} (n={len(values)})")
        for (method, values), color in zip(finals.items(), itertools.cycle(FINAL_ONLY_COLORS))
    ]
    if any(method.split(" (")[0] == "bc" for method in finals) and task.get("bc") is not None:
        shared.append(ax.axhline(task["bc"], color="gray", ls="--", lw=1.2, label=f"paper bc ({task['bc']:,g})"))
    if ours is not None:
        shared.append(ax.axhline(ours, color="green", lw=1.0, label=f"our expert ({ours:,.0f})"))
    if task.get("expert") is not None:
        expert = task["expert"]
        shared.append(ax.axhline(expert, color="green", ls="--", lw=1.0, label=f"paper expert ({expert:,.0f})"))
    return shared


def _plot(env, curves, finals, out: Path, axis: str, paper: dict | None) -> Path:
    """One panel per method: our curves (a variant's label names what differs), the paper's points as
    black markers at their measured x, both experts and BC as horizontal lines; legends below each panel."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.transforms import ScaledTranslation

    order = lambda a: (PANEL_ORDER.index(a) if a in PANEL_ORDER else len(PANEL_ORDER), a)  # noqa: E731
    algos = sorted({c["runs"][0]["algo"] for c in curves.values()}, key=order)
    cols = min(3, max(len(algos), 1))
    rows = -(-max(len(algos), 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.4 * rows), squeeze=False, sharey=True)
    ours = _shipped_expert_return(env)
    task = paper["tasks"].get(env, {}) if paper else {}
    for ax, algo in zip(axes.flat, algos):
        mine = [(m, c) for m, c in sorted(curves.items()) if c["runs"][0]["algo"] == algo]
        for i, (method, c) in enumerate(mine):
            label = textwrap.fill(f"{method} (n={len(c['runs'])})", 44)
            ax.plot(c["grid"], c["iqm"], color=f"C{i}", lw=1.6, label=label)
            ax.fill_between(c["grid"], c["ci"][0], c["ci"][1], color=f"C{i}", alpha=0.2)
        right = max(c["grid"][-1] for _, c in mine)
        ref = paper_curve(paper, env, algo) if paper else None
        if ref is not None:
            xs, values, offset = ref
            keep = xs + offset <= 1.05 * right
            ax.plot(xs[keep] + offset, values[keep], "kx", ms=6, mew=1.5, label=f"paper {algo} (measured x)")
        # Below the x label, whatever the panel's height: tick labels and x label take about 32 points.
        below_label = ax.transAxes + ScaledTranslation(0, -34 / 72, fig.dpi_scale_trans)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=below_label, frameon=False)
        shared = _reference_lines(ax, finals, task, ours)
        ax.set_title(f"{env}: {algo}")
        ax.set_xlabel(axis.replace("_", " "))
        ax.set_xlim(0, 1.02 * right)
        ax.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:g}k")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(algos) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{score_name(env)} (IQM, 95% CI)")
    fig.tight_layout()
    if algos and shared:
        fig.legend(handles=shared, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(shared), frameon=False)
    path = out / f"{env}.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _shipped_expert_return(env: str) -> float | None:
    """The deterministic return of hyirl's own expert for ``env`` (its manifest), if one is shipped."""
    manifest = resources.files("hyirl").joinpath("shipped_experts", env, "manifest.json")
    return json.loads(manifest.read_text())["deterministic_return"]["mean"] if manifest.is_file() else None
