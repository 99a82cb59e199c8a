"""Load a trained generator safely (weights only: no code from the file runs) as a :class:`Synthesizer`.

    synth = texnet.load_generator("runs/quickstart/last.ckpt")
    wave = synth.generate(seconds=60, seed=3)          # (samples,) float32 at synth.sample_rate
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from .descriptors import DescriptorConfig
from .frontends import FrontendConfig, build_frontend
from .generators import GeneratorConfig, build_generator
from .synthesizer import Synthesizer

# Written into every training checkpoint by texnet.module.TextureModule; kept here so that loading a
# generator (generate, stream) never imports Lightning (about 0.2 GB and a second of start-up).
CHECKPOINT_FORMAT = "texnet-generator-1"


class CheckpointError(ValueError):
    """A file that is not a texnet generator checkpoint; the message is one line naming it."""


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint's tensors and plain data only (``weights_only``: no code from the file runs)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here means "not a usable checkpoint"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{p}: not a loadable texnet checkpoint ({first[:160]})") from None
    hp = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(hp, dict) or ckpt.get("texnet_format") != CHECKPOINT_FORMAT or "state_dict" not in ckpt:
        raise CheckpointError(f"{p}: not a texnet generator checkpoint (written by another program?)")
    return ckpt


# Settings whose default changed: a checkpoint without the key was written when the old value held.
_OLD_DEFAULTS = {
    FrontendConfig: {"n_fft": 1024, "hop_length": 256, "scale": "log1p"},  # the scale was never None
    GeneratorConfig: {"kind": "texture", "channels": 128, "dilations": [1, 2, 4, 8, 16, 32] * 2, "center": False},
}
# Options since removed, with the one value whose behaviour remains.
_REMOVED = {GeneratorConfig: {"magnitude": "exp"}}


def _config(cls, section, path, name: str):
    """``cls`` from a checkpoint's hyperparameter section, one-line errors for what this version cannot rebuild."""
    if not isinstance(section, dict):
        raise CheckpointError(f"{path}: its '{name}' settings are missing")
    known = {f.name for f in dataclasses.fields(cls)}
    values = {**{k: v for k, v in _OLD_DEFAULTS.get(cls, {}).items() if k not in section}, **section}
    for key, kept in _REMOVED.get(cls, {}).items():
        if key in values and values.pop(key) != kept:
            raise CheckpointError(f"{path}: written with {name}.{key}={section[key]!r}, an option this texnet "
                                  f"version no longer has (only {kept!r})")
    unknown = sorted(set(values) - known)
    if unknown:
        raise CheckpointError(f"{path}: unknown {name} setting(s) {unknown} (written by another texnet version?)")
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: bad {name} settings ({e})") from None


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> Synthesizer:
    """Rebuild the generator, its front end and descriptor config from a training checkpoint."""
    ckpt = read_checkpoint(path)
    hp = ckpt["hyper_parameters"]
    try:
        frontend = build_frontend(_config(FrontendConfig, hp.get("frontend"), path, "frontend"))
        gen = build_generator(frontend.n_freq, _config(GeneratorConfig, hp.get("generator"), path, "generator"),
                              frontend.hop_length)
    except ValueError as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: cannot rebuild its generator ({str(e).splitlines()[0]})") from None
    sd = {k[len("generator."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("generator.")}
    try:
        gen.load_state_dict(sd)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: generator weights do not match its config ({str(e).splitlines()[0]})") from None
    desc = _config(DescriptorConfig, hp.get("descriptor"), path, "descriptor")
    return Synthesizer(gen, frontend, desc, hp).eval().to(device)
