"""Spectrum calibration of a trained phase-free generator: each frequency bin is scaled so that the long-term
spectrum of the generator's audio matches the target's at the generator's own resolution.

    gain_db = calibrate_spectrum(synth, [wave], weights=None)   # synth: a Synthesizer, wave (samples,)

Trained generators leave single bins several dB louder than their neighbours, which the long-term spectrum of
their audio shows as narrow peaks ("spectral lines": steady tones the source lacks; ``bench/RESULTS.md``,
"Spectral lines"). No loss term sees one bin among thousands enough to remove it in a short training, and the
fix is linear: the generator's magnitudes are ``exp(m)``, so a gain per bin is a shift of the last layer's
bias (:meth:`texnet.generators.WaveformGenerator.scale_bins`), exact for one pass, streams and exports alike.
The inverse STFT spreads a bin's gain into its neighbours, so the gain is found in a few rounds of
generate -> measure -> correct.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .loss import mix_stats

CALIBRATION_SEED = 2**40  # rounds use seeds from here: apart from the small seeds users and benchmarks draw
MAX_STEP_DB = 12.0  # at most this correction per bin and round: a bin the generator leaves empty stays quiet
POWER_FLOOR = 1e-10  # of the target's mean bin power


@torch.no_grad()
def bin_power(frontend, wave: torch.Tensor) -> torch.Tensor:
    """Mean power per bin ``(freq,)`` of a waveform ``(samples,)`` through the front end's STFT."""
    return frontend.magnitude(wave[None])[0].square().mean(-1)


@torch.no_grad()
def calibrate_spectrum(synth, targets: Sequence[torch.Tensor], weights: Sequence[float] | None = None,
                       seconds: float = 60.0, rounds: int = 3) -> torch.Tensor:
    """Scale the bins of ``synth``'s phase-free generator in place so that the mean power per bin of ``seconds``
    of its audio matches that of the targets (waveforms ``(samples,)``, mixed with ``weights`` like the loss's
    statistics). Returns the total gain per bin in dB ``(freq,)``."""
    if not synth.is_waveform or synth.is_style:
        raise ValueError("spectrum calibration scales a phase-free (waveform) texture generator's bins")
    if seconds <= 0 or rounds < 1:
        raise ValueError(f"calibration needs seconds > 0 and rounds >= 1, got {seconds} and {rounds}")
    fe = synth.frontend
    target = mix_stats([[bin_power(fe, x.to(synth.device))] for x in targets], weights)[0]
    floor = POWER_FLOOR * target.mean()
    total = torch.zeros_like(target)
    was_training = synth.training
    synth.eval()
    try:
        for r in range(rounds):
            made = bin_power(fe, synth.generate(seconds, seed=CALIBRATION_SEED + r))
            step_db = (10 * torch.log10((target + floor) / (made + floor))).clamp(-MAX_STEP_DB, MAX_STEP_DB)
            synth.generator.scale_bins(10 ** (step_db / 20))
            total += step_db
    finally:
        synth.train(was_training)
    return total
