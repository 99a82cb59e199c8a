"""Real-time streaming of a waveform generator: blocks of any size equal one pass (generator + the front
end's torch.istft), the streaming overlap-add is exact, state stays bounded, TorchScript compiles it."""
from __future__ import annotations

import random
import warnings

import pytest
import torch

from texnet.descriptors import DescriptorConfig
from texnet.frontends import FrontendConfig, STFTFrontend
from texnet.generators import GeneratorConfig, TextureGenerator, WaveformGenerator
from texnet.realtime import WaveformStream
from texnet.synthesizer import Synthesizer

# float rounding: the streamed convolutions run on a few frames, the one pass on all of them, and CPU
# kernels sum in another order for other widths (last bits; the audio peaks around 0.5 here)
ATOL = 1e-6


def _synth(n_fft=256, hop=64, window="hann", **gen) -> Synthesizer:
    fe = STFTFrontend(FrontendConfig(n_fft=n_fft, hop_length=hop, window=window))
    cfg = GeneratorConfig(kind="waveform", channels=8, dilations=[1, 2, 4], noise_channels=2, noise_scales=3,
                          **gen)
    torch.manual_seed(0)
    g = WaveformGenerator(fe.n_freq, cfg)
    with torch.no_grad():  # something to remove and a level worth hearing
        g.body.out.bias[: fe.n_freq].fill_(-1.0)
        if g.mean_frame_centred:
            g.mean_frame.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    return Synthesizer(g, fe, DescriptorConfig(), {}).eval()


def _one_pass(synth: Synthesizer, n_samples: int, seed: int) -> torch.Tensor:
    """The first ``n_samples`` of the texture in one pass: enough frames that every sample has all of its."""
    fe = synth.frontend
    frames = (n_samples + fe.n_fft) // fe.hop_length + 2
    return fe.istft(synth.generator.generate(frames, seed=seed)[None])[0][:n_samples]


def _read(stream: WaveformStream, sizes, total: int) -> torch.Tensor:
    out, n, i = [], 0, 0
    while n < total:
        out.append(stream.read(min(sizes[i % len(sizes)], total - n)))
        assert out[-1].shape == (min(sizes[i % len(sizes)], total - n),)
        n += out[-1].numel()
        i += 1
    return torch.cat(out)


@pytest.mark.parametrize("gen", [{}, {"center_window": 0}, {"center_window": 5}, {"center": False}])
@pytest.mark.parametrize("frontend", [{}, {"n_fft": 256, "hop": 96, "window": "hamming"}])
def test_blocks_of_any_size_equal_one_pass(gen, frontend):
    synth = _synth(**frontend, **gen)
    ref = _one_pass(synth, 6000, seed=3)
    stream = WaveformStream.of(synth)
    stream.reset(3, 0)
    sizes = [1, 441, 7, 64, 1000, 220, 3]
    y = _read(stream, sizes, 6000)
    assert (y - ref).abs().max() < ATOL, (y - ref).abs().max()
    assert ref.abs().max() > 0.02  # not a silent comparison (a short centring window leaves the least)
    # another partition of the same stream: the same samples
    stream.reset(3, 0)
    torch.testing.assert_close(_read(stream, [5000, 1], 6000), y, atol=ATOL, rtol=0)


@pytest.mark.parametrize("start", [1, 2, 3, 50])
def test_a_stream_started_anywhere_continues_the_same_texture(start):
    synth = _synth()
    hop = synth.frontend.hop_length
    ref = _one_pass(synth, (start + 40) * hop, seed=5)[start * hop:]
    stream = WaveformStream.of(synth)
    stream.reset(5, start)
    y = torch.cat([stream(1), stream(13), stream(26)])  # forward(n_frames): n_frames * hop samples
    assert y.shape == ref.shape
    assert (y - ref).abs().max() < ATOL
    assert (stream.render(5, start, 40) - ref).abs().max() < ATOL  # the stateless one-pass form too


def test_render_is_one_pass_of_generator_and_istft_and_leaves_the_stream_alone():
    synth = _synth()
    hop = synth.frontend.hop_length
    stream = WaveformStream.of(synth)
    stream.reset(2, 0)
    first = stream.read(500)
    # from frame 0, render runs the same whole convolutions as the generator: the same bits
    assert torch.equal(stream.render(2, 0, 60), _one_pass(synth, 60 * hop, seed=2))
    torch.testing.assert_close(stream.read(500), _one_pass(synth, 1000, seed=2)[500:], atol=ATOL, rtol=0)
    assert not torch.allclose(stream.render(3, 0, 8), stream.render(2, 0, 8))
    assert first.numel() == 500


def test_streaming_overlap_add_is_torch_istft_bit_for_bit():
    """The inverse STFT alone is exact: frames overlap-added in chunks of any size are torch.istft's samples."""
    for n_fft, hop, window in [(256, 64, "hann"), (256, 96, "hamming"), (2048, 512, "hann")]:
        synth = _synth(n_fft=n_fft, hop=hop, window=window)
        stream = WaveformStream.of(synth)
        frames = torch.randn(n_fft // 2 + 1, 80, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))
        ref = synth.frontend.istft(frames[None])[0]
        zeros = torch.zeros((stream.r - 1) * hop)
        ola, env, parts, t = zeros, zeros.clone(), [], 0
        for k in [1, 5, 2, 30, 42]:
            wave, ola, env = stream._ola(frames[:, t: t + k].t(), ola, env)
            parts.append(wave)
            t += k
        y = torch.cat(parts)[n_fft // 2:]  # padded -> unpadded samples; complete where all frames exist
        done = 80 * hop - n_fft // 2  # samples with all their frames (the rest are open sums)
        assert y.numel() == done
        assert torch.equal(y[: min(done, ref.numel())], ref[:done]), (n_fft, hop)


def test_state_stays_bounded_and_reset_restarts():
    synth = _synth()
    stream = WaveformStream.of(synth)
    stream.reset(1, 0)
    a = stream.read(3000)
    sizes, rng = set(), random.Random(0)
    for _ in range(300):
        stream.read(rng.randint(1, 400))
        sizes.add((stream.ready.numel() <= 400 + synth.frontend.n_fft, stream.noise.shape[-1] <= 64 + 20,
                   tuple(c.shape[-1] for c in stream.norm_cache), stream.ola.numel()))
    assert len(sizes) == 1 and next(iter(sizes))[:2] == (True, True), sizes
    stream.reset(1, 0)
    assert torch.equal(stream.read(3000), a)
    # no autograd graph chained through the carried state, even where the caller records gradients
    assert torch.is_grad_enabled() and synth.generator.body.out.weight.requires_grad
    assert not stream.read(100).requires_grad and not stream.input_cache[0].requires_grad


def test_torchscript_compiles_it():
    synth = _synth()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script's deprecation notice
        scripted = torch.jit.script(WaveformStream.of(synth))
    ref = _one_pass(synth, 4000, seed=9)
    scripted.reset(9, 0)
    y = torch.cat([scripted.read(300) for _ in range(13)] + [scripted.read(100)])
    assert (y - ref).abs().max() < ATOL
    assert (scripted.render(9, 0, 62) - ref[: 62 * 64]).abs().max() < ATOL


def test_refuses_what_it_cannot_stream():
    synth = _synth()
    fe = synth.frontend
    magnitude = Synthesizer(TextureGenerator(fe.n_freq, GeneratorConfig(kind="texture", channels=4, dilations=[1])),
                            fe, DescriptorConfig(), {})
    with pytest.raises(ValueError, match="waveform generator"):
        WaveformStream.of(magnitude)
    with pytest.raises(ValueError, match="eval mode"):
        WaveformStream(synth.generator.train(), fe.window, fe.hop_length)
    synth.generator.eval()
    with pytest.raises(ValueError, match="hop"):
        WaveformStream(synth.generator, fe.window, 200)
    stream = WaveformStream.of(synth)
    for bad in [(-1, 0), (0, -1), (2**63, 0)]:
        with pytest.raises(ValueError):
            stream.reset(*bad)
    with pytest.raises(ValueError):
        stream.read(-1)
