"""The batch manifest: which audio files to turn into curves, and how.

Three forms, told apart by extension:

- ``.txt`` (or anything else): one audio path per line; blank lines and ``#`` comments skipped;
- ``.csv``: a header with an ``audio`` column, optional ``id``, ``start``, ``end`` (seconds into
  the file), ``fps`` and ``language``;
- ``.jsonl``: one JSON object per line with the same keys.

Relative audio paths resolve against the manifest's folder. A line's ``id`` names its output
(``OUTDIR/<id>.<ext>``); by default it is the audio path relative to the manifest folder without
its extension (``en/line001``), else the file's stem. A problem with one line (a bad number, a
repeated id) becomes that line's error sentence; the other lines go on. A manifest that cannot be
read at all raises :class:`ManifestError`.

Imports: standard library only.
"""
from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

COLUMNS = ("audio", "id", "start", "end", "fps", "language")
_SAFE_ID = re.compile(r"^[\w.\-]+(/[\w.\-]+)*$")


class ManifestError(ValueError):
    """The manifest as a whole cannot be used; the message is one sentence for a person."""


@dataclass
class Line:
    number: int                       # 1-based line (row) number in the manifest, for messages
    audio: Path                       # absolute path of the audio file
    id: str                           # output name without extension, "/" makes subfolders
    start: float | None = None        # seconds into the file
    end: float | None = None          # seconds into the file
    fps: float | None = None          # frames per second of the output (None: the default)
    language: str = ""                # recorded in the summary; the model does not need it
    error: str | None = None          # set when the manifest entry itself is bad
    extra: dict[str, Any] = field(default_factory=dict)

    def to_task(self) -> dict[str, Any]:
        """What a worker needs, as plain data (crosses process and machine boundaries)."""
        return {"number": self.number, "audio": str(self.audio), "id": self.id,
                "start": self.start, "end": self.end, "fps": self.fps}


def _number(value: Any, name: str, where: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name} must be a number of seconds or frames per second, "
                         f"not {value!r}.") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{where}: {name} must be a finite number of zero or more, "
                         f"not {value!r}.")
    return number


def _default_id(audio: Path, base: Path) -> str:
    try:
        rel = PurePosixPath(audio.relative_to(base).as_posix())
    except ValueError:
        rel = PurePosixPath(audio.name)
    return str(rel.with_suffix("")) if rel.suffix else str(rel)


def _entry(number: int, row: dict[str, Any], base: Path) -> Line:
    where = f"manifest line {number}"
    audio_text = str(row.get("audio") or "").strip()
    if not audio_text:
        return Line(number, base, f"line{number:05d}", error=f"{where} has no audio path.")
    audio = Path(audio_text).expanduser()
    audio = audio if audio.is_absolute() else base / audio
    line = Line(number, audio, str(row.get("id") or "").strip() or _default_id(audio, base),
                language=str(row.get("language") or "").strip(),
                extra={k: v for k, v in row.items() if k not in COLUMNS})
    try:
        line.start = _number(row.get("start"), "start", where)
        line.end = _number(row.get("end"), "end", where)
        line.fps = _number(row.get("fps"), "fps", where)
        if line.fps is not None and not 0 < line.fps <= 1000:
            raise ValueError(f"{where}: fps must be between 0 and 1000, not {line.fps:g}.")
        if line.end is not None and line.end <= (line.start or 0.0):
            raise ValueError(f"{where}: end ({line.end:g} s) must come after start "
                             f"({line.start or 0:g} s).")
        if not _SAFE_ID.match(line.id) or ".." in line.id.split("/"):
            raise ValueError(f"{where}: id {line.id!r} cannot name a file; use letters, digits, "
                             "'_', '-', '.' and '/' for subfolders.")
    except ValueError as exc:
        line.error = str(exc)
    return line


def _rows_csv(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip() for f in (reader.fieldnames or [])]
    if "audio" not in fields:
        raise ManifestError(f"The CSV manifest {name!r} needs an 'audio' column in its header "
                            f"(it has {', '.join(fields) or 'no header'}).")
    reader.fieldnames = fields
    return [(i + 2, {k: v for k, v in row.items() if k is not None})
            for i, row in enumerate(reader)]


def _rows_jsonl(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for i, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            row = {"audio": "", "_error": f"manifest line {i} is not JSON ({exc.msg})."}
        if not isinstance(row, dict):
            row = {"audio": "", "_error": f"manifest line {i} must be a JSON object."}
        rows.append((i, row))
    return rows


def _rows_text(text: str) -> list[tuple[int, dict[str, Any]]]:
    return [(i, {"audio": raw.strip()}) for i, raw in enumerate(text.splitlines(), start=1)
            if raw.strip() and not raw.strip().startswith("#")]


def read_manifest(path: str | Path) -> list[Line]:
    """The lines of a manifest, in order; ManifestError if the file cannot be used at all."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"The manifest {str(path)!r} does not exist; give a text, CSV or "
                            "JSONL file listing the audio files.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"The manifest {str(path)!r} cannot be read as UTF-8 text "
                            f"({exc}).") from None
    base = path.resolve().parent
    suffix = path.suffix.lower()
    rows = _rows_csv(text, path.name) if suffix == ".csv" else \
        _rows_jsonl(text, path.name) if suffix in (".jsonl", ".ndjson") else _rows_text(text)
    if not rows:
        raise ManifestError(f"The manifest {str(path)!r} lists no audio files.")
    lines = []
    for number, row in rows:
        line = _entry(number, row, base)
        if row.get("_error"):
            line.error = row["_error"]
        lines.append(line)
    seen: dict[str, int] = {}
    for line in lines:                      # a repeated id would overwrite another's output
        if line.error is None:
            if line.id in seen:
                line.error = (f"manifest line {line.number}: id {line.id!r} repeats line "
                              f"{seen[line.id]}; give each line its own id.")
            else:
                seen[line.id] = line.number
    return lines
