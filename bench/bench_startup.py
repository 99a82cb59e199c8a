#!/usr/bin/env python
"""What a ``generate`` command costs beyond the generation itself, measured side by side in one run.

    python bench/bench_startup.py --ckpt runs/quickstart/last.ckpt --seconds 600

Three fresh processes on one torch thread, CPU time (user + system, ``getrusage``) of each:
the API's one pass (``load_generator(ckpt).generate(seconds)``, timed around the call alone, inside the
process), the ``generate`` command for 1 s (the fixed start-up: interpreter, imports, checkpoint, the
files) and for ``--seconds``. Printed: the command's cost over the start-up as a multiple of the API's
one pass, and which heavy libraries each path imports.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HEAVY = ("pytorch_lightning", "lightning", "matplotlib", "librosa", "wandb", "scipy", "numba")

_API = """
import json, resource, sys, time
import torch
torch.set_num_threads(1)
from texnet import load_generator
gen = load_generator(sys.argv[1], "cpu")
gen.generate(1.0)  # first call: allocator and kernels warm, as in a command
t = resource.getrusage(resource.RUSAGE_SELF)
wave = gen.generate(float(sys.argv[2]))
u = resource.getrusage(resource.RUSAGE_SELF)
heavy = [m for m in json.loads(sys.argv[3]) if m in sys.modules]
print(json.dumps({"cpu": u.ru_utime - t.ru_utime + u.ru_stime - t.ru_stime, "heavy": heavy}))
"""


def _child_cpu(cmd: list[str], env: dict) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--repeats", type=int, default=3, help="each measurement's median over this many runs")
    args = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    api, cmd1, cmdn = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            out = subprocess.run([sys.executable, "-c", _API, args.ckpt, str(args.seconds), json.dumps(HEAVY)],
                                 env=env, check=True, capture_output=True, text=True).stdout
            rec = json.loads(out.strip().splitlines()[-1])
            api.append(rec["cpu"])
            for secs, acc in ((1.0, cmd1), (args.seconds, cmdn)):
                wav = Path(tmp) / f"g{secs:g}.wav"
                acc.append(_child_cpu([sys.executable, "-m", "texnet", "generate", "--ckpt", args.ckpt, "--device",
                                       "cpu", "--seconds", str(secs), "--out", str(wav), "--overwrite"], env))
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    a, s, c = med(api), med(cmd1), med(cmdn)
    print(f"# generate vs the API's one pass, {args.seconds:g} s, one torch thread, CPU s (median of {args.repeats})")
    print(f"API one pass (generate() alone)        {a:7.2f}")
    print(f"command, 1 s (fixed start-up)          {s:7.2f}")
    print(f"command, {args.seconds:g} s                      {c:7.2f}")
    print(f"(command - start-up) / API one pass     {(c - s) / a:7.2f}x")
    print(f"heavy libraries imported by the API path: {rec['heavy'] or 'none'}")


if __name__ == "__main__":
    main()
