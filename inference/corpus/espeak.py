"""Speech from espeak-ng (PyPI ``espeakng-loader``) with exact phone timings: English, Japanese,
and the languages of :data:`VOICES` (Spanish, French, German, Portuguese, Italian, Russian,
Mandarin, Korean).

libespeak-ng is driven through ctypes in synchronous mode with phoneme events in IPA: each event
of type 7 names a phoneme and the sample where it starts, so a phone ends where the next begins
and the last one where the audio ends. Empty phoneme names are pauses ("pau"); stress marks are
removed; a palatalisation mark "ʲ" joins the consonant before it. Japanese input must be kana:
kanji text is converted to katakana with pyopenjtalk first, and espeak's moraic nasal (reported
as a nasal vowel "ũ" after its own vowel) is labelled "ɴ", the usual IPA for ん.

In the languages beyond English and Japanese, espeak-ng reports a voiceless stop's closure as a
short pause before the burst (Mandarin 八 = pau 41 ms + p 32 ms) and leaves zero-length pauses
between syllables; :func:`merge_short_pauses` gives such pauses back to the speech, so "pau"
keeps meaning a resting mouth. English and Japanese keep their events as they were, so the corpus
the shipped model learned from stays reproducible.

Speaker variety comes from espeak's voice variants (+m1..+m7, +f1..+f5 and others), speaking
rate (words per minute) and pitch.

Imports: numpy, ctypes, standard library; espeakng_loader and pyopenjtalk lazily.
"""
from __future__ import annotations

import ctypes
import logging
import threading
from typing import Any

import numpy as np

from .engine import Synthesis

LOG = logging.getLogger(__name__)

AUDIO_OUTPUT_SYNCHRONOUS = 2
INIT_PHONEME_EVENTS = 0x0001
INIT_PHONEME_IPA = 0x0002
INIT_DONT_EXIT = 0x8000
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
PARAM_RATE, PARAM_PITCH, PARAM_RANGE = 1, 3, 4
CHARS_UTF8 = 1
STRESS = str.maketrans("", "", "ˈˌ")

VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "Andy", "Alicia", "Annie", "Denis", "Gene", "Lee", "Michael", "Mr serious", "adam",
            "anika", "belinda", "david", "edward", "iven", "john", "linda", "max", "norbert",
            "robert", "steph", "travis", "victor", "zac")


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int),   # milliseconds
                ("sample", ctypes.c_int),           # samples from the start of the message
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


class _Library:
    """The one libespeak-ng of the process (it keeps global state), behind a lock."""
    _instance: "_Library | None" = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        import espeakng_loader
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.sample_rate = self.lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(),
            INIT_PHONEME_EVENTS | INIT_PHONEME_IPA | INIT_DONT_EXIT)
        if self.sample_rate <= 0:
            raise RuntimeError("libespeak-ng failed to initialise.")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._callback = _CALLBACK(self._collect)   # keep a reference: C holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> "_Library":
        with cls._lock:
            if cls._instance is None:
                cls._instance = _Library()
            return cls._instance

    def _collect(self, wav, count, events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            if events[i].type == EVENT_PHONEME:
                name = bytes(events[i].id).split(b"\0")[0].decode("utf-8", "replace")
                self._events.append((int(events[i].sample), name))
            i += 1
        return 0

    def synth(self, voice: str, text: str, rate: int, pitch: int
              ) -> tuple[np.ndarray, list[tuple[int, str]]]:
        with self._lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise RuntimeError(f"espeak-ng has no voice {voice!r}.")
            self.lib.espeak_SetParameter(PARAM_RATE, int(rate), 0)
            self.lib.espeak_SetParameter(PARAM_PITCH, int(pitch), 0)
            self._chunks, self._events = [], []
            data = text.encode("utf-8")
            self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            return pcm.astype(np.float32) / 32768.0, list(self._events)


def events_to_phones(events: list[tuple[int, str]], total: int, sample_rate: int,
                     lang: str) -> list[tuple[str, float, float]]:
    """Phoneme start events (sample, IPA) -> contiguous (symbol, start s, end s)."""
    starts: list[list[Any]] = []
    for sample, name in sorted(events, key=lambda e: e[0]):
        symbol = name.translate(STRESS).strip().replace(":", "ː")
        if symbol.startswith("(") and symbol.endswith(")"):
            continue              # "(en)": espeak-ng switches language for a word; not a phone
        if symbol == "ʲ" and starts and starts[-1][1] not in ("pau", "sil"):
            starts[-1][1] += "ʲ"
            continue
        if lang == "ja" and symbol in ("ũ", "ɯ̃"):
            symbol = "ɴ"
        starts.append([min(max(sample, 0), total), symbol or "pau"])
    phones: list[tuple[str, float, float]] = []
    if not starts or starts[0][0] > 0:
        phones.append(("sil", 0.0, (starts[0][0] if starts else total) / sample_rate))
    for i, (sample, symbol) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else total
        phones.append((symbol, sample / sample_rate, end / sample_rate))
    return phones


SHORT_PAUSE_S = 0.08     # an inner pause shorter than this is part of the speech around it
_CLOSURE_NEXT = set("pbtdkgqcɟʈɖ")   # a short pause before these is the stop's closure
KEEP_PAUSES = ("en", "ja")         # languages whose events are kept as they were


def merge_short_pauses(phones: list[tuple[str, float, float]]
                       ) -> list[tuple[str, float, float]]:
    """Zero-length pauses vanish and neighbouring pauses join. Then an inner "pau" shorter than
    :data:`SHORT_PAUSE_S` between two speech phones joins the speech: before a stop the whole
    pause becomes the stop (its closure), elsewhere each neighbour takes half. The first and
    last phones keep their place."""
    out: list[list] = []
    for symbol, a, b in phones:
        if symbol == "pau" and b <= a and out:
            continue
        if symbol == "pau" and out and out[-1][0] == "pau":
            out[-1][2] = b
            continue
        out.append([symbol, a, b])
    i = 1
    while i < len(out) - 1:
        symbol, a, b = out[i]
        if symbol != "pau" or b - a >= SHORT_PAUSE_S or out[i - 1][0] == "sil" \
                or out[i + 1][0] == "sil":
            i += 1
            continue
        if out[i + 1][0][:1] in _CLOSURE_NEXT:
            out[i + 1][1] = a
        else:
            middle = (a + b) / 2.0
            out[i - 1][2] = middle
            out[i + 1][1] = middle
        del out[i]
    return [(str(p), float(a), float(b)) for p, a, b in out]


def to_kana(text: str) -> str:
    """Katakana reading of Japanese text (kanji included), punctuation kept."""
    import pyopenjtalk
    return str(pyopenjtalk.g2p(text, kana=True))


class EspeakEngine:
    engine = "espeak-ng"
    notation = "ipa"
    licence = "espeak-ng (GPL-3.0) generated speech"

    def __init__(self, espeak_voice: str, lang: str, voice: str | None = None,
                 variants: tuple[str, ...] = VARIANTS, weight: float = 1.0):
        self.espeak_voice = espeak_voice
        self.lang = lang
        self.voice = voice or f"espeak-{espeak_voice}"
        self.weight = weight
        self._variants = variants

    def variants(self) -> list[dict[str, Any]]:
        return [{"variant": v, "rate": r, "pitch": p}
                for v in self._variants for r in (140, 165, 190, 220) for p in (35, 50, 65)]

    def synthesize(self, text: str, settings: dict[str, Any]) -> Synthesis:
        lib = _Library.get()
        name = self.espeak_voice
        if settings.get("variant"):
            name += "+" + settings["variant"]
        spoken = to_kana(text) if self.lang == "ja" else text
        audio, events = lib.synth(name, spoken, settings.get("rate", 175),
                                  settings.get("pitch", 50))
        if audio.size == 0 or not events:
            raise RuntimeError(f"espeak-ng produced nothing for {text!r}.")
        phones = events_to_phones(events, len(audio), lib.sample_rate, self.lang)
        if self.lang not in KEEP_PAUSES:
            phones = merge_short_pauses(phones)
        return Synthesis(audio, lib.sample_rate, phones)


# espeak-ng voices per language (ISO 639-1 code -> espeak-ng voice names): regional accents
# where espeak-ng has them.
VOICES = {
    "en": ("en-US", "en", "en-GB-scotland", "en-GB-x-rp", "en-US-nyc", "en-029"),
    "ja": ("ja",),
    "es": ("es", "es-419"),
    "fr": ("fr", "fr-BE"),
    "de": ("de",),
    "pt": ("pt", "pt-BR"),
    "it": ("it",),
    "ru": ("ru",),
    "zh": ("cmn",),
    "ko": ("ko",),
    "ro": ("ro",),
    "el": ("el",),
    "ca": ("ca",),
}


def espeak_voices(lang: str) -> list[EspeakEngine]:
    """The espeak-ng voices used for ``lang`` (:data:`VOICES`); [] for other languages."""
    _Library.get()   # fail early (OSError/RuntimeError) if the library is missing
    return [EspeakEngine(v, lang, voice=f"espeak-{v.lower()}") for v in VOICES.get(lang, ())]
