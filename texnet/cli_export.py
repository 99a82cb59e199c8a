"""``synthesize.py export`` / ``texnet export``: a phase-free generator checkpoint as one TorchScript file.

    python synthesize.py export --ckpt runs/quickstart/last.ckpt --out rain.pt

Only parses arguments and calls :func:`texnet.export.export_checkpoint`; what the file holds and how a host
uses it: :mod:`texnet.export`, ``examples/play_export.py``.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    e = subparsers.add_parser(
        "export", help="a phase-free generator as a TorchScript file (stateless and streaming) for plain PyTorch",
        description="Export a phase-free (waveform) generator checkpoint as one TorchScript module: "
                    "forward(seed, start_frame, n_frames) -> samples, and .stream (reset, read, forward) "
                    "that keeps its state between calls. Noise and inverse STFT are inside.",
    )
    e.add_argument("--ckpt", required=True, help="generator checkpoint (train.py's last.ckpt or best.ckpt)")
    e.add_argument("--out", required=True, help="output .pt file (TorchScript, load with torch.jit.load)")
    e.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    e.set_defaults(func=cmd_export)
    return e


def cmd_export(args: argparse.Namespace) -> int:
    from .cli import CLIError
    from .export import export_checkpoint

    out = Path(args.out)
    if out.suffix.lower() != ".pt":
        raise CLIError(f"{out}: output must be a .pt path")
    path = export_checkpoint(args.ckpt, out, overwrite=args.overwrite)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB, TorchScript): m = torch.jit.load(...); "
          f"m(seed, start_frame, n_frames) -> samples; m.stream.reset(seed, start_frame), m.stream.read(n)")
    return 0
