"""``python -m lipsync_runtime serve``: the worker the add-on spawns (see lipsync_runtime/worker.py)."""
import sys

from lipsync_runtime.cli import cli

sys.exit(cli())
