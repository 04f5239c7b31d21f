"""Where the goal terminals put FILTER's resets and HyPER's model starts, by which goal flags them.

For each dataset of the hyirl cache: the terminal rows with the flag at each row's own goal (hyirl
0.16) and at the evaluation goal (D4RL's relabelling, hyirl 0.17), then 100,000 FILTER resets (drawn
by the env's own rule: a uniform stretch between terminal rows, a uniform time in it) and 100,000
HyPER model starts (model_rollouts.sliding_window_rows at 10k, 30k and 50k real steps), and the share of them
within 0.5 m of their own episode's goal.

    python results/tried/antmaze-terminals/starts.py
"""

import numpy as np

from hyirl.demos import antmaze_dataset, trajectory_ends
from hyirl.envs import make_env
from hyirl.model_rollouts import sliding_window_rows

rng = np.random.default_rng(0)
for name in ("antmaze-large-diverse", "antmaze-large-play"):
    d = antmaze_dataset(name)[0]
    at_own_goal = np.linalg.norm(d["observations"][:, :2] - d["goal"], axis=1) <= 0.5
    for flag, terminals in (("own goal", d["rewards"] > 0), ("eval goal", d["terminals"])):
        env = make_env(name)  # FILTER's resets drawn by the training env's own rule
        env.use_expert_resets(dict(d, terminals=terminals), prob=1.0)
        env.reset(seed=0)
        resets = np.array([env._draw_expert_row()[0] for _ in range(100_000)])
        cut = trajectory_ends(dict(d, terminals=terminals))
        model = {k: sliding_window_rows(cut, k * 1000, 100_000, rng) for k in (10, 30, 50)}
        print(
            f"{name} flag at {flag}: {terminals.sum():,} terminal rows ({terminals.mean():.2%}); "
            f"FILTER resets at their goal {at_own_goal[resets].mean():.0%}; HyPER starts at their goal "
            + ", ".join(f"{at_own_goal[rows].mean():.0%} at {k}k" for k, rows in model.items())
        )
