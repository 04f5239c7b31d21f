import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hyirl import buffers, checkpoint
from hyirl.discriminator import DiscriminatorConfig
from hyirl.dynamics import Dynamics, DynamicsConfig
from hyirl.envs import make_env
from hyirl.errors import HyirlError
from hyirl.hyper import (
    HyPERConfig,
    _HyPERLoop,
    load_hyper_run,
    train_hyper,
)
from hyirl.learner import evaluate
from hyirl.model_rollouts import make_model_rollout
from hyirl.presets import build_config, hyper_preset
from hyirl.runs import StepProgress
from hyirl.sac import NumpyPolicy, SACConfig
from hyirl.selection import average_in

TINY_MODEL = DynamicsConfig(members=3, elites=2, hidden=(32, 32), max_epochs=2, patience=2)


def _cfg(demos, **kw):
    base = dict(
        env="pendulum",
        steps=800,
        eval_every=400,
        eval_episodes=1,
        demos_file=str(demos),
        exploration_steps=200,
        epoch_length=200,
        act_chunk=50,
        model_every=100,
        rollouts_per_step=4,
        rollout_schedule=(1, 3, 1, 2),
        updates_per_step=2,
        disc_every=200,
        disc_pairs=400,
        real_capacity=3000,
        sac=SACConfig(hidden=(32, 32)),
        model=TINY_MODEL,
        disc=DiscriminatorConfig(hidden=(32, 32), batch_size=256, ensemble_size=2),
        checkpoint_every=400,
    )
    return HyPERConfig(**{**base, **kw})


@pytest.mark.parametrize("penalty", [0.0, 0.5])
def test_sac_reads_rewards_of_the_current_discriminator_and_only_surviving_rows_are_recomputed(
    pendulum_demos, tmp_path, penalty
):
    """Guards the reward cache: SAC reads the model transitions' stored rewards, so whenever it samples
    they must equal -f of the current discriminator (plus each transition's own uncertainty penalty),
    although the recomputation after a discriminator update is deferred past the next model event.
    Fails with the deferred recomputation dropped, with it one row short, and with the old rows'
    penalties lost; the stale count fails if the rows a model event overwrites are not subtracted."""
    loop = _HyPERLoop(_cfg(pendulum_demos, uncertainty_penalty=penalty), tmp_path / "run", resume=False)
    # real states to start rollouts from and to train the discriminator on
    loop.learner.buffer = buffers.insert(loop.learner.buffer, loop.learner.rollout_chunk(200))
    penalties = np.zeros(loop.model_buffer.capacity)  # by buffer position

    def learned(buffer):
        return np.asarray(loop.disc.reward(loop.disc_state.params, buffer.batch(jnp.arange(buffer.capacity))))

    def refit():  # records the penalties of the rows the event adds (their rewards are fresh)
        ptr = int(loop.model_buffer.ptr)
        loop.refit_model_and_roll_out()
        added = (ptr + np.arange(loop.info["rollout_rows"])) % loop.model_buffer.capacity
        penalties[added] = (np.asarray(loop.model_buffer.reward) - learned(loop.model_buffer))[added]

    read, train_chunk = [], loop.agent.train_chunk

    def reading_train_chunk(state, buffer, *args, **kw):  # keeps the buffer SAC samples from
        read.append(buffer)
        return train_chunk(state, buffer, *args, **kw)

    loop.agent.train_chunk = reading_train_chunk
    refit(), refit()  # the buffer is full: the next event overwrites its older half
    assert (np.abs(penalties).min() > 1e-3) == bool(penalty)
    for _ in range(2):
        before = learned(loop.model_buffer)
        loop.update_discriminator()
        refit()
        size = int(loop.model_buffer.size)
        assert loop.counters["stale_rows"] == size - loop.info["rollout_rows"]
        loop.update_policy()
        buffer = read[-1]
        live = (int(buffer.ptr) - 1 - np.arange(size)) % buffer.capacity
        now = learned(buffer)
        assert np.abs(now - before)[live].max() > 1e-3  # the update changed the reward ...
        np.testing.assert_allclose(np.asarray(buffer.reward)[live], (now + penalties)[live], atol=1e-4)  # ... and SAC's


def test_absorbing_states_reach_hypers_discriminator_rows_and_stored_rewards(pendulum_demos, tmp_path):
    """Guards ``disc.absorbing`` in HyPER: each terminal real transition adds one absorbing row after the
    discriminator's learner rows, and a terminal model transition stores -f plus the absorbing state's
    value, when generated and when recomputed after a discriminator update. Broken by hand, each failed:
    the loop labelling with plain -f; the relabel reading no terminal flags; no absorbing rows."""
    disc = DiscriminatorConfig(hidden=(32, 32), batch_size=256, ensemble_size=2, absorbing=True)
    loop = _HyPERLoop(_cfg(pendulum_demos, disc=disc), tmp_path / "run", resume=False)
    chunk = loop.learner.rollout_chunk(200)
    chunk["terminal"] = chunk["terminal"].at[jnp.array([49, 99, 149])].set(1.0)  # Pendulum never ends: by hand
    loop.learner.buffer = buffers.insert(loop.learner.buffer, chunk)
    seen, update = [], loop.disc.update

    def seeing_update(state, expert_x, learner_x, key, num_learner=None):  # keeps the learner rows it gets
        seen.append((np.asarray(learner_x), num_learner))
        return update(state, expert_x, learner_x, key, num_learner=num_learner)

    loop.disc.update = seeing_update
    # model rollouts that end (Pendulum's model never does): cos(theta) > 0.5 is terminal
    loop.rollout = make_model_rollout(loop.agent, loop.dynamics, lambda obs: obs[..., 0] > 0.5)
    reward_fn, plain = loop.disc.reward_fn(loop.cfg.sac.gamma), loop.disc.reward

    def stored_and_expected():
        batch = loop.model_buffer.batch(jnp.arange(int(loop.model_buffer.size)))
        params = loop.disc_state.params
        return (
            batch,
            np.asarray(batch["reward"]),
            np.asarray(reward_fn(params, batch)),
            np.asarray(plain(params, batch)),
        )

    loop.refit_model_and_roll_out()
    batch, stored, expected, without = stored_and_expected()
    terminal = np.asarray(batch["terminal"]) > 0
    assert terminal.any() and not np.allclose(expected[terminal], without[terminal])
    np.testing.assert_allclose(stored, expected, rtol=1e-5, atol=1e-5)
    loop.update_discriminator()
    ((rows, live),) = seen
    assert live == 203 and bool((rows[:200, -1] == 0).all())
    np.testing.assert_array_equal(rows[200:203], np.tile(loop.disc.absorbing_row(), (3, 1)))
    loop._relabel_stale_rows()
    _, stored, expected, _ = stored_and_expected()
    np.testing.assert_allclose(stored, expected, rtol=1e-5, atol=1e-5)


def test_loop_runs_counts_every_step_and_resumes_exactly(pendulum_demos, tmp_path):
    straight = train_hyper(_cfg(pendulum_demos), tmp_path / "straight", progress=False)
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [r["env_steps"] for r in records] == [400, 800]
    assert all(np.isfinite(r["eval_return_mean"]) and np.isfinite(r["disc_loss"]) for r in records)
    assert records[-1]["rollout_length"] == 2 and records[-1]["model_buffer_size"] > 0
    assert json.loads((straight / "done.json").read_text())["env_steps"] == 800

    # Weight averages are only evaluated: the latest weights score as in the plain run, and a resumed
    # run (averages restored from the checkpoint) logs exactly what an uninterrupted one does.
    averaged = train_hyper(_cfg(pendulum_demos, policy_averages=(300, 100)), tmp_path / "averaged", progress=False)
    averaged_records = [json.loads(line) for line in (averaged / "metrics.jsonl").read_text().splitlines()]
    assert [r["eval_return_latest"] for r in averaged_records] == [r["eval_return_mean"] for r in records]
    assert all(r["eval_return_mean"] == r["eval_return_ema300"] for r in averaged_records)
    split = tmp_path / "split"
    train_hyper(_cfg(pendulum_demos, steps=400, policy_averages=(300, 100)), split, progress=False)
    train_hyper(_cfg(pendulum_demos, policy_averages=(300, 100)), split, resume=True, progress=False)
    assert (split / "metrics.jsonl").read_text() == (averaged / "metrics.jsonl").read_text()


def test_the_progress_line_counts_a_model_fits_epochs(pendulum_demos, tmp_path, monkeypatch):
    """Guards the progress of HyPER's model fits, which advance no real step (the paper preset's first
    fit runs for an hour on a CPU): the line shows each epoch of each fit and its held-out error while
    the fit runs, and drops them once the loop acts again."""
    notes, show = [], StepProgress.note
    monkeypatch.setattr(StepProgress, "note", lambda bar, text: notes.append(text) or show(bar, text))
    train_hyper(_cfg(pendulum_demos, steps=400), tmp_path / "r", progress=False)
    fits = "|".join(notes).split("||")  # each fit's notes, each ended by a cleared note
    assert len(fits) == 2 and notes[-1] == ""  # fits at 200 and 300 real steps
    for fit in fits:
        epochs = [int(note.split("epoch ")[1].split(",")[0]) for note in fit.rstrip("|").split("|")]
        assert epochs == list(range(1, len(epochs) + 1)) and "held-out mse " in fit


@pytest.fixture(scope="module")
def selection_run(pendulum_demos, tmp_path_factory):
    """A finished run with snapshot selection (its deployed actor is not its latest): config and directory."""
    cfg = _cfg(pendulum_demos, select_epochs=2, p_tremble=0.0)
    return cfg, train_hyper(cfg, tmp_path_factory.mktemp("selection") / "straight", progress=False)


@pytest.mark.xdist_group("selection_run")  # one worker trains the shared run once
def test_selection_acts_with_one_snapshot_per_epoch_and_resumes_exactly(selection_run, tmp_path):
    cfg, straight = selection_run
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [r["env_steps"] for r in records] == [400, 800]
    assert all(np.isfinite(r["eval_return_selected"]) and np.isfinite(r["eval_return_latest"]) for r in records)
    assert all(r["eval_return_mean"] == r["eval_return_selected"] for r in records)
    assert {r["selected_age"] for r in records} <= {200.0, 400.0}  # one of the last two finished epochs

    # The last epoch (real steps 600-800) was driven by its snapshot alone, not by the updated actor.
    arrays, _ = checkpoint.load_npz(straight / "checkpoints" / "learner.npz")
    start = arrays["snapshots/start"]
    slot = int(start.argmax())
    assert start[slot] == 600
    part = lambda prefix: checkpoint.nest({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})  # noqa: E731
    snapshot, latest = part("snapshots/params/"), part("state/actor_params/")
    obs, actions = arrays["buffer/obs"][-200:], arrays["buffer/action"][-200:]
    acting = NumpyPolicy(jax.tree.map(lambda ring: ring[slot], snapshot))
    np.testing.assert_allclose(acting(obs), actions, atol=1e-5)
    assert not np.allclose(NumpyPolicy(latest)(obs), actions, atol=1e-3)
    # and the logged latest score is the latest weights', not the acting snapshot's
    latest_return = evaluate(NumpyPolicy(latest), make_env("pendulum", p_tremble=0.0), 1, seed=1_000_000)
    assert records[-1]["eval_return_latest"] == pytest.approx(float(latest_return[0]))

    # Stopped mid-epoch (step 500) and resumed: the same acting snapshot, the same records.
    split = tmp_path / "split"
    train_hyper(dataclasses.replace(cfg, steps=500), split, progress=False)
    train_hyper(cfg, split, resume=True, progress=False)
    resumed = [json.loads(line) for line in (split / "metrics.jsonl").read_text().splitlines()]
    assert [r for r in resumed if r["env_steps"] != 500] == records


@pytest.mark.xdist_group("selection_run")  # one worker trains the shared run once
def test_a_saved_run_loads_as_its_last_evaluation_saw_it_and_is_left_unchanged(selection_run, tmp_path):
    """Guards ``load_hyper_run``, the analysis scripts' way into a run: the loaded deployed actor (a
    selected snapshot here) and latest actor score exactly what the run logged at its last evaluation,
    the ensemble is the fitted one (its elites' held-out error as logged), and no file changes; a kept
    copy of a checkpoint passed as ``checkpoint`` is read in place of the run's own (fails if ignored)."""
    cfg, run = selection_run
    files = lambda: {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}  # noqa: E731
    before = files()
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    saved = load_hyper_run(run)
    assert saved.learner.env_steps == last["env_steps"] == 800
    assert last["eval_return_mean"] != last["eval_return_latest"]  # so the two actors below can be told apart
    env = make_env("pendulum", p_tremble=0.0)
    for params, logged in [
        (saved.deployed_params, "eval_return_mean"),
        (saved.learner.state.actor_params, "eval_return_latest"),
    ]:
        returns = evaluate(NumpyPolicy(params), env, cfg.eval_episodes, seed=1_000_000 + cfg.seed * 1000)
        assert float(returns.mean()) == pytest.approx(last[logged])
    elites = np.asarray(saved.model_state.elites)
    assert float(np.asarray(saved.model_state.val_mse)[elites].mean()) == pytest.approx(last["model_val_mse"])
    assert files() == before
    with pytest.raises(HyirlError, match="holds no HyPER run"):
        load_hyper_run(tmp_path)
    # A kept copy of a checkpoint is read in place of the run's own, here gone from a copy of the run.
    kept, bare = tmp_path / "kept.npz", tmp_path / "bare"
    shutil.copy(run / "checkpoints" / "learner.npz", kept)
    shutil.copytree(run, bare)
    (bare / "checkpoints" / "learner.npz").unlink()
    with pytest.raises(HyirlError, match="no HyPER checkpoint at"):
        load_hyper_run(bare)
    from_kept = load_hyper_run(bare, checkpoint=kept)
    assert from_kept.learner.env_steps == 800
    assert all(jax.tree.leaves(jax.tree.map(np.array_equal, from_kept.deployed_params, saved.deployed_params)))
    other = tmp_path / "mm"
    (other / "checkpoints").mkdir(parents=True)
    (other / "checkpoints" / "learner.npz").write_bytes(b"")
    (other / "config.json").write_text(json.dumps(dict(algo="mm", env="pendulum", train_every=128)))
    with pytest.raises(HyirlError, match="is a mm run, not a HyPER run"):
        load_hyper_run(other)


def test_antmaze_rollout_length_follows_loop_epochs_not_the_exploration():
    """Guards the rollout-length clock on AntMaze: the reference's schedule [20, 100] -> [1, 25] runs on
    loop epochs, after 10,000 exploration steps, so L is still 1 at the end of hyirl's 20th epoch
    (counting, as on MuJoCo, the first exploration epoch), 2 at its 24th and 25 at its 100th. Fails if
    the schedule runs on env_steps, exploration included (L 4 at the 24th), and MuJoCo's stays as it was."""
    maze = build_config(HyPERConfig, hyper_preset("antmaze-large-diverse", "paper"), {}, env="antmaze-large-diverse")
    assert maze.exploration_steps == 10_000
    assert maze.rollout_length(10_000 + 18_999) == 1 and maze.rollout_length(10_000 + 22_000) == 2
    assert maze.rollout_length(10_000 + 98_000) == 25
    hopper = build_config(HyPERConfig, hyper_preset("hopper", "paper"), {}, env="hopper")
    assert hopper.rollout_length(19_999) == 1 and hopper.rollout_length(23_000) == 2


def test_weight_average_closes_the_gap_by_the_time_constant():
    average = {"ema200": {"w": jnp.zeros(3)}, "ema50": {"w": jnp.zeros(3)}}
    target = {"w": jnp.ones(3)}
    for _ in range(4):  # 4 chunks of 50 real steps
        average = average_in(average, target, 50, (200, 50))
    np.testing.assert_allclose(average["ema200"]["w"], 1 - np.exp(-1.0), rtol=1e-5)
    np.testing.assert_allclose(average["ema50"]["w"], 1 - np.exp(-4.0), rtol=1e-5)


@pytest.mark.parametrize("preset", ["efficient", "paper"])
@pytest.mark.parametrize("env", ["hopper", "walker2d", "ant", "humanoid"])
def test_presets_build_valid_configs(env, preset):
    cfg = build_config(HyPERConfig, hyper_preset(env, preset), {}, env=env, preset=preset)
    assert cfg.rollout_length(cfg.steps - 1) <= 25
    assert cfg.rollout_length(0) == {"paper": 1, "efficient": 10}[preset]
    if preset == "paper":  # spec §6.2
        assert (cfg.model_every, cfg.rollouts_per_step, cfg.model.members, cfg.model.elites) == (125, 400, 7, 5)
        assert cfg.updates_per_step / cfg.update_every == {"hopper": 30, "ant": 30}.get(env, 10)
        assert (cfg.start_coin, cfg.learner_start_window, cfg.select_epochs) == ("event", None, 0)  # spec §10.9
    if env == "hopper":  # the reference's +1 nat (spec §3.5); the efficient preset uses SAC's usual -dim(A)
        assert cfg.sac.target_entropy == {"paper": 1.0, "efficient": None}[preset]
    # the reference's orthogonal f learns slowly at the efficient preset's budget (docs/hyper.md §15)
    assert cfg.disc.init == {"paper": "torch", "efficient": "lecun"}[preset]
    assert cfg.sac.init == {"paper": "xavier", "efficient": "lecun"}[preset]  # pytorch_sac's (spec §3.5)
    assert cfg.truncated_obs == (env in ("ant", "humanoid"))  # the paper's observations there (spec §7)


def test_invalid_config_fails_before_writing_anything(pendulum_demos, tmp_path):
    with pytest.raises(HyirlError, match="model_every=120 must be a multiple of act_chunk"):
        train_hyper(_cfg(pendulum_demos, model_every=120), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_hyper_on_antmaze_runs_td3bc_from_a_cached_pretrained_model(tmp_path, still_maze_ant):
    """AntMaze's HyPER from the CLI with the paper preset on tiny budgets: TD3-BC on hybrid batches,
    the model pretrained on the dataset before the loop and cached (a second request is served from
    the cache), rollouts from the dataset's sliding window; the run logs the success rate."""
    from hyirl.antmaze_data import DATASETS, generate_dataset
    from hyirl.cli import main
    from hyirl.demos import expert_buffer, load_demos, save_demos
    from hyirl.pretraining import pretrained_model

    rows, meta = generate_dataset(DATASETS["antmaze-large-play"], still_maze_ant, 2000, progress=False)
    demos = tmp_path / "play.npz"
    save_demos(demos, rows, meta)
    tiny = dict(
        steps=200, exploration_steps=50, epoch_length=100, act_chunk=50, model_every=100, rollouts_per_step=2,
        updates_per_step=1, disc_every=100, disc_pairs=100, bc_init_steps=16, expert_rows=1000, eval_every=200,
        eval_episodes=1, **{"td3.hidden": [32, 32], "disc.hidden": [32, 32], "disc.batch_size": 256},
        **{"model.members": 2, "model.elites": 1, "model.hidden": [16], "model.max_epochs": 1},
        **{"model.first_fit_max_epochs": 1},
    )  # fmt: skip
    sets = [f"--set={k}={json.dumps(v)}" for k, v in tiny.items()]
    out = tmp_path / "run"
    args = ["train", "--algo", "hyper", "--env", "antmaze-large-play", "--demos-file", str(demos), "--no-progress"]
    assert main([*args, *sets, "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["preset"] == "paper" and config["policy"] == "td3bc" and config["expert_starts"] == "sliding_window"
    assert config["td3"]["critic_weight_decay"] == 1e-5  # play's value
    assert config["model_action_noise"] == 0.0  # the reference's TD3 acts deterministically in the model
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["env_steps"] == 200 and last["eval_success_pct"] in (0.0, 100.0)
    assert last["pretrain_cached"] == 0.0 and np.isfinite(last["critic_loss"])
    model_cfg = DynamicsConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config["model"].items()})
    expert = expert_buffer(load_demos(demos)[0])
    # The hybrid buffer holds dataset rows only from the first expert_rows (1,000 of 2,000), as the
    # reference's expert buffer: at its start and in the one row it gains per real step.
    position = {o.tobytes(): i for i, o in enumerate(np.asarray(expert.obs))}
    hybrid_obs = np.load(out / "checkpoints" / "learner.npz")["hybrid/obs"]
    from_dataset = [position[o.tobytes()] for o in hybrid_obs if o.tobytes() in position]
    assert len(from_dataset) >= 1000 + 150 and max(from_dataset) < 1000
    _, info = pretrained_model(Dynamics(31, 8, model_cfg), expert, model_cfg, patience=config["pretrain_patience"])
    assert info["cached"] == 1.0 and len(list((tmp_path / "cache" / "models").iterdir())) == 1
