"""The corpus on-disk format, and the only code that writes or reads it.

Layout::

    <out>/<lang>/<voice>/<utt_id>.wav    16 kHz mono PCM16
    <out>/<lang>/<voice>/<utt_id>.json   {"id", "text", "lang": "en"|"ja", "voice", "engine",
                                          "notation": "ipa"|"arpabet"|"openjtalk",
                                          "phones": [[symbol, start_s, end_s], ...],
                                          "duration": seconds, "augment": null | {...},
                                          "licence": "...", "split": "train"|"valid"|"test", ...}
    <out>/manifest.jsonl                 one line per utterance: {"id", "path" (the .wav,
                                          relative to <out>), "json" (the .json), "lang",
                                          "voice", "engine", "duration", "split"}

``phones`` are contiguous (each start equals the previous end), start at 0 and end at
``duration``; leading and trailing silence is "sil", pauses inside are "pau". Capture data has
``"targets_file": "<utt_id>.targets.npy"`` ((frames, 26) float32 at 50 Hz) instead of phones.

The wav is written first and the json last, each through a temporary file and ``os.replace``,
so an utterance whose json exists is complete; builders skip those and redo the rest.

Imports: numpy, soundfile, soxr, standard library.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

LOG = logging.getLogger(__name__)

from lipsync_core.atomic import write_atomic
from lipsync_core.params import SAMPLE_RATE  # noqa: E402  Hz, every corpus wav
VALID_PERCENT = 5            # share of sentences held out for validation
SILENCES = ("sil", "pau")    # silence symbols in every notation
LANGS = ("en", "ja", "es", "fr", "de", "pt", "it", "ru", "zh", "ko", "ro", "el", "ca")   # ISO 639-1 codes
NOTATIONS = ("ipa", "arpabet", "openjtalk")


@dataclass
class Utterance:
    """One utterance before it is written: audio at ``sample_rate`` plus its phone timings."""
    id: str
    text: str
    lang: str
    voice: str
    engine: str
    notation: str
    audio: np.ndarray                      # (samples,) float32 in [-1, 1]
    sample_rate: int                       # Hz of ``audio``
    phones: list[tuple[str, float, float]]  # (symbol, start s, end s), contiguous
    licence: str
    augment: dict[str, Any] | None = None
    split: str | None = None               # None: derived from the text
    extra: dict[str, Any] = field(default_factory=dict)   # engine settings etc.


def split_for(lang: str, text: str) -> str:
    """"train" or "valid", fixed by a hash of the sentence so every voice, speed and augmented copy
    of one sentence lands in the same split (no sentence leaks from valid into train)."""
    digest = hashlib.sha1(f"{lang}\n{text.strip()}".encode("utf-8")).digest()
    return "valid" if int.from_bytes(digest[:4], "big") % 100 < VALID_PERCENT else "train"


def to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 at 16 kHz (soxr high quality) from any rate."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if sample_rate == SAMPLE_RATE:
        return audio
    import soxr
    return soxr.resample(audio, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)


def tidy_phones(phones: Iterable[tuple[str, float, float]], duration: float,
                ) -> list[list[Any]]:
    """Contiguous phones covering [0, duration]: merges neighbouring silences, drops
    zero-length phones, snaps the ends to 0 and ``duration``. Times rounded to 0.1 ms."""
    out: list[list[Any]] = []
    for symbol, start, end in phones:
        if end - start <= 1e-6:
            continue
        if out and symbol in SILENCES and out[-1][0] in SILENCES:
            out[-1][2] = end
            if symbol == "sil":
                out[-1][0] = "sil"
            continue
        out.append([symbol, float(start), float(end)])
    if not out:
        return [["sil", 0.0, round(duration, 4)]]
    out[0][1] = 0.0
    out[-1][2] = duration
    for prev, cur in zip(out, out[1:]):
        cur[1] = prev[2]
    if out[0][0] == "pau":
        out[0][0] = "sil"
    if out[-1][0] == "pau":
        out[-1][0] = "sil"
    return [[s, round(a, 4), round(b, 4)] for s, a, b in out]


def check_phones(phones: list[list[Any]], duration: float) -> None:
    """Raise ValueError unless phones are contiguous and cover [0, duration] to 1 ms."""
    if not phones:
        raise ValueError("An utterance has no phones.")
    if abs(phones[0][1]) > 1e-3 or abs(phones[-1][2] - duration) > 1e-3:
        raise ValueError(f"Phones cover {phones[0][1]}..{phones[-1][2]} s, audio is {duration} s.")
    for prev, cur in zip(phones, phones[1:]):
        if abs(prev[2] - cur[1]) > 1e-6 or cur[2] < cur[1]:
            raise ValueError(f"Phones are not contiguous at {prev} -> {cur}.")


def write_json_atomic(path: Path, data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False).encode("utf-8")
    write_atomic(path, lambda handle: handle.write(text))


def write_wav_atomic(path: Path, audio16k: np.ndarray) -> None:
    import soundfile as sf
    pcm = np.clip(np.round(np.asarray(audio16k, np.float32) * 32767.0), -32768, 32767)
    pcm = pcm.astype(np.int16)
    write_atomic(path, lambda handle: sf.write(handle, pcm, SAMPLE_RATE, subtype="PCM_16",
                                               format="WAV"))


def utterance_dir(out: Path, lang: str, voice: str) -> Path:
    return Path(out) / lang / voice


def json_path(out: Path, lang: str, voice: str, utt_id: str) -> Path:
    return utterance_dir(out, lang, voice) / f"{utt_id}.json"


def write_utterance(out: Path, utt: Utterance) -> dict[str, Any]:
    """Resample to 16 kHz, write <id>.wav then <id>.json; return the json record."""
    if utt.lang not in LANGS:
        raise ValueError(f"Language {utt.lang!r} is not one of {LANGS}.")
    if utt.notation not in NOTATIONS:
        raise ValueError(f"Notation {utt.notation!r} is not one of {NOTATIONS}.")
    audio = to_16k(utt.audio, utt.sample_rate)
    duration = len(audio) / SAMPLE_RATE
    # Engines give times against their own sample count; after resampling the length may differ
    # by under one sample, which tidy_phones absorbs into the last phone.
    phones = tidy_phones(utt.phones, round(duration, 6))
    check_phones(phones, duration)
    folder = utterance_dir(out, utt.lang, utt.voice)
    record: dict[str, Any] = {
        "id": utt.id, "text": utt.text, "lang": utt.lang, "voice": utt.voice,
        "engine": utt.engine, "notation": utt.notation, "phones": phones,
        "duration": round(duration, 6), "augment": utt.augment, "licence": utt.licence,
        "split": utt.split or split_for(utt.lang, utt.text),
    }
    record.update(utt.extra)
    write_wav_atomic(folder / f"{utt.id}.wav", audio)
    write_json_atomic(folder / f"{utt.id}.json", record)
    return record


def read_utterance(json_file: Path) -> tuple[dict[str, Any], np.ndarray]:
    """(record, audio float32 at 16 kHz) of one corpus utterance."""
    import soundfile as sf
    record = json.loads(Path(json_file).read_text(encoding="utf-8"))
    audio, sr = sf.read(Path(json_file).with_suffix(".wav"), dtype="float32")
    if sr != SAMPLE_RATE:
        raise ValueError(f"{json_file}: audio is {sr} Hz, the corpus format is {SAMPLE_RATE} Hz.")
    return record, audio


def iter_records(out: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every utterance json under ``out`` (sorted), skipping temporary files."""
    for path in sorted(Path(out).glob("*/*/*.json")):
        if path.name.startswith("."):
            continue
        try:
            yield path, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            LOG.warning("skipping unreadable %s: %s", path, exc)


def write_manifest(out: Path) -> int:
    """Rewrite <out>/manifest.jsonl atomically from the json files on disk; return its lines."""
    out = Path(out)
    lines = []
    for path, rec in iter_records(out):
        rel = path.relative_to(out)
        lines.append(json.dumps({
            "id": rec["id"], "path": str(rel.with_suffix(".wav")), "json": str(rel),
            "lang": rec["lang"], "voice": rec["voice"], "engine": rec.get("engine"),
            "duration": rec["duration"], "split": rec.get("split") or
            split_for(rec["lang"], rec.get("text", "")),
        }, ensure_ascii=False))

    text = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    write_atomic(out / "manifest.jsonl", lambda handle: handle.write(text))
    return len(lines)
