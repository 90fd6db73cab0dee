"""What every command shares: quiet-by-default logging, one-line errors and exit codes.

Exit codes: 0 done, 1 failure (one line on stderr, a traceback only with --verbose), 2 usage.
Used by the runtime's own commands and by ``python -m inference`` (which adds the quieting of
transformers in inference/commands/common.py).

Imports: standard library only (so usage errors stay fast). Ships in the extension.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
import warnings

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line arguments: exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises UsageError (one line) instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}; see '{self.prog} --help'.")


def tune_runtime() -> None:
    """Process settings that must exist before torch loads its OpenMP runtime.

    OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning. When the cores are
    shared (Blender busy beside the worker, other jobs on a server) spinning threads fight the
    other processes and a 2-thread run was measured 4 to 8 times slower than a 1-thread one;
    passive threads cost next to nothing here because the head runs its windows on threads of
    its own with one OpenMP thread each. A value the user set is kept.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def setup_logging(verbose: bool) -> None:
    """Logs to stderr: warnings and worse by default, everything with --verbose."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s", force=True)
    if not verbose:
        warnings.filterwarnings("ignore")
    for noisy in ("urllib3", "filelock", "huggingface_hub", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def one_line(exc: BaseException) -> str:
    """A single line for a person: the exception's message, newlines folded."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text


def fail(prog: str, exc: BaseException, verbose: bool, expected: bool) -> int:
    """Report ``exc`` on stderr and return the failure exit code."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    if expected:
        print(f"{prog}: {one_line(exc)}", file=sys.stderr)
    else:
        print(f"{prog}: internal error ({type(exc).__name__}: {one_line(exc)}); run again with "
              "--verbose for details.", file=sys.stderr)
    return EXIT_FAILURE
