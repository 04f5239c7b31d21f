"""Screen the actors of an expert run's portable checkpoints (copied after each evaluation) on more
episodes than the run's own 5 + 20, on seeds of their own (30,000 on; the run screens on 10,000 and
confirms on 20,000, `hyirl expert eval` uses 100,000), and write the chosen actor as a policy file.

    python results/tried/humanoid-expert/screen_snapshots.py SNAPSHOT_DIR EPISODES OUT_POLICY [MIN_STEPS]

Prints one line per snapshot (steps, full-length share, mean return), then the pick: the most
full-length episodes, then the highest mean return, as the expert runs choose.
"""

import sys
from pathlib import Path

import numpy as np

from hyirl import checkpoint
from hyirl.envs import get_task, make_env
from hyirl.learner import evaluate_with_lengths
from hyirl.sac import NumpyPolicy

snapshots, episodes, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
min_steps = int(sys.argv[4]) if len(sys.argv) > 4 else 0
env = make_env(get_task("humanoid"), p_tremble=0.0, truncated_obs=True)
prefix = "state/actor_params/params/"
scores = []
for path in sorted(snapshots.glob("portable-*.npz"), key=lambda p: int(p.stem.split("-")[1])):
    arrays, meta = checkpoint.load_npz(path, "checkpoint")
    if meta["env_steps"] < min_steps:
        continue
    actor = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
    policy = NumpyPolicy({"params": checkpoint.nest(actor)})
    returns, lengths = evaluate_with_lengths(policy, env, episodes, seed=30_000)
    score = (float(np.mean(lengths >= env.horizon)), float(returns.mean()))
    print(f"{meta['env_steps']:>8}: full length {score[0]:.2f}, mean return {score[1]:,.1f}", flush=True)
    scores.append((score, meta["env_steps"], actor))
(best, steps, actor) = max(scores, key=lambda s: s[0])
meta = dict(env="humanoid", gym_id="Humanoid-v5", truncated_obs=True, hidden=[256, 256], seed=0, steps=steps)
checkpoint.save_npz(out, actor, dict(meta, selection_return=best[1], selection=f"{episodes} episodes from seed 30000"))
print(f"pick: {steps} steps, full length {best[0]:.2f}, mean return {best[1]:,.1f} -> {out}")
