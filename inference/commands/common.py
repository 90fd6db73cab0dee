"""What every ``python -m inference`` command shares: the runtime's CLI helpers, plus quieting
transformers and the Hugging Face hub, which only the torch side loads.

Imports: standard library, lipsync_runtime.cli_common (transformers only when already imported).
"""
from __future__ import annotations

import os
import sys

from lipsync_runtime.cli_common import (EXIT_FAILURE, EXIT_OK, EXIT_USAGE, OneLineParser,  # noqa: F401
                                        UsageError, fail, one_line, tune_runtime)
from lipsync_runtime.cli_common import setup_logging as _setup_runtime_logging


def setup_logging(verbose: bool) -> None:
    """Logs to stderr: warnings and worse by default, everything with --verbose."""
    _setup_runtime_logging(verbose)
    if verbose:
        return
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")   # no tqdm bars on stderr
    if "transformers" in sys.modules:          # already imported: the env is read too late
        from transformers.utils import logging as hf_logging
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
