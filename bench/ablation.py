#!/usr/bin/env python
"""Quality ablation: which recipe brings syntheses closest to their source (issue "Texture quality").

For each bundled texture, the first half of the clip is the target; each setting synthesises
``--seconds`` of texture and is judged by the auditory texture-statistics ratio against the UNSEEN second
half (:func:`texnet.metrics.texture_ratio`: 1.0 = as close as the recording is to itself; other
recordings score 1.2-18, median 4). Baselines (per-example optimisation) for every setting; generators
(``--train-steps`` > 0) for the settings named in ``--generator-settings``.

    python bench/ablation.py --clips rain fire --seconds 10            # CPU: slow, a few minutes per clip
    python bench/ablation.py --train-steps 600 --out /tmp/ablation     # GPU: all settings in minutes

Prints a markdown table (ratio per clip and setting, mean, wall time) and writes ablation.json to --out.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from texnet.audio import load_audio, save_wav  # noqa: E402
from texnet.descriptors import DescriptorConfig, build_descriptor  # noqa: E402
from texnet.frontends import FrontendConfig, STFTFrontend, build_frontend  # noqa: E402
from texnet.generators import GeneratorConfig  # noqa: E402
from texnet.metrics import copy_score, texture_ratio  # noqa: E402
from texnet.objectives import ObjectiveConfig, TextureObjective  # noqa: E402
from texnet.optimize import OptimizeConfig, run_baseline  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from bench_phase_free import independent_copy  # noqa: E402  (sibling bench script)

TEXTURES = ["rain", "wind", "fire", "stream", "crowd", "insects", "machine"]


@dataclass
class Setting:
    name: str
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    descriptor: DescriptorConfig = field(default_factory=DescriptorConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    domain: str = "spectrogram"
    wave_param: str = "samples"  # waveform domain: optimise the samples or the scaled STFT coefficients


def settings() -> list[Setting]:
    power = FrontendConfig(scale="power")
    multi = DescriptorConfig(n_filters=256, kernel_sizes=[3, 11, 31])
    return [
        Setting("spec, log1p|X|, gram (paper)", objective=ObjectiveConfig(statistic="gram")),
        Setting("spec, log1p|X|, mean+cov (default)"),
        Setting("spec, log1p power, mean+cov", frontend=power),
        Setting("spec, log1p power, widths 3/11/31", frontend=power, descriptor=multi),
        Setting("wave, log1p|X|, mean+cov", domain="waveform"),
        Setting("wave, log1p power, mean+cov", frontend=power, domain="waveform"),
        Setting("wave, log1p power, widths 3/11/31", frontend=power, descriptor=multi, domain="waveform"),
        Setting("wave, log1p power, STFT 128/512/2048/8192", frontend=power, domain="waveform",
                objective=ObjectiveConfig(resolutions=[128, 512, 2048, 8192])),
        Setting("wave, log1p power, STFT 128/512/2048/8192, widths 3/11/31", frontend=power, descriptor=multi,
                domain="waveform", objective=ObjectiveConfig(resolutions=[128, 512, 2048, 8192])),
        Setting("wave, log1p power, STFT 128/512/2048/8192, + log spectrum", frontend=power, domain="waveform",
                objective=ObjectiveConfig(resolutions=[128, 512, 2048, 8192], spectrum_weight=1.0)),
        Setting("wave, power whitened per bin, STFT 128/512/2048/8192", frontend=power, domain="waveform",
                objective=ObjectiveConfig(resolutions=[128, 512, 2048, 8192], band_whitening=1.0)),
        Setting("wave, power half-whitened per bin, STFT 128/512/2048/8192", frontend=power, domain="waveform",
                objective=ObjectiveConfig(resolutions=[128, 512, 2048, 8192], band_whitening=0.5)),
        Setting("wave, half-whitened, STFT 128/512/2048/8192, + auditory statistics", frontend=power,
                domain="waveform", objective=ObjectiveConfig(resolutions=[128, 512, 2048, 8192], band_whitening=0.5,
                                                             auditory_weight=1.0)),
        Setting("wave, half-whitened, STFT 128/512/2048/8192, + auditory statistics + log spectrum", frontend=power,
                domain="waveform", objective=ObjectiveConfig(resolutions=[128, 512, 2048, 8192], band_whitening=0.5,
                                                             auditory_weight=1.0, spectrum_weight=1.0)),
        Setting("as above, optimising scaled STFT coefficients (configs/baseline.yaml)", frontend=power,
                domain="waveform", wave_param="stft",
                objective=ObjectiveConfig(resolutions=[128, 512, 2048, 8192], band_whitening=0.5,
                                          auditory_weight=1.0, spectrum_weight=1.0)),
    ]


def baseline(s: Setting, wave: torch.Tensor, seconds: float, max_iter: int, device,
             seed: int = 0) -> tuple[torch.Tensor, float]:
    fe = build_frontend(s.frontend).to(device)
    obj = TextureObjective(build_descriptor(fe.n_freq, s.descriptor), s.objective).to(device)
    t0 = time.perf_counter()
    cfg = OptimizeConfig(max_iter=max_iter, progress=False, wave_param=s.wave_param, seed=seed)
    out = run_baseline(obj, fe, [wave.to(device)], seconds, config=cfg, domain=s.domain)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out.wave.float().cpu(), time.perf_counter() - t0


def generator(s: Setting, clip: Path, seconds: float, steps: int) -> tuple[torch.Tensor, float]:
    import pytorch_lightning as pl

    from texnet.data import TextureDataModule
    from texnet.module import TextureModule

    kind = "waveform" if s.domain == "waveform" else "texture"
    gcfg = GeneratorConfig(kind=kind, channels=96, dilations=[1, 2, 4, 8, 16, 32, 1, 2, 4, 8])
    module = TextureModule(s.frontend, s.descriptor, s.objective, gcfg, lr=2e-3)
    dm = TextureDataModule(audio=[str(clip)], train_fraction=0.5, crop_seconds=1.5, batch_size=4,
                           steps_per_epoch=steps + 1)
    t0 = time.perf_counter()
    trainer = pl.Trainer(max_steps=steps, accelerator="auto", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                         gradient_clip_val=1.0)
    trainer.fit(module, dm)
    module.eval()
    wave = module.generate_wave(module.frontend.frames_for_seconds(seconds), seed=0, n_iter=32).float().cpu()
    return wave, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", nargs="+", default=TEXTURES)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--max-iter", type=int, default=150)
    p.add_argument("--train-steps", type=int, default=0)
    p.add_argument("--generator-settings", nargs="+", type=int, default=[1, 2],
                   help="indices into the settings list to train generators for")
    p.add_argument("--only", nargs="*", type=int, help="baseline settings to run (indices; default all; none: generators only)")
    p.add_argument("--out", default="bench/ablation")
    p.add_argument("--save-audio", action="store_true", help="write each synthesis to --out as WAV")
    p.add_argument("--seed", type=int, default=0, help="the baselines' noise start")
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sets = settings()
    runs = [("baseline", i) for i in (args.only if args.only is not None else range(len(sets)))]
    if args.train_steps > 0:
        runs += [("generator", i) for i in args.generator_settings]
    results: dict[str, dict[str, dict]] = {}
    copy_fe = STFTFrontend()  # the copy score's spectrograms (n_fft 1024 / hop 256)

    def spec(w: torch.Tensor) -> torch.Tensor:
        return copy_fe(w)[0]
    for clip in args.clips:
        path = ROOT / "data" / f"{clip}.ogg"
        wave = load_audio(path)
        half = wave[: wave.shape[-1] // 2]
        indep = independent_copy(clip, args.seconds)  # the level of an independent excerpt: once per clip
        for kind, i in runs:
            s = sets[i]
            key = f"{kind}: {s.name}"
            if kind == "baseline":
                cand, secs = baseline(s, half, args.seconds, args.max_iter, device, args.seed)
            else:
                cand, secs = generator(s, path, args.seconds, args.train_steps)
            r = texture_ratio(wave, cand, 22050)
            copy = copy_score(spec(half), spec(cand))["mean"]  # against the source half
            if args.save_audio:
                save_wav(out / f"{clip}_{kind}{i}_seed{args.seed}.wav", cand, 22050, overwrite=True)
            results.setdefault(key, {})[clip] = {"ratio": r["ratio"], "seconds": secs, "copy": copy,
                                                 "copy_independent": indep,
                                                 **{k: v for k, v in r.items() if k.startswith("ratio_")}}
            print(f"{clip:8s} {key:50s} ratio {r['ratio']:.2f}  copy {copy:.2f} (independent {indep:.2f})  "
                  f"({secs:.1f} s)", flush=True)
            name = f"ablation_seed{args.seed}.json" if args.seed else "ablation.json"
            (out / name).write_text(json.dumps(results, indent=1))
    dev = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"\n### Texture-statistics ratio to the unseen half (1.0 = the recording itself; lower is better), "
          f"{args.seconds:.0f} s, device: {dev}\n")
    print("| setting | " + " | ".join(args.clips) + " | mean | mean s |")
    print("|---|" + "---|" * (len(args.clips) + 2))
    for key, per in results.items():
        vals = [per[c]["ratio"] for c in args.clips if c in per]
        secs = [per[c]["seconds"] for c in args.clips if c in per]
        print(f"| {key} | " + " | ".join(f"{per[c]['ratio']:.2f}" if c in per else "-" for c in args.clips)
              + f" | {sum(vals) / len(vals):.2f} | {sum(secs) / len(secs):.1f} |")


if __name__ == "__main__":
    main()
