import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hyirl import buffers
from hyirl.bc import BCConfig, train_bc
from hyirl.cli import main
from hyirl.discriminator import Discriminator, DiscriminatorConfig
from hyirl.envs import make_env
from hyirl.errors import HyirlError
from hyirl.experts import load_policy
from hyirl.irl import IRLConfig, SACConfig, _IRLLoop, bc_regulariser, expert_fraction_schedule, train_irl
from hyirl.report import method_label
from hyirl.sac import SAC, NumpyPolicy

SMALL_SAC = SACConfig(hidden=(32, 32), gamma=0.98, tau=0.02, learning_rate=7.3e-4, optimizer="oadam")
SMALL_DISC = DiscriminatorConfig(hidden=(32, 32), batch_size=256)


def _cfg(algo, demos, **kw):
    base = dict(
        algo=algo,
        env="pendulum",
        steps=700,
        train_every=128,
        eval_every=300,
        eval_episodes=1,
        demos_file=str(demos),
        disc_trajectories=1,
        sac=SMALL_SAC,
        disc=SMALL_DISC,
        buffer_size=5000,
        expert_schedule=((0.2, 0.1, 20_000),),
    )
    return IRLConfig(**{**base, **kw})


@pytest.mark.parametrize("algo", ["mm", "bc-reg", "filter", "hype", "hype-filter"])
def test_each_method_runs_and_counts_every_step(algo, pendulum_demos, tmp_path):
    (path,) = train_irl(_cfg(algo, pendulum_demos), tmp_path / algo, progress=False)
    records = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    assert records and all(np.isfinite(r["eval_return_mean"]) for r in records)
    assert all(r["eval_length_mean"] == 200 for r in records)  # Pendulum's episodes never end early
    last = records[-1]
    rounds = last["policy_steps"] // 128
    if "filter" in algo:  # trajectories may start mid-episode from an expert state
        assert 0 < last["disc_env_steps"] <= rounds * 200
    else:  # one fresh 200-step pendulum trajectory per round
        assert last["disc_env_steps"] == rounds * 200
    assert last["env_steps"] == rounds * 128 + last["disc_env_steps"]
    assert last["env_steps"] >= 700
    assert (last["expert_fraction"] > 0) == algo.startswith("hype")


def test_recent_samples_cost_no_interaction(pendulum_demos, tmp_path):
    (path,) = train_irl(_cfg("hype", pendulum_demos, disc_samples="recent", steps=300), tmp_path / "r", progress=False)
    last = json.loads((path / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["disc_env_steps"] == 0 and last["env_steps"] == last["policy_steps"] // 128 * 128


def _small_bc(demos, **kw) -> BCConfig:
    return BCConfig(env="pendulum", eval_episodes=1, demos_file=str(demos), hidden=(32, 32), **kw)


def test_bc_runs_and_logs(pendulum_demos, tmp_path):
    cfg = _small_bc(pendulum_demos, grad_steps=2000, eval_every=1000, final_eval_episodes=2)
    path = train_bc(cfg, tmp_path / "bc", progress=False)
    records = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    assert [r["grad_steps"] for r in records] == [1000, 2000]
    assert records[-1]["eval_episodes"] == 2 and records[-1]["env_steps"] == 0


def test_bc_regresses_in_the_envs_units_only_when_asked(pendulum_demos, tmp_path):
    """Guards ``targets_in_env_units``: Pendulum's torque bounds are ±2, so the reference's targets (the
    demonstrated action in the env's units) are twice hyirl's [-1, 1] ones. Where the demonstrated action
    is small enough for twice it to stay inside the tanh's range, the policy BC saves must follow it with
    slope ≈ 1 by default and ≈ 2 with the option."""
    demos = np.load(pendulum_demos)
    small = np.abs(demos["actions"][:, 0]) < 0.4
    obs, demonstrated = demos["observations"][small], demos["actions"][small, 0]
    assert small.sum() > 100
    slopes = []
    for in_env_units in (False, True):
        cfg = _small_bc(
            pendulum_demos, grad_steps=3000, eval_every=3000, final_eval_episodes=1, targets_in_env_units=in_env_units
        )
        policy, _ = load_policy(train_bc(cfg, tmp_path / str(in_env_units), progress=False) / "policy.npz")
        acted = policy(obs)[:, 0]
        slopes.append(float(acted @ demonstrated / (demonstrated @ demonstrated)))
    assert 0.8 < slopes[0] < 1.2 and 1.6 < slopes[1] < 2.4, slopes


def test_bc_on_ant_learns_and_acts_on_the_references_observation_by_default(tmp_path):
    """Guards BC's ``contact_forces`` from the command line: Ant's preset leaves the contact forces out,
    so the demos are cut to 27 columns, the saved policy's first layer takes 27 inputs and it is
    evaluated on the env without them (the full 105-column demos or env would fail on shapes); the
    paper's observation gets the paper's label, ``--set contact_forces=true`` v5's full one and a label."""
    args = ["train", "--algo", "bc", "--env", "ant", "--demos", "1", "--steps", "1000", "--eval-every", "1000"]
    args += ["--eval-episodes", "1", "--no-progress"]
    main([*args, "--out", str(tmp_path / "paper")])
    main([*args, "--set", "contact_forces=true", "--out", str(tmp_path / "full")])
    for name, inputs, label in (("paper", 27, "bc"), ("full", 105, "bc (contact_forces=true)")):
        policy, _ = load_policy(tmp_path / name / "policy.npz")
        assert policy.layers[0][0].shape[0] == inputs
        assert np.isfinite(json.loads((tmp_path / name / "metrics.jsonl").read_text())["eval_return_mean"])
        assert method_label("bc", json.loads((tmp_path / name / "config.json").read_text())) == label


def test_expert_fraction_schedule_follows_segments():
    rho = expert_fraction_schedule(((0.2, 0.1, 200_000), (0.1, 0.01, 1_000_000)))
    values = [float(rho(jnp.int32(t))) for t in (0, 100_000, 200_000, 600_000, 1_000_000, 2_000_000)]
    np.testing.assert_allclose(values, [0.2, 0.15, 0.1, 0.055, 0.01, 0.01], atol=1e-6)
    flat = expert_fraction_schedule(((0.2, 0.2, 300_000), (0.2, 0.1, 1_000_000)))
    np.testing.assert_allclose([float(flat(jnp.int32(t))) for t in (0, 299_999, 650_000)], [0.2, 0.2, 0.15], atol=1e-6)


def test_filter_reset_restores_the_recorded_expert_state():
    env = make_env("hopper", p_tremble=0.0)
    obs, _ = env.reset(seed=0)
    rows = {k: [] for k in ("qpos", "qvel", "qacc_warmstart", "timestep", "observations")}
    rng = np.random.default_rng(0)
    for t in range(30):
        for k, v in env.get_state().items():
            rows[k].append(v)
        rows["timestep"].append(t)
        rows["observations"].append(obs)
        obs, *_ = env.step(rng.uniform(-0.3, 0.3, 3))
    demos = {k: np.array(v) for k, v in rows.items()}
    env.use_expert_resets(demos, prob=1.0)
    seen = set()
    for seed in range(10):
        obs, info = env.reset(seed=100 + seed)
        row = info["expert_reset_row"]
        seen.add(row)
        np.testing.assert_array_equal(obs, demos["observations"][row])
        np.testing.assert_array_equal(env.get_state()["qpos"], demos["qpos"][row])
        assert env.t == demos["timestep"][row]
    assert len(seen) > 3
    env.use_expert_resets(demos, prob=0.0)
    assert "expert_reset_row" not in env.reset(seed=1)[1]


def test_replay_reset_matches_the_recorded_observation(tmp_path):
    env = make_env("hopper", p_tremble=0.0)
    rng = np.random.default_rng(3)
    rows = {k: [] for k in ("seed", "actions", "timestep", "observations")}
    obs, _ = env.reset(seed=5)
    for t in range(40):
        action = rng.uniform(-0.3, 0.3, 3)
        (
            rows["seed"].append(5),
            rows["actions"].append(action),
            rows["timestep"].append(t),
            rows["observations"].append(obs),
        )
        obs, *_ = env.step(action)
    demos = {k: np.array(v) for k, v in rows.items()}
    replay = make_env("hopper", p_tremble=0.5)  # trembling must not touch the replayed actions
    replay.use_expert_resets(demos, prob=1.0, mode="replay")
    for seed in range(5):
        obs, info = replay.reset(seed=seed)
        # exact up to float rounding (~1e-16); the default "state" mode is bit-exact (test_envs)
        np.testing.assert_allclose(obs, demos["observations"][info["expert_reset_row"]], rtol=0, atol=1e-9)
        assert replay.t == info["expert_reset_row"]


def _constant_cost_params(disc, value):
    params = disc.init(jax.random.PRNGKey(0)).params
    params = jax.tree.map(jnp.zeros_like, params)
    last = sorted(params["params"]["VmapMLP_0"])[-1]
    params["params"]["VmapMLP_0"][last]["bias"] = jnp.full_like(params["params"]["VmapMLP_0"][last]["bias"], value)
    return params


def test_relabelling_uses_the_discriminator_passed_at_update_time():
    disc = Discriminator(3, 1, DiscriminatorConfig(hidden=(8,)))
    agent = SAC(3, 1, SACConfig(hidden=(16,)), reward_fn=disc.reward)
    rng = np.random.default_rng(0)
    buf = buffers.from_arrays(
        obs=rng.normal(size=(100, 3)),
        action=rng.uniform(-1, 1, (100, 1)),
        next_obs=rng.normal(size=(100, 3)),
        reward=np.full(100, 7.0),
        terminal=np.zeros(100),
    )
    state = agent.init(jax.random.PRNGKey(0))
    state, m1 = agent.train_chunk(state, buf, None, _constant_cost_params(disc, 1.0), 3e-4, num_updates=1)
    state, m2 = agent.train_chunk(state, buf, None, _constant_cost_params(disc, -3.0), 3e-4, num_updates=1)
    assert float(m1["reward_mean"]) == pytest.approx(-1.0) and float(m2["reward_mean"]) == pytest.approx(3.0)


def test_bc_term_regresses_onto_expert_actions():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(256, 3))
    learner = buffers.from_arrays(
        obs=obs, action=np.full((256, 1), 0.8), next_obs=obs, reward=np.zeros(256), terminal=np.zeros(256)
    )
    expert = buffers.from_arrays(
        obs=obs, action=np.full((256, 1), -0.8), next_obs=obs, reward=np.zeros(256), terminal=np.zeros(256)
    )
    agent = SAC(3, 1, SACConfig(hidden=(32,), learning_rate=3e-3), actor_regulariser=bc_regulariser(100.0))
    state, _ = agent.train_chunk(agent.init(jax.random.PRNGKey(0)), learner, expert, None, 3e-3, num_updates=300)
    actions = NumpyPolicy(state.actor_params)(obs)
    assert np.mean(actions) < -0.5  # pulled to the expert's -0.8, not the learner's replay actions


def test_bad_algo_and_mismatched_demos_fail_cleanly(pendulum_demos, tmp_path, capsys):
    assert main(["train", "--algo", "gail", "--env", "pendulum", "--out", str(tmp_path / "x")]) == 2
    assert "unknown method 'gail'" in capsys.readouterr().err
    out = tmp_path / "mismatch"
    assert (
        main(
            [
                "train",
                "--algo",
                "hype",
                "--env",
                "hopper",
                "--demos-file",
                str(pendulum_demos),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 2
    )
    assert "has obs 3 / act 1 but env hopper has obs 11 / act 3" in capsys.readouterr().err
    assert not out.exists()


def test_seeds_in_one_process_match_separate_runs(pendulum_demos, tmp_path):
    group = train_irl(_cfg("hype", pendulum_demos), tmp_path / "group", progress=False, seeds=[0, 1])
    assert [p.name for p in group] == ["s0", "s1"]
    (alone,) = train_irl(_cfg("hype", pendulum_demos, seed=1), tmp_path / "alone", progress=False)
    together = [json.loads(line) for line in (group[1] / "metrics.jsonl").read_text().splitlines()]
    separate = [json.loads(line) for line in (alone / "metrics.jsonl").read_text().splitlines()]
    assert [r["env_steps"] for r in together] == [r["env_steps"] for r in separate]
    for a, b in zip(together, separate):  # vmapped kernels may round differently, nothing more
        np.testing.assert_allclose(a["eval_return_mean"], b["eval_return_mean"], rtol=0.05)
        np.testing.assert_allclose(a["disc_loss"], b["disc_loss"], rtol=0.05, atol=1e-3)
    seed0 = [json.loads(line) for line in (group[0] / "metrics.jsonl").read_text().splitlines()]
    assert seed0[-1]["eval_return_mean"] != together[-1]["eval_return_mean"]  # the seeds really differ
    assert json.loads((group[1] / "config.json").read_text())["seed"] == 1


def test_rounds_follow_sb3_0_8(pendulum_demos, tmp_path, monkeypatch):
    """Guards the reference's SB3-0.8 rounds (spec §3.1): with K=100, each round takes ceil(K/64)*64=128
    steps; it restarts the episode and acts uniformly at random for its first 100 steps; no update
    follows a chunk that ends inside the warm-up; the learning rate of chunk i is lr0 * max(1 -
    (i+1)*64/K, 0), restarting every round. Fails if the round length, the warm-up or the saw-tooth
    changes (e.g. without the per-round restart, rounds 2-3 act with the policy from their first step)."""
    from hyirl.learner import OnlineSAC, SeedGroup

    acted, rates, updates = [], [], []
    original_act, original_collect, original_record = OnlineSAC.act, SeedGroup.collect, OnlineSAC.record_update

    def act(self, obs):
        acted.append(self.env_steps < self.warmup_until)
        return original_act(self, obs)

    def collect(self, n_steps, reward_params, learning_rate):
        rates.append(learning_rate)
        return original_collect(self, n_steps, reward_params, learning_rate)

    def record(self, metrics, actor_params):
        updates.append(self.env_steps)
        return original_record(self, metrics, actor_params)

    monkeypatch.setattr(OnlineSAC, "act", act)
    monkeypatch.setattr(SeedGroup, "collect", collect)
    monkeypatch.setattr(OnlineSAC, "record_update", record)
    lr0 = 7.3e-4
    cfg = _cfg("mm", pendulum_demos, steps=3 * 128, train_every=100, eval_every=10_000, disc_samples="recent")
    (path,) = train_irl(cfg, tmp_path / "rounds", progress=False)
    assert len(acted) == 3 * 128  # three rounds of 128 steps (recent discriminator data: no extra steps)
    assert acted == ([True] * 100 + [False] * 28) * 3
    np.testing.assert_allclose(rates, [lr0 * 0.36, 0.0] * 3, rtol=1e-6)
    assert updates == [128, 256, 384]  # only the second chunk of each round ends after the warm-up
    assert json.loads((path / "metrics.jsonl").read_text().splitlines()[-1])["policy_steps"] == 300


# Small networks for the AntMaze CLI runs below; the same sizes let them share compiled programs.
TINY_ANTMAZE_NETWORKS = ["--set=td3.hidden=[32,32]", "--set=disc.hidden=[32,32]", "--set=disc.batch_size=256"]


@pytest.fixture(scope="module")
def tiny_diverse_demos(tmp_path_factory, still_maze_ant):
    """2,000 rows of diverse data from a still ant, saved once for the AntMaze runs of this module."""
    from hyirl.antmaze_data import DATASETS, generate_dataset
    from hyirl.demos import save_demos

    rows, meta = generate_dataset(DATASETS["antmaze-large-diverse"], still_maze_ant, 2000, progress=False)
    path = tmp_path_factory.mktemp("antmaze") / "diverse.npz"
    save_demos(path, rows, meta)
    return path


def test_antmaze_methods_train_td3bc_with_the_references_batches(tmp_path, capsys, tiny_diverse_demos):
    """On AntMaze the family trains TD3-BC (spec §3.4): hype-filter's batches are half dataset rows,
    while the reference gives plain batches to HyPE, so it is MM there (spec §10.6; the preset's
    ``td3_hybrid_methods``); with ``td3.single_source=offline`` (the reference's first version) the
    plain batches are dataset rows, so the method reads them. A hype-filter run from the CLI (BC
    initialisation, resets to dataset states with their goals, deterministic acting) logs the success
    rate."""
    from hyirl.cli import main
    from hyirl.discriminator import Discriminator
    from hyirl.irl import METHODS, _policy_optimiser
    from hyirl.presets import build_config, model_free_preset

    preset = model_free_preset("antmaze-large-diverse")
    disc = Discriminator(31, 8)
    for algo, mode in (("mm", "learner"), ("hype", "learner"), ("hype-filter", "hybrid")):
        cfg = build_config(IRLConfig, preset, dict(algo=algo, env="antmaze-large-diverse"))
        agent, reads_expert = _policy_optimiser(cfg, METHODS[algo], 31, 8, disc)
        assert (agent.mode, reads_expert) == (mode, mode == "hybrid")
    cfg = build_config(
        IRLConfig, {**preset, "td3_hybrid_methods": None}, dict(algo="hype", env="antmaze-large-diverse")
    )
    assert _policy_optimiser(cfg, METHODS["hype"], 31, 8, disc)[0].mode == "hybrid"
    first_version = {**preset, "td3": dict(single_source="offline")}
    for algo, mode in (("mm", "offline"), ("hype-filter", "hybrid")):
        cfg = build_config(IRLConfig, first_version, dict(algo=algo, env="antmaze-large-diverse"))
        agent, reads_expert = _policy_optimiser(cfg, METHODS[algo], 31, 8, disc)
        assert (agent.mode, reads_expert) == (mode, True)

    args = ["train", "--algo", "hype-filter", "--env", "antmaze-large-diverse", "--demos-file", str(tiny_diverse_demos)]
    args += ["--steps", "256", "--train-every", "128", "--eval-every", "256", "--eval-episodes", "1"]
    args += ["--set=bc_init_steps=64", "--set=disc_samples=recent", *TINY_ANTMAZE_NETWORKS, "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["policy"] == "td3bc" and config["reset_prob"] == 1.0 and config["bc_init_steps"] == 64
    last = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["env_steps"] == 256 and last["eval_success_pct"] in (0.0, 100.0)
    assert last["expert_fraction"] == 0.5  # half of each batch is dataset rows, and the record says so
    assert np.isfinite(last["critic_loss"]) and np.isfinite(last["actor_loss"])


def test_hype_and_bc_reg_are_mm_on_antmaze(tmp_path, tiny_diverse_demos, monkeypatch):
    """On AntMaze the reference's yaml gives HyPE and BC-Reg MM's training exactly (plain TD3-BC
    batches, no BC regulariser: spec §10.6), so with one seed their whole final state (networks,
    optimisers, buffers, generator) equals MM's bit for bit, and results/ runs MM once for the three.
    The control, HyPE given hybrid batches (``td3_hybrid_methods=null``), must differ, so the comparison
    can fail."""
    import dataclasses

    from hyirl import envs

    diverse = envs.TASKS["antmaze-large-diverse"]  # short episodes: the maze's contacts make its steps dear
    monkeypatch.setitem(envs.TASKS, "antmaze-large-diverse", dataclasses.replace(diverse, horizon=100))
    args = ["--env", "antmaze-large-diverse", "--demos-file", str(tiny_diverse_demos), "--steps", "128"]
    args += ["--train-every", "128", "--eval-every", "128", "--eval-episodes", "1", "--no-progress"]
    args += ["--set=bc_init_steps=64", "--set=disc_samples=recent", *TINY_ANTMAZE_NETWORKS]
    runs = {"mm": [], "hype": [], "bc-reg": [], "hype-hybrid": ["--set=td3_hybrid_methods=null"]}
    states = {}
    for name, extra in runs.items():
        algo = name.removesuffix("-hybrid")
        assert main(["train", "--algo", algo, *args, *extra, "--out", str(tmp_path / name)]) == 0
        with np.load(tmp_path / name / "checkpoints" / "learner.npz") as state:
            states[name] = {k: state[k] for k in state.files}

    def same(a, b):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    assert same(states["mm"], states["hype"]) and same(states["mm"], states["bc-reg"])
    assert not same(states["mm"], states["hype-hybrid"])


def test_antmaze_training_episodes_go_past_the_goal_only_when_asked():
    """Guards ``goal_ends_episode``: by default (the reference, D4RL's registered envs) a training step
    at the goal ends the episode as terminal; with False the learner's episode goes on, while the
    evaluation env still ends there, and the data's goal rows stop being terminal with it. Fails if
    the option is ignored, in the env or in the data; a MuJoCo task refuses it."""
    from hyirl.envs import get_task
    from hyirl.errors import HyirlError
    from hyirl.irl import training_demos, training_task

    task = get_task("antmaze-large-diverse")
    for ends in (True, False):
        cfg = IRLConfig("hype-filter", task.name, goal_ends_episode=ends)
        for env, expected in ((make_env(training_task(cfg, task)), ends), (make_env(task), True)):
            env.reset(seed=0)
            env.unwrapped.set_goal(env.unwrapped.data.qpos[:2].copy())  # the ant stands on its goal
            _, reward, terminated, truncated, _ = env.step(np.zeros(8))
            assert reward == 1.0 and terminated is expected and not truncated
        demos = dict(terminals=np.array([False, True]))
        assert training_demos(cfg, demos)["terminals"].tolist() == [False, ends]
    with pytest.raises(HyirlError, match="goal_ends_episode"):
        training_task(IRLConfig("hype", "hopper", goal_ends_episode=False), get_task("hopper"))


def test_each_terminated_trajectory_gives_the_discriminator_one_absorbing_row():
    """Guards the learner's side of ``disc.absorbing``: fresh trajectories that end in a terminal step
    (random Hopper actions fall within tens of steps) add one absorbing row each after their pairs,
    which the padded array has room for; only the real steps are counted as interaction. Broken by
    hand (the rows appended for every trajectory, terminated or not), it failed."""
    import types

    from hyirl.irl import _learner_pairs, _SeedRun

    disc = Discriminator(11, 3, DiscriminatorConfig(hidden=(8,), absorbing=True))
    cfg = IRLConfig("mm", "hopper", disc_trajectories=3, disc=disc.cfg)
    rng = np.random.default_rng(0)
    learner = types.SimpleNamespace(policy=lambda obs: rng.uniform(-1, 1, 3), rng=rng, deterministic=True)
    seed = types.SimpleNamespace(
        learner=learner, sampler_env=make_env("hopper"), cfg=cfg, counters=dict(disc_env_steps=0)
    )
    seed.fresh_pairs = lambda: _SeedRun.fresh_pairs(seed)
    seed.sampler_env.reset(seed=0)
    rows, counts = _learner_pairs(cfg, None, [seed], disc)
    real = seed.counters["disc_env_steps"]
    assert 3 <= real < 3 * 1000 and counts[0] == real + 3 and rows.shape == (1, 3000, 15)
    np.testing.assert_array_equal(rows[0, real : real + 3], np.tile(disc.absorbing_row(), (3, 1)))
    assert not rows[0, :real, -1].any() and not rows[0, real + 3 :].any()

    # On a task without terminal steps (Pendulum) nothing is added.
    swinging = types.SimpleNamespace(policy=lambda obs: rng.uniform(-1, 1, 1), rng=rng, deterministic=True)
    pendulum = types.SimpleNamespace(
        learner=swinging, sampler_env=make_env("pendulum"), cfg=cfg, counters=dict(disc_env_steps=0)
    )
    pendulum.fresh_pairs = lambda: _SeedRun.fresh_pairs(pendulum)
    _, counts = _learner_pairs(cfg, None, [pendulum], Discriminator(3, 1, disc.cfg))
    assert counts[0] == pendulum.counters["disc_env_steps"] == 3 * 200


def test_absorbing_states_train_end_to_end_and_are_refused_where_not_implemented(pendulum_demos, tmp_path):
    """Guards the option's wiring through the loop (the discriminator's wider input, vmapped over two
    seeds) and its clear refusal with replay-buffer samples or TD3-BC, here and in HyPER."""
    disc = DiscriminatorConfig(hidden=(32, 32), batch_size=256, absorbing=True)
    paths = train_irl(_cfg("hype", pendulum_demos, steps=300, disc=disc), tmp_path / "a", progress=False, seeds=[0, 1])
    for path in paths:
        last = json.loads((path / "metrics.jsonl").read_text().splitlines()[-1])
        assert np.isfinite(last["disc_loss"]) and last["disc_env_steps"] > 0
    for bad in (dict(disc_samples="recent"), dict(policy="td3bc")):
        with pytest.raises(HyirlError, match="disc.absorbing=true needs"):
            _cfg("hype", pendulum_demos, disc=disc, **bad)
    from hyirl.hyper import HyPERConfig

    with pytest.raises(HyirlError, match="works with SAC only"):
        HyPERConfig("pendulum", disc=disc, policy="td3bc")


def test_without_contact_forces_every_network_sees_the_references_ant_observation(tmp_path):
    """Guards ``contact_forces=false`` end to end: the shipped expert's demos are cut to Ant's 27
    columns, and the learner acts, is judged and is evaluated on the env without contact forces (a
    105-column piece anywhere would fail on shapes). One short HyPE round on Ant."""
    cfg = dataclasses.replace(_cfg("hype", None, env="ant", steps=200), demos=1, demos_file=None, contact_forces=False)
    loop = _IRLLoop(cfg, tmp_path / "ant", False, [0])
    assert loop.demos["observations"].shape[1] == 27 and loop.expert_pairs.shape[1] == 27 + 8
    loop.run(progress=False)
    last = json.loads((tmp_path / "ant" / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["policy_steps"] >= 128 and np.isfinite(last["eval_return_mean"])
