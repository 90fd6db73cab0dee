"""The whole product on the demo: the headless batch script, the real worker, the shipped
default model (assets/model) and the demo face (assets/demo/face.blend), as `make demo` runs it.

Checks what a person would see: the face's mouthClose key seals the lips on the English clip's
bilabials and jawOpen opens on its open vowels, with keys placed by the scene's 24 fps and the
strip's start, ahead of the sound.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "blender"))
from blender_process import ROOT, load_repo_package  # noqa: E402

import bpy  # noqa: E402

pkg = load_repo_package()
from lipsync_repo.lipsync_addon import compat  # noqa: E402

DEMO = ROOT / "assets" / "demo"
LEAD_MS = 30.0
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    out = tmp / "demo.blend"
    env = {k: v for k, v in os.environ.items() if k != "LIPSYNC_MODEL"}   # the shipped model
    cmd = [sys.executable, str(ROOT / "lipsync_addon" / "batch.py"),
           "--blend", str(DEMO / "face.blend"), "--object", "Face", "--strip", "Dialogue",
           "--mapping", "arkit", "--lead-ms", str(LEAD_MS), "--device", "cpu",
           "--output", str(out), "--summary", str(tmp / "summary.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp / "summary.json").read_text(encoding="utf-8"))
    bpy.ops.wm.open_mainfile(filepath=str(out))
    return summary


def curve(name):
    """(frame, value) of the Face's shape key ``name``, sampled on every scene frame."""
    key = bpy.data.objects["Face"].data.shape_keys
    fc = compat.find_fcurve(key.animation_data.action, key, key.key_blocks[name].path_from_id("value"))
    assert fc is not None, f"no keys on {name}"
    frames = np.arange(int(fc.range()[0]), int(fc.range()[1]) + 1)
    return frames, np.array([fc.evaluate(float(f)) for f in frames])


def mean_in(name, segments, fps, strip_start):
    """Mean key value over phone segments (seconds of the clip), moved earlier by the lead."""
    frames, values = curve(name)
    picks = []
    for start, end in segments:
        a = strip_start + (start - LEAD_MS / 1000.0) * fps
        b = strip_start + (end - LEAD_MS / 1000.0) * fps
        inside = values[(frames >= np.floor(a)) & (frames <= np.ceil(b))]
        picks.extend(inside.tolist())
    return float(np.mean(picks))


def test_summary_reports_a_real_job(result):
    (job,) = result["jobs"]
    assert result["ok"] and job["object"] == "Face" and job["keys"] > 1000
    assert job["device"]


def test_lips_seal_on_bilabials_and_jaw_opens_on_open_vowels(result):
    scene = bpy.context.scene
    fps = scene.render.fps / scene.render.fps_base
    strip_start = scene.sequence_editor.strips_all["Dialogue"].frame_final_start
    phones = json.loads((DEMO / "speech_en.phones.json").read_text(encoding="utf-8"))["phones"]
    bilabial = [(s, e) for p, s, e in phones if p in ("m", "b", "p")]
    open_vowel = [(s, e) for p, s, e in phones if p in ("ɑː", "æ", "aɪ", "aʊ")]
    assert len(bilabial) >= 8 and len(open_vowel) >= 6
    close_b = mean_in("mouthClose", bilabial, fps, strip_start)
    close_v = mean_in("mouthClose", open_vowel, fps, strip_start)
    jaw_b = mean_in("jawOpen", bilabial, fps, strip_start)
    jaw_v = mean_in("jawOpen", open_vowel, fps, strip_start)
    assert close_b > close_v + 0.3, (close_b, close_v)
    # the shipped model opens the jaw modestly (peaks near 0.4): ask for clearly more, relatively
    assert jaw_v > 1.5 * jaw_b and jaw_v > jaw_b + 0.05, (jaw_v, jaw_b)


def test_leading_silence_rests_and_the_sound_still_resolves(result):
    frames, values = curve("jawOpen")
    assert values[frames <= 2].max() < 0.05                 # first 80 ms: closed, at rest
    sound = bpy.context.scene.sequence_editor.strips_all["Dialogue"].sound
    assert Path(bpy.path.abspath(sound.filepath)).is_file()   # relative path rewritten on save
