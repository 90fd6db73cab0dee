"""``corpus augment``: acoustic variations of corpus utterances, each with its phone timings kept
exact, reproducible from a seed.

Effects (each copy draws two or three, in this order):
- speed: resampling by a factor (0.85-1.2, like tape speed: tempo and pitch move together);
  every phone time is scaled by the exact ratio of output to input length;
- gain: -12..+6 dB, then a peak limit at -0.1 dBFS;
- reverb: a synthetic room, exponentially decaying noise with RT60 0.15-0.7 s mixed with the
  direct sound (audio length unchanged; the tail past the end is cut);
- band: telephone (down to 8 kHz and back, then 8-bit mu-law) or a low-pass at 3-6 kHz;
- noise: white, pink or brown noise at an SNR of 5-30 dB against the speech level.
- pitch: -3..+3 semitones without changing the timing: resampled (pitch and tempo move), then
  time-stretched back by WSOLA (20 ms frames, 10 ms hop, +-5 ms search), cut or padded to the
  exact input length, so phone times stay as they were (local error under 5 ms).

The copy's json records the effects under "augment" (with the source id); it keeps the source's
split, so an augmented copy of a validation sentence never lands in training. Held-out ("test")
utterances and capture data (targets instead of phones) are never augmented.

Imports: numpy, soxr; corpus format.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .format import SAMPLE_RATE, Utterance, iter_records, read_utterance, write_manifest
from .format import json_path, write_utterance

LOG = logging.getLogger(__name__)

MU = 255.0   # mu-law companding constant (G.711)


def change_speed(audio: np.ndarray, phones: list, factor: float
                 ) -> tuple[np.ndarray, list[list[Any]]]:
    """Play ``audio`` ``factor`` times faster; phone times divided by the same exact ratio."""
    import soxr
    out = soxr.resample(audio.astype(np.float32), SAMPLE_RATE * factor, SAMPLE_RATE,
                        quality="HQ").astype(np.float32)
    ratio = len(out) / len(audio)      # exact length ratio, ~= 1 / factor
    return out, [[p, a * ratio, b * ratio] for p, a, b in phones]


def wsola(audio: np.ndarray, rate: float, frame: int = 320, hop: int = 160, tol: int = 80
          ) -> np.ndarray:
    """Time-stretch ``audio`` to len / ``rate`` samples with waveform-similarity overlap-add:
    output frames every ``hop`` samples, each taken near input position k * hop * rate where it
    continues the previous frame best (cross-correlation within +-``tol`` samples)."""
    window = np.hanning(frame).astype(np.float32)
    n_out = int(round(len(audio) / rate))
    padded = np.concatenate([np.zeros(tol, np.float32), audio.astype(np.float32),
                             np.zeros(frame + tol + hop, np.float32)])
    out = np.zeros(n_out + frame, np.float32)
    norm = np.zeros(n_out + frame, np.float32)
    prev_next = None        # the input that would naturally follow the previous frame
    for k in range(0, n_out // hop + 1):
        centre = int(round(k * hop * rate)) + tol
        if prev_next is None:
            best = centre
        else:
            lo = max(0, centre - tol)
            hi = min(len(padded) - frame, centre + tol)
            seg = padded[lo:hi + frame]
            corr = np.correlate(seg, prev_next, mode="valid")
            best = lo + int(np.argmax(corr)) if corr.size else centre
        piece = padded[best:best + frame]
        out[k * hop:k * hop + frame] += piece * window
        norm[k * hop:k * hop + frame] += window
        prev_next = padded[best + hop:best + hop + frame]
    norm[norm < 1e-3] = 1.0
    return (out / norm)[:n_out]


def shift_pitch(audio: np.ndarray, semitones: float) -> np.ndarray:
    """Pitch moved by ``semitones``; length (and so every phone time) unchanged."""
    factor = 2.0 ** (semitones / 12.0)
    faster, _ = change_speed(audio, [], factor)      # pitch x factor, duration / factor
    back = wsola(faster, 1.0 / factor)               # stretch back to the old duration
    out = np.zeros(len(audio), np.float32)
    out[: min(len(back), len(audio))] = back[: len(audio)]
    return out


def apply_gain(audio: np.ndarray, gain_db: float) -> np.ndarray:
    out = audio * (10.0 ** (gain_db / 20.0))
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    limit = 10.0 ** (-0.1 / 20.0)
    return out * (limit / peak) if peak > limit else out


def colored_noise(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white, pink (1/f power) or brown (1/f^2) noise of ``n`` samples."""
    white = rng.standard_normal(n)
    if color != "white":
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
        freqs[0] = freqs[1] if n > 1 else 1.0
        power = 1.0 if color == "pink" else 2.0
        white = np.fft.irfft(spectrum / freqs ** (power / 2.0), n)
    rms = np.sqrt(np.mean(white ** 2)) or 1.0
    return (white / rms).astype(np.float32)


def speech_level(audio: np.ndarray) -> float:
    """The level noise SNRs are measured against: RMS of the non-silent samples (|x| > 1e-4),
    0.01 when there are none."""
    speech = audio[np.abs(audio) > 1e-4]
    return np.sqrt(np.mean(speech ** 2)) if speech.size else 0.01


def add_noise(audio: np.ndarray, snr_db: float, color: str, rng: np.random.Generator
              ) -> np.ndarray:
    level = speech_level(audio)
    noise = colored_noise(len(audio), color, rng) * level / (10.0 ** (snr_db / 20.0))
    return (audio + noise).astype(np.float32)


def reverberate(audio: np.ndarray, rt60: float, wet: float, rng: np.random.Generator
                ) -> np.ndarray:
    """Convolve with a synthetic exponential-decay impulse response (FFT), same length out."""
    n_ir = int(rt60 * SAMPLE_RATE)
    t = np.arange(n_ir) / SAMPLE_RATE
    ir = rng.standard_normal(n_ir) * np.exp(-6.908 * t / rt60)   # -60 dB at rt60
    ir[: int(0.002 * SAMPLE_RATE)] = 0.0                            # 2 ms pre-delay
    ir /= np.sqrt(np.sum(ir ** 2)) or 1.0
    size = 1 << int(np.ceil(np.log2(len(audio) + n_ir)))
    tail = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(ir, size), size)[: len(audio)]
    out = (1.0 - wet) * audio + wet * tail
    peak_in, peak_out = np.max(np.abs(audio)), np.max(np.abs(out))
    return (out * (peak_in / peak_out if peak_out > 0 else 1.0)).astype(np.float32)


GSM_RATE = 8000   # Hz: GSM 06.10 full rate codes 8 kHz speech in 160-sample frames


def gsm_encode(audio8k: np.ndarray) -> bytes:
    """(samples,) float audio at ``GSM_RATE`` -> raw GSM 06.10 bytes (libsndfile's coder)."""
    import io

    import soundfile as sf
    coded = io.BytesIO()
    sf.write(coded, np.clip(audio8k, -1.0, 1.0), GSM_RATE, format="RAW", subtype="GSM610")
    return coded.getvalue()


def gsm_decode(data: bytes) -> np.ndarray:
    """Raw GSM 06.10 bytes (no header, as Asterisk's .gsm prompts) -> (samples,) float32 at
    ``GSM_RATE``."""
    import io

    import soundfile as sf
    audio, _ = sf.read(io.BytesIO(data), dtype="float32", format="RAW", subtype="GSM610",
                       samplerate=GSM_RATE, channels=1)
    return audio


def band_limit(audio: np.ndarray, kind: str, cutoff_hz: float) -> np.ndarray:
    """"telephone": 8 kHz round trip plus 8-bit mu-law; "gsm": 8 kHz round trip through the GSM
    06.10 full-rate codec (13 kbit/s, libsndfile; the 2G mobile and Asterisk .gsm codec);
    "lowpass": round trip at 2*cutoff."""
    import soxr
    rate = 8000 if kind in ("telephone", "gsm") else int(2 * cutoff_hz)   # narrowband: 8 kHz
    low = soxr.resample(audio.astype(np.float32), SAMPLE_RATE, rate, quality="HQ")
    if kind == "telephone":
        x = np.clip(low, -1.0, 1.0)
        code = np.round(np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU) * 127.0) / 127.0
        low = np.sign(code) * np.expm1(np.abs(code) * np.log1p(MU)) / MU
    elif kind == "gsm":
        low = gsm_decode(gsm_encode(low))
    back = soxr.resample(low.astype(np.float32), rate, SAMPLE_RATE, quality="HQ")
    out = np.zeros(len(audio), np.float32)      # same length: phone times stay valid
    out[: min(len(back), len(audio))] = back[: len(audio)]
    return out


def augment_one(audio: np.ndarray, phones: list, rng: np.random.Generator
                ) -> tuple[np.ndarray, list, dict[str, Any]]:
    """One random augmentation of (16 kHz audio, phones); returns the record of what was done."""
    done: dict[str, Any] = {}
    effects = ["speed", "pitch", "gain", "reverb", "band", "noise"]
    chosen = set(rng.choice(effects, size=int(rng.integers(2, 4)), replace=False).tolist())
    if "speed" in chosen:
        factor = float(rng.uniform(0.85, 1.2))
        audio, phones = change_speed(audio, phones, factor)
        done["speed"] = round(factor, 4)
    if "pitch" in chosen:
        semitones = float(rng.uniform(-3.0, 3.0))
        audio = shift_pitch(audio, semitones)
        done["pitch_semitones"] = round(semitones, 2)
    if "gain" in chosen:
        gain = float(rng.uniform(-12.0, 6.0))
        audio = apply_gain(audio, gain)
        done["gain_db"] = round(gain, 2)
    if "reverb" in chosen:
        rt60, wet = float(rng.uniform(0.15, 0.7)), float(rng.uniform(0.2, 0.6))
        audio = reverberate(audio, rt60, wet, rng)
        done["reverb"] = {"rt60_s": round(rt60, 3), "wet": round(wet, 3)}
    if "band" in chosen:
        kind = "telephone" if rng.random() < 0.5 else "lowpass"
        cutoff = 4000.0 if kind == "telephone" else float(rng.uniform(3000.0, 6000.0))
        audio = band_limit(audio, kind, cutoff)
        done["band"] = {"kind": kind, "cutoff_hz": round(cutoff)}
    if "noise" in chosen:
        snr, color = float(rng.uniform(5.0, 30.0)), str(rng.choice(["white", "pink", "brown"]))
        audio = add_noise(audio, snr, color, rng)
        done["noise"] = {"snr_db": round(snr, 1), "color": color}
    return np.clip(audio, -1.0, 1.0).astype(np.float32), phones, done


def _id_number(utt_id: str) -> int:
    return int.from_bytes(hashlib.sha1(utt_id.encode("utf-8")).digest()[:8], "big")


def eligible(inp: Path, langs: list[str] | None = None) -> list[tuple[Path, dict]]:
    """The utterances of ``inp`` a copy may be made of: with phones, not themselves copies, not
    held-out test speech, in ``langs`` (all when None)."""
    return [(p, r) for p, r in iter_records(inp)
            if r.get("phones") and not r.get("augment") and r.get("split") != "test"
            and (not langs or r["lang"] in langs)]


CopyFn = Callable[[np.ndarray, list, dict, np.random.Generator],
                  tuple[np.ndarray, list, dict[str, Any]]]


def write_copies(records: list[tuple[Path, dict]], out: Path, copies: int, seed: int, tag: str,
                 make: CopyFn, salt: tuple[int, ...] = ()) -> int:
    """Write ``copies`` copies ``<id>-<tag><seed>.<k>`` of each record into ``out``; ``make``
    turns (audio, phones, record, rng) into (audio, phones, what was done). The generator is
    seeded by (seed, k, the source id, *salt). Resumable: existing copies are skipped. Returns
    how many were written now; the manifest is rewritten every 100 and at the end."""
    written = 0
    for path, rec in records:
        for k in range(copies):
            utt_id = f"{rec['id']}-{tag}{seed}.{k}"
            if json_path(out, rec["lang"], rec["voice"], utt_id).exists():
                continue
            _, audio = read_utterance(path)
            rng = np.random.default_rng([seed, k, _id_number(rec["id"]), *salt])
            new_audio, phones, done = make(audio, rec["phones"], rec, rng)
            done.update({"source": rec["id"], "seed": seed, "copy": k})
            write_utterance(out, Utterance(
                id=utt_id, text=rec["text"], lang=rec["lang"], voice=rec["voice"],
                engine=rec["engine"], notation=rec["notation"], audio=new_audio,
                sample_rate=SAMPLE_RATE, phones=[tuple(p) for p in phones],
                licence=rec["licence"], augment=done, split=rec.get("split")))
            written += 1
            if written % 100 == 0:
                write_manifest(out)
                LOG.info("%d copies written", written)
    write_manifest(out)
    return written


def augment_corpus(inp: Path, out: Path, copies: int, seed: int,
                   langs: list[str] | None = None) -> int:
    """Write ``copies`` augmented versions of every eligible utterance of ``inp`` into ``out``
    (resumable: existing copies are skipped); return how many were written now."""
    records = eligible(Path(inp), langs)
    if not records:
        raise FileNotFoundError(f"No utterances with phones to augment under {inp}.")
    return write_copies(records, Path(out), copies, seed, "aug",
                        lambda audio, phones, rec, rng: augment_one(audio, phones, rng))
