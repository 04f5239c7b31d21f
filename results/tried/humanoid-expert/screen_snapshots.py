"""Screen Humanoid actors on more episodes than an expert run's own 5 + 20, on seeds of their own
(30,000 on; the run screens on 10,000 and confirms on 20,000, `hyirl expert eval` uses 100,000), and
write the pick as a policy file. Each FILE is a portable checkpoint (copied after an evaluation; it
holds the actor) or a policy file.

    python results/tried/humanoid-expert/screen_snapshots.py EPISODES OUT_POLICY FILE...

One line per file (steps, full-length share, mean return), then the pick: the most full-length
episodes, then the highest mean return, as the expert runs choose.
"""

import sys
from pathlib import Path

import numpy as np

from hyirl import checkpoint
from hyirl.envs import get_task, make_env
from hyirl.learner import evaluate_with_lengths
from hyirl.sac import NumpyPolicy

episodes, out, files = int(sys.argv[1]), Path(sys.argv[2]), [Path(f) for f in sys.argv[3:]]
env = make_env(get_task("humanoid"), p_tremble=0.0, truncated_obs=True)
prefix = "state/actor_params/params/"
scores = []
for path in files:
    arrays, meta = checkpoint.load_npz(path, "checkpoint or policy")
    actor = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)} or arrays
    steps = meta.get("env_steps", meta.get("steps"))
    returns, lengths = evaluate_with_lengths(NumpyPolicy({"params": checkpoint.nest(actor)}), env, episodes, 30_000)
    score = (float(np.mean(lengths >= env.horizon)), float(returns.mean()))
    print(f"{path.name} ({steps} steps): full length {score[0]:.2f}, mean return {score[1]:,.1f}", flush=True)
    scores.append((score, steps, actor))
(best, steps, actor) = max(scores, key=lambda s: s[0])
meta = dict(env="humanoid", gym_id="Humanoid-v5", truncated_obs=True, hidden=[256, 256], seed=0, steps=steps)
meta.update(selection_return=best[1], selection=f"{episodes} episodes from seed 30000")
checkpoint.save_npz(out, actor, meta)
print(f"pick: {steps} steps, full length {best[0]:.2f}, mean return {best[1]:,.1f} -> {out}")
