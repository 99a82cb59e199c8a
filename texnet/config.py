"""Typed settings from YAML, in ONE dialect for every command: the trainer's.

    model: {frontend: ..., descriptor: ..., objective: ..., generator: ..., lr: ...}
    optimize: {...}            # the baseline (synthesize.py optimize, and the end-of-training comparison)
    data: ..., trainer: ..., samples: ..., compare: ...   # train.py only

Several files merge in order, as ``train.py --config a.yaml --config b.yaml`` does: mappings merge key by
key, anything else is replaced by the later file's value. ``--config`` takes a path or the name of a bundled
config (``--config quickstart``: :func:`texnet.resources.resolve_config`), for every command.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence, TypeVar

import yaml

T = TypeVar("T")
MODEL_SECTIONS = ("frontend", "descriptor", "objective", "generator")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """The YAML mapping in ``path`` (or bundled config name); one-line errors for a missing, unreadable or
    misplaced config."""
    from .resources import resolve_config

    p = resolve_config(path)
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a mapping of sections at the top level")
    flat = [k for k in MODEL_SECTIONS if k in data]
    if flat:
        raise ValueError(f"{p}: section(s) {flat} belong under 'model:' (e.g. model: {{{flat[0]}: ...}})")
    return data


def merge(base: dict, over: dict) -> dict:
    """``over`` merged into ``base`` (a new mapping): nested mappings key by key, the rest replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_configs(paths: Sequence[str | Path]) -> dict[str, Any]:
    """The configs in ``paths`` merged in order."""
    cfg: dict[str, Any] = {}
    for p in paths:
        cfg = merge(cfg, load_yaml(p))
    return cfg


def config_arguments(argv: Sequence[str], flags: Sequence[str] = ("--config", "-c")) -> list[str]:
    """``argv`` with the value of every ``--config X`` / ``--config=X`` resolved to a file (a path as given,
    a bundled config by name), so a parser that only reads files (LightningCLI) takes names too."""
    from .resources import resolve_config

    out = list(argv)
    for i, a in enumerate(out):
        if a in flags and i + 1 < len(out):
            out[i + 1] = str(resolve_config(out[i + 1]))
        elif "=" in a and a.split("=", 1)[0] in flags:
            flag, value = a.split("=", 1)
            out[i] = f"{flag}={resolve_config(value)}"
    return out


def model_section(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    """``cfg['model'][name]`` (empty when absent)."""
    return dict((cfg.get("model") or {}).get(name) or {})


def from_section(cls: type[T], section: dict[str, Any] | None, name: str, **overrides) -> T:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys with a clear message."""
    section = dict(section or {})
    section.update({k: v for k, v in overrides.items() if v is not None})
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(section) - fields)
    if unknown:
        raise ValueError(f"config section '{name}': unknown key(s) {unknown}; known: {sorted(fields)}")
    return cls(**section)
