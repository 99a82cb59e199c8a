#!/usr/bin/env python
"""texnet synthesis command line: the optimisation baseline, generators, streaming and evaluation.

    python synthesize.py optimize --style data/rain.ogg --seconds 20 --out out/rain.wav
    python synthesize.py generate --ckpt runs/quickstart/last.ckpt --seconds 60 --out out/gen.wav
    python synthesize.py export --ckpt runs/quickstart/last.ckpt --out out/rain.pt
    python synthesize.py --help

This file only parses arguments and calls texnet's Python API (texnet.cli).
"""
import sys

if __name__ == "__main__":
    try:
        from texnet.cli import main

        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while torch loads, before main() handles it
        print("synthesize.py: interrupted", file=sys.stderr)
        sys.exit(130)
