"""A texture library: one generator per recording, for a folder or a list of clips, in one command.

    python -m texnet.library sounds/ more/rain.wav --out runs/library            # every GPU, or the CPUs
    python -m texnet.library sounds/ --out runs/library --evaluate                # + the texture ratio

Each clip trains through ``texnet train`` (the default recipe, or ``--config`` files merged in order) into
``<out>/<clip>/``; as many trainings run at once as there are GPUs (each on its own), or ``--jobs`` CPU
processes. Resumable: a clip whose training finished (``done.json``) is not trained again, and one that was
interrupted resumes from its ``last.ckpt``, both only with the settings they were trained with
(``library_settings.json``: the configs' texts, the arguments after ``--``); other settings are refused. The
summary (clip, steps, seconds and, with ``--evaluate``, the texture ratio of a 10 s output to the held-out half)
is printed and written to ``<out>/library.json``.

``--evaluate`` trains on each clip's first half only (``--data.holdout 0.5``), so that the second half
is unseen; without it a generator learns from the whole clip.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".mp3"}
EVAL_SECONDS = 10.0
SETTINGS_FILE = "library_settings.json"  # in each clip's run folder: what its generator is trained with
# training arguments that change how a run is logged or how fast it goes, not what it learns
UNTRAINED_ARGS = {"--wandb", "--threads", "--trainer.enable_progress_bar"}


def find_clips(sources: list[str]) -> list[Path]:
    """Audio files named directly, or found (not recursively) in named folders, in a stable order."""
    clips = []
    for s in map(Path, sources):
        if s.is_dir():
            clips += sorted(p for p in s.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        elif s.is_file():
            clips.append(s)
        else:
            raise ValueError(f"{s}: no such file or folder")
    if not clips:
        raise ValueError(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) in {sources}")
    return clips


def clip_names(clips: list[Path]) -> list[str]:
    """A run-directory name per clip: its stem made filesystem-safe, numbered where two clips share one."""
    names, seen = [], {}
    for c in clips:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", c.stem) or "clip"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return names


def _devices(jobs: int | None) -> tuple[int, list[dict[str, str]]]:
    """How many trainings at once, and each slot's extra environment (its GPU)."""
    import torch

    n_gpu = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n_gpu:
        slots = jobs or n_gpu
        return slots, [{"CUDA_VISIBLE_DEVICES": str(i % n_gpu)} for i in range(slots)]
    slots = jobs or 1
    return slots, [{} for _ in range(slots)]


def _evaluate(clip: Path, ckpt: Path) -> dict:
    """The texture ratio of a 10 s output (seed 0) to the clip's unseen half, by :func:`texnet.evaluation.evaluate`."""
    from .audio import load_audio
    from .evaluation import evaluate
    from .inference import load_generator

    gen = load_generator(ckpt)
    wave = gen.generate(EVAL_SECONDS, seed=0)
    report = evaluate(load_audio(clip, gen.sample_rate), [wave], gen.sample_rate)
    ratio = report["candidates"][0]["texture_ratio"]
    return {"texture_ratio": None if ratio is None else ratio["ratio"],
            "copy_score": report["candidates"][0]["copy_score"]["mean"]}


def training_settings(configs: list[str], train_args: list[str]) -> dict:
    """What a clip's generator is trained with, as reruns compare it: each config's name and a hash of its text
    (wherever it is installed; an edited file differs), in merge order, and the arguments after ``--`` as sorted
    (option, value) pairs, less those in :data:`UNTRAINED_ARGS`."""
    import hashlib

    pairs, i = [], 0
    while i < len(train_args):
        key, value = train_args[i], None
        if key.startswith("--") and "=" in key:
            key, value = key.split("=", 1)
        elif i + 1 < len(train_args) and not train_args[i + 1].startswith("--"):
            value, i = train_args[i + 1], i + 1
        i += 1
        if key not in UNTRAINED_ARGS:
            pairs.append([key, value])
    return {"configs": [[Path(c).stem, hashlib.sha256(Path(c).read_bytes()).hexdigest()[:12]] for c in configs],
            "train_args": sorted(pairs, key=str)}


def _settings_text(settings: dict) -> str:
    """Settings (:func:`training_settings`) in a message: the configs' names (and text hashes) and arguments."""
    names = ", ".join(f"{name} {digest}" for name, digest in settings.get("configs", []))
    args = " ".join(k if v is None else f"{k} {v}" for k, v in settings.get("train_args", []))
    return f"configs {names}" + (f"; -- {args}" if args else "")


def _last_line(log: Path) -> str:
    """The last line a failed training wrote (its one-line error), or what is missing."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "an empty log"


def _write_json(path: Path, obj) -> None:
    """Whole or not at all (a half-written done.json would stop every later run of the library)."""
    from .outputs import atomic_write

    text = json.dumps(obj, indent=2)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text), overwrite=True)


def check_inputs(args: argparse.Namespace, out: Path, configs: list[str]) -> list[Path]:
    """Everything a library run needs, checked before the first training starts: the clips (each one
    loadable: a bad clip fails the command in one line instead of its training an hour in), the configs,
    the counts and the output folder. Returns the clips."""
    from .audio import load_audio
    from .config import load_configs
    from .outputs import check_writable

    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a directory")
    check_writable(out)
    load_configs(configs)
    clips = find_clips(args.sources)
    for clip in clips:
        load_audio(clip)  # AudioError: missing, empty, silent, NaN, unreadable
    return clips


def build_parser(prog: str = "python -m texnet.library") -> argparse.ArgumentParser:
    from .cli import OneLineParser

    p = OneLineParser(prog=prog, description=__doc__.split("\n\n")[0],
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", help="audio files and/or folders of them")
    p.add_argument("--out", required=True, help="library folder: one run folder per clip, library.json")
    p.add_argument("--config", action="append", default=None,
                   help="training config(s), paths or bundled names, merged in order (default: quickstart_waveform)")
    p.add_argument("--jobs", type=int, help="trainings at once (default: one per GPU, else 1)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads per training (default 1)")
    p.add_argument("--evaluate", action="store_true", help="train on first halves; report the texture ratio")
    p.epilog = "Arguments after -- go to every train.py run (e.g. -- --trainer.max_steps 1000 --wandb off)."
    return p


def main(argv: list[str] | None = None, prog: str = "python -m texnet.library") -> int:
    from . import experiments as X

    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args, extra = build_parser(prog).parse_args(argv[:cut]), argv[cut + 1:]
    out = Path(args.out).resolve()
    from .resources import resolve_config

    try:  # configs absolute: the trainings run in another folder
        configs = [str(resolve_config(c).resolve()) for c in args.config or ["quickstart_waveform"]]
        clips = check_inputs(args, out, configs)
    except (ValueError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    slots, envs = _devices(args.jobs)
    holdout = "0.5" if args.evaluate else "0"
    # what a clip's generator is trained with: a rerun asking for anything else must not pass it off as its own
    settings = training_settings(configs, extra)
    jobs, names = [], clip_names(clips)
    for i, (clip, name) in enumerate(zip(clips, names)):
        run = out / name
        done = json.loads((run / "done.json").read_text()) if (run / "done.json").is_file() else {}
        # done.json written before the rename held train_fraction (= 1 - holdout)
        done_holdout = done.get("holdout", 1.0 - done.get("train_fraction", 1.0)) if done else None
        if done and abs(done_holdout - float(holdout)) > 1e-9:
            print(f"{prog}: error: {run} was trained with {done_holdout:g} of its clip held out, this run "
                  f"asks for {holdout} ({'with' if args.evaluate else 'without'} --evaluate): use another --out",
                  file=sys.stderr)
            return 2
        started = run / SETTINGS_FILE  # finished or interrupted alike (an older library's runs have none)
        if (done or (run / "last.ckpt").is_file()) and started.is_file():
            before = json.loads(started.read_text())
            if before != settings:
                print(f"{prog}: error: {run} was trained with other settings ({_settings_text(before)}) than this run "
                      f"asks for ({_settings_text(settings)}): use another --out, or remove {run} to train it again",
                      file=sys.stderr)
                return 2
        cmd = [sys.executable, "-m", "texnet", "train", *sum((["--config", c] for c in configs), []),
               "--data.audio", f"[{clip.resolve()}]", "--data.holdout", holdout, "--out", str(run),
               "--threads", str(args.threads), "--trainer.enable_progress_bar", "false", *extra]
        if (run / "last.ckpt").is_file() and not (run / "done.json").is_file():
            cmd += ["--ckpt_path", str(run / "last.ckpt")]  # interrupted: go on from where it stopped
        jobs.append(X.Job(name, cmd, run / "train.log", done_file=run / "done.json", env=envs[i % slots]))
    print(f"{len(clips)} clips, {slots} at a time ({'GPU' if envs[0] else 'CPU'}), into {out}", flush=True)
    for name in names:  # every clip checked: the ones to train say what they train with
        if not (out / name / "done.json").is_file():
            (out / name).mkdir(parents=True, exist_ok=True)
            _write_json(out / name / SETTINGS_FILE, settings)
    times = X.run_jobs(jobs, slots, threads=args.threads)
    rows = []
    for clip, name, job in zip(clips, names, jobs):
        run = out / name
        row = {"clip": str(clip), "run": str(run), "ok": job.rc == 0}
        if job.rc == 0 and name in times:  # trained now: record it, so a rerun skips it
            import torch

            steps = int(torch.load(run / "last.ckpt", map_location="cpu", weights_only=True)["global_step"])
            _write_json(run / "done.json", {"steps": steps, "seconds": times[name], "holdout": float(holdout)})
        if (run / "done.json").is_file():
            row.update(json.loads((run / "done.json").read_text()))
            if args.evaluate:
                row.update(_evaluate(clip, run / "last.ckpt"))
        rows.append(row)
    _write_json(out / "library.json", {"configs": configs, "rows": rows})
    print(X.markdown_table(["clip", "ok", "steps", "seconds", "texture ratio"],
                           [[Path(r["clip"]).name, r["ok"], r.get("steps", ""), X.fmt(r.get("seconds"), "{:.0f}"),
                             X.fmt(r.get("texture_ratio"))] for r in rows]))
    failed = [r for r in rows if not r["ok"]]
    for r in failed:
        log = Path(r["run"]) / "train.log"
        print(f"{prog}: {Path(r['clip']).name} failed: {_last_line(log)} (see {log})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
