"""``python -m inference serve``: the runtime's worker (lipsync_runtime/worker.py), on the runtime
model by default, or on a training checkpoint with ``--backend torch`` (or when ``--model`` names
one). Everything but building the engine is the runtime's code.

Imports: lipsync_runtime.worker, inference.commands.backend.
"""
from __future__ import annotations

import sys

from lipsync_runtime import worker

from .commands.backend import DEVICES, open_engine, split_backend

PROG = "python -m inference serve"


def main(argv: list[str]) -> int:
    backend, rest, error = split_backend(argv)
    if error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    return worker.main(rest, engine_factory=lambda model, device: open_engine(model, device,
                                                                             backend),
                       devices=DEVICES, prog=PROG)
