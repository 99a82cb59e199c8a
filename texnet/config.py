"""Typed settings from YAML: one file drives both the baseline and the generator trainer.

A config may be a trainer config (LightningCLI: sections under ``model:``) or a flat file with
``frontend:``, ``descriptor:``, ``objective:`` and ``optimize:`` sections; either way the same
dataclasses come out, so the baseline and the generator optimise the same objective.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def load_yaml(path: str | Path | None) -> dict[str, Any]:
    """The YAML mapping in ``path`` (``{}`` for None), with ``model:`` sections lifted to the top level."""
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: config file not found")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a mapping of sections at the top level")
    model = data.get("model")
    if isinstance(model, dict):
        lifted = {k: v for k, v in model.items() if isinstance(v, dict)}
        data = {**data, **lifted}
    return data


def from_section(cls: type[T], section: dict[str, Any] | None, name: str, **overrides) -> T:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys with a clear message."""
    section = dict(section or {})
    section.update({k: v for k, v in overrides.items() if v is not None})
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(section) - fields)
    if unknown:
        raise ValueError(f"config section '{name}': unknown key(s) {unknown}; known: {sorted(fields)}")
    return cls(**section)
