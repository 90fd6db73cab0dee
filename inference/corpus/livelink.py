"""Capture data: a Live Link Face CSV (iPhone, 52 ARKit blendshapes per frame) plus its audio
becomes a corpus utterance whose targets are the 26 mouth parameters at 50 Hz.

CSV: a header ``Timecode,BlendShapeCount,EyeBlinkLeft,...,JawOpen,MouthClose,...,TongueOut,
HeadYaw,...`` and one row per captured frame. Blendshape columns are matched to ARKit names
case-insensitively (``JawOpen`` is ARKit ``jawOpen``); head and eye rotations are ignored.

Timecode ``HH:MM:SS:FF.fff``: FF is the frame number inside the second at the CSV's frame rate
and ``.fff`` the fraction of a frame (sub-frame), so t = 3600 HH + 60 MM + SS + (FF + 0.fff) / fps.
The frame rate is given (``fps``) or inferred as the standard rate (24, 25, 30, 48, 50, 60) just
above the largest FF seen. Times are taken relative to the first row, which Live Link Face
starts together with its audio; ``offset`` (seconds) shifts the capture against the audio.

ARKit -> parameters, written generically from the ``arkit_positive`` / ``arkit_negative`` names
that lipsync_core.params records for each parameter (the inverse of the add-on's mapping):
- unsigned parameter: the MEAN of its positive blendshapes (mouth_open averages the four
  mouthLowerDown/mouthUpperUp Left/Right shapes; mouth_dimple averages left and right);
- signed parameter: mean(positive) - mean(negative) (jaw_shift = jawLeft - jawRight,
  lip_corner_left = mouthSmileLeft - mouthFrownLeft, mouth_shift = mouthLeft - mouthRight);
- a parameter with no ARKit shape (tongue_up) keeps its rest value and is listed in the json as
  unknown (``"targets_unknown"``), so a trainer can mask it.
The 60 fps curves are resampled to 50 Hz by linear interpolation at t = k / 50 s,
k = 0 .. ceil(samples / 320) - 1, holding the end values beyond the capture.

Imports: numpy, soundfile, standard library, lipsync_core.params.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from lipsync_core.params import FRAME_RATE_HZ, NUM_PARAMS, PARAM_NAMES, PARAMS

from .format import SAMPLE_RATE, split_for, to_16k, write_json_atomic, write_manifest
from .format import write_wav_atomic

HOP = int(SAMPLE_RATE / FRAME_RATE_HZ)     # 320 samples per 50 Hz frame
STANDARD_FPS = (24, 25, 30, 48, 50, 60, 120)
_TIMECODE = re.compile(r"^(\d+):(\d+):(\d+)[:;](\d+)(?:\.(\d+))?$")


def parse_timecode(text: str, fps: float) -> float:
    """Seconds of ``HH:MM:SS:FF[.fff]`` at ``fps`` (``.fff`` is a fraction of a frame)."""
    match = _TIMECODE.match(text.strip())
    if not match:
        raise ValueError(f"Timecode {text!r} is not HH:MM:SS:FF.fff as Live Link Face writes it.")
    hh, mm, ss, ff = (int(g) for g in match.groups()[:4])
    sub = float("0." + match.group(5)) if match.group(5) else 0.0
    return hh * 3600 + mm * 60 + ss + (ff + sub) / fps


def infer_fps(frame_numbers: list[int]) -> float:
    top = max(frame_numbers) if frame_numbers else 0
    for fps in STANDARD_FPS:
        if top < fps:
            return float(fps)
    return float(top + 1)


def read_livelink_csv(path: Path, fps: float | None = None
                      ) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """(times in s from the first row, {arkit name lower-case: (rows,) weights}, fps)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2 or not rows[0] or rows[0][0].strip().lower() != "timecode":
        raise ValueError(f"{path} is not a Live Link Face CSV (first column must be Timecode).")
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if r and r[0].strip()]
    frames = []
    for r in body:
        m = _TIMECODE.match(r[0].strip())
        if not m:
            raise ValueError(f"{path}: timecode {r[0]!r} is not HH:MM:SS:FF.fff.")
        frames.append(int(m.group(4)))
    fps = float(fps) if fps else infer_fps(frames)
    times = np.array([parse_timecode(r[0], fps) for r in body])
    times -= times[0]
    if np.any(np.diff(times) < 0):
        raise ValueError(f"{path}: timecodes go backwards (a midnight wrap or a wrong --fps).")
    shapes = {}
    for j, name in enumerate(header):
        if j < 2:
            continue
        try:
            shapes[name.lower()] = np.array([float(r[j]) for r in body], dtype=np.float64)
        except (ValueError, IndexError):
            continue
    return times, shapes, fps


def arkit_to_params(shapes: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """(rows, 26) parameters from ARKit weights (lower-case names); also the unknown names."""
    rows = len(next(iter(shapes.values()))) if shapes else 0
    out = np.zeros((rows, NUM_PARAMS), dtype=np.float64)
    unknown = []

    def mean_of(names: tuple[str, ...]) -> np.ndarray | None:
        found = [shapes[n.lower()] for n in names if n.lower() in shapes]
        return np.mean(found, axis=0) if found else None

    for p in PARAMS:
        pos, neg = mean_of(p.arkit_positive), mean_of(p.arkit_negative)
        if pos is None and neg is None:
            out[:, p.index] = p.rest
            unknown.append(p.name)
            continue
        value = (pos if pos is not None else 0.0) - (neg if neg is not None else 0.0)
        out[:, p.index] = np.clip(value, p.low, p.high)
    return out, unknown


def to_frames(times: np.ndarray, values: np.ndarray, n_frames: int, offset: float = 0.0
              ) -> np.ndarray:
    """(n_frames, 26) float32 at t = k / 50 s by linear interpolation (ends held)."""
    t = np.arange(n_frames) / FRAME_RATE_HZ
    src = times + offset
    return np.stack([np.interp(t, src, values[:, j]) for j in range(values.shape[1])],
                    axis=1).astype(np.float32)


def import_livelink(csv_path: Path, audio_path: Path, out: Path, lang: str = "en",
                    voice: str = "livelink", text: str = "", fps: float | None = None,
                    offset: float = 0.0, utt_id: str | None = None) -> dict[str, Any]:
    """Write <out>/<lang>/<voice>/<id>.wav, <id>.targets.npy and <id>.json; return the json."""
    import soundfile as sf
    times, shapes, fps = read_livelink_csv(Path(csv_path), fps)
    values, unknown = arkit_to_params(shapes)
    if len(unknown) == NUM_PARAMS:
        raise ValueError(f"{csv_path} has no ARKit blendshape columns this tool knows.")
    audio, sr = sf.read(audio_path, dtype="float32", always_2d=False)
    audio16k = to_16k(audio, sr)
    duration = len(audio16k) / SAMPLE_RATE
    n_frames = math.ceil(len(audio16k) / HOP)
    targets = to_frames(times, values, n_frames, offset)      # (frames, 26) at 50 Hz
    utt_id = utt_id or re.sub(r"[^A-Za-z0-9_.-]", "_", Path(csv_path).stem)
    folder = Path(out) / lang / voice
    folder.mkdir(parents=True, exist_ok=True)
    write_wav_atomic(folder / f"{utt_id}.wav", audio16k)
    tmp = folder / f".{utt_id}.targets.tmp.npy"
    np.save(tmp, targets)
    tmp.replace(folder / f"{utt_id}.targets.npy")
    record = {
        "id": utt_id, "text": text, "lang": lang, "voice": voice, "engine": "livelink",
        "notation": None, "phones": None, "targets_file": f"{utt_id}.targets.npy",
        "targets_params": list(PARAM_NAMES), "targets_unknown": unknown,
        "duration": round(duration, 6), "augment": None, "licence": "user capture",
        "split": split_for(lang, text or utt_id),
        "capture": {"csv": Path(csv_path).name, "fps": fps, "rows": int(len(times)),
                    "offset_s": offset},
    }
    write_json_atomic(folder / f"{utt_id}.json", record)
    write_manifest(out)
    return record
