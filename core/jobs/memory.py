"""Keeps a long job's resident memory flat on glibc (returns freed heap pages to the OS)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


class HeapTrimmer:
    """Call once per batch: ``malloc_trim(0)`` when RSS has grown ``limit_mb`` past the first.

    Forward passes over batches of varying shape (e.g. the grounded explainer's region crops,
    2-4 per photo) fragment glibc's heap, and freed memory is kept: resident memory then grows
    by about 1 MB per photo. When RSS has grown more than ``limit_mb`` since the first batch,
    ``malloc_trim(0)`` hands the free pages back (rarely, so the page refaults cost nothing).
    """

    def __init__(self, limit_mb: float = 200.0) -> None:
        self.limit_mb = limit_mb
        self.base_mb: float | None = None
        self.trims = 0
        self._libc: Any = None
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                self._libc = ctypes.CDLL("libc.so.6")
                self._libc.malloc_trim  # noqa: B018 (glibc only: musl has no malloc_trim)
            except (OSError, AttributeError):
                self._libc = None

    @staticmethod
    def rss_mb() -> float | None:
        """This process's resident memory in MB (None where ``/proc`` is missing)."""
        try:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def __call__(self) -> None:
        if self._libc is None or (rss := self.rss_mb()) is None:
            return
        if self.base_mb is None:
            self.base_mb = rss
        elif rss > self.base_mb + self.limit_mb:
            import gc

            gc.collect()
            self._libc.malloc_trim(0)
            self.trims += 1
