"""Probabilistic dynamics ensemble for HyPER (spec §5.1), trained and sampled with ``jax.vmap``.

Each member is an MLP (SiLU) predicting the mean and a soft-bounded log-variance of Δobs from the
normalised (obs, action). The members are trained together on per-member bootstrap samples of the
training split, with early stopping on the held-out split, and the members with the lowest
validation error become the elites used for rollouts. The reference's reward head is left out: the
rewards of model transitions are always relabelled by the discriminator.

Training is warm-started: each call continues from the current weights, as in the reference
(mbrl-lib keeps its model between calls). ``max_epochs`` bounds the epochs per call and
``max_epoch_steps`` the Adam steps per epoch, so that a call's cost need not grow with the buffer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hyirl.buffers import Buffer
from hyirl.errors import check_choice, check_config, check_widths


@dataclasses.dataclass(frozen=True)
class DynamicsConfig:
    members: int = 7
    elites: int = 5
    hidden: tuple[int, ...] = (400, 400, 400, 400)
    learning_rate: float = 3e-4
    # Cosine-annealed learning rate with this period in Adam steps, counted over the whole run and
    # periodic as torch's CosineAnnealingLR (the reference's schedule_model_lr: Walker2d and AntMaze,
    # T_max 30,000, eta_min 1e-9, spec §5.1, §10.21); None: constant.
    cosine_lr_period: int | None = None
    weight_decay: float = 5e-5  # L2 added to the gradient, as torch's Adam(weight_decay) does
    batch_size: int = 256  # per member
    validation_ratio: float = 0.2
    # "random" rows, or "spatial": the same share of every cell of a 50 x 50 grid over the first two
    # observation numbers, the ant's x, y on AntMaze (the reference's model pretraining, spec §5.8)
    validation_split: Literal["random", "spatial"] = "random"
    max_validation: int | None = None  # cap on held-out rows (their error is computed every epoch)
    patience: int = 10  # stop after this many epochs in which no member improved by > ``improvement``
    improvement: float = 0.01
    max_epochs: int | None = None  # per training call; None: until early stopping
    first_fit_max_epochs: int | None = None  # the first call (a cold model) may need many more epochs
    max_epoch_steps: int | None = None  # Adam steps per epoch at most; None: one full pass over the training rows
    clip_mean: float | None = None  # clamp predicted means to [-c, c] (reference: 40 on Ant, Walker)
    min_logvar: float = -10.0
    max_logvar: float = 0.5

    def __post_init__(self):
        elites = (
            [] if 0 < self.elites <= self.members else [f"elites={self.elites} must be in [1, members={self.members}]"]
        )
        check_config(
            self,
            positive=(
                "members",
                "learning_rate",
                "batch_size",
                "patience",
                "max_validation",
                "max_epoch_steps",
                "cosine_lr_period",
            ),
            # max_epochs=0 refits nothing and only re-selects the elites
            non_negative=("weight_decay", "improvement", "max_epochs", "first_fit_max_epochs"),
            fractions=("validation_ratio",),
            problems=elites
            + check_widths("model.hidden", self.hidden)
            + check_choice("model.validation_split", self.validation_split, ("random", "spatial")),
        )


def model_learning_rate(cfg: DynamicsConfig, eta_min: float = 1e-9):
    """The model's Adam learning rate: constant, or torch's periodic cosine annealing over Adam steps."""
    if cfg.cosine_lr_period is None:
        return cfg.learning_rate
    return lambda step: (
        eta_min + (cfg.learning_rate - eta_min) * 0.5 * (1 + jnp.cos(jnp.pi * step / cfg.cosine_lr_period))
    )


def spatially_stratified(xy: np.ndarray, ratio: float, rng: np.random.Generator, bins: int = 50) -> np.ndarray:
    """A held-out mask with ``floor(ratio * n)`` random points of every cell (holding n points) of a
    ``bins`` x ``bins`` grid over the points' extent: every region of the maze is validated in
    proportion, not only the densely visited ones (spec §5.8)."""
    cells = np.zeros(len(xy), np.int64)
    for axis in range(2):
        edges = np.linspace(xy[:, axis].min(), xy[:, axis].max(), bins + 1)[1:-1]
        cells = cells * bins + np.searchsorted(edges, xy[:, axis], side="right")
    order = np.lexsort((rng.random(len(xy)), cells))  # by cell, random within a cell
    sorted_cells = cells[order]
    first = np.searchsorted(sorted_cells, sorted_cells, side="left")
    counts = np.bincount(sorted_cells, minlength=bins * bins)[sorted_cells]
    held_out = np.zeros(len(xy), bool)
    held_out[order] = np.arange(len(xy)) - first < np.floor(ratio * counts)
    return held_out


class HalvedDense(nn.Module):
    """The parameters of ``Dense(2 * features)``, returned as its two output halves, each its own matmul.

    Splitting one output instead makes the gradient concatenate the halves, and XLA's CPU backend fuses
    that concatenation with the log-variance bounds into a slow loop: a sixth of a fit's Adam step on
    AntMaze's model (docs/benchmarks.md, "The model's output layer")."""

    features: int
    kernel_init: Callable

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", self.kernel_init, (x.shape[-1], 2 * self.features))
        bias = self.param("bias", nn.initializers.zeros_init(), (2 * self.features,))
        f = self.features
        return x @ kernel[:, :f] + bias[:f], x @ kernel[:, f:] + bias[f:]


class GaussianMLP(nn.Module):
    """One member: mean and soft-bounded log-variance of the next-observation delta."""

    hidden: tuple[int, ...]
    out_dim: int
    min_logvar: float
    max_logvar: float

    @nn.compact
    def __call__(self, x):
        # std 1/(2 sqrt(fan_in)), truncated normal (spec §5.1)
        init = nn.initializers.variance_scaling(0.25, "fan_in", "truncated_normal")
        for width in self.hidden:
            x = nn.silu(nn.Dense(width, kernel_init=init)(x))
        # named as the Dense it replaces, so that checkpoints and shipped models keep their parameter tree
        mean, logvar = HalvedDense(self.out_dim, init, name=f"Dense_{len(self.hidden)}")(x)
        logvar = self.max_logvar - nn.softplus(self.max_logvar - logvar)
        logvar = self.min_logvar + nn.softplus(logvar - self.min_logvar)
        return mean, logvar


class DynamicsState(flax.struct.PyTreeNode):
    params: Any  # every leaf has a leading member axis
    opt_state: Any
    input_mean: jax.Array
    input_std: jax.Array
    elites: jax.Array  # member indices, best validation error first
    val_mse: jax.Array  # per member, from the last training call


class Dynamics:
    def __init__(self, obs_dim: int, act_dim: int, cfg: DynamicsConfig = DynamicsConfig()):
        if not 0 < cfg.elites <= cfg.members:
            raise ValueError(f"elites={cfg.elites} must be in [1, members={cfg.members}]")
        self.obs_dim, self.act_dim, self.cfg = obs_dim, act_dim, cfg
        self.member = GaussianMLP(cfg.hidden, obs_dim, cfg.min_logvar, cfg.max_logvar)
        self.tx = optax.chain(optax.add_decayed_weights(cfg.weight_decay), optax.adam(model_learning_rate(cfg)))
        self._epoch = jax.jit(self._train_epoch, donate_argnums=0)
        # One compiled program: run eagerly, the initialisers compile dozens of small ones (~0.2 s each here).
        self.init = jax.jit(self._init)
        self._validate = jax.jit(self._validation_mse)
        self.sample_next = jax.jit(self._sample_next)

    def _init(self, key) -> DynamicsState:
        keys = jax.random.split(key, self.cfg.members)
        params = jax.vmap(self.member.init, in_axes=(0, None))(keys, jnp.zeros((1, self.obs_dim + self.act_dim)))
        d = self.obs_dim + self.act_dim
        return DynamicsState(
            params=params,
            opt_state=self.tx.init(params),
            input_mean=jnp.zeros(d),
            input_std=jnp.ones(d),
            elites=jnp.arange(self.cfg.elites),
            val_mse=jnp.full(self.cfg.members, jnp.inf),
        )

    # --- pure pieces ---------------------------------------------------------------------------
    def _predict(self, params, state: DynamicsState, obs, action):
        x = (jnp.concatenate([obs, action], -1) - state.input_mean) / state.input_std
        mean, logvar = self.member.apply(params, x)
        if self.cfg.clip_mean is not None:
            mean = jnp.clip(mean, -self.cfg.clip_mean, self.cfg.clip_mean)
        return mean, logvar

    def _nll(self, params, state, batch):
        """Gaussian NLL averaged over rows and dims for each member, summed over members."""

        def member_nll(p, b):
            mean, logvar = self._predict(p, state, b["obs"], b["action"])
            err = mean - (b["next_obs"] - b["obs"])
            return jnp.mean(err**2 * jnp.exp(-logvar) + logvar)

        return jax.vmap(member_nll)(params, batch).sum()

    def _train_epoch(self, state: DynamicsState, data: Buffer, boot, n_train, key):
        """One epoch: ceil(n_train / B) Adam steps (at most ``max_epoch_steps``), each member drawing
        from its own bootstrap sample."""
        cfg = self.cfg
        members = jnp.arange(cfg.members)[:, None]

        def step(i, carry):
            state, key = carry
            key, k = jax.random.split(key)
            rows = boot[members, jax.random.randint(k, (cfg.members, cfg.batch_size), 0, n_train)]
            batch = data.batch(rows)  # (members, B, ...)
            grads = jax.grad(self._nll)(state.params, state, batch)
            updates, opt_state = self.tx.update(grads, state.opt_state, state.params)
            return state.replace(params=optax.apply_updates(state.params, updates), opt_state=opt_state), key

        state, _ = jax.lax.fori_loop(0, self.epoch_steps(n_train), step, (state, key))
        return state

    def epoch_steps(self, n_train):
        """Adam steps in one epoch over ``n_train`` rows: one pass of batches, at most ``max_epoch_steps``."""
        num_steps = (n_train + self.cfg.batch_size - 1) // self.cfg.batch_size
        if self.cfg.max_epoch_steps is not None:
            num_steps = jnp.minimum(num_steps, self.cfg.max_epoch_steps)
        return num_steps

    def _validation_mse(self, state: DynamicsState, data: Buffer, val_rows, n_val):
        """Per-member MSE of the predicted mean on the first ``n_val`` of ``val_rows``, in blocks."""
        block = 1024

        def body(i, total):
            rows = jax.lax.dynamic_slice(val_rows, (i * block,), (block,))
            mask = (i * block + jnp.arange(block)) < n_val
            obs, action, next_obs = data.obs[rows], data.action[rows], data.next_obs[rows]
            mean, _ = jax.vmap(self._predict, in_axes=(0, None, None, None))(state.params, state, obs, action)
            err = ((mean - (next_obs - obs)) ** 2).mean(-1)  # (members, block)
            return total + (err * mask).sum(-1)

        num_blocks = (n_val + block - 1) // block
        return jax.lax.fori_loop(0, num_blocks, body, jnp.zeros(self.cfg.members)) / n_val

    def _sample_next(self, state: DynamicsState, obs, action, key):
        """obs + Δ with Δ ~ N(mean, var) of one random elite per row, computing only that member:
        rows are permuted and split evenly over the elites (padded to a multiple of their number)."""
        n, k = obs.shape[0], self.cfg.elites
        padded = -(-n // k) * k
        k_perm, k_noise = jax.random.split(key)
        perm = jax.random.permutation(k_perm, padded)
        group = lambda a: jnp.pad(a, ((0, padded - n), (0, 0)))[perm].reshape(k, padded // k, -1)  # noqa: E731
        elite_params = jax.tree.map(lambda p: p[state.elites], state.params)
        mean, logvar = jax.vmap(self._predict, in_axes=(0, None, 0, 0))(elite_params, state, group(obs), group(action))
        delta = mean + jnp.exp(0.5 * logvar) * jax.random.normal(k_noise, mean.shape)
        return obs + jnp.zeros((padded, obs.shape[1])).at[perm].set(delta.reshape(padded, -1))[:n]

    def elite_mean_deltas(self, state: DynamicsState, obs, action):
        """Every elite's predicted mean Δ for every row: (elites, rows, obs_dim)."""
        elite_params = jax.tree.map(lambda p: p[state.elites], state.params)
        return jax.vmap(self._predict, in_axes=(0, None, None, None))(elite_params, state, obs, action)[0]

    def disagreement(self, state: DynamicsState, obs, action):
        """Standard deviation of the elites' predicted mean Δ, averaged over dims: where the elites
        disagree the model is likely wrong (docs/hyper.md §8), which an uncertainty penalty uses."""
        return self.elite_mean_deltas(state, obs, action).std(0).mean(-1)

    # --- training call (host loop over epochs, for early stopping) --------------------------------
    def fit_progress_like(self, state: DynamicsState) -> dict:
        """The shape of the progress ``fit`` hands to ``on_epoch``, for reading it back from a checkpoint."""
        shape = dict(state=state, best_params=state.params, best_mse=np.zeros(self.cfg.members, np.float32))
        return dict(shape, key=jax.random.PRNGKey(0), epochs=0, stale=0)

    def _normalise_and_split(self, state: DynamicsState, data: Buffer, rng: np.random.Generator, validation_split):
        """The input normalisation set from every row of ``data``; the held-out rows (padded to whole
        validation blocks) and their number; each member's bootstrap sample of the training rows
        (padded to the buffer's capacity, so that the compiled epoch serves every fill) and their number."""
        cfg = self.cfg
        size, capacity = int(data.size), data.capacity
        if size < 2:
            raise ValueError("the dynamics model needs at least two transitions")
        rows = (int(data.ptr) - 1 - np.arange(size)) % capacity
        valid = np.concatenate([np.asarray(data.obs)[rows], np.asarray(data.action)[rows]], -1).astype(np.float64)
        std = valid.std(0)
        state = state.replace(
            input_mean=jnp.asarray(valid.mean(0), jnp.float32),
            input_std=jnp.asarray(np.where(std < 1e-12, 1.0, std), jnp.float32),
        )
        rows = rows[rng.permutation(size)]
        if (validation_split or cfg.validation_split) == "spatial":
            held_out = spatially_stratified(np.asarray(data.obs)[rows, :2], cfg.validation_ratio, rng)
            rows = np.concatenate([rows[held_out], rows[~held_out]])
            n_val = int(held_out.sum())
            if n_val == 0:
                raise ValueError("the spatial validation split held out no rows: too few rows in each x, y cell")
        else:
            n_val = max(1, int(size * cfg.validation_ratio))
        if cfg.max_validation is not None:
            n_val = min(n_val, cfg.max_validation)
        val_rows, train_rows = rows[:n_val], rows[n_val:]
        n_train = len(train_rows)
        pad = lambda a, n: np.concatenate([a, np.zeros(n - len(a), a.dtype)]).astype(np.int32)  # noqa: E731
        val_rows = jnp.asarray(pad(val_rows, -(-capacity // 1024) * 1024))
        boot = jnp.asarray(pad(train_rows, capacity)[rng.integers(0, n_train, (cfg.members, capacity))])
        return state, (val_rows, n_val, boot, n_train)

    def fit(
        self,
        state: DynamicsState,
        data: Buffer,
        rng: np.random.Generator,
        *,
        first: bool = False,
        validation_split: str | None = None,
        on_epoch: Callable[[dict], None] | None = None,
        resume: dict | None = None,
    ) -> tuple[DynamicsState, dict]:
        """Train on every row of ``data`` (the hybrid buffer) until early stopping or the epoch bound
        (``first_fit_max_epochs`` for the ``first`` call, ``max_epochs`` after); ``validation_split``
        overrides the config's (AntMaze's pretraining holds out a spatial split, spec §5.8);
        ``on_epoch(progress)`` sees the fit after every epoch (``epochs``, ``best_mse`` per member, and
        what ``resume`` needs to go on from there exactly on the same data, rng and settings).

        Returns the state with each member's best weights of this call restored and the elites chosen.
        """
        cfg = self.cfg
        max_epochs = cfg.first_fit_max_epochs if first else cfg.max_epochs
        state, (val_rows, n_val, boot, n_train) = self._normalise_and_split(state, data, rng, validation_split)
        key = jax.random.PRNGKey(int(rng.integers(2**31)))

        if resume is None:
            best_mse = np.asarray(self._validate(state, data, val_rows, n_val))
            best_params = jax.tree.map(jnp.copy, state.params)  # the epoch call donates (reuses) state's buffers
            epochs, stale = 0, 0
        else:
            state, best_params, best_mse, key = (resume[k] for k in ("state", "best_params", "best_mse", "key"))
            epochs, stale = int(resume["epochs"]), int(resume["stale"])
        while stale < cfg.patience and (max_epochs is None or epochs < max_epochs):
            key, k = jax.random.split(key)
            state = self._epoch(state, data, boot, n_train, k)
            mse = np.asarray(self._validate(state, data, val_rows, n_val))
            improved = (best_mse - mse) / np.maximum(best_mse, 1e-12) > cfg.improvement
            best_mse = np.where(improved, mse, best_mse)
            keep = jnp.asarray(improved)
            best_params = jax.tree.map(
                lambda new, old: jnp.where(keep.reshape((-1,) + (1,) * (new.ndim - 1)), new, old),
                state.params,
                best_params,
            )
            stale = 0 if improved.any() else stale + 1
            epochs += 1
            if on_epoch:
                on_epoch(
                    dict(state=state, best_params=best_params, best_mse=best_mse, key=key, epochs=epochs, stale=stale)
                )
        order = np.argsort(best_mse, kind="stable")
        state = state.replace(
            params=best_params,
            elites=jnp.asarray(order[: cfg.elites], jnp.int32),
            val_mse=jnp.asarray(best_mse, jnp.float32),
        )
        info = dict(
            model_epochs=epochs, model_val_mse=float(best_mse[order[: cfg.elites]].mean()), model_rows=int(data.size)
        )
        return state, info
