#!/usr/bin/env python
"""Streaming synthesis benchmark: real-time factor and peak memory of ``synthesize.py stream`` for 1, 10
and 60 minutes, the seam check, and the inversion choices side by side.

    python bench/bench_streaming.py                       # all of it, appends "## Streaming" to bench/RESULTS.md
    python bench/bench_streaming.py --durations 1 10      # skip the hour
    python bench/bench_streaming.py --no-write            # print only

Checkpoint: ``--ckpt`` (default /tmp/rq/last.ckpt, the quickstart rain); if that is missing or does not
load with this code, a quickstart-like one is trained once (configs/quickstart.yaml, 300 steps) under
``--workdir`` and reused. Each duration runs the real command in a fresh subprocess writing a WAV under
``--workdir``; its peak memory is that process's ``ru_maxrss`` (whole process: Python, torch, the
model), its real-time factor the one the command reports (audio seconds / seconds from the first block
being made to the file closed; start-up, imports and checkpoint loading excluded and reported apart).
The inversion comparison works on one generated spectrogram (``--compare-seconds``), in this process.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

from texnet import experiments as X
from texnet import streaming as S
from texnet.metrics import spectral_convergence

ROOT = X.ROOT
HEADING = "## Streaming"


def clock() -> float:
    """CPU seconds of this process (all its threads): robust to other jobs sharing the CPU, unlike wall time."""
    return time.process_time()


def log(*a):
    print(*a, flush=True)


def flux_of(blocks) -> float | None:
    """Seam flux ratio of a list of waveform blocks (None when there is no boundary inside)."""
    if len(blocks) < 2:
        return None
    try:
        return S.seam_flux_ratio(torch.cat(blocks), torch.tensor([b.numel() for b in blocks]).cumsum(0)[:-1].tolist())
    except ValueError:  # boundaries only at the very ends
        return None


def ensure_checkpoint(ckpt: str, workdir: Path) -> tuple[str, str]:
    from texnet.inference import load_generator

    try:
        load_generator(ckpt)
        return ckpt, f"{ckpt}"
    except (ValueError, OSError) as e:
        why = str(e).splitlines()[0]
        log(f"cannot use {ckpt}: {why}")
    own = workdir / "run" / "last.ckpt"
    desc = f"{own} (configs/quickstart.yaml, 300 steps, trained by this bench; {ckpt} did not load: {why})"
    try:
        load_generator(own)
        return str(own), desc
    except (ValueError, OSError):
        pass
    log("training a quickstart-like checkpoint (300 steps) ...")
    t0 = time.perf_counter()
    r = subprocess.run(X.train_command("configs/quickstart.yaml", own.parent, 300, threads=None), cwd=ROOT,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"training failed:\n{r.stderr[-3000:]}")
    log(f"trained in {time.perf_counter() - t0:.0f} s")
    return str(own), desc


# --------------------------------------------------------------------------------------------------


WHOLE, STREAMED = "whole-signal GL, random start", "streamed, PGHI start"


def sc_of(fe, mag, wave) -> float:
    return spectral_convergence(mag, fe.magnitude(wave.reshape(1, -1))[0]).item()


def compare_inversions(gen, seconds: float, seed: int = 11) -> list[dict]:
    """Whole-signal Griffin-Lim (random or PGHI start) vs the streamed inversion vs independent blocks, on the
    same generated spectrogram."""
    fe = gen.frontend
    spec = gen.generate_spec(seconds, seed=seed)
    mag = fe.to_magnitude(spec)
    n = fe.samples_for_frames(spec.shape[1])
    rows = []

    def add(name, kind, iters, wave, secs, flux=None, ref=None):
        ref = mag if ref is None else ref
        dur = wave.numel() / fe.sample_rate
        rows.append({"variant": name, "kind": kind, "iters": iters, "sc_db": sc_of(fe, ref, wave),
                     "s_per_audio_min": secs / dur * 60, "rtf": dur / max(secs, 1e-9), "flux": flux})
        r = rows[-1]
        log(f"  {name:<34} iters {iters:>2}  SC {r['sc_db']:6.2f} dB  {r['s_per_audio_min']:5.2f} s/min "
            f"({r['rtf']:6.1f}x)" + (f"  flux ratio {flux:.3f}" if flux is not None else ""))

    def streamed(iters, block_frames):
        t0 = clock()
        blocks = list(S.invert_stream(fe, [spec], iters, block_frames, n_samples=n, seed=seed))
        return blocks, clock() - t0

    block = int(round(S.DEFAULT_BLOCK_SECONDS * fe.frame_rate))
    for iters in (8, 16, 32):
        t0 = clock()
        wave = fe.inverse(spec[None], n_iter=iters, seed=seed, length=n)[0]
        add(WHOLE, "whole", iters, wave, clock() - t0)
        blocks, secs = streamed(iters, spec.shape[1])  # one block: the whole signal from the PGHI start
        add("whole-signal GL, PGHI start", "whole", iters, torch.cat(blocks), secs)
        blocks, secs = streamed(iters, block)
        add(STREAMED, "stream", iters, torch.cat(blocks), secs, flux_of(blocks))
        # naive: every block inverted on its own (random start) and the pieces joined end to end
        t0 = clock()
        pieces = [fe.inverse(spec[None, :, i: i + block + 1], n_iter=iters, seed=i)[0]
                  for i in range(0, (spec.shape[1] - 1) // block * block, block)]  # whole blocks (the tail is dropped)
        naive = torch.cat(pieces)
        add("independent blocks joined (naive)", "naive", iters, naive, clock() - t0, flux_of(pieces),
            mag[:, : fe.frames_for_samples(naive.numel())])
    blocks, secs = streamed(0, block)
    add("streamed, PGHI only", "stream", 0, torch.cat(blocks), secs, flux_of(blocks))
    return rows


def block_sizes(gen, seconds: float, seed: int = 11) -> list[dict]:
    fe = gen.frontend
    spec = gen.generate_spec(seconds, seed=seed)
    mag = fe.to_magnitude(spec)
    n = fe.samples_for_frames(spec.shape[1])
    rows = []
    for bs in (0.5, 2.0, 8.0):
        for look in (0, None, 32):
            t0 = clock()
            blocks = list(S.invert_stream(fe, [spec], S.DEFAULT_N_ITER, int(round(bs * fe.frame_rate)), look,
                                          n_samples=n, seed=seed))
            secs = clock() - t0
            wave = torch.cat(blocks)
            la = 2 * -(-fe.n_fft // fe.hop_length) if look is None else look
            rows.append({"block_s": bs, "lookahead": la, "sc_db": sc_of(fe, mag, wave),
                         "s_per_audio_min": secs / (n / fe.sample_rate) * 60,
                         "flux": flux_of(blocks)})
            r = rows[-1]
            log(f"  block {bs:4.1f} s  look-ahead {la:>2} frames  SC {r['sc_db']:6.2f} dB  "
                f"{r['s_per_audio_min']:5.2f} s/min  flux ratio {_fmt_flux(r['flux'])}")
    return rows


def seam_check(gen, seed: int = 5) -> dict:
    """Flux ratio of the real stream, and on a tone (where a seam cannot hide) streamed vs naive joins."""
    import math

    fe = gen.frontend
    blocks = list(S.stream_waveform(gen, 60.0, seed=seed, block_seconds=S.DEFAULT_BLOCK_SECONDS))
    texture = flux_of(blocks)
    sr = fe.sample_rate
    t = torch.arange(int(20 * sr)) / sr
    tone = sum(0.1 * torch.sin(2 * math.pi * (f * t + 3 * torch.sin(2 * math.pi * 0.5 * t))) for f in (220, 330, 550, 880))
    bf = int(round(S.DEFAULT_BLOCK_SECONDS * fe.frame_rate))
    spec = fe(tone)[0]
    spec = spec[:, : (spec.shape[1] - 1) // bf * bf + 1]  # whole blocks only, for the naive join
    bl = list(S.invert_stream(fe, [spec], S.DEFAULT_N_ITER, bf))
    tone_stream = flux_of(bl)
    naive = [fe.inverse(spec[:, i: i + bf + 1][None], n_iter=S.DEFAULT_N_ITER, seed=i)[0]
             for i in range(0, spec.shape[1] - 1, bf)]
    tone_naive = flux_of(naive)
    log(f"  texture stream (60 s, {S.DEFAULT_BLOCK_SECONDS:g} s blocks): flux ratio {texture:.3f}")
    log(f"  vibrato tone: streamed {tone_stream:.3f}, naive per-block GL joined end to end {tone_naive:.2f}")
    return {"texture": texture, "tone_stream": tone_stream, "tone_naive": tone_naive}


# --------------------------------------------------------------------------------------------------


SUMMARY = re.compile(r"wrote (\d+) samples \(([\d.]+) s at (\d+) Hz\).* in ([\d.]+) s \(([\d.]+) s CPU\): ([\d.]+)x real time")


THREADS = 1


def child_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# ru_maxrss survives execve, so a child forked straight from this (large) process would report at least
# this process's RSS. A small launcher process forks and execs the real command and reports its rusage.
LAUNCHER = r"""
import json, os, sys
info = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable] + sys.argv[2:])
with open(info + ".pid", "w") as f:
    f.write(str(pid))
_, status, ru = os.wait4(pid, 0)
with open(info, "w") as f:
    json.dump({"maxrss_kb": ru.ru_maxrss, "cpu_s": ru.ru_utime + ru.ru_stime,
               "exit": os.waitstatus_to_exitcode(status)}, f)
"""


def launch(args: list[str], info: Path, **kw) -> subprocess.Popen:
    for p in (info, Path(str(info) + ".pid")):
        p.unlink(missing_ok=True)
    return subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, str(info), *args], cwd=ROOT, env=child_env(), **kw)


def startup_rss(ckpt: str, workdir: Path) -> tuple[float, float]:
    """Peak RSS and CPU of a process that only imports what ``synthesize.py stream`` imports and loads the
    checkpoint: the floor under any stream's peak."""
    code = ("import sys; import texnet.cli, texnet.cli_stream, texnet.streaming, soundfile, tqdm; "
            "from texnet.inference import load_generator; load_generator(sys.argv[1])")
    info = workdir / "startup.json"
    p = launch(["-c", code, ckpt], info, stdout=subprocess.DEVNULL)
    p.wait()
    r = json.loads(info.read_text())
    if r["exit"] != 0:
        sys.exit("start-up probe failed")
    return r["maxrss_kb"] / 1024, r["cpu_s"]


def run_duration(ckpt: str, minutes: float, workdir: Path) -> dict:
    out = workdir / f"stream_{minutes:g}min.wav"
    info = workdir / f"stream_{minutes:g}min.json"
    cmd = ["synthesize.py", "stream", "--ckpt", ckpt, "--seconds", str(minutes * 60), "--out", str(out),
           "--overwrite", "--quiet"]
    t0 = time.perf_counter()
    p = launch(cmd, info, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples_rss = []  # (seconds since start, RSS MB, WAV bytes so far) of the stream process
    child = None
    while p.poll() is None:
        if child is None and Path(str(info) + ".pid").exists():
            try:
                child = int(Path(str(info) + ".pid").read_text())
            except ValueError:
                pass
        rss = _rss_mb(child) if child else None
        size = out.stat().st_size if out.exists() else 0
        if rss is not None:
            samples_rss.append((time.perf_counter() - t0, rss, size))
        time.sleep(0.5)
    wall = time.perf_counter() - t0
    stdout, stderr = p.communicate()
    usage = json.loads(info.read_text())
    if usage["exit"] != 0:
        sys.exit(f"stream failed ({usage['exit']}):\n{stderr[-3000:]}")
    m = SUMMARY.search(stdout)
    samples, audio_s, sr, stream_s, stream_cpu, rtf = (int(m[1]), float(m[2]), int(m[3]), float(m[4]), float(m[5]),
                                                       float(m[6]))
    import soundfile as sf

    info_wav = sf.info(str(out))
    ok = info_wav.frames == round(minutes * 60 * sr) == samples
    # RSS while the WAV grows (after its first block, before its last: not start-up, not interpreter exit)
    final_size = out.stat().st_size
    writing = [(t, r) for t, r, size in samples_rss if 44 < size < final_size]
    rss_first = writing[0][1] if writing else float("nan")
    rss_last = writing[-1][1] if writing else float("nan")
    rss_max = max((r for _, r in writing), default=float("nan"))
    row = {"minutes": minutes, "audio_s": audio_s, "stream_s": stream_s, "rtf": rtf, "wall_s": wall,
           "startup_s": wall - stream_s, "peak_rss_mb": usage["maxrss_kb"] / 1024, "cpu_s": usage["cpu_s"],
           "stream_cpu_s": stream_cpu, "cpu_rtf": audio_s / max(stream_cpu, 1e-9),
           "rss_first_block_mb": rss_first, "rss_last_block_mb": rss_last, "rss_max_streaming_mb": rss_max,
           "wav_frames_ok": ok, "wav_mb": out.stat().st_size / 2**20}
    log(f"  {minutes:>4g} min: {rtf:6.1f}x real time by the clock, {row['cpu_rtf']:6.1f}x by CPU time "
        f"({stream_s:7.1f} s streaming + {row['startup_s']:.1f} s start-up), "
        f"peak RSS {row['peak_rss_mb']:5.0f} MB (while streaming: {rss_first:.0f} MB at the first block, {rss_last:.0f} MB "
        f"at the last, {rss_max:.0f} MB at most), CPU {row['cpu_s']:.0f} s, WAV {row['wav_mb']:.0f} MB, length exact: {ok}")
    out.unlink()
    return row


# --------------------------------------------------------------------------------------------------


def _fmt_flux(x) -> str:
    return "" if x is None else f"{x:.3f}"


def results_section(meta, inv, blocks, seam, runs) -> str:
    L = []
    L.append(f"`python bench/bench_streaming.py` ({meta['date']}; {meta['cpu']}, {meta['cores']} cores, torch "
             f"{meta['torch']} with {meta['threads']} thread(s) here and in the stream processes; load average "
             f"{meta['load']} at the start: other jobs shared the CPU, so times are CPU seconds where marked). Checkpoint: {meta['ckpt']}; STFT n_fft {meta['n_fft']}, hop {meta['hop']}, "
             f"{meta['sr']} Hz. Default inversion of `synthesize.py stream`: PGHI start + {S.DEFAULT_N_ITER} fast "
             f"Griffin-Lim iterations per {S.DEFAULT_BLOCK_SECONDS:g} s block.")
    hour = next((r for r in runs if r["minutes"] == 60), None)
    by = {(r["variant"], r["iters"]): r for r in inv}
    d, w16, w32 = by.get((STREAMED, S.DEFAULT_N_ITER)), by.get((WHOLE, S.DEFAULT_N_ITER)), by.get((WHOLE, 32))
    if hour and d and w16 and w32:
        met = hour["rtf"] >= 20 and hour["peak_rss_mb"] < 1024 and not hour.get("extrapolated")
        L += ["", f"**Target** (one hour of texture to a WAV, peak memory under 1 GB, at least 20x real time on this "
              f"{meta['cores']}-core CPU): {'met' if met else 'NOT met'}{' (EXTRAPOLATED from a shorter run)' if hour.get('extrapolated') else ''}: "
              f"{hour['rtf']:.1f}x real time by the clock with other jobs on the CPU ({hour['cpu_rtf']:.1f}x by CPU "
              f"time, one thread), peak RSS {hour['peak_rss_mb']:.0f} MB, flat while streaming. Inversion: PGHI start + "
              f"{S.DEFAULT_N_ITER} Griffin-Lim iterations per {S.DEFAULT_BLOCK_SECONDS:g} s block, spectral convergence "
              f"{d['sc_db']:.2f} dB against the generated magnitudes, vs {w16['sc_db']:.2f} dB for whole-signal "
              f"Griffin-Lim with the same {S.DEFAULT_N_ITER} iterations and {w32['sc_db']:.2f} dB with 32."]
    L += ["", "### Long streams (`synthesize.py stream --seconds N --out /tmp/....wav`, fresh process each)", "",
          "| duration | real-time factor (clock) | real-time factor (CPU time) | streaming time (clock) | start-up (clock) | peak RSS (whole process, ru_maxrss) | RSS while streaming: first block / last block / max | WAV length exact |",
          "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        L.append(f"| {r['minutes']:g} min{' (EXTRAPOLATED)' if r.get('extrapolated') else ''} | {r['rtf']:.1f}x | "
                 f"{r['cpu_rtf']:.1f}x | "
                 f"{r['stream_s']:.1f} s | {r['startup_s']:.1f} s | {r['peak_rss_mb']:.0f} MB | "
                 f"{r['rss_first_block_mb']:.0f} / {r['rss_last_block_mb']:.0f} / {r['rss_max_streaming_mb']:.0f} MB | {'n/a (not run)' if r.get('extrapolated') else 'yes' if r['wav_frames_ok'] else 'NO'} |")
    L += ["", f"Start-up alone (imports + checkpoint, no audio): peak RSS {meta['startup_rss_mb']:.0f} MB and "
          f"{meta['startup_cpu_s']:.1f} CPU s, so streaming itself adds "
          f"{max(r['peak_rss_mb'] for r in runs) - meta['startup_rss_mb']:.0f} MB at most to the peak. Peak RSS is "
          "the whole process's lifetime, tearing torch down at interpreter exit included (after the WAV is "
          "closed), which is why it exceeds the RSS sampled (every 0.5 s) while the WAV grows. Real-time factor (clock) = "
          "audio seconds / wall seconds from the first block to the closed file, as the command reports it, under "
          "the load above; (CPU time) = audio seconds / the CPU seconds of that same stretch (the command reports "
          "both): what one otherwise idle core gives, since the stream runs on one thread."]
    L += ["", f"### Inversion choices ({meta['compare_s']:g} s of generated spectrogram; SC = spectral convergence of "
          "the result's |STFT| against the generated magnitude, lower is better; CPU seconds per minute of audio, "
          "inversion only)", "",
          "| variant | GL iterations | SC (dB) | CPU s per audio min | x real time (CPU) | flux ratio at seams |",
          "| --- | --- | --- | --- | --- | --- |"]
    for r in inv:
        L.append(f"| {r['variant']} | {r['iters']} | {r['sc_db']:.2f} | {r['s_per_audio_min']:.2f} | {r['rtf']:.0f}x | "
                 f"{_fmt_flux(r['flux'])} |")
    L += ["", f"Block size and look-ahead (PGHI + {S.DEFAULT_N_ITER} iterations):", "",
          "| block | look-ahead frames | SC (dB) | CPU s per audio min | flux ratio |", "| --- | --- | --- | --- | --- |"]
    for r in blocks:
        L.append(f"| {r['block_s']:g} s | {r['lookahead']} | {r['sc_db']:.2f} | {r['s_per_audio_min']:.2f} | {_fmt_flux(r['flux'])} |")
    L += ["", "### Seams", "",
          f"Spectral flux (mean |change| of the dB spectrum, 256-point frames) at block boundaries over elsewhere: "
          f"{seam['texture']:.3f} on 60 s of the streamed texture. A broadband texture hides seams from any such "
          f"measure, so the same check on a vibrato tone, where a phase jump clicks: streamed {seam['tone_stream']:.3f}, "
          f"naive per-block Griffin-Lim joined end to end {seam['tone_naive']:.1f}.", ""]
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", default="/tmp/rq/last.ckpt")
    ap.add_argument("--workdir", default="/tmp/bench_streaming")
    ap.add_argument("--durations", type=float, nargs="+", default=[1, 10, 60], help="minutes")
    ap.add_argument("--compare-seconds", type=float, default=30.0)
    ap.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"))
    ap.add_argument("--threads", type=int, default=1, help="torch threads here and in the stream subprocesses")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--render-json", metavar="JSON", help="only re-render the section from a saved "
                    "streaming_results.json (and write it unless --no-write)")
    args = ap.parse_args()
    if args.render_json:
        d = json.loads(Path(args.render_json).read_text())
        section = results_section(d["meta"], d["inversions"], d["blocks"], d["seam"], d["runs"])
        if args.no_write:
            print(section)
        else:
            X.write_section(args.results, section, HEADING)
            log(f"wrote the '{HEADING}' section of {args.results}")
        return
    global THREADS
    THREADS = args.threads
    torch.set_num_threads(args.threads)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    from texnet.inference import load_generator

    ckpt, ckpt_desc = ensure_checkpoint(args.ckpt, workdir)
    gen = load_generator(ckpt)
    fe = gen.frontend
    machine = X.machine_info()
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": machine["cpu"], "cores": machine["cores"],
            "torch": machine["torch"], "threads": torch.get_num_threads(),
            "load": " / ".join(f"{x:.1f}" for x in machine["load"]), "ckpt": ckpt_desc, "n_fft": fe.n_fft,
            "hop": fe.hop_length, "sr": fe.sample_rate, "compare_s": args.compare_seconds}
    log(f"checkpoint {ckpt_desc}; {meta['cpu']}, {meta['cores']} cores, torch threads {meta['threads']}, "
        f"load {meta['load']}")

    log(f"\n[1] inversion choices on {args.compare_seconds:g} s (SC lower is better; CPU time of the inversion only)")
    inv = compare_inversions(gen, args.compare_seconds)
    log("\n[2] block size / look-ahead")
    blk = block_sizes(gen, args.compare_seconds)
    log("\n[3] seams (flux at boundaries / elsewhere; 1 = no seam)")
    seam = seam_check(gen)
    log("\n[4] long streams through the CLI (fresh process each)")
    meta["startup_rss_mb"], meta["startup_cpu_s"] = startup_rss(ckpt, workdir)
    log(f"  start-up only (imports + checkpoint): peak RSS {meta['startup_rss_mb']:.0f} MB, CPU {meta['startup_cpu_s']:.1f} s")
    runs = [run_duration(ckpt, m, workdir) for m in args.durations]
    if 60 not in args.durations and runs:
        longest = max(runs, key=lambda r: r["minutes"])
        ext = dict(longest, minutes=60, extrapolated=True, audio_s=3600.0, wav_frames_ok=False,
                   stream_s=longest["stream_s"] * 60 / longest["minutes"],
                   stream_cpu_s=longest["stream_cpu_s"] * 60 / longest["minutes"])
        runs.append(ext)
        log(f"  60 min EXTRAPOLATED from {longest['minutes']:g} min: {ext['rtf']:.1f}x, ~{ext['stream_s']:.0f} s")

    log("\nside by side:")
    by = {(r["variant"], r["iters"]): r for r in inv}
    for it in (8, 16, 32):
        w, s = by[(WHOLE, it)], by[(STREAMED, it)]
        log(f"  {it:>2} iters: streamed PGHI-start {s['sc_db']:.2f} dB vs whole-signal GL {w['sc_db']:.2f} dB "
            f"(diff {s['sc_db'] - w['sc_db']:+.2f}); time streamed/whole {s['s_per_audio_min'] / w['s_per_audio_min']:.2f}")
    if len(runs) > 1:
        base = runs[0]
        for r in runs[1:]:
            log(f"  {r['minutes']:g} min vs {base['minutes']:g} min: peak RSS ratio {r['peak_rss_mb'] / base['peak_rss_mb']:.2f}, "
                f"RTF (CPU time) ratio {r['cpu_rtf'] / base['cpu_rtf']:.2f}")
    section = results_section(meta, inv, blk, seam, runs)
    (workdir / "streaming_results.json").write_text(json.dumps(
        {"meta": meta, "inversions": inv, "blocks": blk, "seam": seam, "runs": runs}, indent=1))
    if not args.no_write:
        X.write_section(args.results, section, HEADING)
        log(f"\nwrote the '{HEADING}' section of {args.results}")
    else:
        print("\n" + section)


if __name__ == "__main__":
    main()
