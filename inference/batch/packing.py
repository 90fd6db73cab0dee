"""Packs: short lines that share one encoder window (lipsync_runtime's predict_many).

The runtime encodes short clips packed one after another, ``GAP_S`` of silence apart, in one
30 s Whisper window (the way the head's training features were made); a 3 s line then costs a
tenth of a window instead of a whole one. A line's features depend a little on its pack-mates,
so a pack is part of a line's identity: its cache key includes the pack's signature, and both
engines get the same packs, so their outputs are identical and a resumed run writes what an
uninterrupted one would.

Packing is content-defined so that a changed or inserted line disturbs only its neighbourhood: a
pack ends before a line whose audio hash is 0 modulo BOUNDARY_EVERY once the pack is half full,
or before the line that would overflow the window (less MARGIN_FRAMES); a line longer than a
window is a pack alone. Lines are packed in manifest order. The half-full rule matters for
speed: every stream costs a whole 30 s window (2.3-2.5 s of one core here, measured), so a pack
a quarter full costs four times as much per line as a full one.

Imports: standard library, lipsync_core.params.
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Sequence

from lipsync_core.params import FRAME_RATE_HZ

GAP_S = 0.2                  # seconds of silence between packed lines (predict_many's default)
BOUNDARY_EVERY = 8           # a content-defined boundary: 1 line in 8, once half full
MARGIN_FRAMES = 8            # 50 Hz frames kept free in a window (resampling rounds lengths)


def frames_needed(seconds: float) -> int:
    """50 Hz frames one line takes in a pack, its gap included."""
    return math.ceil((seconds + GAP_S) * FRAME_RATE_HZ) + 1


def make_packs(lines: Sequence[dict[str, Any]], window_frames: int) -> list[list[int]]:
    """Indices into ``lines`` grouped into packs; each line has "seconds" and "sha256"."""
    packs: list[list[int]] = []
    current: list[int] = []
    used = 0
    room = window_frames - MARGIN_FRAMES
    for index, line in enumerate(lines):
        need = frames_needed(float(line["seconds"]))
        boundary = int(line["sha256"][:8], 16) % BOUNDARY_EVERY == 0 and 2 * used >= room
        if current and (need > room or used + need > room or boundary):
            packs.append(current)
            current, used = [], 0
        current.append(index)
        used += need
        if need > room:                       # too long to share: alone
            packs.append(current)
            current, used = [], 0
    if current:
        packs.append(current)
    return packs


def signature(members: Sequence[dict[str, Any]]) -> str:
    """Hex digest of a pack: its members' audio and windows, in order."""
    blob = json.dumps([[m["sha256"], m.get("start"), m.get("end")] for m in members],
                      separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
