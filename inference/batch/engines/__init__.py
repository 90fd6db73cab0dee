"""Batch engines: ``local`` (worker processes on this machine) and ``ray`` (a Ray cluster).

Both take the same packs of task dicts (inference.batch.packing) and report each line through
the same callback, every outcome made by inference.batch.work.run_pack, so their outputs are
identical.
"""


class EngineError(Exception):
    """The engine cannot run at all (the model does not load, Ray is missing); one sentence."""
