"""``python -m lipsync_runtime COMMAND``: what the extension runs with Blender's own Python.

One command today, ``serve`` (the warm JSON Lines worker). The developer commands (predict,
bench, export, train, ...) are ``python -m inference``'s.

Imports: standard library; lipsync_runtime.worker lazily.
"""
from __future__ import annotations

import sys

USAGE = "usage: python -m lipsync_runtime serve [--model DIR] [--device DEVICE] [--verbose]"


def cli(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] != "serve":
        print(f"Unknown command {argv[0]!r}; {USAGE}", file=sys.stderr)
        return 2
    from .worker import main
    return int(main(argv[1:]) or 0)
