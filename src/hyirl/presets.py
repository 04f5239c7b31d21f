"""Per-task settings of the model-free IRL family, as data (spec §6.1). CLI flags override them."""

from __future__ import annotations

# Expert-fraction schedules for HyPE: segments (rho_start, rho_end, t_end) over sampled batches (spec §3.2).
FAST_DECAY = ((0.2, 0.1, 200_000), (0.1, 0.01, 1_000_000))
SLOW_DECAY = ((0.2, 0.2, 300_000), (0.2, 0.1, 1_000_000))

MODEL_FREE: dict[str, dict] = {
    "hopper": dict(train_every=5_000, bc_weight=1.0, expert_schedule=FAST_DECAY),
    "walker2d": dict(train_every=10_000, bc_weight=0.5, expert_schedule=SLOW_DECAY),
    "ant": dict(train_every=10_000, bc_weight=1.0, expert_schedule=SLOW_DECAY),
    "humanoid": dict(train_every=10_000, bc_weight=0.5, expert_schedule=FAST_DECAY),
    # Cheap task for tests and quick checks (not from the paper).
    "pendulum": dict(train_every=1_000, bc_weight=1.0, expert_schedule=((0.2, 0.1, 20_000),), eval_every=2_000),
}

SHARED = dict(
    steps=1_000_000,
    eval_every=50_000,
    eval_episodes=10,
    reset_prob=0.5,
    disc_trajectories=4,
)


def model_free_preset(env: str) -> dict:
    """The paper's values for ``env`` (any other gymnasium id gets the Hopper values)."""
    return {**SHARED, **MODEL_FREE.get(env, MODEL_FREE["hopper"])}
