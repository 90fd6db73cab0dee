"""Recording-condition training copies (inference/corpus/recording.py): every kind keeps the
utterance's length and phones, noise lands at its drawn SNR, babble only uses training talkers of
other voices, copies are reproducible, and the training selection keeps a copy exactly with its
source. Real speech: the demo clips (assets/demo)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inference.corpus import recording
from inference.corpus.augment import speech_level
from inference.corpus.format import (SAMPLE_RATE, Utterance, read_utterance, write_manifest,
                                     write_utterance)
from inference.training.conditions import Talker

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"


def _speech(name: str = "speech_en") -> np.ndarray:
    audio, sr = sf.read(DEMO / f"{name}.wav", dtype="float32")
    assert sr == SAMPLE_RATE
    return audio[: 4 * SAMPLE_RATE]


def _talkers() -> list[Talker]:
    ja = _speech("speech_ja")
    return [Talker("ja/other/a", "other", ja), Talker("ja/third/b", "third", ja[::-1].copy()),
            Talker("en/self/c", "self", _speech())]


def test_every_kind_keeps_length_and_is_reproducible():
    audio, seen = _speech(), set()
    for k in range(60):
        out, done = recording.recording_copy(audio, "self", _talkers(),
                                             np.random.default_rng([3, k]))
        again, _ = recording.recording_copy(audio, "self", _talkers(),
                                            np.random.default_rng([3, k]))
        assert out.shape == audio.shape and out.dtype == np.float32
        assert np.array_equal(out, again)
        assert np.max(np.abs(out)) <= 1.0 and not np.array_equal(out, audio)
        seen.add(done["recording"])
        seen.add(done.get("noise") or done.get("extra", {}).get("noise"))
    assert {"noise", "reverb", "telephone", "level"} <= seen
    assert {"white", "pink", "brown", "babble", "music"} <= seen


@pytest.mark.parametrize("kind", ["pink", "babble", "music"])
def test_noise_lands_at_the_drawn_snr(kind, monkeypatch):
    audio = _speech() * 0.1                      # no full-scale guard involved
    monkeypatch.setattr(recording, "NOISES", (kind,))
    monkeypatch.setattr(recording, "KINDS", {"noise": 1.0})
    out, done = recording.recording_copy(audio, "self", _talkers(), np.random.default_rng(5))
    assert done["noise"] == kind
    noise = out - audio
    snr = 20 * np.log10(speech_level(audio) / np.sqrt(np.mean(noise.astype(np.float64) ** 2)))
    assert snr == pytest.approx(done["snr_db"], abs=0.1)


def test_min_snr_keeps_every_drawn_noise_above_it(tmp_path):
    """``corpus augment --recording --min-snr 5``: no copy's noise (main or extra) is drawn
    below 5 dB; the default range reaches below it."""
    _corpus(tmp_path / "src")
    snrs = {}
    for name, floor in (("low", None), ("high", 5.0)):
        recording.recording_corpus(tmp_path / "src", tmp_path / name, 40, seed=2,
                                   min_snr_db=floor)
        snrs[name] = [d.get("snr_db", d.get("extra", {}).get("snr_db"))
                      for d in (json.loads(p.read_text())["augment"]
                                for p in (tmp_path / name).rglob("*.json"))]
        snrs[name] = [v for v in snrs[name] if v is not None]
    assert len(snrs["high"]) >= 10 and min(snrs["high"]) >= 5.0
    assert min(snrs["low"]) < 5.0


def test_babble_never_uses_the_copys_own_voice(monkeypatch):
    monkeypatch.setattr(recording, "NOISES", ("babble",))
    monkeypatch.setattr(recording, "KINDS", {"noise": 1.0})
    for k in range(10):
        _, done = recording.recording_copy(_speech(), "self", _talkers(),
                                           np.random.default_rng(k))
        assert done["talkers"] and not any(t.startswith("en/self/") for t in done["talkers"])


def _corpus(root: Path) -> None:
    """Three voices of real speech: two training utterances and one validation and one test."""
    en, ja = _speech(), _speech("speech_ja")
    phones = [("sil", 0.0, 0.5), ("a", 0.5, 2.0), ("m", 2.0, 2.5), ("sil", 2.5, 4.0)]
    for utt_id, voice, split, audio in [("u1", "v1", "train", en), ("u2", "v2", "train", ja),
                                        ("u3", "v3", "valid", en), ("u4", "v1", "test", ja)]:
        write_utterance(root, Utterance(
            id=utt_id, text="x", lang="en", voice=voice, engine="test", notation="arpabet",
            audio=audio, sample_rate=SAMPLE_RATE, phones=phones, licence="test", split=split))
    write_manifest(root)


def test_recording_corpus_copies_keep_phones_split_and_source(tmp_path):
    _corpus(tmp_path / "src")
    assert recording.recording_corpus(tmp_path / "src", tmp_path / "rec", 2, seed=1) == 6
    assert recording.recording_corpus(tmp_path / "src", tmp_path / "rec", 2, seed=1) == 0
    copies = sorted((tmp_path / "rec").rglob("*.json"))
    assert len(copies) == 6                           # the test utterance is never copied
    for path in copies:
        rec, audio = read_utterance(path)
        source, clean = read_utterance(next((tmp_path / "src").rglob(
            f"{rec['augment']['source']}.json")))
        assert rec["split"] == source["split"] != "test"
        assert rec["phones"] == source["phones"] and len(audio) == len(clean)
        for name in rec["augment"].get("talkers", []):
            assert "/v3/" not in name and "/v1/u4" not in name   # training talkers only
            assert f"/{rec['voice']}/" not in name


def test_selection_keeps_a_copy_exactly_with_its_source(tmp_path):
    from inference.encoders import EncoderSpec
    from inference.training.features import plan
    from inference.training.selection import select_by_voice
    _corpus(tmp_path / "src")
    recording.recording_corpus(tmp_path / "src", tmp_path / "rec", 1, seed=1)
    spec = EncoderSpec.from_dict({"kind": "whisper", "source": "openai/whisper-base"}).to_dict()
    utts = plan([tmp_path / "src", tmp_path / "rec"], spec, tmp_path / "cache",
                ("train", "valid"))
    copies = [u for u in utts if u.source]
    assert len(copies) == 3 and {u.source for u in copies} == {"u1", "u2", "u3"}
    kept = select_by_voice(utts, {"v1": 0.01}, None, seed=0)   # v1's only sentence is over cap
    kept_ids = {str(u.key).rsplit("/", 1)[-1] for u in kept}
    assert "u1" not in kept_ids and not any(k.startswith("u1-rec") for k in kept_ids)
    assert any(k.startswith("u2-rec") for k in kept_ids)


def test_babble_talkers_come_only_from_training_speech(tmp_path):
    from inference.corpus.format import iter_records
    _corpus(tmp_path / "src")
    pool = recording.talker_pool(list(iter_records(tmp_path / "src")), seed=0)
    assert sorted(t.clip_id for t in pool) == ["en/v1/u1", "en/v2/u2"]   # no valid, no test
    assert all(len(t.wave) == 4 * SAMPLE_RATE for t in pool)


@pytest.mark.parametrize("codec", ["gsm", "telephone"])
def test_codec_copy_is_the_evaluations_condition_exactly(tmp_path, codec):
    """``corpus augment --codec``: one copy of each training utterance, sample for sample what
    the robustness evaluation's condition of that name hears, with the source's phones."""
    from inference.training.conditions import degrade
    _corpus(tmp_path / "src")
    assert recording.codec_corpus(tmp_path / "src", tmp_path / codec, codec) == 3
    assert recording.codec_corpus(tmp_path / "src", tmp_path / codec, codec) == 0
    for path in sorted((tmp_path / codec).rglob("*.json")):
        rec, audio = read_utterance(path)
        source, clean = read_utterance(next((tmp_path / "src").rglob(
            f"{rec['augment']['source']}.json")))
        assert rec["augment"]["recording"] == codec and rec["phones"] == source["phones"]
        expected, _ = degrade(clean, codec, rec["id"], rec["voice"])
        assert len(audio) == len(clean)
        np.testing.assert_allclose(audio, np.clip(expected, -1.0, 1.0), atol=2e-4)   # stored
        assert np.max(np.abs(audio - clean)) > 0.01          # the line changed it


def test_codec_refuses_what_it_does_not_know(tmp_path):
    _corpus(tmp_path / "src")
    with pytest.raises(ValueError, match="gsm"):
        recording.codec_corpus(tmp_path / "src", tmp_path / "x", "amr")
