"""``texnet`` (or ``python -m texnet``): one command for everything.

    texnet train --config quickstart_waveform --out runs/rain                  # = train.py; a config by name or path
    texnet generate --ckpt runs/rain/last.ckpt --seconds 60 --out rain.wav    # = synthesize.py generate
    texnet export --ckpt runs/rain/last.ckpt --out rain.pt                    # TorchScript for plain PyTorch
    texnet library sounds/ --out runs/library                                  # = python -m texnet.library
"""
from __future__ import annotations

import sys

SYNTHESIS = ("optimize", "generate", "stylize", "stream", "evaluate", "export")


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while the libraries load, before a command handles it
        print("texnet: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = f"commands: train, library, {', '.join(SYNTHESIS)}; 'texnet COMMAND --help' for each"
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\n" + usage)
        return 0
    if argv and argv[0] in ("-V", "--version"):
        from importlib.metadata import version

        print(f"texnet {version('texnet')}")
        return 0
    if not argv or argv[0] not in ("train", "library", *SYNTHESIS):
        print(f"texnet: error: {'unknown command ' + repr(argv[0]) if argv else 'no command'}; {usage}", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "train":
        from .trainer_cli import main as train

        sys.argv = ["texnet train"]
        train(rest)
        return 0
    if command == "library":
        from .library import main as library

        return library(rest, prog="texnet library")
    from .cli import main as synthesize

    return synthesize([command, *rest], prog="texnet")


if __name__ == "__main__":
    sys.exit(main())
