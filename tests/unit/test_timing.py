"""Frame timing: 50 Hz curves -> scene frame rates without losing short closures."""
import math

import numpy as np
import pytest

from lipsync_core.params import NUM_PARAMS, index_of
from lipsync_core.timing import (frame_times, num_frames, resample_curves, scene_fps,
                                 smooth_curves)

SCENE_RATES = [24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 50.0, 60000 / 1001, 60.0, 120.0]
RATE_IDS = ["23.976", "24", "25", "29.97", "30", "50", "59.94", "60", "120"]
CLOSE = index_of("mouth_close")
PRESS = index_of("lip_press_left")
JAW = index_of("jaw_open")


def rest_curves(frames: int) -> np.ndarray:
    return np.zeros((frames, NUM_PARAMS), dtype=np.float32)


@pytest.mark.parametrize("fps", SCENE_RATES, ids=RATE_IDS)
def test_frame_count_covers_clip(fps):
    curves = rest_curves(173)                                 # 3.46 s at 50 Hz
    out = resample_curves(curves, fps)
    assert out.shape == (math.ceil(173 / 50 * fps - 1e-6), NUM_PARAMS)
    assert (out.shape[0] - 1) / fps < 173 / 50 <= out.shape[0] / fps + 1e-9


@pytest.mark.parametrize("fps", SCENE_RATES, ids=RATE_IDS)
@pytest.mark.parametrize("offset", range(0, 10))
def test_60ms_closure_reaches_full_closure(fps, offset):
    """Three 50 Hz samples (60 ms) of full closure, at every phase against the scene frames."""
    curves = rest_curves(100)
    start = 40 + offset
    curves[start:start + 3, CLOSE] = 1.0
    curves[start:start + 3, PRESS] = 0.8
    curves[start - 1, CLOSE] = curves[start + 3, CLOSE] = 0.4    # ramps either side
    out = resample_curves(curves, fps)
    assert out[:, CLOSE].max() == pytest.approx(1.0)
    assert out[:, PRESS].max() == pytest.approx(0.8)
    # the closure is one event: full closure frames are contiguous and near the right time
    full = np.flatnonzero(out[:, CLOSE] > 0.999)
    assert np.all(np.diff(full) == 1)
    t = full / fps
    assert np.all((t > (start - 1.5) / 50) & (t < (start + 3.5) / 50))


@pytest.mark.parametrize("fps", SCENE_RATES, ids=RATE_IDS)
def test_single_sample_spike_is_kept_for_peak_params(fps):
    curves = rest_curves(60)
    curves[31, CLOSE] = 1.0                                   # 20 ms
    assert resample_curves(curves, fps)[:, CLOSE].max() == pytest.approx(1.0)


@pytest.mark.parametrize("fps", SCENE_RATES, ids=RATE_IDS)
def test_mean_params_follow_a_linear_ramp(fps):
    curves = rest_curves(200)
    curves[:, JAW] = np.linspace(0.0, 1.0, 200)
    out = resample_curves(curves, fps)
    t = frame_times(out.shape[0], fps)
    interior = (t > 0.1) & (t < 3.9)
    expected = np.clip(t * 50 / 199, 0, 1)
    np.testing.assert_allclose(out[interior, JAW], expected[interior], atol=1e-5)


@pytest.mark.parametrize("fps", SCENE_RATES, ids=RATE_IDS)
def test_constant_curves_stay_constant(fps):
    curves = rest_curves(77) + 0.3
    np.testing.assert_allclose(resample_curves(curves, fps), 0.3, atol=1e-6)


def test_mean_downsampling_averages_a_short_blip():
    curves = rest_curves(100)
    curves[50, JAW] = 1.0
    out = resample_curves(curves, 24.0)
    assert 0.0 < out[:, JAW].max() < 0.6                       # averaged, not point-sampled


def test_50hz_to_50hz_keeps_samples():
    rng = np.random.default_rng(0)
    curves = rng.uniform(0, 1, (64, NUM_PARAMS)).astype(np.float32)
    out = resample_curves(curves, 50.0)
    # the same rate is the samples themselves: no window average softening a 40 ms closure
    np.testing.assert_array_equal(out, curves)
    # a rate a hair off 50 still summarises windows (and stays close)
    near = resample_curves(curves, 50.001)
    assert np.all(near[:64, CLOSE] >= curves[:, CLOSE] - 1e-3)


def test_empty_and_bad_input():
    assert resample_curves(rest_curves(0), 24).shape == (0, NUM_PARAMS)
    assert num_frames(1, 24) == 1
    with pytest.raises(ValueError, match="shape"):
        resample_curves(np.zeros((10, 3)), 24)
    with pytest.raises(ValueError, match="positive"):
        resample_curves(rest_curves(10), 0)


def test_scene_fps():
    assert scene_fps(30, 1.001) == pytest.approx(29.97, abs=1e-3)
    assert scene_fps(24) == 24.0
    with pytest.raises(ValueError):
        scene_fps(0, 1)
    with pytest.raises(ValueError):
        scene_fps(24, 0)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 4.0])
def test_smoothing_keeps_closures_full(sigma):
    curves = rest_curves(100)
    curves[50:53, CLOSE] = 1.0
    curves[::2, JAW] = 1.0                                     # jitter to be smoothed away
    out = smooth_curves(curves, sigma)
    assert out[50:53, CLOSE].min() == pytest.approx(1.0)
    assert out[:, CLOSE].min() >= 0.0
    assert np.abs(np.diff(out[20:80, JAW])).max() < np.abs(np.diff(curves[20:80, JAW])).max()
    np.testing.assert_allclose(out[20:80, JAW].mean(), 0.5, atol=0.05)


def test_smoothing_zero_is_identity():
    rng = np.random.default_rng(1)
    curves = rng.uniform(0, 1, (30, NUM_PARAMS)).astype(np.float32)
    np.testing.assert_array_equal(smooth_curves(curves, 0), curves)
    with pytest.raises(ValueError):
        smooth_curves(curves, -1)


def test_resampling_from_an_offset_reads_the_curves_from_there():
    rng = np.random.default_rng(4)
    curves = rng.random((90, NUM_PARAMS))
    same = resample_curves(curves, 50.0, offset=7, count=20)
    assert np.array_equal(same, curves[7:27].astype(np.float32))
    for fps in (24.0, 60.0):          # an integer offset: the curves from sample 7 on
        assert np.allclose(resample_curves(curves, fps, offset=7)[1:], resample_curves(curves[7:], fps)[1:])
    half = resample_curves(curves, 25.0, offset=2.5, count=40)      # between two samples
    assert half.shape == (20, NUM_PARAMS)
