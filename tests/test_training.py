"""Training end to end on tiny configs: the loss falls, checkpoints rebuild the generator exactly, a
resumed run ends where an uninterrupted one does, the W&B offline run holds audio and the table, and
the generate CLI / Python API work from the checkpoint."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import texnet
from texnet.audio import load_audio
from texnet.inference import CheckpointError, load_generator
from texnet.synthesizer import render_offsets

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "configs" / "tiny.yaml"
# the tiny config with the default phase-free generator and two short audio resolutions
WAVEFORM = ["--model.generator.kind", "waveform", "--model.frontend.scale", "power",
            "--model.objective.resolutions", "[128, 512]"]


def run(args, **kw):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, **kw)


def train(out, *extra):
    r = run(["train.py", "--config", str(TINY), "--out", str(out), *extra])
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(out)
    return out


def test_training_writes_checkpoints_samples_and_comparison(tiny_run):
    for name in ("last.ckpt", "best.ckpt", "config.yaml", "losses.csv", "losses.png", "samples/final.wav", "samples/final.png",
                 "comparison.json", "comparison.png", "comparison_generator.wav", "comparison_baseline.wav"):
        assert (tiny_run / name).is_file(), name


def read_losses(run: Path) -> list[dict]:
    import csv

    with open(run / "losses.csv") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def test_losses_are_a_csv_and_a_plot_in_the_run_folder(tiny_run):
    """W&B or not: every validation's and the last step's losses (tiny: 6 steps, validation every 3, logging
    every 10, so the last step is not a logged one and is taken all the same)."""
    rows = read_losses(tiny_run)
    assert [r["step"] for r in rows] == [3, 6]
    assert {"val/style", "val/loss", "val/real_style"} <= set(rows[0])
    assert {"train/loss", "train/style", "val/style"} <= set(rows[1])
    assert all(np.isfinite(v) for r in rows for v in r.values())
    assert (tiny_run / "losses.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tiny_run.glob(".losses.*"))  # no temporary file left: written atomically


def test_wandb_offline_run_holds_audio_and_table(tiny_run):
    runs = list((tiny_run / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    media = runs[0] / "files" / "media"
    assert list(media.rglob("*.wav")), "no logged audio"
    assert list(media.rglob("*.table.json")), "no logged comparison table"
    assert list(media.rglob("*.png")), "no logged spectrogram image"
    assert {re.sub(r"_\d+_[0-9a-f]+$", "", p.stem) for p in (media / "audio" / "comparison").glob("*.wav")} == \
        {"audio_generator", "audio_baseline"}
    # every medium the run's records name lies in its own files/ by relative path, so the run folder
    # syncs (wandb sync) from wherever it is copied to
    record = next(runs[0].glob("*.wandb")).read_bytes()
    named = set(re.findall(rb"media/[\w./-]+?\.(?:wav|png|table\.json)", record))
    assert any(b"comparison" in n for n in named)
    assert all((runs[0] / "files" / n.decode()).is_file() for n in named), named


def test_checkpoint_round_trip_rebuilds_identical_generator_and_descriptor(tiny_run):
    a = load_generator(tiny_run / "last.ckpt")
    b = texnet.load_generator(tiny_run / "last.ckpt")
    for (n1, p1), (n2, p2) in zip(a.generator.state_dict().items(), b.generator.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2)
    assert torch.equal(a.generate_spec(1.0, seed=2), b.generate_spec(1.0, seed=2))
    d1, d2 = a.build_descriptor(), b.build_descriptor()
    for p1, p2 in zip(d1.parameters(), d2.parameters()):
        assert torch.equal(p1, p2)
    ckpt = torch.load(tiny_run / "last.ckpt", weights_only=True, map_location="cpu")
    assert all(k.startswith("generator.") for k in ckpt["state_dict"])  # front end/descriptor rebuilt, not stored


def test_api_generates_requested_length_and_seeds_differ(tiny_run):
    g = load_generator(tiny_run / "last.ckpt")
    w0 = g.generate(2.0, seed=0, n_iter=2)
    w1 = g.generate(2.0, seed=1, n_iter=2)
    assert abs(w0.shape[-1] - 2.0 * g.sample_rate) <= g.frontend.hop_length
    assert not torch.allclose(w0, w1)


SPECTROGRAM = dict(resolutions=[], band_whitening=0.0, spectrum_weight=0.0, auditory_weight=0.0, tone_weight=0.0)


def tiny_module(kind: str = "texture", **objective):
    from texnet.descriptors import DescriptorConfig
    from texnet.frontends import FrontendConfig
    from texnet.generators import GeneratorConfig
    from texnet.loss import ObjectiveConfig
    from texnet.module import TextureModule

    return TextureModule(FrontendConfig(n_fft=256, hop_length=64, scale="power" if kind.startswith("waveform") else "log1p"),
                         DescriptorConfig(n_filters=32, kernel_sizes=[5]), ObjectiveConfig(**{**SPECTROGRAM, **objective}),
                         GeneratorConfig(kind=kind, channels=16, dilations=[1, 2, 4], noise_channels=4, noise_scales=2),
                         lr=3e-3)


def fire_crops():
    from texnet.data import TextureDataModule

    dm = TextureDataModule(audio=[str(ROOT / "data" / "fire.ogg")], crop_seconds=0.5, batch_size=2)
    dm.setup("fit")  # no trainer: loads only
    return dm.style_waves, torch.stack([dm.style_waves[0][:11025]] * 2)


def test_a_few_steps_lower_the_loss():
    m = tiny_module()
    waves, batch = fire_crops()
    m.set_targets(waves)
    opt = torch.optim.Adam(m.generator.parameters(), lr=3e-3)
    losses = []
    for step in range(25):
        loss = m._step_losses(batch, [step, step + 100]).total.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5, losses
    # the loss trained on is the style of the whole batch pooled, not the mean per crop
    with torch.no_grad():
        style = m._step_losses(batch, [7, 8]).style
        renders, _ = m.synth.render(batch, [7, 8])
        assert style.item() == pytest.approx(m.loss(renders, pooled=True).style.item(), rel=1e-5)
        assert style.item() != pytest.approx(m.loss(renders).style.mean().item(), rel=1e-3)


@pytest.mark.parametrize("kind", ["texture", "waveform"])
def test_every_generator_kind_renders_into_the_same_loss(kind):
    """One training step for any generator: the synthesiser renders what the loss judges (audio for the
    phase-free generator, log-magnitudes for the magnitude one) and gradients reach the generator."""
    objective = {"resolutions": [128, 512], "band_whitening": 0.5} if kind == "waveform" else {}
    m = tiny_module(kind, **objective)
    waves, batch = fire_crops()
    m.set_targets(waves)
    renders, content = m.synth.render(batch, [1, 2])
    assert renders.dim() == (2 if kind == "waveform" else 3) and m.loss.domain == m.synth.domain and content is None
    m._step_losses(batch, [1, 2]).total.mean().backward()
    grads = [p.grad for p in m.generator.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_a_phase_free_render_is_an_excerpt_starting_within_a_frame():
    """Each render is the generator's one-pass audio from a place within its first frame that the seed
    picks (the loss's frames then fall anywhere on the generator's), the crops' frames' worth of samples."""
    m = tiny_module("waveform", resolutions=[128, 512], band_whitening=0.5)
    waves, batch = fire_crops()
    m.set_targets(waves)
    fe, seeds = m.synth.frontend, [3, 4]
    offsets = render_offsets(torch.tensor(seeds), fe.hop_length)
    with torch.no_grad():
        renders, _ = m.synth.render(batch, seeds)
        n = fe.frames_for_samples(batch.shape[-1])
        for seed, offset, render in zip(seeds, offsets.tolist(), renders):
            whole = fe.istft(m.generator.generate(n + 1, seed=seed)[None])[0]
            torch.testing.assert_close(render, whole[offset: offset + fe.samples_for_frames(n)], rtol=1e-4, atol=1e-6)
    many = render_offsets(torch.arange(1000), fe.hop_length)
    assert many.min() >= 0 and many.max() < fe.hop_length and len(set(many.tolist())) > fe.hop_length // 2
    assert torch.equal(many, render_offsets(torch.arange(1000), fe.hop_length))  # a resumed run renders the same


@pytest.mark.parametrize("kind", ["style", "waveform_style"])
def test_a_style_generator_renders_with_its_content(kind):
    """A style generator's render comes with what it is compared with: the crops' log-magnitudes (its own
    input) for the spectrogram-domain one, the crops themselves for the phase-free one; gradients flow."""
    objective = {"resolutions": [128, 512], "band_whitening": 0.5} if kind == "waveform_style" else {}
    m = tiny_module(kind, **objective)
    waves, batch = fire_crops()
    m.set_targets(waves)
    renders, content = m.synth.render(batch, [1, 2])
    if kind == "style":
        assert torch.equal(content, m.synth.frontend(batch)) and renders.shape == content.shape
    else:
        assert torch.equal(content, batch) and renders.shape == batch.shape
    m._step_losses(batch, [1, 2]).total.mean().backward()
    assert all(p.grad is not None for p in m.generator.parameters() if p.requires_grad)


def test_data_module_hands_over_the_targets_and_checks_the_crop(tmp_path):
    import pytorch_lightning as pl

    from texnet.data import TextureDataModule

    m = tiny_module()
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0, accelerator="cpu", devices=1,
                         default_root_dir=tmp_path)
    trainer.fit(m, TextureDataModule(audio=[str(ROOT / "data" / "fire.ogg")], crop_seconds=0.5, batch_size=2,
                                     steps_per_epoch=1))
    assert m._targets_ready and trainer.global_step == 1
    short = TextureDataModule(audio=[str(ROOT / "data" / "fire.ogg")], crop_seconds=0.01, batch_size=2)
    with pytest.raises(ValueError, match="crop_seconds"):
        pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                   accelerator="cpu", devices=1, default_root_dir=tmp_path).fit(tiny_module(), short)


@pytest.mark.parametrize("kind", ["texture", "waveform"])
def test_resume_ends_where_an_uninterrupted_run_does(tmp_path, kind):
    full, part = tmp_path / "full", tmp_path / "part"
    # the interrupted run is stopped after 3 of 6 steps; its LR schedule is the 6-step one, as in a killed run.
    # A phase-free generator's spectrum is calibrated at the end of each part: the resumed run takes it off.
    common = ["--compare.enabled", "false", "--model.schedule_steps", "6"]
    if kind == "waveform":
        common += WAVEFORM
    train(full, *common)
    train(part, *common, "--trainer.max_steps", "3")
    train(part, *common, "--ckpt_path", str(part / "last.ckpt"))
    a = torch.load(full / "last.ckpt", weights_only=True)
    b = torch.load(part / "last.ckpt", weights_only=True)
    assert a["global_step"] == b["global_step"] == 6
    for k in a["state_dict"]:
        assert torch.allclose(a["state_dict"][k], b["state_dict"][k], atol=1e-6), k
    # the resumed run's losses.csv holds the first part's rows too (they travel in the checkpoint)
    la, lb = read_losses(full), read_losses(part)
    assert [r["step"] for r in lb] == [3, 6]
    assert lb[0]["val/style"] == pytest.approx(la[0]["val/style"], rel=1e-5)
    assert lb[1]["val/style"] == pytest.approx(la[1]["val/style"], rel=1e-4)


def test_the_checkpoint_holds_the_spectrum_calibrated_generator(tmp_path):
    from texnet import experiments as X
    from texnet.calibration import bin_power

    off_db = {}
    for name, extra in (("calibrated", []), ("off", ["--calibrate.seconds", "0"])):
        train(tmp_path / name, *WAVEFORM, "--compare.enabled", "false", "--trainer.max_steps", "2", *extra)
        synth = load_generator(tmp_path / name / "last.ckpt")
        target = bin_power(synth.frontend, X.load_clip("rain", synth.sample_rate))
        made = bin_power(synth.frontend, synth.generate(20.0, seed=11))
        off_db[name] = float((10 * torch.log10(made / target)).abs().median())
        state = torch.load(tmp_path / name / "last.ckpt", weights_only=True)["callbacks"]["SpectrumCalibration"]
        assert (state["gain_db"] is None) == (name == "off")
    assert off_db["calibrated"] < 1.0 < off_db["off"], off_db


def test_generate_cli_writes_wav_png_json_per_seed(tiny_run, tmp_path):
    out = tmp_path / "tex.wav"
    r = run(["synthesize.py", "generate", "--ckpt", str(tiny_run / "last.ckpt"), "--seconds", "3",
             "--seed", "1", "2", "--out", str(out), "--griffin-lim-iters", "2"])
    assert r.returncode == 0, r.stderr
    for seed in (1, 2):
        wav = tmp_path / f"tex_seed{seed}.wav"
        info = sf.info(wav)
        assert info.frames == 3 * 22050 and info.samplerate == 22050  # exactly as long as asked
        assert (tmp_path / f"tex_seed{seed}.png").is_file() and (tmp_path / f"tex_seed{seed}.json").is_file()
    # shorter than a frame's hop: still a file of that length (one frame's inverse held none before)
    r = run(["synthesize.py", "generate", "--ckpt", str(tiny_run / "last.ckpt"), "--seconds", "0.001",
             "--out", str(tmp_path / "click.wav"), "--griffin-lim-iters", "2"])
    assert r.returncode == 0, r.stderr
    assert sf.info(tmp_path / "click.wav").frames == round(0.001 * 22050)
    assert load_generator(tiny_run / "last.ckpt").generate(1.25, n_iter=2).shape == (round(1.25 * 22050),)


def test_checkpoint_from_another_program_is_refused(tmp_path):
    fake = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "hyper_parameters": {"lr": 1}}, fake)
    with pytest.raises(CheckpointError, match="not a texnet generator checkpoint"):
        load_generator(fake)
    text = tmp_path / "text.ckpt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a loadable texnet checkpoint"):
        load_generator(text)
    r = run(["synthesize.py", "generate", "--ckpt", str(fake), "--out", str(tmp_path / "x.wav")])
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "not a texnet generator checkpoint" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "x.wav").exists()


def test_train_print_config_runs():
    r = run(["train.py", "--config", str(TINY), "--print_config"])
    assert r.returncode == 0, r.stderr
    assert "n_filters: 32" in r.stdout and "audio:" in r.stdout


def _train_style(tmp_path, generator: dict, objective: dict | None = None, scale: str | None = None):
    """A style-transfer generator trained 4 steps on tiny.yaml with speech as content; loaded back."""
    import yaml

    cfg = yaml.safe_load(TINY.read_text())
    cfg["model"]["generator"] = {"channels": 16, "dilations": [1, 2], "noise_channels": 2, **generator}
    if objective:
        cfg["model"]["objective"] = objective
    if scale:
        cfg["model"]["frontend"]["scale"] = scale
    cfg["data"]["content"] = ["data/speech.ogg"]
    cfg["compare"] = {"enabled": False}
    cfg["trainer"]["max_steps"] = 4
    path = tmp_path / "style.yaml"
    path.write_text(yaml.safe_dump(cfg))
    train(tmp_path / "run", "--config", str(path))
    return load_generator(tmp_path / "run" / "last.ckpt")


def test_style_generator_trains_and_stylizes(tmp_path):
    """Style mode: content crops in, content + style loss falls, stylize() keeps the content's length."""
    g = _train_style(tmp_path, {"kind": "style"})
    content = torch.randn(22050) * 0.1
    out = g.stylize(content, n_iter=2)
    assert abs(out.shape[-1] - 22050) <= g.frontend.hop_length
    with pytest.raises(ValueError, match="style-transfer generator"):
        g.generate(1.0)


def test_waveform_style_generator_trains_against_the_waveform_objective_and_stylizes(tmp_path):
    """Phase-free style transfer: trained through the inverse STFT against the waveform objective with the
    content crops as content; the checkpoint stylises by one inverse STFT (no phase retrieval), keeps the
    content's length, is left uncalibrated and refuses to make a texture; the stylize command writes it."""
    g = _train_style(tmp_path, {"kind": "waveform_style", "center_window": 5},
                     {"resolutions": [128, 512], "band_whitening": 0.5, "auditory_segment_s": 0.2}, "power")
    assert g.is_style and g.is_waveform and g.domain == "waveform"
    content = torch.randn(22050) * 0.1
    spec = g.stylize_spec(content, seed=1)
    # frames over the whole content (not whole hops), the audio cut back to its length
    assert spec.is_complex() and spec.shape == (g.frontend.n_freq, g.frontend.frames_to_cover(22050))
    out = g.stylize(content, seed=1)
    assert out.shape == (22050,) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="shorter than one analysis window"):  # not the STFT padding's traceback
        g.stylize(content[: g.frontend.window_samples - 1])
    assert torch.equal(out, g.invert(spec, length=22050))
    with pytest.raises(ValueError, match="style-transfer generator"):
        g.generate(1.0)
    from texnet.calibration import calibrate_spectrum

    with pytest.raises(ValueError, match="texture generator"):
        calibrate_spectrum(g, [content])
    r = run(["synthesize.py", "stylize", "--ckpt", str(tmp_path / "run" / "last.ckpt"), "--content",
             "data/speech.ogg", "--out", str(tmp_path / "s.wav")])
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s.wav").stat().st_size > 1000 and (tmp_path / "s.png").exists()
    assert sf.info(tmp_path / "s.wav").frames == load_audio(ROOT / "data" / "speech.ogg", g.sample_rate).shape[-1]


def test_comparison_scores_generator_and_baseline_against_real_audio(tiny_run):
    import json

    rows = json.loads((tiny_run / "comparison.json").read_text())
    assert rows["metrics_reference"].startswith("training clip")  # tiny.yaml keeps no held-out part
    for name in ("generator", "baseline"):
        r = rows[name]
        assert r["texture_ratio"] is None and r["heldout_style_ratio"] is None
        assert r["heldout_style"] > 0 and -1 <= r["copy_score"] <= r["copy_score_max"] <= 1
    assert rows["real_heldout"]["texture_ratio_floor"] is None
    # the config's optimize section (tiny.yaml: max_iter 3) runs the baseline compared with (it had been ignored)
    assert rows["baseline"]["evaluations"] == 3 and rows["baseline"]["stop_reason"] == "max_iter"
    table = next((tiny_run / "wandb").rglob("*.table.json")).read_text()
    assert '"copy_score"' in table and '"spectral_lines"' in table


def test_waveform_generator_trains_and_generates_without_phase_retrieval(tmp_path):
    import yaml

    cfg = yaml.safe_load(TINY.read_text())
    cfg["model"]["generator"]["kind"] = "waveform"
    # judged at two STFT resolutions of its audio; the comparison's baseline is the waveform one too
    cfg["model"]["objective"] = {"resolutions": [128, 512], "band_whitening": 0.5}
    cfg["model"]["frontend"]["scale"] = "power"  # whitening is defined on the power scale
    path = tmp_path / "wave.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = train(tmp_path / "run", "--config", str(path), "--data.holdout", "0.5")
    assert "texture ratio against the held-out part: generator" in r.stdout + r.stderr
    g = load_generator(tmp_path / "run" / "last.ckpt")
    assert g.is_waveform
    rows = json.loads((tmp_path / "run" / "comparison.json").read_text())
    assert rows["baseline"]["domain"] == "waveform"
    # a held-out part: both outputs get texture ratios against it, and the real part the ratio's floor
    assert rows["metrics_reference"] == "training part + held-out part"
    assert rows["generator"]["texture_ratio"] > 0 and rows["baseline"]["texture_ratio"] > 0
    assert 1.0 < rows["real_heldout"]["texture_ratio_floor"] < 2.0
    assert 0 < rows["generator"]["style_loss"] < 10 and 0 < rows["baseline"]["style_loss"] < 10
    stft = g.generate_spec(2.0, seed=1)
    assert stft.is_complex()
    wave = g.invert(stft)
    assert abs(wave.shape[-1] - 2 * 22050) <= g.frontend.hop_length and torch.isfinite(wave).all()
    r = run(["synthesize.py", "generate", "--ckpt", str(tmp_path / "run" / "last.ckpt"), "--seconds", "2",
             "--out", str(tmp_path / "w.wav")])
    assert r.returncode == 0, r.stderr
    assert sf.info(tmp_path / "w.wav").frames > 40000
    r = run(["synthesize.py", "stream", "--ckpt", str(tmp_path / "run" / "last.ckpt"), "--seconds", "1",
             "--out", str(tmp_path / "s.wav")])
    assert r.returncode == 0, r.stderr
    assert "one inverse STFT" in r.stdout + r.stderr and "Griffin-Lim" not in r.stdout + r.stderr
    assert sf.info(tmp_path / "s.wav").frames == 22050


def test_callbacks_from_the_command_line_are_kept(tmp_path):
    """--trainer.callbacks adds to the project's own callbacks instead of being dropped."""
    out = tmp_path / "run"
    train(out, "--compare.enabled", "false", "--wandb", "off",
          "--trainer.log_every_n_steps", "1", "--trainer.callbacks+=pytorch_lightning.callbacks.LearningRateMonitor")
    metrics = list(out.rglob("metrics.csv"))
    assert metrics and "lr-Adam" in metrics[0].read_text().splitlines()[0]
    assert (out / "last.ckpt").is_file()  # the project's checkpoint callback still ran


def test_audio_terms_need_a_waveform_generator():
    with pytest.raises(ValueError, match="waveform domain"):
        tiny_module("texture", auditory_weight=1.0)


def test_old_checkpoints_load_and_removed_options_are_named(tiny_run, tmp_path):
    """A checkpoint from before the defaults became the recipe (no 'center', 'scale' ...) rebuilds the
    generator it was; one written with a removed option says which, in one line."""
    ckpt = torch.load(tiny_run / "last.ckpt", weights_only=True)
    hp = ckpt["hyper_parameters"]
    del hp["generator"]["center"], hp["generator"]["seed"]
    hp["generator"]["magnitude"], hp["generator"]["phase"] = "exp", "free"
    del hp["objective"]["auditory_segment_s"], hp["objective"]["tone_weight"]
    old = tmp_path / "old.ckpt"
    torch.save(ckpt, old)
    g = load_generator(old)
    assert g.generator.config.center is False and g.generate(0.5, n_iter=1).numel() > 0
    # what reads the settings later sees them as rebuilt: the old segments, no removed option
    assert g.hparams["objective"]["auditory_segment_s"] == 0.75 and "phase" not in g.hparams["generator"]
    assert g.hparams["objective"]["tone_weight"] == 0.0  # trained before the tone guard: judged without it
    hp["generator"]["magnitude"] = "softplus"
    torch.save(ckpt, old)
    with pytest.raises(CheckpointError, match="magnitude='softplus'"):
        load_generator(old)
    hp["generator"]["magnitude"] = "exp"
    hp["generator"]["phase"] = "advance"
    torch.save(ckpt, old)
    with pytest.raises(CheckpointError, match="phase='advance'"):
        load_generator(old)
    hp["generator"]["phase"] = "free"
    hp["generator"]["colour"] = "blue"
    torch.save(ckpt, old)
    with pytest.raises(CheckpointError, match="colour"):
        load_generator(old)


def test_resuming_an_old_checkpoint_trains_on_with_the_settings_it_was_written_with(tiny_run, tmp_path):
    """A run from before the tone guard, resumed with a config that does not name it, goes on without it
    (the new default would change its objective mid-run, and a spectrogram-domain one could not be built)."""
    ckpt = torch.load(tiny_run / "last.ckpt", weights_only=True)
    del ckpt["hyper_parameters"]["objective"]["tone_weight"]
    old = tmp_path / "old.ckpt"
    torch.save(ckpt, old)
    config = tmp_path / "tiny_then.yaml"  # the config as it was written then
    config.write_text(TINY.read_text().replace(", tone_weight: 0", ""))
    assert "tone_weight" not in config.read_text()
    out = tmp_path / "resumed"
    r = run(["train.py", "--config", str(config), "--out", str(out), "--ckpt_path", str(old),
             "--trainer.max_steps", str(ckpt["global_step"] + 2), "--compare.enabled", "false"])
    assert r.returncode == 0, r.stderr[-3000:]
    assert "predates model.objective.tone_weight: resuming with the value it trained with, 0.0 (not 3.0)" in r.stderr
    resumed = torch.load(out / "last.ckpt", weights_only=True)
    assert resumed["global_step"] == ckpt["global_step"] + 2
    assert resumed["hyper_parameters"]["objective"]["tone_weight"] == 0.0


def test_a_checkpoint_naming_a_removed_option_resumes_at_the_value_that_remains(tiny_run, tmp_path):
    """A run written while 'generator.magnitude' / 'phase' existed (at the values whose behaviour remains) trains on
    with the settings it was written with; the parser, which no longer knows those two, never sees them. Any other
    value is refused in one line."""
    ckpt = torch.load(tiny_run / "last.ckpt", weights_only=True)
    hp = ckpt["hyper_parameters"]
    hp["generator"]["magnitude"], hp["generator"]["phase"] = "exp", "free"
    hp["lr"] = 0.001  # not the config's: the checkpoint's settings must reach the resumed run
    hp["_instantiator"] = "pytorch_lightning.cli.instantiate_module"  # what Lightning may add to its checkpoints
    old = tmp_path / "old.ckpt"
    torch.save(ckpt, old)
    out = tmp_path / "resumed"
    args = ["train.py", "--config", str(TINY), "--out", str(out), "--ckpt_path", str(old),
            "--trainer.max_steps", str(ckpt["global_step"] + 2), "--compare.enabled", "false"]
    r = run(args)
    assert r.returncode == 0, r.stderr[-3000:]
    resumed = torch.load(out / "last.ckpt", weights_only=True)
    assert resumed["global_step"] == ckpt["global_step"] + 2
    assert resumed["hyper_parameters"]["lr"] == 0.001
    assert not {"magnitude", "phase"} & set(resumed["hyper_parameters"]["generator"])
    hp["generator"]["phase"] = "advance"
    torch.save(ckpt, old)
    r = run([*args[:4], str(tmp_path / "refused"), *args[5:]])
    assert r.returncode != 0 and "phase='advance'" in r.stderr and "Traceback" not in r.stderr


def test_wandb_run_is_named_resumed_and_kept_in_the_run_folder(tmp_path):
    out = tmp_path / "rain"
    train(out, "--trainer.max_steps", "3", "--compare.enabled", "false", "--trainer.log_every_n_steps", "1")
    train(out, "--compare.enabled", "false", "--ckpt_path", str(out / "last.ckpt"))
    run_id = (out / "wandb_run_id.txt").read_text().strip()
    runs = sorted((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(r.name.endswith(run_id) for r in runs)  # one W&B run, synced as one
    assert (out / "wandb" / "cache").is_dir()  # W&B's staging stays in the run folder
    first = sorted(out.glob("logs/version_*/metrics.csv"))[0].read_text().splitlines()[0]
    assert "train/loss" in first and "train/descriptor" in first  # the losses as CSV too, every term


def test_a_44k_stereo_clip_trains_and_generates_at_its_own_rate(tmp_path):
    """``--model.frontend.sample_rate 44100``: trained, sampled and generated at 44.1 kHz; the stereo input
    is mixed down, and the log says so in one line."""
    wave, sr = sf.read(ROOT / "data" / "fire.ogg")
    import librosa

    wave = librosa.resample(wave[: 3 * sr], orig_sr=sr, target_sr=44100)
    clip = tmp_path / "fire44k.wav"
    sf.write(clip, np.stack([wave, np.roll(wave, 4410)], axis=1), 44100)
    r = train(tmp_path / "run", "--data.audio", str(clip), "--model.frontend.sample_rate", "44100",
              "--compare.enabled", "false", "--wandb", "off", "--trainer.max_steps", "2")
    assert f"{clip}: 44100 Hz stereo -> 44100 Hz mono (texnet models one channel" in r.stderr
    assert sf.info(tmp_path / "run" / "samples" / "final.wav").samplerate == 44100
    out = tmp_path / "g.wav"
    r = run(["synthesize.py", "generate", "--ckpt", str(tmp_path / "run" / "last.ckpt"), "--seconds", "1",
             "--out", str(out)])
    assert r.returncode == 0, r.stderr
    info = sf.info(out)
    assert info.samplerate == 44100 and info.channels == 1 and abs(info.frames - 44100) <= 64
