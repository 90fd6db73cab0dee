"""``corpus augment --recording``: training copies of corpus utterances under the recording
conditions the robustness evaluation scores (issue 13 item 2), each with its phone timings
unchanged and reproducible from a seed.

The evaluation (inference/training/conditions.py) degrades held-out clips with fixed SNRs and a
seed per clip id; training copies draw their own settings from wider ranges, so the head learns
the conditions without ever hearing an evaluation mix. The building blocks (noise colours, the
babble sum, the synthetic music, the room, the telephone band, the quiet and overdriven takes)
are the evaluation's own functions, not copies.

Each copy draws one condition (probabilities in ``KINDS``):
- noise: white, pink, brown, babble or music at an SNR drawn uniformly from ``SNR_DB`` (dB);
  babble sums 4-5 *training* utterances of other voices (``talker_pool``: never a validation or
  held-out clip, never the copy's own voice);
- reverb: a synthetic room, RT60 ``RT60_S``, wet share ``WET``;
- telephone: the evaluation's 300-3900 Hz band with 8-bit mu-law;
- level: a take from whisper to shout, speech RMS drawn from ``LEVEL_DBFS`` (below -40 dBFS with
  a hiss floor, above -10 dBFS hard-clipped at full scale);
and, with probability ``EXTRA_NOISE``, reverb, telephone and level copies get a noise on top.
No condition moves a sample in time (filters are zero-phase, the room's direct sound stays at
time 0), so the source's phones and targets stay exact.

Imports: numpy; inference.corpus (format, augment); inference.training.conditions.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from inference.training.conditions import (Talker, babble, mix_at_snr, phone_line, set_level,
                                           synth_music)

from .augment import colored_noise, eligible, reverberate, write_copies
from .format import iter_records, read_utterance

LOG = logging.getLogger(__name__)

KINDS = {"noise": 0.6, "reverb": 0.15, "telephone": 0.1, "level": 0.15}   # draw probabilities
NOISES = ("white", "pink", "brown", "babble", "music")                      # equally likely
SNR_DB = (-5.0, 20.0)          # uniform; the evaluation scores 10 and 0 dB
RT60_S = (0.2, 1.0)            # seconds to -60 dB (the evaluation's room: 0.6)
WET = (0.3, 0.7)               # share of the reverberant tail
LEVEL_DBFS = (-55.0, -3.0)     # speech RMS of the take (the evaluation: -50 and -6)
QUIET_DBFS = -40.0             # takes below this get a hiss floor ...
HISS_DBFS = (-80.0, -65.0)     # ... at this RMS (uniform)
EXTRA_NOISE = 0.3              # chance of a noise on top of reverb, telephone or level
POOL_SIZE = 240                # babble talkers drawn from the training split
PEAK = 0.999                   # full-scale guard after mixing (as the evaluation)


def talker_pool(records: Sequence[tuple[Path, dict]], seed: int, size: int = POOL_SIZE
                ) -> list[Talker]:
    """Up to ``size`` training utterances (split "train", not augmented), spread over the voices
    in a seeded order, loaded as babble talkers."""
    by_voice: dict[str, list[tuple[Path, dict]]] = {}
    for path, rec in records:
        if rec.get("split") == "train" and not rec.get("augment"):
            by_voice.setdefault(rec["voice"], []).append((path, rec))
    if len(by_voice) < 2:
        return []
    rng = np.random.default_rng([seed, 7919])
    queues = {v: [by_voice[v][i] for i in rng.permutation(len(by_voice[v]))]
              for v in sorted(by_voice)}
    chosen: list[tuple[Path, dict]] = []
    while len(chosen) < size and any(queues.values()):
        for v in sorted(queues):                     # round robin: every voice is heard
            if queues[v] and len(chosen) < size:
                chosen.append(queues[v].pop())
    pool = []
    for path, rec in chosen:
        _, wave = read_utterance(path)
        pool.append(Talker(f"{rec['lang']}/{rec['voice']}/{rec['id']}", rec["voice"], wave))
    return pool


def _noise(n: int, kind: str, voice: str, talkers: Sequence[Talker],
           rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """(n,) unit-RMS noise of ``kind`` and what was used."""
    if kind == "babble":
        wave, used = babble(n, voice, talkers, rng)
        return wave, {"talkers": used}
    if kind == "music":
        wave, settings = synth_music(n, rng)
        return wave, {"music": settings}
    return colored_noise(n, kind, rng), {}


def _add_noise(audio: np.ndarray, voice: str, talkers: Sequence[Talker],
               rng: np.random.Generator, snr_db: tuple[float, float] = SNR_DB
               ) -> tuple[np.ndarray, dict[str, Any]]:
    kinds = [k for k in NOISES if k != "babble" or any(t.voice != voice for t in talkers)]
    kind = str(kinds[int(rng.integers(len(kinds)))])
    snr = float(rng.uniform(*snr_db))
    noise, used = _noise(len(audio), kind, voice, talkers, rng)
    return mix_at_snr(audio, noise, snr), {"noise": kind, "snr_db": round(snr, 1), **used}


def recording_copy(audio: np.ndarray, voice: str, talkers: Sequence[Talker],
                   rng: np.random.Generator, snr_db: tuple[float, float] = SNR_DB
                   ) -> tuple[np.ndarray, dict[str, Any]]:
    """(samples,) float32 16 kHz clean utterance -> (its copy under one drawn recording
    condition, same length; the record of what was done). Noise SNRs are drawn uniformly
    from ``snr_db`` (dB)."""
    audio = np.asarray(audio, dtype=np.float32)
    names = list(KINDS)
    kind = names[int(rng.choice(len(names), p=np.array([KINDS[k] for k in names])))]
    done: dict[str, Any] = {"recording": kind}
    if kind == "noise":
        out, extra = _add_noise(audio, voice, talkers, rng, snr_db)
        done.update(extra)
    else:
        if kind == "reverb":
            rt60, wet = float(rng.uniform(*RT60_S)), float(rng.uniform(*WET))
            out = reverberate(audio, rt60, wet, rng)
            done.update({"rt60_s": round(rt60, 3), "wet": round(wet, 3)})
        elif kind == "telephone":
            out = phone_line(audio, "telephone")
        else:                                                        # level
            dbfs = float(rng.uniform(*LEVEL_DBFS))
            out = set_level(audio, dbfs)
            done["level_dbfs"] = round(dbfs, 1)
            if dbfs < QUIET_DBFS:
                hiss = float(rng.uniform(*HISS_DBFS))
                out = out + colored_noise(len(out), "white", rng) * 10.0 ** (hiss / 20.0)
                done["hiss_dbfs"] = round(hiss, 1)
        if rng.random() < EXTRA_NOISE:
            out, extra = _add_noise(out, voice, talkers, rng, snr_db)
            done["extra"] = extra
    out = np.asarray(out, dtype=np.float32)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if kind != "level" and peak > PEAK:          # a recorder's gain; a shout stays clipped
        out = out * (PEAK / peak)
    return np.clip(out, -1.0, 1.0).astype(np.float32), done


def recording_corpus(inp: Path, out: Path, copies: int, seed: int,
                     langs: list[str] | None = None, min_snr_db: float | None = None) -> int:
    """Write ``copies`` recording-condition versions of every eligible utterance of ``inp`` into
    ``out`` (resumable: existing copies are skipped); return how many were written now. Eligible:
    has phones, is not itself a copy, is not held-out test speech. ``min_snr_db`` raises the
    lowest noise SNR drawn (default ``SNR_DB``'s -5 dB)."""
    snr_db = SNR_DB if min_snr_db is None else (float(min_snr_db), max(SNR_DB[1], min_snr_db))
    inp, out = Path(inp), Path(out)
    records = eligible(inp, langs)
    if not records:
        raise FileNotFoundError(f"No utterances with phones to augment under {inp}.")
    talkers = talker_pool(list(iter_records(inp)), seed)
    LOG.info("%d utterances, %d babble talkers", len(records), len(talkers))

    def make(audio: np.ndarray, phones: list, rec: dict, rng: np.random.Generator):
        copy, done = recording_copy(audio, rec["voice"], talkers, rng, snr_db)
        return copy, phones, done

    return write_copies(records, out, copies, seed, "rec", make, salt=(13,))


CODECS = ("telephone", "gsm")     # the evaluation's narrowband chains (conditions.py)


def codec_corpus(inp: Path, out: Path, codec: str, langs: list[str] | None = None) -> int:
    """Write one copy of every eligible utterance of ``inp`` into ``out`` through a phone line:
    the evaluation's 300 Hz high-pass, then 8 kHz and back through ``codec`` ("telephone": 8-bit
    mu-law; "gsm": GSM 06.10 full rate), clipped at full scale to be stored. Nothing is drawn,
    so a copy is the same on every machine; resumable like the others. Returns how many were
    written now."""
    if codec not in CODECS:
        raise ValueError(f"Unknown codec {codec!r}; use one of {', '.join(CODECS)}.")
    records = eligible(Path(inp), langs)
    if not records:
        raise FileNotFoundError(f"No utterances with phones to augment under {inp}.")

    def make(audio: np.ndarray, phones: list, rec: dict, rng: np.random.Generator):
        copy = phone_line(np.asarray(audio, np.float32), codec)
        return np.clip(copy, -1.0, 1.0).astype(np.float32), phones, {"recording": codec}

    return write_copies(records, Path(out), 1, 0, codec, make)
