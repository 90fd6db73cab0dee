"""Curves drawn from the reference phones themselves score ~1.0 on every class metric.

This pins the metrics and the articulation rules to each other: a perfect phone-driven mouth,
with its own articulatory lead, must not be penalised by the evaluation.
"""
import math

import numpy as np
import pytest

from inference.articulation import curves_from_phones
from inference.training import metrics
from inference.training.evaluate import phone_segments

# (symbol, milliseconds), ARPAbet: "map you fee, bob, vow; move a pea by a fob, fan, mum"
EN = [("sil", 300), ("M", 80), ("AE", 130), ("P", 90), ("Y", 60), ("UW", 140), ("F", 100),
      ("IY", 130), ("sil", 150), ("B", 70), ("AA", 150), ("B", 80), ("sil", 120), ("V", 80),
      ("AW", 180), ("sil", 200), ("M", 80), ("UW", 120), ("V", 80), ("AH", 70), ("P", 90),
      ("IY", 120), ("B", 70), ("AY", 160), ("AH", 60), ("F", 100), ("AA", 140), ("B", 80),
      ("F", 90), ("AE", 150), ("N", 70), ("M", 80), ("AH", 110), ("M", 90), ("sil", 400)]
# Open JTalk: "mame wo tabete, sanpo ni iku, fuufu wa amai momo"
JA = [("sil", 300), ("m", 70), ("a", 100), ("m", 70), ("e", 90), ("o", 100), ("t", 60),
      ("a", 90), ("b", 60), ("e", 80), ("t", 60), ("e", 100), ("pau", 200), ("s", 80),
      ("a", 100), ("N", 80), ("p", 70), ("o", 100), ("n", 50), ("i", 70), ("i", 80), ("k", 60),
      ("u", 90), ("pau", 200), ("f", 80), ("u", 90), ("u", 80), ("f", 80), ("u", 80), ("w", 50),
      ("a", 100), ("a", 90), ("m", 70), ("a", 90), ("i", 80), ("m", 70), ("o", 90), ("m", 70),
      ("o", 110), ("sil", 400)]


def _record(phones_ms, notation, lang):
    phones, t = [], 0.0
    for sym, ms in phones_ms:
        phones.append([sym, round(t, 4), round(t + ms / 1000, 4)])
        t += ms / 1000
    return {"phones": phones, "notation": notation, "lang": lang, "duration": t}


@pytest.mark.parametrize("phones_ms,notation,lang", [(EN, "arpabet", "en"),
                                                     (JA, "openjtalk", "ja")])
def test_reference_curves_score_one(phones_ms, notation, lang):
    rec = _record(phones_ms, notation, lang)
    target = curves_from_phones(rec["phones"], notation, lang, duration=rec["duration"])
    sound = curves_from_phones(rec["phones"], notation, lang, duration=rec["duration"], lead=False)
    segments = phone_segments(rec, len(target))
    out = metrics.clip_metrics(target, target, segments, sound_reference=sound)
    assert out["aperture_auc"] >= 0.97, out
    assert out["closure_recall"] == 1.0, out
    assert out["false_closures"] == 0.0, out
    assert out["rounding_auc"] >= 0.95, out
    if lang == "en":
        assert out["lip_roll_auc"] >= 0.9, out
    assert out["silence_closed"] == 1.0, out
    # The articulatory lead shows as the mouth moving early against the sound.
    assert 0.0 <= out["lag_ms"] <= 120.0, out
    assert abs(out["lag_vs_targets_ms"]) < 1.0


def test_loudness_mouth_scores_below_reference():
    rec = _record(EN, "arpabet", "en")
    target = curves_from_phones(rec["phones"], "arpabet", "en", duration=rec["duration"])
    segments = phone_segments(rec, len(target))
    # A mouth open whenever anything is "voiced": no rounding, no lip roll, no closures on m.
    flat = np.zeros_like(target)
    speech = metrics.class_masks(segments, len(target))["speech"]
    flat[speech, 0] = 0.6
    out = metrics.clip_metrics(flat, target, segments)
    assert out["rounding_auc"] == 0.5 and out["lip_roll_auc"] == 0.5
    assert out["closure_recall"] < 0.5
    assert math.isfinite(out["params"]["jaw_open"]["mae"])
