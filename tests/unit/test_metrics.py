"""Evaluation metrics on hand-built curves: perfect, shifted, constant and loudness-driven mouths."""
import math

import numpy as np
import pytest

from inference.training import metrics
from inference.training.metrics import Segment
from lipsync_core.params import NUM_PARAMS, index_of

# A clip at 50 Hz: silence, "m", "a", "p", "u", "f", "i", "b", "a", silence (frames).
LAYOUT = [("silence", 10), ("bilabial", 5), ("open_vowel", 8), ("bilabial", 4),
          ("rounded_vowel", 8), ("labiodental", 5), ("spread_vowel", 8), ("bilabial", 4),
          ("open_vowel", 8), ("silence", 15)]


def _segments():
    segs, t = [], 0
    for cls, n in LAYOUT:
        segs.append(Segment(frozenset({cls}), t, t + n))
        t += n
    return segs, t


def _reference_curves():
    """(frames, 26): each class's pose, smoothed a little like a real mouth."""
    segs, n = _segments()
    frames = np.zeros((n, NUM_PARAMS), dtype=np.float64)
    for seg in segs:
        (cls,) = seg.classes
        sl = slice(seg.start, seg.end)
        if cls == "bilabial":
            frames[sl, index_of("mouth_close")] = 1.0
        elif cls == "open_vowel":
            frames[sl, index_of("jaw_open")] = 0.8
            frames[sl, index_of("mouth_open")] = 0.5
        elif cls == "rounded_vowel":
            frames[sl, index_of("jaw_open")] = 0.3
            frames[sl, index_of("lip_pucker")] = 0.8
            frames[sl, index_of("lip_funnel")] = 0.3
        elif cls == "spread_vowel":
            frames[sl, index_of("jaw_open")] = 0.25
            frames[sl, index_of("lip_stretch_left")] = 0.6
        elif cls == "labiodental":
            frames[sl, index_of("jaw_open")] = 0.1
            frames[sl, index_of("lip_roll_lower")] = 0.9
    kernel = np.ones(3) / 3
    for j in range(NUM_PARAMS):
        frames[:, j] = np.convolve(np.pad(frames[:, j], 1, mode="edge"), kernel, mode="valid")
    return frames, segs


def test_auc_is_mann_whitney_with_ties():
    assert metrics.auc([2, 3], [0, 1]) == 1.0
    assert metrics.auc([0, 1], [2, 3]) == 0.0
    assert metrics.auc([1, 1], [1, 1]) == 0.5
    assert metrics.auc([1, 3], [2]) == 0.5
    assert math.isnan(metrics.auc([], [1.0]))


def test_perfect_prediction_scores_one():
    ref, segs = _reference_curves()
    out = metrics.clip_metrics(ref, ref, segs)
    assert out["aperture_auc"] == 1.0
    assert out["rounding_auc"] == 1.0
    assert out["lip_roll_auc"] == 1.0
    assert out["closure_recall"] == 1.0
    assert out["false_closures"] == 0.0
    assert out["silence_closed"] == 1.0
    assert abs(out["lag_ms"]) < 1.0
    jaw = out["params"]["jaw_open"]
    assert jaw["mae"] == 0.0 and jaw["pearson"] == pytest.approx(1.0)
    assert jaw["std_ratio"] == pytest.approx(1.0)


@pytest.mark.parametrize("shift_frames", [3, -2])
def test_shifted_prediction_recovers_lag_with_sign(shift_frames):
    ref, segs = _reference_curves()
    # Advancing the curves by k frames = the mouth moves k * 20 ms early.
    early = metrics.delay(ref, -shift_frames)
    out = metrics.clip_metrics(early, ref, segs)
    assert out["lag_ms"] == pytest.approx(20.0 * shift_frames, abs=5.0)
    # Class metrics are taken after undoing the model's own lead: still perfect.
    assert out["aperture_auc"] == 1.0
    assert out["closure_recall"] == 1.0


def test_constant_prediction_has_zero_std_ratio_and_no_closures():
    ref, segs = _reference_curves()
    flat = np.full_like(ref, 0.3)
    out = metrics.clip_metrics(flat, ref, segs)
    assert out["params"]["jaw_open"]["std_ratio"] == 0.0
    assert math.isnan(out["params"]["jaw_open"]["pearson"])
    assert out["params"]["jaw_open"]["jitter"] == 0.0
    assert out["aperture_auc"] == 0.5
    assert out["closure_recall"] == 0.0
    assert math.isnan(out["lag_ms"])


def test_open_mouth_in_silence_is_not_closed():
    ref, segs = _reference_curves()
    bad = ref.copy()
    bad[:5, index_of("jaw_open")] = 0.8
    bad[-10:, index_of("jaw_open")] = 0.8
    out = metrics.clip_metrics(bad, ref, segs)
    assert out["silence_closed"] == 0.0


def test_loudness_baseline_follows_the_envelope():
    sr = 16000
    t = np.arange(sr) / sr
    wave = np.where((t > 0.3) & (t < 0.7), 0.3 * np.sin(2 * np.pi * 200 * t), 0.0)
    curves = metrics.loudness_curves(wave.astype(np.float32), sr)
    assert curves.shape == (50, NUM_PARAMS)
    jaw = curves[:, index_of("jaw_open")]
    assert jaw[25] > 0.9 and jaw[5] < 0.05 and jaw[45] < 0.05
    others = np.delete(curves, index_of("jaw_open"), axis=1)
    assert not others.any()


def test_summary_and_json_safety():
    ref, segs = _reference_curves()
    clips = [metrics.clip_metrics(ref, ref, segs), metrics.clip_metrics(np.full_like(ref, .3), ref, segs)]
    summary = metrics.summarize(clips)
    assert summary["clips"] == 2
    assert summary["closure_recall"] == 0.5
    assert summary["pooled"]["closure_recall"] == 0.5
    assert summary["pooled"]["bilabial_segments"] == 6
    assert 0.5 < summary["pooled"]["aperture_auc"] < 1.0
    clips = [metrics.strip_pool(c) for c in clips]
    safe = metrics.json_safe(summary)
    import json
    json.dumps(safe, allow_nan=False)


def test_schwa_ratio_is_schwa_opening_over_full_vowel_opening():
    """A schwa segment opened to about half a full vowel's aperture reads that ratio, per clip and pooled; a
    clip without schwas reads NaN and leaves the pooled ratio to the clips that have them; the
    evaluation's segments mark ARPAbet AH0 (and IPA ə) as a schwa, and the stressed AH not."""
    ref, segs = _reference_curves()
    assert math.isnan(metrics.clip_metrics(ref, ref, segs)["schwa_ratio"])
    ref = np.concatenate([ref, np.zeros((10, NUM_PARAMS))])
    n = len(ref) - 10
    ref[n:, index_of("jaw_open")] = 0.65                         # full vowel 1.3, schwa 0.65
    schwa_segs = segs + [Segment(frozenset({"schwa", "vowel"}), n, n + 10)]
    ref[n - 1, :] = ref[n - 2, :]                                 # no smoothing across the join
    with_schwa = metrics.clip_metrics(ref, ref, schwa_segs)
    full = metrics.aperture(ref)[[s for seg in segs if "open_vowel" in seg.classes
                                  for s in range(seg.start, seg.end)]].mean()
    assert with_schwa["schwa_ratio"] == pytest.approx(0.65 / full)
    assert 0.5 < with_schwa["schwa_ratio"] < 0.6            # the full vowels are smoothed a little
    wide = ref.copy()
    wide[n:, index_of("jaw_open")] = 1.3
    pooled = metrics.pooled([metrics.clip_metrics(wide, ref, schwa_segs),
                             metrics.clip_metrics(ref[:n], ref[:n], segs)])
    assert pooled["schwa_ratio"] == pytest.approx(1.3 / full)

    from inference.training.evaluate import phone_segments
    record = {"phones": [["DH", 0.0, 0.1], ["AH0", 0.1, 0.2], ["K", 0.2, 0.3], ["AH", 0.3, 0.5]],
              "notation": "arpabet", "lang": "en"}
    classes = [seg.classes for seg in phone_segments(record, 25)]
    assert "schwa" in classes[1] and "schwa" not in classes[3] and "open_vowel" in classes[3]
    ipa = {"phones": [["d", 0.0, 0.1], ["ə", 0.1, 0.2]], "notation": "ipa", "lang": "fr"}
    assert "schwa" in phone_segments(ipa, 10)[1].classes
