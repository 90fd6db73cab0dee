"""Human speech for training: the Asterisk PBX's English voice prompts, force-aligned, and the
same talker's Spanish ones, labelled by a warped reading.

Source: Debian bookworm ``asterisk-core-sounds-en-g722`` (16 kHz G.722 audio) and
``asterisk-core-sounds-en`` (the transcripts, ``core-sounds-en.txt.gz``: one ``name: text`` a
line), version 1.6.1-1, recorded by Allison Smith, CC BY-SA 3.0. The audio is fetched with
``apt-get download`` into a cache and never committed.

A prompt is kept when its transcript is plain words: prompts whose text holds digits ("press
1") or a bracketed description ("[beep]") are left out, and so are those whose words pocketsphinx's
CMUdict lacks (a warning each). Phones come from ``align.align_audio`` (ARPAbet, pocketsphinx
5.1.1), as the held-out English clips are, but by default with every AH plain: the held-out
labels mark unstressed ones as schwas (``schwa=True``), and this corpus keeps the labels the
shipped head was trained on unless ``--schwa`` is given.

Held-out discipline: the same talker reads Asterisk's Spanish prompts. They were test clips until
a head trained on her English ones shipped; since then no held-out clip is hers
(``tests/inference/test_heldout_split.py`` checks it), so her Spanish can be trained on too.

Spanish (``--lang es``): the same talker's Mexican Spanish prompts (``asterisk-core-sounds-es-g722``
and ``asterisk-core-sounds-es`` 1.6.1-1, ``es_MX_f_Allison``, CC BY-SA 3.0), labelled as the
held-out clips outside English are: an espeak-ng reading of the transcript warped onto the
recording (``arctic._SynthesisAligner``, Whisper-base features and dynamic time warping), read
by espeak-ng's Latin American voice (es-419: seseo, no Castilian θ), as the talker speaks. The
package's transcripts drop most accents ("numero"); espeak-ng then stresses another syllable,
which moves no lip. A prompt whose reading, before the warp, is far longer or shorter than its
own speech (:func:`pace_ok`) is left out with a warning: its transcript does not say what the file
says. So are lone letters (``letters/``).

Imports: standard library; pocketsphinx and G722 lazily (through align and arctic); the Whisper
encoder and espeak-ng lazily, for Spanish only.
"""
from __future__ import annotations

import gzip
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .align import _decoder, align_audio
from .arctic import _deb_files, _read_audio, fetch_deb
from .format import SAMPLE_RATE, Utterance, write_manifest, write_utterance

LOG = logging.getLogger(__name__)

VERSION = "1.6.1-1"


@dataclass(frozen=True)
class PromptSet:
    """One language's prompts in Debian: where the audio and the transcript list live."""
    lang: str
    audio_package: str
    text_package: str
    voice_folder: str     # inside the audio package, ending in "/"
    transcripts: str      # the gzipped "name: text" list inside the text package
    voice: str            # the corpus voice name
    licence: str
    skipped: tuple[str, ...] = ()   # prompt-name prefixes left out (folders of lone letters)


PROMPT_SETS = {
    "en": PromptSet(
        "en", f"deb:asterisk-core-sounds-en-g722={VERSION}", f"deb:asterisk-core-sounds-en={VERSION}",
        "usr/share/asterisk/sounds/en_US_f_Allison/",
        "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz", "asterisk-en-allison",
        "Asterisk core sounds (Debian asterisk-core-sounds-en-g722 1.6.1-1), recorded by "
        "Allison Smith: CC BY-SA 3.0"),
    "es": PromptSet(
        "es", f"deb:asterisk-core-sounds-es-g722={VERSION}", f"deb:asterisk-core-sounds-es={VERSION}",
        "usr/share/asterisk/sounds/es_MX_f_Allison/",
        "usr/share/doc/asterisk-core-sounds-es/core-sounds-es.txt.gz", "asterisk-es-allison",
        "Asterisk core sounds (Debian asterisk-core-sounds-es-g722 1.6.1-1), recorded by "
        "Allison Smith: CC BY-SA 3.0",
        # lone letters: the transcript is the letter, not the name she says ("y", "i griega")
        skipped=("letters/",)),
}
# The English set's names, as the rest of the code base has always read them.
AUDIO_PACKAGE = PROMPT_SETS["en"].audio_package
TEXT_PACKAGE = PROMPT_SETS["en"].text_package
VOICE_FOLDER = PROMPT_SETS["en"].voice_folder
TRANSCRIPTS = PROMPT_SETS["en"].transcripts
VOICE = PROMPT_SETS["en"].voice
LICENCE = PROMPT_SETS["en"].licence

# A prompt outside English is kept when espeak-ng's reading of its transcript, before it is
# warped (165 words a minute), lasts 0.5-1.1 times the recording's own speech (its frames within
# 35 dB of its loudest). Allison reads more slowly than espeak-ng: the median is 0.69, and
# 90 % of the Spanish prompts sit at 0.47-0.89. Below 0.5 are lone words and spelled letters
# whose reading is not what she says ("y" read as "i", not "i griega"); above 1.1, transcripts
# longer than their recording.
PACE_RANGE = (0.5, 1.1)

# The espeak-ng voice whose reading is warped onto a language's prompts: the talker's variety.
ESPEAK_VOICE = {"es": "es-419"}


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
    """True when a transcript is words only: no digits, no bracketed sound description ("[beep]",
    "(beep)")."""
    return bool(re.search(r"[A-Za-z]", said)) and not re.search(r"[\d\[\]()]", said)


def utterance_id(name: str) -> str:
    """A file-safe id from a prompt name ("digits/h-6" -> "digits__h-6")."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name.replace("/", "__"))


def speech_seconds(audio: np.ndarray, rate: int = SAMPLE_RATE, floor_db: float = 35.0) -> float:
    """Seconds from the first to the last 20 ms frame within ``floor_db`` of the loudest one."""
    hop = int(0.02 * rate)
    frames = audio[:len(audio) // hop * hop].reshape(-1, hop)
    if not len(frames):
        return 0.0
    level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    if level.max() < -90:                 # digital silence: no speech at all
        return 0.0
    loud = np.flatnonzero(level > level.max() - floor_db)
    return (loud[-1] - loud[0] + 1) * hop / rate


def pace_ok(reading_s: float, audio: np.ndarray) -> bool:
    """True when a reading of ``reading_s`` seconds of speech lasts :data:`PACE_RANGE` times the
    recording's."""
    spoken = speech_seconds(audio)
    return reading_s > 0 and spoken > 0 and PACE_RANGE[0] <= reading_s / spoken <= PACE_RANGE[1]


def import_asterisk(out: Path, cache: Path | None = None,
                    names: tuple[str, ...] | None = None, lang: str = "en",
                    schwa: bool = False) -> int:
    """Write the labelled prompts of ``lang`` (all, or only ``names``) to
    ``<out>/<lang>/<voice>/``; return how many. ``schwa`` (English only): unstressed AH written
    "AH0", as the held-out labels are (``align_audio(schwa=True)``)."""
    if schwa and lang != "en":
        raise ValueError("--schwa marks English schwas from CMUdict; drop it for --lang "
                         f"{lang} (its labels are IPA already).")
    if lang not in PROMPT_SETS:
        raise ValueError(f"Asterisk prompts are imported for {', '.join(PROMPT_SETS)}, not {lang!r}.")
    ps = PROMPT_SETS[lang]
    cache = Path(cache) if cache else Path(out) / ".packages"
    audio_files = _deb_files(fetch_deb(ps.audio_package, cache))
    text_files = _deb_files(fetch_deb(ps.text_package, cache))
    table = transcripts(gzip.decompress(text_files["./" + ps.transcripts]).decode("utf-8", "replace"))
    if lang == "en":
        decoder = _decoder()
        label = lambda audio, said: align_audio(audio, said, decoder, schwa=schwa)  # noqa: E731
        engine, notation = "pocketsphinx-align", "arpabet"
        how = "pocketsphinx 5.1.1 forced alignment"
    else:
        from .arctic import _SynthesisAligner
        aligner = _SynthesisAligner(ESPEAK_VOICE)

        def label(audio: np.ndarray, said: str) -> list[tuple[str, float, float]]:
            phones = aligner(audio, said, lang)
            if not pace_ok(aligner.last_reading_s, audio):
                raise ValueError("the reading's length does not match the recording's; left out")
            return phones
        engine, notation = "espeak-ng-warp", "ipa"
        how = aligner.describe(lang)
    written = 0
    # In file-name order, as ``corpus align`` reads a folder: pocketsphinx keeps some state
    # between utterances, so the order can move a boundary by a frame or two.
    for name, said in sorted(table.items(), key=lambda item: utterance_id(item[0]) + ".wav"):
        member = "./" + ps.voice_folder + name + ".g722"
        if (member not in audio_files or not plain_words(said) or name.startswith(ps.skipped)
                or (names and name not in names)):
            continue
        audio, rate = _read_audio(audio_files[member], member)
        assert rate == SAMPLE_RATE          # 16-bit samples / 32768: what the wav will hold
        try:
            phones = label(audio, said)
        except (ValueError, RuntimeError) as exc:
            LOG.warning("%s: %s", name, exc)
            continue
        write_utterance(out, Utterance(
            id=utterance_id(name), text=said, lang=lang, voice=ps.voice,
            engine=engine, notation=notation, audio=audio,
            sample_rate=SAMPLE_RATE, phones=phones, licence=ps.licence,
            extra={"labels": how,
                   "recording": f"{ps.audio_package}:{ps.voice_folder}{name}.g722",
                   "speaker": "asterisk-allison"}))
        written += 1
    write_manifest(out)
    return written
