"""The silence gate's noise-floor test (lipsync_runtime.gate): a pause under steady noise rests the
mouth, speech under the same noise is left to the model.

Real audio: the demo line (assets/demo/speech_en.wav, its phones beside it) with a 1.5 s pause
spliced in, under pink noise at 10 dB SNR made here with numpy.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lipsync_runtime import gate as G
from lipsync_core.params import HOP_SAMPLES, SAMPLE_RATE

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"
PAUSE_S = 1.5


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) float32 pink noise (1/f power), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    spectrum[1:] /= np.sqrt(f[1:])
    spectrum[0] = 0.0
    x = np.fft.irfft(spectrum, n)
    return (x / np.sqrt(np.mean(x * x))).astype(np.float32)


@pytest.fixture(scope="module")
def noisy_line():
    """(wave, speech frames, vowel frames, pause core frames) of the demo line with a pause
    spliced in after "Hello!", under pink noise at 10 dB SNR; the masks are (frames,) bool at
    50 Hz; a vowel's frames leave out two at each end."""
    wave, rate = sf.read(str(DEMO / "speech_en.wav"), dtype="float32")
    assert rate == SAMPLE_RATE
    phones = json.loads((DEMO / "speech_en.phones.json").read_text())["phones"]
    cut = int(round(phones[5][2] * SAMPLE_RATE))              # end of the "pau" after "Hello!"
    pause = int(PAUSE_S * SAMPLE_RATE)
    wave = np.concatenate([wave[:cut], np.zeros(pause, np.float32), wave[cut:]])
    speech_level = np.sqrt(np.mean(wave[np.abs(wave) > 1e-4] ** 2))
    noisy = wave + pink(len(wave), np.random.default_rng(0)) * speech_level * 10 ** (-10 / 20)
    n = len(wave) // HOP_SAMPLES
    speech = np.zeros(n, bool)
    vowels = np.zeros(n, bool)
    shift = pause / SAMPLE_RATE
    for name, start, end in phones:
        if name in ("sil", "pau"):
            continue
        if start >= phones[5][2]:
            start, end = start + shift, end + shift
        speech[int(start * 50):int(np.ceil(end * 50))] = True
        if name[0] in "aeiouæɑɒɔəɛɜɪʊʌ":
            vowels[int(start * 50) + 2:int(np.ceil(end * 50)) - 2] = True
    core = np.zeros(n, bool)                        # the pause, 0.3 s clear of the speech
    a = cut // HOP_SAMPLES
    core[a + 15:a + int(PAUSE_S * 50) - 15] = True
    return noisy, speech, vowels, core


def test_a_pause_under_steady_noise_rests_and_speech_does_not(noisy_line):
    wave, speech, vowels, core = noisy_line
    gate = G.silence_gate(wave, len(speech), HOP_SAMPLES)
    assert gate[core].max() == 0.0, "the pause under hiss is left to the model"
    assert vowels.sum() > 50 and gate[vowels].min() == 1.0, "a vowel was eased to rest"
    # Under hiss the weakest consonants at a phrase's end are no louder than the floor, so the
    # mouth eases to rest 60-120 ms early there (the k of "speak:", z of "vowels,", n of "moon,",
    # p of "map"), and the ramp touches one b of "Bob's": 20 of 298 speech frames, all consonants.
    assert np.mean(gate[speech] < 1.0) < 0.08


def test_without_the_floor_test_the_pause_stays_open(noisy_line, monkeypatch):
    """What the loudness test alone does with the same take: nothing (the noise is too loud)."""
    wave, speech, _, core = noisy_line
    monkeypatch.setattr(G, "NOISE_FLOOR_GATE", False)
    assert G.silence_gate(wave, len(speech), HOP_SAMPLES)[core].min() == 1.0


def test_band_levels_do_not_depend_on_the_chunking(noisy_line, monkeypatch):
    wave, speech, _, _ = noisy_line
    whole = G.band_levels(wave, len(speech))
    monkeypatch.setattr(G, "FLOOR_CHUNK_FRAMES", 37)
    np.testing.assert_allclose(G.band_levels(wave, len(speech)), whole, atol=1e-4)
    assert whole.shape == (len(speech), len(G.FLOOR_BANDS_HZ) - 1)


def test_floors_follow_a_take_whose_noise_changes(noisy_line):
    """A long take that gets 20 dB louder halfway, hiss and voice (the recorder's gain turned up):
    pauses rest in both halves, because a floor is local to 30 s, not one number for the take.
    (Within about 15 s of the jump the floor is the quieter half's, and pauses stay open.)"""
    wave, speech, _, core = noisy_line
    reps = int(np.ceil(45 * SAMPLE_RATE / len(wave)))        # 45 s or more per half
    take = np.concatenate([wave * (1.0 if i < reps else 10.0) for i in range(2 * reps)])
    take = (take / (1.01 * np.abs(take).max())).astype(np.float32)
    n_line = len(wave) // HOP_SAMPLES
    n = len(take) // HOP_SAMPLES
    gate = G.silence_gate(take, n, HOP_SAMPLES)
    checked = 0
    for i in range(2 * reps):
        if abs(i + 0.5 - reps) * len(wave) / SAMPLE_RATE < 20.0:
            continue                                        # too near the jump
        checked += 1
        start = i * len(wave) // HOP_SAMPLES
        frames = np.flatnonzero(core)[: n_line] + start
        frames = frames[frames < n]
        assert gate[frames].max() == 0.0, f"pause {i} of {2 * reps} left open"
    assert checked >= 6
