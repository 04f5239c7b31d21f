"""AntMaze: the maze's geometry, shortest paths, the navigator, the task env and the dataset protocol."""

import os
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest
from gymnasium_robotics.envs.maze.maze_v4 import Maze

from hyirl.antmaze import (
    _ANT_XML,
    CELL_SIZE,
    EVAL_GOAL,
    EVAL_START,
    LARGE_MAZE,
    PLAY_GOALS,
    AntGoalEnv,
    AntMazeEnv,
    GoalReacher,
    MazeGrid,
    Navigator,
    ant_model_xml,
    goal_input,
)
from hyirl.antmaze_data import DATASETS, generate_dataset
from hyirl.envs import make_env
from hyirl.errors import HyirlError


@pytest.fixture(scope="module")
def maze_env():
    return AntMazeEnv()


@pytest.mark.parametrize("layout", ["d4rl", "minari"])
def test_walls_stand_where_the_grid_says(layout):
    """The compiled maze's few long wall boxes are the maze writer's one-cell blocks merged: every
    block's centre lies in exactly one box, no free cell's centre in any, and the areas agree (no
    overlap). Guards the row order handed to the writer (a wrong one builds the mirror-image maze)
    and the merging."""
    env = AntMazeEnv(layout=layout)
    env.reset(seed=0)
    model, grid = env.ant.model, env.grid
    boxes = [
        (env.data.geom_xpos[g][:2], model.geom_size[g][:2])
        for g in range(model.ngeom)
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX
    ]
    _, xml = Maze.make_maze(_ANT_XML, grid.writer_map, CELL_SIZE, 0.5)
    blocks = [
        np.array(g.get("pos").split(), float)[:2] for g in ET.parse(xml).iter("geom") if "block" in g.get("name", "")
    ]
    os.unlink(xml)

    def covering(xy):
        return sum(bool(np.all(np.abs(xy - pos) < half)) for pos, half in boxes)

    assert len(boxes) < 20 and len(blocks) == sum(map(sum, LARGE_MAZE))
    assert all(covering(xy) == 1 for xy in blocks)
    assert all(covering(grid.center(cell)) == 0 for cell in grid.free_cells)
    assert sum(np.prod(2 * half) for _, half in boxes) == pytest.approx(CELL_SIZE**2 * len(blocks))
    for cell in grid.free_cells:
        assert grid.cell_of(grid.center(cell) + 1.9) == cell and grid.cell_of(grid.center(cell) - 1.9) == cell


def test_layouts_are_mirror_images_and_d4rl_coordinates_are_a_shift():
    d4rl, minari = MazeGrid(layout="d4rl"), MazeGrid(layout="minari")
    for cell in d4rl.free_cells:
        assert np.allclose(minari.center(cell), d4rl.center(cell) * [1, -1])
    # D4RL puts cell (i, j) at (4 (j - 1), 4 (i - 1)): the evaluation goal cell (7, 9) at (32, 24).
    assert np.allclose(d4rl.center(EVAL_GOAL) - d4rl.d4rl_offset, [32.0, 24.0])
    with pytest.raises(HyirlError):
        minari.d4rl_offset


def test_shortest_path_from_the_evaluation_start_to_its_goal():
    grid = MazeGrid()
    path = grid.path(EVAL_START, EVAL_GOAL)
    assert path[0] == EVAL_START and path[-1] == EVAL_GOAL and len(path) == 15
    for a, b in zip(path, path[1:]):
        assert grid.is_free(b) and abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1
    dist = grid.distances_to(EVAL_GOAL)
    assert set(dist) == set(grid.free_cells)  # the large maze is connected
    assert all(dist[c] == len(grid.path(c, EVAL_GOAL)) - 1 for c in grid.free_cells)
    with pytest.raises(HyirlError, match="wall"):
        grid.distances_to((0, 0))


def test_navigator_heads_for_the_next_cell_then_the_goal():
    """Waypoints lie within the jitter of the next cell's centre on a shortest path, stay fixed while
    that cell stays next, and are the goal itself in the goal's cell."""
    grid = MazeGrid()
    goal = grid.center(EVAL_GOAL) + 0.3
    nav = Navigator(GoalReacher(lambda x: x), grid, goal, np.random.default_rng(0), jitter=0.5)
    path = grid.path(EVAL_START, EVAL_GOAL)
    for here, nxt in zip(path[:-1], path[1:]):
        first = nav.waypoint(grid.center(here))
        assert np.abs(first - grid.center(nxt)).max() <= 0.5
        assert np.array_equal(nav.waypoint(grid.center(here) + 0.7), first)
    assert np.array_equal(nav.waypoint(grid.center(EVAL_GOAL) - 1.0), goal)


def _turned(qpos, qvel, phi):
    """The ant's state in a world turned by ``phi`` about z (the angular velocity is body-frame)."""
    c, s = np.cos(phi), np.sin(phi)
    turn = np.array([[c, -s], [s, c]])
    qw, qx, qy, qz = qpos[3:7]
    a0, a3 = np.cos(phi / 2), np.sin(phi / 2)
    qpos, qvel = qpos.copy(), qvel.copy()
    qpos[:2], qvel[:2] = turn @ qpos[:2], turn @ qvel[:2]
    qpos[3:7] = [a0 * qw - a3 * qz, a0 * qx - a3 * qy, a0 * qy + a3 * qx, a0 * qz + a3 * qw]
    return qpos, qvel, turn


def test_goal_frame_input_does_not_change_when_the_world_turns():
    """The same ant and goal, turned together about z, give the same input, before and after a step
    of the same action (which also checks how MuJoCo keeps the free joint's velocities); with the goal
    far along +x the input is Ant's truncated observation (what the Ant expert reads). Guards the
    quaternion and velocity turns: a wrong sign or a turned angular velocity differs here."""
    env = AntGoalEnv()
    env.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(20):
        env.step(rng.uniform(-1, 1, 8))
    qpos, qvel, goal = env.data.qpos.copy(), env.data.qvel.copy(), np.array([2.0, 3.5])
    ant_obs = env.ant._get_obs()
    assert np.allclose(goal_input(ant_obs, ant_obs[:2] + [100.0, 0.0]), ant_obs[2:29])
    action = rng.uniform(-1, 1, 8)
    inputs = []
    for phi in (0.0, 2.1):
        turned_qpos, turned_qvel, turn = _turned(qpos, qvel, phi)
        env.set_state(turned_qpos, turned_qvel)
        before = goal_input(env.ant._get_obs(), turn @ goal)
        env.ant.step(action)
        inputs.append((before, goal_input(env.ant._get_obs(), turn @ goal)))
    assert np.allclose(inputs[0][0], inputs[1][0], atol=1e-9)
    assert np.allclose(inputs[0][1], inputs[1][1], atol=1e-6)
    assert not np.allclose(inputs[0][0], inputs[0][1])


def test_task_starts_at_d4rls_start_and_succeeds_only_at_the_goal(maze_env):
    """The evaluation episode starts in cell (1, 1) with the goal in cell (7, 9); reward 1 and the
    end of the episode come exactly when the torso is within 0.5 m of the goal."""
    env = make_env("antmaze-large-diverse")
    obs, _ = env.reset(seed=3)
    grid = env.env.grid
    assert obs.shape == (31,) and env.p_tremble == 0.0
    assert grid.cell_of(obs[:2]) == EVAL_START and grid.cell_of(obs[29:]) == EVAL_GOAL
    state = env.get_state()
    for offset, success in ((0.3, True), (0.8, False)):
        qpos = state["qpos"].copy()
        qpos[:2] = obs[29:] + [offset, 0.0]
        env.reset_to_state(qpos, np.zeros_like(state["qvel"]), t=5)
        _, reward, terminated, truncated, _ = env.step(np.zeros(8))
        assert (reward, terminated) == (float(success), success) and not truncated


def test_a_state_reset_carries_the_datasets_goal():
    """FILTER resets on AntMaze restore the goal of the dataset row (spec §4)."""
    env = make_env("antmaze-large-play")
    obs, _ = env.reset(seed=0)
    goal = np.array([2.0, -6.0])
    state = env.get_state()
    restored = env.reset_to_state(state["qpos"], state["qvel"], t=10, goal=goal)
    assert np.array_equal(restored[29:], goal) and np.array_equal(restored[:29], obs[:29])


def test_goal_env_pays_for_progress_and_draws_a_new_goal_when_reached():
    env = AntGoalEnv()
    obs, _ = env.reset(seed=0)
    qpos, qvel = env.data.qpos.copy(), env.data.qvel.copy()
    first_goal = env.goal.copy()
    assert obs.shape == (27,) and 1.0 <= np.linalg.norm(first_goal - qpos[:2]) <= 5.0
    # thrown towards the goal at 2 m/s: paid the distance gained per second plus Ant-v5's survival 1.0
    qvel[:2] = 2.0 * (first_goal - qpos[:2]) / np.linalg.norm(first_goal - qpos[:2])
    env.set_state(qpos, qvel)
    before = env.distance()
    _, reward, _, _, info = env.step(np.zeros(8))
    progress = (before - env.distance()) / env.ant.dt
    assert progress > 1.0 and not info["reached"]
    assert reward == pytest.approx(progress + 1.0, abs=1e-2)
    qpos[:2] = first_goal + 0.1
    env.set_state(qpos, qvel)
    _, reward, _, _, info = env.step(np.zeros(8))
    assert info["reached"] and reward >= env.REACH_BONUS and not np.array_equal(env.goal, first_goal)


def test_goal_env_without_costs_pays_progress_and_survival_only():
    """``costs=False`` (the steady task, as D4RL's goal reward) leaves out Ant-v5's control and contact
    costs and nothing else: a full-throttle step (no contact force yet) pays its control cost more.
    Guards the flag (ignored, or dropping the survival or progress terms too, fails)."""
    rewards = {}
    for costs in (True, False):
        env = AntGoalEnv(ant="d4rl", costs=costs)
        env.reset(seed=1)
        rewards[costs] = env.step(np.ones(8))[1]
    assert rewards[False] - rewards[True] == pytest.approx(env.ant._ctrl_cost_weight * 8, rel=1e-6)


def test_d4rl_ant_differs_from_gymnasiums_only_in_time_step_torque_and_contact_softness():
    """D4RL's AntMaze ant (d4rl/locomotion/assets/ant.xml behind its action-scaling wrapper): a 0.02 s
    time step, torques up to 30 for actions in [-1, 1] (gymnasium's gear is 150) and contacts with
    solimp (0.8, 0.8, 0.01); every body, joint, mass and other contact setting is gymnasium's. Guards
    the model the D4RL-ant tasks build (each change dropped, or another field touched, fails it)."""
    with ant_model_xml("gymnasium") as path:
        gym_ant = mujoco.MjModel.from_xml_path(path)
    with ant_model_xml("d4rl") as path:
        d4rl_ant = mujoco.MjModel.from_xml_path(path)
    assert not os.path.exists(path)
    assert (gym_ant.opt.timestep, d4rl_ant.opt.timestep) == (0.01, 0.02)
    np.testing.assert_array_equal(d4rl_ant.actuator_gear[:, 0], np.full(8, 30.0))
    np.testing.assert_array_equal(d4rl_ant.actuator_ctrlrange, gym_ant.actuator_ctrlrange)
    np.testing.assert_allclose(d4rl_ant.geom_solimp[:, :3], np.tile([0.8, 0.8, 0.01], (gym_ant.ngeom, 1)))
    changed = {"actuator_gear", "geom_solimp"}
    for name in (
        "body_mass",
        "body_pos",
        "body_inertia",
        "dof_armature",
        "dof_damping",
        "jnt_range",
        "geom_size",
        "geom_friction",
        "geom_solref",
        "geom_margin",
        "geom_solimp",
        "qpos0",
        "actuator_gear",
    ):
        same = np.array_equal(getattr(gym_ant, name), getattr(d4rl_ant, name))
        assert same != (name in changed), name
    assert gym_ant.opt.integrator == d4rl_ant.opt.integrator == mujoco.mjtIntegrator.mjINT_RK4
    assert AntGoalEnv(ant="d4rl").ant.dt == pytest.approx(0.1)
    with pytest.raises(HyirlError, match="unknown ant model"):
        AntMazeEnv(ant="mujoco-py")


@pytest.mark.parametrize("face", ["goal", "start"])
def test_goal_env_charges_for_the_angle_between_torso_and_the_direction_to_face(face):
    """``face`` charges ``1 - cos a`` per step, ``a`` between the torso's x axis and the goal's
    direction (``goal``) or the start's +x (``start``): nothing facing it, 2 facing away, compared with
    the same step without the charge. Guards the facing and steady tasks of the data-making ant (the
    term dropped, its angle mismeasured or the two directions swapped fails)."""
    envs = {f: AntGoalEnv(ant="d4rl", frame="world", face=f) for f in (None, face)}
    goal_direction = 2.0  # radians: neither axis, so that both angles must enter
    target = goal_direction if face == "goal" else 0.0
    for offset, charge in ((0.0, 0.0), (np.pi / 2, 1.0), (np.pi, 2.0)):
        heading = target + offset
        rewards = {}
        for f, env in envs.items():
            env.reset(seed=0)
            qpos, qvel = env.data.qpos.copy(), np.zeros_like(env.data.qvel)
            qpos[3:7] = (np.cos(heading / 2), 0.0, 0.0, np.sin(heading / 2))
            env.set_state(qpos, qvel)
            env.set_goal(qpos[:2] + 3.0 * np.array([np.cos(goal_direction), np.sin(goal_direction)]))
            rewards[f] = env.step(np.zeros(8))[1]
        assert rewards[None] - rewards[face] == pytest.approx(charge, abs=0.05)


def test_world_frame_input_is_d4rls_the_ants_state_and_the_goals_direction():
    """The world-frame goal input (D4RL's generator's) is qpos[2:15] + qvel as they are and the unit
    direction to the goal, and a policy of the steady task is driven with it by the data generator and
    the navigator (a policy fed the goal-frame input, or the direction unnormalised, fails here)."""
    from hyirl.antmaze import world_goal_input

    env = AntGoalEnv(ant="d4rl", frame="world")
    obs, _ = env.reset(seed=3)
    ant_obs = env.ant._get_obs()
    direction = (env.goal - ant_obs[:2]) / np.linalg.norm(env.goal - ant_obs[:2])
    assert obs.shape == (29,) and np.allclose(obs, np.concatenate([ant_obs[2:29], direction]))
    assert np.allclose(world_goal_input(np.stack([ant_obs] * 2), [env.goal] * 2), obs)
    seen = []
    reacher = GoalReacher.of(
        lambda x: seen.append(np.array(x)) or np.zeros((np.shape(x)[0], 8)), dict(env="ant-goal-d4rl-steady")
    )
    assert (reacher.ant, reacher.frame) == ("d4rl", "world")
    rows, meta = generate_dataset(DATASETS["antmaze-large-diverse"], reacher, 3, seed=0, progress=False)
    assert meta["ant"] == "d4rl" and meta["policy_frame"] == "world"
    state = rows["observations"][0, :29]
    assert np.allclose(seen[0][0, :27], state[2:29]) and np.linalg.norm(seen[0][0, 27:]) == pytest.approx(1.0)
    navigator = Navigator(reacher, MazeGrid(), rows["goal"][0], np.random.default_rng(0))
    navigator(rows["observations"][0])
    assert np.allclose(seen[-1], world_goal_input(state, navigator.waypoint(state[:2])))


def test_goal_env_v1_ends_an_episode_on_the_ants_back_and_v0_does_not():
    """Guards the tipped-over ending of ``hyirl/AntGoal-v1``: an ant put on its back at a height
    inside Ant-v5's healthy band ends a v1 episode, not a v0 one, and an upright ant ends neither."""
    for end_when_tipped in (False, True):
        env = AntGoalEnv(end_when_tipped=end_when_tipped)
        env.reset(seed=0)
        qpos, qvel = env.data.qpos.copy(), np.zeros_like(env.data.qvel)
        assert not env.step(np.zeros(8))[2]
        qpos[2], qpos[3:7] = 0.4, (0.0, 1.0, 0.0, 0.0)  # turned half a circle about x, torso 0.4 m up
        env.set_state(qpos, qvel)
        assert env.step(np.zeros(8))[2] == end_when_tipped


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_follows_d4rls_protocol(name):
    """Rows are consecutive steps of 1000-step episodes: the next observation is the next row's,
    observations are qpos[:15] + qvel[:14] + goal, executed actions carry N(0, 0.2²) noise around the
    policy's, goals are the dataset's kind (play: D4RL's goal cells)."""
    spec = DATASETS[name]
    rows, meta = generate_dataset(
        spec, GoalReacher(lambda x: np.full((len(x), 8), 0.5)), transitions=2300, seed=1, progress=False
    )
    assert meta["episodes"] == 3 and len(rows["actions"]) == 2300
    assert np.flatnonzero(rows["timeouts"]).tolist() == [999, 1999, 2299]
    assert rows["timestep"][1000] == 0 and rows["timestep"][2299] == 299
    inner = ~rows["timeouts"]
    assert np.array_equal(rows["next_observations"][inner], rows["observations"][1:][inner[:-1]])
    assert np.allclose(rows["observations"][:, :15], rows["qpos"], atol=1e-6)
    assert np.allclose(rows["observations"][:, 15:29], rows["qvel"], atol=1e-6)
    assert np.array_equal(rows["observations"][:, 29:], rows["goal"])
    noise = rows["actions"][(rows["actions"] > -1) & (rows["actions"] < 1)] - 0.5
    assert abs(noise.mean()) < 0.02 and 0.17 < noise.std() < 0.2  # clipping at 1 trims the top tail
    grid = MazeGrid()
    goal_cells = {grid.cell_of(g) for g in rows["goal"][[0, 1000, 2000]]}
    if spec.goal_cells is not None:
        assert goal_cells <= set(PLAY_GOALS)
    assert meta["free_cells"] == 46 and 1 <= meta["cells_visited"] <= 46


def test_goals_are_drawn_to_the_last_bit_as_the_shipped_models_data_was():
    """Guards the datasets' rows, which on one CPU are the rows the shipped pretrained model was fitted
    on: the ant steers for its goal in float64, so a goal one bit off changes its whole path and every
    later row. 0.17.0 added the two uniform draws before adding them to the cell centre, which moved
    seed 1's y by one bit below; these are 0.16.0's goals. Broken by hand (the draws summed first): fails."""
    env = AntMazeEnv(terminate_on_success=False)
    goals_of_0_16 = {
        0: ("0x1.2a84e8aa48129p+4", "0x1.88e5ca3a718f7p+3"),
        1: ("0x1.2957a906e7d99p+4", "0x1.ad97dde265551p+3"),
        2: ("0x1.2ab318fd88b63p+4", "0x1.8b05ba263ab7dp+3"),
    }
    for seed, expected in goals_of_0_16.items():
        goal = env.sample_goal(np.random.default_rng(seed), (7, 10))
        assert [float(x).hex() for x in goal] == list(expected)


def test_dataset_rows_are_the_task_envs_steps():
    """Episodes are stepped side by side outside the task env: each row's next observation is what
    the task env makes of the row's state, goal and action (a wrong frame skip, an action not
    applied or an episode's data stepped twice fails it)."""
    rng = np.random.default_rng(0)
    policy = lambda x: rng.uniform(-1, 1, (len(x), 8))  # noqa: E731
    rows, _ = generate_dataset(
        DATASETS["antmaze-large-diverse"], GoalReacher(policy), 2500, seed=2, progress=False, batch=2
    )
    env = AntMazeEnv(terminate_on_success=False)
    env.reset(seed=0)
    for r in (0, 1, 999, 1000, 1800, 2499):
        env.set_state(rows["qpos"][r], rows["qvel"][r])
        env.set_goal(rows["goal"][r])
        obs, reward, *_ = env.step(rows["actions"][r])
        assert np.allclose(obs, rows["next_observations"][r], atol=1e-4) and reward == rows["rewards"][r]


def test_a_goal_reaching_policy_walks_ant_v5_on_the_truncated_observation(tmp_path, capsys):
    """The goal-reaching ant reads Ant's truncated observation, so ``expert eval ant --truncated-obs``
    runs it on Ant-v5; without the flag its input size does not fit and the error says so."""
    import jax

    from hyirl.cli import main
    from hyirl.experts import save_policy
    from hyirl.sac import SAC

    path = tmp_path / "goal_ant.npz"
    save_policy(path, SAC(27, 8).init(jax.random.PRNGKey(0)).actor_params, dict(env="ant-goal", truncated_obs=False))
    args = ["expert", "eval", "ant", "--policy", str(path), "--episodes", "1", "--json"]
    assert main([*args, "--truncated-obs"]) == 0
    assert '"episodes": 1' in capsys.readouterr().out
    assert main(args) == 2
    assert "policy expects obs 27" in capsys.readouterr().err


def test_bc_trains_on_antmaze_data_and_reports_a_success_rate(tmp_path, capsys, still_maze_ant):
    """`hyirl train --algo bc` runs on a (tiny) dataset of the generator's format, logs the success
    rate in % beside the return and prints it; an AntMaze episode's return is 1 exactly when it
    reached the goal."""
    import json

    from hyirl.cli import main
    from hyirl.demos import save_demos
    from hyirl.experts import load_policy
    from hyirl.learner import evaluation_record

    rows, meta = generate_dataset(DATASETS["antmaze-large-play"], still_maze_ant, 1000, progress=False)
    demos, run = tmp_path / "play.npz", tmp_path / "bc"
    save_demos(demos, rows, meta)
    args = ["train", "--algo", "bc", "--env", "antmaze-large-play", "--demos-file", str(demos), "--out", str(run)]
    assert main([*args, "--steps", "1000", "--eval-every", "1000", "--eval-episodes", "1", "--no-progress"]) == 0
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert f"last evaluation: success {record['eval_success_pct']:.1f} % over 1 episodes" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["policy"] == "td3bc"
    policy, meta = load_policy(run / "policy.npz")  # the final actor, for `hyirl expert eval --policy`
    assert meta["algo"] == "bc" and policy(np.zeros(31)).shape == (8,)
    assert record["eval_success_pct"] in (0.0, 100.0)
    assert record["eval_success_pct"] == 100.0 * record["eval_return_mean"]
    task = make_env("antmaze-large-play").task
    assert evaluation_record(task, np.array([0.0, 1.0, 1.0, 0.0]), np.full(4, 10))["eval_success_pct"] == 50.0
    assert "eval_success_pct" not in evaluation_record(make_env("pendulum").task, np.array([-100.0]), np.array([200]))


def test_demos_command_makes_the_dataset_once_and_copies_it(tmp_path, monkeypatch, capsys):
    """`hyirl demos antmaze-large-play` makes the dataset into the cache where training finds it, a
    second call reuses it (the file is not rewritten), ``--out`` copies it and never overwrites."""
    from hyirl.cli import main
    from hyirl.demos import antmaze_dataset_file

    monkeypatch.setenv("HYIRL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "play.npz"
    args = ["demos", "antmaze-large-play", "--transitions", "300", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    cached = antmaze_dataset_file("antmaze-large-play", 300)
    assert "300 transitions in 1 episodes" in capsys.readouterr().out
    made = cached.stat().st_mtime_ns
    assert main(args) == 0 and cached.stat().st_mtime_ns == made
    assert out.read_bytes() == cached.read_bytes()
    assert main([*args, "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_data_are_made_on_the_ant_the_policy_learnt_and_only_used_with_that_ant(tmp_path, monkeypatch):
    """A goal-reaching policy trained on gymnasium's ant (task ``ant-goal``) makes its dataset on
    gymnasium's ant: a row's next observation is that ant's step, not D4RL's; the file says so, and
    training with it on the AntMaze tasks (D4RL's ant since 0.12.0) is refused with the task to
    use, while the gymnasium-ant task takes it. Guards against data made on one ant and judged on
    the other."""
    import jax

    from hyirl.demos import antmaze_dataset_file, load_demos
    from hyirl.experts import save_policy
    from hyirl.sac import SAC

    monkeypatch.setenv("HYIRL_CACHE", str(tmp_path / "cache"))
    policy = tmp_path / "gymnasium_goal_ant.npz"
    actor = SAC(27, 8).init(jax.random.PRNGKey(0)).actor_params
    save_policy(policy, actor, dict(env="ant-goal", gym_id="hyirl/AntGoal-v0", truncated_obs=False))
    path = antmaze_dataset_file("antmaze-large-diverse", 200, policy, progress=False)
    with pytest.raises(HyirlError, match="made on the 'gymnasium' ant .* use --env hyirl/AntMazeLarge-v0"):
        load_demos(path, make_env("antmaze-large-diverse"))
    rows, meta = load_demos(path, make_env("hyirl/AntMazeLarge-v0"))
    assert meta["ant"] == "gymnasium"
    for ant, matches in (("gymnasium", True), ("d4rl", False)):
        env = AntMazeEnv(terminate_on_success=False, ant=ant)
        env.reset(seed=0)
        env.set_state(rows["qpos"][50], rows["qvel"][50])
        env.set_goal(rows["goal"][50])
        obs = env.step(rows["actions"][50])[0]
        assert np.allclose(obs, rows["next_observations"][50], atol=1e-4) == matches


def test_antmaze_bc_regresses_the_deterministic_action():
    """The TD3-BC form of BC (AntMaze's, as the reference) fits tanh(mean) to the expert action; the
    SAC form (MuJoCo's) a sampled action: on one row the first is the hand-computed MSE, the second not."""
    import jax
    import optax

    from hyirl.bc import _bc_steps
    from hyirl.networks import Actor

    obs, actions = np.ones((1, 3), np.float32), np.full((1, 2), 0.3, np.float32)
    actor, tx = Actor((8,), 2), optax.sgd(0.0)
    params = actor.init(jax.random.PRNGKey(0), obs)
    mean, _ = actor.apply(params, obs)
    expected = float(np.mean((np.tanh(mean) - actions) ** 2))
    losses = {}
    for sampled in (False, True):
        p = jax.tree.map(np.array, params)
        _, _, losses[sampled] = _bc_steps(
            p, tx.init(p), jax.random.PRNGKey(1), obs, actions, actor=actor, tx=tx, batch_size=4, sampled=sampled
        )
    assert float(losses[False]) == pytest.approx(expected, rel=1e-5)
    assert abs(float(losses[True]) - expected) > 1e-3


@pytest.mark.parametrize("task", list(DATASETS))
def test_the_shipped_data_ant_walks_the_tasks_ant(task):
    """Guards the pairing of 0.12.0: the shipped ant that makes a task's dataset learnt on the ant
    model the task runs on, and reads the input frame it was trained with (data made on one ant and
    judged on the other are refused at load time, so a mismatch here would fail every default run)."""
    from hyirl.antmaze_data import DATA_ANT
    from hyirl.experts import load_policy, shipped_policy_path

    reacher = GoalReacher.of(*load_policy(shipped_policy_path(DATA_ANT)))
    assert reacher.ant == make_env(task).env.ant_model
    assert reacher.frame == "world"
