"""Quality measures used in logs, tests and benchmarks.

- :func:`spectral_convergence`: how well a spectrogram was reconstructed (dB, lower is better).
- :func:`texture_statistics` / :func:`texture_distance` / :func:`texture_ratio`: how close a synthesis is to
  a texture by auditory statistics (McDermott & Simoncelli 2011): ERB-band envelope moments, cross-band
  envelope correlations and modulation power. Waveforms in, numbers out; independent of the descriptor
  the synthesis optimised, so it can judge it - EXCEPT for syntheses trained or optimised with
  ``objective.auditory_weight`` (:mod:`texnet.auditory`), which asks for statistics of this family (computed
  differently); judge those by the held-out descriptor ratio, copy score and diversity as well.
- :func:`copy_score` / :func:`diversity`: whether a synthesis copies its source verbatim, and how different
  two outputs are, by patch cross-correlation of log-magnitude spectrograms.
- :func:`heldout_style_distance` / :func:`heldout_style_ratio`: the training objective's own kind of
  measure (mean/covariance style loss) under random descriptors that no config trains against (other
  seeds, widths and filter counts): does a synthesis match the texture, or only the filters it was
  optimised for? Calibrated on the bundled clips (``bench/RESULTS.md``, "Calibration of the judge").
- :func:`content_correlations`: how much of a content sound a style transfer kept (its loudness contour,
  event timing and pitch classes), by correlation.
- :func:`spectral_lines`: steady tones (narrow peaks of the long-term spectrum) that a synthesis adds and
  that no ERB-band statistic resolves.

How to read them
----------------
Every measure is calibrated on the bundled data/*.ogg (22.05 kHz, RMS-normalised by ``load_audio``): the
tables and figures are in ``bench/RESULTS.md``, "Calibration of the judge" (reproduce the texture-distance
matrix with ``python -m texnet.metrics data/*.ogg``, i.e. :func:`calibration_matrix`).

- :func:`texture_ratio`: 1 = as close as the recording is to itself; another recording scores well above
  (a different kind of sound for most references), the closest confusions (machine vs insects) least.
- A large ``baseline`` (a texture distance between a recording's own halves) means the reference is not
  stationary (a melody, shifting chatter): its ratio says little, every candidate gets much the same ratio there.
- :func:`texture_ratio_floor`: a synthesis learnt from the first half carries that half's estimation noise and
  varies itself; a perfect one that varies as the recording does scores about 1.2-1.3 on a steady clip, not 1
  (``bench/RESULTS.md``, "What the judge allows").
- Group errors are scaled by :data:`GROUP_SCALES` (median error between different recordings), so in
  ``texture_distance`` a group at 1 differs as much as unrelated recordings typically do. Between halves
  of one steady recording ``mean`` and ``cv`` are small, while ``skew``, ``kurtosis``, ``corr`` and ``mod``
  carry estimation noise: compare those against the ``baseline`` groups (``ratio_<group>`` of
  :func:`texture_ratio`), not against 0.
- :func:`copy_score` (:func:`judge_frontend`, 16-frame patches every 8 frames): near 1 is a frame-for-frame
  copy; a waveform copy at an offset that is not a multiple of the hop scores lower (use a smaller hop to
  catch those). With the default ``remove_profile`` the long-term spectrum the source and candidate share is
  removed first, so only time-frequency pattern counts: an independent excerpt of a steady noise scores at
  the chance level of a maximum over thousands of positions, and another recording about as low or higher
  (both are "no copy"; it is not a similarity measure). Without it the shared spectrum dominates.
- High copy scores of independent excerpts are not copying: a pause matches any other pause (speech,
  melody), and slow gusts that move all bands together make every patch of a wind look alike. Always
  compare a synthesis with the independent-excerpt level of its own source.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------------
# Spectral convergence (reconstruction quality of a spectrogram)
# --------------------------------------------------------------------------------------------------


def spectral_convergence(reference_mag: torch.Tensor, estimate_mag: torch.Tensor) -> torch.Tensor:
    """Spectral convergence in dB, ``20 log10(||S - S_hat||_F / ||S||_F)``, per batch item.

    Both are LINEAR magnitudes ``(batch, freq, time)`` (or ``(freq, time)``); the shorter time axis wins.
    Lower is better: -20 dB means the reconstruction's spectrogram is within 10 % of the reference.
    """
    if reference_mag.dim() == 2:
        reference_mag, estimate_mag = reference_mag.unsqueeze(0), estimate_mag.unsqueeze(0)
    t = min(reference_mag.shape[-1], estimate_mag.shape[-1])
    ref, est = reference_mag[..., :t], estimate_mag[..., :t]
    num = (ref - est).flatten(1).norm(dim=1)
    den = ref.flatten(1).norm(dim=1).clamp_min(1e-12)
    return 20 * torch.log10(num / den + 1e-12)


# --------------------------------------------------------------------------------------------------
# Auditory texture statistics (McDermott & Simoncelli 2011)
# --------------------------------------------------------------------------------------------------

# Statistic groups compared by texture_distance, in report order.
STAT_GROUPS = ("mean", "cv", "skew", "kurtosis", "corr", "mod")

MOD_CENTRES_HZ = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)  # octave modulation bands (Hz)

# Raw group error that counts as "1" in the combined score: the median raw error between halves of
# DIFFERENT bundled clips (bench/RESULTS.md, "Calibration of the judge"), rounded. With these scales a
# different kind of sound scores about 1 in every group and excerpts of one recording well below.
GROUP_SCALES = {"mean": 0.25, "cv": 0.2, "skew": 0.7, "kurtosis": 0.15, "corr": 0.2, "mod": 0.45}

_TINY = 1e-12


def erb_number(hz):
    """Glasberg & Moore (1990) ERB-number (Cams): ``21.4 log10(1 + 0.00437 f)``; numpy or scalar."""
    return 21.4 * np.log10(1.0 + 0.00437 * np.asarray(hz, dtype=np.float64))


def erb_number_to_hz(cams):
    """Inverse of :func:`erb_number`."""
    return (10.0 ** (np.asarray(cams, dtype=np.float64) / 21.4) - 1.0) / 0.00437


def erb_filterbank(n_freq_bins: int, sample_rate: int, n_bands: int = 30, low_hz: float = 50.0,
                   high_hz: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Half-cosine filters on the ERB scale, as FFT-domain gains ``(n_bands, n_freq_bins)`` (numpy).

    ``n_freq_bins`` are the bins of an ``rfft`` (0 .. Nyquist). Centres ``c_k`` are evenly spaced in
    ERB-number from ``low_hz`` to ``high_hz`` (default ``0.45 * sample_rate``); filter ``k`` is
    ``cos(pi/2 * (e(f) - c_k) / d)`` for ``|e(f) - c_k| < d``, with ``e`` the ERB-number and ``d`` the
    centre spacing, so neighbours overlap by half and the squared gains sum to 1 between the outer
    centres (McDermott & Simoncelli 2011's cochlear filters). Returns ``(gains, centre_hz)``.
    """
    high_hz = 0.45 * sample_rate if high_hz is None else high_hz
    if not 0 < low_hz < high_hz <= sample_rate / 2:
        raise ValueError(f"need 0 < low_hz < high_hz <= Nyquist, got {low_hz}, {high_hz}")
    if n_bands < 2:
        raise ValueError(f"need n_bands >= 2, got {n_bands}")
    centres = np.linspace(erb_number(low_hz), erb_number(high_hz), n_bands)
    spacing = centres[1] - centres[0]
    e = erb_number(np.linspace(0.0, sample_rate / 2, n_freq_bins))
    x = (e[None, :] - centres[:, None]) / spacing
    gains = np.where(np.abs(x) < 1.0, np.cos(0.5 * np.pi * x), 0.0)
    return gains, erb_number_to_hz(centres)


def modulation_filterbank(n_freq_bins: int, rate: float, centres_hz) -> np.ndarray:
    """Octave-spaced half-cosine modulation filters as FFT-domain gains ``(n_mod, n_freq_bins)``.

    Filter ``m`` is ``cos(pi/2 * log2(f / c_m))`` for ``f`` within an octave of ``c_m`` (numpy): with
    centres an octave apart the squared gains sum to 1 between the outer centres.
    """
    f = np.linspace(0.0, rate / 2, n_freq_bins)
    lf = np.log2(np.maximum(f, 1e-30))  # DC lands far outside every filter
    x = lf[None, :] - np.log2(np.asarray(centres_hz, dtype=np.float64))[:, None]
    return np.where(np.abs(x) < 1.0, np.cos(0.5 * np.pi * x), 0.0)


def _as_wave(wave) -> torch.Tensor:
    w = torch.as_tensor(wave).detach().cpu()
    if w.dim() == 2 and w.shape[0] == 1:
        w = w[0]
    if w.dim() != 1:
        raise ValueError(f"expected a mono waveform (samples,), got shape {tuple(w.shape)}")
    if not torch.isfinite(w).all():
        raise ValueError("waveform contains NaN or infinite samples")
    return w.float()


@torch.no_grad()
def envelopes(wave, sample_rate: int, n_bands: int = 30, low_hz: float = 50.0, high_fraction: float = 0.45,
              env_rate: float = 400.0, compression: float = 0.3, normalize: bool = True, edge_s: float = 0.1,
              chunk: int = 8) -> tuple[torch.Tensor, float, np.ndarray]:
    """Compressed cochlear sub-band envelopes ``(n_bands, frames)`` at about ``env_rate`` Hz.

    ``wave`` is a mono waveform ``(samples,)`` (torch tensor or numpy array). Steps: DC removal and
    optional RMS normalisation to 0.1 (so the statistics do not depend on recording level); a
    raised-cosine fade over ``edge_s / 2`` at both ends; FFT; ERB half-cosine filters
    (:func:`erb_filterbank`); analytic signal (negative frequencies zeroed, positive doubled); envelope
    ``|z|``; compression ``|z| ** compression``; band-limited resampling to ``env_rate`` (FFT truncation
    with a cosine taper over the top quarter of the kept band); finally ``edge_s`` is cut from both ends.
    The filtering is circular: without the fade and the cut, the jump where the clip's end wraps onto
    its start (slow drift or rumble below 50 Hz included) rings in the quiet bands as a click and inflates
    their kurtosis (``bench/RESULTS.md``, "Calibration of the judge"). Returns ``(env, actual_env_rate,
    centre_hz)``.
    """
    w = _as_wave(wave).double()
    n = w.shape[0]
    m = int(round(n * env_rate / sample_rate))
    cut = int(round(edge_s * env_rate))
    if m - 2 * cut < 64:
        raise ValueError(f"waveform too short for texture statistics: {n / sample_rate:.3f} s, need at least "
                         f"{(64 / env_rate + 2 * edge_s):.2f} s")
    w = w - w.mean()
    if normalize:
        w = w * (0.1 / w.pow(2).mean().sqrt().clamp_min(_TINY))
    n_fade = int(round(0.5 * edge_s * sample_rate))
    if n_fade > 0:
        ramp = 0.5 - 0.5 * torch.cos(torch.linspace(0, math.pi, n_fade, dtype=torch.float64))
        w = w.clone()
        w[:n_fade] *= ramp
        w[-n_fade:] *= ramp.flip(0)
    spec = torch.fft.rfft(w).to(torch.complex64)
    gains, centre_hz = erb_filterbank(spec.shape[0], sample_rate, n_bands, low_hz, high_fraction * sample_rate)
    gains_t = torch.from_numpy(gains).float()
    rate = m * sample_rate / n
    keep = m // 2 + 1
    taper = torch.ones(keep, dtype=torch.float32)
    t0 = int(0.75 * keep)
    taper[t0:] = 0.5 * (1 + torch.cos(torch.linspace(0, math.pi, keep - t0)))
    out = []
    for k0 in range(0, n_bands, chunk):
        g = gains_t[k0:k0 + chunk]
        analytic = torch.zeros((g.shape[0], n), dtype=torch.complex64)
        analytic[:, : spec.shape[0]] = spec * g * 2.0
        analytic[:, 0] = 0  # filters are zero at DC anyway
        env = torch.fft.ifft(analytic, dim=-1).abs().pow(compression)
        env_spec = torch.fft.rfft(env, dim=-1)[:, :keep] * taper
        out.append(torch.fft.irfft(env_spec, n=m, dim=-1) * (m / n))
    env = torch.cat(out).double()
    if cut > 0:
        env = env[:, cut:m - cut]
    return env, rate, centre_hz


@torch.no_grad()
def texture_statistics(wave, sample_rate: int, n_bands: int = 30, low_hz: float = 50.0,
                       high_fraction: float = 0.45, env_rate: float = 400.0, compression: float = 0.3,
                       mod_centres_hz=MOD_CENTRES_HZ, normalize: bool = True,
                       edge_s: float = 0.1) -> dict[str, torch.Tensor]:
    """Auditory texture statistics of a mono waveform ``(samples,)`` after McDermott & Simoncelli 2011.

    ``wave``: torch tensor or numpy array ``(samples,)``. With ``e_k(t)`` the compressed envelope of
    cochlear band ``k`` (:func:`envelopes`; 30 ERB-spaced bands from 50 Hz to 0.45 sr, ``|z|**0.3``,
    400 Hz, ``edge_s`` cut at both ends), ``mu_k`` its mean and ``sigma_k`` its standard deviation,
    returns float64 tensors:

    - ``mean``      ``(K,)``   ``mu_k`` (a compressed spectrum: what is loud where);
    - ``cv``        ``(K,)``   ``sigma_k / mu_k`` (how much the envelope fluctuates);
    - ``skew``      ``(K,)``   ``E[(e - mu)^3] / sigma^3`` (> 0: rare loud events, e.g. drops, clicks);
    - ``kurtosis``  ``(K,)``   ``E[(e - mu)^4] / sigma^4`` (not excess; large = sparse, peaky envelope);
    - ``corr``      ``(K, K)`` Pearson correlation of envelopes across bands (broadband events
      correlate bands; independent noise in each band does not);
    - ``mod``       ``(K, M)`` modulation power ``sum_f |E_k(f)|^2 H_m(f)^2 / sum_{f>0} |E_k(f)|^2`` with
      ``E_k`` the spectrum of the mean-removed envelope under a Tukey window (10 % cosine ends): the
      share of envelope variance in octave modulation band ``m`` (centres ``mod_centres_hz``,
      half-cosine filters one octave either side), i.e. ``var(e_k * h_m) / var(e_k)``; the bands' squared
      gains sum to 1 between the outer centres, so a row sums to at most 1;
    - ``centre_hz`` ``(K,)`` and ``mod_hz`` ``(M,)``: the band centres (metadata, not compared).

    Level-independent when ``normalize`` (RMS set to 0.1 first). Costs about ``K`` complex FFTs of the
    clip's length (timings: ``bench/RESULTS.md``, "Calibration of the judge").
    """
    env, rate, centre_hz = envelopes(wave, sample_rate, n_bands, low_hz, high_fraction, env_rate, compression,
                                     normalize, edge_s)
    mu = env.mean(dim=1)
    d = env - mu[:, None]
    var = d.pow(2).mean(dim=1)
    sd = var.sqrt().clamp_min(_TINY)
    z = d / sd[:, None]
    cv = sd / mu.clamp_min(_TINY)
    skew = z.pow(3).mean(dim=1)
    kurt = z.pow(4).mean(dim=1)
    corr = (z @ z.T) / z.shape[1]
    corr = corr.clamp(-1.0, 1.0)
    # modulation power: share of the (windowed) envelope's variance in each modulation band (Parseval)
    t = d.shape[1]
    n_taper = max(1, int(0.05 * t))
    window = torch.ones(t, dtype=torch.float64)
    ramp = 0.5 - 0.5 * torch.cos(torch.linspace(0, math.pi, n_taper, dtype=torch.float64))
    window[:n_taper], window[-n_taper:] = ramp, ramp.flip(0)
    e_spec = torch.fft.rfft(d * window, dim=1)
    power = e_spec.real.pow(2) + e_spec.imag.pow(2)
    weights = torch.full((power.shape[1],), 2.0, dtype=torch.float64)
    weights[0] = 0.0
    if t % 2 == 0:
        weights[-1] = 1.0
    power = power * weights
    h2 = torch.from_numpy(modulation_filterbank(power.shape[1], rate, mod_centres_hz) ** 2)
    mod = (power @ h2.T) / power.sum(dim=1, keepdim=True).clamp_min(_TINY)
    return {
        "mean": mu, "cv": cv, "skew": skew, "kurtosis": kurt, "corr": corr, "mod": mod,
        "centre_hz": torch.from_numpy(centre_hz), "mod_hz": torch.tensor(mod_centres_hz, dtype=torch.float64),
    }


def _log(x: torch.Tensor, floor: float) -> torch.Tensor:
    return torch.log10(x.clamp_min(floor))


# the floor each logged statistic is clamped to before its log10
_LOG_FLOORS = {"mean": 1e-9, "cv": 1e-6, "kurtosis": 1e-6, "mod": 1e-6}


def comparison_space(stats: dict) -> dict[str, torch.Tensor]:
    """The groups of :func:`texture_statistics` as :func:`texture_distance_raw` compares them: log10 of
    ``mean``, ``cv``, ``kurtosis`` and ``mod`` (clamped), ``skew`` and ``corr`` as they are."""
    return {g: _log(stats[g], _LOG_FLOORS[g]) if g in _LOG_FLOORS else stats[g] for g in STAT_GROUPS}


def _raw_in_space(a: dict, b: dict) -> dict[str, float]:
    """Mean absolute difference per group of two :func:`comparison_space` dicts (``corr``: off-diagonal)."""
    for key in STAT_GROUPS:
        if a[key].shape != b[key].shape:
            raise ValueError(f"statistic {key!r} has shape {tuple(a[key].shape)} vs "
                             f"{tuple(b[key].shape)}: computed with different settings")
    off = ~torch.eye(a["corr"].shape[0], dtype=torch.bool)
    return {g: float(((a[g] - b[g])[off] if g == "corr" else a[g] - b[g]).abs().mean()) for g in STAT_GROUPS}


def texture_distance_raw(stats_a: dict, stats_b: dict) -> dict[str, float]:
    """Unscaled error per statistic group between two :func:`texture_statistics` dicts.

    - ``mean``: mean over bands of ``|log10 mu_a - log10 mu_b|`` (0.1 = 26 % apart; the envelopes are
      compressed by 0.3, so roughly 6.7 dB of band level);
    - ``cv``: mean ``|log10 cv_a - log10 cv_b|``;
    - ``skew``: mean ``|skew_a - skew_b|``;
    - ``kurtosis``: mean ``|log10 kurt_a - log10 kurt_b|``;
    - ``corr``: mean ``|C_a - C_b|`` over the off-diagonal band pairs;
    - ``mod``: mean over bands and modulation bands of ``|log10 P_a - log10 P_b|`` (floor 1e-6).
    """
    return _raw_in_space(comparison_space(stats_a), comparison_space(stats_b))


def texture_distance(stats_a: dict, stats_b: dict, scales: dict | None = None) -> dict[str, float]:
    """Scaled error per statistic group plus their mean, ``score``; 0 for identical statistics.

    Each group's raw error (:func:`texture_distance_raw`) is divided by ``scales[group]`` (default
    :data:`GROUP_SCALES`, the median raw error between DIFFERENT bundled recordings), so a group near 1
    differs as much as two unrelated textures typically do, and ``score`` is the mean over the groups.
    Symmetric. Read it relative to the distance between two excerpts of one recording (see
    :func:`texture_ratio`; the calibration matrix: ``bench/RESULTS.md``, "Calibration of the judge").
    """
    return _scaled(texture_distance_raw(stats_a, stats_b), scales)


def _scaled(raw: dict[str, float], scales: dict | None = None) -> dict[str, float]:
    """Raw group errors over ``scales`` (default :data:`GROUP_SCALES`) and their mean, ``score``."""
    scales = GROUP_SCALES if scales is None else scales
    out = {key: raw[key] / scales[key] for key in STAT_GROUPS}
    out["score"] = float(np.mean([out[key] for key in STAT_GROUPS]))
    return out


def texture_distance_waves(a, b, sample_rate: int, **stat_kwargs) -> dict[str, float]:
    """:func:`texture_distance` between two mono waveforms ``(samples,)`` (torch or numpy)."""
    return texture_distance(texture_statistics(a, sample_rate, **stat_kwargs),
                            texture_statistics(b, sample_rate, **stat_kwargs))


def texture_ratio(reference_wave, candidate_wave, sample_rate: int, **stat_kwargs) -> dict[str, float]:
    """Calibrated texture score: ``d(candidate, B) / d(A, B)`` with ``A``, ``B`` the reference's halves.

    ``reference_wave``/``candidate_wave``: mono waveforms ``(samples,)`` (torch or numpy) at
    ``sample_rate``. ``d`` is :func:`texture_distance`'s ``score``. The CANDIDATE MUST HAVE BEEN
    SYNTHESISED FROM HALF ``A`` ONLY (the first half, ``reference[: n // 2]``): it is then judged against
    unseen material ``B`` of the same recording, and the denominator is how far the recording is from
    itself. 1.0 = as close to ``B`` as the source's own other half; below 1 is possible (a smooth
    synthesis can be closer to ``B``'s statistics than ``A`` happens to be); different recordings score
    well above 1 (``bench/RESULTS.md``, "Calibration of the judge"). A candidate synthesised from the whole reference has seen
    ``B`` and scores optimistically. Returns ``ratio``, ``distance`` (= ``d(candidate, B)``),
    ``baseline`` (= ``d(A, B)``) and ``ratio_<group>`` per statistic group.
    """
    ref = _as_wave(reference_wave)
    half = ref.shape[0] // 2
    sa = texture_statistics(ref[:half], sample_rate, **stat_kwargs)
    sb = texture_statistics(ref[half:], sample_rate, **stat_kwargs)
    sc = texture_statistics(candidate_wave, sample_rate, **stat_kwargs)
    base = texture_distance(sa, sb)
    cand = texture_distance(sc, sb)
    out = {"ratio": cand["score"] / max(base["score"], _TINY), "distance": cand["score"], "baseline": base["score"]}
    for key in STAT_GROUPS:
        out[f"ratio_{key}"] = cand[key] / max(base[key], _TINY)
    return out


def calibration_matrix(waves: dict, sample_rate: int, **stat_kwargs) -> tuple[list[str], np.ndarray]:
    """``D[i, j] = texture_distance(first half of clip j, second half of clip i)['score']``.

    ``waves`` maps names to mono waveforms ``(samples,)``. The diagonal is each recording against
    itself (the ``baseline`` of :func:`texture_ratio`); ``D[i, j] / D[i, i]`` is the ``ratio`` that a
    "synthesis" which is really the first half of clip ``j`` would get against reference ``i``.
    """
    names = list(waves)
    halves = {}
    for name in names:
        w = _as_wave(waves[name])
        h = w.shape[0] // 2
        halves[name] = (texture_statistics(w[:h], sample_rate, **stat_kwargs),
                        texture_statistics(w[h:], sample_rate, **stat_kwargs))
    d = np.zeros((len(names), len(names)))
    for i, ni in enumerate(names):
        for j, nj in enumerate(names):
            d[i, j] = texture_distance(halves[nj][0], halves[ni][1])["score"]
    return names, d


# --------------------------------------------------------------------------------------------------
# Copying and diversity (spectrogram patch matching)
# --------------------------------------------------------------------------------------------------


def _as_spec(spec) -> torch.Tensor:
    s = torch.as_tensor(spec).detach().cpu()
    while s.dim() > 2 and s.shape[0] == 1:
        s = s[0]
    if s.dim() != 2:
        raise ValueError(f"expected a spectrogram (freq, time), got shape {tuple(s.shape)}")
    return s.double()


@torch.no_grad()
def patch_correlations(source_spec, candidate_spec, patch_frames: int = 16, stride: int = 8,
                       remove_profile: bool = True) -> torch.Tensor:
    """Best normalised cross-correlation of each candidate patch against all source positions.

    Specs are log-magnitude spectrograms ``(freq, time)`` (or ``(1, freq, time)``) from the same front
    end. Candidate patches ``(freq, patch_frames)`` start every ``stride`` frames; each is compared with
    the source patch at EVERY frame offset by Pearson correlation ``<p - mean p, q - mean q> /
    (||p - mean p|| ||q - mean q||)``. With ``remove_profile`` the source's time-averaged spectrum is
    first subtracted from both spectrograms, so that the shared long-term spectrum of a texture does
    not count as a match and only the time-frequency pattern does. Vectorised with ``conv1d`` (numerator)
    and cumulative sums (source patch norms). Returns ``(n_candidate_patches,)`` maxima in [-1, 1]; a
    candidate patch that is constant gets 0.
    """
    src, cand = _as_spec(source_spec), _as_spec(candidate_spec)
    if src.shape[0] != cand.shape[0]:
        raise ValueError(f"source has {src.shape[0]} frequency bins, candidate {cand.shape[0]}")
    p = int(patch_frames)
    if p < 1 or stride < 1:
        raise ValueError("patch_frames and stride must be >= 1")
    if src.shape[1] < p or cand.shape[1] < p:
        raise ValueError(f"both spectrograms need at least patch_frames={p} frames, got {src.shape[1]} and "
                         f"{cand.shape[1]}")
    if remove_profile:
        profile = src.mean(dim=1, keepdim=True)
        src, cand = src - profile, cand - profile
    n_f = src.shape[0]
    size = n_f * p
    # candidate patches (n, freq, p), mean-removed and unit-norm
    starts = torch.arange(0, cand.shape[1] - p + 1, stride)
    cp = cand.unfold(1, p, 1)[:, starts].permute(1, 0, 2)  # (n, freq, p)
    cp = cp - cp.mean(dim=(1, 2), keepdim=True)
    cnorm = cp.flatten(1).norm(dim=1)
    valid = cnorm > 1e-9 * math.sqrt(size)
    cp = cp / cnorm.clamp_min(_TINY)[:, None, None]
    # numerator: <s, c'> = <s - mean s, c'> since c' has zero mean
    num = F.conv1d(src.unsqueeze(0), cp)[0]  # (n, positions)
    # source patch norms via cumulative sums over time of per-frame sums
    col_sum = F.pad(src.sum(dim=0).cumsum(0), (1, 0))
    col_sq = F.pad(src.pow(2).sum(dim=0).cumsum(0), (1, 0))
    s1 = col_sum[p:] - col_sum[:-p]
    s2 = col_sq[p:] - col_sq[:-p]
    snorm = (s2 - s1.pow(2) / size).clamp_min(0).sqrt()
    corr = num / snorm.clamp_min(1e-9 * math.sqrt(size))[None, :]
    best = corr.clamp(-1.0, 1.0).amax(dim=1)
    return torch.where(valid, best, torch.zeros_like(best))


def copy_score(source_spec, candidate_spec, patch_frames: int = 16, stride: int = 8,
               remove_profile: bool = True) -> dict[str, float]:
    """How verbatim the candidate copies the source: patch cross-correlation, 1.0 = exact copy.

    ``source_spec``/``candidate_spec``: log-magnitude spectrograms ``(freq, time)`` (torch or numpy)
    from the same front end, e.g. ``judge_frontend()(wave)[0]``. For every candidate patch ``(freq,
    patch_frames)`` (every ``stride`` frames) the maximum Pearson correlation over all source positions
    is taken (:func:`patch_correlations`); returns ``mean`` (over candidate patches: how much of the
    candidate is copied) and ``max`` (the single best match: is ANY part copied). Read it against the
    calibration (``bench/RESULTS.md``, "Calibration of the judge"): a frame-aligned excerpt scores near 1,
    an excerpt shifted by half a hop less, an independent excerpt of the same recording much less.
    """
    best = patch_correlations(source_spec, candidate_spec, patch_frames, stride, remove_profile)
    return {"mean": float(best.mean()), "max": float(best.max())}


def diversity(spec_a, spec_b, patch_frames: int = 16, stride: int = 8, remove_profile: bool = True) -> float:
    """``1 - copy score`` between two outputs, symmetrised: ``1 - (c(a->b) + c(b->a)) / 2``.

    ``c(x->y)`` is :func:`copy_score`'s ``mean`` with ``x`` as the source. Near 0: the two outputs
    repeat each other; near 1: no patch of either recurs in the other. Log-magnitude spectrograms
    ``(freq, time)`` from one front end.
    """
    ab = copy_score(spec_a, spec_b, patch_frames, stride, remove_profile)["mean"]
    ba = copy_score(spec_b, spec_a, patch_frames, stride, remove_profile)["mean"]
    return 1.0 - 0.5 * (ab + ba)


def _main(argv: list[str] | None = None) -> None:
    """Print the calibration matrix (:func:`calibration_matrix`) for the given audio files."""
    import argparse
    from pathlib import Path

    from .audio import DEFAULT_SAMPLE_RATE, load_audio

    parser = argparse.ArgumentParser(description="Texture-distance calibration matrix of audio files")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE)
    args = parser.parse_args(argv)
    waves = {Path(f).stem: load_audio(f, args.sample_rate) for f in args.files}
    names, d = calibration_matrix(waves, args.sample_rate)
    print("D[i, j] = texture distance(first half of j, second half of i)")
    print(" " * 10 + " ".join(f"{n[:6]:>6}" for n in names))
    for name, row in zip(names, d):
        print(f"{name[:9]:<10}" + " ".join(f"{v:6.2f}" for v in row))
    print("ratio = row / diagonal (texture_ratio of clip j's first half against reference i)")
    for name, row in zip(names, d / np.diag(d)[:, None]):
        print(f"{name[:9]:<10}" + " ".join(f"{v:6.1f}" for v in row))


if __name__ == "__main__":
    _main()


# --------------------------------------------------------------------------------------------------
# Held-out style distance (the training objective under descriptors the training never saw)
# --------------------------------------------------------------------------------------------------

# Descriptors held out from training: every texnet config trains against seed 0 (widths 11 or 3/11/31).
# The held-out set uses other seeds, other widths and another filter count, so a candidate that matches
# only the particular random filters it was optimised against (an "adversarial" match of one descriptor)
# scores worse here than a candidate that matches the texture.
HELDOUT_SEEDS = (101, 102, 103)
HELDOUT_WIDTHS = (5, 11, 25)
HELDOUT_FILTERS = 256

_HELDOUT_CACHE: dict = {}


def _heldout_descriptor(n_freq: int, seed: int, width: int, n_filters: int):
    from .descriptors import DescriptorConfig, build_descriptor

    key = (int(n_freq), int(seed), int(width), int(n_filters))
    if key not in _HELDOUT_CACHE:
        _HELDOUT_CACHE[key] = build_descriptor(key[0], DescriptorConfig(n_filters=key[3], kernel_sizes=[key[2]],
                                                                        seed=key[1]))
    return _HELDOUT_CACHE[key]


def _mean_cov(acts: torch.Tensor, centred: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(C,)`` and covariance ``(C, C)`` over positions of activations ``(1, C, positions)``
    (``centred=False``: the covariance as second moment minus the outer product of the mean)."""
    a = acts[0].double()
    mu = a.mean(-1)
    if centred:
        d = a - mu[:, None]
        return mu, d @ d.T / a.shape[-1]
    return mu, a @ a.T / a.shape[-1] - torch.outer(mu, mu)


def _mean_cov_distance(cand: tuple[torch.Tensor, torch.Tensor], ref: tuple[torch.Tensor, torch.Tensor]) -> float:
    """``||mu_c - mu_r||^2 / ||mu_r||^2 + ||C_c - C_r||^2 / ||C_r||^2``."""
    (mc, cc), (mr, cr) = cand, ref
    return float((mc - mr).pow(2).sum() / mr.pow(2).sum().clamp_min(1e-20)
                 + (cc - cr).pow(2).sum() / cr.pow(2).sum().clamp_min(1e-20))


def judge_frontend():
    """The front end every spectrogram measure here is calibrated on: STFT 1024/256, ``log1p`` magnitudes."""
    from .frontends import FrontendConfig, STFTFrontend

    return STFTFrontend(FrontendConfig(n_fft=1024, hop_length=256, scale="log1p"))


@torch.no_grad()
def heldout_style_distances(reference_spec, candidate_specs, seeds=HELDOUT_SEEDS, widths=HELDOUT_WIDTHS,
                            n_filters: int = HELDOUT_FILTERS) -> list[dict[str, float]]:
    """:func:`heldout_style_distance` of several candidates against one reference (its targets built once)."""
    ref = _as_spec(reference_spec).float()
    cands = [_as_spec(c).float() for c in candidate_specs]
    need = max(int(w) for w in widths)
    for name, s in [("reference", ref)] + [("candidate", c) for c in cands]:
        if s.shape[0] != ref.shape[0]:
            raise ValueError(f"reference has {ref.shape[0]} frequency bins, {name} {s.shape[0]}")
        if s.shape[1] < need:
            raise ValueError(f"{name} spectrogram has {s.shape[1]} frames; the held-out style distance needs at "
                             f"least {need}")
    per = np.zeros((len(cands), len(seeds), len(widths)))
    for i, seed in enumerate(seeds):
        for j, width in enumerate(widths):
            desc = _heldout_descriptor(ref.shape[0], seed, width, n_filters)
            targets = [_mean_cov(a, centred=False) for a in desc(ref[None])]
            for k, cand in enumerate(cands):
                per[k, i, j] = float(np.mean([_mean_cov_distance(_mean_cov(a), t)
                                              for a, t in zip(desc(cand[None]), targets)]))
    out = []
    for k in range(len(cands)):
        row = {"distance": float(per[k].mean())}
        row.update({f"w{int(w)}": float(per[k, :, j].mean()) for j, w in enumerate(widths)})
        row["spread"] = float(per[k].std())
        out.append(row)
    return out


def heldout_style_distance(reference_spec, candidate_spec, seeds=HELDOUT_SEEDS, widths=HELDOUT_WIDTHS,
                           n_filters: int = HELDOUT_FILTERS) -> dict[str, float]:
    """The mean/covariance style loss of a candidate against a reference under HELD-OUT descriptors.

    ``reference_spec``/``candidate_spec``: log-magnitude spectrograms ``(freq, time)`` (or ``(1, freq,
    time)``) from one front end, e.g. ``judge_frontend()(wave)[0]``, each at least ``max(widths)`` frames.
    For every seed in ``seeds`` and kernel width in ``widths`` a fixed random ``Conv1d(freq, n_filters,
    width) + ReLU`` (:class:`~texnet.descriptors.Descriptor1D`, He-normal) is built, and the relative error
    of the activations' mean plus that of their covariance (computed here, not by the trained loss), ``||mu_c - mu_r||^2 / ||mu_r||^2 + ||C_c -
    C_r||^2 / ||C_r||^2`` (the reference is the target: the loss is not symmetric). The default seeds
    (101-103), widths (5, 11, 25 frames: 58-290 ms at hop 256) and 256 filters are none of those any
    texnet config trains against (seed 0, 512 filters), so this is the training objective's kind of
    measure on descriptors that a generator or the baseline cannot have over-fitted.

    Returns ``distance`` (mean over the seed x width descriptors), ``w<width>`` (mean over seeds per
    width) and ``spread`` (standard deviation over the descriptors). Lower is better, 0 = identical
    statistics. Read it relative to how far a recording is from itself (:func:`heldout_style_ratio`):
    the raw value depends strongly on the reference (a steady wind is far closer to itself than a
    crowd; ``bench/RESULTS.md``, "Calibration of the judge"). Cost: ``len(seeds) x sum(widths) x
    n_filters x freq`` multiply-adds per frame (timings in the same section);
    :func:`heldout_style_distances` scores several candidates against one reference and builds its
    targets once.
    """
    return heldout_style_distances(reference_spec, [candidate_spec], seeds, widths, n_filters)[0]


def heldout_style_ratio(source_spec, heldout_spec, candidate_spec, **kwargs) -> dict[str, float]:
    """Calibrated held-out style distance: ``h(candidate -> B) / h(A -> B)``.

    ``h(x -> B)`` is :func:`heldout_style_distance` with the unseen part ``B`` (``heldout_spec``) as the
    reference; ``A`` (``source_spec``) is the material the candidate was made from. As with
    :func:`texture_ratio`, 1.0 = as close to ``B`` as the source itself. Returns ``ratio``, ``distance``
    (= ``h(candidate -> B)``) and ``baseline`` (= ``h(A -> B)``).

    Calibration on the bundled clips (the matrix of :func:`heldout_calibration_matrix`, its ratios, and
    the figures behind the points below): ``bench/RESULTS.md``, "Calibration of the judge". How to read it:

    - it separates the steady noises well (rain, stream, fire, insects, wind: another texture scores
      several times the source's own distance), the wind extremely (its own halves are very close);
    - it hardly separates the machine from insects and the crowd from wind, fire and speech, where
      :func:`texture_ratio` does better: use both;
    - the scale is the reference's: one raw value can be "the same recording" for rain and "another
      sound" for the wind, so compare ratios, or raw distances only against one reference;
    - Gaussian noise with the first half's per-bin mean and std (right long-term spectrum, no texture)
      scores much closer to 1 than another texture does, since the descriptors see mostly the spectrum: a
      candidate with a low ratio may be little more than coloured noise, which :func:`texture_ratio`'s
      envelope statistics catch better;
    - it needs long, comparable excerpts: the statistics are estimated with noise, which adds to the
      distance, and a texture drifts, so short excerpts of a recording's own halves can score worse
      than the coloured noise above. Compare candidates of equal length against one reference.
    """
    base, cand = heldout_style_distances(heldout_spec, [source_spec, candidate_spec], **kwargs)
    return {"ratio": cand["distance"] / max(base["distance"], _TINY), "distance": cand["distance"],
            "baseline": base["distance"]}


def heldout_calibration_matrix(waves: dict, frontend=None, **kwargs) -> tuple[list[str], np.ndarray]:
    """``H[i, j] = heldout_style_distance(second half of clip i, first half of clip j)['distance']``.

    ``waves`` maps names to mono waveforms ``(samples,)``; ``frontend`` defaults to :func:`judge_frontend`.
    """
    fe = frontend or judge_frontend()
    names = list(waves)
    halves = {}
    with torch.no_grad():
        for name in names:
            w = _as_wave(waves[name])
            h = w.shape[0] // 2
            halves[name] = (fe(w[:h])[0], fe(w[h:])[0])
    d = np.zeros((len(names), len(names)))
    for i, ni in enumerate(names):
        row = heldout_style_distances(halves[ni][1], [halves[nj][0] for nj in names], **kwargs)
        d[i] = [r["distance"] for r in row]
    return names, d


def texture_ratios(source_wave, heldout_wave, candidate_waves, sample_rate: int, **stat_kwargs) -> list[dict]:
    """:func:`texture_ratio` with the two parts given explicitly, for several candidates at once.

    ``source_wave`` (``A``: what the candidates were made from) and ``heldout_wave`` (``B``: unseen) are
    mono waveforms ``(samples,)``, e.g. a data module's training and held-out parts; each candidate
    scores ``d(candidate, B) / d(A, B)``. ``texture_ratio(ref, c)`` equals ``texture_ratios(ref[:n // 2],
    ref[n // 2:], [c])[0]``. Returns one dict per candidate with :func:`texture_ratio`'s keys.
    """
    sa = texture_statistics(source_wave, sample_rate, **stat_kwargs)
    sb = texture_statistics(heldout_wave, sample_rate, **stat_kwargs)
    base = texture_distance(sa, sb)
    out = []
    for wave in candidate_waves:
        cand = texture_distance(texture_statistics(wave, sample_rate, **stat_kwargs), sb)
        row = {"ratio": cand["score"] / max(base["score"], _TINY), "distance": cand["score"], "baseline": base["score"]}
        row.update({f"ratio_{key}": cand[key] / max(base[key], _TINY) for key in STAT_GROUPS})
        out.append(row)
    return out


FLOOR_MIN_PART_SECONDS = 1.5  # a training crop; shorter quarters see too little of a texture's slow modulation


def texture_ratio_floor(wave, sample_rate: int, **stat_kwargs) -> dict[str, float] | None:
    """What :func:`texture_ratio` allows a synthesis of a recording's first half: an estimate from its quarters.

    ``wave`` ``(samples,)`` is cut into quarters; for every ordered pair (A, B) of them and the other two
    (C, D), in :func:`comparison_space`, two candidates are scored as ``d(., B) / d(A, B)``: an independent
    excerpt C (a perfect model of the whole recording), and A's statistics plus one excerpt's own variation
    ``(C - D) / sqrt(2)`` (a perfect model of A whose outputs vary as the recording does). Returns the means
    ``independent`` and ``own_variation`` and the latter's range ``own_variation_low`` / ``_high`` (None
    when a quarter would be shorter than :data:`FLOOR_MIN_PART_SECONDS`). A ratio near ``own_variation`` is
    as good as a generator of the first half can be without varying less than the recording.
    """
    wave = _as_wave(wave)
    n = wave.shape[-1] // 4
    if n < FLOOR_MIN_PART_SECONDS * sample_rate:
        return None
    q = [comparison_space(texture_statistics(wave[i * n:(i + 1) * n], sample_rate, **stat_kwargs))
         for i in range(4)]

    def score(a, b):
        return _scaled(_raw_in_space(a, b))["score"]

    independent, own = [], []
    for a, b in itertools.permutations(range(4), 2):
        base = max(score(q[a], q[b]), _TINY)
        for c, d in itertools.permutations([i for i in range(4) if i not in (a, b)]):
            independent.append(score(q[c], q[b]) / base)
            varied = {g: q[a][g] + (q[c][g] - q[d][g]) / math.sqrt(2) for g in STAT_GROUPS}
            own.append(score(varied, q[b]) / base)
    return {"independent": float(np.mean(independent)), "own_variation": float(np.mean(own)),
            "own_variation_low": float(min(own)), "own_variation_high": float(max(own))}


# --------------------------------------------------------------------------------------------------
# Spectral lines (steady tones a synthesis adds: too narrow for any ERB band to see)
# --------------------------------------------------------------------------------------------------

LINE_N_FFT = 8192  # 2.7 Hz bins at 22.05 kHz: a tone stands out of noise by the window's gain
LINE_WIDTH_BINS = 41  # the running median that stands for the smooth spectrum (110 Hz at 22.05 kHz)
LINE_THRESHOLD_DB = 6.0


def spectral_lines(wave, sample_rate: int, low_hz: float = 50.0, high_hz: float = 4000.0,
                   n_fft: int = LINE_N_FFT, width_bins: int = LINE_WIDTH_BINS) -> dict[str, float]:
    """Narrow peaks of a waveform's ``(samples,)`` long-term spectrum: bins of the mean power of Hann frames
    of ``n_fft`` points (hop a quarter) between ``low_hz`` and ``high_hz`` that stand more than
    :data:`LINE_THRESHOLD_DB` above the running median over ``width_bins`` bins.

    Returns ``count`` (such bins that are local maxima: one per line) and ``ripple_db`` (standard deviation
    of the spectrum about that median).
    A steady tone is one bin of a 2.7 Hz spectrum, 1/30 of the narrowest band :func:`texture_statistics`
    averages over, so it hardly moves any texture statistic while it is heard as a hum or whistle. Steady
    noises have none; voices and hum have some, so read a synthesis's count against its source's (the
    bundled clips, uncentred and centred generators: ``bench/RESULTS.md``, "Spectral lines"). Uncentred
    waveform generators put theirs at multiples of 86 Hz (their bins 4k: see
    :class:`texnet.generators.WaveformGenerator`). An estimate from few frames is noisy: give a few
    seconds at least (a wave shorter than ``n_fft`` is read in the longest power-of-two frame it holds, with
    ``width_bins`` scaled to the same width in Hz).
    """
    if n_fft < 16 or width_bins < 3 or width_bins % 2 == 0:
        raise ValueError(f"spectral_lines needs n_fft >= 16 and an odd width_bins >= 3, got {n_fft}, {width_bins}")
    w = _as_wave(wave)
    if w.shape[0] < n_fft:  # a shorter frame, its median over the same width in Hz
        short = 1 << (w.shape[0].bit_length() - 1)
        width_bins, n_fft = max(3, round(width_bins * short / n_fft)) | 1, short
    spec = torch.stft(w.double(), n_fft, n_fft // 4, window=torch.hann_window(n_fft, dtype=torch.float64),
                      return_complex=True)
    level = 10 * torch.log10(spec.abs().square().mean(-1) + 1e-30)
    half = width_bins // 2
    padded = F.pad(level[None, None], (half, half), mode="replicate")[0, 0]
    residual = level - padded.unfold(0, width_bins, 1).median(-1).values
    hz = torch.arange(level.shape[0], dtype=torch.float64) * sample_rate / n_fft
    inner = F.pad(level[None, None], (1, 1), mode="replicate")[0, 0]
    peak = (level >= inner[:-2]) & (level > inner[2:])  # one count per line: the window spreads it over bins
    band = (hz >= low_hz) & (hz <= high_hz)
    count = int((peak & band & (residual > LINE_THRESHOLD_DB)).sum())
    return {"count": count, "ripple_db": float(residual[band].std())}


# --------------------------------------------------------------------------------------------------
# Content kept by a style transfer
# --------------------------------------------------------------------------------------------------

CONTENT_HOP = 512  # 23 ms at 22.05 kHz


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.shape[-1], b.shape[-1])
    a, b = a[..., :n].ravel(), b[..., :n].ravel()
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))


def content_correlations(content, candidate, sample_rate: int) -> dict[str, float]:
    """Pearson correlations, frame by frame, of a candidate ``(samples,)`` with the content ``(samples,)`` it
    was made from (the same length; the shorter sets it): ``envelope`` (broadband log RMS), ``onsets``
    (librosa's onset strength: when events start) and ``chroma`` (librosa's ``chroma_stft``: pitch classes,
    the tonal content, octave-blind). 1 = the content's contour; unrelated sounds score about 0. Level-
    invariant. Frames of :data:`CONTENT_HOP` samples."""
    import librosa

    y, c = (_as_wave(w).numpy() for w in (candidate, content))

    def envelope(w):
        return np.log(librosa.feature.rms(y=w, frame_length=2 * CONTENT_HOP, hop_length=CONTENT_HOP)[0] + 1e-4 * (
            np.sqrt(np.mean(w ** 2)) + 1e-12))

    def onsets(w):
        return librosa.onset.onset_strength(y=w, sr=sample_rate, hop_length=CONTENT_HOP)

    def chroma(w):
        return librosa.feature.chroma_stft(y=w, sr=sample_rate, n_fft=4 * CONTENT_HOP, hop_length=CONTENT_HOP)

    return {name: _pearson(f(c), f(y)) for name, f in (("envelope", envelope), ("onsets", onsets), ("chroma", chroma))}

