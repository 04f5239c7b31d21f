"""Cost of one fused 64-update SAC chunk in the variants the model-free loop uses (Hopper sizes).

    plain        SAC with the true reward and Adam (the foundation benchmark's update)
    mm_oadam     + every batch relabelled by the discriminator, Optimistic Adam (MM)
    hype         + expert rows mixed into every batch (HyPE)
    hype_vmap1   HyPE vmapped over a stack of one seed (how a single seed ran before hyirl 0.2.0)

The variants run interleaved on the same random buffers, so a drift of the machine's speed affects
all alike; the medians over ``--reps`` calls after 3 warm-up calls are printed, in ms per chunk.

    python benchmarks/update_variants.py [--reps 40]
"""

from __future__ import annotations

import argparse
import functools
import time

import jax
import numpy as np

from hyirl import buffers
from hyirl.discriminator import Discriminator
from hyirl.irl import REFERENCE_SAC, expert_fraction_schedule
from hyirl.learner import stack
from hyirl.presets import FAST_DECAY
from hyirl.sac import SAC

OBS_DIM, ACT_DIM, CHUNK = 11, 3, 64


def random_buffer(rng, n: int):
    return buffers.from_arrays(
        obs=rng.normal(size=(n, OBS_DIM)),
        action=rng.uniform(-1, 1, (n, ACT_DIM)),
        next_obs=rng.normal(size=(n, OBS_DIM)),
        reward=rng.normal(size=n),
        terminal=np.zeros(n),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=40)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    replay, expert = random_buffer(rng, 50_000), random_buffer(rng, 64_000)
    disc = Discriminator(OBS_DIM, ACT_DIM)
    disc_params = disc.init(jax.random.PRNGKey(1)).params
    hype_fraction = expert_fraction_schedule(FAST_DECAY)
    agents = {
        "plain": SAC(OBS_DIM, ACT_DIM),
        "mm_oadam": SAC(OBS_DIM, ACT_DIM, REFERENCE_SAC, reward_fn=disc.reward),
        "hype": SAC(OBS_DIM, ACT_DIM, REFERENCE_SAC, reward_fn=disc.reward, expert_fraction=hype_fraction),
    }
    calls = {}  # name -> [compiled update, state, replay, expert, reward params]
    for name, agent in agents.items():
        update = jax.jit(functools.partial(agent._train_chunk, num_updates=CHUNK), donate_argnums=0)
        calls[name] = [
            update,
            agent.init(jax.random.PRNGKey(0)),
            replay,
            expert if agent.expert_fraction else None,
            disc_params if agent.reward_fn else None,
        ]
    hype_chunk = functools.partial(agents["hype"]._train_chunk, num_updates=CHUNK)
    one_seed = jax.vmap(hype_chunk, in_axes=(0, 0, None, 0, None))
    calls["hype_vmap1"] = [
        jax.jit(one_seed, donate_argnums=0),
        stack([agents["hype"].init(jax.random.PRNGKey(0))]),
        stack([replay]),
        expert,
        stack([disc_params]),
    ]
    times = {name: [] for name in calls}
    for rep in range(args.reps + 3):
        for name, call in calls.items():
            update, state, *inputs = call
            t0 = time.perf_counter()
            call[1], _ = jax.block_until_ready(update(state, *inputs, 3e-4))
            if rep >= 3:
                times[name].append(time.perf_counter() - t0)
    base = np.median(times["plain"])
    for name, ts in times.items():
        median = np.median(ts)
        rate = CHUNK / median
        print(f"{name:11s} {1000 * median:7.1f} ms per chunk ({rate:6.1f} updates/s, {median / base:.2f}x plain)")


if __name__ == "__main__":
    main()
