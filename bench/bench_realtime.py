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
    rows = []
    for name, make in variants(synth, args.seed):
        for ms in BLOCKS_MS:
            block = round(ms * sr / 1000)
            r = X.time_blocks(make(block), args.seconds, sr)
            dur_ms = 1e3 * r["block_samples"] / sr
            rows.append([name, f"{ms} ms", f"{r['block_samples']:.0f}", f"{r['cpu_ms_mean']:.3f}",
                         f"{r['cpu_ms_p99']:.3f}", f"{r['cpu_ms_max']:.2f}", f"{r['cpu_ms_max'] / dur_ms:.2f}",
                         f"{r['rtf_cpu']:.1f}x", f"{r['rtf_wall']:.1f}x"])
            print(" | ".join(rows[-1]), flush=True)
    head = ["variant", "block", "samples per block (mean)", "CPU ms per block: mean", "p99", "max",
            "max / block duration", "x real time (CPU)", "x real time (clock)"]
    text = (f"`python bench/bench_realtime.py` ({time.strftime('%Y-%m-%d')}; {machine['cpu']}, {machine['cores']} "
            f"cores, torch {machine['torch']}, ONE torch thread; load average "
            f"{' / '.join(f'{x:.1f}' for x in machine['load'])} at the start, other jobs shared the CPU). The "
            f"default generator (initial weights), n_fft {fe.n_fft}, hop {fe.hop_length} "
            f"({1e3 * fe.hop_length / sr:.1f} ms), {sr} Hz; {args.seconds:g} s of audio per row, read in "
            f"blocks of the given length. Latency = this thread's CPU time per block; a block is made in "
            f"time while its latency stays under its duration.\n\n" + X.markdown_table(head, rows) + "\n")
    if args.no_write:
        print("\n" + text)
    else:
        X.write_section(args.results, text, HEADING)
        print(f"wrote the '{HEADING}' section of {args.results}")


if __name__ == "__main__":
    main()
