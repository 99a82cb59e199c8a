"""Real-time streaming of a phase-free (waveform) generator: cached convolution state, streaming ISTFT.

    stream = WaveformStream.of(texnet.load_generator("runs/quickstart/last.ckpt"))
    stream.reset(seed=3, start_frame=0)
    while True:
        block = stream.read(441)      # (441,) float32: the next 20 ms at 22.05 kHz, forever

:class:`WaveformStream` makes the same audio as one pass of the generator and ``torch.istft(center=True)``
(the front end's inverse), block by block, each new frame computed once:

- **Generator.** Output frame ``t`` of the valid dilated convolutions depends on noise frames
  ``t .. t + receptive_field - 1``. Each residual block keeps the ``(kernel - 1) * dilation`` input frames
  its dilated convolution needs from the previous call (and as many of its residual input); per-frame
  layers (1x1 convolutions, per-frame norm, the complex head) need no state; the centring's local mean
  keeps the ``center_window - 1`` complex frames before the new ones. The noise is position-indexed
  (:mod:`texnet.noise`) and made ahead in chunks.
- **Inverse STFT.** Windowed ``irfft`` frames are overlap-added into a carried partial sum of the
  ``n_fft - hop`` samples still open, and divided by the window-square sum accumulated the same way.
  Each sample's sum is built frame by frame in increasing frame order starting from zero, as
  ``torch.istft`` builds it, so the streamed inverse STFT of given frames equals the one-pass one bit for
  bit; what differs is the generator's float rounding (on a few frames the products sum in another order:
  ``bench/RESULTS.md``, "Real-time streaming", has the measured difference).

A sample is complete once every frame overlapping it exists (``n_fft / 2`` samples after its position,
plus up to a hop: the latency of the inverse STFT). :meth:`WaveformStream.render` is the stateless
one-pass form of the same audio (whole convolutions over the window's noise). The module compiles with
TorchScript: ``texnet export`` saves it (:mod:`texnet.export`).
"""

from typing import List

import torch
import torch.nn.functional as F
from torch import nn

from .generators import WaveformGenerator, complex_frames, subtract_local_mean, subtract_mean
from .noise import multiscale_noise

DEFAULT_NOISE_CHUNK = 64  # noise frames made ahead at once: a one-frame call pays for a sixty-fourth


class WaveformStream(nn.Module):
    """Samples of the endless texture of a :class:`~texnet.generators.WaveformGenerator`, block by block.

    ``reset(seed, start_frame)`` starts at sample ``start_frame * hop``; ``read(n)`` returns the next ``n``
    samples ``(n,)``; ``forward(n_frames)`` reads ``n_frames * hop``. ``render(seed, start_frame, n_frames)``
    is the same audio in one pass, leaving the stream untouched. Works on the generator's device; the
    generator must be in eval mode (with ``center_window=0`` its running mean frame is what is removed)."""

    dilations: List[int]
    norm_cache: List[torch.Tensor]
    input_cache: List[torch.Tensor]

    def __init__(self, generator: WaveformGenerator, window: torch.Tensor, hop_length: int,
                 noise_chunk: int = DEFAULT_NOISE_CHUNK):
        super().__init__()
        g, c = generator, generator.config
        if not isinstance(g, WaveformGenerator):
            raise ValueError("real-time streaming needs a phase-free waveform generator")
        if g.training:
            raise ValueError("put the generator in eval mode first (it computes as in inference only then)")
        n_fft = g.n_fft
        if window.shape != (n_fft,):
            raise ValueError(f"window of {tuple(window.shape)} samples for n_fft {n_fft}")
        if not 0 < hop_length <= n_fft // 2:
            raise ValueError(f"need 0 < hop <= n_fft / 2 (overlapping frames), got hop {hop_length}, n_fft {n_fft}")
        dev = g.body.out.weight.device
        self.inp, self.blocks, self.out_norm, self.out = g.body.inp, g.body.blocks, g.body.out_norm, g.body.out
        self.receptive_field = g.receptive_field
        self.channels = c.channels
        self.kernel_size = c.kernel_size
        self.dilations = [int(d) for d in c.dilations]
        self.noise_channels, self.noise_scales, self.scale_factor = c.noise_channels, c.noise_scales, c.scale_factor
        self.n_freq, self.n_fft, self.hop = g.n_freq, n_fft, int(hop_length)
        self.half = n_fft // 2
        self.mean_centred = g.mean_frame_centred
        self.local_window = int(g.local_window)
        # the generator's own tensors (weights above, the running mean frame here): nothing copied
        self.register_buffer("mean_frame", g.mean_frame if self.mean_centred else torch.zeros(2, g.n_freq, device=dev))
        self.register_buffer("window", window.detach().to(dev, torch.float32).clone())
        self.r = -(-n_fft // self.hop)  # hop-long segments a frame spans (zero-padded past n_fft)
        w2 = F.pad(self.window.square(), (0, self.r * self.hop - n_fft))
        self.register_buffer("window_sq", w2.reshape(self.r, self.hop))
        self.noise_chunk = int(noise_chunk)
        # stream state (reset() sets it)
        self.seed = 0
        self.next_frame = 0                            # next output frame the generator makes
        self.raw_re = torch.zeros(1, 0, 0, device=dev)  # uncentred frames the local mean still needs ...
        self.raw_im = torch.zeros(1, 0, 0, device=dev)  # ... (real, imaginary)
        self.skip = 0                                  # complete samples still to drop before the start
        self.noise = torch.zeros(1, 0, 0, device=dev)  # noise frames [noise_pos, noise_pos + width)
        self.noise_pos = 0
        self.next_noise = 0                            # next noise frame the network takes
        self.norm_cache = []                           # per residual block: its last normalised inputs ...
        self.input_cache = []                          # ... and the same frames un-normalised (residual)
        self.ola = torch.zeros(0, device=dev)          # open overlap-add sums, from padded sample next_frame * hop
        self.env = torch.zeros(0, device=dev)          # the window-square sums of the same samples
        self.ready = torch.zeros(0, device=dev)        # complete samples not read yet
        self.reset(0, 0)

    @staticmethod
    def of(synth, noise_chunk: int = DEFAULT_NOISE_CHUNK) -> "WaveformStream":
        """The stream of a :class:`~texnet.synthesizer.Synthesizer` holding a waveform generator (STFT front end)."""
        if not synth.is_waveform:
            raise ValueError("real-time streaming needs a phase-free waveform generator")
        fe = synth.frontend
        return WaveformStream(synth.generator, fe.window, fe.hop_length, noise_chunk)

    # ---- geometry -------------------------------------------------------------------------------
    def first_frame(self, sample: int) -> int:
        """The first frame overlapping unpadded sample ``sample`` (0 at the start of the texture)."""
        return max(0, (sample + self.half - self.n_fft) // self.hop + 1)

    def frames_to(self, sample: int) -> int:
        """Frames ``0 .. F - 1`` needed to complete samples before ``sample``: frame ``t`` covers padded
        samples ``t * hop .. t * hop + n_fft - 1``; the unpadded sample ``j`` is padded ``j + n_fft / 2``."""
        return max(0, -(-(sample + self.half) // self.hop))

    # ---- streaming ------------------------------------------------------------------------------
    @torch.jit.export
    def reset(self, seed: int, start_frame: int) -> None:
        """Start (again) the texture of ``seed`` at sample ``start_frame * hop``."""
        with torch.no_grad():  # state carried from call to call must not chain autograd graphs
            self._reset(seed, start_frame)

    def _reset(self, seed: int, start_frame: int) -> None:
        if seed < 0 or start_frame < 0:
            raise ValueError("need seed >= 0 and start_frame >= 0")
        if seed > 9223372036854775807:  # 2**63 - 1 (an int64 seed; a TorchScript int cannot exceed it)
            raise ValueError("need seed < 2**63")
        dev = self.window.device
        start = start_frame * self.hop
        t0 = self.first_frame(start)
        self.seed = seed
        self.next_frame = t0
        self.raw_re = torch.zeros(1, self.n_freq, 0, device=dev)
        self.raw_im = torch.zeros(1, self.n_freq, 0, device=dev)
        self.skip = start + self.half - t0 * self.hop
        self.noise = torch.zeros(1, 0, 0, device=dev)
        self.noise_pos = t0
        self.next_noise = t0
        self.norm_cache = [torch.zeros(0, self.channels, device=dev) for _ in range(len(self.blocks))]
        self.input_cache = [torch.zeros(0, self.channels, device=dev) for _ in range(len(self.blocks))]
        self.ola = torch.zeros((self.r - 1) * self.hop, device=dev)
        self.env = torch.zeros((self.r - 1) * self.hop, device=dev)
        self.ready = torch.zeros(0, device=dev)
        if self.receptive_field > 1:  # prime the convolution and local-mean caches: no output frame yet
            self._emit(self._noise(self.receptive_field - 1))

    @torch.jit.export
    def read(self, n_samples: int) -> torch.Tensor:
        """The next ``n_samples`` samples ``(n_samples,)`` of the stream."""
        with torch.no_grad():
            return self._read(n_samples)

    def _read(self, n_samples: int) -> torch.Tensor:
        if n_samples < 0:
            raise ValueError("n_samples must be >= 0")
        # the next sample to read (while samples before the start are still to drop, nothing is ready)
        cursor = self.next_frame * self.hop - self.half - self.ready.shape[0] + self.skip
        k = self.frames_to(cursor + n_samples) - self.next_frame
        if k > 0:
            wave = self._overlap_add(self._frames(k))
            if self.skip > 0:
                drop = min(self.skip, wave.shape[0])
                wave = wave[drop:]
                self.skip -= drop
            self.ready = torch.cat([self.ready, wave]) if self.ready.shape[0] > 0 else wave
        out = self.ready[:n_samples]
        self.ready = self.ready[n_samples:]
        return out

    def forward(self, n_frames: int) -> torch.Tensor:
        """The next ``n_frames * hop`` samples."""
        return self.read(n_frames * self.hop)

    @torch.jit.export
    def render(self, seed: int, start_frame: int, n_frames: int) -> torch.Tensor:
        """Samples ``start_frame * hop ..`` ``(n_frames * hop,)`` of the texture of ``seed`` in one pass
        (whole convolutions over the window's noise), the stream's state untouched."""
        with torch.no_grad():
            return self._render(seed, start_frame, n_frames)

    def _render(self, seed: int, start_frame: int, n_frames: int) -> torch.Tensor:
        if seed < 0 or start_frame < 0 or n_frames < 1:
            raise ValueError("need seed >= 0, start_frame >= 0 and n_frames >= 1")
        if seed > 9223372036854775807:
            raise ValueError("need seed < 2**63")
        start, n = start_frame * self.hop, n_frames * self.hop
        t0 = self.first_frame(start)
        t1 = self.frames_to(start + n)
        seeds = torch.tensor([seed], dtype=torch.int64, device=self.window.device)
        noise = multiscale_noise(seeds, t0, t1 - t0 + self.receptive_field - 1, self.noise_channels,
                                 self.noise_scales, self.scale_factor)
        h = F.leaky_relu(self.inp(noise), 0.2)
        for blk in self.blocks:
            h = blk(h)
        re, im = complex_frames(self.out(F.leaky_relu(self.out_norm(h), 0.2)), self.n_freq)
        frames = self._center(re, im, False)
        zeros = torch.zeros((self.r - 1) * self.hop, device=self.window.device)
        wave, _, _ = self._ola(frames, zeros, zeros.clone())
        skip = start + self.half - t0 * self.hop
        return wave[skip: skip + n]

    # ---- pieces ---------------------------------------------------------------------------------
    def _noise(self, k: int) -> torch.Tensor:
        """The next ``k`` noise frames ``(1, noise_dim, k)``, made ahead ``noise_chunk`` frames at a time."""
        have = self.noise_pos + self.noise.shape[-1] - self.next_noise
        if have < k:
            seeds = torch.tensor([self.seed], dtype=torch.int64, device=self.window.device)
            fresh = multiscale_noise(seeds, self.next_noise + max(have, 0), max(k - have, self.noise_chunk),
                                     self.noise_channels, self.noise_scales, self.scale_factor)
            keep = self.noise[..., self.next_noise - self.noise_pos:]
            self.noise = torch.cat([keep, fresh], dim=-1) if keep.shape[-1] > 0 else fresh
            self.noise_pos = self.next_noise
        off = self.next_noise - self.noise_pos
        out = self.noise[..., off: off + k]
        self.next_noise += k
        return out

    def _network(self, noise: torch.Tensor) -> torch.Tensor:
        """New noise frames ``(1, noise_dim, k)`` in, the last hidden layer's new frames ``(k', channels)``
        out (none while the caches fill). Each block is :class:`~texnet.generators.ResidualBlock` on its
        cached + new frames, time-major and with the convolutions written as matrix products: on a few
        frames ``conv1d`` falls back to slow kernels, and a few columns of a channel-major product are
        several times slower than as many rows (``bench/RESULTS.md``, "Implementation choices measured")."""
        x = F.leaky_relu(F.linear(noise[0].t(), self.inp.weight[:, :, 0], self.inp.bias), 0.2)  # (k, channels)
        i = 0
        for blk in self.blocks:
            xs = torch.cat([self.input_cache[i], x])
            ns = torch.cat([self.norm_cache[i], blk.norm(x.t()[None])[0].t()])
            length, shrink = xs.shape[0], blk.shrink
            keep = min(length, shrink)
            self.input_cache[i] = xs[length - keep:]
            self.norm_cache[i] = ns[length - keep:]
            width = length - shrink
            if width > 0:
                w = blk.conv.weight  # (out, in, kernel): as (out, in * kernel), column c * kernel + j
                if self.kernel_size == 1:
                    taps = ns
                else:  # (width, in * kernel): input c at tap j in column c * kernel + j
                    taps = ns.unfold(0, shrink + 1, 1)[:, :, ::self.dilations[i]].reshape(width, -1)
                h = F.leaky_relu(F.linear(taps, w.reshape(w.shape[0], -1), blk.conv.bias), 0.2)
                x = xs[blk.left: blk.left + width] + F.linear(h, blk.mix.weight[:, :, 0], blk.mix.bias)
            else:
                x = xs[:0]
            i += 1
        return x

    def _frames(self, k: int) -> torch.Tensor:
        """The next ``k`` complex frames ``(k, n_freq)``."""
        frames = self._emit(self._noise(k))
        self.next_frame += k
        return frames

    def _emit(self, noise: torch.Tensor) -> torch.Tensor:
        """New noise frames in, the output frames ``(k, n_freq)`` they complete out (none while caches fill)."""
        h = F.leaky_relu(self.out_norm(self._network(noise).t()[None]), 0.2)[0].t()
        out = F.linear(h, self.out.weight[:, :, 0], self.out.bias)  # (k, 3 * n_freq)
        re, im = complex_frames(out.t()[None], self.n_freq)
        if self.local_window > 0:
            re, im = torch.cat([self.raw_re, re], -1), torch.cat([self.raw_im, im], -1)
            keep = min(re.shape[-1], self.local_window - 1)
            self.raw_re, self.raw_im = re[..., re.shape[-1] - keep:], im[..., im.shape[-1] - keep:]
            if re.shape[-1] < self.local_window:
                return torch.zeros(0, self.n_freq, dtype=torch.complex64, device=re.device)
        return self._center(re, im, True)

    def _center(self, re: torch.Tensor, im: torch.Tensor, streaming: bool) -> torch.Tensor:
        """The eval-mode centring of uncentred frames ``(1, n_freq, k + center_window - 1)``: complex frames
        ``(k, n_freq)``, time-major as the inverse FFT takes them (a strided complex() is several times slower).
        ``streaming``: a block's few frames (the same means to float rounding); else exactly the one pass's."""
        if self.local_window > 0:
            re, im = self._local_centre(re, im) if streaming else subtract_local_mean(re, im, self.local_window)
        elif self.mean_centred:
            re, im = subtract_mean(re, im, self.mean_frame)
        return torch.complex(re[0].t(), im[0].t())

    def _local_centre(self, re: torch.Tensor, im: torch.Tensor):
        """:func:`~texnet.generators.subtract_local_mean`; for a few frames (a real-time block) the window means
        as one product with a band of ones: the block algorithm's passes over the padded window cost several
        times the rest of a 20 ms block (``bench/RESULTS.md``, "Real-time streaming")."""
        w = self.local_window
        n = re.shape[-1]
        k = n - w + 1
        if k > w:
            return subtract_local_mean(re, im, w)
        i = torch.arange(n, device=re.device)[:, None]
        j = torch.arange(k, device=re.device)[None, :]
        band = ((i >= j) & (i < j + w)).to(re.dtype) * (1.0 / w)  # (n, k): frame i is in the window of output j
        mean = torch.matmul(torch.cat([re[0], im[0]]), band)  # (2 * n_freq, k)
        half = w // 2
        return re[..., half: half + k] - mean[: self.n_freq][None], im[..., half: half + k] - mean[self.n_freq:][None]

    def _overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        wave, self.ola, self.env = self._ola(frames, self.ola, self.env)
        return wave

    def _ola(self, frames: torch.Tensor, ola: torch.Tensor, env: torch.Tensor):
        """Overlap-add ``k`` complex frames ``(k, n_freq)`` onto the open sums ``ola``/``env`` (``(r - 1) * hop``, from
        the padded position of the first frame): the ``k * hop`` samples completed, the new open sums."""
        k, r, hop = frames.shape[0], self.r, self.hop
        time = torch.fft.irfft(frames, n=self.n_fft) * self.window  # (k, n_fft), as torch.istft
        seg = F.pad(time, (0, r * hop - self.n_fft)).reshape(k, r, hop)
        num = torch.cat([ola.reshape(r - 1, hop), torch.zeros(k, hop, device=ola.device)])
        den = torch.cat([env.reshape(r - 1, hop), torch.zeros(k, hop, device=env.device)])
        # segment j of frame t lands on hop-block t + j; adding j = r-1 .. 0 adds every block's frames in
        # increasing frame order, as torch.istft's overlap-add does (and so to the same float sums)
        for j in range(r - 1, -1, -1):
            num[j: j + k] += seg[:, j]
            den[j: j + k] += self.window_sq[j]
        wave = (num[:k] / den[:k]).reshape(-1)
        return wave, num[k:].reshape(-1), den[k:].reshape(-1)
