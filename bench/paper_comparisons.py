#!/usr/bin/env python
"""The paper's comparisons (Huzaifah & Wyse 2019), run with the optimisation baseline on the bundled clips.

    OMP_NUM_THREADS=2 python bench/paper_comparisons.py            # full run
    OMP_NUM_THREADS=2 python bench/paper_comparisons.py --quick    # 1 clip, 10 evaluations, to outputs/

Settings (one descriptor and front end each; everything else fixed: mean/cov style objective, L-BFGS,
seed 0, 45 L-BFGS evaluations, noise init with the source's per-bin mean and std):

- ``1d-small``    1D descriptor 512 x 11 frames on the STFT (n_fft 1024, hop 256): the reference setting;
- ``2d-image``    the image-style 2D descriptor (Conv2d 32, 64 of 3 x 3, max-pool 2) on the same STFT;
- ``1d-cqt``      the 1D 512 x 11 descriptor on a CQT front end (hop 128, 192 bins, 24 per octave);
- ``1d-multi``    multi-scale receptive fields: widths 3, 11, 31 (256 filters each);
- ``1d-dilated``  width 11 at dilations 1, 4, 16 (256 filters each): receptive fields up to 161 frames;
- ``transfer``    style transfer: 5 s of speech or melody as content, the clip as style (1d-small).

For every clip, each setting synthesises 5 s from the clip's FIRST half. Reported: the style loss at the
start (noise) and at the end, the reference level (style loss of the clip's unseen SECOND half against
the first half under the same objective; a synthesis at or below it is as close, in the descriptor's
own terms, as the recording is to itself), the final/reference ratio, an independent auditory-statistics
ratio (``texnet.metrics``, McDermott & Simoncelli: 1 = as close to the unseen half as the first half is)
and wall time. Style losses of different settings are NOT comparable with each
other (different descriptors); the reference ratio and the auditory ratio are.

Writes WAVs to ``<out>/audio/`` (only a few are committed, see bench/paper/.gitignore), one spectrogram
PNG per clip (source vs each setting) plus one for style transfer, ``<out>/results.json`` and a markdown
table (``bench/PAPER.md``; the observations section there is written by hand and kept across runs).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from texnet import experiments as X
from texnet import metrics as M
from texnet.audio import normalize_rms, save_wav
from texnet.descriptors import DescriptorConfig
from texnet.frontends import FrontendConfig

ROOT = X.ROOT
SR = X.SAMPLE_RATE
# the paper's front ends and objective, spelled out (whatever the library's defaults)
STFT = FrontendConfig(kind="stft", n_fft=1024, hop_length=256, scale="log1p", griffin_lim_iters=64)
CQT = FrontendConfig(kind="cqt", hop_length=128, scale="log1p", griffin_lim_iters=32)  # librosa's CQT GL is slow
OBJECTIVE = dict(statistic="mean_cov", resolutions=[], spectrum_weight=0.0, band_whitening=0.0, auditory_weight=0.0,
                 tone_weight=0.0)


@dataclass
class Setting:
    name: str
    what: str
    frontend: FrontendConfig
    preset: str
    transfer: bool = False


SETTINGS = [
    Setting("1d-small", "1D 512 x 11, STFT", STFT, "small"),
    Setting("2d-image", "2D image-style (3x3 convs 32, 64; pool 2), STFT", STFT, "image2d"),
    Setting("1d-cqt", "1D 512 x 11, CQT (hop 128)", CQT, "small"),
    Setting("1d-multi", "1D widths 3, 11, 31 (3 x 256), STFT", STFT, "multiscale"),
    Setting("1d-dilated", "1D width 11 at dilations 1, 4, 16 (3 x 256), STFT", STFT, "dilated"),
    Setting("transfer", "style transfer, 1D 512 x 11, STFT", STFT, "small", transfer=True),
]
CLIPS = ["rain", "fire", "insects"]
CONTENTS = {"rain": ("speech", 1.0), "fire": ("melody", 0.0), "insects": ("speech", 1.0)}  # (clip, start s)
# WAVs committed to the repository (the rest stay local; bench/paper/.gitignore lists the same names)
COMMITTED_AUDIO = {"rain_1d-small", "rain_2d-image", "rain_1d-cqt", "rain_1d-dilated", "fire_1d-small",
                   "insects_1d-small", "rain_transfer", "fire_transfer"}


def log(msg: str) -> None:
    print(msg, flush=True)


def run_setting(setting: Setting, clip: str, wave: torch.Tensor, args, out_dir: Path, ms_halves,
                content: tuple[str, torch.Tensor] | None) -> dict:
    obj = X.build_objective_for(setting.frontend, DescriptorConfig.preset(setting.preset),
                                X.objective_config(OBJECTIVE), "spectrogram")
    fe = obj.frontend
    first = X.first_half(wave)
    obj.set_targets([first])
    with torch.no_grad():  # the level to beat: the unseen half against the first, same objective
        reference = obj.spec_style(fe(wave[X.split(wave):])[0])
    res = X.baseline(obj, first, args.seconds, content_wave=None if content is None else content[1],
                     max_iter=args.max_iter, time_budget=args.time_budget, seed=0,
                     init=args.transfer_init if content is not None else "noise")
    r = res.result
    synth = normalize_rms(res.wave)
    name = f"{clip}_{setting.name}"
    wav_path = save_wav(out_dir / "audio" / f"{name}.wav", synth, SR, overwrite=True)

    sa, sb = ms_halves
    sc = M.texture_statistics(synth, SR)
    ms_ratio = M.texture_distance(sc, sb)["score"] / M.texture_distance(sa, sb)["score"]
    row = {
        "clip": clip, "setting": setting.name, "what": setting.what, "frames": r.spec.shape[-1],
        "receptive_field_s": obj.receptive_field_seconds, "evaluations": len(r.losses),
        "stop_reason": r.stop_reason, "style_start": r.losses[0], "style_final": r.style_loss,
        "content_final": r.content_loss if content is not None else None,
        "reference": reference, "final_over_reference": r.style_loss / reference, "ms_ratio": ms_ratio,
        "optimize_s": r.wall_time, "inversion_s": res.inversion_time, "wav": str(wav_path.relative_to(out_dir)),
        "content": content[0] if content is not None else None,
    }
    log(f"  {name:22s} evals {row['evaluations']:3d} ({r.stop_reason}); style {row['style_start']:.3g} -> "
        f"{row['style_final']:.3g}, reference {reference:.3g} (x{row['final_over_reference']:.2f}); "
        f"M&S ratio {ms_ratio:.2f}; {r.wall_time:.1f} s + inversion {res.inversion_time:.1f} s")
    return {"row": row, "synth_spec": r.spec, "source_spec": res.style_specs[0], "content_spec": res.content_spec,
            "frame_rate": fe.frame_rate, "freqs": fe.frequencies(), "kind": setting.frontend.kind}


# ------------------------------------------------------------------------------------------- figures


def _vmax(*specs: torch.Tensor) -> float:
    """Top of a shared colour scale: the 99.7th percentile, so a few loud peaks (speech harmonics) do not
    turn everything else black."""
    return float(np.percentile(np.concatenate([s.detach().float().cpu().numpy().ravel() for s in specs]), 99.7))


def save_png(fig, path: Path, dpi: int = 80) -> Path:
    """Save a figure as a 128-colour palette PNG (smaller than matplotlib's RGBA; spectrograms in one
    colour map lose nothing visible) and close it."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    buf.seek(0)
    img = Image.open(buf).convert("RGB").quantize(colors=128)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    img.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, path)
    return path


def _show(ax, spec: torch.Tensor, frame_rate: float, freqs: torch.Tensor, kind: str, vmax: float, title: str):
    s = spec.detach().float().cpu().numpy()
    if kind == "cqt":  # log-spaced bins: draw them evenly and label a few in Hz
        ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=vmax,
                  extent=[0, s.shape[1] / frame_rate, 0, s.shape[0]])
        ticks = [i for i in range(0, s.shape[0], 48)]
        ax.set_yticks(ticks, [f"{freqs[i]:.0f}" for i in ticks])
    else:
        ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=vmax,
                  extent=[0, s.shape[1] / frame_rate, 0, float(freqs[-1]) / 1000])
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=7)


def clip_figure(clip: str, runs: list[dict], seconds: float):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 2, figsize=(10, 2.0 * len(runs)), squeeze=False)
    for ax_row, run in zip(axes, runs):
        r = run["row"]
        n = min(run["source_spec"].shape[-1], int(round(seconds * run["frame_rate"])) + 1)
        src = run["source_spec"][:, :n]
        vmax = _vmax(src, run["synth_spec"])
        unit = "Hz (CQT)" if run["kind"] == "cqt" else "kHz"
        _show(ax_row[0], src, run["frame_rate"], run["freqs"], run["kind"], vmax,
              f"source: {clip}, first half (first {n / run['frame_rate']:.1f} s) [{unit}]")
        _show(ax_row[1], run["synth_spec"], run["frame_rate"], run["freqs"], run["kind"], vmax,
              f"{r['setting']}: style {r['final_over_reference']:.2f} x ref, M&S {r['ms_ratio']:.2f}")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    fig.suptitle(f"{clip}: 5 s synthesised from the first half, per setting (optimised log1p magnitude; colour scale shared per row)",
                 fontsize=9)
    fig.tight_layout()
    return fig


def transfer_figure(runs: list[dict]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 3, figsize=(13, 2.2 * len(runs)), squeeze=False)
    for ax_row, run in zip(axes, runs):
        r = run["row"]
        fr, fq = run["frame_rate"], run["freqs"]
        n = min(run["source_spec"].shape[-1], run["synth_spec"].shape[-1])
        vmax = _vmax(run["content_spec"], run["source_spec"][:, :n], run["synth_spec"])
        _show(ax_row[0], run["content_spec"], fr, fq, "stft", vmax, f"content: {r['content']} [kHz]")
        _show(ax_row[1], run["source_spec"][:, :n], fr, fq, "stft", vmax, f"style: {r['clip']} (first half)")
        _show(ax_row[2], run["synth_spec"], fr, fq, "stft", vmax,
              f"result: style x{r['final_over_reference']:.2f} of ref, content loss {r['content_final']:.2f}")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    fig.suptitle("style transfer (1D 512 x 11, STFT): content | style | result", fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------- markdown


MARK = "<!-- generated table: everything above the observations marker is rewritten by bench/paper_comparisons.py -->"
OBS = "<!-- observations (hand-written, kept across runs) -->"


def markdown(rows: list[dict], args, out_dir: Path, md_path: Path, meta: dict) -> str:
    """The generated part of PAPER.md; ``meta``: total_s, loadavg_end, omp_num_threads, torch_threads."""
    total_s, load = meta["total_s"], meta.get("loadavg_end")
    rel = os.path.relpath(out_dir, md_path.parent)
    budget = "" if args.time_budget is None else f" or {args.time_budget:g} s (checked between steps)"
    lines = [
        "# Paper comparisons with the optimisation baseline", "", MARK, "",
        f"`OMP_NUM_THREADS={meta.get('omp_num_threads', '?')} python bench/paper_comparisons.py"
        f"{' --quick' if args.quick else ''}`: clips {', '.join(args.clips)}; {args.seconds:g} s synthesised from "
        f"each clip's first half; L-BFGS, {args.max_iter} evaluations per run{budget}; style "
        f"transfer starts from {args.transfer_init}; mean/cov style objective; seed 0. Total {total_s / 60:.1f} min on this machine "
        f"(torch threads: {meta.get('torch_threads', '?')}"
        + (f"; load average {load:.1f} at the end: other jobs shared these 2 cores, so the times are "
           f"several times what an idle machine needs" if load is not None and load > 2.5 else "")
        + ").", "",
        "Columns: **start/final** style loss (noise init / result); **ref** = style loss of the clip's unseen "
        "second half against the first half under the same descriptor; **final/ref** (< 1: closer than the "
        "recording's own other half, in the descriptor's terms); **M&S** = independent auditory-statistics "
        "ratio (`texnet.metrics`: 1 = as close to the unseen half as the source half); **rf** = receptive field; times are optimisation + Griffin-Lim. Style losses of "
        "different settings use different descriptors and are not comparable; final/ref and M&S are.", "",
        "| clip | setting | rf (s) | evals | start | final | ref | final/ref | M&S | time (s) | audio | picture |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        stem = Path(r["wav"]).stem
        audio = f"[wav]({rel}/{r['wav']})" if (stem in COMMITTED_AUDIO or args.quick) else "(local)"
        png = f"{r['clip']}.png" if r["setting"] != "transfer" else "transfer.png"
        setting = r["setting"] + (f" ({r['content']})" if r["content"] else "")
        lines.append(
            f"| {r['clip']} | {setting} | {r['receptive_field_s']:.2f} | {r['evaluations']} | "
            f"{r['style_start']:.3g} | {r['style_final']:.3g} | {r['reference']:.3g} | "
            f"{r['final_over_reference']:.2f} | {r['ms_ratio']:.2f} | {r['optimize_s']:.0f} + {r['inversion_s']:.0f} | "
            f"{audio} | [png]({rel}/{png}) |")
    lines += ["", "Pictures: " + ", ".join(f"[{c}]({rel}/{c}.png)" for c in args.clips)
              + f", [style transfer]({rel}/transfer.png). Audio marked (local) is written by the script to "
              f"`{rel}/audio/` but not committed (size). The outputs derive from the bundled clips; see "
              "`data/SOURCES.md` for their licences (several are CC-BY-SA).", ""]
    return "\n".join(lines)


def write_markdown(table: str, md_path: Path) -> None:
    keep = ""
    if md_path.exists():
        old = md_path.read_text()
        if OBS in old:
            keep = old[old.index(OBS):]
    if not keep:
        keep = OBS + "\n\n## What the pictures and sounds show\n\n(to be written after looking at them)\n"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(table + "\n" + keep)


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 clip, 10 evaluations, output under outputs/")
    p.add_argument("--clips", nargs="+", default=CLIPS)
    p.add_argument("--settings", nargs="+", default=[s.name for s in SETTINGS], choices=[s.name for s in SETTINGS])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--max-iter", type=int, default=45, help="L-BFGS evaluations per run")
    p.add_argument("--time-budget", type=float, default=None, help="stop a run's optimisation after this many seconds (checked after each L-BFGS step)")
    p.add_argument("--transfer-init", choices=["noise", "content"], default="noise",
                   help="start of style transfer: noise with the style's statistics (the CLI's default) or the content")
    p.add_argument("--out", type=Path, help="output folder (default bench/paper, --quick: outputs/paper_quick)")
    p.add_argument("--render-only", action="store_true",
                   help="rewrite the markdown table from <out>/results.json without synthesising anything")
    p.add_argument("--md", type=Path, help="markdown file (default bench/PAPER.md, --quick: <out>/PAPER.md)")
    args = p.parse_args(argv)
    if args.quick:
        args.clips, args.max_iter = args.clips[:1], 10
    out_dir = args.out or (ROOT / ("outputs/paper_quick" if args.quick else "bench/paper"))
    md_path = args.md or (out_dir / "PAPER.md" if args.quick else ROOT / "bench" / "PAPER.md")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    (out_dir / "audio").mkdir(parents=True, exist_ok=True)

    if args.render_only:
        rec = json.loads((out_dir / "results.json").read_text())
        saved = rec["args"]
        args.clips = saved["clips"].strip("[]").replace("'", "").split(", ")
        args.max_iter, args.seconds = int(saved["max_iter"]), float(saved["seconds"])
        args.time_budget = None if saved["time_budget"] == "None" else float(saved["time_budget"])
        args.transfer_init, args.quick = saved["transfer_init"], saved["quick"] == "True"
        write_markdown(markdown(rec["rows"], args, out_dir, md_path, rec), md_path)
        log(f"rewrote {md_path} from {out_dir / 'results.json'}")
        return 0

    settings = [s for s in SETTINGS if s.name in args.settings]
    rows, transfers = [], []
    t_start = time.perf_counter()
    for clip in args.clips:
        wave = X.load_clip(clip, SR)
        half = wave.shape[0] // 2
        ms_halves = (M.texture_statistics(wave[:half], SR), M.texture_statistics(wave[half:], SR))
        log(f"{clip}: {wave.shape[0] / SR:.1f} s, style source = first {half / SR:.1f} s")
        runs = []
        for s in settings:
            content = None
            if s.transfer:
                cname, start = CONTENTS.get(clip, ("speech", 1.0))
                cw = X.load_clip(cname, SR)
                i0 = int(start * SR)
                content = (cname, cw[i0:i0 + int(args.seconds * SR)])
            run = run_setting(s, clip, wave, args, out_dir, ms_halves, content)
            rows.append(run["row"])
            (transfers if s.transfer else runs).append(run)
        if runs:
            save_png(clip_figure(clip, runs, args.seconds), out_dir / f"{clip}.png")
    if transfers:
        save_png(transfer_figure(transfers), out_dir / "transfer.png")
    total = time.perf_counter() - t_start
    meta = {"total_s": total, "loadavg_end": os.getloadavg()[0], "torch_threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "?")}
    (out_dir / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                       **meta, "rows": rows}, indent=2))
    write_markdown(markdown(rows, args, out_dir, md_path, meta), md_path)
    log(f"done in {total / 60:.1f} min: {md_path}, {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
