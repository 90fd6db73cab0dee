"""Keyframe planning: which scene frames a sound strip covers and what value each shape key gets.

Owns the timing maths between a sound strip and scene frames, and turns curves into per-shape-key
``(frames, values)`` arrays ready to write. Blender-free: the add-on reads a strip into
:class:`StripTiming` and hands the result to its keyframe writer.

Timing. Blender plays a sound strip's file from ``skip`` seconds at its left handle
(``frame_final_start``), where ``skip = (frame_offset_start + animation_offset_start) / fps -
sound_offset``; ``sound_offset`` exists from Blender 4.5 on (0 before) and a positive one DELAYS
the sound (measured with ``bpy.ops.sound.mixdown`` on 4.5 and 5.0: a click at 1.000 s of the file,
strip at scene 1.000 s, offset +0.25 s, is heard at 2.250 s; tests/blender/test_mixdown_timing.py
checks every case against the mixdown). So scene frame ``f`` plays file time
``skip + (f - frame_final_start) / fps``. With a lead of ``L`` seconds (positive: the mouth moves
before the sound, as real speakers do), frame ``f`` shows the mouth of file time
``skip + (f - frame_final_start) / fps + L``, and a curve sample at file time ``t`` lands on

    frame = frame_final_start + (t - skip) * fps - L * fps.

Default lead: visible articulation (lips, jaw) starts before the sound it shapes: a few tens of
milliseconds inside running speech and 100 ms or more at onsets after a pause (Schwartz &
Savariaux, PLoS Comput. Biol. 2014, who also refute the often-quoted fixed 150 ms). The model's
curves already carry that physiological lead (its targets lead by context: about 25-30 ms inside
speech, 40-80 ms at onsets; docs/articulation.md), so the lead here is an *extra* offset on top.
Viewers tolerate a mouth that is early far better than one that is late (ITU-R BT.1359: a sound
lag behind the picture becomes detectable at about 125 ms, a sound lead at about 45 ms), and
animators key mouths one or two frames early for that reason. 30 ms extra puts the total at
about 55-60 ms inside speech and 70-110 ms at onsets: inside the measured range and clear of
the detection threshold. The panel, the operator and the batch script can override it.

Frame rate: the add-on asks the worker for curves at the scene rate starting exactly at the
file time of the first keyed frame (:func:`plan`), so sample ``k`` lands on integer frame
``first_frame + k``; curves at any other rate or start are resampled here (linear) as a fallback.

Imports: numpy and lipsync_core (params, timing, mapping, retarget) only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import mapping as mapping_mod
from . import retarget
from .params import NUM_PARAMS
from .timing import resample_curves, smooth_curves

DEFAULT_LEAD_MS = 30.0        # milliseconds, extra to the model's own lead; + = mouth early
MIN_DURATION_S = 0.1          # seconds: shorter strips are refused
_EPS = 1e-6                   # frames: float slack when rounding frame positions


@dataclass(frozen=True)
class StripTiming:
    """What the maths needs of a sound strip and its scene (Blender-free)."""
    frame_start: float             # strip.frame_start (where file time `sound_offset` would play)
    frame_final_start: float       # left handle, after trims
    frame_final_end: float         # right handle, exclusive
    fps: float                     # scene fps / fps_base (29.97 = 30 / 1.001)
    sound_offset: float = 0.0      # seconds (strip.sound_offset, Blender 4.5+)
    animation_offset_start: float = 0.0   # frames (strip.animation_offset_start)
    file_duration: float | None = None    # seconds of the sound file, when known

    @property
    def skip(self) -> float:
        """File time in seconds played at the left handle."""
        frames = self.frame_final_start - self.frame_start + self.animation_offset_start
        return frames / self.fps - self.sound_offset          # + offset delays the sound

    @property
    def duration(self) -> float:
        """Seconds between the handles."""
        return (self.frame_final_end - self.frame_final_start) / self.fps

    def file_time(self, frame: float, lead_s: float = 0.0) -> float:
        """File time in seconds whose mouth shape frame ``frame`` shows."""
        return self.skip + (frame - self.frame_final_start) / self.fps + lead_s

    def frame_of(self, t: float, lead_s: float = 0.0) -> float:
        """Scene frame (fractional) on which a curve sample at file time ``t`` lands."""
        return self.frame_final_start + (t - self.skip) * self.fps - lead_s * self.fps


@dataclass(frozen=True)
class Plan:
    """The frames one job keys and the audio it asks the worker for."""
    first_frame: int      # first keyed scene frame
    last_frame: int       # last keyed scene frame (inclusive)
    start: float          # seconds of the file shown at first_frame (the predict request's start)
    end: float            # seconds of the file where the strip's audio ends (the request's end)
    fps: float            # scene frame rate (the predict request's fps)
    lead_s: float         # seconds

    @property
    def num_frames(self) -> int:
        return self.last_frame - self.first_frame + 1


def plan(timing: StripTiming, lead_ms: float = DEFAULT_LEAD_MS) -> Plan:
    """Frames to key for a strip: those whose shown file time lies in the strip's audio.

    The audio is ``[skip, skip + duration)`` clipped to the file (``[0, file_duration]``).
    Raises ValueError with one sentence when less than 0.1 s of audio remains.
    """
    if not (timing.fps > 0 and math.isfinite(timing.fps)):
        raise ValueError(f"The scene frame rate {timing.fps} is not usable; set a positive fps.")
    lead_s = lead_ms / 1000.0
    lo = max(timing.skip, 0.0)
    hi = timing.skip + timing.duration
    if timing.file_duration is not None:
        hi = min(hi, timing.file_duration)
    if hi - lo < MIN_DURATION_S:
        raise ValueError(f"The sound strip plays only {max(hi - lo, 0.0):.3f} s of audio; "
                         f"lip sync needs at least {MIN_DURATION_S} s, so lengthen the strip.")
    first = math.ceil(timing.frame_of(lo, lead_s) - _EPS)
    last = math.ceil(timing.frame_of(hi, lead_s) - _EPS) - 1        # half-open [lo, hi)
    last = max(last, first)
    # the first frame's file time is >= lo up to float rounding (-2.8e-17 s happens); never
    # ask for audio before lo, which the worker refuses when lo is the file's start
    start = max(timing.file_time(first, lead_s), lo)
    return Plan(first, last, start, hi, timing.fps, lead_s)


def curves_on_frames(frames: np.ndarray, curves_fps: float, start_time: float,
                     timing: StripTiming, job: Plan) -> np.ndarray:
    """Curves (T, 26) at ``curves_fps`` from file time ``start_time`` -> (num_frames, 26) on
    the integer frames ``job.first_frame .. job.last_frame``.

    When the curves are at the scene rate and start at ``job.start`` (what :func:`plan` asks
    the worker for) sample k is frame first_frame + k and nothing is interpolated.
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != NUM_PARAMS:
        raise ValueError(f"Curves must have shape (frames, {NUM_PARAMS}); got {frames.shape}.")
    if frames.shape[0] == 0:
        raise ValueError("The model returned no frames for this strip.")
    if abs(curves_fps - timing.fps) > 1e-6 * timing.fps:
        frames = resample_curves(frames, timing.fps, src_hz=curves_fps).astype(np.float64)
    positions = timing.frame_of(start_time, job.lead_s) + np.arange(frames.shape[0])  # (T,) frames
    wanted = np.arange(job.first_frame, job.last_frame + 1, dtype=np.float64)         # (N,)
    offset = positions[0] - job.first_frame
    if abs(offset - round(offset)) < 1e-3:                        # aligned: plain indexing
        idx = np.clip(np.arange(wanted.size) - int(round(offset)), 0, frames.shape[0] - 1)
        return frames[idx]
    return np.stack([np.interp(wanted, positions, frames[:, c]) for c in range(NUM_PARAMS)], axis=1)


def simplify(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the keys to keep so linear interpolation between them stays within
    ``tolerance`` of every dropped value (Ramer-Douglas-Peucker with vertical error).

    The first and last keys are always kept; any extreme that stands out of its neighbours'
    line by more than the tolerance is kept, because it is the worst-fitting point there.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n <= 2 or tolerance <= 0:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        x = np.arange(a + 1, b)
        line = values[a] + (values[b] - values[a]) * (x - a) / (b - a)
        err = np.abs(values[a + 1:b] - line)
        i = int(np.argmax(err))
        if err[i] > tolerance:
            m = a + 1 + i
            keep[m] = True
            stack.append((a, m))
            stack.append((m, b))
    return np.flatnonzero(keep)


@dataclass(frozen=True)
class KeySettings:
    """The knobs of one job, read once from the UI or the command line."""
    lead_ms: float = DEFAULT_LEAD_MS   # milliseconds, positive = mouth early
    intensity: float = 1.0             # multiplier before the [0, 1] clamp
    smoothing_ms: float = 0.0          # Gaussian sigma in milliseconds; 0 = off
    tolerance: float = 0.0             # 0 = a key on every frame; else the largest difference
                                       # the played curve may have from the full one
    interpolation: str = "BEZIER"      # of the written keys: "BEZIER" or "LINEAR"


def shape_key_keys(frames: np.ndarray, curves_fps: float, start_time: float,
                   timing: StripTiming, job: Plan, mapping: mapping_mod.Mapping,
                   settings: KeySettings) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per shape key the ``(frames (K,) float64, values (K,) float32)`` to key.

    curves -> integer scene frames -> smoothing -> retargeting by the mapping's convention
    (+ intensity, clamp) -> density.
    """
    on_frames = curves_on_frames(frames, curves_fps, start_time, timing, job)   # (N, 26)
    if settings.smoothing_ms > 0:
        on_frames = smooth_curves(on_frames, settings.smoothing_ms / 1000.0 * timing.fps)
    values = retarget.shape_values(on_frames, mapping, settings.intensity, timing.fps)
    scene_frames = np.arange(job.first_frame, job.last_frame + 1, dtype=np.float64)
    out = {}
    for key, v in values.items():
        idx = simplify(v, settings.tolerance)
        out[key] = (scene_frames[idx], v[idx])
    return out

