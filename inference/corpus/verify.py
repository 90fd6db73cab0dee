"""Checks that an utterance's phone timings agree with its audio.

Two measurable promises: the phones cover exactly the audio (total within 10 ms), and silence
phones sit on quiet audio (their RMS level well below the speech level of the same utterance).

Imports: numpy, corpus format.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .format import SAMPLE_RATE, SILENCES, iter_records, read_utterance


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


def loud_pauses(record: dict[str, Any], audio: np.ndarray, margin_db: float = 20.0,
                sample_rate: int = SAMPLE_RATE) -> int:
    """How many inner "pau" phones are within ``margin_db`` of the speech level."""
    speech_db = timing_report(record, audio, sample_rate)["speech_db"]
    count = 0
    for symbol, start, end in record["phones"][1:-1]:
        if symbol == "pau":
            seg = audio[int(start * sample_rate):int(end * sample_rate)]
            count += level_db(seg) > speech_db - margin_db
    return count


def verify_corpus(out, every: int = 1) -> dict[str, dict[str, float]]:
    """Per voice: utterances checked, worst duration error (s), median and worst silence margin
    (dB), utterances with a loud inner pause. ``every``: check one utterance in ``every``."""
    by_voice: dict[str, list[tuple[float, float, int]]] = {}
    for i, (path, record) in enumerate(iter_records(out)):
        if i % every or not record.get("phones"):
            continue
        record, audio = read_utterance(path)
        report = timing_report(record, audio)
        by_voice.setdefault(f"{record['lang']}/{record['voice']}", []).append(
            (report["duration_error_s"], report["silence_margin_db"],
             loud_pauses(record, audio)))
    summary = {}
    for voice, rows in sorted(by_voice.items()):
        errors, margins, louds = zip(*rows)
        summary[voice] = {"checked": len(rows), "max_duration_error_s": round(max(errors), 5),
                          "median_silence_margin_db": round(float(np.median(margins)), 1),
                          "min_silence_margin_db": round(min(margins), 1),
                          "with_loud_pause": int(sum(1 for n in louds if n))}
    return summary
