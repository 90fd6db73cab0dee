"""Curves -> a Live Link Face CSV (the iPhone app's take format, ARKit's 52 blendshapes).

Owns the writing side of the format; ``inference/corpus/livelink.py`` reads captures of it.
The layout is the app's own: a header ``Timecode,BlendShapeCount,`` then the 52 blendshape names
in the app's order (PascalCase, :data:`LIVELINK_BLENDSHAPES`), then nine head and eye rotations
(:data:`LIVELINK_ROTATIONS`), and one row per frame. ``BlendShapeCount`` is 61 (52 + 9), as the
app writes it. Rotations are written as 0: the model drives the mouth, not the head or eyes.

Timecode ``HH:MM:SS:FF.fff``: FF is the frame inside the second at the CSV's nominal rate
(``round(fps)``) and ``.fff`` the fraction of a frame, so frame k of curves at ``fps`` lands at
t = start_time + k / fps exactly even for 29.97 fps, and the corpus reader recovers t.

Blendshape values: the ARKit preset of lipsync_core.mapping (derived from each parameter's
``arkit_positive`` / ``arkit_negative`` names in lipsync_core.params) retargeted by ARKit's own
convention (lipsync_core.retarget.shape_values, as the add-on keys an ARKit rig) at intensity 1:
MouthClose is the closure's strength times JawOpen, so it never exceeds JawOpen, as captured
ARKit data and Unreal/Maya ARKit rigs expect; the jaw opens a little through a seal and the lip
openers and the funnel give way to a closure (the lower lip's openers and the jaw to an f/v
tuck). Otherwise an unsigned parameter drives its shapes,
a signed one its + shapes with max(v, 0) and its - shapes with max(-v, 0); a shape named by
several parameters (mouthUpperUpLeft by mouth_open and upper_lip_up_left) takes the mean of their
contributions. Shapes no parameter drives (eyes, brows, nose) are 0. Values are clamped to [0, 1].
A round trip through inference/corpus/livelink.py gives the parameters back exactly where the
mouth is not closing (mouth_close 0); a closure comes back as MouthClose = strength x JawOpen.

Imports: standard library, numpy, lipsync_core.{atomic, curves, mapping, retarget}.
"""
from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np

from .atomic import write_bytes_atomic
from .curves import Curves
from .mapping import ARKIT_52, arkit_preset
from .retarget import shape_values

# The app's column order (Live Link Face CSV / its UDP payload); ARKit's names with a capital.
LIVELINK_BLENDSHAPES: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft",
    "EyeSquintLeft", "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight",
    "EyeLookOutRight", "EyeLookUpRight", "EyeSquintRight", "EyeWideRight", "JawForward",
    "JawRight", "JawLeft", "JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthRight",
    "MouthLeft", "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft", "MouthFrownRight",
    "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft",
    "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft",
    "MouthUpperUpRight", "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft",
    "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft", "CheekSquintRight", "NoseSneerLeft",
    "NoseSneerRight", "TongueOut",
)
LIVELINK_ROTATIONS: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)
HEADER: tuple[str, ...] = ("Timecode", "BlendShapeCount", *LIVELINK_BLENDSHAPES, *LIVELINK_ROTATIONS)
BLENDSHAPE_COUNT = len(LIVELINK_BLENDSHAPES) + len(LIVELINK_ROTATIONS)    # 61, as the app writes
EXTENSION = ".csv"
_DECIMALS = 6

_ARKIT_BY_LOWER = {name.lower(): name for name in ARKIT_52}
assert len(LIVELINK_BLENDSHAPES) == 52 and \
    {n.lower() for n in LIVELINK_BLENDSHAPES} == set(_ARKIT_BY_LOWER), "ARKit names drifted"


def blendshape_weights(curves: Curves) -> np.ndarray:
    """(frames, 52) float32 ARKit weights in [0, 1], columns in :data:`LIVELINK_BLENDSHAPES` order."""
    values = shape_values(curves.frames, arkit_preset(), 1.0, curves.fps)   # {name: (frames,)}
    out = np.zeros((curves.num_frames, len(LIVELINK_BLENDSHAPES)), dtype=np.float32)
    for j, name in enumerate(LIVELINK_BLENDSHAPES):
        column = values.get(_ARKIT_BY_LOWER[name.lower()])
        if column is not None:
            out[:, j] = column
    return out


def timecode(seconds: float, fps: float) -> str:
    """``HH:MM:SS:FF.fff`` of ``seconds`` at nominal rate round(fps); ``.fff`` = frame fraction."""
    nominal = max(1, int(round(fps)))
    whole = math.floor(seconds)
    milli = int(round((seconds - whole) * nominal * 1000))   # thousandths of a frame
    if milli >= nominal * 1000:                               # rounded up into the next second
        whole, milli = whole + 1, 0
    ff, sub = divmod(milli, 1000)
    hh, rest = divmod(int(whole), 3600)
    mm, ss = divmod(rest, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.{sub:03d}"


def encode_livelink(curves: Curves) -> bytes:
    """The bytes of a Live Link Face CSV for ``curves`` (one row per curves frame)."""
    weights = blendshape_weights(curves)                       # (frames, 52)
    rotations = ",".join("0" for _ in LIVELINK_ROTATIONS)
    text = io.StringIO()
    text.write(",".join(HEADER) + "\n")
    for t, row in zip(curves.times(), weights):
        values = ",".join(f"{v:.{_DECIMALS}f}" for v in row)
        text.write(f"{timecode(float(t), curves.fps)},{BLENDSHAPE_COUNT},{values},{rotations}\n")
    return text.getvalue().encode("utf-8")


def write_livelink(path: str | os.PathLike, curves: Curves) -> Path:
    """Write ``curves`` as a Live Link Face CSV, atomically; returns the path."""
    path = Path(path)
    write_bytes_atomic(path, encode_livelink(curves))
    return path
