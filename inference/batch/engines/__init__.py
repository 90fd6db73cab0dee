"""Batch engines: ``local`` (worker processes on this machine) and ``ray`` (a Ray cluster).

Both take the same task dicts and report through the same callback, each outcome made by
inference.batch.work.run_line, so their outputs are identical.
"""


class EngineError(Exception):
    """The engine cannot run at all (the model does not load, Ray is missing); one sentence."""
