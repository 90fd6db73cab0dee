"""Articulation: phone timings -> 26 mouth-parameter curves (pure numpy, no torch, no bpy).

Used to make training targets from phone-timed speech (TTS or forced alignment) and as the
text-assisted engine (``python -m inference phones``). Modules:

- :mod:`.inventory`   internal phone set, articulatory features, evaluation classes;
- :mod:`.phones`      ARPAbet / espeak-ng IPA / Open JTalk -> internal segments;
- :mod:`.kana`        kana text -> Open JTalk phones;
- :mod:`.poses`       each phone's target pose and dominance in the 26 parameters;
- :mod:`.coarticulation`  realisation of ん/っ, leads, dominance blend, closures;
- :mod:`.cli`         the ``phones`` command.

Imports: numpy, lipsync_core and this package only.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from lipsync_core.params import FRAME_RATE_HZ

from .coarticulation import apply_leads, curves_at, realize
from .inventory import phone_class
from .kana import kana_to_phones
from .phones import NOTATIONS, Segment, frame_phone_labels, normalize

__all__ = ["curves_from_phones", "curves_from_segments", "normalize", "phone_class",
           "frame_phone_labels", "kana_to_phones", "frame_count", "Segment", "NOTATIONS"]


def frame_count(duration: float, frame_rate: float) -> int:
    """Frames covering ``duration`` seconds: ceil(duration * frame_rate) (tolerant of rounding)."""
    return max(0, int(math.ceil(duration * frame_rate - 1e-9)))


def curves_from_segments(segments: Sequence[Segment], frame_rate: float = FRAME_RATE_HZ,
                         duration: float | None = None, lead: bool = True) -> np.ndarray:
    """Internal segments (from :func:`normalize`) -> (frames, 26) float32, frame k at k/rate s."""
    if not frame_rate > 0:
        raise ValueError(f"The frame rate must be positive; got {frame_rate!r}.")
    if duration is None:
        duration = max((s.end for s in segments), default=0.0)
    if duration < 0:
        raise ValueError(f"The duration must be >= 0 seconds; got {duration!r}.")
    times = np.arange(frame_count(duration, frame_rate), dtype=np.float64) / frame_rate
    realized = apply_leads(realize(segments), lead=lead)
    return curves_at(realized, times)


def curves_from_phones(phones: Iterable[Sequence], notation: str = "ipa", lang: str = "en",
                       frame_rate: float = FRAME_RATE_HZ, duration: float | None = None,
                       lead: bool = True) -> np.ndarray:
    """Timed phones -> mouth curves.

    Parameters
    ----------
    phones : [(symbol, start_s, end_s), ...] in ``notation`` ("arpabet", "ipa", "openjtalk").
    lang : "en" or "ja" (matters for espeak-ng IPA, where ん and っ are spelt by context).
    frame_rate : frames per second; frame k is at time k / frame_rate seconds.
    duration : seconds covered; defaults to the last phone's end.
    lead : move the mouth ahead of the sound (see docs/articulation.md); False keeps the
        articulatory boundaries on the acoustic ones (for studying the lead).

    Returns
    -------
    (ceil(duration * frame_rate), 26) float32, each parameter within its schema range.
    """
    segments = normalize(phones, notation, lang)
    return curves_from_segments(segments, frame_rate, duration, lead)
