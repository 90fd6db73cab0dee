"""Held-out discipline: the real-speech clips split by talker into "valid" (choosing models) and
"test" (reporting), and ``evaluate --split`` scoring one split, the other, or both.

The table checks and the split selection need no download: the tiny corpus is made from the
demo speech in assets/demo (exact phone timings), scored by the shipped runtime model. Building
clips from their sources is checked in test_heldout_build.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from inference.corpus.heldout_clips import (CLIPS, NOTATION, PREVIOUS_TEST_IDS, SPEAKERS, SPLITS,
                                            clip_rows, discipline_problems)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "assets" / "demo"
# The archive member each clip held out before the split was cut from: same ids, same audio.
PREVIOUS_AUDIO = {
    "arctic_a0009": "arctic_a0009.wav", "arctic_a0007": "arctic_a0007.wav",
    "cmu_goforward": "test/data/goforward.raw", "cmu_forever": "forever/input_2_16k.wav",
    "mfa_english_slow": "english_slow.wav", "mfa_english_fast": "english_fast.wav",
    "mfa_english_t": "english_t.wav", "librispeech_61_70968_0000": "61-70968-0000.flac",
    "jfk_inaugural": "samples/jfk.wav", "jsut_basic5000_0001": "BASIC5000_0001.wav",
    "commonvoice_ja_24511055": "common_voice_ja_24511055.mp3",
    "mfa_japanese_slow": "japanese_slow.wav", "mfa_japanese_fast": "japanese_fast.wav",
    **{f"librivox_sas01_{n}": f"austen_64kb-{n}.wav"
       for n in ("0870", "0880", "0890", "0920", "0930")},
}


def test_clip_table_is_well_formed():
    assert set(SPLITS) == {"valid", "test"}
    for utt_id, clip in CLIPS.items():
        assert re.fullmatch(r"[a-z0-9_]+", utt_id), utt_id
        for source in filter(None, (clip.requirement, clip.transcript_from)):
            assert (re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", source)
                    or re.fullmatch(r"deb:[a-z0-9.+-]+=([0-9]+:)?[0-9][0-9A-Za-z.+~-]*", source)), \
                utt_id
        assert clip.transcript_key is None or clip.transcript, utt_id
        assert clip.audio.endswith((".wav", ".flac", ".mp3", ".raw", ".ogg", ".opus", ".g722",
                                    ".gsm")), \
            utt_id
        assert clip.lang in NOTATION and re.fullmatch(r"[a-z0-9_]+", clip.voice), utt_id
        assert clip.licence.strip() and clip.speaker in SPEAKERS, utt_id
        assert clip.prompt is None or clip.prompt.strip(), utt_id
        assert clip.labels is None or clip.labels.endswith(".lab"), utt_id
        for word, arpabet in clip.pronunciations:
            assert word in clip.prompt.lower() and re.fullmatch(r"[A-Z]+( [A-Z]+)*", arpabet)
    for name, speaker in SPEAKERS.items():
        assert speaker.split in SPLITS and speaker.why.strip(), name
        assert any(c.speaker == name for c in CLIPS.values()), f"{name} speaks no clip"


def test_previous_clips_stay_test_with_the_same_audio():
    assert len(PREVIOUS_TEST_IDS) == 18 == len(set(PREVIOUS_TEST_IDS))
    assert set(PREVIOUS_TEST_IDS) == set(PREVIOUS_AUDIO)
    for utt_id in PREVIOUS_TEST_IDS:
        assert CLIPS[utt_id].split == "test", utt_id
        assert CLIPS[utt_id].audio.endswith(PREVIOUS_AUDIO[utt_id]), utt_id


def test_no_talker_or_recording_in_both_splits():
    assert discipline_problems(clip_rows()) == []
    recordings = [c.recording for c in CLIPS.values()]
    assert len(recordings) == len(set(recordings))
    valid = [c for c in CLIPS.values() if c.split == "valid"]
    test = [c for c in CLIPS.values() if c.split == "test"]
    assert {c.speaker for c in valid}.isdisjoint({c.speaker for c in test})
    assert {(c.lang, c.voice) for c in valid}.isdisjoint({(c.lang, c.voice) for c in test})
    assert sum(c.lang == "en" for c in valid) >= 8


def test_no_held_out_talker_is_a_training_talker():
    """The shipped head trains on Asterisk's English prompts, read by Allison Smith, who also reads
    Asterisk's Spanish ones: those cannot be held out. Asterisk names the talker at the end of each
    voice folder (en_US_f_Allison), so a held-out Asterisk clip whose folder names the training
    talker is a breach; so is a held-out clip in a voice the shipped model trained on."""
    from inference.corpus.asterisk import VOICE_FOLDER
    trained_talker = VOICE_FOLDER.rstrip("/").rsplit("/", 1)[1].rsplit("_", 1)[1]
    assert trained_talker == "Allison"
    for utt_id, clip in CLIPS.items():
        if clip.requirement.startswith("deb:asterisk-core-sounds"):
            folder = clip.audio.rsplit("/", 2)[1]
            assert folder.rsplit("_", 1)[1] != trained_talker, (utt_id, folder)
    config = json.loads((ROOT / "assets" / "model" / "config.json").read_text())
    trained_voices = {voice for langs in config["training"]["corpus"].values()
                      for voices in langs.values() if isinstance(voices, dict) for voice in voices}
    assert "asterisk-en-allison" in trained_voices
    assert not trained_voices & {c.voice for c in CLIPS.values()}
    assert not trained_voices & set(SPEAKERS)


def test_a_rebuild_drops_clips_the_table_no_longer_holds(tmp_path):
    """A folder built before a talker left the table (Allison Smith's Spanish prompts) loses
    those clips when it is rebuilt, and keeps the ones the table holds."""
    from inference.corpus.arctic import drop_retired_clips
    for utt_id, lang, voice in (("asterisk_es_vm_intro", "es", "asterisk_es"),
                                ("asterisk_fr_vm_intro", "fr", "asterisk_fr")):
        folder = tmp_path / lang / voice
        folder.mkdir(parents=True)
        (folder / f"{utt_id}.json").write_text(json.dumps({"id": utt_id, "engine": "human"}))
        (folder / f"{utt_id}.wav").write_bytes(b"RIFF")
    assert drop_retired_clips(tmp_path) == ["asterisk_es_vm_intro"]
    assert not list((tmp_path / "es").rglob("*.*"))
    assert (tmp_path / "fr" / "asterisk_fr" / "asterisk_fr_vm_intro.wav").is_file()


def test_discipline_problems_names_each_breach():
    row = {"id": "a", "split": "valid", "speaker": "s1", "recording": "p==1:a.wav",
           "voice": "v1", "lang": "en"}
    assert discipline_problems([row]) == []
    same_talker = dict(row, id="b", split="test", recording="p==1:b.wav", voice="v2")
    assert any("speaker 's1'" in p for p in discipline_problems([row, same_talker]))
    same_recording = dict(row, id="c", split="test", speaker="s2", voice="v3")
    assert any("recording" in p for p in discipline_problems([row, same_recording]))
    same_voice = dict(row, id="d", split="test", speaker="s3", recording="p==1:d.wav")
    assert any("voice 'en/v1'" in p for p in discipline_problems([row, same_voice]))
    assert any("train" in p for p in discipline_problems([dict(row, split="train")]))
    assert any("speaker" in p for p in discipline_problems([dict(row, speaker="")]))


def _tiny_corpus(root: Path, more_valid: bool = False) -> Path:
    """Demo-speech utterances: English valid, English test, Japanese test, English train, and
    with ``more_valid`` a Japanese valid one too."""
    import soundfile as sf

    from inference.corpus.format import Utterance, write_manifest, write_utterance
    out = root / "heldout"
    rows = [("en_valid", "speech_en", "valid", "talker_a"),
            ("en_test", "speech_en", "test", "talker_b"),
            ("ja_test", "speech_ja", "test", "talker_c"),
            ("en_train", "speech_en", "train", "talker_d")]
    if more_valid:
        rows.append(("ja_valid", "speech_ja", "valid", "talker_e"))
    for utt_id, name, split, voice in rows:
        meta = json.loads((DEMO / f"{name}.phones.json").read_text(encoding="utf-8"))
        audio, sr = sf.read(DEMO / f"{name}.wav", dtype="float32")
        write_utterance(out, Utterance(
            id=utt_id, text=meta["text"], lang=meta["lang"], voice=voice, engine="human",
            notation=meta["notation"], audio=audio, sample_rate=sr,
            phones=[tuple(p) for p in meta["phones"]], licence="demo", split=split))
    write_manifest(out)
    return out


def test_select_splits():
    from inference.training.evaluate import select_splits
    assert select_splits("test") == ("test",) and select_splits("valid") == ("valid",)
    assert select_splits("all") == ("valid", "test")
    with pytest.raises(ValueError, match="use test, valid or all"):
        select_splits("dev")


@pytest.mark.slow
def test_evaluate_scores_the_chosen_split(tmp_path, capsys):
    """The shipped runtime model on a tiny built set: each --split scores exactly its clips and
    says which split it scored; "all" reports each split per language too."""
    from inference.training import evaluate
    corpus = _tiny_corpus(tmp_path)
    common = ["--model", str(ROOT / "assets" / "model"), "--data", str(corpus), "--runtime",
              str(ROOT / "assets" / "runtime"), "--min-window", "full", "--per-clip",
              "--cache", str(tmp_path / "cache")]
    reports = {}
    for split in ("default", "valid", "all"):
        out = tmp_path / f"{split}.json"
        argv = common + ["--out", str(out)] + ([] if split == "default" else ["--split", split])
        assert evaluate.main(argv) == 0
        reports[split] = json.loads(out.read_text())
        assert capsys.readouterr().out.startswith(
            f"split: {'test' if split == 'default' else split} (clips: ")

    def keys(report):
        return sorted({c["key"].rsplit("/", 1)[1] for c in report["clips"]})
    assert reports["default"]["split"] == "test"
    assert keys(reports["default"]) == ["en_test", "ja_test"]
    assert sorted(reports["default"]["per_language"]) == ["all", "en", "ja"]
    assert reports["valid"]["clips_per_split"] == {"valid": 1}
    assert keys(reports["valid"]) == ["en_valid"]
    assert sorted(reports["valid"]["per_language"]) == ["all", "en"]
    every = reports["all"]
    assert keys(every) == ["en_test", "en_valid", "ja_test"]
    assert every["clips_per_split"] == {"valid": 1, "test": 2}
    assert every["per_split"]["test"]["en"]["model"]["clips"] == 1
    assert every["per_split"]["valid"]["all"]["model"]["clips"] == 1
    # The same clip scores the same whichever split selection included it.
    assert (every["per_split"]["valid"]["en"]["model"]["aperture_auc"]
            == pytest.approx(reports["valid"]["per_language"]["en"]["model"]["aperture_auc"]))


@pytest.mark.slow
def test_babble_mixes_only_talkers_of_the_clips_own_split(tmp_path, monkeypatch):
    from inference.training import evaluate
    corpus = _tiny_corpus(tmp_path, more_valid=True)
    mixed: dict[str, list[str]] = {}
    degrade = evaluate.conds.degrade

    def spy(audio, name, clip_id, voice, talkers=()):
        mixed[clip_id] = [t.clip_id for t in talkers]
        return degrade(audio, name, clip_id, voice, talkers)
    monkeypatch.setattr(evaluate.conds, "degrade", spy)
    report = evaluate.evaluate(ROOT / "assets" / "model", corpus, "all", tmp_path / "cache",
                               runtime=ROOT / "assets" / "runtime", min_window_s=None,
                               conditions=("babble@10",))
    assert report["clips_per_split"] == {"valid": 2, "test": 2}
    assert sorted(mixed) == ["en/talker_a/en_valid", "en/talker_b/en_test",
                             "ja/talker_c/ja_test", "ja/talker_e/ja_valid"]
    for clip_id, talkers in mixed.items():
        split = clip_id.rsplit("_", 1)[1]
        assert talkers and all(t.rsplit("_", 1)[1] == split for t in talkers), (clip_id, talkers)


def test_evaluate_refuses_an_unknown_split(capsys):
    from inference.training import evaluate
    with pytest.raises(SystemExit):
        evaluate.main(["--model", "m", "--data", "d", "--split", "dev"])
    assert "invalid choice: 'dev'" in capsys.readouterr().err


def test_new_talkers_take_their_languages_missing_splits():
    """Spanish has a test talker again (the es-co prompts), French and Italian valid sentences
    (fr-armelle, it-menardi), Russian and French valid words (KTuberling's talkers), and Mandarin
    a talker in each split (gcin's two syllable voices); at least twelve clips each."""
    by = {}
    for utt_id, clip in CLIPS.items():
        by.setdefault((clip.lang, clip.speaker), []).append(clip)
    for lang, talker, split in (("es", "asterisk-es-co-july", "test"),
                                ("fr", "asterisk-fr-armelle", "valid"),
                                ("it", "asterisk-it-menardi", "valid"),
                                ("ru", "ktuberling-ru", "valid"),
                                ("fr", "ktuberling-fr", "valid"),
                                ("zh", "gcin-liu", "test"), ("zh", "gcin-chulo", "valid")):
        clips = by[(lang, talker)]
        assert {c.split for c in clips} == {split}, (talker, {c.split for c in clips})
        assert len(clips) >= 12, talker
    gcin = [c for c in CLIPS.values() if c.speaker.startswith("gcin-")]
    assert all(c.pad_s > 0 for c in gcin) and not any(
        c.pad_s for c in CLIPS.values() if not c.speaker.startswith("gcin-"))


@pytest.mark.parametrize("lang, clips, bilabials, letters", [
    ("ro", 150, 400, r"[pbm]"), ("el", 80, 250, r"[πμ]"), ("fr", 140, 300, r"[pbm]"),
    ("es", 200, 400, r"[pbm]"), ("ru", 120, 300, r"[пбм]"), ("ca", 40, 70, r"[pbm]")])
def test_tuxpaint_languages_are_one_test_talker_saying_its_written_line(lang, clips, bilabials,
                                                                        letters):
    """Tux Paint's stamp descriptions give Romanian, Greek and Catalan their held-out speech, and French,
    Spanish and Russian a test talker saying hundreds of lines: one talker each, all test, each clip a
    distinct recording whose line has no digits, brackets or currency (said otherwise than
    written), and together enough p/b/m to score (issue 13's per-language target)."""
    held = {k: c for k, c in CLIPS.items() if k.startswith(f"tuxpaint_{lang}_")}
    assert {k for k, c in CLIPS.items() if c.speaker == f"tuxpaint-{lang}"} == set(held)
    assert len(held) >= clips and {c.lang for c in held.values()} == {lang}
    assert {c.split for c in held.values()} == {"test"} == {SPEAKERS[f"tuxpaint-{lang}"].split}
    assert len({c.audio for c in held.values()}) == len(held)
    assert not [c.prompt for c in held.values() if re.search(r"[0-9()$€\[\]]", c.prompt or "")]
    assert sum(len(re.findall(letters, c.prompt.lower())) for c in held.values()) > bilabials
