"""English speech from flite (Debian ``flite``: voices kal, kal16, awb, rms, slt) with phone
timings from ``-psdur``, which prints ``phone:end_time`` pairs (seconds) computed from the same
durations that built the audio. Phones are CMU ARPAbet, upper-cased; "pau" is silence.
Variety: ``duration_stretch`` (speed) and ``int_f0_target_mean`` (pitch, Hz).

Imports: numpy, soundfile, standard library.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .engine import Synthesis

# kal and kal16 (diphone voices) print phone ends 40-130 ms past their audio: not used.
VOICES = ("slt", "rms", "awb")
BASE_F0 = {"slt": 170, "rms": 100, "awb": 110, "kal16": 105, "kal": 105}   # Hz, roughly


def parse_psdur(text: str) -> list[tuple[str, float]]:
    """``pau:0.193 b:0.224 ...`` -> [(symbol, end s), ...] with ARPAbet upper-case."""
    out = []
    for token in text.split():
        if ":" not in token:
            continue
        symbol, _, end = token.rpartition(":")
        try:
            out.append(("pau" if symbol == "pau" else symbol.upper(), float(end)))
        except ValueError:
            continue
    return out


class FliteEngine:
    engine = "flite"
    lang = "en"
    notation = "arpabet"
    licence = "flite / CMU voices (BSD-style free licence); generated speech"
    weight = 1.0

    def __init__(self, flite_voice: str):
        self.flite_voice = flite_voice
        self.voice = f"flite-{flite_voice}"
        self._binary = shutil.which("flite")

    def variants(self) -> list[dict[str, Any]]:
        f0 = BASE_F0.get(self.flite_voice, 110)
        return [{"duration_stretch": d, "f0_mean": int(f0 * p)}
                for d in (0.85, 1.0, 1.15, 1.3) for p in (0.85, 1.0, 1.2)]

    def synthesize(self, text: str, settings: dict[str, Any]) -> Synthesis:
        import soundfile as sf
        if self._binary is None:
            raise RuntimeError("flite is not installed; run 'apt-get install -y flite'.")
        with tempfile.TemporaryDirectory(prefix="flite") as tmp:
            wav = Path(tmp, "out.wav")
            cmd = [self._binary, "-voice", self.flite_voice, "-psdur",
                   "--setf", f"duration_stretch={settings.get('duration_stretch', 1.0)}",
                   "--setf", f"int_f0_target_mean={settings.get('f0_mean', 110)}",
                   "-t", text, "-o", str(wav)]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if done.returncode != 0 or not wav.exists():
                raise RuntimeError(f"flite failed on {text!r}: {done.stderr[-300:]}")
            audio, sr = sf.read(wav, dtype="float32")
        ends = parse_psdur(done.stdout)
        if not ends:
            raise RuntimeError(f"flite printed no phone durations for {text!r}.")
        duration = len(audio) / sr
        if abs(ends[-1][1] - duration) > 0.01:
            raise RuntimeError(f"flite phones end at {ends[-1][1]:.3f} s, audio at "
                               f"{duration:.3f} s for {text!r}.")
        phones, start = [], 0.0
        for symbol, end in ends:
            end = min(end, duration)
            phones.append((symbol, start, end))
            start = end
        if start < duration:
            phones.append(("pau", start, duration))
        return Synthesis(np.asarray(audio, np.float32), int(sr), phones)


def flite_voices() -> list[FliteEngine]:
    if shutil.which("flite") is None:
        raise RuntimeError("flite is not installed (apt-get install -y flite)")
    return [FliteEngine(v) for v in VOICES]
