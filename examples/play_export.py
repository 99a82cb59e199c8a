#!/usr/bin/env python
"""Pull an exported texnet texture block by block, as a real-time host would, and write a WAV.
Needs PyTorch and the standard library only (no texnet):

    python synthesize.py export --ckpt runs/quickstart/last.ckpt --out rain.pt
    python examples/play_export.py rain.pt rain.wav --seconds 10 --seed 3
"""
import argparse
import array
import sys
import warnings
import wave

import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a file written by 'texnet export'")
    ap.add_argument("out", help="output .wav (16-bit mono)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--block-ms", type=float, default=20.0, help="samples pulled per call, in milliseconds")
    args = ap.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        m = torch.jit.load(args.model, map_location="cpu")
    sr = m.sample_rate
    total, block = round(args.seconds * sr), max(1, round(args.block_ms * sr / 1000))
    m.stream.reset(args.seed, 0)
    with torch.inference_mode(), wave.open(args.out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        done = 0
        while done < total:
            x = m.stream.read(min(block, total - done))  # (n,) float32, the next n samples
            pcm = array.array("h", (x.clamp(-1, 1) * 32767).round().to(torch.int16).tolist())
            if sys.byteorder == "big":
                pcm.byteswap()  # WAV samples are little-endian
            w.writeframes(pcm.tobytes())
            done += len(pcm)
    print(f"wrote {args.out}: {done / sr:.2f} s at {sr} Hz, seed {args.seed}, {block}-sample blocks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
