"""What every speech engine gives the corpus builder: a named voice that turns text plus a few
settings into (audio, sample rate, timed phones).

Imports: numpy, standard library.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Phones = list[tuple[str, float, float]]   # (symbol, start s, end s), contiguous


@dataclass(frozen=True)
class Synthesis:
    audio: np.ndarray      # (samples,) float32 in [-1, 1]
    sample_rate: int       # Hz
    phones: Phones


class Engine(Protocol):
    engine: str            # "piper", "openjtalk", "espeak-ng", "flite"
    voice: str             # directory name under <out>/<lang>/, e.g. "piper-joe"
    lang: str              # "en" | "ja"
    notation: str          # "ipa" | "arpabet" | "openjtalk"
    licence: str

    def variants(self) -> list[dict[str, Any]]:
        """Settings the builder cycles through (speed, pitch, voice variant...)."""

    def synthesize(self, text: str, settings: dict[str, Any]) -> Synthesis:
        """Audio and phone timings of ``text``; raises RuntimeError on engine failure."""
