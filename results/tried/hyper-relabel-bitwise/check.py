"""Deferred reward recomputation (hyirl 0.9.0) against the eager one it replaced: the same rewards, bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np

from hyirl import buffers
from hyirl.discriminator import Discriminator, DiscriminatorConfig
from hyirl.model_rollouts import make_learned_rewards, make_relabel

disc = Discriminator(11, 3, DiscriminatorConfig(ensemble_size=7, init="lecun"))
params = disc.init(jax.random.PRNGKey(0)).params
rng = np.random.default_rng(0)
cap = 100_000
buf = buffers.empty(cap, 11, 3)
for n in (60_000, 70_000):  # wraps round
    chunk = dict(
        obs=rng.normal(size=(n, 11)),
        action=rng.uniform(-1, 1, (n, 3)),
        next_obs=rng.normal(size=(n, 11)),
        reward=np.zeros(n),
        terminal=np.zeros(n),
    )
    buf = buffers.insert(buf, {k: jnp.asarray(v, jnp.float32) for k, v in chunk.items()})
eager = np.asarray(
    make_learned_rewards(disc.reward)(params, dict(obs=buf.obs, action=buf.action, terminal=buf.terminal))
)
lazy = np.asarray(make_relabel(disc.reward)(buf, params, int(buf.size)).reward)
print("max abs diff", np.abs(eager - lazy).max(), "bitwise equal:", np.array_equal(eager, lazy))
