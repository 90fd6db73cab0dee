"""A range of a file gets the file's own curves (lipsync_runtime.predict.predict_file with
lipsync_core.timing.encode_range): the shipped model on real speech, asked for a range that
starts off the model's 20 ms grid (as Generate asks, from the 30 ms lead) or on it, at 50 Hz and at
scene rates. Before, the audio was cut at the range's start, and a held-out /m/'s mouth_close
fell from 0.81 to 0.35 at a 30 ms start."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lipsync_core.timing import ENCODE_CONTEXT_S, encode_range, resample_curves
from lipsync_runtime.engine import RuntimeEngine

REPO = Path(__file__).resolve().parents[2]
SPEECH = REPO / "assets" / "demo" / "speech_en.wav"


@pytest.fixture(scope="module")
def engine():
    runtime = REPO / "assets" / "runtime"
    if not (runtime / "config.json").is_file():
        pytest.fail("assets/runtime is missing: 'make setup' exports it")
    return RuntimeEngine(runtime, device="cpu")


@pytest.fixture(scope="module")
def whole(engine):
    return engine.predict(SPEECH).frames                      # (T, 26) at 50 Hz from 0 s


def test_encode_range_starts_on_the_files_grid_with_context():
    assert encode_range(0.03, 2.0, 5.0) == (0.0, 5.0)          # a line: the whole file
    begin, stop = encode_range(100.013, 104.5, 3600.0)          # a range of a long file
    assert begin == pytest.approx(100.0 - ENCODE_CONTEXT_S) and stop == pytest.approx(134.5)
    begin, _ = encode_range(97.777, 98.0, 3600.0)
    assert begin <= 97.777 - ENCODE_CONTEXT_S and round(begin * 50, 9) == int(round(begin * 50))


@pytest.mark.parametrize("start", [0.03, 0.04, 0.51])
def test_a_range_at_50_hz_is_the_files_curves(engine, whole, start):
    part = engine.predict(SPEECH, start=start, end=start + 2.0).frames
    expected = resample_curves(whole, 50.0, offset=start * 50.0, count=100)
    assert part.shape == expected.shape == (100, 26)
    assert np.abs(part - expected).max() < 1e-4


@pytest.mark.parametrize("fps", [24.0, 30000 / 1001])
def test_a_range_at_scene_rates_is_the_files_curves(engine, whole, fps):
    part = engine.predict(SPEECH, start=0.03, fps=fps)
    assert part.start_time == pytest.approx(0.03)
    expected = resample_curves(whole, fps, offset=1.5)
    assert part.frames.shape == expected.shape
    assert np.abs(part.frames - expected).max() < 1e-4
