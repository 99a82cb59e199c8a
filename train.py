#!/usr/bin/env python
"""Train a feed-forward texture generator (LightningCLI).

    python train.py --config quickstart --out runs/quickstart            # a bundled config by name, or a path
    python train.py fit --config quickstart_waveform --out runs/rain --ckpt_path runs/rain/last.ckpt   # resume
    python train.py --config quickstart --print_config
"""
from texnet.trainer_cli import main

if __name__ == "__main__":
    main()
