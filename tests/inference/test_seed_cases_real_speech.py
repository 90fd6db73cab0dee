"""The seed's hard cases on real recordings the model never trained on (issue 13).

さんぽ / さんか: the lips close during ん before a bilabial and stay apart before anything else.
ありがとう: rounding already rises during the が before と (from its lowest point in が, since
a real clip's が may follow a rounded vowel, as in 電球がともって). tests/inference/test_default_model.py
checks these on the demo clip, an Open JTalk voice the model trained on; here they are checked on
every Japanese clip of the held-out test split (real people: Common Voice, JSUT, the MFA
readings), wherever the sequence occurs, with the shipped runtime as the extension runs it.

The same checks are run on the loudness-driven mouth, which must fail them: they measure
articulation, not loudness.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from lipsync_core.params import index_of

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = Path(os.environ.get("LIPSYNC_HELDOUT", ROOT / "data" / "heldout"))
LEAD_S = 0.03           # seconds the shipped mouth runs ahead of the sound (its measured lag)
BILABIALS = {"p", "b", "m", "py", "by", "my"}      # Open JTalk's bilabial onsets
SEALED, APART = 0.5, 0.3   # mean mouth_close over ん: sealed above, apart below
ROUNDING_RISE = 0.1        # lip_pucker + lip_funnel: end of が minus its lowest point in が

pytestmark = pytest.mark.slow


def japanese_test_clips() -> list[tuple[Path, list]]:
    """(wav, phones) of every held-out Japanese test clip; phones: [symbol, start_s, end_s]."""
    manifest = HELDOUT / "manifest.jsonl"
    if not manifest.is_file():
        pytest.skip(f"no held-out speech at {HELDOUT} (make heldout builds it)")
    clips = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["lang"] == "ja" and entry["split"] == "test":
            record = json.loads((HELDOUT / entry["json"]).read_text(encoding="utf-8"))
            if record.get("notation") == "openjtalk" and record.get("phones"):
                clips.append((HELDOUT / entry["path"], record["phones"]))
    if not clips:
        pytest.skip(f"no Japanese test clips with Open JTalk phones at {HELDOUT}")
    return clips


def _frames(frames: np.ndarray, start: float, end: float) -> slice:
    a = max(0, int(round((start - LEAD_S) * 50)))
    return slice(a, max(a + 1, int(round((end - LEAD_S) * 50))))


def seed_cases(frames: np.ndarray, phones: list) -> dict[str, list[tuple[str, float]]]:
    """Each occurrence of the seed's cases in one clip, with the value the check reads.

    frames: (n, 26) curves at 50 Hz. Returns {"n_bilabial": [(context, mean mouth_close over ん)],
    "n_other": [...], "ga_to": [(context, rounding rise over が)]}.
    """
    close, out = frames[:, index_of("mouth_close")], {"n_bilabial": [], "n_other": [], "ga_to": []}
    rounding = frames[:, index_of("lip_pucker")] + frames[:, index_of("lip_funnel")]
    symbols = [p[0] for p in phones]
    for i, (symbol, start, end) in enumerate(phones[:-1]):
        following = symbols[i + 1]
        if symbol == "N" and following not in ("sil", "pau"):
            case = "n_bilabial" if following in BILABIALS else "n_other"
            out[case].append((f"ん+{following} at {start:.2f} s",
                              float(close[_frames(frames, start, end)].mean())))
        if symbols[i:i + 4] == ["g", "a", "t", "o"]:
            span = rounding[_frames(frames, start, phones[i + 1][2])]   # g start to a end
            out["ga_to"].append((f"がと at {start:.2f} s", float(span[-1] - span.min())))
    return out


def failures(predict) -> tuple[list[str], dict[str, int]]:
    """Checks that fail for ``predict`` (wav path -> (n, 26) curves at 50 Hz), and case counts."""
    bad, counts = [], {"n_bilabial": 0, "n_other": 0, "ga_to": 0}
    for wav, phones in japanese_test_clips():
        cases = seed_cases(predict(wav), phones)
        for name, found in cases.items():
            counts[name] += len(found)
        bad += [f"{wav.name}: {c} mouth_close {v:.2f}, should seal"
                for c, v in cases["n_bilabial"] if v <= SEALED]
        bad += [f"{wav.name}: {c} mouth_close {v:.2f}, should stay apart"
                for c, v in cases["n_other"] if v >= APART]
        bad += [f"{wav.name}: {c} rounding rises {v:+.2f}, should rise by {ROUNDING_RISE}"
                for c, v in cases["ga_to"] if v <= ROUNDING_RISE]
    return bad, counts


def test_seed_cases_hold_on_real_japanese_speech():
    from lipsync_runtime.engine import load_engine
    engine = load_engine(device="cpu")               # the shipped model, assets/runtime
    bad, counts = failures(lambda wav: engine.predict(wav).frames)
    assert all(counts.values()), f"the held-out test split lacks a seed case: {counts}"
    assert not bad, "\n".join(bad)


def test_the_loudness_mouth_fails_the_same_checks():
    """The checks can fail: a mouth driven by loudness alone never seals ん before p."""
    import soundfile as sf
    from inference.training.metrics import loudness_curves

    def loudness(wav):
        wave, rate = sf.read(wav, dtype="float32")
        return loudness_curves(wave, rate)
    bad, _ = failures(loudness)
    assert any("should seal" in line for line in bad), bad
