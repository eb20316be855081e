"""Work done off the script thread: one background worker and a memo of futures it fills."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import streamlit as st

_SUBMITTED: list[Future] = []


@st.cache_resource(show_spinner=False)
def _worker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="wordcam-bg")


def background_busy() -> bool:
    """Whether a background computation (prefetch, cross-validation) is running or queued."""
    _SUBMITTED[:] = [f for f in _SUBMITTED if not f.done()]
    return bool(_SUBMITTED)


class Memo:
    """A thread-safe memo of futures: each key is computed once, inline or in the background.

    Unlike ``st.cache_resource`` it can be filled from the background thread (prefetching) and
    waited on from the script thread. Holds at most ``size`` keys (oldest evicted); a failed
    computation is forgotten so that the next call retries.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple, Future] = OrderedDict()

    def get(self, key: tuple, compute: Callable[[], Any], background: bool = False) -> Future:
        """The future of ``key``, computing it (here, or on the worker) if no one has yet."""
        with self.lock:
            future = self.items.get(key)
            owner = future is None
            if owner:
                future = self.items[key] = Future()
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
            else:
                self.items.move_to_end(key)
        if owner:
            if background:
                _SUBMITTED.append(_worker().submit(self._run, key, future, compute))
            else:
                self._run(key, future, compute)
        return future

    def ready(self, key: tuple) -> bool:
        """Whether ``key`` has been computed (successfully or not)."""
        future = self.items.get(key)
        return future is not None and future.done()

    def _run(self, key: tuple, future: Future, compute: Callable[[], Any]) -> None:
        try:
            future.set_result(compute())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            with self.lock:
                if self.items.get(key) is future:
                    del self.items[key]
            future.set_exception(exc)
