"""Optimistic Adam exactly as the reference uses it (Daskalakis et al. 2018; spec §2, §3.1).

Why not ``optax.optimistic_adam``: its first step is -lr * sign(g), the reference's is
-2 lr * sign(g), and because the reference re-creates the discriminator optimiser before every
update, *every* discriminator step is a first step. Per step t (raw moments m, v):

    theta <- theta + s_t * m_{t-1} / (sqrt(v_{t-1}) + eps) - 2 s_t * m_t / (sqrt(v_t) + eps),
    s_t = lr * sqrt(1 - b2^t) / (1 - b1^t).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class OAdamState(NamedTuple):
    count: jax.Array
    mu: optax.Updates
    nu: optax.Updates


def oadam(learning_rate: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> optax.GradientTransformation:
    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return OAdamState(count=jnp.zeros([], jnp.int32), mu=zeros, nu=jax.tree.map(jnp.zeros_like, params))

    def update(grads, state, params=None):
        del params
        t = state.count + 1
        step_size = learning_rate * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g**2, state.nu, grads)
        updates = jax.tree.map(
            lambda m_old, v_old, m, v: step_size * (m_old / (jnp.sqrt(v_old) + eps) - 2 * m / (jnp.sqrt(v) + eps)),
            state.mu,
            state.nu,
            mu,
            nu,
        )
        return updates, OAdamState(count=t, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)
