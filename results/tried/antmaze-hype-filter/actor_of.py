"""Write the deterministic actor of a model-free run's checkpoint as a policy .npz that
`hyirl.experts.load_policy` (and results/tried/antmaze-bc/episodes.py) read.

    python results/tried/antmaze-hype-filter/actor_of.py RUN_DIR/checkpoints/learner.npz OUT.npz
"""

import sys

from hyirl import checkpoint
from hyirl.experts import save_policy

flat, _ = checkpoint.load_npz(sys.argv[1], "checkpoint")
actor = checkpoint.nest(checkpoint.part(flat, "state/actor_params/"))
save_policy(sys.argv[2], actor, dict(source=sys.argv[1]))
