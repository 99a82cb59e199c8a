"""Writing output files so that nothing is ever half-written, mixed or silently replaced.

- :func:`atomic_write`: the file is made under a temporary name beside its target and then either renamed
  over it (``overwrite``) or hard-linked to it, which fails if the name exists: of two commands writing the
  same output, exactly one succeeds and the other gets an error, never a mix of both.
- :func:`all_or_nothing`: a command that writes several files leaves all of them or none.
- :class:`WavStream`: a 16-bit mono WAV written block by block whose header is correct after every block,
  so a reader (or a crash) at any moment sees a valid file holding everything written so far.
"""
from __future__ import annotations

import os
import struct
import tempfile
from contextlib import contextmanager
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
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as e:
        raise PermissionError(f"{p.parent}: cannot write there ({e.strerror or e})") from None
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
    except OutputExists:
        raise
    except OSError as e:  # a full disk, a file size limit, an I/O error: one line naming the output
        raise OSError(f"{p}: could not be written ({e.strerror or e}); nothing was left there") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


@contextmanager
def all_or_nothing():
    """The files of one command: ``with all_or_nothing() as keep: keep(save_wav(...)); keep(...)``. If the
    block fails (an error, a full disk at the third file, Ctrl-C) the files passed to ``keep`` are removed
    again, so a command leaves all its outputs or none (only files it wrote itself: a racing command's
    are never touched; one replaced under ``--overwrite`` cannot come back)."""
    made: list[Path] = []
    try:
        yield lambda path: made.append(Path(path))
    except BaseException:
        for p in made:
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        raise


def check_outputs(paths, overwrite: bool = False) -> None:
    """Refuse before any work starts if any of ``paths`` exists (unless ``overwrite``), is a directory, or
    cannot be created (see :func:`check_writable`)."""
    paths = list(map(Path, paths))
    for p in paths:
        if p.is_dir():
            raise IsADirectoryError(f"{p}: is a directory")
        if p.exists() and not overwrite:
            raise OutputExists(p)
    for folder in dict.fromkeys(p.parent for p in paths):
        check_writable(folder)


def check_writable(folder: str | os.PathLike) -> None:
    """Refuse (``PermissionError`` / ``NotADirectoryError``, one line) if no file can be created in ``folder``,
    or, while it does not exist, in its nearest existing parent (where it would be made): tried by creating
    and removing an empty file, which is what counts (permissions, read-only mounts, ACLs)."""
    folder = Path(folder)
    d = folder
    while not d.exists() and d != d.parent:
        d = d.parent
    if not d.is_dir():
        raise NotADirectoryError(f"{folder}: cannot be made, {d} is not a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".texnet-write-check.", dir=d)
    except OSError as e:
        raise PermissionError(f"{folder}: cannot write there ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(tmp)


class WavStream:
    """Mono 16-bit PCM WAV at ``sample_rate``, appended block by block (:meth:`write`, int16 samples).

    After every block the RIFF and data sizes in the header are rewritten, so it is a complete WAV at every
    block boundary. A block that cannot be written (a full disk) raises ``OSError`` in one line and is cut
    off again: the file keeps the blocks before it. A WAV's sizes are 32-bit: :attr:`capacity` samples at
    most (about 27 hours at 22.05 kHz); :meth:`write` refuses more.
    """

    HEADER = 44
    capacity = (0xFFFFFFFF - 36) // 2

    def __init__(self, path: str | os.PathLike, sample_rate: int, overwrite: bool = False):
        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self.samples = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            self._fd: int | None = os.open(self.path, flags, 0o666)  # unbuffered: nothing is pending on a failure
        except FileExistsError:
            raise OutputExists(self.path) from None
        self._write_all(self._header(0), 0)

    def _header(self, n: int) -> bytes:
        data = 2 * n
        return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
                + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, self.sample_rate, 2 * self.sample_rate, 2, 16)
                + b"data" + struct.pack("<I", data))

    def _write_all(self, data: bytes, offset: int) -> None:
        view = memoryview(data)
        while view:
            n = os.pwrite(self._fd, view, offset)
            view, offset = view[n:], offset + n

    def write(self, pcm: np.ndarray) -> None:
        """Append int16 samples ``(n,)`` and bring the header up to date."""
        pcm = np.ascontiguousarray(pcm, dtype="<i2").reshape(-1)
        if self.samples + pcm.shape[0] > self.capacity:
            raise ValueError(f"{self.path}: a WAV holds at most {self.capacity} samples "
                             f"({self.capacity / self.sample_rate / 3600:.1f} h); stream to stdout (--out -) for more")
        end = self.HEADER + 2 * self.samples
        try:
            self._write_all(pcm.tobytes(), end)
        except OSError as e:
            os.ftruncate(self._fd, end)  # the part of the block that fitted goes: the header counts whole blocks
            raise OSError(f"{self.path}: could not be written ({e.strerror or e}); it keeps the "
                          f"{self.samples / self.sample_rate:.1f} s written before") from None
        self.samples += pcm.shape[0]
        self._write_all(struct.pack("<I", 36 + 2 * self.samples), 4)
        self._write_all(struct.pack("<I", 2 * self.samples), 40)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WavStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
