"""inference.audio: real files written with soundfile into tmp_path, read back as 16 kHz mono."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inference.audio import SAMPLE_RATE, AudioError, audio_duration, load_audio


def tone(freq: float, seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_hz(wave: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(wave.size)))
    return float(np.fft.rfftfreq(wave.size, 1.0 / sr)[np.argmax(spectrum)])


def write(path: Path, data: np.ndarray, sr: int, **kwargs) -> Path:
    sf.write(str(path), data, sr, **kwargs)
    return path


def test_mono_16k_passes_through_unchanged(tmp_path):
    wave = tone(300, 1.0, 16000)
    out = load_audio(write(tmp_path / "a.wav", wave, 16000, subtype="FLOAT"))
    assert out.dtype == np.float32 and out.shape == (16000,)
    np.testing.assert_allclose(out, wave, atol=1e-7)


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000, 192000])
def test_resampling_keeps_pitch_and_length(tmp_path, sr):
    out = load_audio(write(tmp_path / f"t{sr}.wav", tone(440, 2.0, sr), sr))
    assert abs(out.size - 2 * SAMPLE_RATE) <= 2
    assert dominant_hz(out, SAMPLE_RATE) == pytest.approx(440, abs=1.0)
    assert 0.45 < np.abs(out[1000:-1000]).max() < 0.55  # level kept through the resampler


def test_stereo_is_mixed_down(tmp_path):
    left, right = tone(440, 1.0, 16000, 0.4), tone(440, 1.0, 16000, 0.2)
    out = load_audio(write(tmp_path / "s.wav", np.stack([left, right], axis=1), 16000, subtype="FLOAT"))
    np.testing.assert_allclose(out, (left + right) / 2, atol=1e-6)


def test_four_channels_refused_with_advice(tmp_path):
    path = write(tmp_path / "quad.wav", np.zeros((1600, 4), np.float32), 16000)
    with pytest.raises(AudioError, match="4 channels.*mono or stereo"):
        load_audio(path)


def test_silence_is_not_an_error(tmp_path):
    out = load_audio(write(tmp_path / "quiet.wav", np.zeros(8000, np.float32), 16000))
    assert out.shape == (8000,) and not out.any()


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="does not exist") as info:
        load_audio(tmp_path / "nope.wav")
    assert info.value.code == "missing_file"


def test_directory(tmp_path):
    with pytest.raises(AudioError, match="is a folder"):
        load_audio(tmp_path)


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20, encoding="utf-8")
    with pytest.raises(AudioError, match="not audio that can be read") as info:
        load_audio(path)
    assert info.value.code == "bad_audio"
    assert "\n" not in str(info.value)


def test_corrupt_data_after_a_valid_header(tmp_path):
    good = write(tmp_path / "good.flac", tone(220, 1.0, 16000), 16000)
    raw = bytearray(good.read_bytes())
    raw[200:] = bytes(len(raw) - 200)  # keep the header, zero the frames
    bad = tmp_path / "bad.flac"
    bad.write_bytes(bytes(raw))
    with pytest.raises(AudioError):
        load_audio(bad)


def test_zero_length(tmp_path):
    path = write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="no audio"):
        load_audio(path)


def test_non_ascii_path(tmp_path):
    folder = tmp_path / "声の録音 ünïcødé"
    folder.mkdir()
    path = write(folder / "さんぽ_é.wav", tone(200, 0.5, 44100), 44100)
    assert load_audio(path).size == 8000
    assert audio_duration(path) == pytest.approx(0.5)


@pytest.mark.parametrize("fmt", ["flac", "ogg", "mp3"])
def test_other_formats(tmp_path, fmt):
    path = write(tmp_path / f"t.{fmt}", tone(440, 1.0, 44100), 44100)
    out = load_audio(path)
    assert abs(out.size - SAMPLE_RATE) < 2000  # compressed formats may add codec padding
    assert dominant_hz(out, SAMPLE_RATE) == pytest.approx(440, abs=2.0)


def test_start_end_trim(tmp_path):
    sr = 48000
    # 1 s at 200 Hz, 1 s at 600 Hz, 1 s at 1000 Hz
    wave = np.concatenate([tone(200, 1, sr), tone(600, 1, sr), tone(1000, 1, sr)])
    path = write(tmp_path / "steps.wav", wave, sr)
    middle = load_audio(path, start=1.0, end=2.0)
    assert abs(middle.size - SAMPLE_RATE) <= 2
    assert dominant_hz(middle, SAMPLE_RATE) == pytest.approx(600, abs=2)
    tail = load_audio(path, start=2.5)
    assert abs(tail.size - SAMPLE_RATE // 2) <= 2
    assert dominant_hz(tail, SAMPLE_RATE) == pytest.approx(1000, abs=3)
    head = load_audio(path, end=0.25)
    assert abs(head.size - SAMPLE_RATE // 4) <= 2
    assert load_audio(path, start=2.0, end=99.0).size == pytest.approx(SAMPLE_RATE, abs=2)  # end clipped


def test_long_file_read_in_blocks_matches_whole(tmp_path):
    sr = 44100
    wave = np.random.default_rng(1).standard_normal(sr * 25).astype(np.float32) * 0.1
    path = write(tmp_path / "long.wav", wave, sr, subtype="FLOAT")
    whole = load_audio(path)
    part = load_audio(path, start=12.0, end=13.0)
    np.testing.assert_allclose(part[2000:-2000], whole[12 * 16000 + 2000: 13 * 16000 - 2000], atol=2e-3)


@pytest.mark.parametrize("start,end,match", [
    (2.0, 1.0, "must be after"),
    (1.0, 1.0, "must be after"),
    (5.0, None, "past the end"),
    (3.0, 4.0, "past the end"),
    (-1.0, None, "negative"),
    (float("nan"), None, "number of seconds"),
])
def test_bad_ranges(tmp_path, start, end, match):
    path = write(tmp_path / "three.wav", tone(300, 3.0, 16000), 16000)
    with pytest.raises(AudioError, match=match):
        load_audio(path, start=start, end=end)


def test_duration(tmp_path):
    assert audio_duration(write(tmp_path / "d.wav", tone(300, 2.5, 22050), 22050)) == pytest.approx(2.5)
    with pytest.raises(AudioError):
        audio_duration(tmp_path / "missing.wav")
