"""A progress bar (tqdm on stderr) and log lines for the verification job."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger(__name__)


class Progress:
    """Counts (word, photo) items; a tqdm bar when ``show``, else a log line every 10 s."""

    def __init__(self, total: int, show: bool) -> None:
        self.total, self.done = total, 0
        self._last = time.monotonic()
        self.bar = None
        if show:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="photo-word", file=sys.stderr, mininterval=1.0)

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif time.monotonic() - self._last > 10.0 or self.done >= self.total:
            self._last = time.monotonic()
            log.info("verify: %d/%d photo-words measured", self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
