"""Real characters keyed from the model's curves of real speech, measured as geometry
(tests/blender/characters.py): a Ready Player Me head (52 ARKit keys, 15 Oculus visemes,
separate teeth) and a VRoid Studio avatar (Fcl_MTH_A/I/U/E/O/Close, ARKit names, visemes).

Skipped when the character is not in ``$LIPSYNC_CHARACTERS`` (it may not be redistributed;
docs/characters.md says where it comes from) or when the model cannot make curves here.

What must hold, on English and Japanese speech, for each character's presets:
- the lips never go through each other (0 frames), where the old weighted ARKit table pushed
  them through on dozens of frames (checked too, so the measure can fail);
- every p/b/m whose curves close (mouth_close >= 0.6 on one of its frames) seals within the
  rig's closed-lip range, and every open vowel whose curves open (jaw_open >= 0.2 and
  mouth_close < 0.2 on one of its frames) opens: what retargeting can do with the curves it
  is given. The overall rates (which also
  count phones where the model itself did not close or open) are printed for the report.
"""
import json
import subprocess
import sys

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

import characters as C  # noqa: E402
from blender_process import ROOT, load_repo_package  # noqa: E402

def needs(character):
    return pytest.mark.skipif(C.character_file(character) is None,
                              reason=f"the {character} test character is not in {C.CACHE} "
                                     "(docs/characters.md)")


CASES = [pytest.param("rpm", "arkit", marks=needs("rpm")),
         pytest.param("rpm", "oculus", marks=needs("rpm")),
         pytest.param("vroid", "vroid", marks=needs("vroid")),
         pytest.param("vroid", "oculus", marks=needs("vroid"))]
pkg = load_repo_package()
from lipsync_repo.lipsync_core.curves import read_curves  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def registered():
    pkg.register()
    yield
    pkg.unregister()


@pytest.fixture(scope="module")
def curves(tmp_path_factory):
    """The shipped model's curves of both demo clips (python -m inference predict)."""
    out = {}
    for lang in ("en", "ja"):
        path = tmp_path_factory.mktemp("curves") / f"{lang}.json"
        wav = ROOT / "assets" / "demo" / f"speech_{lang}.wav"
        proc = subprocess.run([sys.executable, "-m", "inference", "predict", str(wav), "-o",
                               str(path)], cwd=str(ROOT), capture_output=True, text=True,
                              timeout=900)
        if proc.returncode != 0:
            pytest.skip(f"the model could not make curves here: {proc.stderr[-300:]}")
        out[lang] = path
    return out


def run(lang, preset, curves_path, convention=None, character="rpm"):
    wav = ROOT / "assets" / "demo" / f"speech_{lang}.wav"
    phones = json.loads(wav.with_suffix(".phones.json").read_text(encoding="utf-8"))["phones"]
    scene, head, probe, timing, lead = C.build_scene(bpy, pkg, character, preset, wav,
                                                     curves_path, convention=convention)
    res = C.measure(bpy, scene, head, probe, timing, lead, phones)
    return res, phones, probe, timing, lead


def phones_the_curves_articulate(curves_path, phones, timing, lead):
    """(p/b/m the curves close, open vowels the curves open) on the frames that show them:
    per frame, the closure's peak and the jaw's mean over the frame's window of the curves
    (as the resampling to the scene rate reads them)."""
    c = read_curves(curves_path)
    t = c.times()
    close, jaw = c.column("mouth_close"), c.column("jaw_open")
    half = 0.5 / timing.fps
    closing, opening = set(), set()
    for phone, a, b in phones:
        frames = range(int(np.ceil(timing.frame_of(a, lead))), int(np.floor(timing.frame_of(b, lead))) + 1)
        for f in frames:
            mid = timing.file_time(f, lead)
            window = np.linspace(mid - half, mid + half, 17)       # the frame's window, seconds
            close_peak = np.interp(window, t, close).max()
            jaw_mean = np.interp(window, t, jaw).mean()
            if phone in C.PHONES["pbm"] and close_peak >= 0.6:
                closing.add((phone, a, b))
            if phone in C.PHONES["open"] and jaw_mean >= 0.2 and close_peak < 0.2:
                opening.add((phone, a, b))
    return closing, opening


@pytest.mark.parametrize("character,preset", CASES)
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_lips_seal_open_and_never_pass_through(curves, lang, character, preset):
    res, phones, probe, timing, lead = run(lang, preset, curves[lang], character=character)
    print(f"{character} {preset} {lang}: p/b/m sealed {res.per_class['pbm']}, open vowels open "
          f"{res.per_class['open']}, through {res.through}/{res.frames} frames")
    assert probe.opened > probe.closed_range[1]               # the calibration makes sense
    assert res.through == 0
    closing, opening = phones_the_curves_articulate(curves[lang], phones, timing, lead)
    assert closing and opening
    missed = [p for p in closing if not res.outcomes["pbm"].get(p, False)]
    assert not missed, f"closed in the curves but not sealed on the face: {missed}"
    missed = [p for p in opening if not res.outcomes["open"].get(p, False)]
    assert not missed, f"open in the curves but not open on the face: {missed}"


@needs("rpm")
def test_the_old_weighted_arkit_table_pushes_the_lips_through(curves):
    res = run("en", "arkit", curves["en"], convention="table")[0]
    assert res.through > 10


@pytest.mark.parametrize("character,expected", [
    pytest.param("rpm", "ARKit", marks=needs("rpm")),
    pytest.param("vroid", "Oculus visemes", marks=needs("vroid"))])
def test_auto_match_picks_the_convention_the_rig_follows(character, expected):
    # the VRoid avatar carries ARKit names too, but its jawOpen moves nothing (a bone opens
    # its jaw), so its mouth is the visemes'
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(C.character_file(character)))
    head = bpy.data.objects[C.CHARACTERS[character]["head"]]
    bpy.context.view_layer.objects.active = head
    assert bpy.ops.lipsync.auto_match() == {"FINISHED"}
    assert head.lipsync.table_name == expected, bpy.context.scene.lipsync.last_report
