"""Export a phase-free generator as ONE TorchScript file that a host runs with plain PyTorch (no texnet).

    texnet export --ckpt runs/quickstart/last.ckpt --out rain.pt

    m = torch.jit.load("rain.pt")                # m.sample_rate, m.hop_length
    wave = m(3, 0, 430)                          # stateless: seed 3, samples 0 .. 430 * hop - 1
    m.stream.reset(3, 0)                         # streaming, state kept between calls:
    block = m.stream.read(441)                   #   the next 441 samples (20 ms), forever
    block = m.stream(2)                          #   or the next 2 * hop samples

Both forms are :class:`texnet.realtime.WaveformStream` (one set of weights): the noise
(:mod:`texnet.noise`), the generator and the inverse STFT are inside, so the same seed gives the
same audio as ``synthesize.py generate`` / ``stream`` up to float rounding. It runs on the CPU as
saved; after ``m.to("cuda")``, ``m.stream.reset`` moves the stream's state there too.
``examples/play_export.py`` writes a WAV from such a file with torch and the standard library only.
"""
from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .frontends import STFTFrontend
from .realtime import WaveformStream


class ExportedTexture(nn.Module):
    """``forward(seed, start_frame, n_frames)`` -> samples ``(n_frames * hop,)`` from sample
    ``start_frame * hop`` on; ``stream``: the same texture block by block (``reset``, ``read``, ``forward``)."""

    def __init__(self, synth):
        super().__init__()
        self.stream = WaveformStream.of(synth)
        self.sample_rate = int(synth.sample_rate)
        self.hop_length = int(synth.frontend.hop_length)

    def forward(self, seed: int, start_frame: int, n_frames: int) -> torch.Tensor:
        return self.stream.render(seed, start_frame, n_frames)


def check_exportable(synth) -> None:
    """Raise a one-line ``ValueError`` unless ``synth`` holds a phase-free generator on an STFT front end."""
    if synth.is_style:
        raise ValueError("export needs a phase-free (waveform) generator; this checkpoint holds a "
                         "style-transfer generator (use 'texnet stylize')")
    if not isinstance(synth.frontend, STFTFrontend):
        raise ValueError(f"export needs a phase-free generator on the STFT front end; this checkpoint uses "
                         f"the {synth.frontend.config.kind!r} front end")
    if not synth.is_waveform:
        raise ValueError("export needs a phase-free (waveform) generator; this checkpoint holds the paper's "
                         "magnitude generator, whose audio needs Griffin-Lim (use 'texnet generate' "
                         "or 'stream')")


def export_module(synth) -> torch.jit.ScriptModule:
    """The TorchScript module of a loaded :class:`~texnet.synthesizer.Synthesizer` (on the CPU, eval mode)."""
    check_exportable(synth)
    synth = copy.deepcopy(synth).cpu().eval().requires_grad_(False)  # the caller's stays where it is
    module = ExportedTexture(synth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script's deprecation notice
        return torch.jit.script(module)


def export_checkpoint(ckpt: str | os.PathLike, out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write the TorchScript module of checkpoint ``ckpt`` to ``out`` atomically; returns ``out``."""
    from .inference import load_generator
    from .outputs import atomic_write, check_outputs

    out = Path(out)
    check_outputs([out], overwrite)
    synth = load_generator(ckpt, "cpu")
    scripted = export_module(synth)
    info = {"format": "texnet-export-1", "checkpoint": str(ckpt), "sample_rate": synth.sample_rate,
            "hop_length": synth.frontend.hop_length, "n_fft": synth.frontend.n_fft,
            "generator": synth.hparams.get("generator"), "frontend": synth.hparams.get("frontend")}
    extra = {"texnet.json": json.dumps(info, indent=1, default=str)}
    return atomic_write(out, lambda tmp: scripted.save(tmp, _extra_files=extra), overwrite)
