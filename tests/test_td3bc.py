"""TD3-BC (hyirl.td3bc): fused updates, the four batch modes, relabelled rewards, the delayed actor."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hyirl import buffers
from hyirl.errors import HyirlError
from hyirl.td3bc import TD3BC, TD3BCConfig

SMALL = dict(hidden=(32, 32), batch_size=64)


def _bandit(n, action, seed):
    """One-step episodes from one state with the logged actions; stored rewards are 0 (see ``_reward``)."""
    rng = np.random.default_rng(seed)
    action = np.broadcast_to(action(rng, n), (n, 1)).astype(np.float32)
    obs = np.ones((n, 2), np.float32)
    return buffers.from_arrays(obs=obs, action=action, next_obs=obs, reward=np.zeros(n), terminal=np.ones(n))


def _reward(params, batch):
    """The relabelling hook: 1 - (a - best)^2 (kept away from 0, where λ = α / mean|Q| blows up)."""
    return 1.0 - (batch["action"][:, 0] - params["best"]) ** 2


UNIFORM = lambda rng, n: rng.uniform(-1, 1, (n, 1))  # noqa: E731
AT_MINUS_HALF = lambda rng, n: np.full((n, 1), -0.5)  # noqa: E731


def _policy_action(agent, state):
    return float(agent.act(state.actor_params, jnp.ones((1, 2)))[0, 0])


def test_fused_updates_equal_single_updates():
    agent = TD3BC(2, 1, TD3BCConfig(**SMALL))
    learner, offline = _bandit(300, UNIFORM, 0), _bandit(300, AT_MINUS_HALF, 1)
    fused, _ = agent.train_chunk(agent.init(jax.random.PRNGKey(0)), learner, offline, None, num_updates=6)
    single = agent.init(jax.random.PRNGKey(0))
    for _ in range(6):
        single, _ = agent.train_chunk(single, learner, offline, None, num_updates=1)
    for a, b in zip(jax.tree.leaves(fused), jax.tree.leaves(single)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert int(fused.step) == 6


def test_the_actor_and_targets_move_every_second_update_only():
    """policy_delay 2: after one update the actor and both targets are untouched, after two they moved."""
    agent = TD3BC(2, 1, TD3BCConfig(**SMALL))
    learner, offline = _bandit(300, UNIFORM, 0), _bandit(300, AT_MINUS_HALF, 1)
    start = agent.init(jax.random.PRNGKey(0))
    snapshot = jax.tree.map(np.asarray, (start.actor_params, start.actor_target, start.critic_target))
    one, _ = agent.train_chunk(start, learner, offline, None, num_updates=1)
    after_one = (one.actor_params, one.actor_target, one.critic_target)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(snapshot), jax.tree.leaves(after_one)))
    two, _ = agent.train_chunk(one, learner, offline, None, num_updates=1)
    for old, new in zip(snapshot, (two.actor_params, two.actor_target, two.critic_target)):
        assert not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(old), jax.tree.leaves(new)))


def test_bc_updates_move_the_actor_every_time_and_are_not_counted():
    """The reference's latest TD3-BC counts online updates only, so during BC initialisation its actor
    and targets move on every update (10,000 actor steps for 10,000 BC updates) and the first online
    update is again the first of a delay period. Fails if BC updates are delayed or counted (as the
    reference's first version did, which ``bc_delayed_actor=True`` keeps: checked too)."""
    learner, offline = _bandit(300, UNIFORM, 0), _bandit(300, AT_MINUS_HALF, 1)
    for delayed in (False, True):
        agent = TD3BC(2, 1, TD3BCConfig(**SMALL, bc_delayed_actor=delayed))
        start = agent.init(jax.random.PRNGKey(0))
        before = jax.tree.map(np.asarray, (start.actor_params, start.actor_target, start.critic_target))
        one, _ = agent.train_chunk(start, learner, offline, None, num_updates=1, mode="bc")
        after = (one.actor_params, one.actor_target, one.critic_target)
        moved = [
            not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(x), jax.tree.leaves(y)))
            for x, y in zip(before, after)
        ]
        assert moved == [not delayed] * 3 and int(one.step) == int(delayed)


def test_each_mode_pulls_the_actor_where_it_should():
    """On a one-step bandit whose relabelled reward is 1 - (a - 0.3)^2 (stored rewards are 0): the
    Q-driven learner mode finds a ≈ 0.3 from uniformly random logged actions; BC mode copies the
    offline actions (-0.5); hybrid mode, whose BC term covers both halves of the batch, lands between.
    Fails with a flipped sign of the Q term (the action runs to a bound) and with the stored rewards
    used instead of the hook's (Q = 0 everywhere gives the actor no direction)."""
    cfg = TD3BCConfig(hidden=(32, 32), batch_size=128, learning_rate=1e-3, optimizer="adam", gamma=0.0)
    learner, offline = _bandit(2000, UNIFORM, 0), _bandit(2000, AT_MINUS_HALF, 1)
    found = {}
    for mode in ("learner", "bc", "hybrid"):
        agent = TD3BC(2, 1, cfg, reward_fn=_reward)
        state, metrics = agent.train_chunk(
            agent.init(jax.random.PRNGKey(2)), learner, offline, {"best": jnp.float32(0.3)}, num_updates=1000, mode=mode
        )
        found[mode] = _policy_action(agent, state)
        assert np.isfinite(float(metrics["critic_loss"])) and float(metrics["reward_mean"]) > 0.3
    assert found["learner"] == pytest.approx(0.3, abs=0.08)
    assert found["bc"] == pytest.approx(-0.5, abs=0.03)
    assert -0.5 + 0.05 < found["hybrid"] < 0.3 - 0.05


def test_offline_mode_learns_from_the_offline_rows_with_the_bc_term():
    """The reference's first public version's batches for methods without hybrid ones: every row from
    the offline buffer, actor loss -λQ + BC. With uniformly logged offline actions and the reward
    1 - (a - 0.3)^2, -2.5 (a - 0.3)^2 - a^2 is best at a ≈ 0.21: between the BC optimum (0) and the
    reward's (0.3). Fails if the rows come from the learner buffer (all at -0.5, so BC pulls there)
    or if the BC term is dropped (a ≈ 0.3)."""
    cfg = TD3BCConfig(hidden=(32, 32), batch_size=128, learning_rate=1e-3, optimizer="adam", gamma=0.0)
    learner, offline = _bandit(2000, AT_MINUS_HALF, 0), _bandit(2000, UNIFORM, 1)
    agent = TD3BC(2, 1, cfg, reward_fn=_reward, mode="offline")
    state, metrics = agent.train_chunk(
        agent.init(jax.random.PRNGKey(2)), learner, offline, {"best": jnp.float32(0.3)}, num_updates=1000
    )
    assert np.isfinite(float(metrics["critic_loss"]))
    assert 0.12 < _policy_action(agent, state) < 0.26


def test_bad_settings_are_refused():
    with pytest.raises(HyirlError, match="policy_delay"):
        TD3BCConfig(policy_delay=0)
    with pytest.raises(HyirlError, match="critic_clip"):
        TD3BCConfig(critic_clip=-1.0)
    with pytest.raises(HyirlError, match="single_source"):
        TD3BCConfig(single_source="expert")
