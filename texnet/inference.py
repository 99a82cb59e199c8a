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
from .loss import ObjectiveConfig
from .synthesizer import Synthesizer

# Written into every training checkpoint by texnet.module.TextureModule; kept here so that loading a
# generator (generate, stream) never imports Lightning (about 0.2 GB and a second of start-up).
CHECKPOINT_FORMAT = "texnet-generator-1"


class CheckpointError(ValueError):
    """A file that is not a texnet generator checkpoint; the message is one line naming it."""


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint's tensors and plain data only (``weights_only``: no code from the file runs)."""
    p = Path(path)
    if p.is_dir():
        raise CheckpointError(f"{p}: is a directory, not a checkpoint file (e.g. {p / 'last.ckpt'})")
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here means "not a usable checkpoint"
        raise CheckpointError(f"{p}: {_load_failure(e)}") from None
    hp = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(ckpt, dict) or "texnet_format" not in ckpt:
        raise CheckpointError(f"{p}: not a texnet generator checkpoint (written by another program?)")
    if ckpt["texnet_format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{p}: checkpoint format {ckpt['texnet_format']!r}, this texnet version reads "
                              f"{CHECKPOINT_FORMAT!r} (written by another texnet version?)")
    if not isinstance(hp, dict) or not isinstance(ckpt.get("state_dict"), dict):
        missing = "hyper_parameters" if not isinstance(hp, dict) else "state_dict"
        raise CheckpointError(f"{p}: texnet checkpoint without its {missing} (damaged?)")
    return ckpt


def _load_failure(e: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` failed, in a few words: the reason, never torch's advice to
    load the file with ``weights_only=False`` (that would run code from it)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    blocked = next((ln for ln in lines if "GLOBAL" in ln), None)
    if blocked is not None:
        name = blocked.split("GLOBAL", 1)[1].split()[0] if blocked.split("GLOBAL", 1)[1].split() else "?"
        return (f"holds pickled Python objects ({name}), which texnet never loads: not a texnet checkpoint, "
                "or not from a trusted source")
    advice = ("weights_only", "Weights only load failed", "Please file an issue", "Check the documentation")
    reason = next((ln for ln in lines if not any(a in ln for a in advice)), type(e).__name__)
    return f"not a loadable texnet checkpoint (damaged, truncated or another kind of file: {reason[:120]})"


# Settings whose default changed: a checkpoint without the key was written when the old value held.
_OLD_DEFAULTS = {
    FrontendConfig: {"n_fft": 1024, "hop_length": 256, "scale": "log1p"},  # the scale was never None
    GeneratorConfig: {"kind": "texture", "channels": 128, "dilations": [1, 2, 4, 8, 16, 32] * 2, "center": False,
                      "center_window": 0},
    ObjectiveConfig: {"auditory_segment_s": 0.75, "tone_weight": 0.0},
}
_SECTIONS = ((FrontendConfig, "frontend"), (GeneratorConfig, "generator"), (DescriptorConfig, "descriptor"),
             (ObjectiveConfig, "objective"))


def _unnamed_old(cls, section: dict) -> dict[str, object]:
    """The settings of ``cls`` a checkpoint's ``section`` does not name whose default has changed since, at
    the value they had when it was written."""
    return {k: v for k, v in _OLD_DEFAULTS.get(cls, {}).items() if k not in section}


def old_defaults(hparams: dict) -> dict[str, object]:
    """:func:`_unnamed_old` of every section of a checkpoint's ``hparams``: ``{"objective.tone_weight": 0.0, ...}``
    (a resumed run keeps training with them, as :func:`load_generator` rebuilds with them)."""
    return {f"{name}.{k}": v for cls, name in _SECTIONS if isinstance(hparams.get(name), dict)
            for k, v in _unnamed_old(cls, hparams[name]).items()}


# Options since removed, with the one value whose behaviour remains.
_REMOVED = {GeneratorConfig: {"magnitude": "exp", "phase": "free"}}


def without_removed(hparams: dict) -> dict:
    """A checkpoint's ``hparams`` less the options this version removed, as its settings' parser takes them (a
    resumed run); :func:`check_checkpoint` refuses a removed option at any value but the one that remains."""
    out = dict(hparams)
    for cls, name in _SECTIONS:
        if cls in _REMOVED and isinstance(out.get(name), dict):
            out[name] = {k: v for k, v in out[name].items() if k not in _REMOVED[cls]}
    return out


def _config(cls, section, path, name: str):
    """``cls`` from a checkpoint's hyperparameter section, one-line errors for what this version cannot rebuild."""
    if not isinstance(section, dict):
        raise CheckpointError(f"{path}: its '{name}' settings are missing (written by another texnet version?)")
    known = {f.name for f in dataclasses.fields(cls)}
    values = {**_unnamed_old(cls, section), **section}
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
        raise CheckpointError(f"{path}: bad {name} settings ({str(e).splitlines()[0]})") from None


def _absent(cls, section: dict) -> list[str]:
    """Settings of ``cls`` a checkpoint's section does not name (this version's defaults fill them in)."""
    return sorted({f.name for f in dataclasses.fields(cls)} - set(section) - set(_OLD_DEFAULTS.get(cls, {})))


def check_checkpoint(path: str | os.PathLike) -> dict:
    """Read a training checkpoint and check this version can rebuild its settings (one-line
    :class:`CheckpointError` naming what differs); returns it. ``train.py --ckpt_path`` calls it first."""
    ckpt = read_checkpoint(path)
    hp = ckpt["hyper_parameters"]
    for cls, name in _SECTIONS:
        _config(cls, hp.get(name), path, name)
    return ckpt


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> Synthesizer:
    """Rebuild the generator, its front end and descriptor config from a training checkpoint."""
    ckpt = read_checkpoint(path)
    hp = ckpt["hyper_parameters"]
    fe_cfg = _config(FrontendConfig, hp.get("frontend"), path, "frontend")
    gen_cfg = _config(GeneratorConfig, hp.get("generator"), path, "generator")
    desc = _config(DescriptorConfig, hp.get("descriptor"), path, "descriptor")
    try:
        frontend = build_frontend(fe_cfg)
        gen = build_generator(frontend.n_freq, gen_cfg)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: cannot rebuild its generator ({str(e).splitlines()[0]})") from None
    sd = {k[len("generator."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("generator.")}
    try:
        gen.load_state_dict(sd)
    except RuntimeError as e:
        absent = [f"{name}.{k}" for cls, name in ((FrontendConfig, "frontend"), (GeneratorConfig, "generator"))
                  for k in _absent(cls, hp.get(name))]
        why = f"; it does not name {absent}, which this version's defaults filled in" if absent else ""
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]  # torch's first line only names the class
        raise CheckpointError(f"{path}: generator weights do not match its settings ({detail[:160]}){why} "
                              "(written by another texnet version?)") from None
    bad = [k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{path}: {len(bad)} generator weight tensor(s) hold NaN or infinite values "
                              f"(e.g. {bad[0]}; a training that diverged?)")
    # the settings as rebuilt (old defaults filled in, removed options gone), so that what reads them later (the
    # objective an evaluation rebuilds, an export's metadata) sees what this checkpoint was trained with
    hp = {**hp, "generator": dataclasses.asdict(gen_cfg)}
    if isinstance(hp.get("objective"), dict):
        hp["objective"] = dataclasses.asdict(_config(ObjectiveConfig, hp["objective"], path, "objective"))
    return Synthesizer(gen, frontend, desc, hp).eval().to(device)
