"""Pictures and records for people: spectrogram figures, JSON run records, W&B/Lightning-logger helpers."""
from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


# A figure is at most 18 x 3.6 inches at 110 dpi: more columns or rows than this are never seen
MAX_PICTURE_FRAMES, MAX_PICTURE_BINS = 2048, 512


def decimate(spec: torch.Tensor, max_frames: int = MAX_PICTURE_FRAMES,
             max_bins: int = MAX_PICTURE_BINS) -> tuple[torch.Tensor, int]:
    """``(freq, time)`` -> at most ``(max_bins, max_frames)`` by max-pooling, and the time factor, for pictures.

    Time is pooled by a whole factor ``k`` (the picture's frame rate is the input's / ``k``). The maximum,
    not the mean, keeps short events and thin lines visible in a picture of an hour, and commutes with
    any increasing log scale, so a magnitude can be decimated before it is logged (the cheap order).
    """
    s = spec.detach().float()
    k = -(-s.shape[-1] // max_frames)
    if k > 1:
        s = F.max_pool1d(s[None], k, k, ceil_mode=True)[0]
    if s.shape[0] > max_bins:
        s = F.adaptive_max_pool1d(s.T[None], max_bins)[0].T
    return s, k


def spectrogram_figure(specs: dict[str, torch.Tensor], frame_rate: float, freqs: torch.Tensor | None = None,
                       title: str | None = None, columns: int | None = None):
    """Side-by-side spectrograms (a front end's log scale) ``{name: (freq, time)}`` on one colour scale; returns a Figure.

    Long or tall spectrograms are drawn from their :func:`decimate`\ d form (time and frequency axes keep
    their true extent). ``columns``: at most that many per row (rows of equal widths), else one row whose
    widths follow the spectrograms' lengths."""
    n = len(specs)
    cols = min(columns or n, n)
    rows = -(-n // cols)
    kw = {"gridspec_kw": {"width_ratios": [max(s.shape[-1], 1) for s in specs.values()]}} if rows == 1 else {}
    fig, grid = plt.subplots(rows, cols, figsize=(min(4 + 3 * cols, 18), 0.4 + 3.2 * rows), squeeze=False, **kw)
    axes = grid.ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    vmax = max(float(s.max()) for s in specs.values())
    for i, (ax, (name, spec)) in enumerate(zip(axes, specs.items())):
        s, k = decimate(spec.cpu())
        top = float(freqs[-1]) if freqs is not None else spec.shape[0]
        im = ax.imshow(s.numpy(), origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=vmax,
                       extent=[0, s.shape[-1] * k / frame_rate, 0, top])
        ax.set_title(name, fontsize=9)
        if i >= n - cols:  # the bottom panel of its column (a label higher up would cover a title below it)
            ax.set_xlabel("time (s)")
    for ax in grid[:, 0]:
        ax.set_ylabel("frequency (Hz)" if freqs is not None else "bin")
    fig.colorbar(im, ax=axes[:n].tolist(), label="level (the front end's log scale)", fraction=0.03)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def loss_figure(rows: list[dict], title: str | None = None):
    """The losses of a run against the step: training terms on the left, validation on the right (log scale
    where every value is positive). ``rows``: ``{"step": int, name: value, ...}``; returns a Figure."""
    names = sorted({k for r in rows for k in r if k != "step"})
    groups = [[n for n in names if n.startswith("train/")], [n for n in names if not n.startswith("train/")]]
    groups = [g for g in groups if g] or [[]]
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 3.6), squeeze=False)
    for ax, group in zip(axes[0], groups):
        positive = True
        for name in group:
            pts = [(r["step"], r[name]) for r in rows if r.get(name) is not None and np.isfinite(r[name])]
            if pts:
                ax.plot(*zip(*pts), label=name, marker="." if len(pts) < 30 else None)
                positive = positive and min(v for _, v in pts) > 0
        if group and positive:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def save_figure(fig, path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Write a figure as PNG atomically and close it (:func:`texnet.outputs.atomic_write`)."""
    from .outputs import atomic_write

    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"), overwrite)
    finally:
        plt.close(fig)


def save_json(obj, path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Write JSON atomically (numpy/torch scalars converted; :func:`texnet.outputs.atomic_write`)."""
    from .outputs import atomic_write

    def default(o):
        if isinstance(o, (np.generic, torch.Tensor)):
            return o.item() if getattr(o, "ndim", 0) == 0 else o.tolist()
        if isinstance(o, Path):
            return str(o)
        raise TypeError(type(o).__name__)

    text = json.dumps(obj, indent=2, default=default)  # a value JSON cannot encode fails before any file

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write(text)

    return atomic_write(path, write, overwrite)
