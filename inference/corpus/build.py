"""``corpus build``: synthesise sentences with every available voice into the corpus format.

Reproducible: the order of sentences and the settings of every utterance come from
``random.Random(f"{seed}:{voice}")``; an utterance id is ``<voice>-<hash of text>-v<variant>``, so
it names its content. Resumable: an utterance whose json exists is counted (its duration read
from the json) and not made again; a crash leaves at most a wav without json, redone next time.
With ``jobs`` > 1 a worker stops before its next utterance once the build that started it is
gone (killed), so a second build over the same folder never shares it with orphans writing the
same ids (a Piper utterance's wav and json once came from two runs).
Each language gets an equal share of ``minutes``, split between its voices by their ``weight``
(the natural voices weigh more).

Imports: standard library, numpy; engines lazily.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .engine import Engine, Synthesis
from .format import LANGS, Utterance, json_path, write_manifest, write_utterance
from .sentences import load_sentences

LOG = logging.getLogger(__name__)

MANIFEST_EVERY = 25        # utterances between manifest rewrites during a build


def _piper() -> list[Engine]:
    from .piper_tts import PiperEngine
    return [PiperEngine()]


def _openjtalk() -> list[Engine]:
    from .openjtalk import OpenJTalkEngine
    engine = OpenJTalkEngine()
    return [engine] if engine.available() else []


def _espeak(lang: str) -> Callable[[], list[Engine]]:
    def make() -> list[Engine]:
        from .espeak import espeak_voices
        return list[Engine](espeak_voices(lang))
    return make


def _kokoro() -> list[Engine]:
    from .kokoro_ja import kokoro_voices
    return list[Engine](kokoro_voices())


def _flite() -> list[Engine]:
    from .flite import flite_voices
    return list[Engine](flite_voices())


# Voice families per language, in priority order (the most natural first).
FAMILIES: dict[str, dict[str, Callable[[], list[Engine]]]] = {
    "en": {"piper": _piper, "espeak": _espeak("en"), "flite": _flite},
    "ja": {"openjtalk": _openjtalk, "kokoro": _kokoro, "espeak": _espeak("ja")},
    # every other language of the corpus: espeak-ng's voices (espeak.VOICES)
    **{lang: {"espeak": _espeak(lang)} for lang in LANGS if lang not in ("en", "ja")},
}
# Families used only when asked for by name (--families).
OPT_IN: dict[str, dict[str, Callable[[], list[Engine]]]] = {lang: {} for lang in FAMILIES}


def available_voices(lang: str, families: list[str] | None = None) -> list[Engine]:
    voices: list[Engine] = []
    table = dict(FAMILIES[lang], **OPT_IN[lang])
    for name, make in table.items():
        if (families and name not in families) or (not families and name in OPT_IN[lang]):
            continue
        try:
            voices.extend(make())
        except (ImportError, OSError, RuntimeError) as exc:
            LOG.warning("%s voices for %s unavailable: %s", name, lang, exc)
    return voices


def pad_edges(syn: Synthesis, utt_id: str, seed: int) -> Synthesis:
    """Digital silence added at both ends so that each edge "sil" lasts a random 0.1-0.35 s
    (engines differ: espeak-ng leaves ~10 ms, Open JTalk ~250 ms); phones shift exactly."""
    rng = random.Random(f"{seed}:pad:{utt_id}")
    sr = syn.sample_rate
    phones = list(syn.phones)
    lead_now = phones[0][2] if phones and phones[0][0] == "sil" else 0.0
    tail_now = phones[-1][2] - phones[-1][1] if phones and phones[-1][0] == "sil" else 0.0
    lead = max(0, int(round((rng.uniform(0.1, 0.35) - lead_now) * sr)))
    tail = max(0, int(round((rng.uniform(0.1, 0.35) - tail_now) * sr)))
    if not lead and not tail:
        return syn
    shift = lead / sr
    moved = [(p, a + shift, b + shift) for p, a, b in phones]
    moved = [("sil", 0.0, shift)] + moved if shift else moved
    end = moved[-1][2]
    moved.append(("sil", end, end + tail / sr))
    audio = np.concatenate([np.zeros(lead, np.float32), syn.audio.astype(np.float32),
                            np.zeros(tail, np.float32)])
    return Synthesis(audio, sr, moved)


def drop_loud_pauses(syn: Synthesis, margin_db: float = 20.0) -> Synthesis:
    """Inner "pau" phones whose audio is not quiet (within ``margin_db`` of the utterance's
    speech level: neural voices give punctuation a frame or two that is really a transition)
    are given back to their neighbours, half each, so "pau" always means a quiet mouth."""
    from .verify import level_db
    sr, audio, phones = syn.sample_rate, syn.audio, list(syn.phones)
    speech = [audio[int(a * sr):int(b * sr)] for p, a, b in phones if p not in ("sil", "pau")]
    if not speech:
        return syn
    speech_db = level_db(np.concatenate(speech))
    out: list[list] = [list(p) for p in phones]
    i = 1
    while i < len(out) - 1:
        symbol, a, b = out[i]
        if symbol == "pau" and level_db(audio[int(a * sr):int(b * sr)]) > speech_db - margin_db:
            middle = (a + b) / 2.0
            out[i - 1][2] = middle
            out[i + 1][1] = middle
            del out[i]
            continue
        i += 1
    return Synthesis(audio, sr, [tuple(p) for p in out])


def utterance_id(voice: str, text: str, variant: int) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    return f"{voice}-{digest}-v{variant:02d}"


def plan(voice: Engine, sentences: list[str], seed: int):
    """Yield (utt_id, text, variant index, settings) in a reproducible order, each pair of
    sentence and variant at most once."""
    rng = random.Random(f"{seed}:{voice.voice}")
    variants = voice.variants()
    used: set[tuple[int, int]] = set()
    for _ in range(len(variants)):
        order = list(range(len(sentences)))
        rng.shuffle(order)
        for s in order:
            free = [v for v in range(len(variants)) if (s, v) not in used]
            if not free:
                continue
            v = rng.choice(free)
            used.add((s, v))
            yield utterance_id(voice.voice, sentences[s], v), sentences[s], v, variants[v]


class Orphaned(RuntimeError):
    """A build worker outlived the build that started it."""


def build_voice(out: Path, voice: Engine, sentences: list[str], seconds: float, seed: int,
                on_written: Callable[[], None] | None = None,
                alive: Callable[[], bool] | None = None) -> tuple[float, int, int]:
    """Fill ``voice``'s share; return (seconds on disk, utterances made now, failures).
    ``alive``: asked before each utterance is made; False raises :class:`Orphaned`."""
    total, made, failed = 0.0, 0, 0
    for utt_id, text, variant, settings in plan(voice, sentences, seed):
        if total >= seconds:
            break
        if alive is not None and not alive():
            raise Orphaned(f"{voice.voice}: the build that started this worker is gone; "
                           "stopping before writing more")
        done = json_path(out, voice.lang, voice.voice, utt_id)
        if done.exists():
            try:
                total += float(json.loads(done.read_text(encoding="utf-8"))["duration"])
                continue
            except (OSError, ValueError, KeyError):
                LOG.warning("redoing unreadable %s", done)
        try:
            syn = pad_edges(drop_loud_pauses(voice.synthesize(text, settings)), utt_id, seed)
        except RuntimeError as exc:
            LOG.warning("%s: %s", voice.voice, exc)
            failed += 1
            if failed >= 20 and made == 0:
                LOG.error("voice %s failed 20 times without one success; skipping it",
                          voice.voice)
                break
            continue
        record = write_utterance(out, Utterance(
            id=utt_id, text=text, lang=voice.lang, voice=voice.voice, engine=voice.engine,
            notation=voice.notation, audio=syn.audio, sample_rate=syn.sample_rate,
            phones=syn.phones, licence=voice.licence,
            extra={"settings": dict(settings, variant_index=variant)}))
        total += record["duration"]
        made += 1
        if on_written:
            on_written()
    return total, made, failed


def _started_by(owner: int) -> Callable[[], bool]:
    """True while this process is ``owner`` or its child (a pool worker whose build lives)."""
    return lambda: os.getpid() == owner or os.getppid() == owner


def _build_task(out: Path, lang: str, name: str, share: float, seed: int,
                families: list[str] | None, sentence_file: str | None,
                owner: int | None = None) -> tuple[str, str, float]:
    """One voice's share, in whichever process runs it; returns (lang, voice, seconds).
    ``owner``: the pid of the build; a worker orphaned by its death stops (module doc)."""
    voice = next(v for v in available_voices(lang, families) if v.voice == name)
    sentences = load_sentences(lang, sentence_file)
    counter = {"n": 0}

    def written() -> None:
        counter["n"] += 1
        if counter["n"] % MANIFEST_EVERY == 0:
            write_manifest(out)

    start = time.monotonic()
    try:
        seconds, made, failed = build_voice(out, voice, sentences, share, seed, written,
                                            None if owner is None else _started_by(owner))
    except Orphaned as exc:
        LOG.error("%s", exc)
        os._exit(3)      # nobody is left to take a result, and the pool's queue never closes
    LOG.info("%s/%s: %.1f min on disk (%d new, %d failed) in %.0f s", lang, name,
             seconds / 60, made, failed, time.monotonic() - start)
    return lang, name, seconds


def build(out: Path, langs: list[str], minutes: float, seed: int,
          families: list[str] | None = None, voices: list[str] | None = None,
          sentence_files: dict[str, str] | None = None, jobs: int = 1) -> dict[str, Any]:
    """Build the corpus; return a summary {lang: {voice: seconds}}. ``jobs`` > 1 builds that
    many voices at once in separate processes (each voice's output is the same either way)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = []
    per_lang = minutes * 60.0 / max(1, len(langs))
    for lang in langs:
        chosen = [v for v in available_voices(lang, families) if not voices or v.voice in voices]
        if not chosen:
            LOG.warning("no voice available for %s", lang)
            continue
        weights = [float(getattr(v, "weight", 1.0)) for v in chosen]
        for voice, weight in zip(chosen, weights):
            tasks.append((out, lang, voice.voice, per_lang * weight / sum(weights), seed,
                          families, (sentence_files or {}).get(lang), os.getpid()))
    summary: dict[str, Any] = {}
    if jobs > 1 and len(tasks) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        context = multiprocessing.get_context("spawn")   # engines hold threads and C state
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            results = list(pool.map(_build_task, *zip(*tasks)))
    else:
        results = [_build_task(*task) for task in tasks]
    for lang, name, seconds in results:
        summary.setdefault(lang, {})[name] = round(seconds, 1)
    write_manifest(out)
    return summary
