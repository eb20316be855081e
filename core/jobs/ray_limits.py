"""Job-wide limits for API explainers under Ray: one request rate and one call cache.

Each Ray actor holds its own explainer, so the explainer's own ``rpm`` limiter and its DuckDB
call cache would be per process: N actors would send N times the rate, and the cache file
admits one writing process (the others would run uncached and pay again on a rerun). Here both
become one Ray actor each, shared by the whole job:

- :class:`RateLimit` (actor ``wordcam-rate-limit``) spaces request starts ``60 / rpm`` seconds
  apart over the whole job; each explainer's limiter (``limiter=``, a :class:`SharedLimiter`)
  asks it for a start time.
- :class:`CacheService` (actor ``wordcam-vlm-cache``, on the driver's node, where the cache
  file lives) holds the one connection to :mod:`core.explainers.vlm_cache`; each explainer
  reads and records through its ``cache=``, a :class:`RemoteCache` (``VLMCache``'s interface).

Concurrency (requests in flight) is split: each actor's explainer gets
``max(1, concurrency // actors)`` threads, so the whole job never has more than
``concurrency`` calls open when ``actors <= concurrency``.

Ray is imported only inside functions.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.jobs.settings import JobSettings

RATE_LIMIT_NAME = "wordcam-rate-limit"
CACHE_NAME = "wordcam-vlm-cache"
DEFAULT_CONCURRENCY = 4  # the openai explainer's default ``concurrency``


class RateLimit:
    """Hands out request start times at least ``60 / rpm`` s apart (plain, thread-safe)."""

    def __init__(self, rpm: float | None) -> None:
        self.interval = 60.0 / float(rpm) if rpm else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self.granted = 0

    def reserve(self) -> float:
        """Reserve the next start slot; returns the seconds the caller must wait before it."""
        with self._lock:
            self.granted += 1
            if not self.interval:
                return 0.0
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
            return start - now

    def count(self) -> int:
        """How many starts were granted so far."""
        return self.granted


class SharedLimiter:
    """The openai explainer's ``limiter=`` for a whole job: ``wait()`` asks the job's actor."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def wait(self) -> None:
        import ray

        delay = ray.get(self.handle.reserve.remote())
        if delay > 0:
            time.sleep(delay)


def start_rate_limit(rpm: float | None) -> Any:
    """The job's rate-limit actor (created, or the running one of this namespace)."""
    import ray

    actor = ray.remote(num_cpus=0, max_concurrency=64)(RateLimit)
    return actor.options(name=RATE_LIMIT_NAME, get_if_exists=True).remote(rpm)


class CacheService:
    """The one open :class:`core.explainers.vlm_cache.VLMCache` of the job."""

    def __init__(self, path: str | None = None) -> None:
        from core.explainers.vlm_cache import VLMCache

        self.cache = VLMCache(path)
        self.cache.open()

    def warning(self) -> str | None:
        return self.cache.warning

    def get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        hit = self.cache.get(key)
        return None if hit is None else (hit.text, hit.details)

    def record(self, entry: dict[str, Any]) -> None:
        self.cache.record(entry)

    def close(self) -> None:
        self.cache.close()


def start_cache_service(path: str | None = None) -> Any:
    """The job's cache actor, pinned to the calling (driver's) node."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from core.explainers.vlm_cache import cache_path

    path = str(path or cache_path())  # the driver's setting, not the worker's environment
    here = ray.get_runtime_context().get_node_id()
    actor = ray.remote(num_cpus=0, max_concurrency=1)(CacheService)
    return actor.options(
        name=CACHE_NAME,
        get_if_exists=True,
        scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False),
    ).remote(path)


class RemoteCache:
    """``VLMCache``'s interface (context manager, ``get``, ``record``) over the cache actor."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.warning: str | None = None
        self.enabled = True

    def __enter__(self) -> RemoteCache:
        import ray

        self.warning = ray.get(self.handle.warning.remote())
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def get(self, key: str):
        import ray

        from core.explainers.vlm_cache import CachedAnswer

        hit = ray.get(self.handle.get.remote(key))
        return None if hit is None else CachedAnswer(text=hit[0], details=dict(hit[1]))

    def record(self, entry: dict[str, Any]) -> None:
        import ray

        ray.get(self.handle.record.remote(entry))


@dataclass
class JobLimits:
    """The handles of the job's rate-limit and cache actors (either may be None)."""

    rate_limit: Any = None
    cache: Any = None

    def stop(self) -> None:
        """Close the cache file and end both actors."""
        import ray

        if self.cache is not None:
            ray.get(self.cache.close.remote())
        for handle in (self.rate_limit, self.cache):
            if handle is not None:
                ray.kill(handle)


def start_limits(settings: JobSettings) -> JobLimits | None:
    """The job-wide limits of an ``openai:`` explainer (None for any other explainer)."""
    if not str(settings.explainer).startswith("openai:"):
        return None
    options = settings.explainer_options
    cache = None if options.get("no_cache") else start_cache_service()
    return JobLimits(start_rate_limit(options.get("rpm")), cache)


def shared_explainer_options(
    settings: JobSettings, limits: JobLimits | None, actors: int
) -> dict[str, Any]:
    """Extra loader options giving an actor's ``openai`` explainer the job's limits.

    Its public seams (:class:`core.explainers.openai_vlm.OpenAIExplainer`'s ``limiter=`` and
    ``cache=``) take the job's rate limit and call cache; its ``concurrency`` becomes this
    actor's share of the job's. Empty for other explainers.
    """
    if limits is None:
        return {}
    concurrency = int(settings.explainer_options.get("concurrency", DEFAULT_CONCURRENCY))
    shared: dict[str, Any] = {"concurrency": max(1, concurrency // max(1, int(actors)))}
    if limits.rate_limit is not None:
        shared["limiter"] = SharedLimiter(limits.rate_limit)
    if limits.cache is not None:
        shared["cache"] = RemoteCache(limits.cache)
    return shared
