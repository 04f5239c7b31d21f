import jax
import numpy as np

from hyirl.envs import get_task, make_env, model_termination
from hyirl.learner import LoopConfig, OnlineSAC, restore_learner, save_learner
from hyirl.sac import SAC, SACConfig


def _random_learner(env_name, seed=0):
    env = make_env(env_name, p_tremble=0.0)
    agent = SAC(env.observation_space.shape[0], env.action_space.shape[0], SACConfig(hidden=(8,)))
    return OnlineSAC(env, agent, LoopConfig(buffer_size=1000, learning_starts=10_000, train_freq=50), seed)


def test_time_limits_are_stored_as_non_terminal_and_falls_as_terminal():
    """Guards the bootstrap target: a transition that ends an episode by the time limit keeps
    ``terminal=0`` (the value after it is not zero), one that ends by a fall has ``terminal=1``.
    Fails if truncation is stored as terminal (spec §10.26) or terminations are dropped."""
    pendulum = _random_learner("pendulum")  # never terminates: only its 200-step limit ends episodes
    chunk = pendulum.rollout_chunk(450)
    assert not np.asarray(chunk["terminal"]).any()
    assert len(pendulum.finished_returns) == 2  # time limits after steps 200 and 400
    obs, next_obs = np.asarray(chunk["obs"]), np.asarray(chunk["next_obs"])
    assert np.allclose(obs[199], next_obs[198]) and not np.allclose(obs[200], next_obs[199])  # row 200 starts anew

    hopper = _random_learner("hopper")  # random actions make the hopper fall within ~20-60 steps
    chunk = hopper.rollout_chunk(300)
    terminal = np.asarray(chunk["terminal"]) > 0
    fallen = np.asarray(model_termination(get_task("hopper"))(np.asarray(chunk["next_obs"])))
    assert terminal.sum() == len(hopper.finished_returns) >= 2
    np.testing.assert_array_equal(terminal, fallen)  # terminal exactly where the next state is unhealthy


def test_a_checkpoint_without_the_buffer_refills_before_updating(tmp_path):
    """Guards the portable expert checkpoints: without its replay buffer a restored learner acts with
    its restored policy (not uniformly at random) and makes no update until ``learning_starts`` new
    steps refilled the buffer; then it trains again. Fails if updates resume on an empty buffer or the
    refill is skipped when a refilling learner's portable checkpoint is restored (its buffer is lost again)."""
    env = make_env("pendulum", p_tremble=0.0)
    agent = SAC(3, 1, SACConfig(hidden=(8,)))
    loop = LoopConfig(buffer_size=1000, learning_starts=100, train_freq=50)
    trained = OnlineSAC(env, agent, loop, seed=0)
    trained.collect(200)  # 100 random steps, then 100 with updates
    full, portable = tmp_path / "full.npz", tmp_path / "portable.npz"
    save_learner(trained, full)
    save_learner(trained, portable, with_buffer=False)
    assert portable.stat().st_size < full.stat().st_size

    restored = OnlineSAC(make_env("pendulum", p_tremble=0.0), agent, loop, seed=1)
    restore_learner(restored, portable)
    assert restored.env_steps == 200 and int(restored.buffer.size) == 0
    params = jax.tree.map(np.asarray, restored.state.actor_params)
    restored.collect(50)
    save_learner(restored, portable, with_buffer=False)  # a checkpoint in the middle of the refill
    again = OnlineSAC(make_env("pendulum", p_tremble=0.0), agent, loop, seed=2)
    restore_learner(again, portable)
    again.collect(50)  # half of the new refill: still no update
    assert jax.tree.all(jax.tree.map(np.array_equal, params, jax.tree.map(np.asarray, again.state.actor_params)))
    assert again.warmup_until <= 250  # the refill acts with the policy, not with uniform random actions
    again.collect(50)  # the buffer holds learning_starts new steps: updates resume
    assert int(again.buffer.size) == 100
    assert not jax.tree.all(jax.tree.map(np.array_equal, params, jax.tree.map(np.asarray, again.state.actor_params)))
