"""The latest actor of an expert run (its portable checkpoint, written at every evaluation) as a
policy file, with the run's policy metadata: for measuring a policy the run's own selection did not
keep (it ranks full-length episodes before return).

    python results/tried/antmaze-steady-ant/latest_policy.py RUN_DIR OUT.npz
"""

import sys
from pathlib import Path

from hyirl import checkpoint
from hyirl.experts import load_policy, save_policy

run = Path(sys.argv[1])
arrays, meta = checkpoint.load_npz(run / "checkpoints" / "portable.npz", "portable checkpoint")
prefix = "state/actor_params/"
actor = checkpoint.nest({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
_, policy_meta = load_policy(run / "best_policy.npz")
save_policy(Path(sys.argv[2]), actor, dict(policy_meta, steps=meta["env_steps"], selection_return=None))
print(f"{sys.argv[2]}: the actor at {meta['env_steps']} steps")
