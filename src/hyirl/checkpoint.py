"""Atomic, pickle-free checkpoints: any pytree of arrays saved as a flat ``.npz`` plus JSON metadata."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import flax.serialization
import jax
import numpy as np

from hyirl.errors import HyirlError


def flatten(tree: Any) -> dict[str, np.ndarray]:
    state = flax.serialization.to_state_dict(jax.device_get(tree))
    flat: dict[str, np.ndarray] = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}/{k}" if prefix else str(k))
        else:
            flat[prefix] = np.asarray(node)

    walk(state, "")
    return flat


def nest(flat: dict[str, np.ndarray]) -> dict:
    """``{"a/b": x}`` -> ``{"a": {"b": x}}``."""
    nested: dict = {}
    for name, value in flat.items():
        node = nested
        *parents, leaf = name.split("/")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return nested


def part(flat: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays of one saved tree: ``{"state/a": x, "buffer/b": y}``, ``"state/"`` -> ``{"a": x}``."""
    return {k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix)}


def unflatten(template: Any, flat: dict[str, np.ndarray]) -> Any:
    """Rebuild a pytree shaped like ``template`` from :func:`flatten` output."""

    def fill(node, prefix):
        if isinstance(node, dict):
            return {k: fill(v, f"{prefix}/{k}" if prefix else str(k)) for k, v in node.items()}
        if prefix not in flat:
            raise HyirlError(f"checkpoint does not match this model: {prefix} is missing")
        value = flat[prefix]
        if np.shape(value) != np.shape(node):
            raise HyirlError(
                f"checkpoint does not match this model: {prefix} has shape {np.shape(value)}, expected {np.shape(node)}"
            )
        return value

    template_state = flax.serialization.to_state_dict(jax.device_get(template))
    return flax.serialization.from_state_dict(template, fill(template_state, ""))


def save_npz(path: Path, arrays: dict[str, np.ndarray], meta: dict | None = None) -> None:
    """Write arrays (and a JSON ``__meta__`` entry) to ``path`` atomically: temp file, then rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    payload = dict(arrays)
    if meta is not None:
        payload["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(tmp, "wb") as fh:
        np.savez(fh, **payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_npz(path: Path, what: str = "file", keys: tuple[str, ...] | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Load arrays (all, or only ``keys``) and metadata; a missing or corrupt file is a :class:`HyirlError`."""
    path = Path(path)
    if not path.is_file():
        raise HyirlError(f"{what} not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if keys is None or k in keys or k == "__meta__"}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        # numpy answers a non-.npz file with advice to unpickle it; never pass that on
        reason = "not a .npz archive" if "pickle" in str(err) else str(err)
        raise HyirlError(f"corrupt {what} {path}: {reason}") from None
    meta_raw = arrays.pop("__meta__", None)
    meta = json.loads(meta_raw.tobytes().decode()) if meta_raw is not None else {}
    return arrays, meta


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
