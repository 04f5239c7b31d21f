import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hyirl.discriminator import Discriminator, DiscriminatorConfig
from hyirl.optim import oadam


def _numpy_cost_and_input_grad(params, x):
    """A 1-member ReLU MLP and its input gradient, by hand."""
    layers = params["params"]["VmapMLP_0"]
    ws = [np.asarray(layers[f"Dense_{i}"]["kernel"][0], np.float64) for i in range(3)]
    bs = [np.asarray(layers[f"Dense_{i}"]["bias"][0], np.float64) for i in range(3)]
    h1 = x @ ws[0] + bs[0]
    a1 = np.maximum(h1, 0)
    h2 = a1 @ ws[1] + bs[1]
    a2 = np.maximum(h2, 0)
    f = (a2 @ ws[2] + bs[2])[:, 0]
    # df/dx = W1 diag(h1 > 0) W2 diag(h2 > 0) w3, per sample
    g2 = (h2 > 0) * ws[2][:, 0]
    g1 = (h1 > 0) * (g2 @ ws[1].T)
    return f, g1 @ ws[0].T


def test_loss_and_gradient_penalty_match_hand_computation():
    disc = Discriminator(3, 2, DiscriminatorConfig(hidden=(8, 8)))
    params = disc.init(jax.random.PRNGKey(0)).params
    rng = np.random.default_rng(0)
    expert_x, learner_x = rng.normal(size=(50, 5)), rng.normal(size=(50, 5)) + 1.0
    key = jax.random.PRNGKey(7)
    loss, aux = disc.loss(params, jnp.asarray(expert_x, jnp.float32), jnp.asarray(learner_x, jnp.float32), key)

    mix = np.asarray(jax.random.uniform(key, (50, 1)), np.float64)
    f_expert, _ = _numpy_cost_and_input_grad(params, expert_x)
    f_learner, _ = _numpy_cost_and_input_grad(params, learner_x)
    _, grads = _numpy_cost_and_input_grad(params, mix * expert_x + (1 - mix) * learner_x)
    penalty = np.mean((np.sqrt((grads**2).sum(-1) + 1e-12) - 0.4) ** 2)
    expected = f_expert.mean() - f_learner.mean() + 10 * penalty
    assert float(aux["grad_penalty"]) == pytest.approx(penalty, rel=1e-4)
    assert float(loss) == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert float(aux["learner_reward"]) == pytest.approx(-f_learner.mean(), rel=1e-4, abs=1e-6)
    assert "absorbing_reward" not in aux


def test_reward_is_negative_cost_and_ensemble_takes_min_and_clips():
    disc = Discriminator(2, 1, DiscriminatorConfig(hidden=(8,), ensemble_size=3, clip_output=0.05))
    params = disc.init(jax.random.PRNGKey(1)).params
    obs, act = jnp.ones((4, 2)), jnp.ones((4, 1))
    members = disc.net.apply(params, jnp.concatenate([obs, act], -1))
    assert members.shape == (3, 4)
    np.testing.assert_allclose(disc.cost(params, obs, act), jnp.clip(members.min(0), -0.05, 0.05))
    np.testing.assert_allclose(disc.reward(params, dict(obs=obs, action=act)), -disc.cost(params, obs, act))


def test_fresh_optimizer_update_is_a_sign_step_with_harmonic_decay():
    cfg = DiscriminatorConfig(hidden=(8,), batch_size=64)
    disc = Discriminator(2, 1, cfg)
    state = disc.init(jax.random.PRNGKey(2))
    rng = np.random.default_rng(1)
    expert_x = jnp.asarray(rng.normal(size=(64, 3)), jnp.float32)
    learner_x = jnp.asarray(rng.normal(size=(64, 3)) + 2.0, jnp.float32)
    for k, lr in enumerate([8e-4, 8e-4, 4e-4, 8e-4 / 3]):
        before = jax.tree.map(np.asarray, state.params)
        state, _ = disc.update(state, expert_x, learner_x, jax.random.PRNGKey(10 + k))
        steps = jax.tree.leaves(jax.tree.map(lambda a, b: np.abs(np.asarray(a) - b), state.params, before))
        moved = np.concatenate([s.ravel() for s in steps])
        moved = moved[moved > 0]
        np.testing.assert_allclose(moved, 2 * lr, rtol=1e-2)  # |step| = 2 lr_k for every parameter


def test_update_moves_cost_apart():
    disc = Discriminator(
        2,
        1,
        DiscriminatorConfig(
            hidden=(32, 32), batch_size=256, harmonic_decay=False, fresh_optimizer=False, learning_rate=1e-3
        ),
    )
    state = disc.init(jax.random.PRNGKey(3))
    rng = np.random.default_rng(2)
    expert_x = jnp.asarray(rng.normal(size=(512, 3)), jnp.float32)
    learner_x = jnp.asarray(rng.normal(size=(512, 3)) + 1.5, jnp.float32)

    def gap(p):
        return float(
            disc.cost(p, expert_x[:, :2], expert_x[:, 2:]).mean()
            - disc.cost(p, learner_x[:, :2], learner_x[:, 2:]).mean()
        )

    start = gap(state.params)
    for i in range(50):
        state, _ = disc.update(state, expert_x, learner_x, jax.random.PRNGKey(i))
    assert gap(state.params) < start - 0.3  # cost goes down on expert pairs, up on learner pairs


def test_oadam_matches_reference_formula():
    tx = oadam(0.1)
    params = jnp.zeros(3)
    g1, g2 = jnp.array([0.3, -5.0, 1e-3]), jnp.array([0.1, 0.1, -0.2])
    state = tx.init(params)
    u1, state = tx.update(g1, state)
    np.testing.assert_allclose(u1, -0.2 * np.sign(g1), rtol=1e-3)
    u2, _ = tx.update(g2, state)
    m1, v1 = 0.1 * g1, 0.001 * g1**2
    m2, v2 = 0.9 * m1 + 0.1 * g2, 0.999 * v1 + 0.001 * g2**2
    s2 = 0.1 * np.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    np.testing.assert_allclose(u2, s2 * (m1 / (np.sqrt(v1) + 1e-8) - 2 * m2 / (np.sqrt(v2) + 1e-8)), rtol=1e-4)
    assert not np.allclose(
        u1,
        optax.optimistic_adam_v2(0.1, nesterov=False).update(
            g1, optax.optimistic_adam_v2(0.1, nesterov=False).init(params), params
        )[0],
    )


def test_initialisation_is_the_references():
    """Guards the reference's initialisation (spec §2): orthogonal weights with gain 1 and PyTorch's
    default biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Under sign steps it persists through a run
    (benchmarks/disc_init.py: the input-gradient norm starts near 0.12 instead of 0.49 with LeCun
    weights and zero biases, hyirl 0.2.0's, still available as ``init="lecun"``)."""
    disc = Discriminator(11, 3, DiscriminatorConfig(ensemble_size=2))
    layers = disc.init(jax.random.PRNGKey(0)).params["params"]["VmapMLP_0"]
    for member in range(2):
        for name, fan_in in (("Dense_0", 14), ("Dense_1", 256), ("Dense_2", 256)):
            kernel = np.asarray(layers[name]["kernel"][member], np.float64)
            bias = np.asarray(layers[name]["bias"][member])
            small = min(kernel.shape)
            gram = kernel.T @ kernel if kernel.shape[0] >= kernel.shape[1] else kernel @ kernel.T
            np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)  # orthonormal columns or rows
            assert np.all(np.abs(bias) <= fan_in**-0.5) and np.all(bias != 0)
            assert len(bias) == 1 or np.std(bias) > 0.4 * fan_in**-0.5  # spread as a uniform one is
    lecun = Discriminator(11, 3, DiscriminatorConfig(init="lecun")).init(jax.random.PRNGKey(0)).params
    assert not np.any(np.asarray(lecun["params"]["VmapMLP_0"]["Dense_0"]["bias"]))


def test_hypers_seven_member_ensemble_initialises_on_hopper_and_ant_sizes():
    """Guards against the deadlock of hyirl 0.6.0: jitted, the orthogonal initialisation of a 7-member
    ensemble (HyPER's) put two batched LAPACK QRs in one program, and jaxlib 0.10 hung on them for
    ever on a 2-vCPU machine, so HyPER on Hopper or Ant never took its first step. Run in a
    subprocess with a time limit, so that a hang fails instead of stalling the suite."""
    script = (
        "import jax; from hyirl.discriminator import Discriminator, DiscriminatorConfig\n"
        "for obs, act in ((11, 3), (27, 8)):\n"
        "    disc = Discriminator(obs, act, DiscriminatorConfig(ensemble_size=7))\n"
        "    jax.block_until_ready(disc.init(jax.random.PRNGKey(0)))\n"
        "print('initialised')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert done.stdout.strip() == "initialised", done.stderr[-2000:]


def test_padded_learner_pairs_give_the_same_update_and_one_compilation():
    """HyPER's discriminator update takes a fixed number of learner rows and draws from the newest
    ``num_learner`` only, so a run's growing buffer compiles the update once. Guards that the padding
    changes nothing: the update equals the one on exactly the newest rows. Fails if the pad rows (here
    zeros, far from the real ones) are drawn, or if the count is not passed."""
    from hyirl import buffers

    rng = np.random.default_rng(0)
    disc = Discriminator(3, 1, DiscriminatorConfig(hidden=(16,), batch_size=64))
    expert = jnp.asarray(rng.normal(size=(500, 4)), jnp.float32)
    rows = rng.normal(size=(70, 3)) + 5.0
    for count in (30, 70):
        buf = buffers.from_arrays(obs=rows[:count], action=np.ones((count, 1)), next_obs=rows[:count],
                                  reward=np.zeros(count), terminal=np.zeros(count))  # fmt: skip
        buf = buffers.resize(buf, 1000)
        state, key = disc.init(jax.random.PRNGKey(1)), jax.random.PRNGKey(2)
        exact, _ = disc.update(jax.tree.map(jnp.copy, state), expert, buffers.recent_pairs(buf, count), key)
        padded_rows = buffers.recent_pairs(buf, count, rows=200)
        padded, _ = disc.update(state, expert, padded_rows, key, num_learner=count)
        for a, b in zip(jax.tree.leaves(exact.params), jax.tree.leaves(padded.params)):
            np.testing.assert_array_equal(a, b)
    assert disc.update._cache_size() == 3  # the two exact shapes, and one padded shape for both counts


def _shift_cost(params, c):
    """The same ensemble with every member's cost f raised by ``c`` (its output bias)."""
    members = params["params"]["VmapMLP_0"]
    last = sorted(members)[-1]
    shifted = {**members, last: {**members[last], "bias": members[last]["bias"] + c}}
    return {"params": {**params["params"], "VmapMLP_0": shifted}}


@pytest.mark.parametrize("absorbing", [True, False])
def test_absorbing_states_make_the_best_policy_independent_of_the_costs_level(absorbing):
    """Guards ``disc.absorbing``: moment matching fixes f only up to a constant, and with terminal
    steps that constant decided whether ending an episode pays (the Ant seeds that learnt to fall).
    With absorbing states, raising f by c lowers every TD target by exactly c / (1 - gamma) once the
    values are lowered by the same amount, so the Bellman backup, and the best policy, does not see c.
    Without them a terminal step's target moves by c only: the case the option exists for. Broken by
    hand (the absorbing value left out of the reward), the absorbing case failed."""
    gamma, c = 0.98, 2.5
    disc = Discriminator(4, 2, DiscriminatorConfig(hidden=(16,), ensemble_size=3, absorbing=absorbing))
    params = disc.init(jax.random.PRNGKey(0)).params
    rng = np.random.default_rng(0)
    batch = dict(
        obs=jnp.asarray(rng.normal(size=(64, 4)), jnp.float32),
        action=jnp.asarray(rng.uniform(-1, 1, (64, 2)), jnp.float32),
        terminal=jnp.asarray(np.arange(64) % 4 == 0, jnp.float32),
    )
    next_value = jnp.asarray(rng.normal(size=64), jnp.float32)
    reward = disc.reward_fn(gamma)

    def targets(p, value):
        return reward(p, batch) + gamma * (1.0 - batch["terminal"]) * value

    moved = targets(_shift_cost(params, c), next_value - c / (1 - gamma)) - targets(params, next_value)
    expected = np.full(64, -c / (1 - gamma))
    if absorbing:
        np.testing.assert_allclose(moved, expected, rtol=1e-4)
    else:  # the time-limit-free steps agree, the terminal ones do not
        np.testing.assert_allclose(moved[batch["terminal"] == 0], expected[batch["terminal"] == 0], rtol=1e-4)
        np.testing.assert_allclose(moved[batch["terminal"] == 1], -c, rtol=1e-4)


def test_absorbing_rows_are_marked_apart_from_real_pairs():
    """Guards the discriminator's input with ``disc.absorbing``: real pairs carry indicator 0, the
    absorbing row is the zero pair with indicator 1, and a real pair's cost is the same whether asked
    through ``cost`` or through its row (what the update trains is what the reward reads)."""
    disc = Discriminator(3, 2, DiscriminatorConfig(hidden=(8,), absorbing=True))
    obs, action = jnp.ones((5, 3)), -jnp.ones((5, 2))
    rows = disc.rows(obs, action)
    assert rows.shape == (5, 6) and bool((rows[:, -1] == 0).all())
    np.testing.assert_array_equal(disc.absorbing_row(), [0, 0, 0, 0, 0, 1])
    params = disc.init(jax.random.PRNGKey(1)).params
    np.testing.assert_allclose(disc.cost(params, obs, action), disc._f(params, rows))
    assert Discriminator(3, 2, DiscriminatorConfig(hidden=(8,))).rows(obs, action).shape == (5, 5)
    _, aux = disc.loss(params, rows, rows, jax.random.PRNGKey(2))  # logged: the absorbing state's -f
    np.testing.assert_allclose(aux["absorbing_reward"], -disc._f(params, disc.absorbing_row()[None])[0])
