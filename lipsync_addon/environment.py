"""How the inference worker is started: which Python, which import paths, model, device, log.

The worker is ``PYTHON -m lipsync_runtime serve`` (lipsync_core/protocol.py). PYTHON is, first
found wins:
1. "Use this Python instead" in the add-on preferences (optional, never needed);
2. the environment variable ``LIPSYNC_PYTHON`` (developers, farms);
3. Blender's own Python (``sys.executable``), the normal case.

The extension's wheels (onnxruntime, soundfile, soxr, ...; ``wheels`` in the manifest) are
installed by Blender into a site-packages folder of its own that Blender puts on its
``sys.path`` but a child Python does not see, so the worker gets the extension root and those
folders on PYTHONPATH (:func:`wheel_paths`). With another Python only the root is passed: the
wheels were chosen for Blender's Python version. Blender's Allow Online Access switched off gives
the worker ``HF_HUB_OFFLINE=1`` (only the optional torch path could download anything). The
worker's stderr goes to ``worker.log`` in the extension's user folder (:func:`log_path`).

Imports: standard library, bpy (for paths and preferences only).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import bpy

from . import worker_client

ROOT = Path(__file__).resolve().parent.parent     # extension root: lipsync_runtime/, lipsync_core/
TOP_PACKAGE = (__package__ or "lipsync_addon").rpartition(".")[0] or "lipsync_addon"
RUNTIME_MODEL = ROOT / "assets" / "runtime"       # the shipped model (config.json, *.onnx)
DEVICES = ("AUTO", "CPU", "CUDA", "DIRECTML", "COREML")   # the preference's items, in order


class EnvironmentMissing(Exception):
    """The worker cannot be started as configured; the message says what to change."""


def preferences() -> Any | None:
    """This add-on's preferences, or None when it is not loaded as an add-on (tests, scripts)."""
    prefs = bpy.context.preferences
    addon = prefs.addons.get(TOP_PACKAGE) if prefs is not None else None
    return addon.preferences if addon is not None else None


def user_dir() -> Path:
    """The extension's writable per-user folder (a config folder when not installed)."""
    try:
        return Path(bpy.utils.extension_path_user(TOP_PACKAGE, path="", create=True))
    except ValueError:                    # not an extension: running from the repository
        return Path(bpy.utils.user_resource("CONFIG", path="lipsync", create=True))


def log_path() -> Path:
    """Where the worker's messages (stderr) are written; Open Log shows this file."""
    return user_dir() / "worker.log"


def online_access() -> bool:
    """Blender's Allow Online Access (4.2+); True where Blender has no such setting."""
    return bool(getattr(bpy.app, "online_access", True))


def wheel_paths() -> list[str]:
    """The site-packages folders Blender installed extension wheels into, as on ``sys.path``.

    Blender uses ``<extensions>/.local/lib/pythonX.Y/site-packages`` (one per extensions
    directory); a folder is listed only when it exists.
    """
    tail = os.path.join(".local", "lib", "python{}.{}".format(*sys.version_info[:2]),
                        "site-packages")
    found = [p for p in sys.path if os.path.normpath(p).endswith(tail)]
    try:
        user = os.path.join(bpy.utils.user_resource("EXTENSIONS"), tail)
    except (AttributeError, ValueError, TypeError):       # very old Blender: no extensions
        user = ""
    if user and user not in found:
        found.append(user)
    out: list[str] = []
    for path in found:
        if os.path.isdir(path) and path not in out:
            out.append(path)
    return out


def interpreter() -> tuple[str, str]:
    """``(path, source)`` of the worker's Python; source: "preferences" | "LIPSYNC_PYTHON" |
    "Blender". Raises EnvironmentMissing for a preference path that does not exist."""
    prefs = preferences()
    path = bpy.path.abspath(prefs.python_path) if prefs is not None and prefs.python_path else ""
    if path:
        if not os.path.isfile(path):
            raise EnvironmentMissing(f"The Python set in the Lip Sync preferences ({path}) does "
                                     "not exist; fix the path or clear it to use Blender's own.")
        return path, "preferences"
    env = os.environ.get("LIPSYNC_PYTHON", "").strip()
    if env:
        return env, "LIPSYNC_PYTHON"
    return sys.executable, "Blender"


def device_choice() -> str:
    """The --device the worker gets: auto | cpu | cuda | directml | coreml."""
    prefs = preferences()
    if prefs is not None:
        return str(prefs.device).lower()
    return os.environ.get("LIPSYNC_DEVICE", "auto").strip().lower() or "auto"


def worker_config() -> worker_client.WorkerConfig:
    prefs = preferences()
    model = bpy.path.abspath(prefs.model_dir) if prefs is not None and prefs.model_dir else ""
    model = model or os.environ.get("LIPSYNC_MODEL", "")
    python, source = interpreter()
    paths = tuple(wheel_paths()) if source == "Blender" else ()
    return worker_client.WorkerConfig(
        python=python, root=str(ROOT), model=model, device=device_choice(), paths=paths,
        offline=not online_access(), log=str(log_path()))
