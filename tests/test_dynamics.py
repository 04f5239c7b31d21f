import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hyirl import buffers
from hyirl.dynamics import Dynamics, DynamicsConfig
from hyirl.envs import get_task, make_env, model_termination
from hyirl.sac import numpy_layers

A = np.array([[0.9, 0.2], [-0.1, 0.8]])
B = np.array([[0.5], [-0.3]])


def _linear_data(n, seed=0):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, 2))
    action = rng.uniform(-1, 1, size=(n, 1))
    next_obs = obs @ A.T + action @ B.T
    return buffers.from_arrays(obs=obs, action=action, next_obs=next_obs, reward=np.zeros(n), terminal=np.zeros(n))


def test_ensemble_learns_a_linear_system():
    data = _linear_data(3000)
    cfg = DynamicsConfig(members=3, elites=2, hidden=(64, 64), learning_rate=3e-3, max_epochs=40, patience=5)
    model = Dynamics(2, 1, cfg)
    state = model.init(jax.random.PRNGKey(0))
    test = _linear_data(512, seed=1)
    before = np.mean(
        (np.asarray(model.sample_next(state, test.obs, test.action, jax.random.PRNGKey(2))) - test.next_obs) ** 2
    )
    seen = []  # what a long fit's progress bar shows: epochs so far, the members' mean best held-out error
    show = lambda fit: seen.append((fit["epochs"], float(fit["best_mse"].mean())))  # noqa: E731
    state, info = model.fit(state, data, np.random.default_rng(0), on_epoch=show)
    pred = np.asarray(model.sample_next(state, test.obs, test.action, jax.random.PRNGKey(2)))
    after = np.mean((pred - np.asarray(test.next_obs)) ** 2)
    # targets have variance ~1; the fit must bring the sampled one-step error (incl. the model's noise) near 0
    assert after < 0.01 < before
    assert info["model_val_mse"] < 0.005
    epochs, errors = zip(*seen)
    assert list(epochs) == list(range(1, info["model_epochs"] + 1)) and errors[-1] < 0.005
    assert all(later <= earlier for earlier, later in zip(errors, errors[1:]))


def test_a_fit_killed_after_an_epoch_goes_on_exactly_from_its_progress():
    """Guards the resumable pretraining (hours for AntMaze's 1M rows on a CPU): a fit stopped after its
    second epoch and given that epoch's progress trains only the epochs left and ends with the
    uninterrupted fit's weights, elites and epoch count, bit for bit."""
    from hyirl import checkpoint

    data, cfg = _linear_data(2000), DynamicsConfig(members=3, elites=2, hidden=(32, 32), max_epochs=6, patience=3)
    model = Dynamics(2, 1, cfg)
    whole, info = model.fit(model.init(jax.random.PRNGKey(0)), data, np.random.default_rng(0))

    class Killed(Exception):
        pass

    def kill_after_two(fit):
        if fit["epochs"] == 2:
            saved.update(checkpoint.nest({k: np.array(v) for k, v in checkpoint.flatten(fit).items()}))
            raise Killed

    saved = {}
    with pytest.raises(Killed):
        model.fit(model.init(jax.random.PRNGKey(0)), data, np.random.default_rng(0), on_epoch=kill_after_two)
    template = model.init(jax.random.PRNGKey(0))
    progress = checkpoint.unflatten(model.fit_progress_like(template), checkpoint.flatten(saved))
    after = []
    resumed, resumed_info = model.fit(
        template, data, np.random.default_rng(0), resume=progress, on_epoch=lambda fit: after.append(fit["epochs"])
    )
    assert after == list(range(3, info["model_epochs"] + 1)) and resumed_info == info  # only the epochs left
    for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(resumed)):
        assert np.array_equal(a, b)


def test_elites_are_the_members_with_lowest_validation_error():
    data = _linear_data(1000)
    model = Dynamics(2, 1, DynamicsConfig(members=4, elites=2, hidden=(32,), learning_rate=3e-3, max_epochs=20))
    state, _ = model.fit(model.init(jax.random.PRNGKey(0)), data, np.random.default_rng(0))
    # Spoil members 0 and 2, then refit without training (max_epochs=0): only 1 and 3 can be elites.
    spoil = jnp.array([10.0, 0.0, 10.0, 0.0])
    noisy = jax.tree.map(lambda p: p + spoil.reshape((-1,) + (1,) * (p.ndim - 1)), state.params)
    frozen = Dynamics(2, 1, DynamicsConfig(members=4, elites=2, hidden=(32,), max_epochs=0))
    state, _ = frozen.fit(state.replace(params=noisy), data, np.random.default_rng(1))
    assert sorted(np.asarray(state.elites).tolist()) == [1, 3]
    assert np.all(np.asarray(state.val_mse)[[1, 3]] < np.asarray(state.val_mse)[[0, 2]].min())


def test_a_member_reads_the_mean_then_the_log_variance_from_one_output_layer():
    """Guards the output layer's layout, which checkpoints and the shipped AntMaze model hold: one
    ``Dense_<depth>`` kernel of 2 x obs columns, the first half the mean of delta obs, the second the
    log-variance before its soft bounds. Failed by hand with the halves swapped."""
    model = Dynamics(3, 1, DynamicsConfig(members=2, elites=1, hidden=(8, 8), min_logvar=-5.0, max_logvar=0.5))
    state = model.init(jax.random.PRNGKey(0))
    member = jax.tree.map(lambda p: p[1], state.params)
    assert sorted(member["params"]) == ["Dense_0", "Dense_1", "Dense_2"]
    *hidden, (kernel, bias) = numpy_layers(member["params"])
    assert kernel.shape == (8, 6)
    x = np.random.default_rng(0).normal(size=(5, 4))
    h = x
    for w, b in hidden:
        z = h @ w + b
        h = z / (1 + np.exp(-z))  # SiLU
    out = h @ kernel + bias
    softplus = lambda z: np.logaddexp(0, z)  # noqa: E731
    logvar = 0.5 - softplus(0.5 - out[:, 3:])
    logvar = -5.0 + softplus(logvar + 5.0)
    mean, got = model.member.apply(member, jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(mean, out[:, :3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, logvar, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cap,expected_steps", [(None, 2 * 10), (3, 2 * 3)])
def test_max_epoch_steps_bounds_the_adam_steps_of_a_fit(cap, expected_steps):
    # 3,000 rows, 600 held out: 2,400 training rows are 10 batches of 256 per epoch, 2 epochs per call
    cfg = DynamicsConfig(members=2, elites=1, hidden=(16,), max_epochs=2, patience=5, max_epoch_steps=cap)
    model = Dynamics(2, 1, cfg)
    state, info = model.fit(model.init(jax.random.PRNGKey(0)), _linear_data(3000), np.random.default_rng(0))
    assert info["model_epochs"] == 2
    assert int(optax.tree_utils.tree_get(state.opt_state, "count")) == expected_steps


@pytest.mark.parametrize(
    "name,truncated", [("hopper", False), ("walker2d", False), ("ant", False), ("ant", True), ("humanoid", True)]
)
def test_model_termination_agrees_with_the_real_env(name, truncated):
    env = make_env(name, p_tremble=0.0, truncated_obs=truncated)
    done_fn = model_termination(get_task(name))
    rng = np.random.default_rng(0)
    next_obs, terminated = [], []
    for episode in range(20):
        env.reset(seed=episode)
        for _ in range(300):
            obs, _, term, trunc, _ = env.step(rng.uniform(-1, 1, env.action_space.shape) * (1 + episode % 3))
            next_obs.append(obs)
            terminated.append(term)
            if term or trunc:
                break
    predicted = np.asarray(done_fn(jnp.asarray(np.array(next_obs), jnp.float32)))
    np.testing.assert_array_equal(predicted, np.array(terminated))
    if name != "ant":  # random actions rarely flip the ant
        assert np.sum(terminated) >= 10


def test_spatial_validation_holds_out_the_same_share_of_every_region():
    """The spatially stratified split (spec §5.8) holds out floor(20 %) of the points of every grid
    cell, so a sparsely visited corridor is validated as well as a crowded one; a plain random 20 %
    would take ~0.8 points, not exactly 2, of the sparse cluster of 10 every time."""
    from hyirl.dynamics import spatially_stratified

    rng = np.random.default_rng(0)
    crowded = rng.uniform(0.0, 0.01, (1000, 2))
    sparse = 30.0 + rng.uniform(0.0, 0.01, (10, 2))
    xy = np.concatenate([crowded, sparse, [[15.0, 15.0]] * 4])  # and 4 points in one middle cell
    for seed in range(5):
        held = spatially_stratified(xy, 0.2, np.random.default_rng(seed), bins=50)
        assert held[:1000].sum() == 200 and held[1000:1010].sum() == 2 and held[1010:].sum() == 0
    first, second = (spatially_stratified(xy, 0.2, np.random.default_rng(s)) for s in (1, 2))
    assert not np.array_equal(first, second)  # random within each cell


def test_a_spatial_split_that_holds_out_nothing_is_refused():
    """Data too sparse for the 50 x 50 grid (every cell under 5 points) would leave no held-out rows,
    and the fit would pick its elites on a NaN error; it stops with a clear error instead."""
    cfg = DynamicsConfig(members=2, elites=1, hidden=(8,), max_epochs=1, validation_split="spatial")
    model = Dynamics(2, 1, cfg)
    with pytest.raises(ValueError, match="held out no rows"):
        model.fit(model.init(jax.random.PRNGKey(0)), _linear_data(100), np.random.default_rng(0))


def test_cosine_model_learning_rate_is_periodic_over_adam_steps():
    """Walker2d's paper preset anneals the model's learning rate with torch's periodic cosine
    (T_max 30,000 Adam steps, spec §5.1): lr0 at 0, half at T/2, ~0 at T, back to lr0 at 2T; and the
    optimiser's step count carries over from one fit to the next, so the schedule spans the run."""
    from hyirl import buffers
    from hyirl.dynamics import Dynamics, DynamicsConfig, model_learning_rate
    from hyirl.presets import HYPER_PRESETS

    assert HYPER_PRESETS["paper"]["walker2d"]["model"]["cosine_lr_period"] == 30_000
    cfg = DynamicsConfig(learning_rate=3e-4, cosine_lr_period=30_000)
    lr = model_learning_rate(cfg)
    for step, expected in ((0, 3e-4), (15_000, 1.5e-4), (30_000, 1e-9), (45_000, 1.5e-4), (60_000, 3e-4)):
        assert float(lr(step)) == pytest.approx(expected, rel=1e-4, abs=1e-12)
    assert model_learning_rate(DynamicsConfig()) == 3e-4

    rng = np.random.default_rng(0)
    obs, act = rng.normal(size=(1000, 3)), rng.uniform(-1, 1, (1000, 1))
    data = buffers.from_arrays(obs=obs, action=act, next_obs=obs + act, reward=np.zeros(1000), terminal=np.zeros(1000))
    small = DynamicsConfig(members=2, elites=1, hidden=(8,), cosine_lr_period=50, max_epochs=1, max_epoch_steps=3)
    dyn = Dynamics(3, 1, small)
    state = dyn.init(jax.random.PRNGKey(0))
    counts = []
    for _ in range(2):
        state, _ = dyn.fit(state, data, rng)
        counts.append(int(jax.tree.leaves(state.opt_state)[0]))
    assert counts == [3, 6]
