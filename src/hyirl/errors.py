"""The one exception type for bad user input, and the checks every config runs when it is built
(kept import-light: Ray workers import it)."""

from __future__ import annotations


class HyirlError(Exception):
    """An error caused by the user's input; the CLI prints it as one line and exits with status 2."""


def check_config(config, *, positive=(), non_negative=(), fractions=(), problems=()) -> None:
    """Refuse ``config`` with one :class:`HyirlError` naming every bad field: counts in ``positive`` must
    be > 0, those in ``non_negative`` >= 0, probabilities in ``fractions`` in [0, 1] (None means "unset"
    and passes); ``problems`` adds messages the caller found itself. Configs call this when they are
    built, so a bad value is refused before anything is written or trained."""
    found = list(problems)
    rules = [(positive, lambda v: v > 0, "> 0"), (non_negative, lambda v: v >= 0, ">= 0")]
    rules.append((fractions, lambda v: 0 <= v <= 1, "in [0, 1]"))
    for names, ok, wanted in rules:
        for name in names:
            value = getattr(config, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
                found.append(f"{name}={value!r} must be {wanted}")
    if found:
        raise HyirlError(f"invalid {type(config).__name__}: {'; '.join(found)}")


def check_choice(name: str, value, choices: tuple) -> list[str]:
    """Problems of a setting that takes one of ``choices``."""
    return [] if value in choices else [f"{name}={value!r} must be one of {', '.join(map(repr, choices))}"]


def check_widths(name: str, widths) -> list[str]:
    """Problems of a hidden-layer spec: a non-empty sequence of positive ints."""
    if isinstance(widths, (list, tuple)) and widths and all(isinstance(w, int) and w > 0 for w in widths):
        return []
    return [f"{name}={widths!r} must be a list of positive layer widths"]


def check_sac_only(policy: str, options: dict[str, bool]) -> list[str]:
    """Problems of options that act on SAC's targets (absorbing values, entropy terms) under another policy."""
    return [f"{name}=true works with SAC only (policy=sac)" for name, on in options.items() if on and policy != "sac"]
