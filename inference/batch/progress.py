"""Batch progress: a tqdm bar on a terminal, plain lines on stderr otherwise (logs, CI, farms).

Imports: standard library; tqdm when stderr is a terminal.
"""
from __future__ import annotations

import sys
import time
from typing import Any

LOG_EVERY_S = 10.0           # seconds between plain progress lines
LOG_EVERY_FRACTION = 0.1     # ...or each tenth of the run, whichever comes first


class Progress:
    def __init__(self, total: int, label: str = "lines", stream: Any = None) -> None:
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.done = self.failed = 0
        self.t0 = self.last_time = time.monotonic()
        self.last_done = 0
        self.bar = None
        if total and getattr(self.stream, "isatty", lambda: False)():
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, unit="line", file=self.stream, dynamic_ncols=True)
            except ImportError:
                self.bar = None

    def update(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += int(failed)
        if self.bar is not None:
            self.bar.update(1)
            if self.failed:
                self.bar.set_postfix(failed=self.failed)
            return
        now = time.monotonic()
        if self.done == self.total or now - self.last_time >= LOG_EVERY_S or \
                self.done - self.last_done >= max(1, int(self.total * LOG_EVERY_FRACTION)):
            rate = self.done / max(now - self.t0, 1e-9) * 60.0
            print(f"batch: {self.done}/{self.total} {self.label} computed, {self.failed} failed, "
                  f"{rate:.0f} lines/min", file=self.stream, flush=True)
            self.last_time, self.last_done = now, self.done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
