"""The inference worker's log file and what its exit status means, for the add-on's messages.

The worker's stderr is copied into a log file in the extension's user folder (one per worker
start; the previous one kept as ``worker.log.1``) so a crash message can say where to look,
and Open Log in the preferences can show it. Nothing here touches bpy.

Imports: standard library only.
"""
from __future__ import annotations

import logging
import os
import re
import signal
from typing import Any

log = logging.getLogger(__name__)

# A Python traceback's last line: "SomeError: message".
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit))(: ?(.*))?$")


def open_log(path: str) -> Any:
    """The worker log, started afresh (the previous one kept as ``.1``); None if unwritable."""
    if not path:
        return None
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        if os.path.exists(path):
            os.replace(path, path + ".1")
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        log.warning("Cannot write the worker log %s (%s)", path, exc)
        return None


def describe_exit(code: int | None, lines: list[str]) -> str:
    """What an exit status (and the log's last exception line) says happened, as a clause."""
    if code is None:
        what = "it stopped answering"
    elif code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = f"it was killed by {name}"
        if -code == getattr(signal, "SIGKILL", 9):
            what += " (often the system running out of memory)"
    elif code == 0:
        what = "it exited without an error"
    else:
        what = f"it exited with code {code}"
    errors = [m for m in (_EXCEPTION_LINE.match(line.strip()) for line in lines) if m]
    if errors:
        error = errors[-1].group(0)
        what += f" after {error[:157] + '...' if len(error) > 160 else error}"
    return what
