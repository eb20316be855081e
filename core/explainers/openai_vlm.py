"""``openai:MODEL``: a vision-language model explains the classifier's decision in words.

Sends the photo and its Grad-CAM overlay (or the side-by-side panel, or the numbered-marks
overlay) with the prompt of :mod:`core.explainers.prompts` to any OpenAI-compatible Chat
Completions endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio, llama.cpp server, the
OpenAI-compatible endpoints of Gemini and Claude) through the official ``openai`` SDK.

The rooms of this explainer, one concern each, next to this file:
:mod:`~core.explainers.openai_settings` (the frozen :class:`OpenAISettings`, checked when made),
:mod:`~core.explainers.openai_transport` (client, reachability check, retries, rate limit),
:mod:`~core.explainers.openai_request` (images, prompt, cache key, request arguments) and
:mod:`~core.explainers.openai_response` (reading an answer). This file batches, caches and logs.

Every call is cached and logged in DuckDB (:mod:`core.explainers.vlm_cache`); the same request
twice costs nothing. Making an explainer asks nothing of the network: the endpoint is checked
(``GET /models``) before the first uncached call, or when a command calls :meth:`check`.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.explainers.base import ExplainRequest, Explanation
from core.explainers.openai_request import (
    Prepared,
    png_data_url,
    prepare,
    prepared,
    request_kwargs,
)
from core.explainers.openai_response import CallResult, interpret, one_line
from core.explainers.openai_settings import OpenAISettings, is_local_url, read_dotenv
from core.explainers.openai_transport import Transport
from core.explainers.prompts import PromptBuilder
from core.explainers.vlm_cache import VLMCache, estimate_cost

__all__ = ["OpenAIExplainer", "OpenAISettings", "is_local_url", "png_data_url", "read_dotenv"]

log = logging.getLogger(__name__)


class OpenAIExplainer:
    """Explain decisions with a vision-language model behind an OpenAI-compatible endpoint.

    Registered as ``openai``: ``load_explainer("openai:gpt-4o", base_url=..., structured=True)``;
    the keyword options are the fields of :class:`OpenAISettings` (``lang``, ``base_url``,
    ``api_key``, ``structured``, ``image_mode``, ``max_side``, ``concurrency``, ``rpm``,
    ``timeout``, ``max_retries``, ``no_cache``, ``temperature``, ``max_tokens``,
    ``retry_base_delay``, ``retry_max_delay``, ``preflight``, ``prompt_template``), resolved by
    :meth:`OpenAISettings.resolve` (the key from ``api_key``, ``OPENAI_API_KEY`` or ``./.env``; a
    localhost endpoint needs none). Or build it from settings: ``OpenAIExplainer.from_settings``.

    Making one asks nothing of the network. With ``preflight`` (default) the endpoint is checked
    once before the first uncached call, or earlier when a command calls :meth:`check`; a
    one-line :class:`ExplainerError` says what to fix.
    ``limiter`` (an object with ``wait()``, called before each request) and ``cache`` (a
    :class:`VLMCache`-like context manager with ``get``/``record``/``warning``, entered per
    batch) replace the per-process rate limiter and call cache, e.g. by ones shared by a whole
    Ray job (:mod:`core.jobs.ray_limits`); ``no_cache`` still turns caching off.
    """

    def __init__(
        self, model: str | None, *, limiter: Any = None, cache: Any = None, **options: Any
    ) -> None:
        self._setup(OpenAISettings.resolve(model, **options), limiter, cache)

    @classmethod
    def from_settings(
        cls, settings: OpenAISettings, *, limiter: Any = None, cache: Any = None
    ) -> OpenAIExplainer:
        """An explainer running with ``settings`` as they are (no environment read)."""
        explainer = cls.__new__(cls)
        explainer._setup(settings, limiter, cache)
        return explainer

    def _setup(self, settings: OpenAISettings, limiter: Any, cache: Any) -> None:
        self.settings = settings
        self.prompts = PromptBuilder(settings.prompt_template, structured=settings.structured)
        self.transport = Transport(settings, limiter)
        self._cache = cache
        self._warned_cache = False

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIExplainer(model={self.model!r}, base_url={self.public_url!r})"

    def __getattr__(self, name: str) -> Any:
        """The settings' values read as attributes (``ex.model``, ``ex.max_side``, ...)."""
        if name != "settings" and "settings" in self.__dict__:
            settings = self.__dict__["settings"]
            if name in OpenAISettings.__dataclass_fields__ and name != "api_key":
                return getattr(settings, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def public_url(self) -> str:
        return self.settings.public_url

    @property
    def params(self) -> dict[str, Any]:
        """Request parameters that change the answer (part of the cache key)."""
        return self.settings.params

    # ------------------------------------------------------------------ public API

    def check(self) -> None:
        """Check the endpoint answers, once (GET /models); a one-line ExplainerError if not."""
        self.transport.check()

    preflight = check

    def explain_batch(self, requests: Sequence[ExplainRequest]) -> list[Explanation]:
        """Explain each request concurrently; a failed item gets ``error``, never an exception.

        Raises :class:`ExplainerError` only before any call, when the endpoint is unusable.
        """
        if not requests:
            return []
        started = time.monotonic()
        results: list[Explanation | None] = [None] * len(requests)
        workers = max(1, min(self.settings.concurrency, len(requests)))
        cache = self._batch_cache()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wordcam-vlm") as pool:
            items: list[Prepared] = []
            for i, outcome in enumerate(
                pool.map(self._prepare_safely, range(len(requests)), requests)
            ):
                if isinstance(outcome, Explanation):
                    results[i] = outcome
                else:
                    items.append(outcome)
            with cache:
                self._warn_once(cache)
                misses, twins = self._from_cache(items, cache, results)
                if misses:
                    self.check()
                answers = pool.map(lambda it: self._call_and_record(it, cache), misses)
                for item, answer in zip(misses, answers, strict=True):
                    results[item.index] = answer
                    for twin in twins[item.key]:
                        results[twin.index] = Explanation(
                            text=answer.text,
                            error=answer.error,
                            details=dict(answer.details),
                            cached=answer.error is None,
                        )
        final = [
            r if r is not None else Explanation(text="", error="not processed") for r in results
        ]
        self._log_summary(final, len(misses), time.monotonic() - started)
        return final

    def ask(self, prompt: str, image_urls: Sequence[str], cache: Any) -> Explanation:
        """One free-form question with images (PNG data URLs), through ``cache`` and its log.

        The seam other rooms use (the report's ward paragraphs): a cached answer when there is
        one, else one checked, retried and recorded call. Never raises for a failed call.
        """
        blobs = [base64.b64decode(u.split(",", 1)[1]) for u in image_urls]
        item = prepared(self.settings, prompt, image_urls, blobs)
        hit = cache.get(item.key)
        if hit is not None:
            return Explanation(text=hit.text, details=dict(hit.details), cached=True)
        self.check()
        return self._call_and_record(item, cache)

    # ------------------------------------------------------------------ batch steps

    def _batch_cache(self) -> VLMCache:
        """The call cache of one batch: the one given at construction, or the default file."""
        if self._cache is not None and not self.settings.no_cache:
            return self._cache
        return VLMCache(enabled=not self.settings.no_cache)

    def _warn_once(self, cache: Any) -> None:
        if cache.warning and not self._warned_cache:
            log.warning(cache.warning)
            self._warned_cache = True

    @staticmethod
    def _from_cache(
        items: list[Prepared], cache: Any, results: list[Explanation | None]
    ) -> tuple[list[Prepared], dict[str, list[Prepared]]]:
        """Fill cache hits into ``results``; the misses to call, and their twins in this batch."""
        misses: list[Prepared] = []
        twins: dict[str, list[Prepared]] = {}  # same photo twice: one call
        for item in items:
            hit = cache.get(item.key)
            if hit is not None:
                results[item.index] = Explanation(
                    text=hit.text, details=dict(hit.details), cached=True
                )
            elif item.key in twins:
                twins[item.key].append(item)
            else:
                twins[item.key] = []
                misses.append(item)
        return misses, twins

    def _prepare_safely(self, index: int, request: ExplainRequest) -> Prepared | Explanation:
        try:
            return prepare(self.settings, self.prompts, index, request)
        except Exception as exc:  # one bad image never stops the batch
            return Explanation(text="", error=f"could not prepare the request: {one_line(exc)}")

    def _call(self, item: Prepared) -> CallResult:
        sent = self.transport.send(request_kwargs(self.settings, item))
        if sent.error is not None:
            return CallResult(status="error", error=sent.error, attempts=sent.attempts,
                              latency_s=sent.latency_s)  # fmt: skip
        result = interpret(sent.response, self.settings.structured, self.settings.lang)
        result.attempts, result.latency_s = sent.attempts, sent.latency_s
        return result

    def _call_and_record(self, item: Prepared, cache: Any) -> Explanation:
        try:
            result = self._call(item)
        except Exception as exc:  # defensive: a bug in one item must not sink the batch
            result = CallResult(status="error", error=f"unexpected error: {one_line(exc)}")
        result.error = self._scrub(result.error)
        result.text = self._scrub(result.text) or ""
        result.response = self._scrub(result.response)
        details = self._details(item, result)
        self._record(cache, item, result, details)
        if result.status != "ok":
            return Explanation(text="", error=result.error or result.status, details=details)
        return Explanation(text=result.text, details=details)

    def _details(self, item: Prepared, result: CallResult) -> dict[str, Any]:
        s, usage = self.settings, result.usage
        details: dict[str, Any] = {
            **result.details,
            "model": s.model,
            "base_url": s.public_url,
            "image_mode": s.image_mode,
            "prompt": item.prompt,
            "status": result.status,
            "finish_reason": result.finish_reason,
            "usage": usage,
            "latency_s": round(result.latency_s, 3),
            "attempts": result.attempts,
            "cost_usd": estimate_cost(
                s.model, usage.get("prompt_tokens"), usage.get("completion_tokens")
            ),
        }
        if s.secret and s.secret in json.dumps(details, ensure_ascii=False):
            details = json.loads(json.dumps(details, ensure_ascii=False).replace(s.secret, "***"))
        if item.regions:
            details["regions"] = [
                {
                    "index": r.index,
                    "position": r.position,
                    "percent": r.percent,
                    "bbox": list(r.bbox),
                }
                for r in item.regions
            ]
        return details

    def _record(
        self, cache: Any, item: Prepared, result: CallResult, details: dict[str, Any]
    ) -> None:
        s, usage = self.settings, result.usage
        try:
            cache.record(
                {
                    "cache_key": item.key,
                    "model": s.model,
                    "base_url": s.public_url,
                    "prompt": item.prompt,
                    "params": s.params,
                    "image_hashes": item.image_hashes,
                    "request_key": item.request_key,
                    "status": result.status,
                    "error": result.error,
                    "response": result.response,
                    "text": result.text,
                    "details": details,
                    "finish_reason": result.finish_reason,
                    "prompt_tokens": usage.get("prompt_tokens"),
                    "completion_tokens": usage.get("completion_tokens"),
                    "total_tokens": usage.get("total_tokens"),
                    "latency_s": result.latency_s,
                    "attempts": result.attempts,
                    "cost_usd": details["cost_usd"],
                }
            )
        except Exception as exc:  # the answer matters more than its log line
            log.warning("could not write the VLM cache: %s", one_line(exc))

    # ------------------------------------------------------------------ helpers

    def _scrub(self, value: str | None) -> str | None:
        """Remove the API key from text that is stored or shown (servers may echo it)."""
        secret = self.settings.secret
        if value and secret and secret in value:
            return value.replace(secret, "***")
        return value

    def _log_summary(self, results: list[Explanation], requested: int, elapsed: float) -> None:
        hits = sum(1 for r in results if r.cached)
        failed = sum(1 for r in results if r.error)
        tokens = sum(int(r.details.get("usage", {}).get("total_tokens") or 0)
                     for r in results if not r.cached)  # fmt: skip
        costs = [r.details.get("cost_usd") for r in results if not r.cached]
        known = [c for c in costs if c is not None]
        cost = f"${sum(known):.4f}" if known else "unknown"
        log.info(
            "%s: %d images, %d requests, %d cache hits, %d failed, %d tokens, est. cost %s, %.1f s",
            self.name, len(results), requested, hits, failed, tokens, cost, elapsed,
        )  # fmt: skip
