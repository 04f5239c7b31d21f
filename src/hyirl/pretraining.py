"""Dynamics models fitted once on a whole offline dataset before a run (AntMaze's HyPER, spec §5.8).

A fit on 1M rows takes hours of CPU, so it is done once per dataset and settings: shipped with hyirl
(``shipped_models/``) or cached, and a killed fit goes on from its last finished epoch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import jax
import numpy as np

from hyirl import buffers, checkpoint
from hyirl.demos import cache_dir
from hyirl.dynamics import Dynamics, DynamicsConfig
from hyirl.runs import StepProgress

# Pretrained AntMaze models that ship with hyirl, named as their cache entries (docs/hyper.md).
SHIPPED_MODELS = Path(__file__).parent / "shipped_models"


def pretrained_model(
    dynamics: Dynamics,
    expert: buffers.Buffer,
    model_cfg: DynamicsConfig,
    *,
    patience: int,
    data_name: str | None = None,
    progress: bool = True,
) -> tuple[object, dict]:
    """The model fitted on the whole dataset before the loop, holding out a spatially stratified 20 %
    (spec §5.8), as the reference's pretraining script: a constant learning rate (the run's refits keep
    their schedule) and early stopping after ``patience`` epochs without a 1 % gain. Keyed by those
    settings and the data: its ``data_name`` if given (a generated dataset's recipe, whose rows depend
    on the CPU's floating-point paths, so a fit of the recipe's rows made on another machine serves),
    else its rows. Shipped with hyirl (``shipped_models/``) or cached under the hyirl cache, so the runs
    of every seed share one fit. On 1M AntMaze rows it takes hours on a CPU (minutes an epoch): it
    shows its progress, and keeps it after every epoch in a ``.partial.npz`` beside its cache entry,
    from which a killed fit goes on. The weights are kept without the fit's optimiser state and come
    back with ``dynamics``' fresh one, as the reference's loop builds a new trainer.
    ``info["cached"]``: 0 fitted by this call, 1 from the cache, 2 shipped; ``info["same_rows"]``: 1 if
    the fit saw these rows to the bit, 0 if other rows of the same recipe."""
    fit_cfg = fit_settings(model_cfg, patience)
    fitter = Dynamics(dynamics.obs_dim, dynamics.act_dim, fit_cfg)
    rows_key = model_key(fit_cfg, *(np.asarray(c).tobytes() for c in (expert.obs, expert.action, expert.next_obs)))
    path = cache_dir() / "models" / f"{model_key(fit_cfg, data_name.encode()) if data_name else rows_key}.npz"
    template = fitter.init(jax.random.PRNGKey(0))
    # Kept without the fit's optimiser state, which the loop never uses: a third of the size.
    weights = template.replace(opt_state=())
    for source, found in ((SHIPPED_MODELS / path.name, 2.0), (path, 1.0)):
        if source.exists():
            arrays, info = checkpoint.load_npz(source, "pretrained model")
            state, info = checkpoint.unflatten(weights, arrays), dict(info, cached=found)
            break
    else:
        fitted, info = _fit_keeping_progress(fitter, template, expert, path, progress)
        state = fitted.replace(opt_state=())
        info = dict(info, rows_key=rows_key)
        checkpoint.save_npz(path, checkpoint.flatten(state), info)
        _progress_file(path).unlink(missing_ok=True)
        info = dict(info, cached=0.0)
    # A fit saved before it recorded its rows was keyed by them.
    info["same_rows"] = float(info.pop("rows_key", path.stem) == rows_key)
    if not info["same_rows"]:
        print(
            f"pretrained model: the fit of {data_name}'s rows as made on another machine (a dataset's rows "
            "differ in floating-point detail between CPUs), not of these rows to the bit",
            file=sys.stderr,
        )
    return state.replace(opt_state=dynamics.tx.init(state.params)), info


def fit_settings(model_cfg: DynamicsConfig, patience: int) -> DynamicsConfig:
    """The pretraining's settings: the run's model with a constant learning rate and the given patience."""
    return dataclasses.replace(model_cfg, cosine_lr_period=None, patience=patience)


def model_key(fit_cfg: DynamicsConfig, *data: bytes) -> str:
    """The name of a fit's cache entry (and shipped file): its settings and its data's name or rows."""
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(fit_cfg), sort_keys=True, default=str).encode())
    for part in data:
        digest.update(part)
    return digest.hexdigest()[:16]


def _progress_file(path: Path) -> Path:
    """Where an unfinished fit of the cache entry ``path`` keeps its progress after every epoch."""
    return path.with_name(f"{path.stem}.partial.npz")


def _fit_keeping_progress(fitter: Dynamics, template, expert: buffers.Buffer, path: Path, progress: bool):
    """Fit from ``template`` (or from the progress saved beside ``path``), saving progress every epoch."""
    progress_file = _progress_file(path)
    resume = (
        checkpoint.unflatten(
            fitter.fit_progress_like(template), checkpoint.load_npz(progress_file, "pretraining progress")[0]
        )
        if progress_file.exists()
        else None
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    bar = StepProgress(
        fitter.cfg.first_fit_max_epochs,
        "pretraining the model",
        start=resume["epochs"] if resume else 0,
        enabled=progress,
        unit="epochs",
        score="val mse",
    )

    def keep(fit: dict) -> None:
        checkpoint.save_npz(progress_file, checkpoint.flatten(fit))
        bar.update(fit["epochs"], float(np.mean(fit["best_mse"])))

    with bar:
        return fitter.fit(
            template,
            expert,
            np.random.default_rng(0),
            first=True,
            validation_split="spatial",
            on_epoch=keep,
            resume=resume,
        )
