#!/usr/bin/env python
"""Real-time streaming of the default (phase-free) generator: latency and throughput per block size on ONE
torch thread, for the cached-state streamer (texnet.realtime) as the exported TorchScript module runs it, in
eager mode, and as ``synthesize.py stream`` runs it (reading 1024 frames at a time).

    python bench/bench_realtime.py                 # writes "## Real-time streaming" in bench/RESULTS.md
    python bench/bench_realtime.py --no-write      # print only

The generator is the default architecture with its initial weights (``GeneratorConfig()``,
``FrontendConfig()``; speed does not depend on training). Latency is this thread's CPU time per
``read(block)`` call (robust to other jobs on the machine); the clock's figures are given beside it.
"""
from __future__ import annotations

import argparse
import time
import warnings

import torch

from texnet import experiments as X
from texnet import streaming as S
from texnet.realtime import WaveformStream

HEADING = "## Real-time streaming"
BLOCKS_MS = (10, 20, 50, 1000)


def variants(synth, seed: int):
    """(name, make(block_samples) -> read()) for each streaming path."""
    sr = synth.sample_rate

    def cached(scripted: bool):
        def make(block: int):
            stream = WaveformStream.of(synth)
            if scripted:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script's deprecation notice
                    stream = torch.jit.script(stream)
            stream.reset(seed, 0)
            return lambda: stream.read(block)
        return make

    def library(block: int):
        it = S.stream_waveform(synth, None, seed, block_seconds=block / sr)
        return lambda: next(it)

    return [("cached-state streamer, TorchScript (the exported module)", cached(True)),
            ("cached-state streamer, eager", cached(False)),
            ("stream_waveform (synthesize.py stream): the eager streamer read 1024 frames at a time", library)]


def accuracy(synth, seed: int, seconds: float = 30.0) -> dict:
    """Max |difference| from one pass (Synthesizer.generate, long enough that every sample has its frames)
    of the exported module's stateless form and of its stream read in 20 ms blocks."""
    from texnet.export import export_module

    sr, hop = synth.sample_rate, synth.frontend.hop_length
    n_frames = int(seconds * sr) // hop
    n = n_frames * hop
    with torch.no_grad():
        ref = synth.generate((n + synth.frontend.n_fft + hop) / sr, seed=seed)[:n]
        m = export_module(synth)
        whole = m(seed, 0, n_frames)
        m.stream.reset(seed, 0)
        block = round(0.02 * sr)
        streamed = torch.cat([m.stream.read(min(block, n - i)) for i in range(0, n, block)])
    return {"peak": ref.abs().max().item(), "stateless": (whole - ref).abs().max().item(),
            "stateless_equal": torch.equal(whole, ref), "stream": (streamed - ref).abs().max().item()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="audio streamed per variant and block size")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--results", default=str(X.ROOT / "bench" / "RESULTS.md"))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    synth = X.untrained_synthesizer()
    fe, sr = synth.frontend, synth.sample_rate
    machine = X.machine_info()
    rows, rtf = [], {}
    for name, make in variants(synth, args.seed):
        for ms in BLOCKS_MS:
            block = round(ms * sr / 1000)
            r = X.time_blocks(make(block), args.seconds, sr)
            rtf[name, ms] = r["rtf_cpu"]
            dur_ms = 1e3 * r["block_samples"] / sr
            rows.append([name, f"{ms} ms", f"{r['block_samples']:.0f}", f"{r['cpu_ms_mean']:.3f}",
                         f"{r['cpu_ms_p99']:.3f}", f"{r['cpu_ms_max']:.2f}", f"{r['cpu_ms_max'] / dur_ms:.2f}",
                         f"{r['rtf_cpu']:.1f}x", f"{r['rtf_wall']:.1f}x"])
            print(" | ".join(rows[-1]), flush=True)
    names = [name for name, _ in variants(synth, args.seed)]
    script, eager = rtf[names[0], 20], rtf[names[1], 20]
    acc = accuracy(synth, args.seed)
    stateless = ("is bit for bit equal" if acc["stateless_equal"] else
                 f"differs by at most {acc['stateless']:.2g}")
    print(acc, flush=True)
    head = ["variant", "block", "samples per block (mean)", "CPU ms per block: mean", "p99", "max",
            "max / block duration", "x real time (CPU)", "x real time (clock)"]
    text = (f"`python bench/bench_realtime.py` ({machine['cpu']}, {machine['cores']} "
            f"cores, torch {machine['torch']}, ONE torch thread; load average "
            f"{' / '.join(f'{x:.1f}' for x in machine['load'])} at the start, other jobs shared the CPU). The "
            f"default generator (initial weights), n_fft {fe.n_fft}, hop {fe.hop_length} "
            f"({1e3 * fe.hop_length / sr:.1f} ms), {sr} Hz; {args.seconds:g} s of audio per row, read in "
            f"blocks of the given length. Latency = this thread's CPU time per block; a block is made in "
            f"time while its latency stays under its duration.\n\n"
            f"**Target** (20 ms blocks at 20x real time or more on one thread): "
            f"{'met' if min(script, eager) >= 20 else 'met by TorchScript only' if script >= 20 else 'NOT met'}: "
            f"{script:.0f}x by CPU time as exported (TorchScript), {eager:.0f}x in eager mode. `stream_waveform` "
            f"reads 1024 frames at a time for throughput, so its latency is that read's (tens of ms, once per "
            f"24 s); a real-time host pulls blocks from the streamer itself (`texnet export`).\n\n"
            + X.markdown_table(head, rows) + "\n\n"
            f"Against one pass (`Synthesizer.generate`, same seed, {args.seconds:g} s, audio peak {acc['peak']:.3g}): the "
            f"exported module's stateless form {stateless}"
            f", its stream read in 20 ms blocks differs by at most "
            f"{acc['stream']:.2g} (float rounding: on a few frames the matrix products sum in another order than "
            f"the one pass's convolutions; the streaming inverse STFT alone is exact).\n")
    if args.no_write:
        print("\n" + text)
    else:
        X.write_section(args.results, text, HEADING)
        print(f"wrote the '{HEADING}' section of {args.results}")


if __name__ == "__main__":
    main()
