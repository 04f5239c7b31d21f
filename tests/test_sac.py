import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hyirl import buffers
from hyirl.envs import make_env
from hyirl.errors import HyirlError
from hyirl.learner import LoopConfig, OnlineSAC, evaluate
from hyirl.sac import SAC, SACConfig


def _random_buffer(n, obs_dim, act_dim, seed, reward=0.0, terminal=0.0):
    rng = np.random.default_rng(seed)
    return buffers.from_arrays(
        obs=rng.normal(size=(n, obs_dim)),
        action=rng.uniform(-1, 1, (n, act_dim)),
        next_obs=rng.normal(size=(n, obs_dim)),
        reward=np.full(n, reward),
        terminal=np.full(n, terminal),
    )


def test_fused_updates_equal_single_updates():
    agent = SAC(4, 2, SACConfig(hidden=(32, 32), batch_size=16))
    buf = _random_buffer(200, 4, 2, seed=0)
    fused, _ = agent.train_chunk(agent.init(jax.random.PRNGKey(0)), buf, None, None, 3e-4, num_updates=5)
    single = agent.init(jax.random.PRNGKey(0))
    for _ in range(5):
        single, _ = agent.train_chunk(single, buf, None, None, 3e-4, num_updates=1)
    for a, b in zip(jax.tree.leaves(fused), jax.tree.leaves(single)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert int(fused.step) == 5


def test_reward_function_relabels_every_batch():
    # Stored rewards are 0; the reward function says 5 and every transition is terminal, so Q -> 5.
    agent = SAC(
        3,
        1,
        SACConfig(hidden=(32, 32), learning_rate=3e-3),
        reward_fn=lambda params, batch: params["r"] + 0 * batch["reward"],
    )
    buf = _random_buffer(500, 3, 1, seed=1, reward=0.0, terminal=1.0)
    state = agent.init(jax.random.PRNGKey(1))
    state, metrics = agent.train_chunk(state, buf, None, {"r": jnp.float32(5.0)}, 3e-3, num_updates=500)
    assert float(metrics["reward_mean"]) == pytest.approx(5.0)
    q = agent.critic.apply(state.critic_params, buf.obs, buf.action)
    assert abs(float(q.mean()) - 5.0) < 0.5


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5])
def test_mixed_batch_holds_exactly_the_scheduled_expert_fraction(fraction):
    agent = SAC(3, 1, expert_fraction=lambda step: jnp.float32(fraction))
    learner = _random_buffer(300, 3, 1, seed=2, reward=0.0)
    expert = _random_buffer(300, 3, 1, seed=3, reward=1.0)
    batch, _ = agent._sample_batch(jnp.int32(0), learner, expert, jax.random.PRNGKey(0))
    assert int(batch["reward"].sum()) == int(np.floor(256 * fraction))
    # expert rows carry their own observations, not the learner's
    assert np.isin(np.asarray(batch["obs"][:, 0])[np.asarray(batch["reward"]) == 1], np.asarray(expert.obs[:, 0])).all()


def test_schedule_sees_the_batch_clock():
    seen = []
    agent = SAC(3, 1, SACConfig(hidden=(8,), batch_size=8), expert_fraction=lambda step: jnp.where(step < 3, 1.0, 0.0))
    learner = _random_buffer(50, 3, 1, seed=4, reward=0.0)
    expert = _random_buffer(50, 3, 1, seed=5, reward=1.0)
    state = agent.init(jax.random.PRNGKey(0))
    for _ in range(5):
        state, metrics = agent.train_chunk(state, learner, expert, None, 3e-4, num_updates=1)
        seen.append(float(metrics["reward_mean"]))
    assert seen == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_sac_learns_pendulum():
    env = make_env("pendulum")
    agent = SAC(3, 1)
    learner = OnlineSAC(env, agent, LoopConfig(buffer_size=20_000, learning_starts=1000), seed=0)
    before = evaluate(learner.policy, make_env("pendulum"), 5, seed=123).mean()
    learner.collect(64 * 80)
    after = evaluate(learner.policy, make_env("pendulum"), 5, seed=123).mean()
    assert before < -900  # an untrained policy does not swing up
    assert after > -400, after


def test_non_finite_loss_is_a_clear_error():
    env = make_env("pendulum")
    agent = SAC(3, 1, SACConfig(hidden=(16,)), reward_fn=lambda params, batch: batch["reward"] * jnp.nan)
    learner = OnlineSAC(env, agent, LoopConfig(buffer_size=1000, learning_starts=64), seed=0)
    with pytest.raises(HyirlError, match="non-finite"):
        learner.collect(128)


def test_optimistic_adam_runs():
    agent = SAC(3, 1, SACConfig(hidden=(16,), optimizer="oadam"))
    state, metrics = agent.train_chunk(
        agent.init(jax.random.PRNGKey(0)), _random_buffer(64, 3, 1, 0), None, None, 3e-4, num_updates=3
    )
    assert np.isfinite(float(metrics["critic_loss"]))
