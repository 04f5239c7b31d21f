"""What a HyPER AntMaze run's critic and learned reward say, read from its checkpoint.

On 20,000 dataset rows: the learned reward r = -f(s, a) and the critic's Q1(s, a) and Q1(s, pi(s)),
by the row's distance to its own goal; then the same for the run's real steps and its model rows.

    python results/tried/antmaze-terminals/hyper_critic.py runs/hyper-antmaze-large-diverse-s0
"""

import json
import sys
from pathlib import Path

import numpy as np

from hyirl.checkpoint import load_npz, nest
from hyirl.demos import antmaze_dataset
from hyirl.discriminator import Discriminator
from hyirl.hyper import HyPERConfig
from hyirl.presets import build_config
from hyirl.td3bc import TD3BC

run = Path(sys.argv[1])
cfg = build_config(HyPERConfig, json.loads((run / "config.json").read_text()), {})
arrays, meta = load_npz(run / "checkpoints" / "learner.npz", "checkpoint")
tree = nest({k: v for k, v in arrays.items() if k.startswith(("state/", "disc/params"))})
agent, disc = TD3BC(31, 8, cfg.td3), Discriminator(31, 8, cfg.disc)


def measure(obs, action):
    obs, action = obs.astype(np.float32), action.astype(np.float32)
    critic = tree["state"]["critic_params"]
    reward = np.asarray(disc.reward(tree["disc"]["params"], dict(obs=obs, action=action)))
    q = np.asarray(agent.critic.apply(critic, obs, action)[0])
    q_pi = np.asarray(agent.critic.apply(critic, obs, agent.act(tree["state"]["actor_params"], obs))[0])
    return reward, q, q_pi, np.linalg.norm(obs[:, :2] - obs[:, -2:], axis=1)


print(f"{run} at {meta['env_steps']:,} env steps")
data = antmaze_dataset(cfg.env)[0]
rows = np.random.default_rng(0).integers(0, len(data["actions"]), 20_000)
reward, q, q_pi, dist = measure(data["observations"][rows], data["actions"][rows])
print(f"dataset rows: r {reward.mean():.1f}, Q(s, a) {q.mean():.0f}, Q(s, pi(s)) {q_pi.mean():.0f}")
for lo, hi in ((0, 0.5), (0.5, 2), (2, 5), (5, 10), (10, 20), (20, 60)):
    m = (dist >= lo) & (dist < hi)
    shares = f"{m.mean():5.1%} of rows, r {reward[m].mean():6.1f}, Q {q[m].mean():6.0f}"
    print(f"  {lo}-{hi} m from their goal: {shares}, Q(s, pi) {q_pi[m].mean():6.0f}")
n = meta["env_steps"]
reward, q, _, dist = measure(arrays["buffer/obs"][:n], arrays["buffer/action"][:n])
print(f"real steps: r {reward.mean():.1f}, Q {q.mean():.0f}, distance to the goal {dist.mean():.1f} m", end=" ")
print(f"(closest {dist.min():.1f})")
model = np.random.default_rng(1).integers(0, len(arrays["model_buffer/obs"]), 20_000)
reward, q, _, dist = measure(arrays["model_buffer/obs"][model], arrays["model_buffer/action"][model])
print(f"model rows: r {reward.mean():.1f}, Q {q.mean():.0f}, distance to the goal {dist.mean():.1f} m")
