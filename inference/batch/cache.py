"""Content-addressed results: a line's curves file is found again by what made it.

Key = sha256 over (the audio file's content hash, the model's identity, the settings that change
the output: start, end, fps and format). Entries live in ``CACHE/<key[:2]>/<key><ext>`` with a
small ``<key>.meta.json`` beside (frames, duration, note) written after the data, so a present
meta file means a complete entry; both writes are atomic (lipsync_core.atomic.write_bytes_atomic),
so a killed run leaves whole entries or none, and the next run resumes from them.

A line's output ``OUTDIR/<id><ext>`` is a hard link to its entry (a copy where links are not
possible, e.g. a cache on another disk); "already in place" is a stat call, which is what makes
a rerun with nothing changed take seconds. A run first sweeps what a killed one left: hidden
temporary files of atomic writes (after 10 minutes, since another run may share the cache) and
output links whose writer has died.

Imports: standard library, lipsync_core.atomic.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from lipsync_core.atomic import write_bytes_atomic

KEY_VERSION = "lipsync-batch-cache/1"
_READ_BLOCK = 1 << 20                  # bytes per read while hashing audio
STALE_TEMP_S = 600.0                   # seconds after which a hidden temporary file is litter


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def line_key(audio_sha256: str, model_identity: str, settings: dict[str, Any]) -> str:
    """The cache key of one line: hex sha256 of its inputs, settings in a canonical order."""
    blob = json.dumps({"v": KEY_VERSION, "audio": audio_sha256, "model": model_identity,
                       "settings": settings}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Cache:
    """A folder of finished results, shared by runs (and by machines, on shared storage)."""

    def __init__(self, root: str | os.PathLike, ext: str) -> None:
        self.root = Path(root)
        self.ext = ext                  # ".json", ".csv", ".npz" or ".livelink.csv"

    def data_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{self.ext}"

    def meta_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{self.ext}.meta.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The meta of a complete entry, or None."""
        try:
            meta = json.loads(self.meta_path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if self.data_path(key).is_file() else None

    def put(self, key: str, data: bytes, meta: dict[str, Any]) -> Path:
        """Store ``data`` and its meta (data first: the meta marks the entry complete)."""
        folder = self.root / key[:2]
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.data_path(key), data)
        write_bytes_atomic(self.meta_path(key), json.dumps(meta, sort_keys=True).encode("utf-8"))
        return self.data_path(key)

    def in_place(self, key: str, output: Path) -> bool:
        """True when ``output`` already holds this entry (the same file, or equal bytes)."""
        data = self.data_path(key)
        try:
            if os.path.samefile(output, data):
                return True
            if output.stat().st_size != data.stat().st_size:
                return False
            return output.read_bytes() == data.read_bytes()
        except OSError:
            return False

    def sweep(self, outdir: Path, max_age_s: float = STALE_TEMP_S) -> int:
        """Remove what killed runs left: output links whose writer is gone, and the hidden
        temporary files of atomic writes older than ``max_age_s`` (younger ones may belong to
        a run sharing this cache right now). Returns how many were removed."""
        removed, now = 0, time.time()
        for path in list(outdir.rglob(".*.link")):
            try:
                pid = int(path.name.rsplit(".", 2)[-2])
                os.kill(pid, 0)                       # still running: leave it
            except (ValueError, IndexError):
                continue
            except ProcessLookupError:
                path.unlink(missing_ok=True)
                removed += 1
            except PermissionError:
                continue
        for folder in (outdir, self.root):
            for path in list(folder.rglob(".*.tmp")) if folder.is_dir() else []:
                try:
                    if now - path.stat().st_mtime > max_age_s:
                        path.unlink()
                        removed += 1
                except OSError:
                    pass
        return removed

    def place(self, key: str, output: Path) -> None:
        """Make ``output`` hold this entry: a hard link, else a copy; atomic either way."""
        output.parent.mkdir(parents=True, exist_ok=True)
        data = self.data_path(key)
        tmp = output.with_name(f".{output.name}.{os.getpid()}.link")
        try:
            os.link(data, tmp)
            os.replace(tmp, output)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            write_bytes_atomic(output, data.read_bytes())
