"""Where the inference worker's Python comes from, and the managed environment's commands.

Interpreter, first found wins:
1. the path set in the add-on preferences;
2. the managed venv in the extension's user directory (``extension_path_user(.., "venv")``);
3. the environment variable ``LIPSYNC_PYTHON``;
4. the Python running Blender's code, if it can import torch (true under the pip ``bpy`` wheel
   in a venv that has torch; never for a stock Blender).

The managed environment is a venv made by Blender's own Python, into which pip installs the
extension's ``requirements.txt`` (torch pinned; the CPU or CUDA wheel index chosen in the
preferences), after which ``python -m inference fetch-encoder`` obtains the default encoder.

Imports: standard library, bpy (for paths and preferences only).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy

from . import worker_client

ROOT = Path(__file__).resolve().parent.parent          # extension root: inference/, lipsync_core/
TOP_PACKAGE = (__package__ or "lipsync_addon").rpartition(".")[0] or "lipsync_addon"
TORCH_INDEX = {
    "CPU": "https://download.pytorch.org/whl/cpu",
    "CUDA": "https://download.pytorch.org/whl/cu128",
}


class EnvironmentMissing(Exception):
    """No interpreter with torch was found; the message says how to get one."""


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


def venv_dir() -> Path:
    return user_dir() / "venv"


def venv_python(venv: Path | None = None) -> Path:
    venv = venv or venv_dir()
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


@dataclass(frozen=True)
class Interpreter:
    path: str
    source: str            # "preferences" | "managed" | "LIPSYNC_PYTHON" | "this Python"


_torch_ok: dict[str, bool] = {}


def _has_torch(python: str) -> bool:
    if python not in _torch_ok:
        _torch_ok[python] = worker_client.can_import_torch(python)
    return _torch_ok[python]


def find_interpreter() -> Interpreter:
    prefs = preferences()
    path = bpy.path.abspath(prefs.python_path) if prefs is not None and prefs.python_path else ""
    if path:
        if not os.path.isfile(path):
            raise EnvironmentMissing(f"The Python set in the Lip Sync preferences ({path}) does "
                                     "not exist; fix the path or clear it.")
        return Interpreter(path, "preferences")
    managed = venv_python()
    if managed.is_file():
        return Interpreter(str(managed), "managed")
    env = os.environ.get("LIPSYNC_PYTHON", "")
    if env:
        return Interpreter(env, "LIPSYNC_PYTHON")
    if _has_torch(sys.executable):
        return Interpreter(sys.executable, "this Python")
    raise EnvironmentMissing("No Python with PyTorch was found; press Set Up Environment in the "
                             "Lip Sync add-on preferences, or set the path of a Python that has "
                             "torch and transformers.")


def worker_config() -> worker_client.WorkerConfig:
    prefs = preferences()
    model = bpy.path.abspath(prefs.model_dir) if prefs is not None and prefs.model_dir else ""
    device = prefs.device.lower() if prefs is not None else os.environ.get("LIPSYNC_DEVICE", "auto")
    model = model or os.environ.get("LIPSYNC_MODEL", "")
    return worker_client.WorkerConfig(find_interpreter().path, str(ROOT), model, device)


def setup_commands(build: str = "CPU", venv: Path | None = None) -> list[list[str]]:
    """The commands that create and fill the managed environment, in order."""
    venv = venv or venv_dir()
    py = str(venv_python(venv))
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    return [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        pip + ["--upgrade", "pip"],
        pip + ["--extra-index-url", TORCH_INDEX[build], "-r", str(ROOT / "requirements.txt")],
        [py, "-m", "inference", "fetch-encoder"],
    ]
