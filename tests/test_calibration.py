"""Spectrum calibration: exact per-bin gains folded into a phase-free generator, a loud bin brought back to its
target, the training run's checkpoint holding the calibrated generator."""
from __future__ import annotations

import pytest
import torch

from texnet.calibration import bin_power, calibrate_spectrum
from texnet.descriptors import DescriptorConfig
from texnet.frontends import FrontendConfig, STFTFrontend
from texnet.generators import GeneratorConfig, TextureGenerator, WaveformGenerator
from texnet.synthesizer import Synthesizer

N_FFT, HOP = 256, 64


def _synth(center_window: int = 65) -> Synthesizer:
    fe = STFTFrontend(FrontendConfig(n_fft=N_FFT, hop_length=HOP))
    cfg = GeneratorConfig(kind="waveform", channels=8, dilations=[1, 2, 4], noise_channels=2, noise_scales=3,
                          center_window=center_window)
    torch.manual_seed(0)
    g = WaveformGenerator(fe.n_freq, cfg)
    with torch.no_grad():
        g.body.out.bias[: fe.n_freq].fill_(-1.0)
        if g.mean_frame_centred:
            g.mean_frame.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    return Synthesizer(g, fe, DescriptorConfig(), {}).eval()


def _db(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(a / b)


@pytest.mark.parametrize("center_window", [65, 0])
def test_scale_bins_multiplies_every_frame_of_each_bin_exactly(center_window):
    synth = _synth(center_window)
    gen = synth.generator
    noise = gen.make_noise(50, [3])
    before = gen(noise)
    gain = torch.linspace(0.5, 2.0, gen.n_freq)
    gen.scale_bins(gain)
    torch.testing.assert_close(gen(noise), before * gain[None, :, None], rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="positive gains"):
        gen.scale_bins(-gain)


@pytest.mark.parametrize("center_window", [65, 0])
def test_a_loud_bin_is_brought_back_to_the_target(center_window):
    synth = _synth(center_window)
    target = synth.generate(20.0, seed=7)  # the generator's own audio, before one bin is made 10 dB louder
    gain = torch.ones(synth.generator.n_freq)
    gain[40] = 10 ** 0.5
    synth.generator.scale_bins(gain)
    reference = bin_power(synth.frontend, target)
    loud = _db(bin_power(synth.frontend, synth.generate(20.0, seed=8)), reference)
    assert loud[40] > 6  # 10 dB made, less what leaks to and from the neighbouring bins
    total_db = calibrate_spectrum(synth, [target], seconds=20.0)
    after = _db(bin_power(synth.frontend, synth.generate(20.0, seed=9)), reference)
    assert abs(float(after[40])) < 1.0 and float(after[10:-10].abs().median()) < 0.5
    if not center_window:  # frames that hold their phase: the gain found is the bump undone
        assert float(total_db[40]) == pytest.approx(-10.0, abs=1.5)
    else:  # this untrained generator's frames are mostly slow parts, removed: more of a bin is its neighbours' leak
        assert float(total_db[40]) < -6.0
    assert not synth.training  # its mode is left as it was


def test_a_magnitude_generator_is_refused():
    fe = STFTFrontend(FrontendConfig(n_fft=N_FFT, hop_length=HOP, scale="log1p"))
    synth = Synthesizer(TextureGenerator(fe.n_freq, GeneratorConfig(kind="texture", channels=4, dilations=[1])),
                        fe, DescriptorConfig(), {})
    with pytest.raises(ValueError, match="phase-free"):
        calibrate_spectrum(synth, [torch.randn(4000)])
