"""End to end: the learned reward really imitates the expert (Pendulum, with the shipped expert).

The other loop tests check mechanics (counting, resume, batch mixing) and pass whatever the reward
says. These two fail when the IRL wiring is wrong; each was broken by hand to see it fail (the
docstrings say how). Pendulum is cheap: the shipped expert holds the pendulum up (about -180), an
untrained policy lets it hang and spin (about -1,200 or below).

The settings are the loops' own, shrunk to fit a test: small networks, a discriminator update every
128 steps, and a constant discriminator step (the paper's lr0/k decay moves each weight by well under
0.01 in 50 updates, too little to learn anything in a test-sized run).
"""

import json

import jax
import numpy as np
import pytest

from hyirl import checkpoint
from hyirl.demos import expert_demos, trajectory_returns
from hyirl.discriminator import Discriminator, DiscriminatorConfig
from hyirl.dynamics import DynamicsConfig
from hyirl.envs import make_env
from hyirl.hyper import HyPERConfig, train_hyper
from hyirl.irl import IRLConfig, train_irl
from hyirl.learner import evaluate
from hyirl.sac import SAC, NumpyPolicy, SACConfig

SAC_64 = SACConfig(hidden=(64, 64), gamma=0.98, tau=0.02, learning_rate=7.3e-4, optimizer="oadam")
DISC_64 = DiscriminatorConfig(hidden=(64, 64), batch_size=512, harmonic_decay=False, learning_rate=1e-3)


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _untrained_return(sac_config, seed):
    """The return of the policy every run starts from (OnlineSAC initialises SAC with PRNGKey(seed))."""
    agent = SAC(3, 1, sac_config)
    policy = NumpyPolicy(agent.init(jax.random.PRNGKey(seed)).actor_params)
    return float(evaluate(policy, make_env("pendulum", p_tremble=0.0), 5, seed=123).mean())


def _learned_rewards(arrays, disc_config, pairs: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean learned reward -f of each set of (s, a) pairs under a checkpoint's discriminator."""
    disc = Discriminator(3, 1, disc_config)
    part = {k[len("disc/") :]: v for k, v in arrays.items() if k.startswith("disc/")}
    params = checkpoint.unflatten(disc.init(jax.random.PRNGKey(0)), part).params
    return {name: float(disc.reward(params, dict(obs=x[:, :3], action=x[:, 3:])).mean()) for name, x in pairs.items()}


def _pairs(arrays, rows):
    return np.concatenate([arrays["buffer/obs"][rows], arrays["buffer/action"][rows]], 1)


def _assert_imitates(run_dir, expert, cfg) -> None:
    """The run's final discriminator ranks expert pairs above its learner's first 1,000 real pairs,
    and its best evaluation among the last three closes at least half the gap to the expert's return."""
    expert_pairs, expert_return = expert
    arrays, _ = checkpoint.load_npz(run_dir / "checkpoints" / "learner.npz")
    rewards = _learned_rewards(arrays, cfg.disc, dict(expert=expert_pairs, first=_pairs(arrays, slice(0, 1000))))
    assert rewards["expert"] > rewards["first"] + 0.1, rewards
    start = _untrained_return(cfg.sac, cfg.seed)
    best_late = max(r["eval_return_mean"] for r in _records(run_dir)[-3:])
    assert best_late > start + 0.5 * (expert_return - start), (start, best_late, expert_return)


@pytest.fixture(scope="module")
def expert():
    demos, _ = expert_demos("pendulum", 4)
    pairs = np.concatenate([demos["observations"], demos["actions"]], 1)
    return pairs, float(trajectory_returns(demos).mean())


def test_hype_imitates_the_expert(expert, tmp_path):
    """Guards the model-free loop's reward wiring (HyPE; MM, FILTER and BC-Reg share it).

    After 6k steps the final discriminator ranks expert pairs above the learner's first (untrained)
    pairs, and the learner's return has closed at least half the gap to the expert's.
    Broken by hand, each fails: the reward's sign flipped where the loop hands it to SAC
    (``reward_fn=disc.reward`` made ``+f``): the return stays at or below the untrained policy's;
    expert and learner pairs swapped in the loop's discriminator update: the reward ranks the
    learner's pairs above the expert's, and the return does not rise."""
    cfg = IRLConfig(
        algo="hype",
        env="pendulum",
        steps=6000,
        train_every=128,
        eval_every=1000,
        eval_episodes=5,
        demos=4,
        sac=SAC_64,
        disc=DISC_64,
        buffer_size=20_000,
        disc_samples="recent",
        disc_trajectories=2,
        expert_schedule=((0.5, 0.5, 20_000),),
        reference_rounds=False,
    )
    (run_dir,) = train_irl(cfg, tmp_path / "hype", progress=False)
    _assert_imitates(run_dir, expert, cfg)


def test_hyper_imitates_the_expert(expert, tmp_path):
    """Guards HyPER's reward wiring: SAC trains on model rollouts only, so the learned reward is the
    only way the expert reaches the policy besides the start states and the model's data.

    After 2.5k real steps the final discriminator ranks expert pairs above the learner's first real
    pairs, and the deployed policy's return has closed at least half the gap to the expert's.
    Broken by hand, each fails: the reward's sign flipped in the loop's reward function (``+f``):
    the return stays near the untrained policy's; expert and learner pairs swapped in the loop's
    discriminator update: the learner's pairs are ranked above the expert's."""
    cfg = HyPERConfig(
        env="pendulum",
        steps=2500,
        eval_every=500,
        eval_episodes=5,
        demos=4,
        p_tremble=0.0,
        exploration_steps=200,
        epoch_length=200,
        act_chunk=50,
        model_every=100,
        rollouts_per_step=10,
        rollout_schedule=(1, 2, 15, 15),
        updates_per_step=10,
        disc_every=200,
        disc_pairs=400,
        real_capacity=10_000,
        sac=SACConfig(hidden=(64, 64)),
        model=DynamicsConfig(members=3, elites=2, hidden=(64, 64), max_epochs=5, patience=2, first_fit_max_epochs=20),
        disc=DISC_64,
        checkpoint_every=100_000,
    )
    _assert_imitates(train_hyper(cfg, tmp_path / "hyper", progress=False), expert, cfg)
