"""``OUTDIR/summary.json``: what a batch run did, line by line.

{"format": "lipsync-batch-summary/1", "manifest", "outdir", "file_format", "engine", "workers",
 "model": {"identity", ...}, "device", "counts": {"done", "cached", "failed"}, "seconds",
 "lines_per_minute", "peak_rss_mb", "lines": [{"line", "id", "audio", "language", "status",
 "duration", "seconds", "frames", "output", "pack", "note", "error"}, ...]}

status: "done" (computed now), "cached" (taken from the cache) or "failed" (``error`` says why in
one sentence). ``duration`` is the audio covered in seconds, ``seconds`` the compute time (its
share of its pack's), ``pack`` the pack of lines it was encoded with (inference.batch.packing),
``note`` "silent" for a line with no speech (a valid resting mouth, not an error). Written
atomically, at the end of a run (and when it is interrupted).

Imports: standard library, lipsync_core.atomic.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lipsync_core.atomic import write_bytes_atomic

FORMAT = "lipsync-batch-summary/1"
STATUSES = ("done", "cached", "failed")


def new_record(line: Any) -> dict[str, Any]:
    """The summary entry of a manifest line before anything ran."""
    return {"line": line.number, "id": line.id, "audio": str(line.audio),
            "language": line.language, "status": "pending", "duration": None, "seconds": None,
            "frames": None, "output": None, "pack": None, "note": "", "error": line.error}


def counts(records: list[dict[str, Any]]) -> dict[str, int]:
    out = {status: 0 for status in STATUSES}
    for record in records:
        out[record["status"]] = out.get(record["status"], 0) + 1
    return out


def write_summary(outdir: Path, summary: dict[str, Any]) -> Path:
    path = Path(outdir) / "summary.json"
    text = json.dumps({"format": FORMAT, **summary}, ensure_ascii=False, indent=1)
    write_bytes_atomic(path, (text + "\n").encode("utf-8"))
    return path
