import numpy as np

from hyirl.envs import get_task, make_env, model_termination
from hyirl.learner import LoopConfig, OnlineSAC
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
