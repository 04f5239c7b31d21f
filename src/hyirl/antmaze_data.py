"""D4RL-style AntMaze datasets made on this machine, and the planner's success measurement.

The protocol is D4RL's (docs/antmaze.md): 1,000-step episodes from a random free cell (plus U(0, 1) m
in x and y), a goal drawn per episode (``diverse``: any free cell; ``play``: D4RL's hand-picked goal
cells), the goal-reaching ant steered by :class:`~hyirl.antmaze.Navigator`, and Gaussian action noise
N(0, 0.2²) clipped to [-1, 1]; the noisy action is both executed and stored. Rows follow hyirl's demo
format (:mod:`hyirl.demos`) plus ``goal``; ``rewards`` is the sparse reward of the episode's own goal
(1 within 0.5 m of it), ``timeouts`` marks step 1000. The episode goes on past the goal, and the file
leaves ``terminals`` unset: loading sets D4RL's flag, at the evaluation goal (:func:`hyirl.demos.goal_terminals`).
"""

from __future__ import annotations

import copy
import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np
from threadpoolctl import threadpool_limits

from hyirl.antmaze import (
    CELL_SIZE,
    HORIZON,
    PLAY_GOALS,
    SUCCESS_RADIUS,
    AntGoalEnv,
    AntMazeEnv,
    GoalReacher,
    MazeGrid,
    Navigator,
)
from hyirl.errors import HyirlError
from hyirl.runs import StepProgress


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One of D4RL's large-maze datasets: where goals are drawn, how many rows, how much noise."""

    name: str
    goal_cells: tuple[tuple[int, int], ...] | None  # None: any free cell
    transitions: int = 1_000_000
    action_noise: float = 0.2


DATASETS = {
    "antmaze-large-diverse": DatasetSpec("antmaze-large-diverse", None),
    "antmaze-large-play": DatasetSpec("antmaze-large-play", PLAY_GOALS),
}

# The shipped goal-reaching ant that makes the datasets (docs/antmaze.md): D4RL's ant and input.
DATA_ANT = "ant-goal-d4rl-steady"

# Part of the cache key of generated datasets: 2 = merged walls, episodes stepped side by side (0.6.0);
# 3 = 2's rows again, as made up to 0.16.0 (0.17.0-0.22.0 rounded goal draws differently under 2).
GENERATOR_VERSION = 3


def dataset_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise HyirlError(f"unknown AntMaze dataset {name!r}: use one of {', '.join(DATASETS)}")
    return DATASETS[name]


def generate_dataset(
    spec: DatasetSpec,
    reacher: GoalReacher,
    transitions: int | None = None,
    seed: int = 0,
    progress: bool = True,
    batch: int = 25,
) -> tuple[dict[str, np.ndarray], dict]:
    """Drive the goal-reaching ant ``reacher`` through the maze, built on the ant model it was trained
    on, for ``transitions`` rows (whole episodes, the last one cut short if needed) and return
    ``(rows, metadata)``. ``batch`` episodes run side by side so that the policy sees one batch."""
    n = spec.transitions if transitions is None else transitions
    if n < 1:
        raise HyirlError(f"transitions {n}: need at least one")
    env = AntMazeEnv(terminate_on_success=False, ant=reacher.ant)
    rng = np.random.default_rng(seed)
    rows = _empty_rows(n)
    lengths = np.minimum(HORIZON, n - np.arange(0, n, HORIZON))
    reached = []
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    # the policy's small matmuls run on this thread alone: BLAS threads would fight MuJoCo's for the cores
    with (
        StepProgress(n, "antmaze data", enabled=progress) as bar,
        threadpool_limits(1, "blas"),
        ThreadPoolExecutor(threads) as pool,
    ):
        for first in range(0, len(lengths), batch):
            episodes = np.arange(first, min(first + batch, len(lengths)))
            lengths_now = lengths[episodes]
            reached += _drive_episodes(env, reacher, spec, rng, seed, rows, episodes, lengths_now, pool, threads)
            bar.update(int(lengths[: episodes[-1] + 1].sum()))
    rows["timeouts"][np.cumsum(lengths) - 1] = True
    meta = dict(
        env=spec.name,
        protocol="d4rl",
        layout=env.grid.layout,
        ant=reacher.ant,
        policy_frame=reacher.frame,
        transitions=n,
        episodes=len(lengths),
        action_noise=spec.action_noise,
        goal_cells="any free cell" if spec.goal_cells is None else [list(c) for c in spec.goal_cells],
        seed=seed,
        **dataset_statistics(rows, env.grid, reached),
    )
    return rows, meta


def _empty_rows(n: int) -> dict[str, np.ndarray]:
    shapes = dict(observations=31, actions=8, next_observations=31, qpos=15, qvel=14, goal=2)
    rows = {k: np.zeros((n, d), np.float32) for k, d in shapes.items()}
    rows.update(rewards=np.zeros(n, np.float32), terminals=np.zeros(n, bool), timeouts=np.zeros(n, bool))
    rows.update(seed=np.zeros(n, np.int64), timestep=np.zeros(n, np.int64))
    return rows


def _start_episodes(env, reacher, spec, rng, seed, episodes) -> tuple[list, list[Navigator]]:
    """Each episode's start cell and goal drawn as D4RL draws them, its ant reset by the task env
    (so starts are the task's) onto a MuJoCo data of its own, and its navigator."""
    grid, datas, navigators = env.grid, [], []
    for e in episodes:
        start = grid.center(grid.free_cells[rng.integers(len(grid.free_cells))]) + rng.uniform(0, 1, 2)
        cells = spec.goal_cells or grid.free_cells
        goal = env.sample_goal(rng, cells[rng.integers(len(cells))])
        env.reset(seed=seed + int(e), options=dict(start=start, goal=goal))
        datas.append(copy.copy(env.data))
        navigators.append(Navigator(reacher, grid, goal, rng))
    return datas, navigators


def _drive_episodes(env, reacher, spec, rng, seed, rows, episodes, lengths, pool, threads) -> list[bool]:
    """Episodes side by side, stepped as the task env steps them; row ``1000 e + t`` is step t of e."""
    datas, navigators = _start_episodes(env, reacher, spec, rng, seed, episodes)
    goals = np.array([nav.goal for nav in navigators])
    state = np.array([np.concatenate([d.qpos, d.qvel]) for d in datas])

    def step(ks):  # MuJoCo lets go of the GIL: episodes step on all cores at once
        for k in ks:
            mujoco.mj_step(env.ant.model, datas[k], nstep=env.ant.frame_skip)
            state[k] = np.concatenate([datas[k].qpos, datas[k].qvel])

    reached = np.zeros(len(datas), bool)
    for t in range(lengths.max()):
        live = np.flatnonzero(t < lengths)
        waypoints = np.array([navigators[k].waypoint(state[k, :2]) for k in live])
        actions = reacher(state[live], waypoints)
        actions = np.clip(actions + rng.normal(0.0, spec.action_noise, (len(live), 8)), -1.0, 1.0)
        r = episodes[live] * HORIZON + t
        rows["qpos"][r], rows["qvel"][r], rows["seed"][r] = state[live, :15], state[live, 15:], seed + episodes[live]
        rows["observations"][r] = np.concatenate([state[live], goals[live]], 1)
        for k, action in zip(live, actions):
            datas[k].ctrl[:] = action
        list(pool.map(step, np.array_split(live, threads)))
        success = np.linalg.norm(state[live, :2] - goals[live], axis=1) <= SUCCESS_RADIUS
        rows["next_observations"][r] = np.concatenate([state[live], goals[live]], 1)
        rows["actions"][r], rows["rewards"][r], rows["goal"][r], rows["timestep"][r] = actions, success, goals[live], t
        reached[live] |= success
    return reached.tolist()


def dataset_statistics(rows: dict[str, np.ndarray], grid: MazeGrid, reached: list[bool]) -> dict:
    """Episodes, the share that reached their goal, and how many of the maze's free cells the ant visited."""
    visited = {grid.cell_of(xy) for xy in rows["qpos"][:, :2]}
    return dict(
        goal_reached_fraction=float(np.mean(reached)),
        cells_visited=len(visited & set(grid.free_cells)),
        free_cells=len(grid.free_cells),
        success_radius=SUCCESS_RADIUS,
    )


def navigation_success(
    reacher: GoalReacher,
    pairs: int = 100,
    seed: int = 0,
    evaluation_task: bool = False,
    progress: bool = True,
) -> tuple[float, list[dict]]:
    """The planner + goal-reaching ant without action noise: the share of episodes reaching their goal
    within 1000 steps, and each episode's start, goal, outcome and torso path.

    ``evaluation_task=False``: ``pairs`` random (start cell, other goal cell) pairs from the cell
    centres; ``True``: the task's own evaluation start and goal (its reset and goal noise), the
    success rate a policy trained on the data could at best copy.
    """
    env = AntMazeEnv(terminate_on_success=True, ant=reacher.ant)
    grid, rng = env.grid, np.random.default_rng(seed)
    outcomes = []
    with StepProgress(pairs, "navigation (episodes)", enabled=progress) as bar:
        for k in range(pairs):
            if evaluation_task:
                obs, _ = env.reset(seed=seed + k)
            else:
                start, goal_cell = (grid.free_cells[i] for i in rng.choice(len(grid.free_cells), 2, replace=False))
                options = dict(start=grid.center(start), goal=env.sample_goal(rng, goal_cell))
                obs, _ = env.reset(seed=seed + k, options=options)
            outcomes.append(_navigate(env, Navigator(reacher, grid, env.goal, rng), obs))
            bar.update(k + 1)
    return float(np.mean([o["success"] for o in outcomes])), outcomes


def goal_reaching_success(reacher: GoalReacher, episodes: int = 100, seed: int = 0) -> float:
    """The goal-reaching ant alone on the open floor: the share of episodes in which it reaches its
    first goal (1–5 m away in a random direction) before the episode ends."""
    env = AntGoalEnv(ant=reacher.ant)
    reached = 0
    for k in range(episodes):
        env.reset(seed=seed + k)
        for _ in range(HORIZON):
            _, _, terminated, _, info = env.step(reacher(env.ant._get_obs(), env.goal))
            if info["reached"] or terminated:
                reached += info["reached"]
                break
    return reached / episodes


def _navigate(env, navigator, obs) -> dict:
    path, success = [obs[:2]], False
    for _ in range(HORIZON):
        obs, _, success, _, _ = env.step(navigator(obs))
        path.append(obs[:2])
        if success:
            break
    return dict(start=path[0].tolist(), goal=env.goal.tolist(), success=bool(success), path=np.array(path))


def plot_paths(outcomes: list[dict], grid: MazeGrid, out, title: str) -> None:
    """The maze's walls with the driven torso paths (circle: start, star: goal; dashed: failed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 6))
    for i, row in enumerate(grid.walls):
        for j, wall in enumerate(row):
            if wall:
                x, y = grid.center((i, j)) - CELL_SIZE / 2
                ax.add_patch(plt.Rectangle((x, y), CELL_SIZE, CELL_SIZE, color="0.35"))
    for k, o in enumerate(outcomes):
        colour = plt.cm.tab10(k % 10)
        ax.plot(*o["path"].T, color=colour, lw=1.4, ls="-" if o["success"] else "--")
        ax.plot(*o["path"][0], "o", color=colour, ms=6)
        ax.plot(*o["goal"], "*", color=colour, ms=13, mec="k", mew=0.6)
    key = [
        plt.Line2D([], [], color="0.2", marker="o", ls="", label="start"),
        plt.Line2D([], [], color="0.2", marker="*", ms=11, ls="", label="goal"),
        plt.Line2D([], [], color="0.2", label="reached"),
        plt.Line2D([], [], color="0.2", ls="--", label="not reached in 1,000 steps"),
    ]
    ax.legend(handles=key, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4, frameon=False, fontsize=9)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
