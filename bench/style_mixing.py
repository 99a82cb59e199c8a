#!/usr/bin/env python
"""Style transfer and multi-texture mixing, measured: content kept against style taken, and where a mix sits.

    python bench/style_mixing.py --out bench/style           # tables (printed and JSON) and pictures
    python bench/style_mixing.py --quick --out /tmp/style    # a few steps and evaluations: the script runs

**Style transfer** (``--pairs content:style``, default speech:fire and drumloop:rain). The style is the FIRST
half of ``data/<style>.ogg``; the content is the SECOND half of ``data/<content>.ogg``, which the
style-transfer generator never trained on (it learns from crops of the content's first half). Outputs:
the baseline (``optimize --content``: the bundled baseline config) at several content weights, and the
style-transfer generators (``--style-recipe name=config``, default the phase-free ``configs/style_waveform.yaml``
and the paper's spectrogram-domain ``configs/style_speech_fire.yaml``, each trained on this pair) in one
forward pass.
Per output:

- *style taken*: the texture ratio to the style recording (its unseen half; 1.0 = as close as the recording
  to itself; the content itself scores its distance from the style);
- *content kept*: Pearson correlations with the content of the broadband log envelope (23 ms frames),
  of the onset strength (librosa: timing of events) and of the chromagram (librosa ``chroma_stft``: pitch
  classes, the tonal content); the style recording itself (its first half, cut to the content's length)
  against the content is the chance level.

The paper's yardstick (Huzaifah & Wyse 2019): style keeps timbre and loses events; content keeps the
harmonics and the timing.

**Mixing** (``--mix a:b``, default rain:fire): the baseline and the default waveform generator (the
quickstart's recipe) with the two first halves as targets, mixed with weights 0.7/0.3 and 0.3/0.7. Per
output, the texture-statistics distance (:func:`texnet.metrics.texture_distance_waves`) to each source's
unseen half and its place between them, ``d(out, a) / (d(out, a) + d(out, b))`` (0 at a, 1 at b); the
halves themselves are the ends.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from texnet import experiments as X
from texnet.audio import save_wav
from texnet.metrics import content_correlations, texture_distance_waves, texture_ratio

SR = X.SAMPLE_RATE
CONTENT_WEIGHTS = (0.1, 1.0, 10.0)
MIX_WEIGHTS = ((0.7, 0.3), (0.3, 0.7))
STYLE_RECIPES = ("phase-free=configs/style_waveform.yaml", "spectrogram=configs/style_speech_fire.yaml")
TEXTURE_RECIPE = X.ROOT / "configs" / "quickstart_waveform.yaml"


def halves(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    clip = X.load_clip(name, SR)
    cut = X.split(clip)
    return clip[:cut], clip[cut:]


def _wav(path: Path, wave: torch.Tensor) -> str:
    save_wav(path, wave, SR, subtype="FLOAT", overwrite=True)
    return str(path)


def _style_generator(recipe: str, style_file: str, content_file: str, steps: int | None):
    """The recipe's generator trained on this pair (its own data sizes; ``steps`` or its ``max_steps``).
    ``recipe``: a config, then optional ``dotted.key=value`` overrides (``model.objective.content_weight=1``)."""
    import yaml

    from texnet.config import load_yaml, merge

    path, *overrides = recipe.split()
    cfg = load_yaml(X.ROOT / path)
    for item in overrides:
        key, _, value = item.partition("=")
        nested = yaml.safe_load(value)
        for k in reversed(key.split(".")):
            nested = {k: nested}
        cfg = merge(cfg, nested)
    data = {**cfg.get("data", {}), "audio": [style_file], "content": [content_file]}
    steps = steps or cfg.get("trainer", {}).get("max_steps", 800)
    return X.fit_generator(X.module_kwargs(cfg), data, steps, accelerator="cpu")


def _texture_generator(files: list[str], weights: list[float], steps: int):
    data = {"audio": files, "weights": weights}  # the recipe's renders (the data defaults)
    return X.fit_generator(X.module_kwargs(TEXTURE_RECIPE), data, steps, accelerator="cpu")


def baseline_objective(content_weight: float = 1.0):
    """The bundled baseline config's objective (``optimize`` without ``--config``), this content weight."""
    from texnet.config import load_yaml

    cfg = load_yaml(X.ROOT / "configs" / "baseline.yaml")
    cfg["model"].setdefault("objective", {})["content_weight"] = content_weight
    return X.objective_from_config(cfg)


def style_pair(content_name: str, style_name: str, args, tmp: Path) -> tuple[list[dict], dict]:
    """Rows (one per output) and outputs ``{method: (samples,)}`` of one content + style pair."""
    style_a, _ = halves(style_name)
    content_train, content = halves(content_name)
    style_clip = X.load_clip(style_name, SR)
    rows, outputs = [], {}

    def row(method: str, wave: torch.Tensor, seconds: float | None = None) -> None:
        wave = wave[: content.shape[0]]
        r = {"pair": f"{content_name} + {style_name}", "method": method,
             "style_ratio": texture_ratio(style_clip, wave, SR)["ratio"], **content_correlations(content, wave, SR),
             "seconds": seconds}
        rows.append(r)
        outputs[method] = wave
        print(json.dumps(r), flush=True)

    row("content itself", content)
    row("style recording (chance)", style_a.repeat(-(-content.shape[0] // style_a.shape[0])))
    for w in args.content_weights:
        t = time.perf_counter()
        out = X.baseline(baseline_objective(w), style_a, None, content_wave=content, max_iter=args.max_iter, seed=0)
        row(f"baseline, content weight {w:g}", out.wave, time.perf_counter() - t)
    for item in args.style_recipe:
        name, _, recipe = item.partition("=")
        t = time.perf_counter()
        gen = _style_generator(recipe, _wav(tmp / f"{style_name}_a.wav", style_a),
                               _wav(tmp / f"{content_name}_a.wav", content_train), args.style_steps)
        trained = time.perf_counter() - t
        with torch.no_grad():
            t = time.perf_counter()
            wave = gen.stylize(content, seed=0)
            row(f"style-transfer generator, {name}", wave, time.perf_counter() - t)
        rows[-1]["train_seconds"] = trained
    return rows, outputs


def mix_rows(a: str, b: str, args, tmp: Path) -> tuple[list[dict], dict]:
    """Rows and outputs of the 0.7/0.3 and 0.3/0.7 mixes of ``a`` and ``b`` (baseline and generator)."""
    (a_first, a_unseen), (b_first, b_unseen) = halves(a), halves(b)
    files = [_wav(tmp / f"{a}_a.wav", a_first), _wav(tmp / f"{b}_a.wav", b_first)]
    objective = baseline_objective()
    rows, outputs = [], {}

    def row(method: str, weights, wave: torch.Tensor, seconds: float | None = None) -> None:
        da = texture_distance_waves(wave, a_unseen, SR)["score"]
        db = texture_distance_waves(wave, b_unseen, SR)["score"]
        r = {"mix": f"{a} {weights[0]:g} + {b} {weights[1]:g}", "method": method, f"d_{a}": da, f"d_{b}": db,
             "place": da / (da + db), "seconds": seconds}
        rows.append(r)
        outputs[f"{method} {weights[0]:g}/{weights[1]:g}"] = wave
        print(json.dumps(r), flush=True)

    row(f"{a}, its first half", (1, 0), a_first)
    row(f"{b}, its first half", (0, 1), b_first)
    for weights in MIX_WEIGHTS:
        t = time.perf_counter()
        out = _mix_baseline(objective, [a_first, b_first], list(weights), args)
        row("baseline", weights, out, time.perf_counter() - t)
    for weights in MIX_WEIGHTS:
        t = time.perf_counter()
        gen = _texture_generator(files, list(weights), args.texture_steps)
        trained = time.perf_counter() - t
        with torch.no_grad():
            row("generator", weights, gen.generate(args.seconds, seed=0))
        rows[-1]["train_seconds"] = trained
    return rows, outputs


def _mix_baseline(objective, waves, weights, args) -> torch.Tensor:
    from texnet.optimize import run_baseline

    cfg = X.optimize_config(max_iter=args.max_iter, seed=0)
    return run_baseline(objective.loss, waves, args.seconds, weights=weights, config=cfg).wave


def picture(outputs: dict, path: Path, title: str) -> None:
    from texnet.reporting import save_figure, spectrogram_figure

    specs = {k: X._judge_spec(w) for k, w in outputs.items()}
    freqs = torch.linspace(0, SR / 2, next(iter(specs.values())).shape[0])
    save_figure(spectrogram_figure(specs, SR / 256, freqs, title=title, columns=4), path)


def table(rows: list[dict], keys: list[str], first: str) -> str:
    lines = ["| " + " | ".join([first, "method", *keys]) + " |", "|" + "---|" * (len(keys) + 2)]
    for r in rows:
        cells = [f"{r[k]:.2f}" if isinstance(r.get(k), float) else ("" if r.get(k) is None else str(r[k])) for k in keys]
        lines.append("| " + " | ".join([r[first], r["method"], *cells]) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", nargs="+", default=["speech:fire", "drumloop:rain"], help="content:style")
    ap.add_argument("--mix", default="rain:fire", help="a:b, mixed 0.7/0.3 and 0.3/0.7")
    ap.add_argument("--content-weights", nargs="*", type=float, default=list(CONTENT_WEIGHTS),
                    help="the baseline's content weights (none: no baseline rows)")
    ap.add_argument("--max-iter", type=int, default=None, help="baseline evaluations (default: its own)")
    ap.add_argument("--style-steps", type=int, default=None, help="style-transfer generators' steps (default: "
                    "each recipe's max_steps)")
    ap.add_argument("--style-recipe", action="append", default=None, help="'name=config [dotted.key=value ...]'; "
                    "repeat (default: "
                    + ", ".join(STYLE_RECIPES) + ")")
    ap.add_argument("--no-mix", action="store_true", help="style transfer only")
    ap.add_argument("--texture-steps", type=int, default=170, help="mixing generator's steps")
    ap.add_argument("--seconds", type=float, default=10.0, help="mixing outputs")
    ap.add_argument("--quick", action="store_true", help="tiny budgets: check that the script runs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="bench/style")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.style_recipe = args.style_recipe or list(STYLE_RECIPES)
    if args.quick:
        args.max_iter, args.style_steps, args.texture_steps, args.seconds = 3, 2, 2, 3.0
        args.content_weights = args.content_weights[:1]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    style, mixes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for pair in args.pairs:
            content_name, _, style_name = pair.partition(":")
            rows, outputs = style_pair(content_name, style_name, args, Path(tmp))
            style += rows
            picture(outputs, out / f"style_{content_name}_{style_name}.png",
                    f"{content_name} (second half) in the style of {style_name} (first half)")
        a, _, b = args.mix.partition(":")
        if not args.no_mix:
            mixes, outputs = mix_rows(a, b, args, Path(tmp))
            picture(outputs, out / f"mix_{a}_{b}.png", f"{a} and {b} mixed")
    (out / "style_mixing.json").write_text(json.dumps({"style": style, "mix": mixes}, indent=1))
    print(table(style, ["style_ratio", "envelope", "onsets", "chroma", "seconds"], "pair"))
    if mixes:
        print()
        print(table(mixes, [f"d_{a}", f"d_{b}", "place", "seconds"], "mix"))


if __name__ == "__main__":
    main()
