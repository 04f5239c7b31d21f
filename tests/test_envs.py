import numpy as np
import pytest

from hyirl.envs import (
    MARGINS_ADD_UP,
    get_task,
    leaves_out_contact_forces,
    make_env,
    with_contact_margins,
    without_contact_forces,
)
from hyirl.errors import HyirlError


def _record(env, seed, steps, rng):
    obs, _ = env.reset(seed=seed)
    states, observations, actions = [], [obs], []
    for _ in range(steps):
        states.append(env.get_state())
        action = rng.uniform(-0.5, 0.5, env.action_space.shape)
        obs, *_ = env.step(action)
        actions.append(action)
        observations.append(obs)
    return states, np.array(observations), np.array(actions)


@pytest.mark.parametrize("task", ["hopper", "walker2d", "pendulum"])
def test_reset_to_recorded_state_replays_exactly(task):
    env = make_env(task, p_tremble=0.0)
    states, observations, actions = _record(env, seed=3, steps=80, rng=np.random.default_rng(0))
    start = 30
    replay = make_env(task, p_tremble=0.0)
    replay.reset(seed=99)  # a different episode, to show the state really is overwritten
    obs = replay.reset_to_state(t=start, **states[start])
    np.testing.assert_array_equal(obs, observations[start])
    assert replay.t == start
    for i in range(start, len(actions)):
        obs, *_ = replay.step(actions[i])
        np.testing.assert_array_equal(obs, observations[i + 1])


def test_reset_without_warmstart_stays_close():
    env = make_env("hopper", p_tremble=0.0)
    states, observations, actions = _record(env, seed=1, steps=40, rng=np.random.default_rng(1))
    state = {k: v for k, v in states[10].items() if k != "qacc_warmstart"}
    env.reset_to_state(t=10, **state)
    for i in range(10, 20):
        obs, *_ = env.step(actions[i])
    np.testing.assert_allclose(obs, observations[20], atol=1e-3)


@pytest.mark.parametrize(
    "task,truncated_obs", [("hopper", False), ("walker2d", False), ("ant", True), ("humanoid", True)]
)
def test_an_observation_of_positions_and_velocities_restores_its_state(task, truncated_obs):
    """Guards ``reset_to_observation``, which the HyPER diagnostics use to step the simulator from a
    model's states: the observation is the state less the x (and y) that no observation sees, so the
    simulator goes on exactly as from the recorded state moved to x = y = 0 without the solver's warm
    start (which no observation holds), and observations that are no such state are refused."""
    env = make_env(task, p_tremble=0.0, truncated_obs=truncated_obs)
    states, observations, actions = _record(env, seed=2, steps=12, rng=np.random.default_rng(2))
    assert np.abs(states[6]["qvel"]).max() < 10  # Hopper and Walker2d observe velocities clipped to ±10
    unseen = len(states[6]["qpos"]) + len(states[6]["qvel"]) - len(observations[6])
    runs = []
    for restore in ("state", "observation"):
        again = make_env(task, p_tremble=0.0, truncated_obs=truncated_obs)
        again.reset(seed=7)
        if restore == "state":
            again.reset_to_state(np.concatenate([np.zeros(unseen), states[6]["qpos"][unseen:]]), states[6]["qvel"], t=6)
        else:
            np.testing.assert_allclose(again.reset_to_observation(observations[6], t=6), observations[6], atol=1e-6)
        assert again.t == 6
        runs.append([again.step(action)[0] for action in actions[6:11]])
    np.testing.assert_array_equal(runs[0], runs[1])
    for other, obs in (("pendulum", observations[6]), (task, np.ones(env.observation_space.shape[0] + 1))):
        with pytest.raises(HyirlError, match="does not determine its simulator state"):
            make_env(other, truncated_obs=truncated_obs and other == task).reset_to_observation(obs)
    if truncated_obs:
        with pytest.raises(HyirlError, match="does not determine"):
            make_env(task).reset_to_observation(make_env(task).reset(seed=0)[0])  # v5's contact forces


def test_episodes_end_at_the_horizon():
    env = make_env("pendulum", p_tremble=0.0)  # pendulum never terminates: only the horizon ends it
    env.reset(seed=0)
    flags = [env.step(np.zeros(1))[3] for _ in range(env.horizon)]
    assert flags == [False] * (env.horizon - 1) + [True]


def test_actions_are_rescaled_to_env_bounds():
    env = make_env("pendulum", p_tremble=0.0)
    env.reset(seed=0)
    env.step(np.array([0.5]))
    assert env.env.last_u == pytest.approx(1.0)  # 0.5 in [-1, 1] is 1.0 in pendulum's [-2, 2]


def test_time_limit_counts_from_reset_time():
    env = make_env("pendulum", p_tremble=0.0)
    env.reset(seed=0)
    state = env.get_state()
    env.reset_to_state(t=env.horizon - 3, **state)
    flags = [env.step(np.zeros(1))[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_trembling_rate_matches_probability():
    env = make_env("pendulum", p_tremble=0.3)
    env.reset(seed=0)
    executed = []
    original_step = env.env.step
    env.env.step = lambda a: (executed.append(np.array(a)), original_step(a))[1]
    n = 4000
    for i in range(n):
        if env.t >= env.horizon - 1:
            env.reset()
        env.step(np.full(1, 0.123))  # rescaled to 0.246 in the env's [-2, 2] bounds
    replaced = np.mean([not np.isclose(a[0], 0.246) for a in executed])
    assert abs(replaced - 0.3) < 0.03


def test_no_trembling_when_disabled_and_paper_default():
    assert make_env("hopper").p_tremble == 0.01
    assert make_env("humanoid").p_tremble == 0.025
    assert make_env("hopper", p_tremble=0.0).p_tremble == 0.0


def test_seeded_resets_are_deterministic():
    a, b = make_env("hopper"), make_env("hopper")
    oa, _ = a.reset(seed=7)
    ob, _ = b.reset(seed=7)
    np.testing.assert_array_equal(oa, ob)
    for _ in range(50):
        action = np.full(3, 0.9)
        ra, rb = a.step(action), b.step(action)
        np.testing.assert_array_equal(ra[0], rb[0])  # trembling draws come from the seeded env RNG


def test_truncated_observations():
    assert make_env("ant", truncated_obs=True).observation_space.shape == (27,)
    assert make_env("humanoid", truncated_obs=True).observation_space.shape == (45,)
    with pytest.raises(HyirlError):
        make_env("hopper", truncated_obs=True)


@pytest.mark.parametrize("task,dim", [("ant", 27), ("humanoid", 270)])
def test_leaving_out_contact_forces_keeps_the_leading_columns_of_the_full_observation(task, dim):
    """Guards the demos' column cut for ``contact_forces=false``: the demos are recorded with the
    full observation and cut to its first columns, which must be exactly what the env observes
    without contact forces, step by step (same seed, same actions)."""
    full, without = make_env(task, p_tremble=0.0), make_env(without_contact_forces(get_task(task)), p_tremble=0.0)
    obs_full, _ = full.reset(seed=3)
    obs_without, _ = without.reset(seed=3)
    rng, forces_seen = np.random.default_rng(0), False
    for _ in range(30):
        assert obs_without.shape == (dim,) and np.array_equal(obs_without, obs_full[:dim])
        forces_seen |= bool(np.abs(obs_full[dim:]).sum() > 0)  # what is left out is not empty
        action = rng.uniform(-1, 1, full.action_space.shape)
        obs_full, obs_without = full.step(action)[0], without.step(action)[0]
    assert forces_seen
    assert leaves_out_contact_forces(without) and not leaves_out_contact_forces(full)
    with pytest.raises(HyirlError, match="contact_forces=false applies to"):
        without_contact_forces(get_task("hopper"))


def test_actions_are_normalised():
    env = make_env("humanoid")
    assert env.action_space.low.min() == -1.0 and env.action_space.high.max() == 1.0


def test_full_gymnasium_id_and_unknown_name():
    env = make_env("HalfCheetah-v5")
    assert env.observation_space.shape == (17,)
    with pytest.raises(HyirlError, match="unknown environment"):
        make_env("hoper")


@pytest.mark.parametrize("mode", ["replay", "state"])
def test_noise_after_expert_resets_is_fresh(mode):
    """Guards FILTER's ``replay`` resets: replaying a demo re-seeds the simulator with the demo's seed,
    and that must not re-seed the generator behind trembling and the reset choice. Before the fix
    every replay reset was followed by the same trembling draws (and the same next expert row)."""
    recorder = make_env("hopper", p_tremble=0.0)
    _, observations, actions = _record(recorder, seed=3, steps=30, rng=np.random.default_rng(3))
    demos = dict(
        seed=np.full(30, 3),
        actions=actions,
        timestep=np.arange(30),
        qpos=np.zeros((30, recorder.unwrapped.model.nq)),
        qvel=np.zeros((30, recorder.unwrapped.model.nv)),
    )
    env = make_env("hopper", p_tremble=0.5)
    env.use_expert_resets(demos, prob=1.0, mode=mode)
    env.reset(seed=0)
    draws, rows = [], []
    for _ in range(2):
        rows.append(env.reset()[1]["expert_reset_row"])
        draws.append([env.np_random.random() for _ in range(3)])
    assert draws[0] != draws[1]
    if mode == "replay":  # the replay reached the recorded state
        row = rows[-1]
        env.use_expert_resets(demos, prob=0.0, mode=mode)
        np.testing.assert_allclose(env._restore_expert_row(row, row), observations[row], atol=1e-8)


def test_expert_resets_cut_the_data_after_each_terminal_row():
    """FILTER's resets on AntMaze data (the reference's ResetWrapper, spec §4): the rows are cut after
    each terminal (goal) row, a stretch is drawn uniformly, then a time in it, which the clock reads;
    rows after the last terminal are never drawn. Here stretches 0-9, 10 and 11: the one-row goal
    stretches are each a third of the resets. Fails if resets draw rows uniformly or keep the rows'
    own times."""
    recorder = make_env("hopper", p_tremble=0.0)
    states, observations, _ = _record(recorder, seed=3, steps=30, rng=np.random.default_rng(3))
    demos = dict(
        timestep=np.arange(30) + 100,  # the rows' own episode times, which the stretches' clock replaces
        terminals=np.isin(np.arange(30), [9, 10, 11]),
        **{k: np.array([s[k] for s in states]) for k in ("qpos", "qvel", "qacc_warmstart")},
    )
    env = make_env("hopper", p_tremble=0.0)
    env.use_expert_resets(demos, prob=1.0)
    env.reset(seed=0)
    rows = []
    for _ in range(300):
        obs, info = env.reset()
        row = info["expert_reset_row"]
        rows.append(row)
        assert env.t == (row if row < 10 else 0)
        np.testing.assert_array_equal(obs, observations[row])
    rows = np.array(rows)
    assert rows.max() <= 11 and 0.25 < np.mean(rows == 10) < 0.42 and 0.25 < np.mean(rows == 11) < 0.42
    with pytest.raises(HyirlError, match="replay resets"):
        env.use_expert_resets(dict(demos, seed=np.zeros(30), actions=np.zeros((30, 3))), prob=1.0, mode="replay")


@pytest.mark.parametrize("task", ["hopper", "ant", "humanoid"])
def test_reference_contact_margins_start_contacts_where_the_references_mujoco_did(task):
    """Guards ``contact_margins=reference``: MuJoCo >= 3.5 gives a contact the sum of its two geoms'
    margins, MuJoCo <= 3.4 (and the reference's 2.1) the larger one. Each contact the simulator reports
    carries the margin it was made with; at the first step with contacts it must be the geoms' own
    margin with the option (halving dropped: twice that) and, by default, the installed release's."""
    own = float(np.unique(make_env(task).unwrapped.model.geom_margin)[0])
    for rule, expected in (("reference", own), ("mujoco", 2 * own if MARGINS_ADD_UP else own)):
        env = make_env(with_contact_margins(get_task(task), rule), p_tremble=0.0)
        env.reset(seed=0)
        data = env.unwrapped.data
        while not data.ncon:
            env.step(np.zeros(env.action_space.shape))
        np.testing.assert_allclose(data.contact.includemargin[: data.ncon], expected, rtol=1e-9)


def test_reference_contact_margins_refuse_a_task_without_contacts():
    with pytest.raises(HyirlError, match="contact_margins=reference applies to MuJoCo tasks"):
        make_env(with_contact_margins(get_task("pendulum"), "reference"))
