"""The dynamics models fitted once on an offline dataset (AntMaze's HyPER): shipped, cached, fitted as
the reference's pretraining script."""

import dataclasses

import jax
import numpy as np
import pytest

from hyirl import buffers, checkpoint, pretraining
from hyirl.demos import generated_data_name
from hyirl.dynamics import Dynamics, DynamicsConfig
from hyirl.hyper import HyPERConfig
from hyirl.presets import build_config, hyper_preset


def _maze_like_rows() -> buffers.Buffer:
    """300 rows in four dense x, y cells (the first two observation numbers), so a spatial split holds rows out."""
    rng = np.random.default_rng(0)
    obs, action = rng.normal(size=(300, 3)), rng.uniform(-1, 1, size=(300, 2))
    obs[:, :2] = rng.integers(0, 2, size=(300, 2))
    return buffers.from_arrays(
        obs=obs, action=action, next_obs=obs + 0.1 * action[:, :1], reward=np.zeros(300), terminal=np.zeros(300)
    )


def test_a_shipped_pretrained_model_is_loaded_instead_of_fitted(tmp_path, monkeypatch):
    """Guards the shipped AntMaze models (the 1M-row pretraining costs hours of CPU): a model in
    ``shipped_models/`` under the name of the data and settings is returned as it is, and nothing is
    fitted or written to the cache. Fails if the shipped directory is not searched (the call then fits
    a new model, whose weights differ from the shifted shipped ones) or is searched under another name."""
    data = _maze_like_rows()
    cfg = DynamicsConfig(members=2, elites=1, hidden=(8,), first_fit_max_epochs=1)
    fitted, info = pretraining.pretrained_model(Dynamics(3, 2, cfg), data, cfg, patience=1, progress=False)
    assert info["cached"] == 0.0
    cache = tmp_path / "cache" / "models"
    (entry,) = cache.iterdir()
    shipped = fitted.replace(params=jax.tree.map(lambda p: p + 1.0, fitted.params))  # unlike any fit
    monkeypatch.setattr(pretraining, "SHIPPED_MODELS", tmp_path / "shipped")
    (tmp_path / "shipped").mkdir()
    checkpoint.save_npz(tmp_path / "shipped" / entry.name, checkpoint.flatten(shipped), dict(model_epochs=1))
    entry.unlink()
    loaded, info = pretraining.pretrained_model(Dynamics(3, 2, cfg), data, cfg, patience=1, progress=False)
    assert info["cached"] == 2.0 and not any(cache.iterdir())
    for a, b in zip(jax.tree.leaves(shipped), jax.tree.leaves(loaded)):
        assert np.array_equal(a, b)


def test_a_datasets_recipe_finds_its_fit_when_made_again_on_another_machine():
    """Guards the shipped AntMaze fit on machines whose CPU makes the dataset's rows differently (the
    rows depend on the floating-point paths of the CPU: docs/antmaze.md): with the dataset's recipe
    name the fit is found for rows that differ in the last bit, and says so (same_rows 0); without a
    name the rows themselves are the key, so other rows get a fit of their own. Broken by hand (keyed
    by the rows even with a name): the second call fits again, and this fails."""
    data = _maze_like_rows()
    other_machine = dataclasses.replace(data, next_obs=np.nextafter(data.next_obs, np.inf))
    cfg = DynamicsConfig(members=2, elites=1, hidden=(8,), first_fit_max_epochs=1)

    def fit(rows, name):
        return pretraining.pretrained_model(Dynamics(3, 2, cfg), rows, cfg, patience=1, data_name=name, progress=False)

    fitted, info = fit(data, "recipe-v3")
    assert (info["cached"], info["same_rows"]) == (0.0, 1.0)
    assert fit(data, "recipe-v3")[1]["same_rows"] == 1.0
    found, info = fit(other_machine, "recipe-v3")
    assert (info["cached"], info["same_rows"]) == (1.0, 0.0)
    for a, b in zip(jax.tree.leaves(fitted.params), jax.tree.leaves(found.params)):
        assert np.array_equal(a, b)
    assert fit(other_machine, None)[1]["cached"] == 0.0


@pytest.mark.parametrize("env", ["antmaze-large-diverse", "antmaze-large-play"])
def test_each_shipped_antmaze_fit_carries_the_name_of_todays_recipe_and_settings(env):
    """Guards the shipped diverse and play fits against being orphaned (hours of CPU on every fresh
    machine): each file must be named by the key that today's dataset recipe (generator version,
    data-making ant) and HyPER's AntMaze pretraining settings give, as a run computes it. 0.17.0 changed
    the rows under the old row-digest key and no test noticed. Fails if any of these changes and the
    shipped files are not renamed (checked by hand: generator version 2 instead of 3)."""
    cfg = build_config(HyPERConfig, hyper_preset(env, "paper"), {}, env=env)
    name = generated_data_name(cfg)
    key = pretraining.model_key(pretraining.fit_settings(cfg.model, cfg.pretrain_patience), name.encode())
    assert (pretraining.SHIPPED_MODELS / f"{key}.npz").is_file()


def test_pretraining_fits_as_the_reference_script_and_hands_the_run_a_fresh_optimiser(tmp_path, monkeypatch):
    """Guards the AntMaze pretraining's settings (the reference's pretrain_antmaze.py, docs/hyper.md):
    a constant learning rate although the run's refits anneal theirs, the given patience instead of the
    run's 10, and the weights handed to the run with its own optimiser state at step 0 (the reference's
    loop builds a new trainer; the cache entry keeps no optimiser state). Fails if the run's model
    settings are used for the fit (schedule or patience) or if the fit's Adam state is handed on or
    kept."""
    data = _maze_like_rows()
    run_cfg = DynamicsConfig(members=2, elites=1, hidden=(8,), first_fit_max_epochs=3, cosine_lr_period=7, patience=10)
    run_cfg = dataclasses.replace(run_cfg, learning_rate=1e-2)  # fast enough to improve in one Adam step
    fits = []
    real_fit = Dynamics.fit
    monkeypatch.setattr(Dynamics, "fit", lambda self, *a, **k: fits.append(self.cfg) or real_fit(self, *a, **k))
    run_dynamics = Dynamics(3, 2, run_cfg)
    state, info = pretraining.pretrained_model(run_dynamics, data, run_cfg, patience=1, progress=False)
    (fit_cfg,) = fits
    assert fit_cfg.cosine_lr_period is None and fit_cfg.patience == 1 and info["model_epochs"] >= 1
    fresh = run_dynamics.init(jax.random.PRNGKey(0)).opt_state
    assert jax.tree.structure(state.opt_state) == jax.tree.structure(fresh)
    for a, b in zip(jax.tree.leaves(state.opt_state), jax.tree.leaves(fresh)):
        assert np.array_equal(a, b)
    init = run_dynamics.init(jax.random.PRNGKey(0)).params
    assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(init)))
    (entry,) = (tmp_path / "cache" / "models").iterdir()  # kept (and shipped) without the fit's Adam state
    assert "elites" in np.load(entry).files and not [k for k in np.load(entry).files if k.startswith("opt_state")]
