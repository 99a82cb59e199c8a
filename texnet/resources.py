"""Files shipped with texnet: the named configs (``--config quickstart``) and the bundled clips they train on.

    resolve_config("quickstart")            # -> .../configs/quickstart.yaml
    resolve_config("my.yaml")               # a path that exists is used as given
    resolve_clip("data/rain.ogg")           # the bundled clip when ./data/rain.ogg is not there

In a checkout they are the repository's ``configs/`` and ``data/`` folders; an installed texnet carries
copies as package data (``texnet/configs``, ``texnet/clips``: the package-dir mapping in pyproject.toml),
so names work from any folder after a plain ``pip install .``.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

CONFIG_SUFFIXES = (".yaml", ".yml")


def _folder(installed: str, checkout: str) -> Path | None:
    """The installed copy ``texnet/<installed>``, else the checkout's ``<repo>/<checkout>``, else None."""
    package = Path(str(resources.files("texnet")))
    if (package / installed).is_dir():
        return package / installed
    repo = package.parent
    # pyproject.toml marks a checkout: never pick up some other distribution's top-level folder
    if (repo / checkout).is_dir() and (repo / "pyproject.toml").is_file():
        return repo / checkout
    return None


def config_dir() -> Path | None:
    """The folder of the bundled configs."""
    return _folder("configs", "configs")


def clip_dir() -> Path | None:
    """The folder of the bundled clips (and their licences, ``SOURCES.md``)."""
    return _folder("clips", "data")


def config_names() -> list[str]:
    """The names ``--config`` accepts besides paths: the bundled configs' file stems."""
    folder = config_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder else []


def resolve_config(arg: str | Path) -> Path:
    """A config path from ``--config``: an existing file as given, else a bundled config by name
    (``quickstart``, ``quickstart.yaml``, or ``configs/quickstart.yaml`` outside the repository).
    Raises ``ValueError`` (one line listing the names) for anything else."""
    p = Path(arg)
    if p.is_file():
        return p
    folder = config_dir()
    bare = p.parent in (Path("."), Path("configs"))
    if folder is not None and bare:
        stem = p.stem if p.suffix in CONFIG_SUFFIXES else p.name
        if (folder / f"{stem}.yaml").is_file():
            return folder / f"{stem}.yaml"
    names = ", ".join(config_names()) or "none installed"
    raise ValueError(f"--config {arg}: no such file and no bundled config of that name (bundled: {names})")


def resolve_clip(path: str | Path) -> Path:
    """``path`` when it exists; else, for ``data/<name>`` naming a bundled clip (as the bundled configs do),
    that clip; else ``path`` unchanged (the loader then says what is wrong with it)."""
    p = Path(path)
    if p.exists() or p.parent != Path("data"):
        return p
    folder = clip_dir()
    if folder is not None and (folder / p.name).is_file():
        return folder / p.name
    return p
