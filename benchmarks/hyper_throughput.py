"""HyPER component throughput for both presets: model training, model rollouts, SAC updates.

Measured on synthetic data with the task's dimensions (Hopper-v5 by default: obs 11, act 3); the
costs do not depend on the values. Each figure is the median of ``--reps`` timed calls after one
warm-up call (compilation excluded):

* model training: ensemble gradient steps per second (one step = every member on its own batch of
  256), and the seconds one model event costs in the efficient preset (``max_epochs`` epochs on a
  hybrid buffer of 64k expert + ``--real-rows`` learner rows, with validation);
* model rollouts: transitions per second for one event's start states (``rollouts_per_fit``) at L=1
  and L=5, policy sampling and termination included;
* learned rewards: rows per second for which the discriminator's r = -f is computed (HyPER stores it
  with each model transition when the transition is made and after every discriminator update);
* SAC: gradient updates per second on model data with the preset's network and stored rewards, in
  fused calls of ``act_chunk * updates_per_step`` updates.

The estimate of real steps per second combines them per the preset's schedule at rollout length L =
``--length`` (disc updates and acting left out: both are < 2 % of a step). The last line printed is
one JSON object. ``python benchmarks/hyper_speed.py`` times whole runs instead.

    python benchmarks/hyper_throughput.py [--env hopper] [--reps 3] [--presets efficient,paper] \
        [--real-rows 30000] [--length 10] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import numpy as np

from hyirl import buffers
from hyirl.discriminator import Discriminator
from hyirl.dynamics import Dynamics
from hyirl.envs import get_task, make_env, model_termination
from hyirl.hyper import HyPERConfig
from hyirl.model_rollouts import make_learned_rewards, make_model_rollout
from hyirl.presets import apply_settings, build_config, hyper_preset
from hyirl.sac import SAC


def median_time(fn, reps: int) -> float:
    fn()  # compile
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def random_buffer(rng, rows: int, obs_dim: int, act_dim: int) -> buffers.Buffer:
    obs = rng.normal(size=(rows, obs_dim))
    return buffers.from_arrays(
        obs=obs,
        action=rng.uniform(-1, 1, (rows, act_dim)),
        next_obs=obs + 0.1 * rng.normal(size=(rows, obs_dim)),
        reward=np.zeros(rows),
        terminal=np.zeros(rows),
    )


def measure(env: str, preset: str, reps: int, real_rows: int, length: int, settings: list[str]) -> dict:
    defaults = apply_settings(HyPERConfig, hyper_preset(env, preset), settings)
    cfg = build_config(HyPERConfig, defaults, {}, env=env, preset=preset)
    task_env = make_env(env)
    obs_dim, act_dim = task_env.observation_space.shape[0], task_env.action_space.shape[0]
    rng = np.random.default_rng(0)
    data = random_buffer(rng, 64_000 + real_rows, obs_dim, act_dim)

    dynamics = Dynamics(obs_dim, act_dim, cfg.model)
    model_state = dynamics.init(jax.random.PRNGKey(0))
    n = int(data.size)
    boot = jax.numpy.asarray(rng.integers(0, n, (cfg.model.members, n)), jax.numpy.int32)
    n_train = int(0.8 * n)
    steps_per_epoch = int(dynamics.epoch_steps(n_train))
    state = [model_state]

    def epoch():
        state[0] = dynamics._epoch(state[0], data, boot, n_train, jax.random.PRNGKey(1))
        return state[0].params

    model_steps_per_s = steps_per_epoch / median_time(epoch, reps)
    event_s = None
    if cfg.model.max_epochs is not None:

        def event():  # a warm-started fit (fit consumes the state it is given)
            state[0] = dynamics.fit(state[0], data, np.random.default_rng(2))[0]
            return state[0].params

        event_s = median_time(event, reps)

    agent = SAC(obs_dim, act_dim, cfg.sac)
    disc = Discriminator(obs_dim, act_dim, cfg.disc)
    disc_params = disc.init(jax.random.PRNGKey(3)).params
    sac_state = [agent.init(jax.random.PRNGKey(4))]
    rollout = make_model_rollout(agent, dynamics, model_termination(get_task(env)))
    start = data.obs[: cfg.rollouts_per_fit]
    rollout_rates = {}
    for steps in sorted({1, 5, length}):
        t = median_time(
            lambda: rollout(state[0], sac_state[0].actor_params, start, jax.random.PRNGKey(5), length=steps)[0],
            reps,
        )
        rollout_rates[f"L{steps}"] = cfg.rollouts_per_fit * steps / t

    model_buffer = random_buffer(rng, cfg.model_window(length), obs_dim, act_dim)
    learned_rewards = make_learned_rewards(disc.reward)
    relabel_s = median_time(
        lambda: learned_rewards(
            disc_params, dict(obs=model_buffer.obs, action=model_buffer.action, terminal=model_buffer.terminal)
        ),
        reps,
    )
    relabel_rows_per_s = model_buffer.capacity / relabel_s
    num_updates = cfg.act_chunk * cfg.updates_per_step // cfg.update_every

    def sac_chunk():
        sac_state[0], metrics = agent.train_chunk(
            sac_state[0], model_buffer, None, None, cfg.sac.learning_rate, num_updates=num_updates
        )
        return metrics

    sac_updates_per_s = num_updates / median_time(sac_chunk, reps)

    updates_per_real_step = cfg.updates_per_step / cfg.update_every
    seconds_per_real_step = updates_per_real_step / sac_updates_per_s
    if event_s is not None:
        seconds_per_real_step += event_s / cfg.model_every
    seconds_per_real_step += cfg.rollouts_per_step * length / rollout_rates[f"L{length}"]
    # rewards of the new rollout rows, and of the whole model buffer after each discriminator update
    relabelled_rows = cfg.rollouts_per_step * length + cfg.model_window(length) / cfg.disc_every
    seconds_per_real_step += relabelled_rows / relabel_rows_per_s
    return dict(
        env=env,
        preset=preset,
        settings=settings,
        hybrid_rows=n,
        sac_hidden=list(cfg.sac.hidden),
        model=f"{cfg.model.members}x{list(cfg.model.hidden)}",
        model_grad_steps_per_s=round(model_steps_per_s, 1),
        model_event_s=None if event_s is None else round(event_s, 2),
        rollout_transitions_per_s={k: round(v) for k, v in rollout_rates.items()},
        learned_reward_rows_per_s=round(relabel_rows_per_s),
        rollout_length=length,
        sac_updates_per_s=round(sac_updates_per_s, 1),
        updates_per_real_step=updates_per_real_step,
        est_real_steps_per_s=round(1 / seconds_per_real_step, 2) if event_s is not None else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--presets", default="efficient,paper")
    parser.add_argument("--real-rows", type=int, default=30_000, help="learner rows in the hybrid buffer")
    parser.add_argument("--length", type=int, default=10, help="model rollout length L for the estimate")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as in hyirl train")
    args = parser.parse_args()
    results = []
    for preset in args.presets.split(","):
        result = measure(args.env, preset, args.reps, args.real_rows, args.length, args.set)
        print(f"{preset}: {result}", flush=True)
        results.append(result)
    print(json.dumps(dict(devices=[str(d) for d in jax.devices()], results=results)))


if __name__ == "__main__":
    main()
