"""Writing output files so that nothing is ever half-written, mixed or silently replaced.

- :func:`atomic_write`: the file is made under a temporary name beside its target and then either renamed
  over it (``overwrite``) or hard-linked to it, which fails if the name exists: of two commands writing the
  same output, exactly one succeeds and the other gets an error, never a mix of both.
- :class:`WavStream`: a 16-bit mono WAV written block by block whose header is correct after every block,
  so a reader (or a crash) at any moment sees a valid file holding everything written so far.
"""
from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np


class OutputExists(FileExistsError):
    """The output already exists (or another process created it first); the message is one line."""

    def __init__(self, path: Path):
        super().__init__(f"{path}: already exists (add --overwrite to replace it)")
        self.path = path


def _default_mode(path: str) -> None:
    """mkstemp makes 0600 files; give the output the permissions open() would (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], overwrite: bool = False) -> Path:
    """Call ``write(temporary_path)``, then publish the result as ``path`` in one step.

    Without ``overwrite`` an existing ``path`` (checked at the moment of publishing, so also one another
    process wrote meanwhile) raises :class:`OutputExists` and nothing is changed.
    """
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{p}: is a directory")
    if p.exists() and not overwrite:
        raise OutputExists(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        _default_mode(tmp)
        write(tmp)
        if overwrite:
            os.replace(tmp, p)
        else:
            try:
                os.link(tmp, p)
            except FileExistsError:
                raise OutputExists(p) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def check_outputs(paths, overwrite: bool = False) -> None:
    """Refuse before any work starts if any of ``paths`` exists (unless ``overwrite``) or is a directory."""
    for p in map(Path, paths):
        if p.is_dir():
            raise IsADirectoryError(f"{p}: is a directory")
        if p.exists() and not overwrite:
            raise OutputExists(p)


class WavStream:
    """Mono 16-bit PCM WAV at ``sample_rate``, appended block by block (:meth:`write`, int16 samples).

    After every block the RIFF and data sizes in the header are rewritten and the file flushed, so it is a
    complete WAV at every block boundary. A WAV's sizes are 32-bit: :attr:`capacity` samples at most
    (about 27 hours at 22.05 kHz); :meth:`write` refuses more.
    """

    HEADER = 44
    capacity = (0xFFFFFFFF - 36) // 2

    def __init__(self, path: str | os.PathLike, sample_rate: int, overwrite: bool = False):
        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self.samples = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._f = open(self.path, "wb" if overwrite else "xb")
        except FileExistsError:
            raise OutputExists(self.path) from None
        self._f.write(self._header(0))
        self._f.flush()

    def _header(self, n: int) -> bytes:
        data = 2 * n
        return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
                + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, self.sample_rate, 2 * self.sample_rate, 2, 16)
                + b"data" + struct.pack("<I", data))

    def write(self, pcm: np.ndarray) -> None:
        """Append int16 samples ``(n,)`` and bring the header up to date."""
        pcm = np.ascontiguousarray(pcm, dtype="<i2").reshape(-1)
        if self.samples + pcm.shape[0] > self.capacity:
            raise ValueError(f"{self.path}: a WAV holds at most {self.capacity} samples "
                             f"({self.capacity / self.sample_rate / 3600:.1f} h); stream to stdout (--out -) for more")
        self._f.write(pcm.tobytes())
        self.samples += pcm.shape[0]
        self._f.seek(4)
        self._f.write(struct.pack("<I", 36 + 2 * self.samples))
        self._f.seek(40)
        self._f.write(struct.pack("<I", 2 * self.samples))
        self._f.seek(0, os.SEEK_END)
        self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> "WavStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
