"""Long held-out clips: a corpus's real clips of one language joined end to end, with their phones.

    python scripts/long_heldout.py --in data/heldout --out data/heldout-long [--seconds 45 60 75]
        [--split valid|test] [--stagger]

Why: every held-out clip is shorter than Whisper's 30 s window, so the evaluation never sees how
the encoder's windows of long audio are planned (overlap, margins, where a window is cut). Each
output clip takes the language's clips in manifest order, 0.4 s of silence apart (repeating the
list when it runs out), until it reaches the asked length, so a window edge falls inside real
speech. Phone times are shifted with the audio; the gaps are "sil". Written in the corpus format
(split "test"), so ``python -m inference evaluate --data DIR`` scores it like any held-out set.
``--split`` joins only that split's clips and keeps their split, so a choice about long audio
can be made on valid clips alone (``evaluate --split valid``). ``--stagger`` starts each length at
a different clip, so the windows' seams fall on different speech in each joined clip.

Imports: numpy, inference.corpus.format.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.corpus.format import (SAMPLE_RATE, Utterance, read_utterance,  # noqa: E402
                                     write_manifest, write_utterance)

GAP_S = 0.4


def join(clips: list[tuple[dict, np.ndarray]], seconds: float,
         first: int = 0) -> tuple[np.ndarray, list]:
    """Audio and phones of ``clips`` joined from clip ``first`` on (repeated as needed) up to
    ``seconds``."""
    pieces, phones, t, i = [], [], 0.0, first
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)
    while t < seconds:
        record, audio = clips[i % len(clips)]
        i += 1
        if pieces:
            pieces.append(gap)
            phones.append(["sil", t, t + len(gap) / SAMPLE_RATE])
            t += len(gap) / SAMPLE_RATE
        pieces.append(audio)
        phones += [[s, t + float(a), t + float(b)] for s, a, b in record["phones"]]
        t += len(audio) / SAMPLE_RATE
    return np.concatenate(pieces), phones


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in", dest="inp", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seconds", type=float, nargs="+", default=[45.0, 60.0, 75.0])
    parser.add_argument("--split", choices=("valid", "test"), default=None,
                        help="join only this split's clips (default: every clip, written as test)")
    parser.add_argument("--stagger", action="store_true",
                        help="start each length at a different clip (seams on different speech)")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in
            (args.inp / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line]
    rows = [row for row in rows if args.split is None or row.get("split") == args.split]
    if not rows:
        raise SystemExit(f"{args.inp} has no {args.split} clips; build them with make heldout.")
    by_lang: dict[str, list] = {}
    for row in rows:
        by_lang.setdefault(row["lang"], []).append(read_utterance(args.inp / row["json"]))
    for lang, clips in sorted(by_lang.items()):
        notation = clips[0][0]["notation"]
        clips = [c for c in clips if c[0]["notation"] == notation]
        for k, seconds in enumerate(args.seconds):
            first = k * len(clips) // len(args.seconds) if args.stagger else 0
            audio, phones = join(clips, seconds, first)
            write_utterance(args.out, Utterance(
                id=f"{lang}_long_{int(seconds)}", text=f"{lang} held-out clips joined",
                lang=lang, voice="joined", engine="human", notation=notation, audio=audio,
                sample_rate=SAMPLE_RATE, phones=[tuple(p) for p in phones],
                licence="the joined clips' own (see their source corpus)",
                split=args.split or "test"))
    print(f"{write_manifest(args.out)} clips in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
