#!/usr/bin/env python
"""Train a feed-forward texture generator (LightningCLI).

    python train.py --config quickstart --out runs/quickstart            # a bundled config by name, or a path
    python train.py fit --config quickstart_waveform --out runs/rain --ckpt_path runs/rain/last.ckpt   # resume
    python train.py --config quickstart --print_config
"""
import sys

if __name__ == "__main__":
    try:
        from texnet.trainer_cli import main

        main()
    except KeyboardInterrupt:  # Ctrl-C while Lightning loads, before main() handles it
        print("train.py: interrupted", file=sys.stderr)
        sys.exit(130)
