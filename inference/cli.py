"""``python -m inference COMMAND ...``: one dispatcher, each command in the module that owns it.

Every command module exposes ``main(argv: list[str]) -> int`` and handles its own arguments,
errors and exit code (0 done, 1 failure, 2 usage). Modules are imported lazily so ``--help`` and
usage errors never pay for importing torch.
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "predict": ("inference.commands.predict", "audio -> curves file (.json, .csv, .npz)"),
    "serve": ("inference.worker", "the warm JSON Lines worker the Blender add-on spawns"),
    "batch": ("inference.batch.cli", "many audio files -> curves files, cached, local or Ray"),
    "bench": ("inference.bench", "speed of encoder and head on 10 s and 60 s of speech"),
    "export": ("inference.export", "checkpoint -> runtime model folder (ONNX) that ships"),
    "fetch-encoder": ("inference.encoders.fetch", "obtain the default speech encoder offline-ready"),
    "corpus": ("inference.corpus.cli", "build, align, augment and import training corpora"),
    "phones": ("inference.articulation.cli", "phone timings -> curves (text-assisted engine)"),
    "train": ("inference.training.train", "train a head from a config file"),
    "distill-windows": ("inference.training.distill",
                        "fine-tune a head for clip-length encoder windows (short lines)"),
    "evaluate": ("inference.training.evaluate", "score a model against reference phones/targets"),
}


def usage() -> str:
    lines = ["usage: python -m inference COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<14} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines.append("\n'python -m inference COMMAND --help' describes a command.")
    return "\n".join(lines)


def cli(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"Unknown command {name!r}; run 'python -m inference --help' for the list.",
              file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)
