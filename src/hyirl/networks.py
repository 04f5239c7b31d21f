"""Flax networks shared by the methods: MLPs, the tanh-Gaussian actor, twin critics."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # as in SB3 and pytorch_sac (spec §3)


class MLP(nn.Module):
    hidden: Sequence[int]
    out: int
    # "torch": orthogonal weights (gain 1) and PyTorch's default biases U(±1/sqrt(fan_in)), as the
    # reference initialises its discriminator (spec §2); "torch-default": PyTorch's nn.Linear default,
    # weights and biases U(±1/sqrt(fan_in)), as SB3 initialises the reference's SAC networks;
    # "xavier": Xavier-uniform weights and zero biases, as pytorch_sac initialises HyPER's (spec §3.5);
    # "lecun": flax's default (LeCun normal, zero bias).
    weight_init: str = "lecun"

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = nn.relu(self._dense(width, x.shape[-1])(x))
        return self._dense(self.out, x.shape[-1])(x)

    def _dense(self, width: int, fan_in: int) -> nn.Dense:
        if self.weight_init == "lecun":
            return nn.Dense(width)
        if self.weight_init == "xavier":
            return nn.Dense(width, kernel_init=nn.initializers.xavier_uniform())
        bound = 1.0 / fan_in**0.5
        uniform = lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)  # noqa: E731
        kernel_init = uniform if self.weight_init == "torch-default" else nn.initializers.orthogonal()
        return nn.Dense(width, kernel_init=kernel_init, bias_init=uniform)


class Actor(nn.Module):
    """Squashed Gaussian policy: returns the pre-tanh mean and the clamped log-std."""

    hidden: Sequence[int]
    act_dim: int
    weight_init: str = "lecun"

    @nn.compact
    def __call__(self, obs):
        out = MLP(self.hidden, 2 * self.act_dim, self.weight_init)(obs)
        mean, log_std = jnp.split(out, 2, axis=-1)
        return mean, jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)


class TwinCritic(nn.Module):
    """Two independent Q networks evaluated together; output shape (2, batch)."""

    hidden: Sequence[int]
    weight_init: str = "lecun"

    @nn.compact
    def __call__(self, obs, act):
        x = jnp.concatenate([obs, act], -1)
        return jnp.stack([MLP(self.hidden, 1, self.weight_init)(x)[..., 0] for _ in range(2)])


def sample_tanh_gaussian(mean, log_std, key):
    """Reparameterised squashed-Gaussian sample and its log-probability (summed over action dims)."""
    std = jnp.exp(log_std)
    noise = jax.random.normal(key, mean.shape)
    pre_tanh = mean + std * noise
    action = jnp.tanh(pre_tanh)
    log_prob = -0.5 * noise**2 - log_std - 0.5 * jnp.log(2 * jnp.pi)
    # log |d tanh(u)/du| = 2 (log 2 - u - softplus(-2u)), numerically stable form
    log_prob -= 2 * (jnp.log(2.0) - pre_tanh - jax.nn.softplus(-2 * pre_tanh))
    return action, log_prob.sum(-1)
