"""Which engine a command runs: the ONNX Runtime one that ships, or the torch one.

Owns ``--backend auto|onnx|torch`` for ``predict``, ``serve``, ``bench`` and ``evaluate``:
- onnx: lipsync_runtime.engine on a runtime model folder (default: assets/runtime);
- torch: inference.pipeline.LipSyncEngine on a training checkpoint (default: assets/model), for
  checkpoints not exported yet (``python -m inference export`` makes the runtime folder);
- auto (the default): torch only when ``--model`` names a training checkpoint, else onnx.

Imports: standard library, lipsync_runtime; torch (through inference.pipeline) only for torch.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from lipsync_runtime.providers import DEVICES  # noqa: F401 (the --device choices)

BACKENDS = ("auto", "onnx", "torch")
TORCH_DEVICES = ("auto", "cpu", "cuda")
log = logging.getLogger(__name__)


def add_backend_argument(parser: Any) -> None:
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="onnx: the runtime model that ships (default); torch: a training "
                             "checkpoint not exported yet; auto: torch only for a checkpoint")


def split_backend(argv: list[str]) -> tuple[str, list[str], str | None]:
    """(backend, the other arguments, an error sentence or None) from a command line."""
    rest, backend = [], "auto"
    items = iter(argv)
    for item in items:
        if item == "--backend" or item.startswith("--backend="):
            value = item.split("=", 1)[1] if "=" in item else next(items, "")
            if value not in BACKENDS:
                return backend, rest, f"--backend must be one of {', '.join(BACKENDS)}, not {value!r}."
            backend = value
        else:
            rest.append(item)
    return backend, rest, None


def is_checkpoint(model: str | None) -> bool:
    """True when ``model`` is a training checkpoint folder (lipsync-checkpoint/1)."""
    if not model:
        return False
    try:
        config = json.loads((Path(model) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and str(config.get("format", "")).startswith("lipsync-checkpoint")


def resolve_backend(model: str | None, backend: str) -> str:
    if backend == "auto":
        backend = "torch" if is_checkpoint(model) else "onnx"
        if backend == "torch":
            log.info("%s is a training checkpoint: running it with torch", model)
    return backend


def open_engine(model: str | None, device: str, backend: str = "auto", **options: Any) -> Any:
    """The engine for ``model`` on ``device``; ``options`` go to its constructor."""
    if resolve_backend(model, backend) == "torch":
        if device not in TORCH_DEVICES:
            from lipsync_runtime.errors import ModelError
            raise ModelError(f"The torch backend runs on {', '.join(TORCH_DEVICES)}, not "
                             f"{device!r}; export the model to use {device}.")
        from ..pipeline import LipSyncEngine
        return LipSyncEngine(model, device=device, **options)
    from lipsync_runtime.engine import load_engine
    return load_engine(model, device=device, **options)
