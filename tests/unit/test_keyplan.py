"""Strip timing -> scene frames, and curves -> shape-key keys (no bpy, no torch)."""
import math

import numpy as np
import pytest

from lipsync_core import keyplan as kp
from lipsync_core import mapping as m
from lipsync_core.params import BY_NAME, FRAME_RATE_HZ, NUM_PARAMS
from lipsync_core.timing import resample_curves, scene_fps

RATES = {"23.976fps": (24000, 1001), "24fps": (24, 1), "25fps": (25, 1),
         "29.97fps": (30000, 1001), "30fps": (30, 1), "60fps": (60, 1)}
CLOSE = m.Mapping("close", (m.Row("mouth_close", "close"),))


def file_curves(duration, events):
    """(T, 26) at 50 Hz of a whole file: mouth_close = 1 during each (start, end) seconds."""
    t = np.arange(int(duration * FRAME_RATE_HZ)) / FRAME_RATE_HZ
    c = np.zeros((t.size, NUM_PARAMS))
    for a, b in events:
        c[(t >= a) & (t < b), BY_NAME["mouth_close"].index] = 1.0
    return c


def worker(curves50, start, end, fps):
    """What the worker does for a predict request: cut [start, end) and resample to fps."""
    a, b = int(round(start * FRAME_RATE_HZ)), int(round(end * FRAME_RATE_HZ))
    return resample_curves(curves50[a:b], fps)


def test_skip_follows_blenders_formula():
    t = kp.StripTiming(frame_start=10, frame_final_start=22, frame_final_end=70, fps=24,
                       sound_offset=0.25, animation_offset_start=2)
    # a positive sound_offset DELAYS the sound (Blender's mixdown; test_mixdown_timing.py)
    assert t.skip == pytest.approx((22 - 10 + 2) / 24 - 0.25)
    assert t.duration == pytest.approx(48 / 24)
    assert t.frame_of(t.file_time(37.5, 0.06), 0.06) == pytest.approx(37.5)


def test_a_click_one_second_into_the_file_with_a_quarter_second_offset():
    # measured with bpy.ops.sound.mixdown (4.5.15, 5.0.1): strip at scene 1.000 s, offset
    # +0.25 s, a click at 1.000 s of the file is heard at 2.250 s -> frame 54 at 24 fps
    t = kp.StripTiming(frame_start=24, frame_final_start=24, frame_final_end=120, fps=24.0,
                       sound_offset=0.25)
    assert t.frame_of(1.0) == pytest.approx(2.25 * 24)


def test_rounding_never_asks_for_audio_before_the_file_start():
    # 24 fps, the strip starts before frame 0 and is pushed late by its Sound Offset: the
    # first keyed frame's file time came out as -2.8e-17 s, which the worker refuses
    t = kp.StripTiming(frame_start=-5, frame_final_start=-3, frame_final_end=100, fps=24.0,
                       sound_offset=0.25, file_duration=5.0)
    job = kp.plan(t, 0.0)
    assert job.start >= 0.0 and job.start == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("rate", RATES, ids=list(RATES))
@pytest.mark.parametrize("offset_frames,trim,sound_offset,lead_ms", [
    (0, 0, 0.0, 0.0), (101, 0, 0.0, 60.0), (-2, 0, 0.0, 0.0), (37, 13, 0.0, 60.0),
    (5, 7, 0.4, 100.0), (12, 0, -0.2, 40.0)],
    ids=["at 0", "start 101 lead 60", "-2 frames offset", "trim 13", "sound_offset", "negative sound_offset"])
def test_a_closure_lands_on_its_frame(rate, offset_frames, trim, sound_offset, lead_ms):
    fps = scene_fps(*RATES[rate])
    duration = 3.0
    events = [(0.9, 0.96), (2.1, 2.3)]                      # a 60 ms and a 200 ms closure
    curves50 = file_curves(duration, events)
    timing = kp.StripTiming(frame_start=offset_frames, frame_final_start=offset_frames + trim,
                            frame_final_end=offset_frames + math.floor(duration * fps) - 2,
                            fps=fps, sound_offset=sound_offset, file_duration=duration)
    job = kp.plan(timing, lead_ms)
    assert job.fps == fps
    assert job.start >= max(timing.skip, 0) - 1e-9
    assert timing.file_time(job.first_frame - 1, job.lead_s) < max(timing.skip, 0)
    assert timing.file_time(job.last_frame, job.lead_s) < job.end
    curves = worker(curves50, job.start, job.end, fps)
    keys = kp.shape_key_keys(curves, fps, job.start, timing, job, CLOSE, kp.KeySettings(lead_ms))
    frames, values = keys["close"]
    assert frames[0] == job.first_frame and frames[-1] == job.last_frame
    np.testing.assert_array_equal(frames, np.arange(job.first_frame, job.last_frame + 1))
    for a, b in events:
        if a < max(timing.skip, 0) or b > job.end:
            continue
        # the frames the closure covers, by the formula, must reach full closure
        lo, hi = timing.frame_of(a, job.lead_s), timing.frame_of(b, job.lead_s)
        inside = (frames >= math.floor(lo)) & (frames <= math.ceil(hi))
        assert values[inside].max() == 1.0, (lo, hi)
        outside = (frames < lo - 1.5) | (frames > hi + 1.5)
        near_other = np.zeros_like(outside)
        for a2, b2 in events:
            near_other |= (frames >= timing.frame_of(a2, job.lead_s) - 1.5) & \
                          (frames <= timing.frame_of(b2, job.lead_s) + 1.5)
        assert values[outside & ~near_other].max(initial=0.0) == 0.0


def test_lead_moves_keys_earlier():
    timing = kp.StripTiming(0, 0, 72, 24.0, file_duration=3.0)
    curves50 = file_curves(3.0, [(1.0, 1.2)])
    first_closed = {}
    for lead in (0.0, 125.0):
        job = kp.plan(timing, lead)
        frames, values = kp.shape_key_keys(worker(curves50, job.start, job.end, 24.0), 24.0,
                                           job.start, timing, job, CLOSE, kp.KeySettings(lead))["close"]
        first_closed[lead] = frames[values == 1.0][0]
    assert first_closed[0.0] - first_closed[125.0] == 3        # 125 ms = 3 frames at 24 fps


def test_plan_refuses_short_audio():
    with pytest.raises(ValueError, match="at least 0.1 s"):
        kp.plan(kp.StripTiming(0, 0, 2, 24.0))
    with pytest.raises(ValueError, match="at least 0.1 s"):          # trimmed past the file end
        kp.plan(kp.StripTiming(0, 0, 100, 24.0, sound_offset=0.0, file_duration=0.05))


def test_fallback_resamples_50hz_curves():
    timing = kp.StripTiming(0, 0, 48, 24.0, file_duration=2.0)
    job = kp.plan(timing, 60.0)
    curves50 = file_curves(2.0, [(1.0, 1.2)])
    keys = kp.shape_key_keys(curves50, FRAME_RATE_HZ, 0.0, timing, job, CLOSE, kp.KeySettings(60.0))
    frames, values = keys["close"]
    assert frames.size == job.num_frames
    peak = frames[values > 0.5]
    assert timing.frame_of(1.0, 0.06) - 1 <= peak[0] <= timing.frame_of(1.2, 0.06) + 1


def test_simplify_keeps_ends_and_extremes_within_tolerance():
    x = np.linspace(0, 4 * np.pi, 200)
    v = 0.5 + 0.5 * np.sin(x)
    v[120] = 1.0                                               # a one-frame spike
    idx = kp.simplify(v, 0.02)
    assert idx[0] == 0 and idx[-1] == 199 and 120 in idx
    assert idx.size < 60
    approx = np.interp(np.arange(200), idx, v[idx])
    assert np.abs(approx - v).max() <= 0.02 + 1e-12
    assert kp.simplify(v, 0.0).size == 200


def test_density_and_smoothing_settings():
    timing = kp.StripTiming(0, 0, 96, 24.0, file_duration=4.0)
    job = kp.plan(timing, 0.0)
    curves = worker(file_curves(4.0, [(1.0, 1.5)]), job.start, job.end, 24.0)
    full = kp.shape_key_keys(curves, 24.0, job.start, timing, job, CLOSE, kp.KeySettings(0.0))
    reduced = kp.shape_key_keys(curves, 24.0, job.start, timing, job, CLOSE,
                                kp.KeySettings(0.0, tolerance=0.01))
    assert full["close"][0].size == job.num_frames
    assert reduced["close"][0].size < 10
    smooth = kp.shape_key_keys(curves, 24.0, job.start, timing, job, CLOSE,
                               kp.KeySettings(0.0, smoothing_ms=40.0))
    assert smooth["close"][1].max() == 1.0                    # closures keep their depth

