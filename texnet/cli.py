"""``synthesize.py``: argument parsing for the synthesis commands; all work happens in the API it calls.

Every expected failure (bad audio, bad arguments, bad checkpoint) ends with exit code 2 and ONE line on
stderr, ``synthesize.py: error: <what>``, and leaves no output file behind.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

import torch

from .audio import AudioError, DEFAULT_SAMPLE_RATE

log = logging.getLogger("texnet")


class CLIError(Exception):
    """An expected, user-facing failure: printed as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line, ``prog: error: message (prog --help ...)``, exit code 2 (argparse
    prints the usage first, which is several lines for most commands)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} ('{self.prog} --help' lists the options)\n")


# Longest outputs made in one piece: beyond, memory grows past a workstation's (``stream`` has no limit)
MAX_GENERATE_SECONDS = 4 * 3600.0
MAX_OPTIMIZE_SECONDS = 600.0
# Phase retrieval iterations: defaults are 2-64; beyond this a command would only never end
MAX_GRIFFIN_LIM_ITERS = 10_000
MAX_SEED = 2**63  # torch.Generator seeds are 64-bit signed


def check_seed(seed: int, flag: str = "--seed") -> None:
    if not 0 <= seed < MAX_SEED:
        raise CLIError(f"{flag} must be in [0, 2**63), got {seed}")


def check_griffin_lim_iters(n: int | None) -> None:
    if n is not None and not 0 <= n <= MAX_GRIFFIN_LIM_ITERS:
        raise CLIError(f"--griffin-lim-iters must be in [0, {MAX_GRIFFIN_LIM_ITERS}], got {n}")


def check_weights(weights: list[float] | None, n_styles: int) -> None:
    """Mixing weights checked before any audio is loaded: one per style, finite, non-negative, positive sum."""
    if weights is None:
        return
    if len(weights) != n_styles:
        raise CLIError(f"--weights has {len(weights)} values for {n_styles} --style files: give one per style")
    if not (all(math.isfinite(w) and w >= 0 for w in weights) and sum(weights) > 0):
        raise CLIError(f"--weights must be finite and non-negative with a positive sum, got {weights}")


# ``optimize`` without --config: the quality baseline (waveform domain; see the file's header), bundled
DEFAULT_OPTIMIZE_CONFIG = "baseline"


def resolve_device(name: str) -> torch.device:
    """``auto`` (a GPU when there is one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``, checked up front."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise CLIError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise CLIError(f"--device {name}: no CUDA device here (torch {torch.__version__}); use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise CLIError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise CLIError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N")
    return device


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto",
                        help="auto (default: the GPU when there is one), cpu, cuda or cuda:N")


def _outputs(out: Path, overwrite: bool) -> tuple[Path, Path, Path]:
    """The .wav, .png and .json a command writes, refused before any work if one exists (or is a folder)."""
    from .outputs import check_outputs

    if out.suffix.lower() != ".wav":
        raise CLIError(f"{out}: output must be a .wav path")
    paths = (out, out.with_suffix(".png"), out.with_suffix(".json"))
    check_outputs(paths, overwrite)
    return paths


def cmd_optimize(args: argparse.Namespace) -> int:
    from .audio import load_audio, save_wav
    from .outputs import all_or_nothing
    from .config import from_section, load_configs, model_section
    from .descriptors import DescriptorConfig
    from .frontends import FrontendConfig, build_frontend
    from .generators import GeneratorConfig
    from .loss import ObjectiveConfig, build_objective
    from .optimize import OptimizeConfig, default_domain, run_baseline

    if args.content is None and not 0 < args.seconds <= MAX_OPTIMIZE_SECONDS:
        raise CLIError(f"--seconds must be positive and at most {MAX_OPTIMIZE_SECONDS:g}, got {args.seconds}")
    check_seed(args.seed)
    check_weights(args.weights, len(args.style))
    if args.max_iter is not None and args.max_iter < 1:
        raise CLIError(f"--max-iter must be >= 1, got {args.max_iter}")
    if args.time_budget is not None and not (math.isfinite(args.time_budget) and args.time_budget > 0):
        raise CLIError(f"--time-budget must be a positive number of seconds, got {args.time_budget}")
    if args.content_weight is not None and not (math.isfinite(args.content_weight) and args.content_weight >= 0):
        raise CLIError(f"--content-weight must be finite and >= 0, got {args.content_weight}")
    wav, png, js = _outputs(Path(args.out), args.overwrite)
    from .resources import resolve_config

    configs = [resolve_config(c) for c in args.config or [DEFAULT_OPTIMIZE_CONFIG]]
    config = " + ".join(str(c) for c in configs)
    cfg = load_configs(configs)
    fe_cfg = from_section(FrontendConfig, model_section(cfg, "frontend"), "model.frontend", kind=args.frontend)
    desc_cfg = from_section(DescriptorConfig, model_section(cfg, "descriptor"), "model.descriptor")
    obj_cfg = from_section(ObjectiveConfig, model_section(cfg, "objective"), "model.objective",
                           content_weight=args.content_weight)
    from_section(GeneratorConfig, model_section(cfg, "generator"), "model.generator")  # unused here; a typo is not
    opt_cfg = from_section(OptimizeConfig, cfg.get("optimize"), "optimize", seed=args.seed, max_iter=args.max_iter,
                           time_budget=args.time_budget, optimizer=args.optimizer, progress=not args.quiet)
    device = resolve_device(args.device)

    domain = args.domain or opt_cfg.domain or default_domain(fe_cfg.kind)
    if domain == "waveform" and fe_cfg.kind != "stft":
        raise CLIError("the waveform domain needs the differentiable STFT front end (not the CQT): for the CQT, "
                       "--domain spectrogram with a spectrogram config (e.g. configs/cqt.yaml)")
    frontend = build_frontend(fe_cfg)
    try:
        objective = build_objective(frontend, desc_cfg, obj_cfg, domain)
    except ValueError as e:
        raise CLIError(f"{config}: {e}") from None
    min_samples = objective.min_samples()
    # a conversion is said in one line, as train says it (the rate is the config's model.frontend.sample_rate)
    styles = [load_audio(p, fe_cfg.sample_rate, min_samples=min_samples, verbose=True, rate_option=None).to(device)
              for p in args.style]
    content = (load_audio(args.content, fe_cfg.sample_rate, min_samples=min_samples, verbose=True,
                          rate_option=None).to(device) if args.content else None)
    if device.type != "cpu" and fe_cfg.kind != "stft":
        raise CLIError("the CQT front end runs on the CPU (librosa): use --device cpu")
    out = run_baseline(objective.to(device), styles, args.seconds, args.weights, content, opt_cfg)
    from .reporting import save_figure, save_json, spectrogram_figure  # matplotlib: only once there is output

    specs = {f"style: {Path(p).name}": s for p, s in zip(args.style, out.style_specs)}
    if out.content_spec is not None:
        specs[f"content: {Path(args.content).name}"] = out.content_spec
    specs["result"] = out.result.spec
    r = out.result
    record = {
        "command": "optimize", "config": str(config), "domain": domain, "style": args.style, "weights": args.weights, "content": args.content,
        "seconds": out.wave.shape[-1] / fe_cfg.sample_rate, "frames": r.spec.shape[-1],
        "style_loss": r.style_loss, "content_loss": r.content_loss, "losses": r.losses, "times": r.times,
        "optimize_time_s": r.wall_time, "inversion_time_s": out.inversion_time, "stop_reason": r.stop_reason,
        "frontend": vars(fe_cfg), "descriptor": vars(desc_cfg), "objective": vars(obj_cfg), "optimize": vars(opt_cfg),
    }
    with all_or_nothing() as keep:
        keep(save_wav(wav, out.wave, fe_cfg.sample_rate, overwrite=args.overwrite))
        fig = spectrogram_figure(specs, frontend.frame_rate, frontend.frequencies(), title=f"baseline: {wav.name}")
        keep(save_figure(fig, png, overwrite=args.overwrite))
        keep(save_json(record, js, overwrite=args.overwrite))
    print(f"wrote {wav} ({record['seconds']:.1f} s), {png}, {js}; style loss {r.style_loss:.4g} after "
          f"{len(r.losses)} evaluations in {r.wall_time:.1f} s ({r.stop_reason})")
    return 0


def _load(args: argparse.Namespace):
    from .inference import load_generator

    return load_generator(args.ckpt, resolve_device(args.device))


def _duration(samples: int, sample_rate: int) -> str:
    """A length of audio as the messages give it: tenths of a second, or milliseconds below a second's tenth."""
    seconds = samples / sample_rate
    return f"{seconds:.1f} s" if seconds >= 0.1 else f"{1000 * seconds:.0f} ms"


def cmd_generate(args: argparse.Namespace) -> int:
    from .audio import save_wav
    from .outputs import all_or_nothing
    from .reporting import save_figure, save_json, spectrogram_figure

    if not 0 < args.seconds <= MAX_GENERATE_SECONDS:
        raise CLIError(f"--seconds must be positive and at most {MAX_GENERATE_SECONDS:g} (use 'stream' for longer), "
                       f"got {args.seconds}")
    if any(not 0 <= seed < MAX_SEED for seed in args.seed):
        raise CLIError(f"--seed values must be in [0, 2**63), got {args.seed}")
    if len(set(args.seed)) != len(args.seed):
        raise CLIError(f"--seed lists a seed twice: {args.seed}")
    check_griffin_lim_iters(args.griffin_lim_iters)
    outputs = {}
    for seed in args.seed:  # every file of every seed checked before any work
        out = Path(args.out) if len(args.seed) == 1 else Path(args.out).with_stem(f"{Path(args.out).stem}_seed{seed}")
        outputs[seed] = _outputs(out, args.overwrite)
    gen = _load(args)
    if gen.is_style:
        raise CLIError(f"{args.ckpt}: holds a style-transfer generator: use 'stylize --content AUDIO'")
    done = []
    with all_or_nothing() as keep:  # every seed's files, or none
        for seed in args.seed:
            wav, png, js = outputs[seed]
            t0 = time.perf_counter()
            spec = gen.generate_spec(args.seconds, seed=seed)
            wave = gen.invert(spec, n_iter=args.griffin_lim_iters, seed=seed,
                              length=gen.frontend.samples_for_seconds(args.seconds))
            total = time.perf_counter() - t0
            keep(save_wav(wav, wave, gen.sample_rate, overwrite=args.overwrite))
            picture, rate = gen.picture(spec)
            keep(save_figure(spectrogram_figure({f"generated seed {seed}": picture}, rate, gen.frontend.frequencies()),
                             png, overwrite=args.overwrite))
            keep(save_json({"command": "generate", "ckpt": args.ckpt, "seed": seed, "seconds": args.seconds,
                            "forward_s": gen.timings.forward, "inversion_s": gen.timings.inversion, "total_s": total},
                           js, overwrite=args.overwrite))
            done.append(f"wrote {wav} ({_duration(wave.shape[-1], gen.sample_rate)}, seed {seed}): forward pass "
                        f"{gen.timings.forward:.3f} s, inversion {gen.timings.inversion:.2f} s")
    print("\n".join(done))
    return 0


def cmd_stylize(args: argparse.Namespace) -> int:
    from .audio import load_audio, save_wav
    from .outputs import all_or_nothing
    from .reporting import save_figure, spectrogram_figure

    check_seed(args.seed)
    check_griffin_lim_iters(args.griffin_lim_iters)
    if not Path(args.content).exists():  # before the generator loads (the rest is checked once its rate is known)
        raise AudioError(args.content, "no such file")
    wav, png, _ = _outputs(Path(args.out), args.overwrite)
    gen = _load(args)
    if not gen.is_style:
        raise CLIError(f"{args.ckpt}: holds a texture generator, not a style-transfer one: use 'generate'")
    content = load_audio(args.content, gen.sample_rate, min_samples=gen.frontend.window_samples, verbose=True,
                         rate_option=None).to(gen.device)  # the generator's rate: no other
    spec = gen.stylize_spec(content, seed=args.seed)
    wave = gen.invert(spec, n_iter=args.griffin_lim_iters, seed=args.seed, length=content.shape[-1])
    with all_or_nothing() as keep:
        keep(save_wav(wav, wave, gen.sample_rate, overwrite=args.overwrite))
        stylised = gen.frontend.to_log(spec.abs()) if spec.is_complex() else spec
        keep(save_figure(spectrogram_figure({"content": gen.frontend(content)[0], "stylised": stylised},
                                            gen.frontend.frame_rate, gen.frontend.frequencies()), png,
                         overwrite=args.overwrite))
    print(f"wrote {wav} ({_duration(wave.shape[-1], gen.sample_rate)}): forward pass {gen.timings.forward:.3f} s, "
          f"inversion {gen.timings.inversion:.2f} s")
    return 0


# Commands that live in their own modules register here: each module has add_parser(subparsers).
EXTRA_COMMANDS = ("texnet.cli_stream", "texnet.cli_evaluate", "texnet.cli_export")


def build_parser(prog: str = "synthesize.py") -> argparse.ArgumentParser:
    """The synthesis commands' parser; ``prog``: the name its messages give (``texnet`` when run as that)."""
    p = OneLineParser(prog=prog, description="texnet: audio texture synthesis")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = p.add_subparsers(dest="command", required=True)

    o = sub.add_parser("optimize", help="per-example optimisation baseline: texture synthesis or style transfer")
    o.add_argument("--style", action="append", required=True, metavar="AUDIO",
                   help="style/texture source; repeat for a multi-texture")
    o.add_argument("--weights", type=float, nargs="+", help="one mixing weight per --style")
    o.add_argument("--content", metavar="AUDIO", help="content sound for style transfer (output keeps its length)")
    o.add_argument("--content-weight", type=float, help="weight of the content loss (default from config: 1.0)")
    o.add_argument("--seconds", type=float, default=10.0, help="texture length (ignored with --content)")
    o.add_argument("--out", required=True, help="output .wav; .png and .json are written next to it")
    o.add_argument("--config", action="append", help="YAML config or bundled config name, as train.py reads them "
                   "(repeat: merged in order); default: baseline, the waveform baseline (paper: the paper's)")
    o.add_argument("--frontend", choices=["stft", "cqt"], help="override the config's front end")
    o.add_argument("--domain", choices=["spectrogram", "waveform"],
                   help="optimise a spectrogram (then Griffin-Lim) or the waveform itself (phase-free); "
                        "default: the config's optimize.domain")
    o.add_argument("--optimizer", choices=["lbfgs", "adam"])
    o.add_argument("--max-iter", type=int)
    o.add_argument("--time-budget", type=float, help="stop after this many seconds")
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--overwrite", action="store_true")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    add_device_argument(o)
    o.set_defaults(func=cmd_optimize)

    g = sub.add_parser("generate", help="texture of any length from a trained generator, in one forward pass")
    g.add_argument("--ckpt", required=True, help="generator checkpoint (train.py's last.ckpt or best.ckpt)")
    g.add_argument("--seconds", type=float, default=60.0)
    g.add_argument("--seed", type=int, nargs="+", default=[0], help="one texture per seed (_seedN added to names)")
    g.add_argument("--out", required=True, help="output .wav; .png and .json are written next to it")
    g.add_argument("--griffin-lim-iters", type=int, help="phase retrieval iterations (default: checkpoint's)")
    g.add_argument("--overwrite", action="store_true")
    add_device_argument(g)
    g.set_defaults(func=cmd_generate)

    s = sub.add_parser("stylize", help="stylise a content sound with a style-transfer generator, in one pass")
    s.add_argument("--ckpt", required=True)
    s.add_argument("--content", required=True, metavar="AUDIO")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--griffin-lim-iters", type=int)
    s.add_argument("--overwrite", action="store_true")
    add_device_argument(s)
    s.set_defaults(func=cmd_stylize)

    import importlib

    for name in EXTRA_COMMANDS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        mod.add_parser(sub)
    return p


def dashed(argv: list[str]) -> list[str]:
    """Options spelt the trainer's way (``--max_iter``, ``--griffin_lim_iters``) as this parser's
    (``--max-iter``): the same flag names work for every command."""
    out = []
    for a in argv:
        name, eq, value = a.partition("=")
        out.append(name.replace("_", "-") + eq + value if a.startswith("--") else a)
    return out


def main(argv: list[str] | None = None, prog: str = "synthesize.py") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(dashed(list(sys.argv[1:] if argv is None else argv)))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    torch.set_grad_enabled(True)
    try:
        return args.func(args)
    except (AudioError, CLIError, ValueError, FileNotFoundError, OSError) as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
