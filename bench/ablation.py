#!/usr/bin/env python
"""Quality ablation: which recipe brings syntheses closest to their source.

For each bundled texture, the first half of the clip is the target; each setting synthesises
``--seconds`` of texture and is judged by the auditory texture-statistics ratio against the UNSEEN second
half (:func:`texnet.metrics.texture_ratio`: 1.0 = as close as the recording is to itself). Baselines
(per-example optimisation) for every setting; generators (``--train-steps`` > 0) for the settings named in
``--generator-settings``. Settings keep their numbers; those of options since deleted are gone (their
results are in bench/RESULTS.md's history).

    python bench/ablation.py --clips rain fire --seconds 10            # CPU: slow, minutes per clip
    python bench/ablation.py --only 16 --seed 0                        # the scaled-STFT waveform baseline
    python bench/ablation.py --train-steps 600 --out /tmp/ablation     # GPU: all settings

Prints a markdown table (ratio per clip and setting, mean, wall time) and writes ablation.json to --out.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from texnet import experiments as X
from texnet.audio import save_wav
from texnet.descriptors import DescriptorConfig
from texnet.frontends import FrontendConfig
from texnet.generators import GeneratorConfig
from texnet.metrics import texture_ratio

@dataclass
class Setting:
    name: str
    frontend: FrontendConfig
    descriptor: DescriptorConfig
    objective: object  # ObjectiveConfig
    domain: str = "spectrogram"


def settings() -> dict[int, Setting]:
    """Every setting spelled out (STFT 1024/256, 512 x 11 descriptor), whatever the library's defaults."""
    log1p = FrontendConfig(kind="stft", n_fft=1024, hop_length=256, scale="log1p")
    power = FrontendConfig(kind="stft", n_fft=1024, hop_length=256, scale="power")
    single = DescriptorConfig(n_filters=512, kernel_sizes=[11], seed=0)
    multi = DescriptorConfig(n_filters=256, kernel_sizes=[3, 11, 31], seed=0)

    def spec(statistic="mean_cov"):  # a spectrogram-domain objective: no audio terms
        return X.objective_config(statistic=statistic, resolutions=[], spectrum_weight=0.0, band_whitening=0.0,
                                  auditory_weight=0.0, tone_weight=0.0)

    baseline = Setting("wave, scaled STFT coefficients, power half-whitened, STFT 128/512/2048/8192, + auditory "
                       "statistics + log spectrum (the baseline before 16)", power, single,
                       X.objective_config(statistic="mean_cov", resolutions=[128, 512, 2048, 8192],
                                          band_whitening=0.5, auditory_weight=1.0, spectrum_weight=1.0),
                       domain="waveform")
    return {
        0: Setting("spec, log1p|X|, gram (paper)", log1p, single, spec("gram")),
        1: Setting("spec, log1p|X|, mean+cov", log1p, single, spec()),
        2: Setting("spec, log1p power, mean+cov", power, single, spec()),
        3: Setting("spec, log1p power, widths 3/11/31", power, multi, spec()),
        14: baseline,
        15: replace(baseline, name="as 14, the auditory term's modulation from 0.75 s segments (the baseline before 14)",
                    objective=replace(baseline.objective, auditory_segment_s=0.75)),
        16: replace(baseline, name="as 14 at STFT 128/512/2048 (configs/baseline.yaml)",
                    objective=replace(baseline.objective, resolutions=[128, 512, 2048])),
    }


def baseline(s: Setting, half: torch.Tensor, seconds: float, max_iter: int, device, seed: int):
    obj = X.build_objective_for(s.frontend, s.descriptor, s.objective, s.domain).to(device)
    t0 = time.perf_counter()
    out = X.baseline(obj, half.to(device), seconds, max_iter=max_iter, seed=seed)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out.wave.float().cpu(), time.perf_counter() - t0


def generator(s: Setting, texture: str, seconds: float, steps: int):
    kind = "waveform" if s.domain == "waveform" else "texture"
    model = {"frontend": s.frontend, "descriptor": s.descriptor, "objective": s.objective, "lr": 2e-3,
             "generator": GeneratorConfig(kind=kind, channels=96, dilations=[1, 2, 4, 8, 16, 32, 1, 2, 4, 8])}
    data = {"audio": [str(X.clip_path(texture))], "holdout": X.HOLDOUT, "crop_seconds": 1.5,
            "batch_size": 4}
    t0 = time.perf_counter()
    gen = X.fit_generator(model, data, steps)
    wave = gen.generate(seconds, seed=0, n_iter=32).float().cpu()
    return wave, time.perf_counter() - t0


def main() -> None:
    sets = settings()  # numbered as ever: 4-13 optimised the samples, an option since deleted
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", nargs="+", default=list(X.TEXTURES))
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--max-iter", type=int, default=None, help="baseline evaluations (default: its default budget)")
    p.add_argument("--train-steps", type=int, default=0)
    p.add_argument("--generator-settings", nargs="+", type=int, default=[1, 2], choices=tuple(sets),
                   help="settings to train generators for")
    p.add_argument("--only", nargs="*", type=int, choices=tuple(sets),
                   help="baseline settings to run (default all; none: generators only)")
    p.add_argument("--out", default="bench/ablation")
    p.add_argument("--save-audio", action="store_true", help="write each synthesis to --out as WAV")
    p.add_argument("--seed", type=int, default=0, help="the baselines' noise start")
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [("baseline", i) for i in (args.only if args.only is not None else sets)]
    if args.train_steps > 0:
        runs += [("generator", i) for i in args.generator_settings]
    results: dict[str, dict[str, dict]] = {}
    name = f"ablation_seed{args.seed}.json" if args.seed else "ablation.json"
    for clip_name in args.clips:
        clip = X.load_clip(clip_name)
        half = X.first_half(clip)
        indep = X.independent_copy(clip, args.seconds)  # the level of an independent excerpt
        for kind, i in runs:
            s = sets[i]
            key = f"{kind}: {s.name}"
            if kind == "baseline":
                cand, secs = baseline(s, half, args.seconds, args.max_iter, device, args.seed)
            else:
                cand, secs = generator(s, clip_name, args.seconds, args.train_steps)
            r = texture_ratio(clip, cand, X.SAMPLE_RATE)
            copy = X.copy_to_first_half(clip, cand)["mean"]
            if args.save_audio:
                save_wav(out / f"{clip_name}_{kind}{i}_seed{args.seed}.wav", cand, X.SAMPLE_RATE, overwrite=True)
            results.setdefault(key, {})[clip_name] = {"ratio": r["ratio"], "seconds": secs, "copy": copy,
                                                      "copy_independent": indep,
                                                      **{k: v for k, v in r.items() if k.startswith("ratio_")}}
            print(f"{clip_name:8s} {key:50s} ratio {r['ratio']:.2f}  copy {copy:.2f} (independent {indep:.2f})  "
                  f"({secs:.1f} s)", flush=True)
            (out / name).write_text(json.dumps(results, indent=1))
    dev = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"\n### Texture-statistics ratio to the unseen half (1.0 = the recording itself; lower is better), "
          f"{args.seconds:g} s, device: {dev}\n")
    rows = []
    for key, per in results.items():
        got = [c for c in args.clips if c in per]
        rows.append([key, *(X.fmt(per[c]["ratio"]) if c in per else "-" for c in args.clips),
                     X.fmt(X.mean(per[c]["ratio"] for c in got)), X.fmt(X.mean(per[c]["seconds"] for c in got), "{:.1f}")])
    print(X.markdown_table(["setting", *args.clips, "mean", "mean s"], rows))


if __name__ == "__main__":
    main()
