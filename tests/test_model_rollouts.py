import dataclasses
import types

import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers
from hyirl.demos import trajectory_ends
from hyirl.dynamics import Dynamics, DynamicsConfig
from hyirl.hyper import HyPERConfig
from hyirl.model_rollouts import make_model_rollout, refit_and_roll_out, sliding_window_rows
from hyirl.sac import SAC, SACConfig

TINY_MODEL = DynamicsConfig(members=3, elites=2, hidden=(32, 32), max_epochs=2, patience=2)


def test_rollouts_stop_at_the_first_terminal():
    agent = SAC(3, 1, SACConfig(hidden=(16,)))
    dynamics = Dynamics(3, 1, DynamicsConfig(members=2, elites=2, hidden=(16,)))
    model_state = dynamics.init(jax.random.PRNGKey(0))
    done_fn = lambda obs: obs[..., 0] > 0.3  # noqa: E731  terminates often from random starts
    rollout = make_model_rollout(agent, dynamics, done_fn)
    start = jax.random.normal(jax.random.PRNGKey(1), (64, 3)) * 0.3
    steps, valid = rollout(
        model_state, agent.init(jax.random.PRNGKey(2)).actor_params, start, jax.random.PRNGKey(3), length=6
    )
    valid = np.asarray(valid).reshape(6, 64)
    done = np.asarray(steps["terminal"]).reshape(6, 64) > 0
    # a row is kept iff no earlier step of its rollout terminated; the first step is always kept
    expected = np.concatenate([np.ones((1, 64), bool), np.cumsum(done, 0)[:-1] == 0])
    np.testing.assert_array_equal(valid, expected)
    assert done[0].any() and (~valid).any() and valid[-1].any()
    np.testing.assert_array_equal(np.asarray(steps["obs"]).reshape(6, 64, 3)[0], np.asarray(start))
    # each step starts where the previous one ended
    obs = np.asarray(steps["obs"]).reshape(6, 64, 3)
    np.testing.assert_allclose(obs[1:], np.asarray(steps["next_obs"]).reshape(6, 64, 3)[:-1])


def test_uncertainty_penalty_is_the_elites_disagreement_in_the_reward_field():
    agent = SAC(3, 1, SACConfig(hidden=(16,)))
    dynamics = Dynamics(3, 1, DynamicsConfig(members=3, elites=2, hidden=(16,)))
    model_state = dynamics.init(jax.random.PRNGKey(0))
    actor = agent.init(jax.random.PRNGKey(2)).actor_params
    start = jax.random.normal(jax.random.PRNGKey(1), (32, 3))
    never_done = lambda obs: jnp.zeros(obs.shape[:-1], bool)  # noqa: E731
    for penalty in (0.0, 2.5):
        steps, _ = make_model_rollout(agent, dynamics, never_done, penalty)(
            model_state, actor, start, jax.random.PRNGKey(3), length=3
        )
        spread = dynamics.disagreement(model_state, steps["obs"], steps["action"])
        assert penalty == 0.0 or float(spread.min()) > 0
        np.testing.assert_allclose(steps["reward"], -penalty * spread, rtol=1e-6)
    # elites that agree are not penalised
    same = model_state.replace(params=jax.tree.map(lambda p: jnp.broadcast_to(p[:1], p.shape), model_state.params))
    np.testing.assert_allclose(dynamics.disagreement(same, start, jnp.zeros((32, 1))), 0.0, atol=1e-7)


def test_start_states_come_from_the_flipped_buffer_and_window():
    cfg = HyPERConfig(
        env="pendulum", act_chunk=10, model_every=10, rollouts_per_step=4, model=TINY_MODEL, sac=SACConfig(hidden=(16,))
    )
    rng = np.random.default_rng(0)

    def filled(offset):
        obs = offset + rng.normal(size=(100, 3))
        return buffers.from_arrays(
            obs=obs,
            action=rng.uniform(-1, 1, (100, 1)),
            next_obs=obs + 0.01,
            reward=np.zeros(100),
            terminal=np.zeros(100),
        )

    expert, real = filled(100.0), filled(-100.0)
    agent = SAC(3, 1, cfg.sac)
    dynamics = Dynamics(3, 1, cfg.model)
    learner = types.SimpleNamespace(buffer=real, env_steps=0, state=agent.init(jax.random.PRNGKey(0)))
    rollout = make_model_rollout(agent, dynamics, lambda obs: jnp.zeros(obs.shape[:-1], bool))
    newest_ten = np.asarray(real.obs)[-10:]  # from_arrays fills rows in order, so these are the newest
    cases = [  # expert_start_prob, start_coin, learner_start_window, allowed start states
        (1.0, "event", None, expert.obs),
        (0.0, "event", None, real.obs),
        (0.0, "event", 10, newest_ten),
        (0.5, "state", 10, np.concatenate([expert.obs, newest_ten])),
    ]
    for prob, coin, window, pool in cases:
        model_buffer = buffers.empty(cfg.model_window(1), 3, 1)
        _, model_buffer, info = refit_and_roll_out(
            dataclasses.replace(cfg, expert_start_prob=prob, start_coin=coin, learner_start_window=window),
            dynamics,
            rollout,
            lambda transitions: jnp.zeros(len(transitions["obs"])),
            dynamics.init(jax.random.PRNGKey(1)),
            model_buffer,
            expert,
            learner,
            expert,
            lambda n, key: buffers.sample_indices(expert, key, n),
            rng,
            0,
        )
        # per state: a binomial share of the 40 starts (within 4 standard deviations of one half)
        share = info["rollout_from_expert"]
        assert share == prob if coin == "event" else abs(share - prob) < 0.32
        starts = np.asarray(model_buffer.obs[: cfg.rollouts_per_fit])
        pool = np.asarray(pool)
        assert all(np.any(np.all(pool == s, axis=1)) for s in starts)


def test_sliding_window_starts_move_from_the_goals_back_to_the_starts():
    """AntMaze start states (spec §5.6): at 0 real steps the time index lies in the last 10 % of the
    (stretched) trajectories, at 75k in the middle, from 150k on at their starts; a short trajectory
    is stretched, so its window covers the same fraction of it. Guards the direction of the slide."""
    ends = np.zeros(1500, bool)
    ends[[999, 1499]] = True  # two trajectories, the second half as long
    rng = np.random.default_rng(0)
    for env_steps, (lo, hi) in ((0, (0.9, 1.0)), (75_000, (0.5, 0.6)), (150_000, (0.0, 0.1)), (400_000, (0.0, 0.001))):
        rows = sliding_window_rows(ends, env_steps, 4000, rng)
        first, second = rows[rows < 1000], rows[rows >= 1000] - 1000
        assert len(first) > 1500 and len(second) > 1500
        assert lo * 1000 <= first.min() and first.max() < hi * 1000 + 1e-9
        assert lo * 500 <= second.min() and second.max() < max(hi * 500, 1)


def test_sliding_window_treats_each_goal_row_as_a_trajectory_of_its_own():
    """The reference cuts its AntMaze reset states at timeouts and terminals (spec §5.6): a terminal
    goal row is a one-row trajectory, stretched to the horizon, so it is drawn as often as a whole
    trajectory whatever the window. Fails if the terminal flags are ignored (the row is then drawn
    with the 1,000-row trajectory around it, one time in a few hundred)."""
    timeouts, terminals = np.zeros(3000, bool), np.zeros(3000, bool)
    timeouts[[999, 2999]] = terminals[[1499, 1500]] = True  # 1,000 rows, 500, a goal row, 1,499 rows
    ends = trajectory_ends(dict(timeouts=timeouts, terminals=terminals))
    for env_steps in (0, 150_000):
        rows = sliding_window_rows(ends, env_steps, 8000, np.random.default_rng(1))
        assert 0.2 < np.mean(rows == 1500) < 0.3
