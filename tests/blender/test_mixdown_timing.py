"""Key timing checked against Blender's own audio: ``bpy.ops.sound.mixdown``.

A click at a known time of a sound file is placed in a scene (moved, trimmed, with a Sound
Offset of either sign, at 23.976 ... 60 fps). Blender mixes the scene down; the click's onset in
the mixdown is the frame where the audience hears it. Curves with a 1 ms closure at the click's
file time go through the add-on's strip reader and the key planner; the keyed frame must be the
heard frame within half a frame, so every key one frame early or late fails. The reference is
Blender's audio engine, never the formula under test. Needs a wheel with audio (4.5, 5.0).
"""
import math
import wave
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from blender_process import load_repo_package, needs_audio  # noqa: E402

pkg = load_repo_package()
from lipsync_repo.lipsync_addon import strip_source  # noqa: E402
from lipsync_repo.lipsync_core import keyplan, mapping  # noqa: E402
from lipsync_repo.lipsync_core.params import BY_NAME, NUM_PARAMS  # noqa: E402
from lipsync_repo.lipsync_core.timing import resample_curves  # noqa: E402

pytestmark = needs_audio
MIX_RATE = 48000                 # Hz, of the click file and the mixdown
CLICK_S = 1.31                   # seconds into the file (never half-way between frames here)
FILE_S = 3.0
CURVE_HZ = 1000.0                # the test curves' rate: 1 ms resolution
RATES = {"23.976": (24000, 1001), "24": (24, 1), "25": (25, 1), "29.97": (30000, 1001),
         "30": (30, 1), "60": (60, 1)}
# (strip frame_start, trim frames at the left, sound_offset seconds)
CASES = {"at the scene start": (1, 0, 0.0), "moved": (37, 0, 0.0), "moved and trimmed": (20, 11, 0.0),
         "positive offset": (13, 0, 0.25), "negative offset": (9, 0, -0.4),
         "trim and positive offset": (30, 7, 0.6), "before the scene start, negative offset":
         (-12, 0, -0.15)}
CLOSE = mapping.Mapping("close", (mapping.Row("mouth_close", "close"),))


@pytest.fixture(scope="module")
def click_wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("click") / "click.wav"
    samples = np.zeros(int(FILE_S * MIX_RATE), dtype=np.int16)
    at = int(round(CLICK_S * MIX_RATE))
    samples[at:at + 48] = 20000                       # a 1 ms click
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(MIX_RATE)
        w.writeframes(samples.tobytes())
    return path


def heard_frame(scene, out: Path) -> float:
    """Scene frame (fractional) at which the mixdown's click starts."""
    result = bpy.ops.sound.mixdown(filepath=str(out), container="WAV", codec="PCM", format="S16",
                                   mixrate=MIX_RATE, accuracy=1024)
    assert result == {"FINISHED"}
    with wave.open(str(out)) as w:
        rate = w.getframerate()
        mix = np.frombuffer(w.readframes(w.getnframes()), np.int16).reshape(-1, w.getnchannels())
    onset = np.flatnonzero(np.abs(mix[:, 0].astype(np.int32)) > 5000)
    assert onset.size, "the click is not in the mixdown"
    fps = scene.render.fps / scene.render.fps_base
    return scene.frame_start + onset[0] / rate * fps


def keyed_frame(timing: keyplan.StripTiming) -> float:
    """The frame the add-on keys for a 1 ms closure at the click's file time (lead 0).

    The curves arrive as the worker sends them: at the scene rate from the plan's start time
    (its window resampling: lipsync_core.timing.resample_curves).
    """
    job = keyplan.plan(timing, lead_ms=0.0)
    t = job.start + np.arange(int((job.end - job.start) * CURVE_HZ)) / CURVE_HZ
    curves = np.zeros((t.size, NUM_PARAMS), dtype=np.float32)
    curves[np.abs(t - CLICK_S) < 0.5 / CURVE_HZ, BY_NAME["mouth_close"].index] = 1.0
    on_fps = resample_curves(curves, timing.fps, src_hz=CURVE_HZ)
    keys = keyplan.shape_key_keys(on_fps, timing.fps, job.start, timing, job, CLOSE,
                                  keyplan.KeySettings(lead_ms=0.0))
    frames, values = keys["close"]
    assert values.max() == 1.0, "the click fell outside the keyed frames"
    return float(frames[int(np.argmax(values))])


@pytest.mark.parametrize("rate", RATES, ids=[f"{r}fps" for r in RATES])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_click_lands_on_its_keyed_frame(click_wav, tmp_path, rate, case):
    start, trim, offset = CASES[case]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = RATES[rate]
    fps = scene.render.fps / scene.render.fps_base
    scene.frame_start = 1
    scene.frame_end = int(start + (FILE_S + 1.5) * fps)
    se = scene.sequence_editor_create()
    strips = se.strips if hasattr(se, "strips") else se.sequences
    strip = strips.new_sound("Click", str(click_wav), 1, start)
    if trim:
        strip.frame_offset_start = trim
    strip.sound_offset = offset

    heard = heard_frame(scene, tmp_path / "mix.wav")
    timing = strip_source.strip_timing(scene, strip, strip_source.file_duration(str(click_wav)))
    keyed = keyed_frame(timing)
    assert abs(keyed - heard) <= 0.5, (
        f"keyed on frame {keyed}, heard on frame {heard:.3f} ({case}, {rate} fps)")
    # the check can tell a frame: a key one frame off either way would fail it
    assert abs(keyed + 1 - heard) > 0.5 or math.isclose(abs(keyed + 1 - heard), 0.5)
    assert abs(keyed - 1 - heard) > 0.5 or math.isclose(abs(keyed - 1 - heard), 0.5)
