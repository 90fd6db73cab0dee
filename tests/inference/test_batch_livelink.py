"""lipsync_core.livelink: curves -> a Live Link Face CSV that the corpus reader
(inference/corpus/livelink.py) reads back to the same mouth parameters where the mouth is not
closing or tucking for f/v, and whose MouthClose never exceeds JawOpen (ARKit's convention, as
captured data has)."""
import numpy as np
import pytest

from inference.corpus.livelink import arkit_to_params, read_livelink_csv
from lipsync_core.curves import Curves
from lipsync_core.livelink import HEADER, LIVELINK_BLENDSHAPES, timecode, write_livelink
from lipsync_core.params import NUM_PARAMS, PARAM_NAMES, index_of
from lipsync_core.retarget import TUCK_LO


def _curves(fps=60.0, n=90, start=0.0, closing=False):
    rng = np.random.default_rng(0)
    frames = rng.uniform(0.0, 1.0, (n, NUM_PARAMS)).astype(np.float32)
    if not closing:          # a closure is retargeted (MouthClose tied to JawOpen): no round trip
        frames[:, index_of("mouth_close")] = 0.0
        # nor is an f/v tuck (the jaw and the lower lip give way): keep lip_roll_lower under it
        frames[:, index_of("lip_roll_lower")] *= TUCK_LO
    # jaw_forward is signed but ARKit has no jaw-back shape: only its + half survives
    for name in ("jaw_shift", "lip_corner_left", "lip_corner_right", "mouth_shift"):
        frames[:, index_of(name)] = rng.uniform(-1.0, 1.0, n)
    # the four shapes mouth_open shares: make the specific params agree with it, so the
    # reader's mean recovers mouth_open exactly
    mo = frames[:, index_of("mouth_open")]
    for name in ("upper_lip_up_left", "upper_lip_up_right", "lower_lip_down_left",
                 "lower_lip_down_right"):
        frames[:, index_of(name)] = mo
    return Curves(fps=fps, start_time=start, params=PARAM_NAMES, frames=frames)


def test_header_is_the_apps_layout(tmp_path):
    path = write_livelink(tmp_path / "take.csv", _curves())
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft"]
    assert header[-9:] == ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch",
                           "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]
    assert len(header) == 2 + 52 + 9 and tuple(header) == HEADER
    assert header.index("JawOpen") == 2 + 17 and header.index("TongueOut") == 2 + 51
    # the app's order (a real take's header), which is not ARKit's alphabetical one
    assert header[16:27] == ["JawForward", "JawRight", "JawLeft", "JawOpen", "MouthClose",
                             "MouthFunnel", "MouthPucker", "MouthRight", "MouthLeft",
                             "MouthSmileLeft", "MouthSmileRight"]
    assert header[43:56] == ["BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft",
                             "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft",
                             "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut",
                             "HeadYaw", "HeadPitch"]
    first = lines[1].split(",")
    assert first[0] == "00:00:00:00.000" and first[1] == "61" and len(first) == len(header)
    assert len(lines) == 1 + 90


def test_round_trip_through_the_corpus_reader(tmp_path):
    curves = _curves()
    path = write_livelink(tmp_path / "take.csv", curves)
    times, shapes, fps = read_livelink_csv(path)
    assert fps == 60.0
    np.testing.assert_allclose(times, np.arange(90) / 60.0, atol=1e-6)
    back, unknown = arkit_to_params(shapes)
    assert unknown == ["tongue_up"]
    known = [i for i, n in enumerate(PARAM_NAMES) if n != "tongue_up"]
    np.testing.assert_allclose(back[:, known], curves.frames[:, known], atol=2e-6)
    assert shapes["eyeblinkleft"].max() == 0.0


def test_a_negative_jaw_forward_writes_nothing(tmp_path):
    curves = _curves()
    frames = np.array(curves.frames)
    frames[:, index_of("jaw_forward")] = -0.5
    path = write_livelink(tmp_path / "t.csv", Curves(60.0, 0.0, PARAM_NAMES, frames))
    _, shapes, _ = read_livelink_csv(path)
    assert shapes["jawforward"].max() == 0.0


@pytest.mark.parametrize("seconds,fps,text", [
    (0.0, 60, "00:00:00:00.000"), (1.5, 60, "00:00:01:30.000"), (3725.25, 24, "01:02:05:06.000"),
    (1 / 29.97, 29.97, "00:00:00:01.001"), (0.99999, 30, "00:00:01:00.000")])
def test_timecode(seconds, fps, text):
    assert timecode(seconds, fps) == text


def test_non_integer_rate_keeps_exact_times(tmp_path):
    curves = _curves(fps=30000 / 1001, n=100, start=2.0)
    path = write_livelink(tmp_path / "ntsc.csv", curves)
    times, _, _ = read_livelink_csv(path, fps=30.0)
    np.testing.assert_allclose(times, np.arange(100) / (30000 / 1001), atol=2e-5)


def _column(path, name):
    _, shapes, _ = read_livelink_csv(path)
    return shapes[name.lower()]


def test_mouth_close_never_exceeds_jaw_open(tmp_path):
    # the model's closures: mouth_close up to 1 while the jaw sits near 0 (the plain weighted
    # table wrote MouthClose 1.0 over JawOpen 0.03, which folds an ARKit rig's lips through
    # each other); random frames plus a held seal and its onset
    curves = _curves(closing=True)
    frames = np.array(curves.frames)
    frames[:10, index_of("mouth_close")] = [0.0, 0.3, 0.6, 1.0, 1.0, 1.0, 1.0, 0.6, 0.3, 0.0]
    frames[:10, index_of("jaw_open")] = 0.03
    path = write_livelink(tmp_path / "take.csv", Curves(60.0, 0.0, PARAM_NAMES, frames))
    close, jaw = _column(path, "MouthClose"), _column(path, "JawOpen")
    assert (close <= jaw + 1e-6).all(), np.flatnonzero(close > jaw + 1e-6)
    # a full seal: the jaw a little open (retarget's seal_jaw 0.08), MouthClose equal to it,
    # the lip openers shut
    np.testing.assert_allclose(jaw[3:7], 0.08, atol=1e-6)
    np.testing.assert_allclose(close[3:7], jaw[3:7], atol=1e-6)
    for name in ("MouthLowerDownLeft", "MouthUpperUpRight", "MouthFunnel"):
        assert _column(path, name)[3:7].max() == 0.0
    assert (close[10:] > 0).any() and close[0] == 0.0
