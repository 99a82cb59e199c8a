"""Every quality measure of one or two candidate textures against a reference recording, in one call.

    from texnet.evaluation import evaluate
    report = evaluate(reference_wave, [candidate_wave], sample_rate=22050)   # plain dict, JSON-ready

This is what ``synthesize.py evaluate`` prints (:mod:`texnet.cli_evaluate` only parses arguments and
formats). The measures and how to read them are documented in :mod:`texnet.metrics`, their calibration
on the bundled clips in ``bench/RESULTS.md``, "Calibration of the judge":

- ``texture_distance``: auditory texture statistics (McDermott & Simoncelli) of the candidate against
  the WHOLE reference, per group (``mean``, ``cv``, ``skew``, ``kurtosis``, ``corr``, ``mod``) and their mean
  ``score`` (0 = identical; about 1 = as different as unrelated recordings usually are).
- ``texture_ratio`` (only when the reference is at least :data:`MIN_RATIO_SECONDS` long):
  ``d(candidate, B) / d(A, B)`` with ``A``/``B`` the reference's first/second half. It ASSUMES THE
  CANDIDATE WAS MADE FROM THE FIRST HALF ``A`` only (as ``train.py`` does with ``--data.holdout 0.5``);
  a candidate made from the whole reference has seen ``B`` and scores optimistically. 1 = as close as
  the recording is to itself; other recordings score well above.
- ``copy_score`` of the candidate against the whole reference (patch cross-correlation of STFT
  log-magnitudes; near 1: verbatim copy; an independent excerpt of the same recording scores lower, at
  a level that depends on the recording: compare a synthesis with its own source's).
- ``heldout_style``: the mean/covariance style loss under descriptors no config trains against, with
  the whole reference as target; ``heldout_style_ratio`` its calibrated form against ``B`` (same
  assumption as ``texture_ratio``).
- ``spectral_lines``: narrow peaks of the long-term spectrum (steady tones, hum), of each candidate and of
  the reference (``reference.spectral_lines``): more than the reference has are tones the synthesis added,
  which no texture statistic resolves (:func:`texnet.metrics.spectral_lines`).
- ``diversity`` between the two candidates when two are given (0: they repeat each other; near 1: no
  patch of one recurs in the other).
"""
from __future__ import annotations

import torch

from . import metrics as M

# Shortest reference for the ratios: halves of 2 s (the calibration used halves of 3.4-10 s; below
# about 2 s the statistics' estimation noise dominates a half's distance to the other).
MIN_RATIO_SECONDS = 4.0
# Shortest input at all: texture statistics need about 0.36 s, the widest held-out descriptor 25 frames.
MIN_SECONDS = 0.5
# Longest stretch of any input that is judged: the statistics' memory grows with the length (the first
# MAX_SECONDS of a longer file are used, and the report says so).
MAX_SECONDS = 600.0


def _seconds(wave: torch.Tensor, sample_rate: int) -> float:
    return float(wave.shape[-1]) / sample_rate


@torch.no_grad()
def evaluate(reference, candidates, sample_rate: int, frontend=None) -> dict:
    """All metrics of each candidate against ``reference``; mono waveforms ``(samples,)`` at ``sample_rate``.

    ``candidates``: one or two waveforms. ``frontend`` (default :func:`texnet.metrics.judge_frontend`:
    n_fft 1024, hop 256, log1p, as in the calibrations) makes the spectrograms for the copy score, the held-out style distance and
    diversity. Returns ``{"reference": {"seconds"}, "sample_rate", "candidates": [per-candidate dict with
    "seconds", "texture_distance", "texture_ratio" (or None), "copy_score", "heldout_style",
    "heldout_style_ratio" (or None), "spectral_lines"], "diversity" (or None), "notes": [str]}``; the
    reference's entry holds "seconds", "spectral_lines" and "ratio_floor" (:func:`texnet.metrics.texture_ratio_floor`:
    what a perfect model of the first half that varies like the recording scores; None without a texture ratio or
    for a reference under four quarters of :data:`texnet.metrics.FLOOR_MIN_PART_SECONDS`).
    """
    ref = M._as_wave(reference)
    cands = [M._as_wave(c) for c in candidates]
    if not 1 <= len(cands) <= 2:
        raise ValueError(f"need one or two candidates, got {len(cands)}")
    for what, w in [("reference", ref)] + [(f"candidate {i + 1}", c) for i, c in enumerate(cands)]:
        if _seconds(w, sample_rate) < MIN_SECONDS:
            raise ValueError(f"{what} is {_seconds(w, sample_rate):.3f} s long; evaluation needs at least "
                             f"{MIN_SECONDS} s")
    fe = frontend or M.judge_frontend()
    notes = []
    cap = int(MAX_SECONDS * sample_rate)
    for what, w in [("reference", ref)] + [(f"candidate {i + 1}", c) for i, c in enumerate(cands)]:
        if w.shape[0] > cap:
            notes.append(f"{what} is {_seconds(w, sample_rate):.0f} s long: its first {MAX_SECONDS:g} s are judged")
    ref, cands = ref[:cap], [c[:cap] for c in cands]

    ref_stats = M.texture_statistics(ref, sample_rate)
    ref_spec = fe(ref)[0]
    cand_specs = [fe(c)[0] for c in cands]
    heldout = M.heldout_style_distances(ref_spec, cand_specs)

    ratios = heldout_ratios = None
    if _seconds(ref, sample_rate) >= MIN_RATIO_SECONDS:
        h = ref.shape[0] // 2
        ratios = M.texture_ratios(ref[:h], ref[h:], cands, sample_rate)
        a_spec, b_spec = fe(ref[:h])[0], fe(ref[h:])[0]
        rows = M.heldout_style_distances(b_spec, [a_spec] + cand_specs)
        base = rows[0]["distance"]
        heldout_ratios = [{"ratio": r["distance"] / max(base, 1e-12), "distance": r["distance"], "baseline": base}
                          for r in rows[1:]]
        notes.append("texture_ratio and heldout_style_ratio assume each candidate was made from the reference's "
                     "first half only and judge it against the unseen second half")
    else:
        notes.append(f"reference shorter than {MIN_RATIO_SECONDS:g} s: no texture_ratio / heldout_style_ratio "
                     f"(they need two halves of at least {MIN_RATIO_SECONDS / 2:g} s)")

    out_cands = []
    for i, (c, spec) in enumerate(zip(cands, cand_specs)):
        out_cands.append({
            "seconds": _seconds(c, sample_rate),
            "texture_distance": M.texture_distance(M.texture_statistics(c, sample_rate), ref_stats),
            "texture_ratio": None if ratios is None else ratios[i],
            "copy_score": M.copy_score(ref_spec, spec),
            "heldout_style": heldout[i],
            "heldout_style_ratio": None if heldout_ratios is None else heldout_ratios[i],
            "spectral_lines": M.spectral_lines(c, sample_rate),
        })
    div = M.diversity(cand_specs[0], cand_specs[1]) if len(cands) == 2 else None
    reference = {"seconds": _seconds(ref, sample_rate), "spectral_lines": M.spectral_lines(ref, sample_rate),
                 "ratio_floor": None if ratios is None else M.texture_ratio_floor(ref, sample_rate)}
    return {"reference": reference, "sample_rate": int(sample_rate),
            "candidates": out_cands, "diversity": div, "notes": notes}
