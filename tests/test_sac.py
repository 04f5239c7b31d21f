import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hyirl import buffers
from hyirl.envs import make_env
from hyirl.errors import HyirlError
from hyirl.learner import LoopConfig, OnlineSAC, evaluate
from hyirl.networks import sample_tanh_gaussian
from hyirl.sac import SAC, SACConfig, numpy_layers, numpy_mlp


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


@pytest.mark.parametrize("init", ["lecun", "torch-default", "xavier"])
def test_sac_initialisations_reach_actor_and_critics(init):
    """Guards ``SACConfig.init``: "torch-default" draws every actor and critic weight and bias from
    U(±1/sqrt(fan_in)) as PyTorch's nn.Linear (the reference's SB3 networks), spread as a uniform one
    is (std 1/sqrt(3 fan_in)); "xavier" draws weights from U(±sqrt(6/(fan_in+fan_out))) with zero biases
    as pytorch_sac (HyPER's reference, spec §3.5); the default keeps flax's LeCun normal weights (std
    1/sqrt(fan_in)) and zero biases. Checked on every layer, so a layer left at another start fails."""
    state = SAC(11, 3, SACConfig(init=init)).init(jax.random.PRNGKey(0))
    nets = [state.actor_params["params"]["MLP_0"], *state.critic_params["params"].values()]
    for layers in nets:
        for kernel, bias in numpy_layers(layers):
            fan_in, fan_out = kernel.shape
            if init == "torch-default":
                bound = fan_in**-0.5
                assert np.all(np.abs(kernel) <= bound) and np.all(np.abs(bias) <= bound) and np.all(bias != 0)
                assert abs(np.std(kernel) * np.sqrt(3) / bound - 1) < 0.1
            elif init == "xavier":
                bound = (6 / (fan_in + fan_out)) ** 0.5
                assert not np.any(bias) and np.all(np.abs(kernel) <= bound)
                assert abs(np.std(kernel) * np.sqrt(3) / bound - 1) < 0.1
            else:
                assert not np.any(bias) and abs(np.std(kernel) * fan_in**0.5 - 1) < 0.15


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


def test_expert_rows_know_their_next_action_within_each_trajectory():
    """Guards ``demos.with_next_actions``: row t gets the action of row t+1 of its own trajectory and
    NaN where the trajectory ends (a timeout or a terminal), never the next trajectory's first action."""
    from hyirl.demos import expert_buffer, with_next_actions

    n, act_dim = 7, 2
    demos = dict(
        observations=np.zeros((n, 3)),
        next_observations=np.zeros((n, 3)),
        actions=np.arange(n * act_dim, dtype=float).reshape(n, act_dim) / 20,
        terminals=np.array([0, 0, 0, 0, 0, 1, 0], bool),
        timeouts=np.array([0, 0, 1, 0, 0, 0, 1], bool),
    )
    next_action = np.asarray(with_next_actions(expert_buffer(demos), demos).next_action)
    ends = [2, 5, 6]
    assert np.isnan(next_action[ends]).all()
    for t in (0, 1, 3, 4):
        np.testing.assert_allclose(next_action[t], demos["actions"][t + 1], rtol=1e-6)


@pytest.mark.parametrize("bootstrap, recorded", [("expert-action", True), ("expert-action", False), ("policy", True)])
def test_expert_rows_bootstrap_through_the_recorded_next_action(bootstrap, recorded):
    """Guards ``SACConfig.expert_bootstrap``: with "expert-action", a batch of expert rows whose next
    action is recorded trains the critic to a target the actor cannot change (one update from two
    different actors gives the same critic); where the action is missing (NaN, a trajectory's end)
    and with the reference's "policy" target, the actor's next action and log-density enter it."""
    agent = SAC(
        3, 2, SACConfig(hidden=(16, 16), batch_size=32, expert_bootstrap=bootstrap), expert_fraction=lambda s: 1.0
    )
    expert = _random_buffer(64, 3, 2, seed=4)
    next_action = np.random.default_rng(5).uniform(-1, 1, (64, 2)) if recorded else np.full((64, 2), np.nan)
    expert = expert.replace(next_action=jnp.asarray(next_action, jnp.float32))
    learner = _random_buffer(64, 3, 2, seed=6)
    # two states that differ in the actor only (each its own arrays: an update donates its state)
    states = [agent.init(jax.random.PRNGKey(0)) for _ in range(2)]
    states[1] = states[1].replace(actor_params=agent.init(jax.random.PRNGKey(1)).actor_params)
    critics = [agent.train_chunk(s, learner, expert, None, 1e-2, num_updates=1)[0].critic_params for s in states]
    same = all(np.array_equal(a, b) for a, b in zip(*map(jax.tree.leaves, critics)))
    assert same == (bootstrap == "expert-action" and recorded)


def test_terminal_steps_pay_the_entropy_term_that_living_on_would_pay():
    """Guards ``SACConfig.terminal_entropy``: a terminal row's target rises by exactly gamma / (1 - gamma)
    times the batch's mean living entropy term -alpha log pi(a'|s') (from the policy's own next actions,
    also on expert rows that bootstrap through a recorded one), and no other row's target moves. So the
    absorbing state pays SAC's entropy cost as living does (docs/hyper.md §29). Broken by hand (the
    term's sign flipped; the mean taken over the recorded rows' zeroed log-densities), it failed."""
    gamma, alpha, n = 0.99, 5.0, 32
    rng = np.random.default_rng(0)
    recorded = np.where(np.arange(n)[:, None] < 8, rng.uniform(-1, 1, (n, 2)), np.nan)
    batch = dict(
        obs=jnp.asarray(rng.normal(size=(n, 3)), jnp.float32),
        action=jnp.asarray(rng.uniform(-1, 1, (n, 2)), jnp.float32),
        next_obs=jnp.asarray(rng.normal(size=(n, 3)), jnp.float32),
        terminal=jnp.asarray(np.arange(n) % 3 == 0, jnp.float32),
        expert_next_action=jnp.asarray(recorded, jnp.float32),
    )
    rewards, key = jnp.asarray(rng.normal(size=n), jnp.float32), jax.random.PRNGKey(1)
    targets = {}
    for on in (False, True):
        cfg = SACConfig(hidden=(16,), gamma=gamma, expert_bootstrap="expert-action", terminal_entropy=on)
        agent = SAC(3, 2, cfg)
        state = agent.init(jax.random.PRNGKey(0))
        targets[on] = np.asarray(agent.td_target(state, batch, rewards, alpha, key))
    _, log_prob = sample_tanh_gaussian(*agent.actor.apply(state.actor_params, batch["next_obs"]), key)
    living_term = -alpha * float(np.mean(log_prob))
    expected = np.asarray(batch["terminal"]) * gamma * living_term / (1 - gamma)
    np.testing.assert_allclose(targets[True] - targets[False], expected, rtol=1e-4, atol=1e-5)
    assert abs(living_term) > 0.1  # the term is not vanishing for this policy, so the test can see it


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
    agent = SAC(3, 1, SACConfig(hidden=(128, 128)))  # narrower than the default: 4x cheaper, learns as well
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


def _np_sample(actor, obs, noise):
    mean, log_std = np.split(numpy_mlp(actor, obs), 2, axis=-1)
    log_std = np.clip(log_std, -20.0, 2.0)
    pre = mean + np.exp(log_std) * noise
    log_prob = -0.5 * noise**2 - log_std - 0.5 * np.log(2 * np.pi) - 2 * (np.log(2.0) - pre - np.logaddexp(0, -2 * pre))
    return np.tanh(pre), log_prob.sum(-1)


def _np_q(critics, obs, action):
    x = np.concatenate([obs, action], -1)
    return np.stack([numpy_mlp(c, x)[:, 0] for c in critics])


def _numeric_grad(loss, layers, h=1e-6):
    grads = []
    for kernel, bias in layers:
        pair = []
        for array in (kernel, bias):
            grad = np.zeros_like(array)
            for i in np.ndindex(array.shape):
                keep = array[i]
                array[i] = keep + h
                up = loss()
                array[i] = keep - h
                grad[i] = (up - loss()) / (2 * h)
                array[i] = keep
            pair.append(grad)
        grads.append(tuple(pair))
    return grads


def _assert_first_adam_step(before, after, grads, lr):
    """Adam's first step moves each weight by lr * g / (|g| + 1e-8): -lr * sign(g) where |g| is not tiny."""
    for (k0, b0), (k1, b1), (gk, gb) in zip(before, after, grads):
        for p0, p1, g in ((k0, k1, gk), (b0, b1, gb)):
            clear = np.abs(g) > 1e-4
            np.testing.assert_allclose((p1 - p0)[clear], -lr * np.sign(g[clear]), rtol=1e-3, atol=1e-9)
            assert np.all(np.abs(p1 - p0) <= lr * 1.001)


def test_one_update_matches_a_numpy_computation():
    """Guards SAC's maths (not just that it runs): the critic target r + gamma (1 - d)(min Q' - alpha
    log pi'), both losses, which parameters each loss moves (the actor against the freshly updated
    critic), the temperature step and the Polyak target, recomputed in NumPy in float64 with
    numerical gradients. Fails on e.g. a dropped (1 - d), a max instead of min, the entropy term's
    sign, or the actor scored by the old critic."""
    obs_dim, act_dim, batch = 3, 2, 8
    cfg = SACConfig(hidden=(5,), batch_size=batch, gamma=0.9, tau=0.1, init_alpha=0.5)
    agent = SAC(obs_dim, act_dim, cfg)
    rng = np.random.default_rng(0)
    buf = _random_buffer(12, obs_dim, act_dim, seed=7)
    buf = buf.replace(
        reward=jnp.asarray(rng.normal(size=12), jnp.float32), terminal=jnp.asarray(rng.random(12) < 0.3, jnp.float32)
    )
    state = agent.init(jax.random.PRNGKey(3))
    lr = 1e-3
    new, metrics = agent.train_chunk(jax.tree.map(jnp.copy, state), buf, None, None, lr, num_updates=1)

    # the same random draws as the update (RNG plumbing; the maths below is NumPy's)
    _, k_batch, k_next, k_pi, _ = jax.random.split(state.key, 5)
    idx = np.asarray(buffers.sample_indices(buf, jax.random.split(k_batch)[0], batch))
    obs, action = np.asarray(buf.obs, np.float64)[idx], np.asarray(buf.action, np.float64)[idx]
    next_obs, reward = np.asarray(buf.next_obs, np.float64)[idx], np.asarray(buf.reward, np.float64)[idx]
    terminal = np.asarray(buf.terminal, np.float64)[idx]
    noise_next = np.asarray(jax.random.normal(k_next, (batch, act_dim)), np.float64)
    noise_pi = np.asarray(jax.random.normal(k_pi, (batch, act_dim)), np.float64)

    actor = numpy_layers(state.actor_params["params"]["MLP_0"])
    critics = [numpy_layers(state.critic_params["params"][f"MLP_{i}"]) for i in range(2)]
    targets = [numpy_layers(state.critic_target["params"][f"MLP_{i}"]) for i in range(2)]
    alpha = 0.5
    next_action, next_log_prob = _np_sample(actor, next_obs, noise_next)
    y = reward + 0.9 * (1 - terminal) * (_np_q(targets, next_obs, next_action).min(0) - alpha * next_log_prob)
    critic_loss = lambda: 0.5 * ((_np_q(critics, obs, action) - y) ** 2).mean(-1).sum()  # noqa: E731
    np.testing.assert_allclose(float(metrics["critic_loss"]), critic_loss(), rtol=1e-4)
    critic_grads = [_numeric_grad(critic_loss, c) for c in critics]
    new_critics = [numpy_layers(new.critic_params["params"][f"MLP_{i}"]) for i in range(2)]
    for c0, c1, g in zip(critics, new_critics, critic_grads):
        _assert_first_adam_step(c0, c1, g, lr)

    def actor_loss():
        sampled, log_prob = _np_sample(actor, obs, noise_pi)
        return (alpha * log_prob - _np_q(new_critics, obs, sampled).min(0)).mean()

    np.testing.assert_allclose(float(metrics["actor_loss"]), actor_loss(), rtol=1e-4)
    _assert_first_adam_step(
        actor, numpy_layers(new.actor_params["params"]["MLP_0"]), _numeric_grad(actor_loss, actor), lr
    )

    log_prob = _np_sample(actor, obs, noise_pi)[1]
    alpha_grad = -np.mean(log_prob - act_dim)  # target entropy -dim(A)
    np.testing.assert_allclose(float(new.log_alpha), np.log(0.5) - lr * np.sign(alpha_grad), rtol=1e-5)
    for t0, c1, t1 in zip(
        targets, new_critics, [numpy_layers(new.critic_target["params"][f"MLP_{i}"]) for i in range(2)]
    ):
        for (tk, tb), (ck, cb), (nk, nb) in zip(t0, c1, t1):
            np.testing.assert_allclose(nk, 0.9 * tk + 0.1 * ck, rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(nb, 0.9 * tb + 0.1 * cb, rtol=1e-5, atol=1e-7)
