"""AntMaze: D4RL's large maze on gymnasium's Ant, its cell grid, and a shortest-path planner.

The maze is D4RL's ``HARDEST_MAZE`` (9 × 12 cells of 4 m; gymnasium-robotics' ``LARGE_MAZE`` has the
same walls), built with gymnasium-robotics' maze model writer around gymnasium's ``Ant-v5`` or around
D4RL's ant (:func:`ant_model_xml`: the same body, a fifth of the torque, a longer time step). Two
layouts of the same map exist in the wild and they are mirror images of each other:

* ``d4rl``: row ``i`` lies at y = 4·(i − 1) in D4RL's coordinates (the paper's data and evaluation);
* ``minari``: gymnasium-robotics' placement, row ``i`` at y = 18 − 4·(i + ½) (Minari's regenerated data).

hyirl's tasks and its own datasets use the ``d4rl`` layout; its simulator coordinates are D4RL's
shifted by :attr:`MazeGrid.d4rl_offset` (the writer centres the map on the origin).

Observations are D4RL's: qpos[:15] + qvel[:14] (the torso's x, y included) followed by the goal's
x, y: 31 numbers. Success is being within 0.5 m of the goal (D4RL's sparse reward).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import io
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from hyirl.errors import HyirlError

# D4RL's HARDEST_MAZE without its markers: 1 = wall, 0 = free.
LARGE_MAZE = (
    (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1),
    (1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1),
    (1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1),
    (1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1),
    (1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1),
    (1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1),
    (1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1),
    (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
)
# D4RL's evaluation start (R) and goal (G) cells of HARDEST_MAZE_TEST.
EVAL_START, EVAL_GOAL = (1, 1), (7, 9)
# The goal cells (G) of D4RL's HARDEST_MAZE: the hand-picked goals of the "play" data.
PLAY_GOALS = ((1, 6), (3, 5), (3, 10), (5, 2), (7, 4), (7, 6), (7, 9))
CELL_SIZE = 4.0
SUCCESS_RADIUS = 0.5
HORIZON = 1000
GOAL_DISTANCE = (1.0, 5.0)  # the goal-reaching ant's training goals, metres from the torso
GOAL_NOISE = (1.0, 0.5)  # D4RL's goal: the cell centre plus U(0, 1) + U(0, 0.5) m in x and in y


@dataclasses.dataclass(frozen=True)
class MazeGrid:
    """The maze's cells, their centres in simulator coordinates, and shortest paths between them."""

    walls: tuple[tuple[int, ...], ...] = LARGE_MAZE
    layout: str = "d4rl"

    def __post_init__(self):
        if self.layout not in ("d4rl", "minari"):
            raise HyirlError(f"unknown maze layout {self.layout!r}: use 'd4rl' or 'minari'")

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.walls), len(self.walls[0])

    @property
    def writer_map(self) -> list[list[int]]:
        """The map as handed to gymnasium-robotics' writer, which puts row 0 at the largest y."""
        rows = [list(row) for row in self.walls]
        return rows[::-1] if self.layout == "d4rl" else rows

    def center(self, cell) -> np.ndarray:
        rows, cols = self.shape
        i, j = cell
        row_from_top = rows - 1 - i if self.layout == "d4rl" else i
        return np.array([(j + 0.5 - cols / 2) * CELL_SIZE, (rows / 2 - row_from_top - 0.5) * CELL_SIZE])

    def mean_goal(self, cell) -> np.ndarray:
        """Where D4RL's noisy goal in ``cell`` lies on average (:meth:`AntMazeEnv.sample_goal`)."""
        return self.center(cell) + sum(GOAL_NOISE) / 2

    def cell_of(self, xy) -> tuple[int, int]:
        rows, cols = self.shape
        j = int(np.floor(xy[0] / CELL_SIZE + cols / 2))
        row_from_top = int(np.floor(rows / 2 - xy[1] / CELL_SIZE))
        return (rows - 1 - row_from_top if self.layout == "d4rl" else row_from_top), j

    @property
    def d4rl_offset(self) -> np.ndarray:
        """Simulator xy minus D4RL's xy (D4RL puts the centre of cell (1, 1) at the origin)."""
        if self.layout != "d4rl":
            raise HyirlError("D4RL coordinates map onto the 'd4rl' layout only (the other is its mirror image)")
        return self.center((1, 1))

    @functools.cached_property
    def free_cells(self) -> tuple[tuple[int, int], ...]:
        return tuple((i, j) for i, row in enumerate(self.walls) for j, wall in enumerate(row) if not wall)

    def is_free(self, cell) -> bool:
        i, j = cell
        rows, cols = self.shape
        return 0 <= i < rows and 0 <= j < cols and not self.walls[i][j]

    @staticmethod
    def neighbours(cell) -> tuple[tuple[int, int], ...]:
        i, j = cell
        return (i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)

    @staticmethod
    def next_cell(cell, dist: dict) -> tuple[int, int]:
        """The neighbour of ``cell`` one step closer along ``dist`` (from :meth:`distances_to`)."""
        return min(MazeGrid.neighbours(cell), key=lambda c: dist.get(c, np.inf))

    def distances_to(self, goal) -> dict[tuple[int, int], int]:
        """Breadth-first cell distances from every free cell to ``goal`` (4-connected moves)."""
        if not self.is_free(goal):
            raise HyirlError(f"goal cell {tuple(goal)} is a wall")
        goal = tuple(goal)
        dist, queue = {goal: 0}, collections.deque([goal])
        while queue:
            cell = queue.popleft()
            for nxt in self.neighbours(cell):
                if self.is_free(nxt) and nxt not in dist:
                    dist[nxt] = dist[cell] + 1
                    queue.append(nxt)
        return dist

    def wall_boxes(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The walls as few boxes, as ``(centre xy, half size xy)``: each row's runs of wall cells,
        stacked with the same run in the rows below. In static bodies of their own (see
        :func:`_merge_wall_blocks`) they make a maze step 1.27× faster on average than D4RL's 62
        one-cell blocks (``benchmarks/antmaze_physics.py``)."""
        runs = []  # [first row, last row, first column, last column]
        for i, row in enumerate(self.walls):
            for j, wall in enumerate(row):
                if not wall:
                    continue
                if j and row[j - 1]:
                    runs[-1][3] = j
                else:
                    runs.append([i, i, j, j])
        boxes = []
        for run in runs:
            above = next((b for b in boxes if b[1] == run[0] - 1 and b[2:] == run[2:]), None)
            if above:
                above[1] = run[0]
            else:
                boxes.append(run)
        return [
            (
                (self.center((i0, j0)) + self.center((i1, j1))) / 2,
                np.array([j1 - j0 + 1, i1 - i0 + 1]) * CELL_SIZE / 2,
            )
            for i0, i1, j0, j1 in boxes
        ]

    def path(self, start, goal) -> list[tuple[int, int]]:
        """A shortest cell path from ``start`` to ``goal``, both included."""
        dist = self.distances_to(goal)
        cell = tuple(start)
        if cell not in dist:
            raise HyirlError(f"cell {cell} cannot reach {tuple(goal)}")
        path = [cell]
        while dist[cell]:
            cell = self.next_cell(cell, dist)
            path.append(cell)
        return path


_ANT_XML = os.path.join(os.path.dirname(gym.__file__), "envs", "mujoco", "assets", "ant.xml")
ANT_MODELS = ("gymnasium", "d4rl")


@contextlib.contextmanager
def ant_model_xml(model: str):
    """The path of the ant's MJCF file: gymnasium's Ant-v5, or D4RL's AntMaze ant written from it.

    D4RL's ant (``d4rl/locomotion/assets/ant.xml``) has the same bodies, joints and masses, but a
    0.02 s time step (0.1 s per env step with frame skip 5, against 0.05 s), torques of at most 30
    (its motors span ±30 and D4RL's wrapper scales actions in [-1, 1] onto them; gymnasium's gear is
    150) and softer contacts (solimp 0.8 0.8 0.01). Under the same random actions it does not flip
    where gymnasium's does (docs/antmaze.md)."""
    if model not in ANT_MODELS:
        raise HyirlError(f"unknown ant model {model!r}: use one of {', '.join(ANT_MODELS)}")
    if model == "gymnasium":
        yield _ANT_XML
        return
    tree = ET.parse(_ANT_XML)
    root = tree.getroot()
    root.find("option").set("timestep", "0.02")
    root.find("default").find("geom").set("solimp", ".8 .8 .01")
    for motor in root.iter("motor"):
        motor.set("gear", "30")
    fd, path = tempfile.mkstemp(suffix=".xml", prefix="hyirl-d4rl-ant-")
    os.close(fd)
    try:
        tree.write(path)
        yield path
    finally:
        os.unlink(path)


def _ant(xml_file: str = _ANT_XML, **kwargs):
    """gymnasium's Ant-v5 reporting qpos[:15] + qvel[:14] (D4RL's 29 numbers, x and y included)."""
    from gymnasium.envs.mujoco.ant_v5 import AntEnv

    return AntEnv(
        xml_file=xml_file,
        exclude_current_positions_from_observation=False,
        include_cfrc_ext_in_observation=False,
        **kwargs,
    )


def goal_input(ant_obs: np.ndarray, goal) -> np.ndarray:
    """What the goal-reaching ant sees: its qpos[2:15] + qvel (27 numbers, Ant's truncated observation)
    in the frame turned about z so that the goal lies straight ahead along +x (rows of a batch alike).

    The floor is the same in every direction, so walking to any goal is walking "forward" in this
    frame: the goal-reaching ant is a forward walker that starts at any heading, and a forward walker
    of the truncated observation (the Ant expert) reads the same numbers for a goal far along +x.
    The torso's orientation and linear velocity are turned; MuJoCo keeps the free joint's angular
    velocity in the body's own frame, so it stays as it is. The quaternion's sign is chosen with
    w >= 0 (a turn by more than half a circle would otherwise flip it).
    """
    ant_obs = np.asarray(ant_obs, np.float64)
    rel = np.asarray(goal, np.float64) - ant_obs[..., :2]
    theta = np.arctan2(rel[..., 1], rel[..., 0])
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    qw, qx, qy, qz = np.moveaxis(ant_obs[..., 3:7], -1, 0)
    quat = np.stack([c * qw + s * qz, c * qx + s * qy, c * qy - s * qx, c * qz - s * qw], -1)  # turn by -theta, then q
    quat *= np.where(quat[..., :1] < 0, -1.0, 1.0)  # q and -q are one orientation; w >= 0 as an upright ant's is
    cos, sin = np.cos(theta), np.sin(theta)
    vx, vy = ant_obs[..., 15], ant_obs[..., 16]
    velocity = np.stack([cos * vx + sin * vy, -sin * vx + cos * vy], -1)
    return np.concatenate([ant_obs[..., 2:3], quat, ant_obs[..., 7:15], velocity, ant_obs[..., 17:29]], -1)


def world_goal_input(ant_obs: np.ndarray, goal) -> np.ndarray:
    """What a world-frame goal-reaching ant sees, D4RL's form: its qpos[2:15] + qvel as they are and
    the unit direction to the goal in world axes (29 numbers; D4RL's generator scales it to 10 m)."""
    ant_obs = np.asarray(ant_obs, np.float64)
    rel = np.asarray(goal, np.float64) - ant_obs[..., :2]
    direction = rel / np.maximum(np.linalg.norm(rel, axis=-1, keepdims=True), 1e-9)
    return np.concatenate([ant_obs[..., 2:29], direction], -1)


GOAL_INPUTS = {"goal": goal_input, "world": world_goal_input}


@dataclasses.dataclass(frozen=True)
class GoalReacher:
    """A goal-reaching policy together with what it learnt on: the ant model (:data:`ANT_MODELS`) and
    the frame of its input (:data:`GOAL_INPUTS`). Called with ant states (qpos[:15] + qvel, one or
    rows) and goals, it returns the policy's actions."""

    policy: Callable
    ant: str = "gymnasium"
    frame: str = "goal"

    def __call__(self, ant_obs: np.ndarray, goal) -> np.ndarray:
        return self.policy(GOAL_INPUTS[self.frame](ant_obs, goal))

    @classmethod
    def of(cls, policy, policy_meta: dict) -> "GoalReacher":
        """``policy`` with the ant and frame of the task in its metadata (policies of before hyirl
        0.10.0 name only their task)."""
        from hyirl.envs import get_task

        gym_id = policy_meta.get("gym_id") or get_task(policy_meta.get("env", "ant-goal")).gym_id
        kwargs = gym.spec(gym_id).kwargs
        return cls(policy, kwargs.get("ant", "gymnasium"), kwargs.get("frame", "goal"))


def _torso_quaternion(qpos) -> np.ndarray:
    """The torso's unit quaternion (w, x, y, z) along the last axis of ``qpos`` (one state or rows)."""
    quat = np.asarray(qpos, np.float64)[..., 3:7]
    return np.moveaxis(quat / np.linalg.norm(quat, axis=-1, keepdims=True), -1, 0)


def torso_up(qpos):
    """The world-z component of the torso's own z axis: 1 upright, 0 on its side, -1 on its back
    (a number for one state, an array for rows of states)."""
    _, x, y, _ = _torso_quaternion(qpos)
    return 1.0 - 2.0 * (x * x + y * y)


def torso_heading(qpos):
    """The planar direction (radians) of the torso's own x axis (a number, or an array for rows)."""
    w, x, y, z = _torso_quaternion(qpos)
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


class _AntWithGoal(gym.Env):
    """Shared plumbing: an inner Ant-v5, a goal, exact state access for :class:`hyirl.envs.TaskEnv`."""

    metadata = {"render_modes": []}

    def __init__(self, ant, ant_model: str):
        self.ant, self.ant_model = ant, ant_model
        self.action_space = ant.action_space
        self.goal = np.zeros(2)

    @property
    def data(self):
        return self.ant.data

    def set_state(self, qpos, qvel) -> None:
        self.ant.set_state(qpos, qvel)

    def set_goal(self, goal) -> None:
        self.goal = np.asarray(goal, np.float64).copy()

    def distance(self) -> float:
        return float(np.linalg.norm(self.ant.data.qpos[:2] - self.goal))

    def _reset_ant(self, seed, start_xy) -> None:
        super().reset(seed=seed)
        self.ant.init_qpos[:2] = start_xy
        self.ant.reset(seed=seed)

    def close(self):
        self.ant.close()


def _merge_wall_blocks(xml_path: str, grid: MazeGrid) -> None:
    """Replace the maze writer's one-cell wall blocks by :meth:`MazeGrid.wall_boxes` (the same solid),
    each in a static body of its own so that MuJoCo's broad phase, which works on bodies, skips
    the walls far from the ant (with all walls in the world body every one reached the narrow phase).
    """
    tree = ET.parse(xml_path)
    worldbody = tree.getroot().find("worldbody")
    blocks = [g for g in worldbody.findall("geom") if g.get("name", "").startswith("block_")]
    if not blocks:
        raise HyirlError("gymnasium-robotics' maze writer made no 'block_' wall geoms: an untested version?")
    for block in blocks:
        worldbody.remove(block)
    height = float(blocks[0].get("size").split()[2])
    for k, (centre, half) in enumerate(grid.wall_boxes()):
        body = ET.SubElement(worldbody, "body", dict(name=f"wall_{k}", pos=f"{centre[0]} {centre[1]} {height}"))
        wall = ET.SubElement(body, "geom", dict(blocks[0].attrib, name=f"wall_{k}", pos="0 0 0"))
        wall.set("size", f"{half[0]} {half[1]} {height}")
    tree.write(xml_path)


class AntMazeEnv(_AntWithGoal):
    """The large maze's evaluation task: D4RL's start cell and goal, reward 1 and the end of the episode
    on reaching the goal (D4RL's eval mode), observation = ant state (29) + goal (2).

    ``reset(options={"start": xy, "goal": xy})`` starts elsewhere (dataset generation); with
    ``terminate_on_success=False`` the episode goes on past the goal, as in D4RL's data. ``ant`` is
    one of :data:`ANT_MODELS` (:func:`ant_model_xml`).
    """

    def __init__(self, layout: str = "d4rl", terminate_on_success: bool = True, ant: str = "gymnasium"):
        with contextlib.redirect_stderr(io.StringIO()):  # its import prints a notice about its Adroit tasks
            from gymnasium_robotics.envs.maze.maze_v4 import Maze

        self.grid = MazeGrid(layout=layout)
        with ant_model_xml(ant) as ant_xml:
            _, xml = Maze.make_maze(ant_xml, self.grid.writer_map, CELL_SIZE, 0.5)
        _merge_wall_blocks(xml, self.grid)
        try:
            # the maze never ends an episode for an unhealthy ant (D4RL's generation loop ignores it)
            super().__init__(_ant(xml, terminate_when_unhealthy=False), ant)
        finally:
            os.unlink(xml)
        self.terminate_on_success = terminate_on_success
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (31,), np.float64)

    def reset(self, *, seed=None, options=None):
        options = options or {}
        self._reset_ant(seed, options.get("start", self.grid.center(EVAL_START)))
        self.set_goal(options["goal"] if "goal" in options else self.sample_goal(self.np_random, EVAL_GOAL))
        return self._get_obs(), {}

    def sample_goal(self, rng: np.random.Generator, cell) -> np.ndarray:
        """D4RL's goal noise: the cell centre plus U(0, 1) + U(0, 0.5) m in x and in y."""
        # Added one after the other, as the datasets were made up to 0.16.0 and again since 0.23.0: adding the
        # two draws first rounds differently, and the ant's path, hence every later row, follows the goal.
        goal = self.grid.center(cell)
        for width in GOAL_NOISE:
            goal = goal + rng.uniform(0, width, 2)
        return goal

    def step(self, action):
        ant_obs, _, _, _, _ = self.ant.step(action)
        success = self.distance() <= SUCCESS_RADIUS
        obs = np.concatenate([ant_obs, self.goal])
        return obs, float(success), bool(success and self.terminate_on_success), False, {"success": success}

    def _get_obs(self) -> np.ndarray:
        return np.concatenate([self.ant._get_obs(), self.goal])


class AntGoalEnv(_AntWithGoal):
    """Open-floor goal reaching, the goal-reaching ant's training task.

    Goals are drawn 1–5 m from the torso in a uniform direction; reaching one (within 0.5 m) pays a
    bonus and draws the next. The reward is Ant-v5's with its forward velocity replaced by the
    velocity towards the goal. Observation: :func:`goal_input` (27).

    With ``end_when_tipped`` (``hyirl/AntGoal-v1``) an episode also ends when the torso tips past
    horizontal. Ant-v5 ends one only when the torso leaves z in [0.2, 1.0], and an ant on its back
    stays inside that band while still earning the survival reward, so v0 barely penalises flipping.
    ``hyirl/AntGoalD4RLAnt-v0`` is v1 on D4RL's ant (:func:`ant_model_xml`).

    ``frame``: the input's frame (:data:`GOAL_INPUTS`): ``goal`` (27 numbers) or D4RL's ``world`` (29).
    ``face`` charges ``1 - cos a`` per step, ``a`` the angle between the torso's x axis and a
    direction: the goal's (``face="goal"``, ``hyirl/AntGoalD4RLAntFacing-v0``) or the start's +x
    (``face="start"``, ``hyirl/AntGoalD4RLAntSteady-v0``, world frame), so that a clone of its data
    meets one gait, not one per heading. ``costs=False`` leaves out Ant-v5's control and contact costs,
    as D4RL's goal-reaching reward (the distance alone) does: with them, SAC from scratch on D4RL's
    weak ant stood still for 190k steps (docs/antmaze.md).
    """

    REACH_BONUS = 10.0
    FACES = (None, "goal", "start")

    def __init__(
        self, end_when_tipped: bool = False, ant: str = "gymnasium", frame: str = "goal", face=None, costs: bool = True
    ):
        if frame not in GOAL_INPUTS or face not in self.FACES:
            raise HyirlError(f"AntGoalEnv: frame {frame!r} or face {face!r} unknown (frames {list(GOAL_INPUTS)})")
        with ant_model_xml(ant) as xml:
            super().__init__(_ant(xml), ant)
        self.end_when_tipped, self.frame, self.face, self.costs = end_when_tipped, frame, face, costs
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (27 if frame == "goal" else 29,), np.float64)

    def reset(self, *, seed=None, options=None):
        self._reset_ant(seed, np.zeros(2))
        self._new_goal()
        return self._get_obs(), {}

    def _new_goal(self) -> None:
        angle, radius = self.np_random.uniform(0, 2 * np.pi), self.np_random.uniform(*GOAL_DISTANCE)
        self.set_goal(self.ant.data.qpos[:2] + radius * np.array([np.cos(angle), np.sin(angle)]))

    def step(self, action):
        before = self.distance()
        _, _, terminated, _, info = self.ant.step(action)
        terminated = terminated or (self.end_when_tipped and bool(torso_up(self.ant.data.qpos) < 0.0))
        after = self.distance()
        reached = after <= SUCCESS_RADIUS
        reward = (before - after) / self.ant.dt + info["reward_survive"]
        if self.costs:
            reward += info["reward_ctrl"] + info["reward_contact"]
        if self.face:  # off in most tasks: no heading to compute
            facing = self._goal_direction() if self.face == "goal" else 0.0
            reward -= 1.0 - np.cos(torso_heading(self.ant.data.qpos) - facing)
        if reached:
            reward += self.REACH_BONUS
            self._new_goal()
        return self._get_obs(), reward, terminated, False, {"reached": reached}

    def _goal_direction(self) -> float:
        rel = self.goal - self.ant.data.qpos[:2]
        return float(np.arctan2(rel[1], rel[0]))

    def _get_obs(self) -> np.ndarray:
        return GOAL_INPUTS[self.frame](self.ant._get_obs(), self.goal)


class Navigator:
    """D4RL's navigation policy: the goal-reaching ant steered along a shortest cell path.

    In the goal's cell the target is the goal itself; elsewhere it is the centre of the next cell
    on a shortest path, jittered by up to ±``jitter`` m in x and y, drawn once per waypoint (D4RL
    redraws it every step). Two adjacent cells form a rectangle, so the straight line from anywhere
    in the ant's cell to the next centre stays clear of walls.
    """

    def __init__(self, reacher: GoalReacher, grid: MazeGrid, goal, rng: np.random.Generator, jitter: float = 0.5):
        self.reacher, self.grid, self.rng, self.jitter = reacher, grid, rng, jitter
        self.goal = np.asarray(goal, np.float64)
        self.goal_cell = grid.cell_of(self.goal)
        self.dist = grid.distances_to(self.goal_cell)
        self._next_cell, self._waypoint = None, self.goal

    def waypoint(self, xy) -> np.ndarray:
        cell = self.grid.cell_of(xy)
        if cell == self.goal_cell or cell not in self.dist:
            return self.goal
        nxt = self.grid.next_cell(cell, self.dist)
        if nxt != self._next_cell:
            self._next_cell = nxt
            self._waypoint = self.grid.center(nxt) + self.rng.uniform(-self.jitter, self.jitter, 2)
        return self._waypoint

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.reacher(obs[:29], self.waypoint(obs[:2]))
