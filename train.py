#!/usr/bin/env python
"""Train a feed-forward texture generator (LightningCLI).

    python train.py --config configs/quickstart.yaml --out runs/quickstart
    python train.py fit --config configs/quickstart_waveform.yaml --out runs/rain --ckpt_path runs/rain/last.ckpt   # resume
    python train.py --config configs/quickstart.yaml --print_config
"""
from texnet.trainer_cli import main

if __name__ == "__main__":
    main()
