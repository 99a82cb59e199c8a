#!/usr/bin/env python
"""Fault probes (issue 20): bad inputs, bad arguments, bad checkpoints, faults and races against every command.

    OMP_NUM_THREADS=1 python bench/fault_probes.py                    # every probe; a table at the end
    OMP_NUM_THREADS=1 python bench/fault_probes.py -k stream -k ckpt  # the probes whose name holds a word

Each probe runs a command (or a few, for races and signals) in a folder of its own on tiny inputs
(configs/tiny.yaml; a 2-step checkpoint trained once). A refusal passes when it exits with status 2 and ONE
line on stderr, no traceback, and leaves no file made or changed; a success when it exits 0 and its outputs
are valid and unmixed. Run as root, every command loses the capability to ignore file permissions, so a
read-only folder is read-only to it as to any user. Exit status: 1 if a probe failed.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "configs" / "tiny.yaml")
PY = sys.executable
TRAIN = [PY, str(ROOT / "train.py"), "--config", TINY, "--wandb", "off", "--compare.enabled", "false"]
SYN = [PY, str(ROOT / "synthesize.py")]
TEXNET = [PY, "-m", "texnet"]
SR = 22050


@dataclass
class Result:
    rc: int | None
    stdout: str = ""
    stderr: str = ""
    wall: float = 0.0
    problems: list[str] = field(default_factory=list)


@dataclass
class Probe:
    name: str
    category: str  # input | argument | checkpoint | output | fault | race
    argv: list | None = None  # one command; None: ``runner`` does the work
    expect: str = "error"  # "error": exit 2, one line; "ok": exit 0; "interrupt" / "terminated": 130 / 143
    words: tuple = ()  # in the error line
    setup: Callable[[Path], None] | None = None
    check: Callable[[Path, Result], str | None] | None = None  # a problem with the outputs, or None
    runner: Callable[[Path], Result] | None = None
    timeout: float = 180
    fsize: int | None = None  # RLIMIT_FSIZE bytes: writes past it fail with EFBIG (a full disk)
    mid_work: bool = False  # the failure comes while working: the work's own log may precede the error line


# ------------------------------------------------------------------------------------------ running


def _drop_root_powers(fsize: int | None = None):
    """preexec_fn: no CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH after exec (root obeys file modes), and an
    optional file size limit whose SIGXFSZ is ignored, so an oversized write fails with EFBIG."""

    def fn():
        if os.geteuid() == 0:
            libc = ctypes.CDLL(None, use_errno=True)
            for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
                libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP: the exec'd root process lacks them
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background shell (nohup, &) would pass SIG_IGN on
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        os.setpgrp()

    return fn


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline",
            "WANDB_SILENT": "true", "PYTHONDONTWRITEBYTECODE": "1"}


def popen(argv, cwd: Path, fsize: int | None = None, stdout=subprocess.PIPE, text: bool = True) -> subprocess.Popen:
    return subprocess.Popen([str(a) for a in argv], cwd=cwd, env=env(), stdout=stdout, stderr=subprocess.PIPE,
                            text=text, preexec_fn=_drop_root_powers(fsize))


def run(argv, cwd: Path, timeout: float = 180, fsize: int | None = None) -> Result:
    t0 = time.perf_counter()
    p = popen(argv, cwd, fsize)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return Result(None, out, err, time.perf_counter() - t0, [f"timed out after {timeout:g} s"])
    return Result(p.returncode, out, err, time.perf_counter() - t0)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    files = {}
    for p in folder.rglob("*"):
        if p.is_symlink() and p.name in ("data", "configs"):
            continue
        if p.is_file() and "__pycache__" not in p.parts:
            st = p.stat()
            files[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
        elif p.is_dir() and not any(p.iterdir()):
            files[str(p.relative_to(folder)) + "/"] = (0, 0)
    return files


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.strip()]


def judge(probe: Probe, r: Result, before: dict, after: dict, work: Path) -> Result:
    lines = error_lines(r.stderr)
    if "Traceback (most recent call last)" in r.stderr:
        r.problems.append("traceback")
    changed = sorted(k for k in after if before.get(k) != after[k])
    temporaries = [k for k in after if Path(k).name.endswith(".tmp")]
    if temporaries:
        r.problems.append(f"temporary files left: {temporaries[:3]}")
    if probe.expect in ("error", "interrupt", "terminated"):
        want = {"error": 2, "interrupt": 130, "terminated": 143}[probe.expect]
        if r.rc != want:
            r.problems.append(f"exit {r.rc}, expected {want}")
        if len(lines) != 1 and not probe.mid_work:
            r.problems.append(f"{len(lines)} lines on stderr")
        last = lines[-1] if lines else ""
        missing = [w for w in probe.words if w.lower() not in last.lower()]
        if missing:
            r.problems.append(f"error line lacks {missing}")
        if "weights_only" in r.stderr:
            r.problems.append("quotes torch's weights_only advice")
        if changed and probe.check is None:
            r.problems.append(f"left/changed: {changed[:4]}")
    elif probe.expect == "ok" and r.rc != 0:
        r.problems.append(f"exit {r.rc}, expected 0")
    if probe.check is not None:
        try:
            problem = probe.check(work, r)
        except Exception as e:  # noqa: BLE001 - a broken output is a finding, not a crash of the prober
            problem = f"check failed: {type(e).__name__}: {e}"
        if problem:
            r.problems.append(problem)
    r.stderr_lines = len(lines)
    r.changed = changed
    return r


# ----------------------------------------------------------------------------------------- fixtures


class Fixtures:
    """Inputs shared by the probes (made once under ``folder``)."""

    def __init__(self, folder: Path):
        self.dir = folder
        a = folder / "audio"
        a.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        noise = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
        sf.write(a / "noise.wav", noise, SR)
        sf.write(a / "stereo.wav", np.stack([noise, noise[::-1]], 1), SR)
        sf.write(a / "silent.wav", np.zeros(2 * SR, np.float32), SR)
        nan = noise.copy()
        nan[100] = np.nan
        sf.write(a / "nan.wav", nan, SR, subtype="FLOAT")
        sf.write(a / "short.wav", noise[:200], SR)
        (a / "empty.wav").write_bytes(b"")
        (a / "garbage.wav").write_bytes(rng.bytes(5000))
        (a / "folder.wav").mkdir(exist_ok=True)
        (a / "text.wav").write_text("not audio\n")
        self.audio = a
        # a 2-step tiny training: the checkpoint every generator probe loads
        run_dir = folder / "run"
        if not (run_dir / "last.ckpt").is_file():
            r = run([*TRAIN, "--out", run_dir, "--trainer.max_steps", "2"], ROOT, timeout=600)
            if r.rc != 0:
                sys.exit(f"could not train the tiny checkpoint: {r.stderr[-2000:]}")
        self.ckpt = run_dir / "last.ckpt"
        self._checkpoints()

    def _checkpoints(self) -> None:
        import torch

        c = self.dir / "ckpt"
        c.mkdir(exist_ok=True)
        good = torch.load(self.ckpt, map_location="cpu", weights_only=True)
        (c / "empty.ckpt").write_bytes(b"")
        (c / "garbage.ckpt").write_bytes(np.random.default_rng(1).bytes(4000))
        data = self.ckpt.read_bytes()
        (c / "truncated.ckpt").write_bytes(data[: len(data) // 2])
        (c / "folder.ckpt").mkdir(exist_ok=True)
        torch.save({"weights": torch.zeros(3)}, c / "foreign.ckpt")

        def variant(name, edit):
            ck = {**good, "hyper_parameters": json.loads(json.dumps(good["hyper_parameters"])),
                  "state_dict": dict(good["state_dict"])}
            edit(ck)
            torch.save(ck, c / name)

        variant("unknown_hp.ckpt", lambda ck: ck["hyper_parameters"]["generator"].update(future_option=3))
        variant("missing_section.ckpt", lambda ck: ck["hyper_parameters"].pop("frontend"))
        variant("missing_key.ckpt", lambda ck: ck["hyper_parameters"]["generator"].pop("noise_channels"))
        variant("bad_value.ckpt", lambda ck: ck["hyper_parameters"]["generator"].update(kind="bogus"))
        variant("bad_type.ckpt", lambda ck: ck["hyper_parameters"]["frontend"].update(n_fft="big"))
        variant("other_format.ckpt", lambda ck: ck.update(texnet_format="texnet-generator-9"))
        variant("no_format.ckpt", lambda ck: ck.pop("texnet_format"))
        variant("no_state.ckpt", lambda ck: ck.pop("state_dict"))

        def shapes(ck):
            k = next(iter(ck["state_dict"]))
            ck["state_dict"][k] = torch.zeros(1)

        variant("mismatch.ckpt", shapes)
        variant("nan_weights.ckpt", lambda ck: [t.fill_(float("nan")) for t in ck["state_dict"].values()
                                                if t.is_floating_point()])
        # a pickle that runs code when loaded without weights_only: the marker must never appear
        marker = self.dir / "PWNED"

        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))

        torch.save({"texnet_format": "texnet-generator-1", "hyper_parameters": {}, "state_dict": {},
                    "x": Evil()}, c / "evil.ckpt")
        self.marker = marker
        self.ck = c


# --------------------------------------------------------------------------------------------- checks


def wav_ok(name: str, min_seconds: float = 0.0) -> Callable[[Path, Result], str | None]:
    def check(work: Path, r: Result) -> str | None:
        p = work / name
        if not p.is_file():
            return f"{name} missing"
        try:
            with wave.open(str(p)) as w:
                n = w.getnframes()
                sr = w.getframerate()
        except Exception as e:  # noqa: BLE001
            return f"{name} unreadable ({e})"
        if 44 + 2 * n > p.stat().st_size:
            return f"{name}: header says {n} frames, file holds fewer"
        if n < round(min_seconds * sr):
            return f"{name}: {n / sr:.2f} s, expected >= {min_seconds}"
        return None

    return check


def all_of(*checks) -> Callable[[Path, Result], str | None]:
    def check(work, r):
        for c in checks:
            problem = c(work, r)
            if problem:
                return problem
        return None

    return check


def nothing_left(*keep: str) -> Callable[[Path, Result], str | None]:
    def check(work, r):
        extra = sorted(set(snapshot(work)) - set(keep) - {k for k in snapshot(work) if k.startswith(keep)}) \
            if keep else sorted(snapshot(work))
        return f"left: {extra[:4]}" if extra else None

    return check


def quiet_stderr(work: Path, r: Result) -> str | None:
    lines = error_lines(r.stderr)
    return f"stderr not empty: {lines[:2]}" if lines else None


def json_field(name: str, key: str, expected) -> Callable[[Path, Result], str | None]:
    def check(work, r):
        p = work / name
        if not p.is_file():
            return f"{name} missing"
        got = json.loads(p.read_text())
        for k in key.split("."):
            got = got[k]
        got = len(got) if isinstance(got, list) else got
        return None if got == expected else f"{name}: {key} = {got}, expected {expected}"

    return check


# ------------------------------------------------------------------------------------- custom runners


def signal_after(argv, work: Path, sig: int, when: Callable[[], bool], timeout: float = 120,
                 stdout=subprocess.PIPE) -> Result:
    """Start ``argv``, wait until ``when()`` holds, send ``sig``, wait for the end."""
    t0 = time.perf_counter()
    p = popen(argv, work, stdout=stdout)
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and p.poll() is None and not when():
            time.sleep(0.1)
        if p.poll() is None:
            p.send_signal(sig)
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return Result(None, out or "", err, time.perf_counter() - t0, ["did not stop after the signal"])
    return Result(p.returncode, out or "", err, time.perf_counter() - t0)


def grows(path: Path, size: int) -> Callable[[], bool]:
    return lambda: path.exists() and path.stat().st_size >= size


def race(argvs, work: Path, timeout: float = 180) -> list[Result]:
    procs = [popen(a, work) for a in argvs]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        results.append(Result(p.returncode, out, err))
    return results


def race_outcome(results: list[Result]) -> Result:
    """Of racing writers exactly one succeeds, every other refuses in one line (exit 2)."""
    ok = [r for r in results if r.rc == 0]
    refused = [r for r in results if r.rc == 2 and len(error_lines(r.stderr)) == 1
               and "Traceback" not in r.stderr]
    r = Result(0 if len(ok) == 1 and len(refused) == len(results) - 1 else 1,
               "\n".join(x.stdout for x in results), "\n".join(x.stderr for x in results if x.rc != 0))
    if r.rc:
        r.problems.append(f"exits {[x.rc for x in results]}")
    return r


# ------------------------------------------------------------------------------------------- probes


def probes(fx: Fixtures) -> list[Probe]:
    A, C, ck = fx.audio, fx.ckpt, fx.ck
    P: list[Probe] = []

    def add(*a, **k):
        P.append(Probe(*a, **k))

    bad_audio = {"missing": ("no_such.wav", "no such file"), "empty": (A / "empty.wav", "empty"),
                 "silent": (A / "silent.wav", "silent"), "nan": (A / "nan.wav", "NaN"),
                 "short": (A / "short.wav", "too short"), "folder": (A / "folder.wav", "directory"),
                 "garbage": (A / "garbage.wav", "not a readable audio"), "text": (A / "text.wav", "not a readable")}

    # ---- train
    T = TRAIN
    for kind, (path, words) in bad_audio.items():
        add(f"train audio {kind}", "input", [*T, "--out", "run", "--data.audio", path], words=(words,))
    add("train content missing", "input", [*T, "--out", "run", "--data.content", "[no_such.wav]"], words=("no such",))
    add("train bad flag", "argument", [*T, "--out", "run", "--bogus", "1"], words=("--bogus",))
    add("train bad type", "argument", [*T, "--out", "run", "--trainer.max_steps", "abc"], words=("max_steps",))
    add("train config missing", "argument", [*T, "--out", "run", "--config", "no_such.yaml"], words=("no_such.yaml",))

    def bad_yaml(work):
        (work / "bad.yaml").write_text("model: [unclosed\n")

    add("train config bad yaml", "argument", [*T, "--out", "run", "--config", "bad.yaml"], setup=bad_yaml,
        check=nothing_left("bad.yaml"))

    def unknown_key(work):
        (work / "unk.yaml").write_text("model:\n  generator: {future_option: 3}\n")

    add("train config unknown key", "argument", [*T, "--out", "run", "--config", "unk.yaml"], setup=unknown_key,
        words=("future_option",), check=nothing_left("unk.yaml"))
    add("train weights count", "argument", [*T, "--out", "run", "--data.weights", "[1, 2]"], words=("weights",))
    two = "[data/rain.ogg, data/fire.ogg]"
    add("train weights nan", "argument", [*T, "--out", "run", "--data.audio", two, "--data.weights", "[1, .nan]"],
        words=("weights",))
    add("train weights negative", "argument", [*T, "--out", "run", "--data.audio", two, "--data.weights", "[1, -1]"],
        words=("weights",))
    add("train weights zero", "argument", [*T, "--out", "run", "--data.audio", two, "--data.weights", "[0, 0]"],
        words=("weights",))
    add("train crop 0", "argument", [*T, "--out", "run", "--data.crop_seconds", "0"], words=("crop_seconds",))
    add("train crop negative", "argument", [*T, "--out", "run", "--data.crop_seconds", "-1"], words=("crop_seconds",))
    add("train crop inf", "argument", [*T, "--out", "run", "--data.crop_seconds", "inf"], words=("crop_seconds",))
    add("train batch 0", "argument", [*T, "--out", "run", "--data.batch_size", "0"], words=("batch_size",))
    add("holdout 0.95", "argument", [*T, "--out", "run", "--data.holdout", "0.95"], words=("holdout",))
    add("train max_steps -5", "argument", [*T, "--out", "run", "--trainer.max_steps", "-5"], words=("max_steps",))
    add("train lr nan", "argument", [*T, "--out", "run", "--model.lr", "nan"], words=("lr",))
    add("train threads 0", "argument", [*T, "--out", "run", "--threads", "0"], words=("threads",))
    add("train accelerator gpu", "argument", [*T, "--out", "run", "--trainer.accelerator", "gpu"], words=("gpu",))
    add("train generator kind", "argument", [*T, "--out", "run", "--model.generator.kind", "bogus"],
        words=("kind",))
    add("train n_fft 0", "argument", [*T, "--out", "run", "--model.frontend.n_fft", "0"], words=("n_fft",))
    add("train samples seconds -1", "argument", [*T, "--out", "run", "--samples.seconds", "-1"],
        words=("seconds",))
    add("train wandb bogus", "argument", [*T, "--out", "run", "--wandb", "bogus"], words=("wandb",))

    def file_out(work):
        (work / "run").write_text("mine")

    add("train out is a file", "output", [*T, "--out", "run"], setup=file_out, words=("not a directory",))

    def readonly(work):
        (work / "ro").mkdir()
        (work / "ro").chmod(0o555)

    add("train out unwritable", "output", [*T, "--out", "ro/run"], setup=readonly, words=("ro", "cannot write"))

    def finished(work):
        shutil.copytree(C.parent, work / "run", ignore=shutil.ignore_patterns("logs", "samples"))

    add("train into a finished run", "output", [*T, "--out", "run"], setup=finished, words=("holds a run",))
    add("train --overwrite", "output", [*T, "--out", "run", "--overwrite", "--trainer.max_steps", "3"],
        expect="ok", setup=finished, check=lambda w, r: _step(w / "run" / "last.ckpt", 3))
    add("train resume", "output", [*T, "--out", "run", "--ckpt_path", "run/last.ckpt", "--trainer.max_steps", "4"],
        expect="ok", setup=finished, check=lambda w, r: _step(w / "run" / "last.ckpt", 4))
    for kind in ("garbage", "folder", "foreign", "truncated", "evil"):
        add(f"train resume ckpt {kind}", "checkpoint", [*T, "--out", "run", "--ckpt_path", ck / f"{kind}.ckpt"],
            words=(f"{kind}.ckpt",))
    add("train resume ckpt missing", "checkpoint", [*T, "--out", "run", "--ckpt_path", "no_such.ckpt"],
        words=("no_such.ckpt",))
    add("train fsize", "fault", [*T, "--out", "run", "--trainer.max_steps", "3"], fsize=30_000,
        words=("too large",), mid_work=True)
    add("train SIGINT", "fault", runner=lambda w: signal_after([*T, "--out", "run", "--trainer.max_steps", "100000"],
                                                              w, signal.SIGINT, grows(w / "run" / "last.ckpt", 1)),
        expect="interrupt", words=("--ckpt_path",), mid_work=True,
        check=lambda w, r: _step(w / "run" / "last.ckpt", None))
    add("train SIGTERM", "fault", runner=lambda w: signal_after([*T, "--out", "run", "--trainer.max_steps", "100000"],
                                                               w, signal.SIGTERM, grows(w / "run" / "last.ckpt", 1)),
        expect="terminated", words=("--ckpt_path",), mid_work=True,
        check=lambda w, r: _step(w / "run" / "last.ckpt", None))
    add("train kill -9 then resume", "fault", runner=_kill_and_resume, expect="ok",
        check=lambda w, r: _step(w / "run" / "last.ckpt", 12))
    add("train race on one --out", "race", runner=lambda w: race_outcome(race(
        [[*T, "--out", "run", "--trainer.max_steps", "6"]] * 2, w)), expect="ok",
        check=lambda w, r: _step(w / "run" / "last.ckpt", 6))

    # ---- optimize (tiny config: seconds of work)
    O = [*SYN, "optimize", "--config", TINY, "--max-iter", "2", "--quiet"]
    for kind, (path, words) in bad_audio.items():
        add(f"optimize style {kind}", "input", [*O, "--style", path, "--out", "o.wav"], words=(words,))
    add("optimize content silent", "input", [*O, "--style", A / "noise.wav", "--content", A / "silent.wav",
                                             "--out", "o.wav"], words=("silent",))
    add("optimize stereo ok", "input", [*O, "--style", A / "stereo.wav", "--seconds", "1", "--out", "o.wav"],
        expect="ok", check=wav_ok("o.wav", 0.9))
    S = ["--style", A / "noise.wav"]
    for v in ("0", "-1", "inf", "nan", "1e9"):
        add(f"optimize seconds {v}", "argument", [*O, *S, "--seconds", v, "--out", "o.wav"], words=("--seconds",))
    for v in ("-1", str(2**64)):
        add(f"optimize seed {v[:6]}", "argument", [*O, *S, "--seed", v, "--out", "o.wav"], words=("--seed",))
    two_s = [*S, "--style", "data/fire.ogg"]
    for v in (["1"], ["1", "nan"], ["1", "-1"], ["0", "0"], ["1", "inf"]):
        add(f"optimize weights {' '.join(v)}", "argument", [*O, *two_s, "--weights", *v, "--out", "o.wav"],
            words=("weights",))
    for flag, v in (("--max-iter", "0"), ("--max-iter", "-3"), ("--time-budget", "-1"), ("--time-budget", "nan"),
                    ("--content-weight", "nan"), ("--content-weight", "-1")):
        add(f"optimize {flag} {v}", "argument", [*O, *S, flag, v, "--out", "o.wav"], words=(flag,))
    add("optimize bad flag", "argument", [*O, *S, "--bogus", "--out", "o.wav"], words=("--bogus",))
    add("optimize bad type", "argument", [*O, *S, "--seconds", "ten", "--out", "o.wav"], words=("--seconds",))
    add("optimize config missing", "argument", [*SYN, "optimize", "--config", "no.yaml", *S, "--out", "o.wav"],
        words=("no.yaml",))
    add("optimize config bad yaml", "argument", [*SYN, "optimize", "--config", "bad.yaml", *S, "--out", "o.wav"],
        setup=bad_yaml, check=nothing_left("bad.yaml"))
    add("optimize config unknown key", "argument", [*SYN, "optimize", "--config", "unk.yaml", *S, "--out", "o.wav"],
        setup=unknown_key, words=("future_option",), check=nothing_left("unk.yaml"))
    add("optimize cqt waveform", "argument", [*O, *S, "--frontend", "cqt", "--domain", "waveform", "--out", "o.wav"],
        words=("waveform",))
    add("optimize device bogus", "argument", [*O, *S, "--device", "tpu", "--out", "o.wav"], words=("--device",))
    add("optimize out not wav", "output", [*O, *S, "--out", "o.mp3"], words=(".wav",))

    def out_dir(work):
        (work / "o.wav").mkdir()

    add("optimize out is a folder", "output", [*O, *S, "--out", "o.wav"], setup=out_dir, words=("directory",))
    add("optimize out unwritable", "output", [*O, *S, "--out", "ro/o.wav"], setup=readonly,
        words=("ro", "cannot write"))

    def existing_json(work):
        (work / "o.json").write_text("precious")

    add("optimize json exists", "output", [*O, *S, "--out", "o.wav"], setup=existing_json, words=("o.json",))
    add("optimize max-iter 2 counts", "argument", [*O, *S, "--seconds", "1", "--out", "o.wav"], expect="ok",
        check=json_field("o.json", "losses", 2))
    add("optimize nan audio weights first", "argument", [*O, "--style", A / "nan.wav", "--style", A / "noise.wav",
                                                         "--weights", "1", "nan", "--out", "o.wav"],
        words=("weights",))
    add("optimize fsize", "fault", [*O, *S, "--seconds", "3", "--out", "o.wav"], fsize=60_000, words=("o.",))
    add("optimize race", "race", runner=lambda w: race_outcome(race(
        [[*O, *S, "--seconds", "1", "--seed", str(s), "--out", "o.wav"] for s in (1, 2)], w)), expect="ok",
        check=_consistent_json_wav("o", lambda out, seed: [*O, *S, "--seconds", "1", "--seed", seed, "--out", out]))

    # ---- generate
    G = [*SYN, "generate", "--griffin-lim-iters", "1"]
    for name in ("missing", "folder", "empty", "garbage", "truncated", "foreign", "evil", "unknown_hp",
                 "missing_section", "missing_key", "bad_value", "bad_type", "other_format", "no_format", "no_state",
                 "mismatch", "nan_weights"):
        path = "no_such.ckpt" if name == "missing" else ck / f"{name}.ckpt"
        words = {"folder": ("directory",), "unknown_hp": ("future_option",), "missing_section": ("frontend",),
                 "other_format": ("texnet-generator-9",), "evil": ("evil.ckpt",)}.get(name, (Path(path).name,))
        add(f"generate ckpt {name}", "checkpoint", [*G, "--ckpt", path, "--seconds", "1", "--out", "g.wav"],
            words=words, check=(lambda w, r: f"pickled code ran: {fx.marker}" if fx.marker.exists() else None)
            if name == "evil" else None)
    GC = [*G, "--ckpt", C]
    for v in ("0", "-1", "inf", "nan", "1e9"):
        add(f"generate seconds {v}", "argument", [*GC, "--seconds", v, "--out", "g.wav"], words=("--seconds",))
    for v in (["-1"], [str(2**64)], ["1", "1"]):
        add(f"generate seed {' '.join(v)[:6]}", "argument", [*GC, "--seed", *v, "--out", "g.wav"], words=("--seed",))
    add("generate griffin -1", "argument", [*SYN, "generate", "--ckpt", C, "--griffin-lim-iters", "-1",
                                            "--out", "g.wav"], words=("--griffin-lim-iters",))
    add("generate griffin 1e9", "argument", [*SYN, "generate", "--ckpt", C, "--griffin-lim-iters", "1000000000",
                                             "--out", "g.wav"], words=("--griffin-lim-iters",))
    add("generate device cuda:7", "argument", [*GC, "--device", "cuda:7", "--out", "g.wav"], words=("--device",))
    add("generate missing --out", "argument", [*GC], words=("--out",))
    add("generate out unwritable", "output", [*GC, "--seconds", "1", "--out", "ro/g.wav"], setup=readonly,
        words=("ro", "cannot write"))

    def seed2_exists(work):
        (work / "g_seed2.png").write_bytes(b"precious")

    add("generate one seed's png exists", "output", [*GC, "--seconds", "1", "--seed", "1", "2", "--out", "g.wav"],
        setup=seed2_exists, words=("g_seed2.png",))
    add("generate ok", "output", [*GC, "--seconds", "2", "--seed", "1", "2", "--out", "g.wav"], expect="ok",
        check=all_of(wav_ok("g_seed1.wav", 1.9), wav_ok("g_seed2.wav", 1.9), json_field("g_seed2.json", "seed", 2)))
    add("generate fsize", "fault", [*GC, "--seconds", "3", "--out", "g.wav"], fsize=60_000, words=("g.",))
    add("generate SIGINT", "fault", runner=lambda w: signal_after([*GC, "--seconds", "3000", "--out", "g.wav"], w,
                                                                 signal.SIGINT, _after(8.0)),
        expect="interrupt", check=nothing_left())
    add("generate race", "race", runner=lambda w: race_outcome(race(
        [[*GC, "--seconds", "1", "--seed", str(s), "--out", "g.wav"] for s in (1, 2)], w)), expect="ok",
        check=_consistent_json_wav("g", lambda out, seed: [*GC, "--seconds", "1", "--seed", seed, "--out", out]))

    # ---- stylize
    Y = [*SYN, "stylize", "--griffin-lim-iters", "1"]
    add("stylize texture ckpt", "checkpoint", [*Y, "--ckpt", C, "--content", A / "noise.wav", "--out", "y.wav"],
        words=("style",))
    add("stylize ckpt garbage", "checkpoint", [*Y, "--ckpt", ck / "garbage.ckpt", "--content", A / "noise.wav",
                                               "--out", "y.wav"], words=("garbage.ckpt",))
    add("stylize content missing", "input", [*Y, "--ckpt", C, "--content", "no_such.wav", "--out", "y.wav"],
        words=("no such",))
    add("stylize seed -1", "argument", [*Y, "--ckpt", C, "--content", A / "noise.wav", "--seed", "-1",
                                        "--out", "y.wav"], words=("--seed",))
    add("stylize out not wav", "output", [*Y, "--ckpt", C, "--content", A / "noise.wav", "--out", "y.flac"],
        words=(".wav",))

    # ---- stream
    ST = [*SYN, "stream", "--ckpt", C, "--quiet", "--block-seconds", "0.25"]
    for v in ("-1", "inf", "nan"):
        add(f"stream seconds {v}", "argument", [*ST, "--seconds", v, "--out", "s.wav"], words=("--seconds",))
    for v in ("0", "1e12", "nan"):
        add(f"stream block {v}", "argument", [*SYN, "stream", "--ckpt", C, "--block-seconds", v, "--out", "s.wav"],
            words=("--block-seconds",))
    add("stream seconds over a WAV", "argument", [*ST, "--seconds", "1e6", "--out", "s.wav"], words=("--seconds",))
    add("stream seed -1", "argument", [*ST, "--seed", "-1", "--out", "s.wav"], words=("--seed",))
    add("stream griffin -1", "argument", [*ST, "--griffin-lim-iters", "-1", "--out", "s.wav"],
        words=("--griffin-lim-iters",))
    add("stream ckpt garbage", "checkpoint", [*SYN, "stream", "--ckpt", ck / "garbage.ckpt", "--out", "s.wav"],
        words=("garbage.ckpt",))
    add("stream ckpt folder", "checkpoint", [*SYN, "stream", "--ckpt", ck / "folder.ckpt", "--out", "s.wav"],
        words=("directory",))
    add("stream out not wav", "output", [*ST, "--out", "s.raw"], words=(".wav",))
    add("stream out unwritable", "output", [*ST, "--seconds", "1", "--out", "ro/s.wav"], setup=readonly,
        words=("ro", "cannot write"))

    def wav_exists(work):
        (work / "s.wav").write_bytes(b"precious")

    add("stream out exists", "output", [*ST, "--out", "s.wav"], setup=wav_exists, words=("exists",))
    add("stream 2 s", "output", [*ST, "--seconds", "2", "--out", "s.wav"], expect="ok",
        check=all_of(wav_ok("s.wav", 2.0), quiet_stderr))
    add("stream progress bar ends cleanly", "output", [*SYN, "stream", "--ckpt", C, "--seconds", "1.1",
                                                       "--block-seconds", "0.25", "--out", "s.wav"], expect="ok",
        check=all_of(wav_ok("s.wav", 1.1), lambda w, r: "clamping" in r.stderr and "tqdm warning" or None))
    add("stream SIGINT", "fault", runner=lambda w: signal_after([*ST, "--out", "s.wav"], w, signal.SIGINT,
                                                               grows(w / "s.wav", 44 + 2 * SR)),
        expect="ok", check=wav_ok("s.wav", 1.0))
    add("stream SIGTERM", "fault", runner=lambda w: signal_after([*ST, "--out", "s.wav"], w, signal.SIGTERM,
                                                                grows(w / "s.wav", 44 + 2 * SR)),
        expect="ok", check=wav_ok("s.wav", 1.0))
    add("stream kill -9", "fault", runner=lambda w: signal_after([*ST, "--out", "s.wav"], w, signal.SIGKILL,
                                                                grows(w / "s.wav", 44 + 2 * SR)),
        expect="killed", check=wav_ok("s.wav", 1.0))
    add("stream pipe closed", "fault", runner=_stream_pipe, expect="ok")
    add("stream fsize", "fault", [*ST, "--seconds", "5", "--out", "s.wav"], fsize=50_000, words=("s.wav",),
        check=wav_ok("s.wav", 0.5))
    add("stream race", "race", runner=lambda w: race_outcome(race(
        [[*ST, "--seconds", "1", "--out", "s.wav"]] * 2, w)), expect="ok", check=wav_ok("s.wav", 1.0))

    # ---- evaluate
    E = [*SYN, "evaluate"]
    for kind, (path, words) in bad_audio.items():
        add(f"evaluate reference {kind}", "input", [*E, path, A / "noise.wav"], words=(words,))
    add("evaluate candidate missing", "input", [*E, A / "noise.wav", "no_such.wav"], words=("no such",))
    add("evaluate three candidates", "argument", [*E, A / "noise.wav", *[A / "noise.wav"] * 3], words=("two",))
    for v in ("0", "1000000000", "abc"):
        add(f"evaluate sample rate {v}", "argument", [*E, A / "noise.wav", A / "noise.wav", "--sample-rate", v],
            words=("sample",))
    add("evaluate ok json", "output", [*E, A / "noise.wav", A / "stereo.wav", "--json"], expect="ok",
        check=lambda w, r: None if json.loads(r.stdout)["candidates"] else "no report")
    add("evaluate long reference", "input", runner=_long_reference, expect="ok", timeout=400)

    # ---- library and the texnet command
    L = [*TEXNET, "library"]
    add("library source missing", "input", [*L, "no_such_dir", "--out", "lib"], words=("no_such_dir",))

    def empty_dir(work):
        (work / "sounds").mkdir()

    add("library empty folder", "input", [*L, "sounds", "--out", "lib"], setup=empty_dir, words=("no audio",))

    def bad_clip(work):
        (work / "sounds").mkdir()
        shutil.copy(A / "noise.wav", work / "sounds" / "a.wav")
        shutil.copy(A / "silent.wav", work / "sounds" / "b.wav")

    add("library a silent clip", "input", [*L, "sounds", "--out", "lib"], setup=bad_clip, words=("b.wav", "silent"),
        check=nothing_left("sounds"))
    add("library jobs 0", "argument", [*L, A / "noise.wav", "--out", "lib", "--jobs", "0"], words=("--jobs",))
    add("library threads 0", "argument", [*L, A / "noise.wav", "--out", "lib", "--threads", "0"],
        words=("--threads",))
    add("library bad flag", "argument", [*L, A / "noise.wav", "--out", "lib", "--bogus"], words=("--bogus",))
    add("library out is a file", "output", [*L, A / "noise.wav", "--out", "lib"],
        setup=lambda w: (w / "lib").write_text("x"), words=("lib",), check=nothing_left("lib"))
    add("library config missing", "argument", [*L, A / "noise.wav", "--out", "lib", "--config", "no.yaml"],
        words=("no.yaml",))
    add("texnet no command", "argument", [*TEXNET], words=("no command",))
    add("texnet unknown command", "argument", [*TEXNET, "bogus"], words=("bogus",))
    add("texnet train bad flag", "argument", [*TEXNET, "train", "--bogus"], words=("--bogus",))
    add("texnet generate no args", "argument", [*TEXNET, "generate"], words=("--ckpt",))
    add("texnet optimize missing style", "input", [*TEXNET, "optimize", "--style", "no_such.wav", "--out", "o.wav"],
        words=("no such",))
    return P


def _after(seconds: float) -> Callable[[], bool]:
    t0 = time.time()
    return lambda: time.time() - t0 >= seconds


def _step(path: Path, expected: int | None) -> str | None:
    import torch

    if not path.is_file():
        return f"{path.name} missing"
    try:
        step = torch.load(path, map_location="cpu", weights_only=True)["global_step"]
    except Exception as e:  # noqa: BLE001
        return f"{path.name} unreadable ({str(e).splitlines()[0][:80]})"
    if expected is not None and step != expected:
        return f"{path.name} at step {step}, expected {expected}"
    return None


def _kill_and_resume(work: Path) -> Result:
    """SIGKILL a training once it saved a checkpoint, resume it with --ckpt_path: it must end at its max_steps."""
    argv = [*TRAIN, "--out", "run", "--trainer.max_steps", "12"]
    r = signal_after(argv, work, signal.SIGKILL, grows(work / "run" / "last.ckpt", 1))
    if r.rc != -signal.SIGKILL:
        return Result(r.rc, r.stdout, r.stderr, r.wall, [f"training ended by itself ({r.rc}) before the kill"])
    return run([*argv, "--ckpt_path", "run/last.ckpt"], work)


def _stream_pipe(work: Path) -> Result:
    """``stream --out -`` into a reader that closes the pipe after 20000 bytes: exit 0, nothing on stderr."""
    p = popen([*SYN, "stream", "--ckpt", work.parent.parent / "run" / "last.ckpt", "--quiet", "--out", "-"], work,
              text=False)
    t0 = time.perf_counter()
    got = p.stdout.read(20000)
    p.stdout.close()
    try:
        err = p.stderr.read().decode(errors="replace")
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        return Result(None, "", "", 0, ["did not end when the pipe closed"])
    r = Result(p.returncode, "", "", time.perf_counter() - t0)
    if len(got) < 20000:
        r.problems.append(f"only {len(got)} bytes on stdout")
    if "Traceback" in err or "Exception" in err:
        r.problems.append("traceback")
    return r


def _long_reference(work: Path) -> Result:
    """evaluate of a 12-minute reference: bounded (the first MAX_SECONDS judged, said in a note)."""
    ref = work / "long.wav"
    rng = np.random.default_rng(2)
    with sf.SoundFile(ref, "w", SR, 1, "PCM_16") as f:
        for _ in range(12):
            f.write((0.1 * rng.standard_normal(60 * SR)).astype(np.float32))
    r = run([*SYN, "evaluate", ref, work.parent.parent / "audio" / "noise.wav", "--json"], work, timeout=400)
    ref.unlink()
    if r.rc == 0 and not any("judged" in n or "first" in n for n in json.loads(r.stdout)["notes"]):
        r.problems.append("no note that only part of the reference is judged")
    return r


def _consistent_json_wav(stem: str, again: Callable[[Path, int], list]) -> Callable[[Path, Result], str | None]:
    """The WAV and the JSON beside it come from the same run: the command ``again(out, seed)`` with the
    seed the JSON names makes the WAV's samples again."""

    def check(work: Path, r: Result) -> str | None:
        wav, js = work / f"{stem}.wav", work / f"{stem}.json"
        if not (wav.is_file() and js.is_file()):
            return f"{stem}.wav/.json missing"
        record = json.loads(js.read_text())
        seed = record["seed"] if "seed" in record else record["optimize"]["seed"]
        if len([ln for ln in r.stdout.splitlines() if ln.startswith("wrote")]) != 1:
            return "both runs say they wrote"
        ref = work / "again" / "x.wav"
        rr = run(again(ref, seed), work)
        same = rr.rc == 0 and sf.read(ref)[0].tolist() == sf.read(wav)[0].tolist()
        shutil.rmtree(work / "again")
        return None if same else f"{stem}.wav is not the seed its JSON names ({seed})"

    return check


# -------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", action="append", default=[], help="only probes whose name holds this (repeatable)")
    ap.add_argument("--keep", help="folder to work in and keep (default: a temporary one, removed)")
    ap.add_argument("--json", help="write every probe's record here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the stderr of failed probes")
    args = ap.parse_args(argv)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="texnet_probes_"))
    base.mkdir(parents=True, exist_ok=True)
    fx = Fixtures(base)
    selected = [p for p in probes(fx) if not args.k or any(k in p.name for k in args.k)]
    rows = []
    for i, probe in enumerate(selected):
        work = base / "probes" / f"{i:03d}"
        if work.exists():
            for p in work.rglob("*"):
                if p.is_dir():
                    p.chmod(0o755)
            shutil.rmtree(work)
        work.mkdir(parents=True)
        for name in ("data", "configs"):
            (work / name).symlink_to(ROOT / name)
        if probe.setup:
            probe.setup(work)
        before = snapshot(work)
        if fx.marker.exists():
            fx.marker.unlink()
        if probe.runner is not None:
            r = probe.runner(work)
        else:
            r = run(probe.argv, work, probe.timeout, probe.fsize)
        if probe.expect == "killed":
            if r.rc != -signal.SIGKILL:
                r.problems.append(f"exit {r.rc}, expected death by SIGKILL")
            probe.expect = "none"
        r = judge(probe, r, before, snapshot(work), work)
        last = error_lines(r.stderr)[-1] if error_lines(r.stderr) else ""
        row = {"probe": probe.name, "category": probe.category, "expect": probe.expect, "rc": r.rc,
               "stderr_lines": r.stderr_lines, "traceback": "Traceback (most recent" in r.stderr,
               "left": bool(r.changed) and probe.expect in ("error", "interrupt", "terminated"),
               "wall_s": round(r.wall, 1),
               "ok": not r.problems, "problems": r.problems, "last_line": last[:300]}
        rows.append(row)
        mark = "ok  " if row["ok"] else "FAIL"
        print(f"{mark} {probe.name:<36} rc={r.rc!s:>4} lines={r.stderr_lines:<3} {r.wall:5.1f}s  "
              f"{'; '.join(r.problems) or last[:110]}", flush=True)
        if args.verbose and not row["ok"]:
            print("     | " + "\n     | ".join(r.stderr.strip().splitlines()[-12:]), flush=True)
    print()
    print(f"| {'probe':<36} | category   | rc   | stderr lines | traceback | left files | result |")
    print(f"|{'-' * 38}|------------|------|--------------|-----------|------------|--------|")
    for row in rows:
        print(f"| {row['probe']:<36} | {row['category']:<10} | {row['rc']!s:>4} | {row['stderr_lines']:>12} | "
              f"{'yes' if row['traceback'] else 'no':>9} | {'yes' if row['left'] else 'no':>10} | "
              f"{'ok' if row['ok'] else 'FAIL':>6} |")
    cats = sorted({r["category"] for r in rows})
    print()
    for c in cats:
        sub = [r for r in rows if r["category"] == c]
        print(f"{c:<11} {sum(r['ok'] for r in sub):>3}/{len(sub)} behave")
    bad = [r for r in rows if not r["ok"]]
    print(f"{'all':<11} {len(rows) - len(bad):>3}/{len(rows)} behave")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if not args.keep:
        for p in base.rglob("*"):
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
