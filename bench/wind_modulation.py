#!/usr/bin/env python
"""Envelope modulation spectra of a clip's halves and of generators' outputs, side by side (a PNG).

    python bench/wind_modulation.py bench/recipes/wind_modulation.png \\
        "before=runs/wind_before/last.ckpt" "now=runs/wind/last.ckpt" [--clip wind]

Each panel: the share of envelope variance per octave modulation band (0.5-64 Hz, mean over the 30
bands of :func:`texnet.metrics.texture_statistics`) of the clip's first half (trained on), its second half
(unseen) and four 10 s outputs (seeds 0-3) of one checkpoint. Made for wind's slow modulation
(bench/RESULTS.md, "Wind, the hardest clip").
"""
from __future__ import annotations

import argparse
import sys

from texnet import experiments as X


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("png")
    p.add_argument("panels", nargs="+", help="title=checkpoint, one panel each")
    p.add_argument("--clip", default="wind", help="bundled clip the checkpoints were trained on (first half)")
    args = p.parse_args(argv)
    import matplotlib
    import torch

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from texnet.inference import load_generator
    from texnet.metrics import texture_statistics

    torch.set_num_threads(1)
    sr = X.SAMPLE_RATE
    clip = X.load_clip(args.clip, sr)
    h = X.split(clip)
    sa, sb = texture_statistics(clip[:h], sr), texture_statistics(clip[h:], sr)
    hz = sa["mod_hz"].numpy()
    fig, axes = plt.subplots(1, len(args.panels), figsize=(5.5 * len(args.panels), 4), squeeze=False)
    for ax, panel in zip(axes[0], args.panels):
        title, _, ckpt = panel.partition("=")
        ax.loglog(hz, sa["mod"].numpy().mean(0), "k-o", lw=2, label="source, first half (trained on)")
        ax.loglog(hz, sb["mod"].numpy().mean(0), "k--s", lw=2, label="source, second half (unseen)")
        gen = load_generator(ckpt)
        for s, wave in enumerate(X.generate(gen, 10.0, range(4))):
            m = texture_statistics(wave, gen.sample_rate)["mod"].numpy().mean(0)
            ax.loglog(hz, m, "-", color=f"C{s}", alpha=0.8, label=f"generator, seed {s}")
        ax.set_title(title)
        ax.set_xlabel("modulation frequency (Hz)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("share of envelope variance (mean over bands)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{args.clip}: envelope modulation spectra, source halves and 10 s generator outputs")
    fig.tight_layout()
    fig.savefig(args.png, dpi=90)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
