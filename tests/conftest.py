import os

import pytest

# Tests share the machine with long background runs; keep JAX to one thread for stable timing.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HYIRL_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def untrained_demos(tmp_path_factory):
    """``write(env, trajectories, name)``: demos from an untrained policy in ``env``, saved to a fresh .npz.

    The loops' mechanics do not need a good expert."""
    import jax

    from hyirl.demos import rollout_demos, save_demos
    from hyirl.sac import SAC, NumpyPolicy

    def write(env, trajectories: int, name: str):
        sac = SAC(env.observation_space.shape[0], env.action_space.shape[0])
        policy = NumpyPolicy(sac.init(jax.random.PRNGKey(0)).actor_params)
        path = tmp_path_factory.mktemp("demos") / f"{name}.npz"
        save_demos(path, rollout_demos(policy, env, trajectories), dict(env=env.task.name))
        return path

    return write


@pytest.fixture(scope="session")
def pendulum_demos(untrained_demos):
    from hyirl.envs import make_env

    return untrained_demos(make_env("pendulum", p_tremble=0.0), 3, "pendulum")


def pytest_configure(config):
    """Share compiled XLA programs between tests, and with the runs they start as subprocesses (which
    read the cache settings from the environment): many build the same networks afresh."""
    import tempfile

    import jax

    settings = dict(
        jax_compilation_cache_dir=os.environ.get("JAX_COMPILATION_CACHE_DIR") or tempfile.mkdtemp(prefix="hyirl-xla-"),
        jax_persistent_cache_min_compile_time_secs=0.0,
        jax_persistent_cache_min_entry_size_bytes=0,
    )
    for name, value in settings.items():
        os.environ[name.upper()] = str(value)  # inherited by xdist workers and the CLI runs tests start
        jax.config.update(name, value)


@pytest.fixture(scope="session")
def still_maze_ant():
    """A goal-reaching policy that always outputs zero actions, on the ant model of the AntMaze tasks
    (data for a task must be made on the ant it runs on; both tasks share one)."""
    import numpy as np

    from hyirl.antmaze import GoalReacher
    from hyirl.envs import make_env

    return GoalReacher(lambda obs: np.zeros(8), ant=make_env("antmaze-large-diverse").env.ant_model)
