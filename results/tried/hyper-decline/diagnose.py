"""Diagnostic: when a HyPER Hopper policy declines, is it the learned reward or the policy search?

Takes checkpoints of one run saved at several points (``runs/hdiag.sh`` keeps one per segment) and:

1. runs each checkpoint's deterministic policy in the real env (evaluation env, 10 seeds): true return
   and episode length;
2. scores the real episodes of every policy, and the expert's demonstrations, with every checkpoint's
   discriminator: mean learned reward r = -f per step, and per episode (sum over its steps);
3. prints each policy's critic estimate Q(s0, pi(s0)) beside the discounted learned return it actually
   collects in the real env under its own discriminator, and the distance of its actions from the
   expert's on the expert's states.

If a later discriminator scores a later (worse) policy's episodes above an earlier (better) policy's,
the reward drives the decline; if it still prefers the better policy, the policy search is failing to
optimise a reward that is right.

Run from the repository root:
    python results/tried/hyper-decline/diagnose.py RUN_DIR CHECKPOINT.npz [CHECKPOINT.npz ...]
"""

import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from hyirl.demos import expert_demos
from hyirl.discriminator import Discriminator
from hyirl.envs import get_task, make_env
from hyirl.hyper import HyPERConfig
from hyirl.learner import LoopConfig, OnlineSAC, episode, restore_learner
from hyirl.presets import build_config
from hyirl.sac import SAC

EPISODES, GAMMA = 10, 0.99


def load(cfg, task, checkpoint: Path):
    env = make_env(task, p_tremble=cfg.p_tremble)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    agent, disc = SAC(obs_dim, act_dim, cfg.sac), Discriminator(obs_dim, act_dim, cfg.disc)
    learner = OnlineSAC(env, agent, LoopConfig(cfg.real_capacity, 0, cfg.act_chunk), cfg.seed)
    meta, extras = restore_learner(learner, checkpoint, dict(disc=disc.init(jax.random.PRNGKey(0))))
    return meta["env_steps"], agent, learner, disc, extras["disc"].params


def learned_rewards(reward, steps) -> np.ndarray:
    """r = -f of one real episode's (obs, action, true reward) steps under a discriminator's ``reward``."""
    obs, actions = (jnp.asarray(np.stack(x), jnp.float32) for x in list(zip(*steps))[:2])
    return np.asarray(reward(obs, actions))


def main(run_dir: Path, checkpoints: list[Path]) -> None:
    cfg = build_config(HyPERConfig, json.loads((run_dir / "config.json").read_text()), {})
    task = get_task(cfg.env)
    env = make_env(task, p_tremble=cfg.p_tremble)
    demos, _ = expert_demos(cfg.env, cfg.demos)
    expert_obs = jnp.asarray(demos["observations"], jnp.float32)
    expert_act = jnp.asarray(np.clip(demos["actions"], -1 + 1e-6, 1 - 1e-6), jnp.float32)

    names, rewards_of, policies = [], [], {}
    for path in checkpoints:
        steps, agent, learner, disc, disc_params = load(cfg, task, path)
        name = f"{steps / 1000:g}k"
        names.append(name)
        rewards_of.append(jax.jit(lambda o, a, p=disc_params, d=disc: d.reward(p, dict(obs=o, action=a))))
        episodes = [list(episode(env, learner.policy, 1_000_000 + i)) for i in range(EPISODES)]
        obs0 = jnp.asarray(np.stack([e[0][0] for e in episodes]), jnp.float32)
        q0 = agent.critic.apply(learner.state.critic_params, obs0, learner.policy(np.asarray(obs0))).min(0)
        expert_gap = float(((learner.policy(np.asarray(expert_obs)) - expert_act) ** 2).mean())
        policies[name] = dict(episodes=episodes, q0=float(q0.mean()), expert_gap=expert_gap)

    print(f"== {run_dir}, checkpoints {', '.join(names)}; {EPISODES} real episodes each\n")
    print("policy | true return | length | Q(s0) | discounted learned return (own disc) | action MSE to expert")
    for i, name in enumerate(names):
        p = policies[name]
        own = []
        for e in p["episodes"]:
            r = learned_rewards(rewards_of[i], e)
            own.append(float((r * GAMMA ** np.arange(len(r))).sum()))
        true = [sum(x[2] for x in e) for e in p["episodes"]]
        lengths = [len(e) for e in p["episodes"]]
        print(
            f"{name:>6} | {np.mean(true):7.0f} ± {np.std(true):4.0f} | {np.mean(lengths):6.0f} | {p['q0']:6.1f} | "
            f"{np.mean(own):6.1f} | {p['expert_gap']:.4f}"
        )

    rows = {f"policy {n}": policies[n]["episodes"] for n in names}
    rows["expert demos"] = None
    for title, per_episode in (("mean learned reward per step", False), ("learned reward per episode", True)):
        print(f"\n{title}: rows = whose transitions, columns = whose discriminator")
        print(f"{'':>13} | " + " | ".join(f"{n:>7}" for n in names))
        for row, eps in rows.items():
            cells = []
            for reward in rewards_of:
                if eps is None:  # demos: per-step mean; per episode = 1000 steps of it
                    r = float(np.asarray(reward(expert_obs, expert_act)).mean())
                    cells.append(r * 1000 if per_episode else r)
                    continue
                sums = [learned_rewards(reward, e) for e in eps]
                cells.append(np.mean([s.sum() for s in sums]) if per_episode else np.concatenate(sums).mean())
            print(f"{row:>13} | " + " | ".join(f"{c:7.2f}" if not per_episode else f"{c:7.0f}" for c in cells))


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
