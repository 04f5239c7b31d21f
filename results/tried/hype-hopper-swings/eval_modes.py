"""Evaluate a run's checkpointed policy deterministically (as the runs' evaluations do) and stochastically.

Used to ask whether HyPE's low Hopper evaluations are an artifact of evaluating the mean action:
    python results/tried/hype-hopper-swings/eval_modes.py CHECKPOINT.npz hopper [FIRST_SEED]
CHECKPOINT.npz is a run directory's checkpoints/learner.npz (not committed: ~13 MB each).
"""

import sys

import numpy as np

from hyirl import checkpoint
from hyirl.envs import make_env
from hyirl.learner import evaluate_with_lengths
from hyirl.sac import NumpyPolicy

path, env_name = sys.argv[1], sys.argv[2]
first_seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
arrays, meta = checkpoint.load_npz(path, "checkpoint")
prefix = "state/actor_params/"
policy = NumpyPolicy(checkpoint.nest({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}))
env = make_env(env_name)  # the paper's trembling, as in the runs' evaluations
print(f"{path}: learner steps {meta['env_steps']}")
for mode in ("deterministic", "stochastic"):
    rng = np.random.default_rng(0)
    act = policy if mode == "deterministic" else (lambda obs: policy(obs, rng.standard_normal(policy.act_dim)))
    totals, lengths = evaluate_with_lengths(act, env, 10, first_seed)
    returns = [round(r) for r in totals]
    print(f"{mode}: mean {np.mean(returns):.0f}, returns {returns}, lengths {lengths.tolist()}")
