"""Response cache and call log of vision-language explainers (DuckDB, in the user's cache dir).

Every call to a VLM endpoint is one row of ``vlm_calls``: the request summary (prompt text,
model, base URL without credentials, parameters, image hashes), the response text, finish
reason, token usage, latency, estimated cost, status (ok/refused/empty/error) and timestamp.
A row with status ``ok`` also serves as the cached answer for its ``cache_key``, a SHA-256 of
(model, base URL, prompt, image bytes, parameters). The API key is never part of the key or
of any stored value.

Its connections are offline like the DB's (:mod:`core.store.connect`: no DuckDB extension
downloaded or loaded, a file that is not DuckDB's refused). DuckDB allows one writing
process: the explainer opens the cache for the duration of a batch
and serialises its worker threads with a lock. If another process holds the file, caching is
switched off for that batch with a one-line warning.

The file's schema (under numbered migrations) and its statements are the store's
(:mod:`core.store.vlm_calls`); this module keeps the caching logic.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

CACHE_FILE = "vlm_cache.duckdb"
DEFAULT_BASE_URL = "https://api.openai.com/v1"

# Estimated USD per 1M tokens (input, output); prefix match on the model name, longest first.
PRICES_PER_1M: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.0-flash": (0.10, 0.40),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-haiku-4": (1.00, 5.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
}


def cache_dir() -> Path:
    """``$WORDCAM_CACHE_DIR``, else ``$XDG_CACHE_HOME/wordcam``, else ``~/.cache/wordcam``."""
    if env := os.environ.get("WORDCAM_CACHE_DIR"):
        return Path(env).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "wordcam"
    return Path.home() / ".cache" / "wordcam"


def cache_path() -> Path:
    """Path of the VLM cache database."""
    return cache_dir() / CACHE_FILE


def public_base_url(base_url: str | None) -> str:
    """The endpoint URL safe to store: no user:password, query string or fragment."""
    if not base_url:
        return DEFAULT_BASE_URL
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def estimate_cost(
    model: str, prompt_tokens: int | None, completion_tokens: int | None
) -> float | None:
    """Estimated USD cost of one call, or ``None`` for a model not in :data:`PRICES_PER_1M`."""
    name = model.lower().rsplit("/", 1)[-1]
    for prefix in sorted(PRICES_PER_1M, key=len, reverse=True):
        if name.startswith(prefix):
            price_in, price_out = PRICES_PER_1M[prefix]
            return ((prompt_tokens or 0) * price_in + (completion_tokens or 0) * price_out) / 1e6
    return None


def cache_key(
    model: str, base_url: str, prompt: str, images: Sequence[bytes], params: dict[str, Any]
) -> str:
    """SHA-256 identifying a request (never includes the API key)."""
    digest = hashlib.sha256()
    header = {"model": model, "base_url": base_url, "prompt": prompt, "params": params}
    digest.update(json.dumps(header, sort_keys=True, ensure_ascii=False).encode())
    for blob in images:
        digest.update(b"\x00image\x00")
        digest.update(hashlib.sha256(blob).digest())
    return digest.hexdigest()


@dataclass
class CachedAnswer:
    """A previously successful answer."""

    text: str
    details: dict[str, Any]


class VLMCache:
    """Thread-safe access to the cache/log DB for the duration of a batch (use as a context)."""

    def __init__(self, path: str | Path | None = None, enabled: bool = True) -> None:
        self.path = Path(path) if path else cache_path()
        self.enabled = enabled
        self._con = None
        self._lock = threading.Lock()
        self.warning: str | None = None

    def __enter__(self) -> VLMCache:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open (and create) the DB; on a lock held elsewhere, disable caching with a warning."""
        if not self.enabled or self._con is not None:
            return
        import duckdb

        from core.store.vlm_calls import open_cache

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = open_cache(self.path)
        except (duckdb.Error, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.warning = (
                f"VLM cache {self.path} unavailable ({first[:160]}); continuing without caching"
            )
            self._con = None
            return
        self._con = con

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def get(self, key: str) -> CachedAnswer | None:
        """The latest successful answer stored under ``key``, if any."""
        from core.store.vlm_calls import latest_answer

        if self._con is None:
            return None
        with self._lock:
            row = latest_answer(self._con, key)
        if row is None:
            return None
        details = json.loads(row.details) if row.details else {}
        return CachedAnswer(text=row.text or "", details=details)

    def record(self, entry: dict[str, Any]) -> None:
        """Append one call to the log (``entry`` keys are ``vlm_calls`` column names)."""
        from core.store.vlm_calls import record_call

        if self._con is None:
            return
        with self._lock:
            record_call(self._con, entry)


def usage_summary(
    since_days: float | None = None, path: str | Path | None = None
) -> dict[str, Any]:
    """Totals per model from the call log (read-only): calls, statuses, tokens, estimated cost.

    Raises :class:`~core.errors.DataError` when the cache is held by a running job.
    """
    import duckdb

    from core.errors import DataError
    from core.store.connect import foreign_file
    from core.store.vlm_calls import read_cache, usage_by_model

    db = Path(path) if path else cache_path()
    result: dict[str, Any] = {"cache": str(db), "since_days": since_days, "models": [], "total": {}}
    empty_total = {"calls": 0, "ok": 0, "failed": 0, "prompt_tokens": 0, "completion_tokens": 0,
                   "cost_usd": None, "unpriced_calls": 0}  # fmt: skip
    if not db.exists():
        result["total"] = empty_total
        return result
    try:
        con = read_cache(db)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = "a job may be writing it, try again when it finishes"
        if foreign_file(db) is not None:
            hint = "move it away (wordcam makes a new cache)"
        raise DataError(f"cannot read the VLM cache {db} ({first[:120]}); {hint}") from None
    try:
        rows = usage_by_model(con, since_days)
    finally:
        con.close()
    models = []
    for row in rows:
        item = row._asdict()
        item["first_call"] = item["first_call"].isoformat(timespec="seconds")
        item["last_call"] = item["last_call"].isoformat(timespec="seconds")
        models.append(item)
    total = dict(empty_total)
    for item in models:
        for k in ("calls", "ok", "failed", "prompt_tokens", "completion_tokens", "unpriced_calls"):
            total[k] += int(item[k])
        if item["cost_usd"] is not None:
            total["cost_usd"] = (total["cost_usd"] or 0.0) + float(item["cost_usd"])
    result["models"] = models
    result["total"] = total
    return result
