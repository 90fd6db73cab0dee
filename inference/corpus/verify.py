"""Checks that an utterance's phone timings agree with its audio.

Two measurable promises: the phones cover exactly the audio (total within 10 ms), and silence
phones sit on quiet audio (their RMS level well below the speech level of the same utterance).

Imports: numpy.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .format import SAMPLE_RATE, SILENCES


def level_db(segment: np.ndarray) -> float:
    """RMS level in dB full scale; -120 for an empty segment."""
    if segment.size == 0:
        return -120.0
    return float(20.0 * np.log10(np.sqrt(np.mean(np.square(segment, dtype=np.float64))) + 1e-6))


def timing_report(record: dict[str, Any], audio: np.ndarray,
                  sample_rate: int = SAMPLE_RATE) -> dict[str, float]:
    """{"duration_error_s", "silence_db", "speech_db", "silence_margin_db"} for one utterance.

    ``silence_db`` is the level of all silence phones longer than 40 ms (their middle part, so
    the edges of neighbouring sounds do not count), ``speech_db`` of all other phones."""
    phones = record["phones"]
    duration = len(audio) / sample_rate
    quiet, loud = [], []
    for symbol, start, end in phones:
        a, b = int(start * sample_rate), int(end * sample_rate)
        if symbol in SILENCES:
            if end - start >= 0.04:
                pad = int(0.01 * sample_rate)
                quiet.append(audio[a + pad:b - pad])
        else:
            loud.append(audio[a:b])
    silence = level_db(np.concatenate(quiet)) if quiet else -120.0
    speech = level_db(np.concatenate(loud)) if loud else -120.0
    return {"duration_error_s": abs(phones[-1][2] - duration),
            "silence_db": silence, "speech_db": speech, "silence_margin_db": speech - silence}
