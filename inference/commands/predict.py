"""``python -m inference predict AUDIO -o OUT``: one speech file -> one curves file.

Owns the command line of a single prediction: argument checks, output format by extension
(.json, .csv, .npz; see lipsync_core.curves), atomic writing, exit codes (0 done, 1 failure
with one line on stderr, 2 usage).

Runs the runtime model (ONNX Runtime) by default; ``--backend torch`` or a training checkpoint in
``--model`` runs the torch engine (inference/commands/backend.py).

Imports: inference.commands.{common, backend}; lipsync_core and lipsync_runtime lazily.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from .backend import DEVICES, add_backend_argument, open_engine
from .common import (EXIT_OK, EXIT_USAGE, OneLineParser, UsageError, fail, one_line,
                     setup_logging, tune_runtime)

PROG = "python -m inference predict"
log = logging.getLogger(__name__)


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog=PROG, description="Turn a speech recording into the 26 mouth "
                           "curves (a .json, .csv or .npz file).")
    parser.add_argument("audio", help="speech file (WAV, FLAC, OGG, MP3)")
    parser.add_argument("-o", "--output", required=True, help="curves file: .json, .csv or .npz")
    parser.add_argument("--fps", type=float, default=None,
                        help="frames per second of the output (default: the model's 50)")
    parser.add_argument("--model", default=None,
                        help="runtime model folder (default: assets/runtime), or a training "
                             "checkpoint (runs with torch)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto takes a GPU when one works (CUDA, DirectML, CoreML), else the CPU")
    add_backend_argument(parser)
    parser.add_argument("--start", type=float, default=None, help="seconds into the file")
    parser.add_argument("--end", type=float, default=None, help="seconds into the file")
    parser.add_argument("--verbose", action="store_true", help="log details and tracebacks")
    return parser


def _check(args) -> None:
    if Path(args.output).suffix.lower() not in (".json", ".csv", ".npz"):
        raise UsageError(f"The output {args.output!r} must end in .json, .csv or .npz.")
    if args.fps is not None and not (0 < args.fps <= 1000):
        raise UsageError(f"--fps must be between 0 and 1000; got {args.fps:g}.")
    if args.start is not None and args.start < 0:
        raise UsageError(f"--start must be zero or positive; got {args.start:g}.")
    if args.end is not None and args.end <= (args.start or 0.0):
        raise UsageError(f"--end ({args.end:g}) must come after --start ({args.start or 0:g}).")


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check(args)
    except UsageError as exc:
        print(f"{PROG}: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    tune_runtime()
    setup_logging(args.verbose)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except Exception as exc:                                   # noqa: BLE001 - CLI boundary
        return fail(PROG, exc, args.verbose, expected=_expected(exc))


def _expected(exc: Exception) -> bool:
    """Errors whose message is written for a person (not a bug)."""
    from lipsync_core.curves import CurvesError

    from lipsync_runtime.audio import AudioError
    from lipsync_runtime.errors import EncoderError, ModelError
    return isinstance(exc, (AudioError, ModelError, EncoderError, CurvesError, FileNotFoundError))


def _run(args) -> int:
    audio = Path(args.audio)
    output = Path(args.output)
    if audio.is_dir():
        raise FileNotFoundError(f"{str(audio)!r} is a folder, not an audio file; give one file "
                                "(python -m inference batch reads many).")
    if not audio.is_file():
        raise FileNotFoundError(f"The audio file {str(audio)!r} does not exist; check the path.")
    if not output.parent.resolve().is_dir():
        raise FileNotFoundError(f"The output folder {str(output.parent)!r} does not exist; "
                                "create it first.")
    from lipsync_core.curves import write_curves

    from lipsync_runtime.audio import audio_duration
    audio_duration(audio)                      # unreadable audio fails before the model loads

    t0 = time.perf_counter()
    engine = open_engine(args.model, args.device, args.backend)
    t1 = time.perf_counter()
    curves = engine.predict(audio, start=args.start, end=args.end, fps=args.fps)
    write_curves(output, curves)
    t2 = time.perf_counter()
    log.info("model loaded in %.2f s, predicted in %.2f s", t1 - t0, t2 - t1)
    print(f"wrote {output} ({curves.num_frames} frames at {curves.fps:g} fps, "
          f"{curves.duration:.2f} s, {engine.device_description})")
    return EXIT_OK
