"""``python -m inference phones PHONES -o OUT [--fps F]``: the text-assisted engine.

Reads phone timings (from TTS or a forced alignment) and writes mouth curves in the
``lipsync-curves/1`` format (.json, .csv or .npz by the output's extension). Inputs:

- ``.json``: {"notation": "ipa"|"arpabet"|"openjtalk", "lang": "en"|"ja",
  "phones": [[symbol, start_s, end_s], ...], "duration": seconds (optional)};
- ``.lab`` (HTK): "start end label" per line in 100 ns units; the label may be an Open JTalk
  full-context label (the phone between '-' and '+' is used); also the xlabel format of
  Festival / CMU ARCTIC ("end_s 125 phone" after a "#" line);
- ``.tsv`` / ``.txt`` / ``.csv``: "symbol<TAB>start<TAB>end" or "start<TAB>end<TAB>symbol" in
  seconds (tabs, commas or spaces; '#' comments and a header line are skipped).

``--notation auto`` (the default) takes the JSON's notation, reads full-context labels as
Open JTalk, and otherwise tries Open JTalk, ARPAbet, then IPA.

Imports: standard library, numpy, lipsync_core and this package.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

from lipsync_core.curves import Curves, CurvesError, write_curves
from lipsync_core.params import FRAME_RATE_HZ, PARAM_NAMES

from . import curves_from_phones
from .phones import NOTATIONS, normalize

log = logging.getLogger(__name__)

HTK_UNITS = 1e-7                 # seconds per HTK time unit (100 ns)
_FULL_CONTEXT = re.compile(r"-([^-+]+)\+")


class InputError(ValueError):
    """A phone file that cannot be read; the message is for a person."""


def _full_context_phone(label: str) -> tuple[str, bool]:
    match = _FULL_CONTEXT.search(label)
    return (match.group(1), True) if match else (label, False)


def read_lab(text: str) -> tuple[list[tuple[str, float, float]], bool]:
    """HTK label or xlabel text -> (phones, is_full_context)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "#" in lines:                                       # xlabel: header, '#', "end 125 ph"
        phones, start = [], 0.0
        for ln in lines[lines.index("#") + 1:]:
            parts = ln.split()
            if len(parts) < 3:
                raise InputError(f"The xlabel line {ln!r} needs 'end_seconds colour phone'.")
            end = float(parts[0])
            phones.append((parts[2], start, end))
            start = end
        return phones, False
    phones, full = [], False
    for ln in lines:
        parts = ln.split(maxsplit=2)
        if len(parts) != 3:
            raise InputError(f"The label line {ln!r} needs 'start end label' (100 ns units).")
        try:
            start, end = int(parts[0]) * HTK_UNITS, int(parts[1]) * HTK_UNITS
        except ValueError:
            raise InputError(f"The label line {ln!r} does not start with two integer times "
                             "in 100 ns units.") from None
        label, is_full = _full_context_phone(parts[2])
        full = full or is_full
        phones.append((label, start, end))
    return phones, full


def read_tsv(text: str) -> list[tuple[str, float, float]]:
    """Tab (or space) separated phones, symbol first or last, times in seconds."""
    phones = []
    for number, ln in enumerate(text.splitlines(), 1):
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        parts = (ln.split("\t") if "\t" in ln else ln.split(",") if "," in ln else ln.split())
        parts = [x.strip() for x in parts]
        if len(parts) != 3:
            raise InputError(f"Line {number} ({ln!r}) needs three fields: symbol, start, end.")
        try:
            try:
                phones.append((parts[2], float(parts[0]), float(parts[1])))
            except ValueError:
                phones.append((parts[0], float(parts[1]), float(parts[2])))
        except ValueError:
            if phones:
                raise InputError(f"Line {number} ({ln!r}) has no times in seconds.") from None
            continue                                       # a header line
    return phones


def read_phone_file(path: Path) -> dict:
    """Any supported phone file -> {"notation": str|None, "lang": str|None, "phones": [...]}."""
    if not path.is_file():
        raise InputError(f"The phone file {str(path)!r} does not exist.")
    text = path.read_text(encoding="utf-8-sig")
    ext = path.suffix.lower()
    if ext == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path.name} is not valid JSON ({exc.msg}, line {exc.lineno}).")
        if not isinstance(data, dict) or not isinstance(data.get("phones"), list):
            raise InputError(f"{path.name} needs a JSON object with a 'phones' list of "
                             "[symbol, start_s, end_s].")
        return {"notation": data.get("notation"), "lang": data.get("lang"),
                "phones": data["phones"], "duration": data.get("duration")}
    if ext == ".lab":
        phones, full = read_lab(text)
        return {"notation": "openjtalk" if full else None, "lang": "ja" if full else None,
                "phones": phones, "duration": None}
    if ext in (".tsv", ".txt", ".csv"):
        return {"notation": None, "lang": None, "phones": read_tsv(text), "duration": None}
    raise InputError(f"Cannot tell the format of {path.name!r}; use .json, .lab or .tsv.")


def guess_notation(phones, lang: str | None) -> str:
    """The first of Open JTalk, ARPAbet, IPA that reads every symbol."""
    errors = []
    for notation in ("openjtalk", "arpabet", "ipa"):
        try:
            normalize(phones, notation, lang)
            return notation
        except ValueError as exc:
            errors.append(str(exc))
    raise InputError("The phones fit no known notation; pass --notation. " + errors[-1])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inference phones",
        description="Phone timings -> mouth curves (the text-assisted engine).")
    parser.add_argument("phones", type=Path, help="phone timings: .json, .lab (HTK) or .tsv")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="curves file to write: .json, .csv or .npz")
    parser.add_argument("--fps", type=float, default=FRAME_RATE_HZ,
                        help=f"frames per second (default {FRAME_RATE_HZ:g})")
    parser.add_argument("--notation", choices=("auto",) + NOTATIONS, default="auto")
    parser.add_argument("--lang", default=None, help="en or ja (default: from the file)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds to cover (default: the last phone's end)")
    parser.add_argument("--no-lead", dest="lead", action="store_false",
                        help="keep the mouth on the sound instead of ahead of it")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        data = read_phone_file(args.phones)
        phones = [tuple(p) for p in data["phones"]]
        lang = args.lang or data.get("lang")
        notation = args.notation if args.notation != "auto" else data.get("notation")
        notation = notation or guess_notation(phones, lang)
        lang = lang or ("ja" if notation == "openjtalk" else "en")
        duration = args.duration if args.duration is not None else data.get("duration")
        if not args.fps > 0:
            raise InputError(f"--fps must be positive; got {args.fps}.")
        frames = curves_from_phones(phones, notation, lang, frame_rate=args.fps,
                                    duration=duration, lead=args.lead)
        curves = Curves(fps=args.fps, start_time=0.0, params=PARAM_NAMES, frames=frames,
                        model={"engine": "articulation", "notation": notation, "lang": lang,
                               "lead": args.lead, "source": args.phones.name})
        write_curves(args.output, curves)
    except (InputError, CurvesError, ValueError) as exc:
        print(f"phones: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({len(frames)} frames at {args.fps:g} fps, {notation}, {lang})")
    return 0
