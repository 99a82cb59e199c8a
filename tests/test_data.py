"""The data module: the whole clip by default, a held-out part only when asked, one-line errors for clips
too short (with the length needed and what to change), old configs' ``train_fraction``."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from texnet.audio import AudioError
from texnet.data import TextureDataModule

ROOT = Path(__file__).resolve().parent.parent
FIRE = ROOT / "data" / "fire.ogg"


def loaded(**kw) -> TextureDataModule:
    dm = TextureDataModule(**{"audio": str(FIRE), "crop_seconds": 0.5, **kw})
    dm.setup()  # no trainer: loads at the default rate
    return dm


def test_the_whole_clip_is_the_target_by_default():
    dm = loaded()
    full = dm.style_waves[0]
    assert dm.holdout == 0.0 and abs(full.shape[-1] / dm.sample_rate - sf.info(FIRE).duration) < 0.01
    assert torch.equal(dm.heldout_waves[0], full)  # validation crops come from the target itself


def test_holdout_keeps_the_end_unseen():
    whole = loaded().style_waves[0]
    dm = loaded(holdout=0.5)
    cut = int(whole.shape[-1] * 0.5)  # as texnet.experiments.split cuts it
    assert dm.style_waves[0].shape[-1] == cut
    assert dm.heldout_waves[0].shape[-1] == whole.shape[-1] - cut
    np.testing.assert_array_equal(dm.heldout_waves[0].numpy(), whole[cut:].numpy())


def test_old_train_fraction_is_mapped_to_holdout():
    dm = TextureDataModule(audio=[str(FIRE)], train_fraction=0.75)
    assert dm.holdout == 0.25 and dm.hparams["holdout"] == 0.25 and "train_fraction" not in dm.hparams
    with pytest.raises(ValueError, match="both given"):
        TextureDataModule(audio=[str(FIRE)], train_fraction=0.5, holdout=0.5)
    with pytest.raises(ValueError, match=r"data.holdout must be in \[0, 0.9\]"):
        TextureDataModule(audio=[str(FIRE)], holdout=1.0)


@pytest.fixture
def short_clip(tmp_path) -> Path:
    wave, sr = sf.read(FIRE)
    path = tmp_path / "short clip.wav"
    sf.write(path, wave[: int(0.8 * sr)], sr)
    return path


def test_a_clip_too_short_says_the_length_needed_and_what_to_change(short_clip):
    with pytest.raises(AudioError, match=r"0.80 s is too short for training crops of 1 s .* at least 1 s") as e:
        loaded(audio=str(short_clip), crop_seconds=1.0)
    assert "--data.crop_seconds" in str(e.value)
    loaded(audio=str(short_clip))  # 0.5 s crops fit without a held-out part ...
    with pytest.raises(AudioError, match=r"holdout 0.5 .* at least 1.00 s, --data.holdout 0 to train on all of it"):
        loaded(audio=str(short_clip), holdout=0.5)  # ... but not in each half


def test_train_cli_takes_one_path_and_a_short_clip_is_one_line(short_clip, tmp_path):
    """``--data.audio FILE`` without brackets; too short for the held-out split: one line, exit 2, nothing run."""
    r = subprocess.run([sys.executable, "train.py", "--config", "tiny", "--data.audio", str(short_clip),
                        "--data.holdout", "0.5", "--out", str(tmp_path / "run"), "--wandb", "off"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"train.py: error: {short_clip}: 0.80 s is too short"), last
    assert "at least 1.00 s" in last and "--data.holdout 0" in last and "(the loss needs at least" in last
    assert "Traceback" not in r.stderr and not (tmp_path / "run" / "last.ckpt").exists()
