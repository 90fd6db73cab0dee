"""tests/blender/speech_clips.py: phone-timed clips of any notation the held-out set uses read
into one phone set and the measured classes, manifests and folders, clear errors, and the
curves cache's fingerprint. No Blender, no model."""
import json

import pytest

import speech_clips as S


def _write_clip(folder, clip_id, notation, lang, phones, split="test"):
    (folder / f"{clip_id}.wav").write_bytes(b"RIFF")             # never read here
    doc = {"id": clip_id, "lang": lang, "notation": notation, "phones": phones, "split": split}
    (folder / f"{clip_id}.json").write_text(json.dumps(doc), encoding="utf-8")
    return {"id": clip_id, "path": f"{clip_id}.wav", "json": f"{clip_id}.json", "lang": lang,
            "split": split}


def _classes(clip):
    return [(p, S.classes_of(p)) for p, _, _ in clip.segments if S.classes_of(p)]


def test_arpabet_and_open_jtalk_give_the_same_classes(tmp_path):
    en = _write_clip(tmp_path, "en1", "arpabet", "en", [
        ["sil", 0.0, 0.1], ["M", 0.1, 0.2], ["AY1", 0.2, 0.4], ["B", 0.4, 0.5],
        ["AH0", 0.5, 0.6], ["F", 0.6, 0.7], ["UW1", 0.7, 0.8], ["AH1", 0.8, 0.9]])
    ja = _write_clip(tmp_path, "ja1", "openjtalk", "ja", [
        ["pau", 0.0, 0.1], ["py", 0.1, 0.15], ["a", 0.15, 0.3], ["f", 0.3, 0.35],
        ["u", 0.35, 0.45], ["N", 0.45, 0.5], ["b", 0.5, 0.55], ["o", 0.55, 0.7]],
        split="valid")
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(x) for x in (en, ja)) + "\n",
                                             encoding="utf-8")
    clips = {c.id: c for c in S.load_clips(tmp_path)}
    assert clips["ja1"].split == "valid" and clips["en1"].wav == tmp_path / "en1.wav"
    # AY splits into a (open) + ɪ; unstressed AH0 is a schwa, stressed AH1 an open ʌ
    assert _classes(clips["en1"]) == [("m", ["pbm"]), ("a", ["open"]), ("b", ["pbm"]),
                                      ("f", ["fv"]), ("u", ["round"]), ("ʌ", ["open"])]
    # palatalised p is a closure; Japanese f is bilabial friction (no closure, not f/v)
    assert _classes(clips["ja1"]) == [("pʲ", ["pbm"]), ("a", ["open"]), ("ɯ", ["round"]),
                                      ("b", ["pbm"]), ("o", ["round"])]
    diphthong = [s for s in clips["en1"].segments if s[1] >= 0.2 and s[2] <= 0.4]
    assert diphthong[0][:2] == ("a", 0.2) and diphthong[-1][2] == 0.4
    assert [c.id for c in S.load_clips(tmp_path / "manifest.jsonl", ("valid",))] == ["ja1"]


def test_a_folder_without_manifest_and_the_demo_clips(tmp_path):
    _write_clip(tmp_path, "only", "arpabet", "en", [["P", 0.0, 0.1]])
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")     # not a clip: skipped
    assert [c.id for c in S.load_clips(tmp_path)] == ["only"]
    demo = S.demo_clip("en")
    assert sum("pbm" in S.classes_of(p) for p, _, _ in demo.segments) == 14


def test_bad_input_says_what_to_do(tmp_path):
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"id": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs the .wav and its phone-timings JSON"):
        S.load_clips(tmp_path)
    with pytest.raises(FileNotFoundError, match="give the held-out folder"):
        S.load_clips(tmp_path / "missing")
    folder = tmp_path / "clips"
    folder.mkdir()
    _write_clip(folder, "one", "arpabet", "en", [["P", 0.0, 0.1]])
    with pytest.raises(ValueError, match="No clips with phone timings .* split.s. nosuch"):
        S.load_clips(folder, ("nosuch",))
    doc = json.loads((folder / "one.json").read_text(encoding="utf-8"))
    del doc["notation"]
    (folder / "one.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match="no 'notation'"):
        S.load_clips(folder)


def test_the_cache_fingerprint_follows_the_model_files(tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "head.onnx").write_bytes(b"a")
    first = S.runtime_fingerprint(runtime)
    assert S.runtime_fingerprint(runtime) == first
    (runtime / "head.onnx").write_bytes(b"ab")
    assert S.runtime_fingerprint(runtime) != first
    assert {"retarget", "viseme_solve"} <= set(S.KEYING_ONLY)


@pytest.mark.parametrize("request_args", [[], ["--start", "0.5", "--end", "2.0", "--fps", "24"]])
def test_predict_never_imports_what_the_curves_fingerprint_leaves_out(tmp_path, request_args):
    """The fingerprint skips lipsync_core's keying modules (KEYING_ONLY); that is safe only while
    ``predict``, whole-file or as Generate asks, imports none of them."""
    import subprocess
    import sys
    out = tmp_path / "c.json"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "inference", "predict",
                           str(S.demo_clip("en").wav), "-o", str(out), *request_args],
                          cwd=str(S.ROOT), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-400:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "lipsync_core.timing" in imported                  # the log is read at all
    assert not {f"lipsync_core.{m}" for m in S.KEYING_ONLY} & imported


def test_target_curves_seal_every_bilabial_of_the_demo_clip(tmp_path):
    """The articulation targets of the demo English clip (the ceiling `characters.py --targets`
    measures): every p/b/m reaches the seal on a sample inside it, written once and reused."""
    from lipsync_core.curves import read_curves
    from lipsync_core.params import MOUTH_CLOSE_SEALED
    clip = S.demo_clip("en")
    path = S.target_curves_for(clip, tmp_path)
    curves = read_curves(path)
    assert curves.fps == 50.0 and curves.start_time == 0.0
    times, close = curves.times(), curves.column("mouth_close")
    bilabials = [(a, b) for p, a, b in clip.segments if "pbm" in S.classes_of(p)]
    assert len(bilabials) == 14
    for a, b in bilabials:
        inside = (times >= a) & (times <= b)
        assert close[inside].max() >= MOUTH_CLOSE_SEALED, (a, b)
    # and no seal in the middle of an open vowel of 80 ms or more
    for p, a, b in clip.segments:
        if "open" in S.classes_of(p) and b - a >= 0.08:
            mid = abs(times - (a + b) / 2).argmin()
            assert close[mid] < MOUTH_CLOSE_SEALED, (p, a, b)
    stamp = path.stat().st_mtime_ns
    assert S.target_curves_for(clip, tmp_path) == path and path.stat().st_mtime_ns == stamp
