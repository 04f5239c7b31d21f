"""Environments: named tasks on gymnasium ``-v5`` MuJoCo, exact state resets, trembling hand.

Every IRL method needs three things from an environment that gymnasium does not give directly:

* restoring a saved simulator state (qpos, qvel) and continuing the episode from time ``t``
  (FILTER resets, spec §4), with the horizon counted from the original episode start;
* trembling-hand noise: with probability ``p_tremble`` the executed action is replaced by a uniform
  random one while the learner keeps its intended action (spec §4, §10.15);
* deterministic seeded resets.

:class:`TaskEnv` adds these on top of the unwrapped gymnasium env (skipping gymnasium's checker
wrappers saves ~35 µs per step, a third of a Hopper step).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import jax.numpy as jnp
import mujoco
import numpy as np

from hyirl.errors import HyirlError


@dataclasses.dataclass(frozen=True)
class Task:
    """A named task: which gymnasium env, with which options, and the paper's per-task settings."""

    name: str
    gym_id: str
    horizon: int = 1000
    p_tremble: float = 0.0
    gym_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    truncated_obs_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    success_task: bool = False  # the return is 1 on reaching the goal, else 0: scored as a success rate
    # "mujoco": contacts as the installed MuJoCo makes them; "reference": as MuJoCo <= 3.4 made them,
    # the rule of the reference's MuJoCo 2.1 (see reference_contact_margins).
    contact_margins: str = "mujoco"


# Truncated observations (spec §10.12): qpos[2:] + qvel, i.e. Ant 27 and Humanoid 45 dims.
_HUMANOID_TRUNCATED = dict(
    include_cinert_in_observation=False,
    include_cvel_in_observation=False,
    include_qfrc_actuator_in_observation=False,
    include_cfrc_ext_in_observation=False,
)

TASKS: dict[str, Task] = {
    "hopper": Task("hopper", "Hopper-v5", p_tremble=0.01),
    "walker2d": Task("walker2d", "Walker2d-v5", p_tremble=0.01),
    "ant": Task(
        "ant",
        "Ant-v5",
        p_tremble=0.01,
        truncated_obs_kwargs=dict(include_cfrc_ext_in_observation=False),
    ),
    "humanoid": Task("humanoid", "Humanoid-v5", p_tremble=0.025, truncated_obs_kwargs=_HUMANOID_TRUNCATED),
    # D4RL's large maze on D4RL's ant (hyirl.antmaze): the evaluation start and goal; the two differ in their data.
    "antmaze-large-diverse": Task("antmaze-large-diverse", "hyirl/AntMazeLargeD4RLAnt-v0", success_task=True),
    "antmaze-large-play": Task("antmaze-large-play", "hyirl/AntMazeLargeD4RLAnt-v0", success_task=True),
    # Open-floor goal reaching: the training task of the goal-reaching ant that makes AntMaze data.
    "ant-goal": Task("ant-goal", "hyirl/AntGoal-v0"),
    "ant-goal-upright": Task("ant-goal-upright", "hyirl/AntGoal-v1"),  # the same, also ended by a flip
    "ant-goal-d4rl": Task("ant-goal-d4rl", "hyirl/AntGoalD4RLAnt-v0"),  # the same on D4RL's ant (hyirl.antmaze)
    "ant-goal-d4rl-facing": Task("ant-goal-d4rl-facing", "hyirl/AntGoalD4RLAntFacing-v0"),  # and facing its goal
    # D4RL's form of input (world frame) and the start's heading kept: the ant walks any way facing +x
    "ant-goal-d4rl-steady": Task("ant-goal-d4rl-steady", "hyirl/AntGoalD4RLAntSteady-v0"),
    # Cheap task for tests and quick checks: SAC solves it in a few thousand steps.
    "pendulum": Task("pendulum", "Pendulum-v1", horizon=200),
}

# on gymnasium's Ant-v5 (5x D4RL's torque): the maze tasks' env until hyirl 0.11.0
gym.register("hyirl/AntMazeLarge-v0", entry_point="hyirl.antmaze:AntMazeEnv", max_episode_steps=1000)
gym.register(
    "hyirl/AntMazeLargeMinari-v0",
    entry_point="hyirl.antmaze:AntMazeEnv",
    max_episode_steps=1000,
    kwargs=dict(layout="minari"),
)
gym.register(
    "hyirl/AntMazeLargeD4RLAnt-v0",  # on D4RL's ant instead of gymnasium's (hyirl.antmaze.ant_model_xml)
    entry_point="hyirl.antmaze:AntMazeEnv",
    max_episode_steps=1000,
    kwargs=dict(ant="d4rl"),
)
gym.register("hyirl/AntGoal-v0", entry_point="hyirl.antmaze:AntGoalEnv", max_episode_steps=1000)
gym.register(
    "hyirl/AntGoal-v1",
    entry_point="hyirl.antmaze:AntGoalEnv",
    max_episode_steps=1000,
    kwargs=dict(end_when_tipped=True),
)
gym.register(
    "hyirl/AntGoalD4RLAnt-v0",
    entry_point="hyirl.antmaze:AntGoalEnv",
    max_episode_steps=1000,
    kwargs=dict(end_when_tipped=True, ant="d4rl"),
)
gym.register(
    "hyirl/AntGoalD4RLAntFacing-v0",
    entry_point="hyirl.antmaze:AntGoalEnv",
    max_episode_steps=1000,
    kwargs=dict(end_when_tipped=True, ant="d4rl", face="goal"),
)
gym.register(
    "hyirl/AntGoalD4RLAntSteady-v0",
    entry_point="hyirl.antmaze:AntGoalEnv",
    max_episode_steps=1000,
    kwargs=dict(end_when_tipped=True, ant="d4rl", frame="world", face="start", costs=False),
)


def get_task(name: str) -> Task:
    """A named task, or any gymnasium id given in full (e.g. ``HalfCheetah-v5``)."""
    if name in TASKS:
        return TASKS[name]
    if name in gym.registry:
        spec = gym.registry[name]
        return Task(name, name, horizon=spec.max_episode_steps or 1000, success_task=name.startswith("hyirl/AntMaze"))
    known = ", ".join(TASKS)
    raise HyirlError(f"unknown environment {name!r}: use one of {known} or a full gymnasium id like 'HalfCheetah-v5'")


class TaskEnv(gym.Wrapper):
    """Time limit, trembling hand and exact state save/restore around an unwrapped gymnasium env."""

    def __init__(self, task: Task, *, p_tremble: float | None = None, truncated_obs: bool = False):
        kwargs = dict(task.gym_kwargs)
        if truncated_obs:
            if not task.truncated_obs_kwargs:
                raise HyirlError(f"task {task.name!r} has no truncated-observation option (only ant and humanoid)")
            kwargs.update(task.truncated_obs_kwargs)
        super().__init__(gym.make(task.gym_id, **kwargs).unwrapped)
        self.task = task
        self.truncated_obs = truncated_obs
        self.horizon = task.horizon
        self.p_tremble = task.p_tremble if p_tremble is None else p_tremble
        self.t = 0
        self.expert_states: dict[str, np.ndarray] | None = None
        self.expert_reset_prob = 0.0
        self.expert_reset_mode = "state"
        self._stretches: np.ndarray | None = None  # (start row, length) of each reset stretch; None: by row
        # The agent, demos and buffers all use actions in [-1, 1]; rescale to the env's bounds here.
        self._low = self.env.action_space.low.astype(np.float64)
        self._high = self.env.action_space.high.astype(np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, self.env.action_space.shape, np.float32)
        self._mujoco = hasattr(self.env, "data") and hasattr(self.env, "set_state")
        if task.contact_margins == "reference":
            reference_contact_margins(self.env.model if self._mujoco else None, task.name)

    # --- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.t = 0
        obs, info = self.env.reset(seed=seed, options=options)
        if self.expert_states is not None and self.np_random.random() < self.expert_reset_prob:
            row, t = self._draw_expert_row()
            obs = self._restore_expert_row(row, t)
            info = dict(info, expert_reset_row=row)
        return obs, info

    def _draw_expert_row(self) -> tuple[int, int]:
        """FILTER's reset (spec §4): a uniformly random expert (trajectory, time), i.e. a uniform row at
        its own time. Data with terminal rows (AntMaze's rows at the evaluation goal) is cut after each
        of them, as the reference cuts its reset states: a uniform stretch, then a uniform time in it,
        which is also the clock's reading; stretches of one goal row make goals likely starts, and rows
        after the last terminal are never drawn."""
        if self._stretches is None:
            row = int(self.np_random.integers(len(self.expert_states["timestep"])))
            return row, int(self.expert_states["timestep"][row])
        start, length = self._stretches[int(self.np_random.integers(len(self._stretches)))]
        t = int(self.np_random.integers(min(length, self.horizon)))
        return int(start) + t, t

    def use_expert_resets(self, demos: dict[str, np.ndarray], prob: float, mode: str = "state") -> None:
        """Make every reset start from a recorded expert state with probability ``prob``.

        ``mode="state"`` restores the saved simulator state; ``mode="replay"`` is the reference's way:
        reset with the episode's seed and replay the expert's actions up to that time (needs the same
        simulator version as the demos).
        """
        if mode not in ("state", "replay"):
            raise HyirlError(f"unknown expert reset mode {mode!r}: use 'state' or 'replay'")
        keys = (
            ("qpos", "qvel", "qacc_warmstart", "goal", "timestep")
            if mode == "state"
            else ("seed", "actions", "timestep")
        )
        ends = np.flatnonzero(demos.get("terminals", ()))
        if len(ends) and mode == "replay":
            raise HyirlError("replay resets need trajectories without terminal rows; use mode 'state'")
        self.expert_states = {k: demos[k] for k in keys if k in demos}
        self.expert_reset_mode = mode
        self.expert_reset_prob = prob
        starts = np.concatenate([[0], ends[:-1] + 1])
        self._stretches = np.stack([starts, ends + 1 - starts], 1) if len(ends) else None

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        if self.p_tremble > 0 and self.np_random.random() < self.p_tremble:
            action = self.np_random.uniform(-1.0, 1.0, action.shape)
        obs, reward, terminated, truncated, info = self.env.step(self.to_env_action(action))
        self.t += 1
        truncated = truncated or self.t >= self.horizon
        return obs, reward, terminated, truncated, info

    def to_env_action(self, action: np.ndarray) -> np.ndarray:
        """An action in [-1, 1] in the env's own units (its bounds)."""
        return self._low + 0.5 * (action + 1.0) * (self._high - self._low)

    def _restore_expert_row(self, row: int, t: int) -> np.ndarray:
        states = self.expert_states
        if self.expert_reset_mode == "state":
            saved = {k: states[k][row] for k in ("qpos", "qvel", "qacc_warmstart", "goal") if k in states}
            return self.reset_to_state(t=t, **saved)
        # Seeding the replay must not re-seed the generator that drives trembling and the next reset's
        # choice: that would repeat the same noise after every replay reset.
        generator = self.env.np_random.bit_generator.state
        obs, _ = self.env.reset(seed=int(states["seed"][row]))
        self.env.np_random.bit_generator.state = generator
        for action in states["actions"][row - t : row]:  # open loop, without trembling
            obs, *_ = self.env.step(self.to_env_action(action))
        self.t = t
        return obs

    # --- exact state save / restore ------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """The full simulator state: qpos, qvel and (MuJoCo) the solver warm start."""
        if self._mujoco:
            data = self.env.data
            return dict(qpos=data.qpos.copy(), qvel=data.qvel.copy(), qacc_warmstart=data.qacc_warmstart.copy())
        theta, theta_dot = self.env.state  # classic-control pendulum
        return dict(qpos=np.array([theta]), qvel=np.array([theta_dot]))

    def reset_to_state(self, qpos, qvel, t: int = 0, qacc_warmstart=None, goal=None) -> np.ndarray:
        """Put the simulator in a saved state at episode time ``t``; returns the observation there.

        Restoring ``qacc_warmstart`` too makes replaying the same actions bit-exact; without it the
        constraint solver starts cold and trajectories drift apart slowly (spec §4). On AntMaze the
        saved ``goal`` replaces the task's (the reference's FILTER resets, spec §4).
        """
        if not 0 <= t < self.horizon:
            raise HyirlError(f"reset time {t} outside the horizon [0, {self.horizon})")
        self.t = int(t)
        if self._mujoco:
            self.env.set_state(np.asarray(qpos, np.float64), np.asarray(qvel, np.float64))
            if qacc_warmstart is not None:
                self.env.data.qacc_warmstart[:] = qacc_warmstart
            if goal is not None:
                self.env.set_goal(goal)
        else:
            self.env.state = np.array([qpos[0], qvel[0]], dtype=np.float64)
        return self.env._get_obs()

    def reset_to_observation(self, obs, t: int = 0) -> np.ndarray:
        """Put the simulator in the state an observation stands for, where the observation is qpos
        less its leading coordinates (x, or x and y) followed by qvel, as Hopper's, Walker2d's and the
        truncated Ant's and Humanoid's are; the unseen coordinates are set to 0, which these tasks'
        dynamics do not depend on. A velocity at the observation's clip (Hopper's and Walker2d's ±10)
        is restored at the clip. Diagnostics use it to step the simulator from a model's states.
        Observations that no state shows (v5's contact forces; a velocity beyond the clip) are refused."""
        obs = np.asarray(obs, np.float64)
        if self._mujoco:
            nq, nv = self.env.model.nq, self.env.model.nv
            unseen = nq + nv - obs.shape[-1]
            if obs.ndim == 1 and 0 <= unseen < nq:
                qpos = np.concatenate([np.zeros(unseen), obs[: nq - unseen]])
                restored = self.reset_to_state(qpos, obs[nq - unseen :], t=t)
                if restored.shape == obs.shape and np.allclose(restored, obs, atol=1e-6):
                    return restored
        raise HyirlError(f"a {obs.shape} observation of {self.task.name!r} does not determine its simulator state")


# Termination of model rollouts, from the predicted next observation (spec §5.1, §10.13). obs[0] is the
# torso height on all four tasks (x, y are excluded from gymnasium's observations and the truncated ones).
# Non-finite predictions always terminate.
def _hopper_done(obs):
    healthy = (jnp.abs(obs[..., 1:]) < 100).all(-1) & (obs[..., 0] > 0.7) & (jnp.abs(obs[..., 1]) < 0.2)
    return ~healthy


def _walker2d_done(obs):
    return ~((obs[..., 0] > 0.8) & (obs[..., 0] < 2.0) & (obs[..., 1] > -1.0) & (obs[..., 1] < 1.0))


def _ant_done(obs):
    return ~((obs[..., 0] >= 0.2) & (obs[..., 0] <= 1.0))


def _humanoid_done(obs):
    return (obs[..., 0] < 1.0) | (obs[..., 0] > 2.0)


MODEL_TERMINATION = {"hopper": _hopper_done, "walker2d": _walker2d_done, "ant": _ant_done, "humanoid": _humanoid_done}


def model_termination(task: Task):
    """``done(next_obs) -> bool array`` for model rollouts on ``task`` (never done if unknown)."""
    rule = MODEL_TERMINATION.get(task.name, lambda obs: jnp.zeros(obs.shape[:-1], bool))
    return lambda obs: rule(obs) | ~jnp.isfinite(obs).all(-1)


# gymnasium's Ant-v5 and Humanoid-v5 observe the external contact forces (their last columns); the
# reference's Ant-v3 and Humanoid-v3 on mujoco-py 2 observed them as zeros (docs/methods.md).
CONTACT_FORCE_TASKS = ("ant", "humanoid")


def without_contact_forces(task: Task) -> Task:
    """``task`` observing what the reference's model-free methods could use: no external contact forces."""
    if task.name not in CONTACT_FORCE_TASKS:
        raise HyirlError(f"contact_forces=false applies to {' and '.join(CONTACT_FORCE_TASKS)}, not {task.name!r}")
    return dataclasses.replace(task, gym_kwargs={**task.gym_kwargs, "include_cfrc_ext_in_observation": False})


CONTACT_MARGIN_RULES = ("mujoco", "reference")
# MuJoCo 3.5.0 made a contact's margin the sum of its two geoms' margins; before, it was the larger one.
MARGINS_ADD_UP = tuple(map(int, mujoco.__version__.split(".")[:2])) >= (3, 5)


def reference_contact_margins(model, name: str) -> None:
    """Make ``model``'s contacts start where MuJoCo <= 3.4 started them. Hopper-v5 and Humanoid-v5 give
    every geom a 1 mm margin, Ant-v5 1 cm: since MuJoCo 3.5 their contacts start at twice that distance,
    which moves Humanoid's next velocities by 0.12 (median) from the same state (docs/hyper.md §35).
    Where all geoms share one margin, halving it restores the older rule exactly."""
    if model is None:
        raise HyirlError(f"contact_margins=reference applies to MuJoCo tasks, not {name!r}")
    if not MARGINS_ADD_UP:
        return
    margins = np.unique(model.geom_margin)
    if len(margins) > 1:
        raise HyirlError(f"contact_margins=reference needs one margin for every geom; {name!r} has {margins.tolist()}")
    model.geom_margin[:] = margins[0] / 2


def with_contact_margins(task: Task, rule: str) -> Task:
    """``task`` with its contacts made by ``rule`` (one of :data:`CONTACT_MARGIN_RULES`; configs check it)."""
    return dataclasses.replace(task, contact_margins=rule)


def observed_task(name: str, *, contact_forces: bool) -> Task:
    """The task ``name`` as a model-free run or BC observes it (``contact_forces=False``: see above)."""
    task = get_task(name)
    return task if contact_forces else without_contact_forces(task)


def leaves_out_contact_forces(env: TaskEnv) -> bool:
    """Whether ``env`` is a :func:`without_contact_forces` task (the truncated observations set no such task)."""
    return env.task.gym_kwargs.get("include_cfrc_ext_in_observation") is False


def make_env(task: str | Task, *, p_tremble: float | None = None, truncated_obs: bool = False) -> TaskEnv:
    """Create a task environment. ``p_tremble=None`` uses the paper's per-task value."""
    if isinstance(task, str):
        task = get_task(task)
    return TaskEnv(task, p_tremble=p_tremble, truncated_obs=truncated_obs)
