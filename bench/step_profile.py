#!/usr/bin/env python
"""Where one training step of the default generator spends its time, term by term.

    python bench/step_profile.py                        # the quickstart's step: 4 renders of 3.2 s of rain
    python bench/step_profile.py --batch 8 --crop 3.2   # another batch shape

One torch thread (``--threads``). The step is cut where the loss's terms meet: the generator's render
(forward), each term's forward + backward with respect to the rendered audio (each resolution's
spectrogram + descriptor statistics + long-term spectrum, the auditory statistics, the tone guard), the generator's
backward from the summed gradient, and the optimiser. Each piece's median over ``--repeats`` steps
(after one warm-up), and its share of their sum; the sum against a whole fused step checks the cut.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from texnet import experiments as X
from texnet.module import TextureModule


def _clock(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texture", default="rain")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--crop", type=float, default=3.2, help="crop seconds")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    module = TextureModule()
    clip = X.first_half(X.load_clip(args.texture, module.sample_rate))
    module.set_targets([clip])
    loss, synth = module.loss, module.synth
    opt = torch.optim.Adam(module.generator.parameters(), lr=1e-4)
    crops = clip[: int(args.crop * module.sample_rate)].repeat(args.batch, 1)
    seeds = list(range(args.batch))
    times: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    for rep in range(args.repeats + 1):
        opt.zero_grad()
        t = time.perf_counter()
        wave, _ = synth.render(crops, seeds)
        t_render = time.perf_counter() - t
        x = wave.detach().requires_grad_()
        pieces = {}
        for i, desc in enumerate(loss.descriptors):
            def term(i=i, desc=desc):
                spec = loss.spectrogram(i, x)
                value = desc.style(desc.descriptor(spec), True)
                if loss.spectra is not None:
                    value = value + loss.config.spectrum_weight * loss.spectra[i](spec, True)
                (value.sum() / loss.n_resolutions).backward()
            pieces[f"resolution {loss.views[i].frontend.n_fft}"] = _clock(term)
        if loss.auditory is not None:
            pieces["auditory"] = _clock(lambda: (loss.config.auditory_weight * loss.auditory.loss(x, pooled=True)).sum().backward())
        if loss.tones is not None:
            pieces["tone guard"] = _clock(
                lambda: (loss.config.tone_weight * loss.tones(x, pooled=True)).sum().backward())
        t_back = _clock(lambda: wave.backward(x.grad))
        t_opt = _clock(opt.step)
        opt.zero_grad()
        t_whole = _clock(lambda: (loss(synth.render(crops, seeds)[0], pooled=True).total.mean().backward(), opt.step()))
        if rep == 0:
            continue  # warm-up
        add("generator forward", t_render)
        for k, v in pieces.items():
            add(k, v)
        add("generator backward", t_back)
        add("optimiser", t_opt)
        add("(a whole step, fused)", t_whole)
    med = {k: statistics.median(v) for k, v in times.items()}
    parts = sum(v for k, v in med.items() if not k.startswith("("))
    print(f"# one training step, {args.batch} crops of {args.crop:g} s ({args.texture}), {args.threads} torch "
          f"thread(s), median of {args.repeats}")
    for k, v in med.items():
        share = "" if k.startswith("(") else f"{100 * v / parts:5.1f} %"
        print(f"{k:26s} {v * 1000:8.0f} ms  {share}")
    print(f"{'sum of the pieces':26s} {parts * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
