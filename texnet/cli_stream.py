"""``synthesize.py stream``: an endless (or very long) texture, written to disk as it is made.

    python synthesize.py stream --ckpt runs/quickstart/last.ckpt --seconds 3600 --out long.wav
    python synthesize.py stream --ckpt runs/quickstart/last.ckpt --seconds 0 --out - | aplay -f S16_LE -r 22050

Only parses arguments and calls :func:`texnet.streaming.stream_waveform`. The WAV is written block by
block (16-bit PCM) and its header brought up to date after every block, so the file is valid whenever it
is read and a crash keeps everything written so far. ``--out -`` writes raw 16-bit little-endian mono PCM
to stdout and nothing else (messages go to stderr).

Ending: ``--seconds 0`` streams until interrupted. Ctrl-C (SIGINT) or SIGTERM finishes the current block,
closes the file and exits with status 0 (a second Ctrl-C aborts at once: status 130, the file is still
closed and valid). A reader closing the pipe of ``--out -`` also ends the stream with status 0.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

MAX_BLOCK_SECONDS = 60.0  # a block is held in memory and is the latency: longer ones only cost


def add_parser(subparsers) -> argparse.ArgumentParser:
    s = subparsers.add_parser(
        "stream",
        help="endless texture from a generator (STFT front end), written progressively to a WAV or stdout",
        description="Stream a texture of any length in bounded memory, written as it is made: a phase-free "
                    "generator streams with cached convolution state and a streaming inverse STFT; the "
                    "paper's magnitude generator with chunked generation and block-wise phase retrieval "
                    "(PGHI start + Griffin-Lim, seam-free).",
        epilog="Ctrl-C ends the stream cleanly (exit status 0, valid file); a second Ctrl-C aborts (130).",
    )
    s.add_argument("--ckpt", required=True, help="generator checkpoint (train.py's last.ckpt or best.ckpt)")
    s.add_argument("--seconds", type=float, default=0.0,
                   help="length in seconds; 0 (default) = until interrupted with Ctrl-C")
    s.add_argument("--out", required=True,
                   help="output .wav (written progressively), or - for raw 16-bit little-endian PCM on stdout")
    s.add_argument("--seed", type=int, default=0, help="texture seed: each seed is another endless texture")
    s.add_argument("--block-seconds", type=float, default=2.0,
                   help="audio per block (latency and write granularity; default 2.0)")
    s.add_argument("--griffin-lim-iters", type=int,
                   help="Griffin-Lim iterations per block after the PGHI start (default 16; 0 = PGHI only)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--device", default="auto",
                   help="where the generator runs: auto (default: the GPU when there is one), cpu, cuda or cuda:N; "
                        "phase retrieval runs on the CPU")
    s.set_defaults(func=cmd_stream)
    return s


def _pcm16(block):
    import numpy as np

    x = block.detach().cpu().numpy().astype(np.float32)
    clipped = int(np.count_nonzero(np.abs(x) > 1.0))
    return np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2"), clipped


def cmd_stream(args: argparse.Namespace) -> int:
    from .cli import CLIError, check_griffin_lim_iters, check_seed

    if not (math.isfinite(args.seconds) and args.seconds >= 0):
        raise CLIError(f"--seconds must be >= 0 (0 = until interrupted), got {args.seconds}")
    if not (math.isfinite(args.block_seconds) and 0 < args.block_seconds <= MAX_BLOCK_SECONDS):
        raise CLIError(f"--block-seconds must be positive and at most {MAX_BLOCK_SECONDS:g}, got {args.block_seconds}")
    check_seed(args.seed)
    check_griffin_lim_iters(args.griffin_lim_iters)
    to_stdout = args.out == "-"
    out = None if to_stdout else Path(args.out)
    if out is not None:
        from .outputs import check_outputs

        if out.suffix.lower() != ".wav":
            raise CLIError(f"{out}: output must be a .wav path (or - for raw PCM on stdout)")
        check_outputs([out], args.overwrite)  # exists, a folder, or not writable: refused before any work

    from .inference import load_generator
    from .outputs import WavStream
    from .streaming import DEFAULT_N_ITER, StreamStats, stream_waveform

    from .cli import resolve_device

    gen = load_generator(args.ckpt, resolve_device(args.device))
    if out is not None and args.seconds * gen.sample_rate > WavStream.capacity:
        raise CLIError(f"--seconds {args.seconds:g}: a WAV holds at most {WavStream.capacity / gen.sample_rate:.0f} s "
                       f"at {gen.sample_rate} Hz; stream to stdout (--out -) for more")
    n_iter = DEFAULT_N_ITER if args.griffin_lim_iters is None else args.griffin_lim_iters
    stats = StreamStats()
    # validates everything (front end kind, lengths) before a file is created
    blocks = stream_waveform(gen, args.seconds or None, seed=args.seed, block_seconds=args.block_seconds,
                             n_iter=n_iter, stats=stats)
    sr = gen.sample_rate
    msg = sys.stderr if to_stdout else sys.stdout

    stop = {"signal": None}

    def on_signal(signum, frame):  # first Ctrl-C: finish the block and stop; second: abort now
        if stop["signal"] is not None:
            raise KeyboardInterrupt
        stop["signal"] = signal.Signals(signum).name

    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, on_signal)

    from tqdm import tqdm

    # counted in samples, shown in seconds (unit_scale): float seconds summed block by block overshoot the
    # total by rounding, and tqdm then warns "clamping frac" at the end
    total = int(round(args.seconds * sr)) if args.seconds else None
    bar = tqdm(total=total, unit="s", unit_scale=1 / sr, file=sys.stderr, disable=args.quiet, mininterval=0.5,
               dynamic_ncols=True, desc="stream",
               bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}{postfix}]" if total
               else "{desc}{n:.1f} s [{elapsed}{postfix}]")
    sink = None
    written = clipped = 0
    broken_pipe = False
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        if to_stdout:
            sink = sys.stdout.buffer
        else:
            sink = WavStream(out, sr, overwrite=args.overwrite)
        for block in blocks:
            pcm, c = _pcm16(block)
            clipped += c
            if to_stdout:
                try:
                    sink.write(pcm.tobytes())
                    sink.flush()
                except BrokenPipeError:
                    broken_pipe = True
                    break
            else:
                sink.write(pcm)  # header brought up to date: the file is valid at every block boundary
            written += pcm.shape[0]
            elapsed = time.perf_counter() - t0
            bar.update(pcm.shape[0])
            bar.set_postfix_str(f"{written / sr / max(elapsed, 1e-9):.1f}x real time", refresh=False)
            if stop["signal"]:
                break
    finally:
        for sig, h in handlers.items():
            signal.signal(sig, h)
        bar.close()
        if sink is not None and not to_stdout:
            sink.close()
        if broken_pipe:
            # the reader went away: keep Python's exit-time flush of stdout from failing again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    audio_s = written / sr
    where = "stdout" if to_stdout else str(out)
    why = f" (stopped by {stop['signal']})" if stop["signal"] else " (reader closed the pipe)" if broken_pipe else ""
    if gen.is_waveform:
        inversion = "one inverse STFT (phase-free generator)"
    else:
        inversion = f"PGHI + {n_iter} Griffin-Lim iterations"
    print(f"wrote {written} samples ({audio_s:.1f} s at {sr} Hz) to {where}{why} in {elapsed:.2f} s ({cpu:.2f} s CPU): "
          f"{audio_s / max(elapsed, 1e-9):.1f}x real time; {inversion} per {args.block_seconds:g} s block",
          file=msg)
    if clipped:
        print(f"warning: {clipped} samples clipped to [-1, 1]", file=sys.stderr)
    return 0
