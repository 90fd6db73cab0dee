"""The errors the runtime raises, each with one sentence for a person as its message.

The torch side (inference/) raises the same classes, so the worker maps any of them to a
protocol error code in one place (lipsync_runtime.worker).

Imports: standard library only. Ships in the extension.
"""
from __future__ import annotations


class ModelError(Exception):
    """A model folder that is missing, invalid or does not match this program."""


class EncoderError(Exception):
    """A speech encoder could not be loaded or run."""


class Cancelled(Exception):
    """A job was cancelled by its caller (its ``cancel`` callable returned True)."""
