"""Shared fixtures for the test suite.

The machines running the tests are small (a couple of shared cores), so torch is pinned to one thread at
import, and anything expensive (decoding the bundled clips) is cached for the whole session.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import os

# Subprocesses (CLI tests) inherit this: one thread is faster than two on a shared 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

import numpy as np
import pytest
import soundfile as sf
import torch

torch.set_num_threads(1)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@lru_cache(maxsize=None)
def _clip(name: str, seconds: float, sample_rate: int) -> torch.Tensor:
    from texnet.audio import load_audio

    wave = load_audio(DATA_DIR / f"{name}.ogg", sample_rate=sample_rate)
    return wave[: int(round(seconds * sample_rate))].clone()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The repository's ``data/`` folder with the bundled example clips."""
    assert DATA_DIR.is_dir(), f"bundled clips missing: {DATA_DIR}"
    return DATA_DIR


@pytest.fixture(scope="session")
def clip():
    """``clip(name, seconds=3.0, sample_rate=22050)`` -> the first ``seconds`` of ``data/<name>.ogg``.

    Loaded (normalised, mono float32) once per session per argument set; callers get a fresh copy.
    """

    def get(name: str, seconds: float = 3.0, sample_rate: int = 22050) -> torch.Tensor:
        return _clip(name, float(seconds), int(sample_rate)).clone()

    return get


@pytest.fixture(scope="session")
def rain_wave(clip) -> torch.Tensor:
    """First 3 s of ``data/rain.ogg`` at 22.05 kHz via ``texnet.audio.load_audio``, shape ``(samples,)``."""
    return clip("rain", 3.0)


@pytest.fixture
def sine_wav(tmp_path):
    """Factory writing a small sine WAV under ``tmp_path`` and returning its path.

    ``sine_wav(name="sine.wav", freq=1000.0, sample_rate=22050, seconds=0.5, amplitude=0.5, channels=1,
    subtype="PCM_16")``. Channel ``k`` (0-based) holds a sine at ``(k + 1) * freq``, so the channels of a
    multichannel file are distinguishable.
    """

    def make(
        name: str = "sine.wav",
        freq: float = 1000.0,
        sample_rate: int = 22050,
        seconds: float = 0.5,
        amplitude: float = 0.5,
        channels: int = 1,
        subtype: str = "PCM_16",
    ) -> Path:
        t = np.arange(int(round(seconds * sample_rate))) / sample_rate
        cols = [amplitude * np.sin(2 * np.pi * freq * (k + 1) * t) for k in range(channels)]
        data = np.stack(cols, axis=1).astype(np.float32)
        if channels == 1:
            data = data[:, 0]
        path = tmp_path / name
        sf.write(str(path), data, sample_rate, subtype=subtype)
        return path

    return make


@pytest.fixture(scope="session")
def tiny_frontend():
    """A cheap STFT front end for tests: ``n_fft=256, hop_length=64``, ``log1p`` (129 bins, ~344.5 frames/s),
    16 Griffin-Lim iterations."""
    from texnet.frontends import FrontendConfig, build_frontend

    return build_frontend(FrontendConfig(n_fft=256, hop_length=64, scale="log1p", griffin_lim_iters=16))


@pytest.fixture(scope="session")
def tiny_spec(clip, tiny_frontend):
    """``tiny_spec(name, start=0.0, seconds=3.0)`` -> log-magnitude ``(129, frames)`` of that stretch of
    ``data/<name>.ogg`` through ``tiny_frontend`` (a fresh tensor each call)."""

    @lru_cache(maxsize=None)
    def cached(name: str, start: float, seconds: float) -> torch.Tensor:
        sr = tiny_frontend.sample_rate
        wave = clip(name, start + seconds, sr)[int(round(start * sr)):]
        with torch.no_grad():
            return tiny_frontend(wave)[0]

    def get(name: str, start: float = 0.0, seconds: float = 3.0) -> torch.Tensor:
        return cached(name, float(start), float(seconds)).clone()

    return get


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """``tiny_checkpoint(kind="texture")`` -> a real checkpoint: configs/tiny.yaml (n_fft 256, hop 64) trained
    for its few steps in-process, made once per session per kind. ``"waveform"``: the phase-free generator,
    judged at two STFT resolutions of its audio (power scale, band whitening), as tests/test_training.py does."""
    import pytorch_lightning as pl
    import yaml

    from texnet.data import TextureDataModule
    from texnet.descriptors import DescriptorConfig
    from texnet.frontends import FrontendConfig
    from texnet.generators import GeneratorConfig
    from texnet.loss import ObjectiveConfig
    from texnet.module import TextureModule

    made: dict[str, Path] = {}

    def make(kind: str = "texture") -> Path:
        if kind not in made:
            root = DATA_DIR.parent
            cfg = yaml.safe_load((root / "configs" / "tiny.yaml").read_text())
            m, data = cfg["model"], dict(cfg["data"])
            data["audio"] = [str(root / a) for a in data["audio"]]
            if kind == "waveform":
                m["generator"]["kind"] = "waveform"
                m["objective"] = {**m["objective"], "resolutions": [128, 512], "band_whitening": 0.5}
                m["frontend"]["scale"] = "power"
            module = TextureModule(frontend=FrontendConfig(**m["frontend"]),
                                   descriptor=DescriptorConfig(**m["descriptor"]),
                                   objective=ObjectiveConfig(**m["objective"]),
                                   generator=GeneratorConfig(**m["generator"]), lr=m["lr"])
            trainer = pl.Trainer(max_steps=cfg["trainer"]["max_steps"], logger=False, enable_checkpointing=False,
                                 enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                                 num_sanity_val_steps=0, accelerator="cpu", devices=1)
            trainer.fit(module, TextureDataModule(**data))
            path = tmp_path_factory.mktemp(f"tiny_{kind}") / "last.ckpt"
            trainer.save_checkpoint(path)
            made[kind] = path
        return made[kind]

    return make
