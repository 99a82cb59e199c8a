"""Endless texture streaming: chunked generation and block-wise phase retrieval in bounded memory.

    gen = texnet.load_generator("runs/quickstart/last.ckpt")
    for block in stream_waveform(gen, seconds=None, seed=3):   # endless; (samples,) float32 blocks
        sink.write(block.numpy())

A phase-free (waveform) generator emits its frames' phase: its stream is :class:`texnet.realtime.WaveformStream`
(cached convolution state and a streaming inverse STFT, equal to one pass up to float rounding). The paper's
magnitude generator streams in two stages, each with state that does not grow with the length streamed:

1. **Generation** (:func:`generate_chunks`): the texture generator is a stack of valid convolutions whose
   output frame ``t`` depends on exactly the noise frames ``t .. t + receptive_field - 1``, and the noise
   is position-indexed (:func:`texnet.generators.make_noise`), so each chunk gets exactly the noise
   window its receptive field needs and the concatenation of chunks equals one-pass
   ``generator.generate(total, seed)`` up to float rounding. Chunks of ``chunk_frames`` (default 1024,
   about 12 s at hop 256) keep the recomputed ``receptive_field - 1`` overlap frames small.

2. **Inversion** (:func:`invert_stream`, STFT front end only): block-wise fast Griffin-Lim with the
   phase of earlier frames held fixed, after RTISI-LA (Zhu et al. 2007) but with blocks of many frames.
   Each block works on a window of frames

       [ context: committed, phase fixed | new: committed after this block | look-ahead: carried ]
         ceil(n_fft / hop) frames          block_frames                      lookahead_frames

   The context frames are the ones whose windows overlap the new frames' samples; holding their phase
   fixed during the iterations makes the new phases consistent with the waveform already written. The
   look-ahead frames are iterated too but only carried (warm start) into the next block, where they sit
   in the middle of the window. New frames start from a phase-gradient estimate (:func:`pghi_phase`). The waveform is the overlap-add inverse STFT
   of ONE global sequence of committed frames, computed block by block and sliced where all overlapping
   frames are committed, so blocks join without seams by construction (no crossfade needed: the
   window-sum normalisation is that of the full-length ISTFT).

The PGHI start gives a better phase than a random one at the same number of iterations for little
compute, so block-wise inversion matches or beats whole-signal Griffin-Lim with as many iterations; the
memory stays flat however long the stream, most of it the torch import. Spectral convergence, speed and
memory of hour-long streams: ``bench/RESULTS.md``, "Streaming" (``bench/bench_streaming.py``).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch

from .frontends import Frontend, STFTFrontend
from .griffin_lim import griffin_lim

# Gaussian-equivalent time-frequency ratio lambda / n_fft^2 of each window (LTFAT's pghi.m values).
_PGHI_GAMMA = {"hann": 0.25645, "hamming": 0.29794, "blackman": 0.17954}
DEFAULT_BLOCK_SECONDS = 2.0
DEFAULT_N_ITER = 16
DEFAULT_CHUNK_FRAMES = 1024


@dataclass
class StreamStats:
    """What a stream has done so far (filled in place when passed as ``stats=``)."""

    frames: int = 0           # spectrogram frames generated
    samples: int = 0          # waveform samples yielded
    blocks: int = 0           # waveform blocks yielded
    forward_s: float = 0.0    # seconds in the generator (incl. noise)
    pghi_s: float = 0.0       # seconds in phase-gradient initialisation
    gl_s: float = 0.0         # seconds in Griffin-Lim iterations and the output ISTFT

    @property
    def compute_s(self) -> float:
        return self.forward_s + self.pghi_s + self.gl_s


# --------------------------------------------------------------------------------------------------
# 1. Chunked generation
# --------------------------------------------------------------------------------------------------


@torch.no_grad()
def generate_chunks(
    generator,
    n_frames: int | None = None,
    seed: int = 0,
    start: int = 0,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    stats: StreamStats | None = None,
) -> Iterator[torch.Tensor]:
    """Log-magnitude chunks ``(freq, <= chunk_frames)`` for frames ``start .. start + n_frames - 1``.

    ``generator`` is a :class:`~texnet.generators.TextureGenerator` (a ``WaveformGenerator`` gives complex
    STFT chunks instead); ``n_frames=None`` streams forever.
    Chunk ``k`` is computed from the noise window ``make_noise(c, [seed], start=start + k * chunk_frames)``
    (``c + receptive_field - 1`` noise frames), so ``torch.cat(list(chunks), -1)`` equals
    ``generator.generate(n_frames, seed, start)`` up to float rounding.
    """
    from .generators import TextureGenerator

    if not isinstance(generator, TextureGenerator):
        raise ValueError("streaming needs a texture generator (this one is a style-transfer generator)")
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
    if start < 0 or (n_frames is not None and n_frames < 0):
        raise ValueError(f"need start >= 0 and n_frames >= 0, got start={start}, n_frames={n_frames}")
    pos, end = start, None if n_frames is None else start + n_frames
    while end is None or pos < end:
        c = chunk_frames if end is None else min(chunk_frames, end - pos)
        t0 = time.perf_counter()
        chunk = generator(generator.make_noise(c, [seed], start=pos))[0]
        if stats is not None:
            stats.forward_s += time.perf_counter() - t0
            stats.frames += c
        yield chunk
        pos += c


# --------------------------------------------------------------------------------------------------
# 2. Phase retrieval pieces
# --------------------------------------------------------------------------------------------------


class _STFT:
    """STFT / ISTFT pair of an :class:`STFTFrontend` on single ``(freq, time)`` spectrograms.

    The ISTFT is a faster equivalent of ``torch.istft(center=True)`` when ``hop`` divides ``n_fft``: one
    batched ``irfft``, overlap-add by ``n_fft / hop`` shifted adds, and a cached window-sum envelope
    (``torch.istft`` recomputes it and overlap-adds with ``fold``, which is slower here:
    ``bench/RESULTS.md``, "Implementation choices measured").
    """

    def __init__(self, frontend: STFTFrontend):
        self.frontend = frontend
        self.n_fft, self.hop = frontend.n_fft, frontend.hop_length
        self.window = frontend.window.detach().float().cpu()
        self.ratio = self.n_fft // self.hop if self.n_fft % self.hop == 0 else 0
        self._env: dict[int, torch.Tensor] = {}

    def stft(self, wave: torch.Tensor) -> torch.Tensor:
        return self.frontend.complex_stft(wave[None])[0]

    def _envelope(self, t: int) -> torch.Tensor:
        env = self._env.get(t)
        if env is None:
            r, hop = self.ratio, self.hop
            w2 = self.window.square().reshape(r, hop)
            env = torch.zeros(t + r - 1, hop)
            for j in range(r):
                env[j: j + t] += w2[j]
            env = env.reshape(-1).clamp_min(1e-11)
            if len(self._env) > 8:
                self._env.clear()
            self._env[t] = env
        return env

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Complex ``(freq, time)`` -> waveform ``(length,)`` exactly as ``torch.istft(center=True)``."""
        t = spec.shape[-1]
        if not self.ratio:
            return self.frontend.istft(spec[None], length)[0]
        r, hop = self.ratio, self.hop
        frames = torch.fft.irfft(spec.transpose(0, 1), n=self.n_fft) * self.window  # (t, n_fft)
        seg = frames.reshape(t, r, hop)
        out = torch.zeros(t + r - 1, hop)
        for j in range(r):
            out[j: j + t] += seg[:, j]
        out = out.reshape(-1) / self._envelope(t)
        start = self.n_fft // 2
        out = out[start: start + length]
        if out.shape[0] < length:
            out = torch.nn.functional.pad(out, (0, length - out.shape[0]))
        return out


def _griffin_lim(st: "_STFT", mag: torch.Tensor, angles: torch.Tensor, n_iter: int, momentum: float,
                 n_fixed: int) -> torch.Tensor:
    """:func:`texnet.griffin_lim.griffin_lim` on one ``(freq, time)`` window through the fast ISTFT."""
    length = st.frontend.samples_for_frames(mag.shape[-1])
    return griffin_lim(mag, angles, st.stft, lambda s: st.istft(s, length), n_iter, momentum, n_fixed)


def pghi_phase(
    log_mag: torch.Tensor | np.ndarray,
    frontend: STFTFrontend,
    first: int = 0,
    prev_phase: torch.Tensor | np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Phase-gradient heuristic integration (Prusa, Balazs & Sondergaard 2017) in real time.

    ``log_mag`` ``(freq, time)``: natural log of the LINEAR magnitude (floored). Phase derivatives come
    from the log-magnitude's gradients under the Gaussian approximation of the window
    (``lambda = gamma * n_fft^2``): per hop ``2 pi hop m / n_fft + (hop n_fft / lambda) d_m log|X|``, per
    bin ``-(lambda / (hop n_fft)) d_n log|X|`` (centred differences). Frames ``first ..`` get a phase,
    frame by frame (real-time PGHI, Prusa & Holighaus 2017): frame ``first - 1`` has ``prev_phase``
    (``(freq,)``, torch's frame-start phase convention; ``None`` for frame 0 of a stream, whose peaks then
    get seeded random phases: equal phases would add up to a click). Phases are returned in [0, 2 pi).

    The heap of RTPGHI (always integrate from the largest coefficient reached so far) is approximated,
    vectorised per frame, by its result on a spectrum's peaks and slopes: each spectral peak takes its
    phase by time integration from the previous frame (trapezoid rule), and every bin between two valleys
    by frequency integration from that region's peak. Returns phases ``(freq, time)`` in torch's
    convention (only columns ``first ..`` are filled; earlier ones are 0).
    """
    s = log_mag.detach().cpu().numpy() if isinstance(log_mag, torch.Tensor) else np.asarray(log_mag)
    s = s.astype(np.float64)
    n_freq, n_t = s.shape
    a, m_fft = frontend.hop_length, frontend.n_fft
    gamma = _PGHI_GAMMA[frontend.config.window] * m_fft**2
    m = np.arange(n_freq)
    # torch.stft references phase to the frame start, the derivation to the window centre
    shift = math.pi * m * (m_fft // 2) * 2 / m_fft  # = pi m for even n_fft
    out = np.zeros((n_freq, n_t))
    if first >= n_t:
        return out
    lo = max(first - 1, 0)
    seg = s[:, lo:]
    d_t = np.gradient(seg, axis=1) if seg.shape[1] > 1 else np.zeros_like(seg)
    tgrad = 2 * math.pi * a * m[:, None] / m_fft + (a * m_fft / gamma) * np.gradient(seg, axis=0)
    fgrad = -(gamma / (a * m_fft)) * d_t
    ftrap = 0.5 * (fgrad[1:] + fgrad[:-1])  # (freq - 1, t): increment from bin m to m + 1
    if first > 0 and prev_phase is not None:
        p = prev_phase.detach().cpu().numpy() if isinstance(prev_phase, torch.Tensor) else np.asarray(prev_phase)
        prev = p.astype(np.float64) + shift
    else:
        prev = None
    off = first - lo
    n_new = seg.shape[1] - off
    # Peaks and regions of every new frame at once (they do not depend on the previous frame's phase).
    col = seg[:, off:]
    rising = col[1:] > col[:-1]                       # (freq - 1, n_new)
    valley = np.zeros((n_freq, n_new), dtype=bool)    # regions run from one valley to the next ...
    valley[0] = True
    valley[1:-1] = rising[1:] & ~rising[:-1]
    peak = np.zeros((n_freq, n_new), dtype=bool)      # ... and hold exactly one peak each
    peak[0] = ~rising[0]
    peak[1:-1] = rising[:-1] & ~rising[1:]
    peak[-1] = rising[-1]
    region = np.cumsum(valley, axis=0) - 1
    region += np.concatenate([[0], np.cumsum(region[-1] + 1)[:-1]])[None, :]  # unique ids over frames
    rows, cols = np.nonzero(peak)
    peak_of = np.empty(int(region[-1, -1]) + 1, dtype=np.int64)
    peak_of[region[rows, cols]] = rows
    p = peak_of[region]                               # (freq, n_new): the peak each bin integrates from
    cum = np.zeros((n_freq, n_new))
    np.cumsum(ftrap[:, off:], axis=0, out=cum[1:])
    cidx = np.arange(n_new)[None, :]
    step = cum - cum[p, cidx]                         # frequency integration from the region's peak
    # time integration at the peaks: trapezoid over the hop from the previous frame
    tga = np.zeros((n_freq, n_new))
    k0 = 1 - off  # new frame k0 is the first one with a previous frame in `seg`
    tga[:, k0:] = 0.5 * (tgrad[:, k0 + off - 1: off + n_new - 1] + tgrad[:, k0 + off:])
    step += tga[p, cidx]
    if prev is None:  # first frame of a stream: random phase at its peaks
        prev = np.random.default_rng(seed).uniform(0.0, 2 * math.pi, n_freq)
    for j in range(n_new):
        prev = prev[p[:, j]] + step[:, j]
        out[:, first + j] = prev
    out[:, first:] -= shift[:, None]
    # wrapped here, in float64: the integrated phase grows by ~pi * hop per bin and frame, and float32
    # (what torch.polar gets) would lose radians of it after some thousand frames
    np.remainder(out[:, first:], 2 * math.pi, out=out[:, first:])
    return out


# --------------------------------------------------------------------------------------------------
# 3. Streaming inversion
# --------------------------------------------------------------------------------------------------


def invert_stream(
    frontend: Frontend,
    spec_chunks: Iterable[torch.Tensor],
    n_iter: int = DEFAULT_N_ITER,
    block_frames: int = 172,
    lookahead_frames: int | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    momentum: float | None = None,
    stats: StreamStats | None = None,
) -> Iterator[torch.Tensor]:
    """Waveform blocks ``(samples,)`` for a stream of log-magnitude chunks ``(freq, t)`` (any sizes).
    (A phase-free generator's complex frames need no phase retrieval: :mod:`texnet.realtime`.)

    Yields the samples of ONE inverse STFT of all frames, block by block (see the module docstring):
    block ``k`` ends where every frame overlapping its samples has its final phase, so the blocks join
    seamlessly and ``torch.cat`` of them has ``n_samples`` samples (or, if the chunks end first,
    ``(frames - 1) * hop`` as :meth:`Frontend.inverse` gives). New frames start from the PGHI phase,
    look-ahead frames carry their phase into the next block. Memory is O(block + look-ahead), whatever
    the length.
    """
    if not isinstance(frontend, STFTFrontend):
        raise ValueError(f"streaming inversion needs the STFT front end; this checkpoint uses "
                         f"{frontend.config.kind!r} (use 'texnet generate' for a fixed length)")
    if n_iter < 0 or block_frames < 1:
        raise ValueError(f"need n_iter >= 0 and block_frames >= 1, got {n_iter} and {block_frames}")
    a, n_fft = frontend.hop_length, frontend.n_fft
    if 2 * a > n_fft:
        raise ValueError(f"streaming inversion needs hop <= n_fft / 2 (overlapping frames), got hop {a}, n_fft {n_fft}")
    half = n_fft // 2
    n_ctx = -(-n_fft // a)  # frames overlapping a committed frame: held fixed
    look = 2 * n_ctx if lookahead_frames is None else int(lookahead_frames)
    if look < 0:
        raise ValueError(f"lookahead_frames must be >= 0, got {look}")
    if n_samples is not None and n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    if frontend.window.device.type != "cpu":  # phase retrieval runs on the CPU (small FFTs, a frame loop)
        frontend = copy.deepcopy(frontend).cpu()
    momentum = frontend.config.momentum if momentum is None else momentum
    return _invert(frontend, iter(spec_chunks), n_iter, block_frames, look, n_ctx, n_samples, seed, momentum, stats)


@torch.no_grad()
def _invert(frontend, it, n_iter, block_frames, look, n_ctx, n_samples, seed, momentum, stats):
    a, n_fft = frontend.hop_length, frontend.n_fft
    half = n_fft // 2
    st = _STFT(frontend)
    n_freq = frontend.n_freq

    buf: torch.Tensor | None = None  # frames [buf0, buf0 + buf.shape[1]): linear magnitudes
    buf0 = 0
    total: int | None = None         # frames in the input, once it has ended
    limit = None if n_samples is None else int(n_samples)
    need: int | None = None if limit is None else (limit - 1 + half) // a + 1  # frames for `limit` samples
    if limit is not None and limit <= 0:
        return
    committed = torch.zeros(n_freq, 0, dtype=torch.complex64)   # phases of frames [f - n_hist, f)
    carry = torch.zeros(n_freq, 0, dtype=torch.complex64)       # phases of frames [f, f + ncar)
    n_hist = 0  # committed frames kept before f (context)
    peak = 0.0
    f = 0   # first uncommitted frame
    s = 0   # samples yielded

    def fill(upto: int) -> None:
        nonlocal buf, total, need, limit
        parts = [] if buf is None else [buf]
        have = buf0 + (0 if buf is None else buf.shape[1])
        while total is None and have < upto:
            try:
                chunk = next(it)
            except StopIteration:
                total = have
                break
            if chunk.dim() != 2 or chunk.shape[0] != n_freq or chunk.is_complex():
                raise ValueError(f"expected log-magnitude chunks ({n_freq}, time), got {tuple(chunk.shape)} "
                                 f"{chunk.dtype}")
            parts.append(frontend.to_magnitude(chunk.detach().cpu().float()))
            have += chunk.shape[1]
        if parts:
            buf = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        if total is not None:
            end = max(total - 1, 0) * a
            limit = end if limit is None else min(limit, end)
            need = total if need is None else min(need, total)

    while True:
        fill(f + block_frames + look)
        if limit is not None and s >= limit:
            return
        e = f + block_frames if need is None else min(f + block_frames, need)
        final = need is not None and e >= need
        w0 = f - n_hist
        t0 = time.perf_counter()
        w1 = min(e + look, buf0 + buf.shape[1])
        mag = buf[:, w0 - buf0: w1 - buf0]
        n_car = min(carry.shape[1], w1 - w0 - n_hist)
        angles = torch.empty(n_freq, w1 - w0, dtype=torch.complex64)
        angles[:, :n_hist] = committed
        angles[:, n_hist: n_hist + n_car] = carry[:, :n_car]
        first_new = n_hist + n_car
        if first_new < w1 - w0:
            peak = max(peak, float(mag.max()))
            log_mag = torch.log(mag.clamp_min(max(peak, 1e-12) * 1e-5))
            prev = angles[:, first_new - 1].angle() if first_new > 0 else None
            ph = pghi_phase(log_mag, frontend, first_new, prev, seed)[:, first_new:]
            angles[:, first_new:] = torch.polar(torch.ones(ph.shape), torch.from_numpy(ph).float())
        t1 = time.perf_counter()
        angles = _griffin_lim(st, mag, angles, n_iter, momentum, n_hist)
        frames = mag[:, : e - w0] * angles[:, : e - w0]
        committed = angles[:, max(e - w0 - n_ctx, 0): e - w0].clone()
        carry = angles[:, e - w0:].clone()
        # output: samples whose overlapping frames are all committed (frames < e)
        s_end = limit if final else max(e * a - half, s)
        if limit is not None:
            s_end = min(s_end, limit)
        wave = st.istft(frames, max(e - w0 - 1, 0) * a)
        block = wave[s - w0 * a: s_end - w0 * a].clone()
        if stats is not None:
            stats.pghi_s += t1 - t0
            stats.gl_s += time.perf_counter() - t1
        n_hist = min(e, n_ctx)
        f, s = e, s_end
        drop = (f - n_ctx) - buf0
        if drop > 0:
            buf, buf0 = buf[:, drop:].clone(), buf0 + drop
        if block.numel():
            if stats is not None:
                stats.samples += block.numel()
                stats.blocks += 1
            yield block
        if final:
            return


def stream_waveform(
    loaded_generator,
    seconds: float | None = None,
    seed: int = 0,
    block_seconds: float = DEFAULT_BLOCK_SECONDS,
    n_iter: int | None = None,
    *,
    lookahead_frames: int | None = None,
    start_frame: int = 0,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    stats: StreamStats | None = None,
) -> Iterator[torch.Tensor]:
    """Endless (``seconds`` 0 or ``None``) or ``seconds`` long texture as waveform blocks ``(samples,)``.

    ``loaded_generator``: a :class:`~texnet.synthesizer.Synthesizer` with a texture generator and an
    STFT front end (a CQT checkpoint raises ``ValueError``). Blocks hold about ``block_seconds`` of
    audio at ``loaded_generator.sample_rate``; together exactly ``round(seconds * sample_rate)`` samples.
    ``n_iter`` Griffin-Lim iterations per block (default :data:`DEFAULT_N_ITER`) after a PGHI start
    (``n_iter=0`` is PGHI alone). A phase-free ``WaveformGenerator`` checkpoint needs no phase retrieval
    and ignores them: its blocks come from :class:`texnet.realtime.WaveformStream`, equal to one pass of
    the generator and the front end's inverse STFT up to float rounding. Memory stays bounded for any
    duration.
    """
    from .generators import TextureGenerator

    fe = loaded_generator.frontend
    if not isinstance(fe, STFTFrontend):
        raise ValueError(f"streaming needs a checkpoint with the STFT front end; this one uses "
                         f"{fe.config.kind!r} (CQT has no streaming inversion: use 'generate' for a fixed length)")
    if not isinstance(loaded_generator.generator, TextureGenerator):
        raise ValueError("this checkpoint holds a style-transfer generator: streaming needs a texture generator")
    if seconds is not None and not (seconds >= 0 and math.isfinite(seconds)):
        raise ValueError(f"seconds must be >= 0 (0 = endless), got {seconds}")
    if not (block_seconds > 0 and math.isfinite(block_seconds)):
        raise ValueError(f"block_seconds must be positive, got {block_seconds}")
    n_iter = DEFAULT_N_ITER if n_iter is None else int(n_iter)
    if n_iter < 0:
        raise ValueError(f"n_iter must be >= 0, got {n_iter}")
    n_samples = int(round(seconds * fe.sample_rate)) if seconds else None
    if loaded_generator.is_waveform:
        return _stream_phase_free(loaded_generator, n_samples, seed, block_seconds, start_frame, chunk_frames, stats)
    block_frames = max(1, int(round(block_seconds * fe.frame_rate)))
    chunks = generate_chunks(loaded_generator.generator, None, seed, start_frame,
                             max(chunk_frames, 1), stats)
    return invert_stream(fe, chunks, n_iter, block_frames, lookahead_frames, n_samples, seed, stats=stats)


@torch.no_grad()
def _stream_phase_free(synth, n_samples, seed, block_seconds, start_frame, chunk_frames, stats):
    """A waveform generator's blocks: :class:`texnet.realtime.WaveformStream` (cached convolution state, a
    streaming inverse STFT), read ``chunk_frames`` frames at a time (a few frames a read cost more per
    frame: ``bench/RESULTS.md``, "Real-time streaming") and cut into blocks of ``block_seconds``."""
    from .realtime import WaveformStream

    stream = WaveformStream.of(synth)
    stream.reset(seed, start_frame)
    first = stream.next_frame
    block = max(1, int(round(block_seconds * synth.sample_rate)))
    read = max(block, max(chunk_frames, 1) * synth.frontend.hop_length)
    left = n_samples
    buf = torch.zeros(0)
    while left is None or left > 0:
        want = block if left is None else min(block, left)
        if buf.numel() < want:
            t0 = time.perf_counter()
            fresh = stream.read(read if left is None else min(read, left - buf.numel())).cpu()
            buf = torch.cat([buf, fresh]) if buf.numel() else fresh
            if stats is not None:
                stats.forward_s += time.perf_counter() - t0
                stats.frames = stream.next_frame - first
        out, buf = buf[:want], buf[want:]
        if left is not None:
            left -= want
        if stats is not None:
            stats.samples += want
            stats.blocks += 1
        yield out


# --------------------------------------------------------------------------------------------------
# 4. Seam check
# --------------------------------------------------------------------------------------------------


@torch.no_grad()
def seam_flux_ratio(wave: torch.Tensor, boundaries: Iterable[int], n_fft: int = 256, hop: int = 64,
                    floor_db: float = 80.0) -> float:
    """Spectral flux at block boundaries over spectral flux elsewhere; ~1 = no audible seam.

    ``wave`` ``(samples,)``; ``boundaries``: sample indices where blocks join. Flux of frame ``n`` is the
    mean absolute change of the dB spectrum (floored ``floor_db`` under the peak) from frame ``n - 1``;
    frames whose window or the previous one's contains a boundary count as "at a boundary". A click or a
    phase jump adds broadband change there and pushes the ratio above 1.
    """
    w = wave.detach().float().cpu().reshape(-1)
    x = torch.stft(w, n_fft, hop, window=torch.hann_window(n_fft), center=True, return_complex=True).abs()
    db = 20 * torch.log10(x.clamp_min(1e-12))
    db = db.clamp_min(float(db.max()) - floor_db)
    flux = (db[:, 1:] - db[:, :-1]).abs().mean(dim=0)  # flux[k] = change into frame k + 1
    centres = (torch.arange(1, x.shape[1]) * hop).double()
    at = torch.zeros(flux.shape[0], dtype=torch.bool)
    for b in boundaries:
        at |= (centres - b).abs() < (n_fft / 2 + hop)
    # ignore the first/last frames (edge padding)
    edge = n_fft // hop + 1
    keep = torch.zeros_like(at)
    keep[edge: flux.shape[0] - edge] = True
    a_, o_ = flux[at & keep], flux[~at & keep]
    if a_.numel() == 0 or o_.numel() == 0:
        raise ValueError("need boundaries inside the signal and frames away from them")
    return float(a_.mean() / o_.mean())
