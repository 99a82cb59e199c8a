"""Audio I/O: load any readable file to mono float32 at one sample rate, validate it, save WAV atomically.

Stereo textures are out of scope: every input is averaged to one channel and every output is mono.

Every problem with an input file is raised as :class:`AudioError`, whose message is one line naming the
file and the problem, so command-line tools can print it and exit without a traceback.
"""
from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

log = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE = 22050
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 384000
# Peak below this (about -120 dBFS) counts as digital silence: nothing for a descriptor to describe.
SILENCE_PEAK = 1e-6
# Inputs are brought to one loudness so that the log-magnitude scale a descriptor sees does not depend
# on how loud a clip was recorded (-20 dBFS RMS, clipped to a peak of 0.99).
TARGET_RMS = 0.1


class AudioError(ValueError):
    """A bad audio input or output path; ``str(err)`` is one line: ``"<path>: <problem>"``."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def check_sample_rate(sample_rate: int, what: str = "sample rate") -> int:
    """Return ``sample_rate`` as int or raise ``ValueError`` when it is outside [1 kHz, 384 kHz]."""
    if not (MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE) or int(sample_rate) != sample_rate:
        raise ValueError(
            f"{what} {sample_rate} Hz is not usable: expected an integer in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}] Hz"
        )
    return int(sample_rate)


def _read(path: Path) -> tuple[np.ndarray, int]:
    """Read with soundfile, falling back to librosa (audioread) for formats libsndfile lacks.

    Returns ``(samples, channels)`` float32 and the file's sample rate.
    """
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return data, sr
    except Exception as sf_err:  # noqa: BLE001 - any failure means "try the other reader"
        try:
            import librosa

            # librosa warns (UserWarning, FutureWarning) on every audioread fallback; a failure here is
            # reported as one AudioError line, so the warnings would only add noise on stderr.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y, sr = librosa.load(str(path), sr=None, mono=False)
        except Exception:  # noqa: BLE001
            reason = str(sf_err).splitlines()[0] if str(sf_err) else type(sf_err).__name__
            raise AudioError(path, f"not a readable audio file ({reason})") from None
        y = np.atleast_2d(y).T.astype(np.float32)
        return y, int(sr)


def load_audio(
    path: str | os.PathLike,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    min_samples: int = 1,
    normalize: bool = True,
    verbose: bool = False,
    rate_option: str | None = "--model.frontend.sample_rate",
) -> torch.Tensor:
    """Load an audio file as a mono float32 waveform ``(samples,)`` at ``sample_rate``.

    Stereo (or more channels) is averaged to mono. Resampling uses soxr's high-quality mode. With
    ``normalize`` the clip is scaled to a fixed RMS (see ``TARGET_RMS``) so that every clip reaches the
    descriptor at the same level. ``min_samples`` is the shortest acceptable length *after* resampling,
    e.g. the samples a descriptor's receptive field covers; the error says how many seconds are needed.
    A conversion (rate or channels) is logged as one line, ``"x.wav: 44100 Hz stereo -> 22050 Hz mono"``:
    at warning level (shown by default) with ``verbose``, else at info level; ``rate_option`` is the option
    that would keep the file's rate (``None``: the command has none).
    """
    sample_rate = check_sample_rate(sample_rate, "requested sample rate")
    p = Path(path)
    if not p.exists():
        raise AudioError(p, "no such file")
    if p.is_dir():
        raise AudioError(p, "is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioError(p, "empty file (0 bytes)")
    data, sr = _read(p)
    if not (MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE):
        raise AudioError(p, f"absurd sample rate {sr} Hz (expected {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)")
    if data.size == 0 or data.shape[0] == 0:
        raise AudioError(p, "contains no samples (zero length)")
    if not np.isfinite(data).all():
        raise AudioError(p, "contains NaN or infinite samples")
    if data.shape[1] > 1 or sr != sample_rate:
        (log.warning if verbose else log.info)("%s", describe_conversion(p, sr, data.shape[1], sample_rate,
                                                                                rate_option))
    mono = data.mean(axis=1)
    if np.abs(mono).max() < SILENCE_PEAK:
        raise AudioError(p, "is silent (peak below -120 dBFS): nothing to describe")
    if sr != sample_rate:
        import librosa

        mono = librosa.resample(mono, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq")
    if mono.shape[0] < min_samples:
        raise AudioError(
            p,
            f"too short: {mono.shape[0] / sample_rate:.3f} s, needs at least {min_samples / sample_rate:.3f} s "
            f"({min_samples} samples at {sample_rate} Hz) to cover the descriptor's receptive field",
        )
    wave = torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32))
    return normalize_rms(wave) if normalize else wave


def describe_conversion(path: str | os.PathLike, sample_rate: int, channels: int, target_rate: int,
                        rate_option: str | None = "--model.frontend.sample_rate") -> str:
    """One line saying what loading does to a file: ``"x.wav: 44100 Hz stereo -> 22050 Hz mono (...)"``."""
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels} channels")
    line = f"{path}: {sample_rate} Hz {layout} -> {target_rate} Hz mono"
    notes = []
    if channels > 1:
        notes.append("texnet models one channel: the channels are averaged")
    if sample_rate != target_rate and rate_option:
        notes.append(f"{rate_option} {sample_rate} keeps the file's rate")
    return f"{line} ({'; '.join(notes)})" if notes else line


def normalize_rms(wave: torch.Tensor, rms: float = TARGET_RMS, peak: float = 0.99) -> torch.Tensor:
    """Scale ``wave`` (any shape, last axis time) to the given RMS, then limit its peak to ``peak``."""
    cur = wave.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp_min(1e-12)
    out = wave * (rms / cur)
    top = out.abs().amax(dim=-1, keepdim=True).clamp_min(1e-12)
    return torch.where(top > peak, out * (peak / top), out)


def save_wav(
    path: str | os.PathLike,
    wave: torch.Tensor | np.ndarray,
    sample_rate: int,
    subtype: str = "PCM_16",
    overwrite: bool = False,
) -> Path:
    """Write a mono ``(samples,)`` or ``(1, samples)`` waveform as WAV, atomically.

    The data goes to a temporary file in the same directory which becomes the target only once complete
    (:func:`texnet.outputs.atomic_write`), so a crash never leaves a half-written file and of two writers
    only one succeeds. ``subtype`` is ``"PCM_16"`` (clipped to [-1, 1]) or ``"FLOAT"``. An existing file is
    kept unless ``overwrite``.
    """
    from .outputs import OutputExists, atomic_write

    p = Path(path)
    if p.is_dir():
        raise AudioError(p, "is a directory")
    if subtype not in ("PCM_16", "FLOAT"):
        raise ValueError(f"subtype must be 'PCM_16' or 'FLOAT', got {subtype!r}")
    check_sample_rate(sample_rate)
    arr = wave.detach().cpu().numpy() if isinstance(wave, torch.Tensor) else np.asarray(wave)
    arr = np.squeeze(arr).astype(np.float32)
    if arr.ndim != 1:
        raise ValueError(f"save_wav expects a mono waveform, got shape {tuple(arr.shape)}")
    if not np.isfinite(arr).all():
        raise AudioError(p, "refusing to write NaN or infinite samples")
    if subtype == "PCM_16":
        arr = np.clip(arr, -1.0, 1.0)
    def write(tmp: str) -> None:
        # encoded in memory, written by Python: a failed write (full disk) raises OSError with its reason,
        # where libsndfile writing the file itself only says "System error"
        buf = io.BytesIO()
        sf.write(buf, arr, sample_rate, subtype=subtype, format="WAV")
        with open(tmp, "wb") as f:
            f.write(buf.getbuffer())

    try:
        atomic_write(p, write, overwrite)
    except OutputExists:
        raise AudioError(p, "already exists (pass overwrite=True / --overwrite to replace it)") from None
    return p
