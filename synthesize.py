#!/usr/bin/env python
"""texnet synthesis command line: the optimisation baseline, generators, streaming and evaluation.

    python synthesize.py optimize --style data/rain.ogg --seconds 20 --out out/rain.wav
    python synthesize.py generate --ckpt runs/quickstart/last.ckpt --seconds 60 --out out/gen.wav
    python synthesize.py export --ckpt runs/quickstart/last.ckpt --out out/rain.pt
    python synthesize.py --help

This file only parses arguments and calls texnet's Python API (texnet.cli).
"""
import sys

from texnet.cli import main

if __name__ == "__main__":
    sys.exit(main())
