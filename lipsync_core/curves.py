"""The curves file format ``lipsync-curves/1``: what predict writes and the add-on reads.

A :class:`Curves` is (frames, 26) values at ``fps`` frames per second, frame k at
``start_time + k / fps`` seconds of the audio file, with the parameter names (the schema's, in
order) and a small summary of the model that made it. Three encodings, chosen by extension:

- ``.json``: {"format": "lipsync-curves/1", "fps": F, "start_time": S, "params": [26 names],
  "frames": [[26 floats], ...], "model": {...}}
- ``.csv``: a ``time`` column in seconds, then one column per parameter name (no fps or model:
  fps is recovered from the times);
- ``.npz``: arrays ``frames`` (N, 26) float32, ``params``, ``fps``, ``start_time``, ``format`` and
  ``model`` (a JSON string); read without pickle.

Writes are atomic (a temporary file in the same directory, then ``os.replace``); reads validate
the parameter names against the schema and say what is wrong in one sentence.

Imports: standard library, numpy and lipsync_core.params only.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_bytes_atomic

from .params import NUM_PARAMS, PARAM_NAMES, check_names

FORMAT = "lipsync-curves/1"
EXTENSIONS = (".json", ".csv", ".npz")
_DECIMALS = 6          # JSON/CSV precision: 1e-6 is far below anything a shape key shows
# frames per second a CSV's time column is snapped to when it matches within 0.01 %
_COMMON_FPS = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0,
               100.0, 120.0)


class CurvesError(ValueError):
    """A curves file or object that cannot be read or written; the message is for a person."""


@dataclass(frozen=True)
class Curves:
    fps: float                          # frames per second (50.0 = the model's rate)
    start_time: float                   # seconds into the audio file of frame 0
    params: tuple[str, ...]             # the 26 parameter names, schema order
    frames: np.ndarray                  # (N, 26) float32, frame k at start_time + k / fps
    model: dict[str, Any] = field(default_factory=dict)   # summary of the checkpoint

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames, dtype=np.float32)
        if frames.ndim != 2 or frames.shape[1] != NUM_PARAMS:
            raise CurvesError(f"Curves need (frames, {NUM_PARAMS}) values; got shape "
                              f"{tuple(frames.shape)}.")
        if not np.all(np.isfinite(frames)):
            raise CurvesError("Curves contain NaN or infinite values; the model output is broken.")
        if not (isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and self.fps > 0):
            raise CurvesError(f"Curves need a positive frame rate; got {self.fps!r}.")
        try:
            check_names(self.params)
        except ValueError as exc:
            raise CurvesError(str(exc)) from None
        frames.setflags(write=False)
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "fps", float(self.fps))
        object.__setattr__(self, "start_time", float(self.start_time))

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered: num_frames / fps."""
        return self.num_frames / self.fps

    def times(self) -> np.ndarray:
        """(N,) seconds into the audio file of each frame."""
        return self.start_time + np.arange(self.num_frames, dtype=np.float64) / self.fps

    def column(self, name: str) -> np.ndarray:
        """(N,) values of one parameter by name."""
        return self.frames[:, self.params.index(name)]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the format (also the worker's inline result)."""
        return {"format": FORMAT, "fps": self.fps, "start_time": self.start_time,
                "params": list(self.params),
                "frames": np.round(self.frames.astype(np.float64), _DECIMALS).tolist(),
                "model": self.model}

    @classmethod
    def from_dict(cls, data: Any) -> "Curves":
        if not isinstance(data, dict):
            raise CurvesError("A curves object must be a JSON object.")
        if data.get("format") != FORMAT:
            raise CurvesError(f"Not a {FORMAT} object (format is {data.get('format')!r}).")
        try:
            frames = np.asarray(data["frames"], dtype=np.float32)
            if frames.size == 0:
                frames = frames.reshape(0, NUM_PARAMS)
            return cls(fps=float(data["fps"]), start_time=float(data.get("start_time", 0.0)),
                       params=tuple(data["params"]), frames=frames,
                       model=dict(data.get("model") or {}))
        except KeyError as exc:
            raise CurvesError(f"The curves object has no {exc.args[0]!r} field.") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, CurvesError):
                raise
            raise CurvesError(f"The curves object is malformed ({exc}).") from None


def _format_of(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in EXTENSIONS:
        raise CurvesError(f"Cannot tell the curves format of {path.name!r}; use a name ending "
                          "in .json, .csv or .npz.")
    return ext


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (lipsync_core.atomic, the one helper)."""
    write_bytes_atomic(path, data)


def encode_curves(curves: Curves, ext: str) -> bytes:
    """The bytes of ``curves`` in the format of extension ``ext`` (".json", ".csv", ".npz")."""
    if ext == ".json":
        return json.dumps(curves.to_dict(), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")
    if ext == ".csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["time", *curves.params])
        for t, row in zip(curves.times(), curves.frames):
            writer.writerow([f"{t:.6f}", *(f"{v:.{_DECIMALS}f}" for v in row)])
        return text.getvalue().encode("utf-8")
    if ext == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(buffer, format=np.array(FORMAT), fps=np.array(curves.fps),
                            start_time=np.array(curves.start_time),
                            params=np.array(curves.params), frames=curves.frames,
                            model=np.array(json.dumps(curves.model, ensure_ascii=False)))
        return buffer.getvalue()
    raise CurvesError(f"Unknown curves format {ext!r}; use .json, .csv or .npz.")


def write_curves(path: str | os.PathLike, curves: Curves) -> Path:
    """Write ``curves`` atomically in the format its extension names; returns the path."""
    path = Path(path)
    data = encode_curves(curves, _format_of(path))
    if not path.parent.is_dir():
        raise CurvesError(f"The folder {str(path.parent)!r} does not exist; create it first.")
    atomic_write_bytes(path, data)
    return path


def _read_csv(text: str) -> Curves:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0] or rows[0][0] != "time":
        raise CurvesError("A curves CSV must start with a header whose first column is 'time'.")
    names = tuple(rows[0][1:])
    try:
        check_names(names)
        values = np.array([[float(v) for v in row] for row in rows[1:] if row], dtype=np.float64)
    except ValueError as exc:
        raise CurvesError(f"The curves CSV cannot be read: {exc}") from None
    values = values.reshape(-1, NUM_PARAMS + 1)
    times = values[:, 0]
    fps = 50.0
    if len(times) >= 2 and times[-1] > times[0]:
        fps = (len(times) - 1) / (times[-1] - times[0])
        for common in _COMMON_FPS:               # undo the rounding of the written times
            if abs(fps - common) < 1e-4 * common:
                fps = common
                break
    start = float(times[0]) if len(times) else 0.0
    return Curves(fps=fps, start_time=start, params=names, frames=values[:, 1:])


def _read_npz(path: Path) -> Curves:
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != FORMAT:
                raise CurvesError(f"{path.name} is not a {FORMAT} file.")
            return Curves(fps=float(data["fps"]), start_time=float(data["start_time"]),
                          params=tuple(str(n) for n in data["params"]),
                          frames=np.asarray(data["frames"], dtype=np.float32),
                          model=json.loads(str(data["model"])))
    except KeyError as exc:
        raise CurvesError(f"{path.name} has no {exc.args[0]!r} array; it is not a curves "
                          "file.") from None


def read_curves(path: str | os.PathLike) -> Curves:
    """Read a curves file (.json, .csv or .npz); CurvesError with one sentence otherwise."""
    path = Path(path)
    ext = _format_of(path)
    if not path.is_file():
        raise CurvesError(f"The curves file {str(path)!r} does not exist.")
    try:
        if ext == ".npz":
            return _read_npz(path)
        text = path.read_text(encoding="utf-8")
        if ext == ".csv":
            return _read_csv(text)
        return Curves.from_dict(json.loads(text))
    except CurvesError:
        raise
    except (ValueError, OSError) as exc:
        raise CurvesError(f"{path.name} is not a readable curves file ({exc}).") from None
