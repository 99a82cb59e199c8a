"""``synthesize.py evaluate``: how close one or two synthesised textures are to a reference recording.

    python synthesize.py evaluate data/rain.ogg out/rain.wav
    python synthesize.py evaluate data/rain.ogg out/rain_seed1.wav out/rain_seed2.wav --json

Only parses arguments, loads audio and formats :func:`texnet.evaluation.evaluate`'s report: a table by
default, or with ``--json`` one JSON object on stdout and nothing else. Bad audio is one line on stderr
and exit status 2 (via :func:`texnet.cli.main`).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

GUIDE = """how to read (calibrated on the bundled clips, see texnet/metrics.py):
  texture distance  0 = same statistics; halves of one steady recording 0.1-0.2, unrelated recordings ~1
  texture ratio     1 = as close to the unseen 2nd half as the recording's own 1st half; < 2 hard to tell
                    apart; other recordings 1.2-18 (median 4); a perfect generator of the 1st half that
                    varies like the recording scores about 1.2-1.3 on a steady one (printed for this one)
  copy score        > 0.99 verbatim copy; independent excerpts of steady noises 0.1-0.25 (mean)
  held-out style    style loss under descriptors no config trains against; its ratio reads like the
                    texture ratio (other textures 2-700x for steady noises, but only 0.9-2.5x for
                    machine and crowd)
  spectral lines    narrow peaks of the long-term spectrum; more than the reference has = tones the
                    synthesis added (none in rain, wind, fire, insects; machine's hum 11-13)
  diversity         0 = the two candidates repeat each other, ~1 = nothing of one recurs in the other"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    e = subparsers.add_parser(
        "evaluate",
        help="metrics of one or two synthesised textures against a reference recording",
        description="Texture statistics distance (per group and combined), texture ratio against the "
                    "reference's unseen second half, copy score, held-out style distance, spectral lines "
                    "(steady tones), and the diversity of two candidates.",
        epilog="The texture ratio and held-out style ratio assume the candidate was made from the reference's "
               "first half only (--data.holdout 0.5); they need a reference of at least 4 s.",
    )
    e.add_argument("reference", metavar="REFERENCE", help="the recording the candidates imitate")
    e.add_argument("candidates", metavar="CANDIDATE", nargs="+", help="one or two synthesised textures")
    e.add_argument("--json", action="store_true", help="print one JSON object on stdout and nothing else")
    e.add_argument("--sample-rate", type=int, default=None,
                   help="analysis sample rate (default 22050, the rate every calibration used)")
    e.set_defaults(func=cmd_evaluate)
    return e


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan"
    return f"{v:.{digits}f}"


def _table(report: dict, ref_path: str, cand_paths: list[str]) -> str:
    from .metrics import STAT_GROUPS

    cands = report["candidates"]
    names = [f"candidate {i + 1}" for i in range(len(cands))]
    width = 44
    lines = [f"reference:   {ref_path} ({report['reference']['seconds']:.1f} s at {report['sample_rate']} Hz)"]
    for name, path, c in zip(names, cand_paths, cands):
        lines.append(f"{name}: {path} ({c['seconds']:.1f} s)")
    lines.append("")
    lines.append(f"{'metric':<{width}}" + "".join(f"{n:>14}" for n in names))

    def row(label, get, digits=3):
        vals = []
        for c in cands:
            try:
                vals.append(get(c))
            except (KeyError, TypeError):
                vals.append(None)
        lines.append(f"{label:<{width}}" + "".join(f"{_fmt(v, digits):>14}" for v in vals))

    lines.append("texture statistics distance vs reference")
    for g in STAT_GROUPS:
        row(f"  {g}", lambda c, g=g: c["texture_distance"][g])
    row("  score (mean of the groups)", lambda c: c["texture_distance"]["score"])
    lines.append("texture ratio vs reference's 2nd half")
    row("  ratio", lambda c: c["texture_ratio"]["ratio"])
    row("  distance to 2nd half", lambda c: c["texture_ratio"]["distance"])
    row("  reference's 1st half to 2nd half", lambda c: c["texture_ratio"]["baseline"])
    floor = report["reference"].get("ratio_floor")
    if floor:
        lines.append(f"  (a perfect generator of the 1st half that varies like the recording: about "
                     f"{floor['own_variation']:.2f}, {floor['own_variation_low']:.2f}-{floor['own_variation_high']:.2f})")
    lines.append("copy score vs reference")
    row("  mean over patches", lambda c: c["copy_score"]["mean"])
    row("  best patch", lambda c: c["copy_score"]["max"])
    lines.append("held-out style distance")
    row("  vs reference", lambda c: c["heldout_style"]["distance"], 4)
    row("  ratio vs 2nd half", lambda c: c["heldout_style_ratio"]["ratio"])
    ref_lines = report["reference"]["spectral_lines"]
    lines.append(f"spectral lines (steady tones; reference: {ref_lines['count']}, "
                 f"ripple {ref_lines['ripple_db']:.2f} dB)")
    row("  peaks > 6 dB, 50-4000 Hz", lambda c: c["spectral_lines"]["count"], 0)
    row("  ripple (dB)", lambda c: c["spectral_lines"]["ripple_db"], 2)
    if report["diversity"] is not None:
        lines.append(f"{'diversity (candidate 1 vs candidate 2)':<{width}}{_fmt(report['diversity']):>14}")
    lines.append("")
    lines.extend(f"note: {n}" for n in report["notes"])
    lines.append(GUIDE)
    return "\n".join(lines)


def _finite(obj):
    """Non-finite floats become None, so the output is strict JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .audio import DEFAULT_SAMPLE_RATE, check_sample_rate, load_audio
    from .cli import CLIError
    from .evaluation import MIN_SECONDS, evaluate

    if len(args.candidates) > 2:
        raise CLIError(f"give one or two candidates, got {len(args.candidates)}")
    sr = check_sample_rate(DEFAULT_SAMPLE_RATE if args.sample_rate is None else args.sample_rate, "--sample-rate")
    min_samples = int(MIN_SECONDS * sr)
    ref = load_audio(args.reference, sr, min_samples=min_samples, verbose=True, rate_option="--sample-rate")
    cands = [load_audio(p, sr, min_samples=min_samples, verbose=True, rate_option="--sample-rate")
             for p in args.candidates]
    report = evaluate(ref, cands, sr)
    report["reference"]["path"] = str(args.reference)
    for c, p in zip(report["candidates"], args.candidates):
        c["path"] = str(p)
    if args.json:
        json.dump(_finite(report), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(_table(report, str(args.reference), [str(Path(p)) for p in args.candidates]))
    return 0
