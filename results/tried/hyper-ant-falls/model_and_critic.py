"""Diagnostic: on Ant with 1-step rollouts, is the critic's run-away (docs/hyper.md §22, §23) fed by the model?

Loads a HyPER Ant or Humanoid run's last checkpoint (truncated observations) and prints:

1. the critic's values beside the rewards it is trained on, as percentiles, on the model buffer (what SAC
   trains on) and on the real learner buffer (the rollouts' start states); with gamma = 0.99 and rewards
   within [r_min, r_max], a critic consistent with them lies within [r_min, r_max] / (1 - gamma) plus the
   entropy term;
2. the model's true one-step error on the rollouts' own distribution: recent real learner states are
   restored in the simulator (the truncated observation is qpos[2:] + qvel, and x, y do not change the
   dynamics), the latest actor samples an action, and the real next state is compared with the model's
   elite-mean and sampled predictions, in units of each number's spread over the real next states;
3. the soft value min Q'(s', a') - alpha log pi(a'|s') at the model's sampled next states against the real
   ones: what the critic's targets would be with a perfect model;
4. with ``--refit EPOCHS``: the checkpoint's model fitted further on the checkpoint's hybrid buffer (full
   passes, the paper's early stopping, at most EPOCHS epochs), with 2. repeated every ``--every`` epochs;
   with ``--fresh MEMBERSxWIDTH`` (e.g. ``7x400``, the paper's Ant model) a model of that size, four hidden
   layers and 5 elites, its other settings the run's, fitted from scratch on the same rows instead; each
   error on Ant is also given as the K of ``oracle_rollouts.py --model-noise K`` that has it (docs/hyper.md §38).

Run from the repository root:
    python results/tried/hyper-ant-falls/model_and_critic.py runs/hyper-ant-paper-lite-xavier-s0 [--refit 60]
        [--fresh 7x400]
"""

import argparse
import dataclasses
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from oracle_rollouts import model_noise_scale

from hyirl import buffers
from hyirl.dynamics import Dynamics, DynamicsConfig
from hyirl.hyper import load_hyper_run
from hyirl.networks import sample_tanh_gaussian

FIELDS = ("obs", "action", "next_obs", "reward", "terminal")
PERCENTILES = (0, 1, 10, 50, 90, 99, 100)


def percentiles(name: str, x) -> None:
    x = np.asarray(x)
    print(f"  {name:24s} mean {x.mean():8.2f} | " + " ".join(f"{v:8.2f}" for v in np.percentile(x, PERCENTILES)))


def soft_value(saved, obs, key):
    agent, state, alpha = saved.learner.agent, saved.learner.state, float(jnp.exp(saved.learner.state.log_alpha))
    action, log_prob = sample_tanh_gaussian(*agent.actor.apply(state.actor_params, obs), key)
    return agent.critic.apply(state.critic_target, obs, action).min(0) - alpha * log_prob


def critic_against_rewards(saved, stored: dict, rows: int = 20_000) -> None:
    agent, state = saved.learner.agent, saved.learner.state
    # the reward HyPER stores with each model transition (with absorbing states, a terminal's value too)
    learned_reward = jax.jit(partial(saved.disc.reward_fn(agent.cfg.gamma), saved.disc_state.params))
    print(f"percentiles {PERCENTILES}; gamma {agent.cfg.gamma}, alpha {float(jnp.exp(state.log_alpha)):.3f}")
    for name in ("model_buffer", "buffer"):
        size = len(stored[f"{name}/obs"])
        picked = np.random.default_rng(0).choice(size, min(size, rows), replace=False)
        batch = {k: jnp.asarray(stored[f"{name}/{k}"][picked]) for k in FIELDS}
        # model rows hold the reward SAC trains on; real rows are labelled here with the same discriminator
        reward = batch["reward"] if name == "model_buffer" else learned_reward(batch)
        q = agent.critic.apply(state.critic_params, batch["obs"], batch["action"]).min(0)
        target = reward + agent.cfg.gamma * (1 - batch["terminal"]) * soft_value(
            saved, batch["next_obs"], jax.random.PRNGKey(1)
        )
        print(f"{name} ({size} rows, {float(batch['terminal'].mean()):.3f} terminal):")
        percentiles("learned reward", reward)
        percentiles("min Q(s, a)", q)
        percentiles("target", target)


class RolloutProbe:
    """Recent real learner states, the latest actor's sampled actions, and the simulator's true next states."""

    def __init__(self, saved, stored: dict, n: int = 1000, recent: int = 2000):
        real_obs = stored["buffer/obs"]
        rows = np.random.default_rng(0).choice(np.arange(len(real_obs) - recent, len(real_obs)), n, replace=False)
        agent, state, env = saved.learner.agent, saved.learner.state, saved.learner.env
        self.obs = jnp.asarray(real_obs[rows])
        self.action = sample_tanh_gaussian(*agent.actor.apply(state.actor_params, self.obs), jax.random.PRNGKey(3))[0]
        env.reset(seed=0)
        next_obs = []
        for obs, action in zip(np.asarray(self.obs), np.asarray(self.action)):
            env.reset_to_observation(obs)
            next_obs.append(env.step(action)[0])
        self.next_obs = np.array(next_obs, np.float32)
        self.spread = stored["buffer/next_obs"].std(0) + 1e-6
        # the noise of oracle_rollouts.py exists for Ant only
        self.noise_unit = model_noise_scale(1.0) if saved.cfg.env == "ant" else None

    def predictions(self, dynamics: Dynamics, model_state):
        """The model's next states for the probe's pairs: the elite mean and one sample, as rollouts draw it."""
        deltas = dynamics.elite_mean_deltas(model_state, self.obs, self.action).mean(0)
        return self.obs + deltas, dynamics.sample_next(model_state, self.obs, self.action, jax.random.PRNGKey(4))

    def model_error(self, predictions) -> tuple[float, float, np.ndarray]:
        errors = [(np.asarray(p) - self.next_obs) / self.spread for p in predictions]
        return np.sqrt((errors[0] ** 2).mean()), np.sqrt((errors[1] ** 2).mean()), np.sqrt((errors[0] ** 2).mean(0))

    def noise_equivalent(self, predictions) -> tuple[float, float]:
        """The error as ``oracle_rollouts.py --model-noise K``'s K: the rms over numbers of each number's rms
        error over its K = 1 noise standard deviation (the noise of K itself scores K), elite mean and sampled."""
        errors = [np.asarray(p) - self.next_obs for p in predictions]
        return tuple(float(np.sqrt(((e**2).mean(0) / self.noise_unit**2).mean())) for e in errors)

    def report(self, label: str, dynamics: Dynamics, model_state) -> None:
        predictions = self.predictions(dynamics, model_state)
        mean_error, sampled_error, per_number = self.model_error(predictions)
        print(f"{label}: rms one-step error / spread, elite mean {mean_error:.3f}, sampled {sampled_error:.3f}")
        print("  per number (elite mean): " + " ".join(f"{v:.2f}" for v in per_number))
        if self.noise_unit is not None:
            mean_k, sampled_k = self.noise_equivalent(predictions)
            print(f"  as the noise's K: elite mean {mean_k:.2f}, sampled {sampled_k:.2f}")


def value_at_model_states(saved, probe: RolloutProbe) -> None:
    _, sampled = probe.predictions(saved.dynamics, saved.model_state)
    model_v = np.asarray(soft_value(saved, sampled, jax.random.PRNGKey(5)))
    real_v = np.asarray(soft_value(saved, jnp.asarray(probe.next_obs), jax.random.PRNGKey(5)))
    gap = model_v - real_v
    print(
        f"soft value at the model's next states {model_v.mean():.1f}, at the real ones {real_v.mean():.1f}: "
        f"mean gap {gap.mean():.1f}, rms gap {np.sqrt((gap**2).mean()):.1f}, model above real in {np.mean(gap > 0):.0%}"
    )


def refit(saved, stored: dict, probe: RolloutProbe, max_epochs: int, every: int, fresh: str | None) -> None:
    cfg = dataclasses.replace(saved.dynamics.cfg, max_epochs=max_epochs, max_epoch_steps=None, max_validation=None)
    if fresh:
        members, width = (int(n) for n in fresh.split("x"))
        elites = min(DynamicsConfig.elites, members)  # the paper's 5, whatever the run's model had
        cfg = dataclasses.replace(cfg, members=members, elites=elites, hidden=(width,) * 4)
    dynamics = Dynamics(saved.dynamics.obs_dim, saved.dynamics.act_dim, cfg)
    model_state = dynamics.init(jax.random.PRNGKey(6)) if fresh else saved.model_state
    hybrid = buffers.insert(
        buffers.empty(int(stored["hybrid/capacity"]), dynamics.obs_dim, dynamics.act_dim),
        {k: jnp.asarray(stored[f"hybrid/{k}"]) for k in FIELDS},
    )
    start = time.time()

    def on_epoch(progress):
        if progress["epochs"] % every == 0:
            elites = np.argsort(progress["best_mse"])[: cfg.elites]
            best = progress["state"].replace(params=progress["best_params"], elites=jnp.asarray(elites, jnp.int32))
            print(
                f"epoch {progress['epochs']} ({time.time() - start:.0f} s), validation MSE "
                + " ".join(f"{v:.4f}" for v in progress["best_mse"])
            )
            size = f"a fresh {fresh} model" if fresh else "the checkpoint's model"
            probe.report(f"  {size} after {progress['epochs']} more epochs", dynamics, best)

    _, info = dynamics.fit(model_state, hybrid, np.random.default_rng(1), on_epoch=on_epoch)
    print(f"refit stopped: {info}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--refit", type=int, default=0, metavar="EPOCHS")
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--fresh", metavar="MEMBERSxWIDTH", help="refit a model of this size from scratch")
    args = parser.parse_args()
    saved = load_hyper_run(args.run)
    stored = np.load(args.run / "checkpoints" / "learner.npz")
    print(f"== {args.run}: checkpoint at {saved.learner.env_steps} real steps")
    critic_against_rewards(saved, stored)
    probe = RolloutProbe(saved, stored)
    probe.report("the checkpoint's model", saved.dynamics, saved.model_state)
    value_at_model_states(saved, probe)
    if args.refit:
        refit(saved, stored, probe, args.refit, args.every, args.fresh)


if __name__ == "__main__":
    main()
