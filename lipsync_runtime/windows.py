"""How long audio is cut into windows, for the encoder and for the head: one copy for both the
ONNX Runtime engine and the torch path.

Owns: ``frames_for``, ``Window`` and ``plan_windows`` (encoder windows with discarded margins),
``fitted_margin`` (the margins of a model trained on cut windows), ``encoder_plan`` (the
whole encoder plan of a clip, for both engines),
``chunk_windows`` (equal-length head windows around cores), ``encoder_window_frames`` (how long
the encoder's window is for a clip).
May import: the standard library and lipsync_core. Ships in the extension.

Encoder windows. A window computes W frames; a margin of M frames at each side is context only.
Window k starts at k * (W - 2M) frames; the last one is aligned to the end of the audio (it computes
[total - W, total)) and keeps from where the previous one stopped. Kept ranges tile the output
exactly, so each frame comes from the one window where it has at least M frames of context on both
sides (or the audio's own edge), and there are no seams. Audio no longer than one window is one
window (padded by the encoder as its model expects).

With ``padded_tail`` (an encoder whose padding is cached, lipsync_runtime.padding) the last window
stays on the hop grid instead: it starts at (count - 1) * (W - 2M), runs past the end of the audio
into padding, and keeps from M frames in, as every other window does. It then computes only its
audio's frames, as a short line does, where the end-aligned window recomputed up to W - M frames
that the window before it had already kept: a 60 s clip encodes 4,000 frames instead of 4,500.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from lipsync_core.params import HOP_SAMPLES


@dataclass(frozen=True)
class Window:
    start: int  # first 50 Hz frame the window computes
    stop: int  # one past the last frame it computes (may pass the end of the audio)
    keep_start: int  # first frame it writes to the output
    keep_stop: int  # one past the last frame it writes


def frames_for(samples: int) -> int:
    """Number of 50 Hz frames for ``samples`` at 16 kHz: ceil(samples / 320)."""
    return -(-int(samples) // HOP_SAMPLES)


def plan_windows(total: int, window: int, margin: int,
                 padded_tail: bool = False) -> list[Window]:
    """Windows covering ``total`` frames; see the module docstring (``padded_tail`` too)."""
    hop = window - 2 * margin
    if hop <= 0:
        raise ValueError("window must be longer than twice the margin")
    count = 1 if total <= window else math.ceil((total - window) / hop) + 1
    plan: list[Window] = []
    for k in range(count):
        last = k == count - 1
        start = total - window if last and count > 1 and not padded_tail else k * hop
        keep_start = 0 if k == 0 else plan[-1].keep_stop
        keep_stop = total if last else start + window - margin
        plan.append(Window(start, start + window, keep_start, keep_stop))
    return plan


MIN_CONTEXT_FRAMES = 50     # 1 s: the least context a cut-window model's window edge gets


def fitted_margin(total: int, window: int, margin: int,
                  floor: int = MIN_CONTEXT_FRAMES) -> int:
    """The margin for ``total`` frames of long audio under a model trained on windows cut to
    each clip: the fewest windows that keep at least ``floor`` frames of context at every seam,
    with all the room they have to spare given to context, up to ``margin``.

    The full-window plan (``margin`` 250, 5 s) hops 20 s; this one hops up to 28 s, so an hour
    takes 129 windows instead of 180, and 45-55 s clips two instead of three. Such a head learned
    from clips whose edges had no context at all, so a 1-5 s margin is more than it ever saw.
    """
    margin, floor = int(margin), min(int(floor), int(margin))
    if total <= window:
        return margin
    count = -(-(total - window) // (window - 2 * floor)) + 1         # windows at the floor
    hop = -(-(total - window) // (count - 1))                        # the widest even hop
    return max(floor, min(margin, (window - hop) // 2))


def encoder_window_frames(total: int, full: int, min_frames: int | None) -> int:
    """Frames the encoder's window computes for a clip of ``total`` frames.

    ``full`` is the spec's window (1500 for Whisper's 30 s). ``min_frames`` None keeps it for every
    clip (a 2 s line pays for 30 s, as Whisper pads); a number cuts a clip shorter than ``full`` to
    a window of max(total, min_frames) frames, rounded up to a whole second (50 frames) so a
    session sees few distinct shapes. Clips longer than ``full`` always use ``full``.
    """
    if min_frames is None or total >= full:
        return full
    want = max(int(total), int(min_frames), 1)
    return min(full, -(-want // 50) * 50)


def encoder_plan(total: int, full: int, margin: int, min_frames: int | None,
                 padded_tail: bool = False) -> tuple[int, list[Window]]:
    """(window length, windows) for a clip of ``total`` frames: the one plan both engines use.

    ``full``/``margin``: the spec's window and margin; ``min_frames``: None for a model trained on
    full (padded) windows, else the shortest cut window (:func:`encoder_window_frames`). A cut
    window has no margins; a cut-window model plans long audio with :func:`fitted_margin`.
    ``padded_tail``: the encoder pads with cached padding, so a long clip's last window runs past
    its end (module docstring); only full windows have padding to cache.
    """
    window = encoder_window_frames(total, full, min_frames)
    margin = margin if window >= full else 0
    if min_frames is not None:
        margin = fitted_margin(total, window, margin)
    tail = padded_tail and min_frames is None and window >= full
    return window, plan_windows(total, window, margin, tail)


def chunk_windows(T: int, core: int, context: int) -> list[tuple[int, int, int, int]]:
    """Split T frames into cores of ``core`` frames, each seen through an equal-length window.

    Returns (win_start, win_end, core_start, core_end) per chunk. Every window has the same
    length W = min(T, core + 2 * context) so chunks batch without padding: a chunk near an end
    shifts its window inwards and so sees more context on the other side.
    """
    if T <= core + 2 * context:
        return [(0, T, 0, T)]
    W = core + 2 * context
    out = []
    for cs in range(0, T, core):
        ce = min(cs + core, T)
        ws = min(max(cs - context, 0), T - W)
        out.append((ws, ws + W, cs, ce))
    return out
