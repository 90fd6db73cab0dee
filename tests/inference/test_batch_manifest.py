"""inference.batch.manifest: text, CSV and JSONL manifests; a bad row fails alone."""
import json

import pytest

from inference.batch.manifest import ManifestError, read_manifest


def test_text_manifest_resolves_against_its_folder(tmp_path):
    (tmp_path / "en").mkdir()
    m = tmp_path / "lines.txt"
    m.write_text("# dialogue\nen/a.wav\n\n/abs/b.flac\n", encoding="utf-8")
    a, b = read_manifest(m)
    assert a.audio == tmp_path / "en" / "a.wav" and a.id == "en/a" and a.number == 2
    assert str(b.audio) == "/abs/b.flac" and b.id == "b" and a.error is None is b.error


def test_csv_manifest_columns(tmp_path):
    m = tmp_path / "lines.csv"
    m.write_text("audio,id,start,end,fps,language,speaker\n"
                 "x.wav,hero_001,0.5,2.25,24,en,Ann\n"
                 "y.wav,,,,,ja,\n", encoding="utf-8")
    x, y = read_manifest(m)
    assert (x.id, x.start, x.end, x.fps, x.language) == ("hero_001", 0.5, 2.25, 24.0, "en")
    assert x.extra == {"speaker": "Ann"}
    assert (y.id, y.start, y.end, y.fps, y.language) == ("y", None, None, None, "ja")


def test_jsonl_manifest_and_its_bad_rows(tmp_path):
    m = tmp_path / "lines.jsonl"
    rows = [{"audio": "a.wav", "id": "a"}, {"audio": "b.wav", "start": "soon"},
            {"audio": "c.wav", "start": 2, "end": 1}, {"audio": "d.wav", "id": "a"},
            {"audio": "e.wav", "id": "../escape"}, {"id": "no-audio"}]
    m.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n", encoding="utf-8")
    lines = read_manifest(m)
    assert [bool(l.error) for l in lines] == [False, True, True, True, True, True, True]
    assert "start must be a number" in lines[1].error
    assert "end (1 s) must come after start (2 s)" in lines[2].error
    assert "repeats line 1" in lines[3].error
    assert "cannot name a file" in lines[4].error
    assert "no audio path" in lines[5].error
    assert "is not JSON" in lines[6].error


def test_a_csv_without_audio_column_is_refused(tmp_path):
    m = tmp_path / "lines.csv"
    m.write_text("path,id\nx.wav,x\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="needs an 'audio' column"):
        read_manifest(m)


def test_missing_and_empty_manifests(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="lists no audio files"):
        read_manifest(tmp_path / "empty.txt")
