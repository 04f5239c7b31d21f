"""Experiment: HyPER on Ant with the simulator itself as the model (docs/hyper.md §24).

Runs ``hyirl train`` unchanged except for one part: every model rollout is made in Ant-v5 instead of the
learned ensemble. Each start state (a real learner or expert state, truncated observation qpos[2:] + qvel)
is restored in the simulator (x, y do not change the dynamics) and stepped with the policy's sampled action;
a rollout ends where the real task terminates. Everything else (the policy side, the discriminator, the
rewards stored with each transition, the schedule) is HyPER's own. With a perfect model, does the
policy side learn Ant? If yes, the learned model is what fails; if no, the policy side does.

The rollouts' simulator follows the run's contact rule (``--set contact_margins=reference``, docs/hyper.md §36),
read from the config the loop builds its real envs from.

The learned model is still built and "fitted" by the loop; pass ``--set model.max_epochs=0 --set
model.first_fit_max_epochs=0`` (and a tiny model) so that this costs nothing. The run's config.json does
not record the replacement: keep such runs out of results/runs.

With ``--model-noise K`` (given first) each simulated next state gets independent Gaussian noise before it is
stored and stepped on, and ends its rollout where HyPER's Ant rule (the done function the loop passes, as to
a learned model's rollouts) says the noisy state has left the healthy range: a model whose errors are
unbiased and unexploitable, of a chosen size.
Number i's noise has standard deviation K * e_i * s_i, where e_i is §23's learned model's one-step error
(elite mean, in units of each number's spread; the first "per number" line of
``output-model-critic-paper-lite-xavier-12k.txt``, docs/hyper.md §24) and s_i is the spread of number i over
the expert's next states (the shipped Ant demos; a learner buffer's spread is 0.9-3.1 times larger, so for
most numbers K = 1 lies below that model's error). K = 0 runs exactly as without the option.

With ``--model-error K`` (given first; docs/hyper.md §39) the error is the run's own learned model's instead:
each next state is the simulator's plus K times (the ensemble's sampled next state, as HyPER's rollouts draw
it, minus the simulator's), and the rollout ends where HyPER's Ant rule says that state has left the healthy
range. K = 1 is HyPER's rollout in its learned model, K = 0 the simulator's; between them the model's errors
keep their structure (state- and action-dependent, open to the policy's exploitation) at a fraction of their
size. The loop must fit a real model here (e.g. §23's paper-lite settings), which the rollouts read.

Run from the repository root, with ``hyirl train``'s arguments:
    python results/tried/hyper-ant-falls/oracle_rollouts.py [--model-noise K | --model-error K] --algo hyper --env ant \
        --preset paper --seed 0 ...
"""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import hyirl.hyper
from hyirl.cli import main
from hyirl.demos import expert_demos
from hyirl.envs import get_task, make_env, with_contact_margins
from hyirl.networks import sample_tanh_gaussian

build_real_env = hyirl.hyper._real_env
run = {}  # the run's contact_margins and seed, noted when the loop builds its real envs (before its rollout)
MODEL_ERROR_RECORD = Path(__file__).with_name("output-model-critic-paper-lite-xavier-12k.txt")


def model_noise_scale(k: float) -> np.ndarray:
    """Per-number noise standard deviations: k * (§23's model error in spreads) * (the expert's spread)."""
    line = next(li for li in MODEL_ERROR_RECORD.read_text().splitlines() if "per number (elite mean)" in li)
    error_in_spreads = np.array(line.split(":")[1].split(), float)
    expert_spread = expert_demos("ant", truncated_obs=True)[0]["next_observations"].std(0)
    return (k * error_in_spreads * expert_spread).astype(np.float32)


def real_env_noting_its_contact_rule(cfg):
    run["contact_margins"], run["seed"] = cfg.contact_margins, cfg.seed
    return build_real_env(cfg)


def make_simulator_rollout(agent, dynamics, done_fn, uncertainty_penalty: float = 0.0, action_noise=None):
    """Drop-in for :func:`hyirl.model_rollouts.make_model_rollout` (SAC only) that steps Ant-v5 itself."""
    if uncertainty_penalty or action_noise is not None:
        raise SystemExit("the simulator rollouts support SAC without the uncertainty penalty only")
    env = make_env(with_contact_margins(get_task("ant"), run["contact_margins"]), truncated_obs=True)
    env.reset(seed=0)
    noise = np.random.default_rng(run["seed"])
    sample_action = jax.jit(lambda params, obs, key: sample_tanh_gaussian(*agent.actor.apply(params, obs), key)[0])

    def step_from(obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, bool]:
        env.reset_to_observation(obs)
        next_obs, _, terminated, _, _ = env.step(action)
        return next_obs, terminated

    def rollout(model_state, actor_params, start_obs, key, *, length: int):
        obs = np.asarray(start_obs, np.float32)
        alive = np.ones(len(obs), bool)
        steps, valid = [], []
        for k in jax.random.split(key, length):
            action = np.asarray(sample_action(actor_params, jnp.asarray(obs), k))
            next_obs, done = obs.copy(), np.zeros(len(obs), bool)
            for i in np.flatnonzero(alive):
                next_obs[i], done[i] = step_from(obs[i], action[i])
            if run["noise_scale"] is not None:
                next_obs = next_obs + run["noise_scale"] * noise.standard_normal(next_obs.shape, np.float32)
                done |= np.asarray(done_fn(jnp.asarray(next_obs)))
            if run["model_error"] is not None:  # fold_in leaves the actions' keys as without the option
                key_model = jax.random.fold_in(k, 1)
                learned = np.asarray(
                    dynamics.sample_next(model_state, jnp.asarray(obs), jnp.asarray(action), key_model)
                )
                next_obs = next_obs + run["model_error"] * (learned - next_obs)
                done = np.asarray(done_fn(jnp.asarray(next_obs)))
                next_obs = np.where(np.isfinite(next_obs), next_obs, 0.0).astype(np.float32)
            steps.append(
                dict(obs=obs, action=action, next_obs=next_obs, reward=np.zeros(len(obs), np.float32), terminal=done)
            )
            valid.append(alive)
            obs, alive = next_obs, alive & ~done
        flat = {k: jnp.asarray(np.concatenate([s[k] for s in steps]), jnp.float32) for k in steps[0]}
        return flat, jnp.asarray(np.concatenate(valid))

    return rollout


if __name__ == "__main__":
    args = sys.argv[1:]
    run["noise_scale"] = run["model_error"] = None
    if args[:1] == ["--model-error"]:
        run["model_error"] = float(args[1])
        print(f"model error K={run['model_error']}: the run's learned model's error, scaled")
        args = args[2:]
    elif args[:1] == ["--model-noise"]:
        k = float(args[1])
        run["noise_scale"] = model_noise_scale(k)
        scale = np.array2string(run["noise_scale"], precision=3, max_line_width=200)
        print(f"model noise K={k}: standard deviations {scale}")
        args = args[2:]
    hyirl.hyper.make_model_rollout = make_simulator_rollout
    hyirl.hyper._real_env = real_env_noting_its_contact_rule
    sys.exit(main(["train", *args]))
