"""Recording conditions for robustness evaluation: what a clean held-out clip sounds like in noise,
in a room, down a telephone line, whispered or shouted, each reproducible from the clip's id.

Owns the condition names, their exact definitions (``DEFINITIONS``, also in docs/robustness.md)
and ``degrade``, which turns one clean clip into its degraded copy. Every condition keeps the
clip's length and timing (no delay is added: filters are zero-phase, the reverb's direct sound
stays at time 0), so the reference phones of the clean clip stay valid. Randomness (noise,
babble talkers and offsets, the music's key and tempo, the room) comes from a generator seeded by
the condition name and the clip id, so a condition is the same audio on every run and machine.

SNR: the RMS of the clean clip's non-silent samples (|x| > 1e-4, augment.speech_level) over the
RMS of the added signal across the whole clip, in dB. After mixing, a result whose peak would
pass full scale is scaled down as a whole (a recorder's gain set so it does not clip), which keeps
the SNR exact.

Names: ``clean``; ``pink@SNR``, ``brown@SNR``, ``babble@SNR``, ``music@SNR`` (SNR in dB, any
number; ``all`` uses 10 and 0); ``reverb``; ``telephone``; ``gsm``; ``whisper``; ``shout``.

Imports: numpy, lipsync_core.params, inference.corpus.augment (noise, reverb and
telephone effects, reused).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from inference.corpus.augment import (add_noise, band_limit, colored_noise, reverberate,
                                      speech_level)
from lipsync_core.params import SAMPLE_RATE  # Hz, every corpus clip

NOISE_KINDS = ("pink", "brown", "babble", "music")
ALL = ("clean", "pink@10", "pink@0", "brown@10", "brown@0", "babble@10", "babble@0",
       "music@10", "music@0", "reverb", "telephone", "gsm", "whisper", "shout")
SEED = 13                            # issue 13: the base of every clip's seed
BABBLE_TALKERS = 5                   # other talkers summed into babble (at least 4 when possible)
BABBLE_MIN = 4
REVERB_RT60_S = 0.6                  # a medium living room / classroom
REVERB_WET = 0.5                     # share of the reverberant tail in the mix
PHONE_LOW_HZ = 300.0                 # telephone band: high-pass edge (G.712 voice channel)
WHISPER_DBFS = -50.0                 # speech level (RMS, dBFS) of a quiet / whispered take
WHISPER_FLOOR_DBFS = -75.0           # white noise floor (mic and preamp hiss), RMS dBFS
SHOUT_DBFS = -6.0                    # speech level of an overdriven take, then hard-clipped at 0
PEAK = 0.999                         # full-scale guard after mixing

DEFINITIONS = {
    "clean": "the held-out clip as recorded",
    "pink": "pink noise (1/f power, augment.colored_noise) at {snr:g} dB SNR",
    "brown": "brown noise (1/f^2 power, augment.colored_noise) at {snr:g} dB SNR",
    "babble": (f"babble: {BABBLE_TALKERS} other held-out talkers (never the clip's own voice or "
               "source), each level-matched, looped from a random offset and summed, at "
               "{snr:g} dB SNR"),
    "music": ("SYNTHETIC music (no recording): I-V-vi-IV chords with harmonics, a bass line, "
              "kick, snare and hi-hat, key and tempo drawn per clip, at {snr:g} dB SNR"),
    "reverb": (f"synthetic room (augment.reverberate): exponential-decay noise impulse response, "
               f"RT60 {REVERB_RT60_S} s, wet {REVERB_WET}, 2 ms pre-delay"),
    "telephone": (f"telephone band: {PHONE_LOW_HZ:g} Hz zero-phase high-pass, then 8 kHz "
                  "round trip with 8-bit mu-law (augment.band_limit): about 300-3900 Hz"),
    "gsm": (f"mobile-phone codec: {PHONE_LOW_HZ:g} Hz zero-phase high-pass, then 8 kHz round "
            "trip through GSM 06.10 full rate (13 kbit/s, augment.band_limit)"),
    "whisper": (f"quiet take: speech scaled to {WHISPER_DBFS:g} dBFS RMS, white noise floor at "
                f"{WHISPER_FLOOR_DBFS:g} dBFS, stored as 16-bit PCM"),
    "shout": (f"overdriven take: speech scaled to {SHOUT_DBFS:g} dBFS RMS, hard-clipped at "
              "full scale"),
}


@dataclass(frozen=True)
class Talker:
    """One clip that may be mixed into another's babble."""
    clip_id: str                     # "<lang>/<voice>/<id>"
    voice: str                       # the speaker / source: never mixed into its own clips
    wave: np.ndarray                 # (samples,) float32 at 16 kHz


def parse(name: str) -> tuple[str, float | None]:
    """("pink", 10.0) for "pink@10", ("reverb", None) for "reverb"; ValueError otherwise."""
    kind, _, snr = name.strip().partition("@")
    if kind in NOISE_KINDS:
        try:
            value = float(snr)
        except ValueError:
            raise ValueError(f"Condition {name!r} needs an SNR in dB, e.g. {kind}@10.") from None
        if not math.isfinite(value):
            raise ValueError(f"Condition {name!r} needs a finite SNR in dB, e.g. {kind}@10.")
        return kind, value
    if kind in DEFINITIONS and not snr:
        return kind, None
    raise ValueError(f"Unknown condition {name!r}; use clean, pink@SNR, brown@SNR, babble@SNR, "
                     "music@SNR, reverb, telephone, gsm, whisper, shout or all.")


def expand(names: Sequence[str] | None) -> list[str]:
    """The conditions to run, in order, without repeats: "all" expands to ``ALL``; "clean" is
    always first (every condition is reported against it)."""
    out = ["clean"]
    for name in names or ():
        for one in (ALL if name.strip() == "all" else (name.strip(),)):
            parse(one)
            if one not in out:
                out.append(one)
    return out


def describe(name: str) -> str:
    kind, snr = parse(name)
    return DEFINITIONS[kind].format(snr=snr)


def clip_rng(name: str, clip_id: str) -> np.random.Generator:
    """The generator of one condition on one clip: the same on every run."""
    digest = hashlib.sha1(f"{name}|{clip_id}".encode("utf-8")).digest()
    return np.random.default_rng([SEED, int.from_bytes(digest[:8], "big")])


def degrade(audio: np.ndarray, name: str, clip_id: str, voice: str,
            talkers: Sequence[Talker] = ()) -> tuple[np.ndarray, dict[str, Any]]:
    """(samples,) float32 16 kHz clean clip -> (its copy under condition ``name``, a record of
    what was done). ``voice`` is the clip's speaker/source; ``talkers`` the clips babble may use."""
    audio = np.asarray(audio, dtype=np.float32)
    kind, snr = parse(name)
    rng = clip_rng(name, clip_id)
    done: dict[str, Any] = {"condition": name}
    if kind == "clean":
        return audio.copy(), done
    if kind in ("pink", "brown"):
        out = add_noise(audio, snr, kind, rng)
    elif kind == "babble":
        noise, used = babble(len(audio), voice, talkers, rng)
        out, done["talkers"] = mix_at_snr(audio, noise, snr), used
    elif kind == "music":
        noise, done["music"] = synth_music(len(audio), rng)
        out = mix_at_snr(audio, noise, snr)
    elif kind == "reverb":
        out = reverberate(audio, REVERB_RT60_S, REVERB_WET, rng)
    elif kind in ("telephone", "gsm"):
        out = phone_line(audio, kind)
    elif kind == "whisper":
        out = set_level(audio, WHISPER_DBFS)
        out = out + colored_noise(len(out), "white", rng) * 10.0 ** (WHISPER_FLOOR_DBFS / 20.0)
        out = np.round(np.clip(out, -1.0, 1.0) * 32767.0) / 32767.0
    else:                                                    # shout
        louder = set_level(audio, SHOUT_DBFS)
        done["clipped_fraction"] = round(float(np.mean(np.abs(louder) > 1.0)), 4)
        out = np.clip(louder, -1.0, 1.0)
    if kind in NOISE_KINDS:
        peak = float(np.max(np.abs(out))) if out.size else 0.0
        if peak > PEAK:
            out = out * (PEAK / peak)
    return np.asarray(out, dtype=np.float32), done


def mix_at_snr(audio: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``audio`` plus ``noise`` (same length, any level) scaled to ``snr_db`` below the speech."""
    rms = float(np.sqrt(np.mean(np.square(noise, dtype=np.float64))))
    if rms == 0.0:
        return audio.astype(np.float32)
    gain = speech_level(audio) / rms / 10.0 ** (snr_db / 20.0)
    return (audio + noise * gain).astype(np.float32)


def set_level(audio: np.ndarray, dbfs: float) -> np.ndarray:
    """``audio`` scaled so its speech level (augment.speech_level) is ``dbfs`` RMS."""
    return audio * (10.0 ** (dbfs / 20.0) / speech_level(audio))


def highpass(audio: np.ndarray, cutoff_hz: float, width_hz: float = 100.0) -> np.ndarray:
    """Zero-phase FFT high-pass (raised-cosine edge ``width_hz`` wide, centred on the cutoff):
    no delay, same length."""
    n = len(audio)
    if n < 2:
        return audio.astype(np.float32)
    size = 1 << int(np.ceil(np.log2(2 * n)))       # zero padding: no wrap-around of the edges
    freqs = np.fft.rfftfreq(size, 1.0 / SAMPLE_RATE)
    ramp = np.clip((freqs - (cutoff_hz - width_hz / 2)) / width_hz, 0.0, 1.0)
    gain = 0.5 - 0.5 * np.cos(np.pi * ramp)
    return np.fft.irfft(np.fft.rfft(audio, size) * gain, size)[:n].astype(np.float32)


def phone_line(audio: np.ndarray, codec: str) -> np.ndarray:
    """(samples,) 16 kHz -> the same through a phone line: the PHONE_LOW_HZ zero-phase high-pass,
    then 8 kHz and back through ``codec`` ("telephone": 8-bit mu-law; "gsm": GSM 06.10 full
    rate). Same length, no delay; not clipped."""
    return band_limit(highpass(audio, PHONE_LOW_HZ), codec, 4000.0)


def babble(n: int, voice: str, talkers: Sequence[Talker], rng: np.random.Generator
           ) -> tuple[np.ndarray, list[str]]:
    """(n,) unit-RMS babble of up to BABBLE_TALKERS clips whose voice is not ``voice``: one clip
    per other voice first (in a seeded order), more clips of those voices if fewer than
    BABBLE_MIN voices exist. Each is scaled to the same speech level, tiled to ``n`` samples from
    a random offset, and the sum is returned with the ids of the clips used."""
    others = [t for t in talkers if t.voice != voice and len(t.wave)]
    if not others:
        raise ValueError(f"Babble needs clips from other speakers than {voice!r}; evaluate a "
                         "corpus with at least two voices or drop the babble conditions.")
    by_voice: dict[str, list[Talker]] = {}
    for t in sorted(others, key=lambda t: t.clip_id):
        by_voice.setdefault(t.voice, []).append(t)
    order = [sorted(by_voice)[i] for i in rng.permutation(len(by_voice))]
    queues = {v: [by_voice[v][i] for i in rng.permutation(len(by_voice[v]))] for v in order}
    chosen: list[Talker] = [queues[v].pop(0) for v in order[:BABBLE_TALKERS]]
    while len(chosen) < BABBLE_MIN and any(queues[v] for v in order):
        for v in order:                              # a second clip of a voice, and so on
            if queues[v] and len(chosen) < BABBLE_MIN:
                chosen.append(queues[v].pop(0))
    total = np.zeros(n, dtype=np.float64)
    for t in chosen:
        wave = np.asarray(t.wave, dtype=np.float64) / speech_level(t.wave)
        reps = int(np.ceil((n + len(wave)) / len(wave)))
        start = int(rng.integers(len(wave)))
        total += np.tile(wave, reps)[start:start + n]
    rms = float(np.sqrt(np.mean(total ** 2))) or 1.0
    return (total / rms).astype(np.float32), [t.clip_id for t in chosen]


def _tone(freq: float, seconds: np.ndarray, harmonics: int, decay_s: float) -> np.ndarray:
    """A decaying harmonic note (amplitudes 1/k) sampled at ``seconds`` after its onset."""
    out = np.zeros_like(seconds)
    for k in range(1, harmonics + 1):
        if k * freq < SAMPLE_RATE / 2:
            out += np.sin(2 * np.pi * k * freq * seconds) / k
    return out * np.exp(-seconds / decay_s)


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def synth_music(n: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """(n,) unit-RMS SYNTHETIC pop-like music and its settings: a I-V-vi-IV progression (one
    chord a bar, struck on every beat, 6 harmonics), a bass on beats 1 and 3, a kick on 1 and 3,
    a snare on 2 and 4, a hi-hat on every eighth note. Key, tempo and start offset are drawn from
    ``rng``."""
    tempo = float(rng.uniform(90.0, 130.0))           # beats per minute
    key = int(rng.integers(48, 60))                   # MIDI note of the tonic (C3-B3)
    beat = int(round(SAMPLE_RATE * 60.0 / tempo))     # samples per beat
    offset = int(rng.integers(0, 4 * beat))           # the clip starts somewhere in a bar
    total = n + offset
    out = np.zeros(total + 2 * SAMPLE_RATE, dtype=np.float64)
    chords = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))   # I, V, vi, IV (semitones)
    hat_noise = np.diff(rng.standard_normal(int(0.05 * SAMPLE_RATE) + 1))   # high-passed noise
    snare_noise = rng.standard_normal(int(0.2 * SAMPLE_RATE))
    t_note = np.arange(int(1.2 * SAMPLE_RATE)) / SAMPLE_RATE
    t_drum = np.arange(int(0.2 * SAMPLE_RATE)) / SAMPLE_RATE
    kick = np.sin(2 * np.pi * np.cumsum(50.0 + 100.0 * np.exp(-t_drum / 0.03)) / SAMPLE_RATE)
    kick *= np.exp(-t_drum / 0.12)
    snare = snare_noise * np.exp(-t_drum / 0.06) * 0.6 + \
        np.sin(2 * np.pi * 190.0 * t_drum) * np.exp(-t_drum / 0.05) * 0.4
    for b in range(total // beat + 1):
        at = b * beat
        chord = chords[(b // 4) % 4]
        notes = sum(_tone(_midi_hz(key + 12 + s), t_note, 6, 0.5) for s in chord) / 3.0
        out[at:at + len(t_note)] += 0.35 * notes
        if b % 2 == 0:
            out[at:at + len(t_note)] += 0.5 * _tone(_midi_hz(key - 12 + chord[0]), t_note, 3, 0.6)
            out[at:at + len(kick)] += 0.8 * kick
        else:
            out[at:at + len(snare)] += 0.5 * snare
        for half in (0, beat // 2):
            hat = hat_noise * np.exp(-np.arange(len(hat_noise)) / (0.012 * SAMPLE_RATE))
            out[at + half:at + half + len(hat)] += 0.15 * hat
    music = out[offset:offset + n]
    rms = float(np.sqrt(np.mean(music ** 2))) or 1.0
    return (music / rms).astype(np.float32), {"tempo_bpm": round(tempo, 1), "key_midi": key,
                                              "offset_s": round(offset / SAMPLE_RATE, 3)}
