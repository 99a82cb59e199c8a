#!/usr/bin/env python
"""Which term of its training objective a generator misses, against the clip's unseen half.

    python bench/objective_terms.py runs/recipes/wind_default/last.ckpt --clip wind

The objective the checkpoint was trained against, with the FIRST half of ``data/<clip>.ogg`` as the target,
pooled over 16 evenly spaced 1.5 s crops (as ``bench/bench_recipes.py`` reports it), of the unseen second half
and of ``--seconds`` of the generator's audio (``--seed``): the total, the descriptor statistics per
resolution, the long-term spectrum, the auditory statistics and the tone guard, each before its weight.
Beside them the unseen half with the phases of its STFT in the generator's frames drawn at random (its RMS
restored): what a generator scores that makes the right magnitudes with unrelated phases.
"""
from __future__ import annotations

import argparse

import torch

from bench_recipes import CROP_SECONDS, crops  # the crops bench_recipes.py reports the objective on
from texnet import experiments as X
from texnet.inference import load_generator


@torch.no_grad()
def terms(loss, x: torch.Tensor) -> dict:
    """The pooled objective's terms of candidates ``x`` (the loss's input, batch first)."""
    out = loss(x, pooled=True)
    row = {"total": float(out.total.mean()), **{k: float(v.mean()) for k, v in out.parts.items()}}
    row["descriptor per resolution"] = [float(d.style(d.descriptor(loss.spectrogram(i, x)), True).mean())
                                        for i, d in enumerate(loss.descriptors)]
    return row


def random_phases(wave: torch.Tensor, frontend, seed: int = 0) -> torch.Tensor:
    """``wave`` ``(samples,)`` with the phases of its STFT (``frontend``'s frames) drawn at random, at its RMS."""
    spec = frontend.complex_stft(wave[None])
    phase = torch.rand(spec.shape, generator=torch.Generator().manual_seed(seed)) * 2 * torch.pi
    out = frontend.istft(torch.polar(spec.abs(), phase), length=wave.shape[-1])[0]
    return out * wave.square().mean().sqrt() / out.square().mean().sqrt()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ckpt")
    p.add_argument("--clip", required=True, help="the bundled clip whose first half it was trained on")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    gen = load_generator(args.ckpt)
    objective = X.objective_for_generator(gen)
    clip = X.load_clip(args.clip, gen.sample_rate)
    objective.set_targets([X.first_half(clip)])
    n = max(int(CROP_SECONDS * gen.sample_rate), objective.min_samples())
    loss = objective.loss
    print(f"{args.clip}: resolutions {loss.config.resolutions}")
    unseen = clip[X.split(clip):]
    for name, wave in (("unseen half", unseen), ("unseen half, random phases", random_phases(unseen, gen.frontend)),
                       ("generator", gen.generate(args.seconds, seed=args.seed))):
        row = terms(loss, loss.input_of(crops(wave, n)))
        per = " / ".join(f"{v:.3f}" for v in row.pop("descriptor per resolution"))
        print(f"{name:26s} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()) + f"  descriptor per resolution {per}")


if __name__ == "__main__":
    main()
