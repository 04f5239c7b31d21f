"""What makes the AntMaze dataset generator fast (issue 27): MuJoCo steps/s of the large maze with the
maze writer's 62 one-cell wall blocks against hyirl's 17 merged walls in static bodies, and episodes
stepped on one thread against on every core (MuJoCo lets go of Python's lock while it steps).

Each measurement steps ``--episodes`` ants, each reset by the task env in a random free cell as the
data's episodes start (one env step = 5 physics steps, actions uniform in [-1, 1], the same for both
models), for ``--steps`` env steps; median and range of ``--reps`` alternating repetitions; the last
line is one JSON object.

    python benchmarks/antmaze_physics.py [--reps 3] [--steps 200] [--episodes 24]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np

from hyirl.antmaze import _ANT_XML, CELL_SIZE, AntMazeEnv


def _blocks_model(grid) -> mujoco.MjModel:
    """The maze as gymnasium-robotics' writer makes it: one wall block per wall cell."""
    with contextlib.redirect_stderr(io.StringIO()):
        from gymnasium_robotics.envs.maze.maze_v4 import Maze
    _, xml = Maze.make_maze(_ANT_XML, grid.writer_map, CELL_SIZE, 0.5)
    try:
        return mujoco.MjModel.from_xml_path(xml)
    finally:
        os.unlink(xml)


def _starts(env, model, episodes: int) -> list[mujoco.MjData]:
    """Ants reset by the task env at the centres of random free cells, as data of ``model``."""
    rng, grid, starts = np.random.default_rng(0), env.grid, []
    for k in range(episodes):
        cell = grid.free_cells[rng.integers(len(grid.free_cells))]
        env.reset(seed=k, options=dict(start=grid.center(cell), goal=grid.center(cell)))
        data = mujoco.MjData(model)
        data.qpos[:], data.qvel[:] = env.data.qpos, env.data.qvel
        mujoco.mj_forward(model, data)
        starts.append(data)
    return starts


def _rate(model, starts, actions, pool=None, threads=1) -> float:
    """Env steps per second over all episodes, stepping them serially or split over ``threads``."""
    datas = [copy.copy(start) for start in starts]

    def step(ks, t):
        for k in ks:
            datas[k].ctrl[:] = actions[t, k]
            mujoco.mj_step(model, datas[k], nstep=5)

    groups = np.array_split(np.arange(len(datas)), threads)
    begin = time.perf_counter()
    for t in range(len(actions)):
        if pool is None:
            step(groups[0], t)
        else:
            list(pool.map(step, groups, [t] * threads))
    return actions.shape[0] * actions.shape[1] / (time.perf_counter() - begin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--episodes", type=int, default=24)
    args = parser.parse_args()

    env = AntMazeEnv()
    merged, blocks = env.ant.model, _blocks_model(env.grid)
    starts = {"merged": _starts(env, merged, args.episodes), "blocks": _starts(env, blocks, args.episodes)}
    actions = np.random.default_rng(0).uniform(-1, 1, (args.steps, args.episodes, 8))
    threads = len(os.sched_getaffinity(0))
    rates = {"blocks, 1 thread": [], "merged, 1 thread": [], f"merged, {threads} threads": []}
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(args.reps):
            rates["blocks, 1 thread"].append(_rate(blocks, starts["blocks"], actions))
            rates["merged, 1 thread"].append(_rate(merged, starts["merged"], actions))
            rates[f"merged, {threads} threads"].append(_rate(merged, starts["merged"], actions, pool, threads))
    print(f"mujoco {mujoco.__version__}, {platform.processor() or platform.machine()}, {threads} CPUs")
    print(f"geoms: blocks {blocks.ngeom}, merged {merged.ngeom}")
    summary = {}
    for name, values in rates.items():
        summary[name] = statistics.median(values)
        print(f"{name:>22}: {summary[name]:7.0f} env steps/s  (range {min(values):.0f}–{max(values):.0f})")
    base = summary["blocks, 1 thread"]
    for name in list(rates)[1:]:
        print(f"{name:>22}: {summary[name] / base:.2f}x the writer's blocks on one thread")
    print(json.dumps(dict(summary, geoms_blocks=blocks.ngeom, geoms_merged=merged.ngeom, threads=threads)))


if __name__ == "__main__":
    main()
