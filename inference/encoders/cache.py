"""Where converted encoders live on disk, and whether a converted directory is complete.

Owns: the cache root (``$LIPSYNC_CACHE``, default ``~/.cache/lipsync``), the mapping from a hub id
to the name of its offline conversion, and the completeness check. May import: the standard library.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

# Hub ids that ``python -m inference fetch-encoder --name NAME`` can build offline, by hub id.
CONVERTIBLE: dict[str, str] = {"openai/whisper-base": "whisper-base"}

REQUIRED_FILES = ("config.json", "model.safetensors", "provenance.json")


def cache_root() -> Path:
    """``$LIPSYNC_CACHE`` or ``~/.cache/lipsync``."""
    env = os.environ.get("LIPSYNC_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lipsync"


def converted_dir(name: str) -> Path:
    """Default destination of a converted encoder, e.g. ``~/.cache/lipsync/encoders/whisper-base``."""
    return cache_root() / "encoders" / name


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def is_complete(directory: Path, verify: bool = False) -> bool:
    """True if ``directory`` holds a finished conversion (and, with ``verify``, its checksum holds)."""
    if not all((directory / name).is_file() for name in REQUIRED_FILES):
        return False
    if not verify:
        return True
    try:
        provenance = json.loads((directory / "provenance.json").read_text(encoding="utf-8"))
        expected = provenance["sha256"]["model.safetensors"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return sha256_file(directory / "model.safetensors") == expected


def find_converted(source: str) -> Path | None:
    """The complete offline conversion of hub id ``source`` in the cache, if there is one."""
    name = CONVERTIBLE.get(source)
    if name is None:
        return None
    directory = converted_dir(name)
    return directory if is_complete(directory) else None
