"""Robustness conditions (inference.training.conditions) and ``evaluate --condition``.

Conditions: each is the same audio on every call, keeps the clip's length and timing, noise
lands at its SNR (measured here from the added signal), whisper and shout reach their levels,
babble never carries the clip's own voice (checked in the signal, not only in the record), and
bad names get one sentence. The CLI: the shipped-engine path (ONNX Runtime on the tiny exported
model) scores a small speech-like corpus clean and under two conditions and writes both, with
the difference from clean; the cached-features path refuses conditions in one sentence.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.training import conditions as C

SR = 16000
NOISY = [f"{k}@{snr}" for k in ("pink", "brown", "babble", "music") for snr in (10, 0)]


def _speech(seconds: float, seed: int) -> np.ndarray:
    from tests.conftest import speechlike
    return speechlike(seconds, seed=seed)


def _talkers() -> list[C.Talker]:
    """Two clips of the clip's own voice "me" and five other voices."""
    out = [C.Talker(f"en/me/{i}", "me", _speech(2.0 + i, 10 + i)) for i in range(2)]
    out += [C.Talker(f"en/v{i}/x", f"v{i}", _speech(1.5 + 0.3 * i, 20 + i)) for i in range(5)]
    return out


def _level_db(x: np.ndarray) -> float:
    """RMS in dBFS of the samples above 1e-4 (the SNR reference, written out independently)."""
    active = x[np.abs(x) > 1e-4].astype(np.float64)
    return 10.0 * np.log10(np.mean(active ** 2))


def _lag(a: np.ndarray, b: np.ndarray, search: int = 400) -> int:
    """Samples by which ``b`` is late against ``a`` (cross-correlation peak within +-search)."""
    size = 1 << int(np.ceil(np.log2(2 * len(a))))
    cc = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    window = np.concatenate([cc[-search:], cc[:search + 1]])
    return int(np.argmax(window)) - search


def test_every_condition_is_deterministic_keeps_length_and_differs_per_clip():
    clean = _speech(3.0, 1)
    talkers = _talkers()
    for name in C.ALL:
        a, rec_a = C.degrade(clean, name, "en/me/0", "me", talkers)
        b, rec_b = C.degrade(clean, name, "en/me/0", "me", talkers)
        assert a.dtype == np.float32 and a.shape == clean.shape, name
        assert np.array_equal(a, b) and rec_a == rec_b, name
        assert np.all(np.isfinite(a)) and np.max(np.abs(a)) <= 1.0, name
        if name != "clean":
            assert not np.allclose(a, clean, atol=1e-4), name
        if "@" in name:             # noise: another clip id, another draw
            other, _ = C.degrade(clean, name, "en/me/1", "me", talkers)
            assert not np.allclose(a, other, atol=1e-4), name


@pytest.mark.parametrize("name", NOISY)
def test_noise_lands_at_its_snr(name):
    clean = _speech(4.0, 2)
    out, _ = C.degrade(clean, name, "en/me/0", "me", _talkers())
    noise = out.astype(np.float64) - clean
    snr = _level_db(clean) - 10.0 * np.log10(np.mean(noise ** 2))
    assert abs(snr - C.parse(name)[1]) < 0.5, (name, snr)


def test_loud_mix_is_scaled_not_clipped_and_keeps_its_snr():
    clean = _speech(3.0, 3) * 3.5                       # peaks near full scale
    out, _ = C.degrade(clean, "pink@0", "en/me/0", "me")
    assert np.max(np.abs(out)) <= C.PEAK + 1e-6
    gain = float(np.dot(out, clean) / np.dot(clean, clean))   # the guard's overall scale (< 1)
    noise = out / gain - clean
    snr = _level_db(clean) - 10.0 * np.log10(np.mean(noise.astype(np.float64) ** 2))
    assert gain < 0.99 and abs(snr) < 0.5, (gain, snr)


def test_whisper_and_shout_reach_their_levels():
    clean = _speech(3.0, 4)
    quiet, _ = C.degrade(clean, "whisper", "en/me/0", "me")
    gain = float(np.dot(quiet, clean) / np.dot(clean, clean))    # the floor is uncorrelated
    assert abs(20 * np.log10(gain) + _level_db(clean) - C.WHISPER_DBFS) < 0.5
    floor = quiet.astype(np.float64) - gain * clean
    assert abs(10 * np.log10(np.mean(floor ** 2)) - C.WHISPER_FLOOR_DBFS) < 1.0
    assert np.allclose(quiet * 32767, np.round(quiet * 32767), atol=1e-3)   # 16-bit samples
    loud, record = C.degrade(clean, "shout", "en/me/0", "me")
    assert np.max(np.abs(loud)) == pytest.approx(1.0)
    clipped = np.abs(loud) >= 1.0
    assert record["clipped_fraction"] == pytest.approx(clipped.mean(), abs=1e-3)
    assert 0.01 < clipped.mean() < 0.5
    kept = ~clipped                                               # below full scale: linear
    gain = float(np.dot(loud[kept], clean[kept]) / np.dot(clean[kept], clean[kept]))
    assert abs(20 * np.log10(gain) + _level_db(clean) - C.SHOUT_DBFS) < 0.5


@pytest.mark.parametrize("name", ["reverb", "telephone", "gsm", "pink@0", "babble@0",
                                  "music@0"])
def test_conditions_do_not_move_time(name):
    clean = _speech(3.0, 5)
    out, _ = C.degrade(clean, name, "en/me/0", "me", _talkers())
    assert _lag(clean, out) == 0, name


@pytest.mark.parametrize("name", ["telephone", "gsm"])
def test_telephone_is_band_limited(name):
    rng = np.random.default_rng(0)
    white = (0.1 * rng.standard_normal(SR * 2)).astype(np.float32)
    out, _ = C.degrade(white, name, "en/me/0", "me")
    spectrum = np.abs(np.fft.rfft(out)) ** 2
    freqs = np.fft.rfftfreq(len(out), 1 / SR)
    band = spectrum[(freqs > 500) & (freqs < 3000)].mean()
    if name == "telephone":         # GSM's own coding noise reaches below the 300 Hz edge
        assert spectrum[freqs < 150].mean() < 0.01 * band      # below the 300 Hz edge
    assert spectrum[freqs > 4500].mean() < 0.01 * band         # above the 8 kHz codec's band


def test_gsm_is_the_codec_not_only_the_band():
    """GSM 06.10 is a lossy speech coder: on speech, its error against the same 8 kHz round trip
    without a codec is many times the mu-law telephone's (whose 8-bit steps are its only loss)."""
    clean = C.highpass(_speech(3.0, 7), C.PHONE_LOW_HZ)
    plain = C.band_limit(clean, "lowpass", 4000.0)           # 8 kHz and back, nothing else
    def err(kind):
        return float(np.mean((C.band_limit(clean, kind, 4000.0).astype(np.float64) - plain) ** 2))
    assert err("gsm") > 5.0 * err("telephone"), (err("gsm"), err("telephone"))


def test_babble_never_uses_the_clips_own_voice():
    """The own voice's clips are a loud 3 kHz tone: none of it may reach the babble."""
    n = SR * 3
    t = np.arange(SR * 4) / SR
    tone = (0.3 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)
    talkers = [C.Talker("en/me/a", "me", tone), C.Talker("en/me/b", "me", tone[: SR * 2])]
    talkers += [C.Talker(f"en/v{i}/x", f"v{i}", _speech(2.0, 30 + i)) for i in range(5)]
    clean = np.zeros(n, np.float32)
    clean[::7] = 1e-3                                          # a non-silent reference level
    for clip in ("en/me/c", "en/me/d", "en/me/e"):
        noise, used = C.babble(n, "me", talkers, C.clip_rng("babble@0", clip))
        assert len(used) == C.BABBLE_TALKERS and not any(u.startswith("en/me/") for u in used)
        spectrum = np.abs(np.fft.rfft(noise)) ** 2
        freqs = np.fft.rfftfreq(n, 1 / SR)
        near = spectrum[np.abs(freqs - 3000) < 3].sum() / spectrum.sum()
        assert near < 0.01, (clip, near)
    # Fewer other voices than four: more clips of those voices, still never the own voice.
    few = [talkers[0], C.Talker("en/v0/a", "v0", _speech(2, 40)),
           C.Talker("en/v0/b", "v0", _speech(2, 41)), C.Talker("en/v1/a", "v1", _speech(2, 42)),
           C.Talker("en/v1/b", "v1", _speech(2, 43))]
    _, used = C.babble(n, "me", few, C.clip_rng("babble@0", "en/me/c"))
    assert sorted(used) == ["en/v0/a", "en/v0/b", "en/v1/a", "en/v1/b"]
    with pytest.raises(ValueError, match="other speakers"):
        C.babble(n, "me", talkers[:2], C.clip_rng("babble@0", "en/me/c"))


def test_condition_names():
    assert C.expand(None) == ["clean"]
    assert C.expand(["all"]) == list(C.ALL)
    assert C.expand(["pink@10", "reverb", "pink@10"]) == ["clean", "pink@10", "reverb"]
    assert C.parse("babble@-5") == ("babble", -5.0)
    for bad in ("pink", "pink@loud", "reverb@3", "rain@10", "pink@nan"):
        with pytest.raises(ValueError) as err:
            C.expand([bad])
        assert "\n" not in str(err.value) and repr(bad) in str(err.value)
    assert "SYNTHETIC" in C.describe("music@0") and "0 dB" in C.describe("music@0")


# ---- evaluate --condition on the shipped ONNX Runtime engine -----------------------------------

PHONES = [("sil", 0.0, 0.25), ("M", 0.25, 0.35), ("AA", 0.35, 0.6), ("P", 0.6, 0.7),
          ("IY", 0.7, 0.95), ("sil", 0.95, 1.1), ("B", 1.1, 1.2), ("UW", 1.2, 1.5),
          ("F", 1.5, 1.6), ("AA", 1.6, 1.9), ("sil", 1.9, 2.0)]


def _write_corpus(root: Path) -> Path:
    from tests.conftest import write_wav
    lines = []
    for i, voice in enumerate(("va", "vb", "vc")):
        folder = root / "en" / voice
        folder.mkdir(parents=True)
        uid = f"{voice}_{i}"
        write_wav(folder / f"{uid}.wav", _speech(2.0, 50 + i))
        record = {"id": uid, "text": "speech-like test clip", "lang": "en", "voice": voice,
                  "engine": "test", "notation": "arpabet", "phones": [list(p) for p in PHONES],
                  "duration": 2.0, "augment": None, "split": "test", "licence": "test"}
        (folder / f"{uid}.json").write_text(json.dumps(record))
        lines.append(json.dumps({"id": uid, "path": f"en/{voice}/{uid}.wav",
                                 "json": f"en/{voice}/{uid}.json", "lang": "en", "voice": voice,
                                 "duration": 2.0, "split": "test"}))
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_evaluate_runtime_scores_each_condition_against_clean(tmp_path, tiny_checkpoint,
                                                              tiny_runtime_model, capsys):
    from inference.training import evaluate
    corpus = _write_corpus(tmp_path / "corpus")
    out = tmp_path / "report.json"
    args = ["--model", str(tiny_checkpoint), "--data", str(corpus), "--cache",
            str(tmp_path / "cache"), "--runtime", str(tiny_runtime_model),
            "--condition", "babble@0", "--condition", "telephone", "--out", str(out), "--per-clip"]
    assert evaluate.main(args) == 0
    printed = capsys.readouterr().out
    assert "| babble@0 |" in printed and "| telephone |" in printed and "| clean |" in printed
    report = json.loads(out.read_text())
    assert list(report["conditions"]) == ["clean", "babble@0", "telephone"]
    clean = report["per_language"]["en"]["model"]
    assert report["conditions"]["clean"]["per_language"]["en"]["model"]["mae"] == clean["mae"]
    for name in ("babble@0", "telephone"):
        block = report["conditions"][name]["per_language"]["en"]
        assert block["model"]["clips"] == 3
        assert "babble" in report["conditions"]["babble@0"]["definition"]
        delta = block["vs_clean"]["model"]
        assert delta["mae"] == pytest.approx(block["model"]["mae"] - clean["mae"])
        assert delta["pooled"]["aperture_auc"] == pytest.approx(
            block["model"]["pooled"]["aperture_auc"] - clean["pooled"]["aperture_auc"])
        assert block["model"]["mae"] != clean["mae"]           # the engine heard other audio
    assert {c["condition"] for c in report["clips"]} == {"clean", "babble@0", "telephone"}
    # The same command again: the same figures (every condition is reproducible end to end).
    again = tmp_path / "again.json"
    assert evaluate.main(args[:-3] + ["--out", str(again)]) == 0
    assert json.loads(again.read_text())["conditions"] == report["conditions"]


def test_cached_features_path_refuses_conditions(tmp_path, tiny_checkpoint, capsys):
    from inference.training import evaluate
    corpus = _write_corpus(tmp_path / "corpus")
    code = evaluate.main(["--model", str(tiny_checkpoint), "--data", str(corpus),
                          "--cache", str(tmp_path / "cache"), "--condition", "pink@10"])
    err = capsys.readouterr().err
    assert code == 1 and "--runtime" in err and "Traceback" not in err
    assert evaluate.main(["--model", str(tiny_checkpoint), "--data", str(corpus), "--runtime",
                          "x", "--condition", "pink@loud"]) == 1
    assert "pink@10" in capsys.readouterr().err
