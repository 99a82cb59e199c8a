#!/usr/bin/env python
"""A few seconds of a clip's unseen half above generators' outputs, low frequencies only (a PNG).

    python bench/zoom_spectrograms.py bench/recipes/stream_off_grid.png --clip stream \\
        "before=/tmp/before/stream_local/last.ckpt" "now=/tmp/now/stream_local/last.ckpt"

Panels, top to bottom: ``--seconds`` (4) of the unseen half of ``data/<clip>.ogg`` from its second 1, then as
long of each checkpoint (seed 0); frames of ``--n-fft`` points (1024) at a hop of an eighth of that (128), up to
``--max-hz``, in dB over each panel's own top 60 dB. For what a statistic cannot show by itself: events such as
a stream's bubbles (rising tones at 300-1000 Hz), or, in 4096-point frames, wind's narrow whistle wandering in
pitch:

    python bench/zoom_spectrograms.py bench/recipes/wind_whistle.png --clip wind --seconds 9 --max-hz 1500 \\
        --n-fft 4096 "four resolutions=<ckpt>" "three resolutions=<ckpt>"
"""
from __future__ import annotations

import argparse
import sys

from texnet import experiments as X


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("png")
    p.add_argument("panels", nargs="+", help="title=checkpoint, one panel each")
    p.add_argument("--clip", default="stream", help="bundled clip the checkpoints were trained on (first half)")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--max-hz", type=float, default=2000.0)
    p.add_argument("--n-fft", type=int, default=1024, help="frame length (a power of two >= 64)")
    args = p.parse_args(argv)
    if args.n_fft < 64 or args.n_fft & (args.n_fft - 1):
        p.error(f"--n-fft must be a power of two >= 64, got {args.n_fft}")
    if args.seconds * X.SAMPLE_RATE <= args.n_fft or not args.max_hz > X.SAMPLE_RATE / args.n_fft:
        p.error(f"--seconds must hold more than one {args.n_fft}-point frame and --max-hz more than one bin")
    import matplotlib
    import numpy as np
    import torch
    from PIL import Image

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from texnet.inference import load_generator

    torch.set_num_threads(1)
    sr = X.SAMPLE_RATE
    clip = X.load_clip(args.clip, sr)
    n = int(args.seconds * sr)
    waves = {f"{args.clip}, unseen half": clip[X.split(clip) + sr:][:n]}
    for panel in args.panels:
        title, _, ckpt = panel.partition("=")
        with torch.no_grad():
            waves[f"generator: {title}"] = load_generator(ckpt).generate(args.seconds, seed=0).reshape(-1)[:n]
    fig, axes = plt.subplots(len(waves), 1, figsize=(12, 3 * len(waves)), squeeze=False)
    n_fft = args.n_fft
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    keep = freqs < args.max_hz
    for ax, (title, wave) in zip(axes[:, 0], waves.items()):
        power = torch.stft(wave.float(), n_fft, n_fft // 8, window=torch.hann_window(n_fft),
                           return_complex=True).abs().pow(2)
        db = 10 * np.log10(power[keep].numpy() + 1e-12)
        ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=db.max() - 60, vmax=db.max(),
                  extent=[0, wave.shape[0] / sr, 0, freqs[keep][-1]])
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("Hz")
    axes[-1, 0].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(args.png, dpi=50)
    # a 64-colour palette: a tenth of the bytes of the RGB file, no visible change for one colour map
    Image.open(args.png).convert("RGB").quantize(64).save(args.png, optimize=True)
    print(args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
