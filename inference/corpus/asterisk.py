"""Human English speech for training: the Asterisk PBX's English voice prompts, force-aligned.

Source: Debian bookworm ``asterisk-core-sounds-en-g722`` (16 kHz G.722 audio) and
``asterisk-core-sounds-en`` (the transcripts, ``core-sounds-en.txt.gz``: one ``name: text`` a
line), version 1.6.1-1, recorded by Allison Smith, CC BY-SA 3.0. The audio is fetched with
``apt-get download`` into a cache and never committed.

A prompt is kept when its transcript is plain words: prompts whose text holds digits ("press
1") or a bracketed description ("[beep]") are left out, and so are those whose words pocketsphinx's
CMUdict lacks (a warning each). Phones come from ``align.align_audio`` (ARPAbet, pocketsphinx
5.1.1), so these utterances are labelled the way the held-out English clips are.

Held-out discipline: the same talker reads Asterisk's Spanish prompts, which are test clips
(``heldout_clips.ASTERISK``), so a head trained on this corpus has heard that test talker
(docs/model-comparison.md says what follows for its Spanish figures).

Imports: standard library; pocketsphinx and G722 lazily (through align and arctic).
"""
from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

from .align import _decoder, align_audio
from .arctic import _deb_files, _read_audio, fetch_deb
from .format import SAMPLE_RATE, Utterance, write_manifest, write_utterance

LOG = logging.getLogger(__name__)

VERSION = "1.6.1-1"
AUDIO_PACKAGE = f"deb:asterisk-core-sounds-en-g722={VERSION}"
TEXT_PACKAGE = f"deb:asterisk-core-sounds-en={VERSION}"
VOICE_FOLDER = "usr/share/asterisk/sounds/en_US_f_Allison/"
TRANSCRIPTS = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
VOICE = "asterisk-en-allison"
LICENCE = ("Asterisk core sounds (Debian asterisk-core-sounds-en-g722 1.6.1-1), recorded by "
           "Allison Smith: CC BY-SA 3.0")


def transcripts(text: str) -> dict[str, str]:
    """{prompt name (path under the voice folder, no suffix): transcript} of the package's list;
    comment lines (';') and lines without a colon are skipped."""
    table = {}
    for line in text.splitlines():
        if line.startswith(";") or ":" not in line:
            continue
        name, said = line.split(":", 1)
        table[name.strip()] = said.strip()
    return table


def plain_words(said: str) -> bool:
    """True when a transcript is words only: no digits, no bracketed sound description."""
    return bool(re.search(r"[A-Za-z]", said)) and not re.search(r"[\d\[\]]", said)


def utterance_id(name: str) -> str:
    """A file-safe id from a prompt name ("digits/h-6" -> "digits__h-6")."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name.replace("/", "__"))


def import_asterisk(out: Path, cache: Path | None = None,
                    names: tuple[str, ...] | None = None) -> int:
    """Write the aligned prompts (all, or only ``names``) to ``<out>/en/asterisk-en-allison/``;
    return how many."""
    cache = Path(cache) if cache else Path(out) / ".packages"
    audio_files = _deb_files(fetch_deb(AUDIO_PACKAGE, cache))
    text_files = _deb_files(fetch_deb(TEXT_PACKAGE, cache))
    table = transcripts(gzip.decompress(text_files["./" + TRANSCRIPTS]).decode("utf-8", "replace"))
    decoder = _decoder()
    written = 0
    # In file-name order, as ``corpus align`` reads a folder: pocketsphinx keeps some state
    # between utterances, so the order can move a boundary by a frame or two.
    for name, said in sorted(table.items(), key=lambda item: utterance_id(item[0]) + ".wav"):
        member = "./" + VOICE_FOLDER + name + ".g722"
        if member not in audio_files or not plain_words(said) or (names and name not in names):
            continue
        audio, rate = _read_audio(audio_files[member], member)
        assert rate == SAMPLE_RATE          # 16-bit samples / 32768: what the wav will hold
        try:
            phones = align_audio(audio, said, decoder)
        except (ValueError, RuntimeError) as exc:
            LOG.warning("%s: %s", name, exc)
            continue
        write_utterance(out, Utterance(
            id=utterance_id(name), text=said, lang="en", voice=VOICE,
            engine="pocketsphinx-align", notation="arpabet", audio=audio,
            sample_rate=SAMPLE_RATE, phones=phones, licence=LICENCE,
            extra={"labels": "pocketsphinx 5.1.1 forced alignment",
                   "recording": f"{AUDIO_PACKAGE}:{VOICE_FOLDER}{name}.g722",
                   "speaker": "asterisk-allison"}))
        written += 1
    write_manifest(out)
    return written
