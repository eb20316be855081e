"""``openai:MODEL``: a vision-language model explains the classifier's decision in words.

Sends the photo and its Grad-CAM overlay (or the side-by-side panel, or the numbered-marks
overlay) with the prompt of :mod:`core.explainers.prompts` to any OpenAI-compatible Chat
Completions endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio, llama.cpp server, the
OpenAI-compatible endpoints of Gemini and Claude) through the official ``openai`` SDK.

Every call is cached and logged in DuckDB (:mod:`core.explainers.vlm_cache`); the same request
twice costs nothing. Retries (429, 5xx, timeouts, connection errors; Retry-After honoured) are
done here, with the SDK's own retries off, so their behaviour is explicit and testable.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import io
import json
import logging
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.errors import ExplainerError
from core.explainers.base import ExplainRequest, Explanation
from core.explainers.prompts import (
    LANGS,
    PromptBuilder,
    PromptRegion,
    StructuredAnswerError,
    parse_structured,
    render_objects,
)
from core.explainers.vlm_cache import (
    DEFAULT_BASE_URL,
    VLMCache,
    cache_key,
    estimate_cost,
    public_base_url,
)

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

IMAGE_MODES = ("pair", "panel", "marks")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
LOCAL_DUMMY_KEY = "not-needed"
RETRY_AFTER_CAP_S = 120.0
PREFLIGHT_TIMEOUT_S = 5.0
# Reasoning models take max_completion_tokens (hidden reasoning counts against it) and no
# temperature; this many extra tokens are allowed for their reasoning.
REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4")
REASONING_ALLOWANCE = 4000
# Hosts whose /models route authenticates differently from their OpenAI-compatible chat route:
# a 401 there does not mean the key is wrong.
MODELS_AUTH_DIFFERS = ("anthropic.com",)


def read_dotenv(path: str | Path = ".env") -> dict[str, str]:
    """``KEY=VALUE`` pairs of a .env file (``export``, quotes and ``#`` comments allowed)."""
    values: dict[str, str] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return values
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name.strip()] = value
    return values


def is_local_url(base_url: str | None) -> bool:
    """True for an endpoint on this machine (no API key needed)."""
    if not base_url:
        return False
    host = (urlsplit(base_url).hostname or "").lower()
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def png_data_url(image: Image.Image, max_side: int) -> tuple[str, bytes]:
    """Resize ``image`` so its long side is at most ``max_side``; return (data URL, PNG bytes)."""
    from PIL import Image as PILImage

    image = image.convert("RGB")
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, PILImage.Resampling.LANCZOS)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    data = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), data


class _RateLimiter:
    """Spaces request starts at least ``60 / rpm`` seconds apart across threads."""

    def __init__(self, rpm: float | None) -> None:
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass
class _Prepared:
    """One request turned into what is sent: prompt, images and the cache key."""

    index: int
    request: ExplainRequest
    prompt: str
    image_urls: list[str]
    image_hashes: list[str]
    key: str
    regions: list[PromptRegion] = field(default_factory=list)


@dataclass
class _CallResult:
    status: str  # ok | refused | empty | error
    text: str = ""
    error: str | None = None
    response: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    latency_s: float = 0.0


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OpenAIExplainer:
    """Explain decisions with a vision-language model behind an OpenAI-compatible endpoint.

    Registered as ``openai``: ``load_explainer("openai:gpt-4o", base_url=..., structured=True)``.
    ``lang`` ("ja" or "en") picks the prompt and the language of every answer.
    The API key comes from ``api_key``, ``OPENAI_API_KEY`` or ``./.env``; a localhost endpoint
    needs none. ``retry_base_delay``/``retry_max_delay`` shape the exponential backoff. With
    ``preflight`` (default) the constructor checks the endpoint answers and raises a one-line
    :class:`ExplainerError` if not; otherwise the check runs before the first uncached call.
    ``limiter`` (an object with ``wait()``, called before each request) and ``cache`` (a
    :class:`VLMCache`-like context manager with ``get``/``record``/``warning``, entered per
    batch) replace the per-process rate limiter and call cache, e.g. by ones shared by a whole
    Ray job (:mod:`core.jobs.ray_limits`); ``no_cache`` still turns caching off.
    """

    def __init__(
        self,
        model: str | None,
        lang: str = "ja",
        base_url: str | None = None,
        prompt_template: str | Path | None = None,
        structured: bool = False,
        image_mode: str = "pair",
        max_side: int = 512,
        concurrency: int = 4,
        rpm: float | None = None,
        timeout: float = 60,
        max_retries: int = 5,
        no_cache: bool = False,
        api_key: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 600,
        retry_base_delay: float = 1.0,
        retry_max_delay: float = 30.0,
        preflight: bool = True,
        limiter: Any = None,
        cache: Any = None,
    ) -> None:
        if not model or not str(model).strip():
            raise ExplainerError(
                "the openai explainer needs a model name: use --explainer openai:MODEL "
                "(e.g. openai:gpt-4o, or the model name your --base-url server serves)"
            )
        if lang not in LANGS:
            raise ExplainerError(f"unsupported language {lang!r}: use one of {', '.join(LANGS)}")
        if image_mode not in IMAGE_MODES:
            raise ExplainerError(
                f"unknown image mode {image_mode!r}: use one of {', '.join(IMAGE_MODES)}"
            )
        for name, value in (("max_side", max_side), ("concurrency", concurrency)):
            if int(value) < 1:
                raise ExplainerError(f"{name} must be at least 1 (got {value})")
        if max_side < 32:
            raise ExplainerError(f"max_side must be at least 32 pixels (got {max_side})")
        if timeout is not None and float(timeout) <= 0:
            raise ExplainerError(f"timeout must be positive seconds (got {timeout})")
        if int(max_retries) < 0:
            raise ExplainerError(f"max_retries must be 0 or more (got {max_retries})")
        if rpm is not None and float(rpm) <= 0:
            raise ExplainerError(f"rpm must be positive (got {rpm})")

        self.model = str(model).strip()
        self.name = f"openai:{self.model}"
        self.lang = lang
        self.structured = bool(structured)
        self.image_mode = image_mode
        self.max_side = int(max_side)
        self.concurrency = int(concurrency)
        self.rpm = float(rpm) if rpm else None
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.no_cache = bool(no_cache)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.retry_base_delay = float(retry_base_delay)
        self.retry_max_delay = float(retry_max_delay)
        self.prompts = PromptBuilder(prompt_template, structured=self.structured)

        dotenv = read_dotenv(Path.cwd() / ".env")
        self.base_url = (
            base_url or os.environ.get("OPENAI_BASE_URL") or dotenv.get("OPENAI_BASE_URL") or None
        )
        key = api_key or os.environ.get("OPENAI_API_KEY") or dotenv.get("OPENAI_API_KEY")
        if not key:
            if is_local_url(self.base_url):
                key = LOCAL_DUMMY_KEY
            else:
                raise ExplainerError(
                    f"no API key for {public_base_url(self.base_url)}: set OPENAI_API_KEY "
                    "(environment or a .env file in the current directory), or use --base-url "
                    "for a local server"
                )
        self._key = key
        self.public_url = public_base_url(self.base_url)
        self._client = self._make_client()
        self._limiter = limiter if limiter is not None else _RateLimiter(self.rpm)
        self._cache = cache
        self._preflight_done = False
        self._warned_cache = False
        if preflight:  # fail at construction, before any photo is processed
            self.preflight()

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIExplainer(model={self.model!r}, base_url={self.public_url!r})"

    def _make_client(self):
        import openai

        # The SDK's HTTP layer logs every request at INFO; keep the CLI output to our summary.
        for name in ("httpx2", "httpx"):
            http_log = logging.getLogger(name)
            if http_log.level == logging.NOTSET:
                http_log.setLevel(logging.WARNING)

        return openai.OpenAI(
            api_key=self._key,
            base_url=self.base_url or DEFAULT_BASE_URL,
            timeout=self.timeout,
            max_retries=0,
        )

    # ------------------------------------------------------------------ public API

    @property
    def params(self) -> dict[str, Any]:
        """Request parameters that change the answer (part of the cache key)."""
        return {
            "temperature": None if self._is_reasoning else self.temperature,
            "max_tokens": self.max_tokens,
            "structured": self.structured,
            "image_mode": self.image_mode,
            "max_side": self.max_side,
        }

    @property
    def _is_reasoning(self) -> bool:
        name = self.model.lower().rsplit("/", 1)[-1]
        return name.startswith(REASONING_PREFIXES)

    def preflight(self) -> None:
        """Check the endpoint answers (GET /models, short timeout); raise a one-line error if not.

        404 (no /models route) and other non-auth errors count as reachable.
        """
        import openai

        client = self._client.with_options(
            timeout=min(self.timeout, PREFLIGHT_TIMEOUT_S), max_retries=0
        )
        try:
            client.models.list()
        except openai.AuthenticationError:
            host = (urlsplit(self.public_url).hostname or "").lower()
            if host.endswith(MODELS_AUTH_DIFFERS):
                self._preflight_done = True  # it answered; the first call checks the key
                return
            raise ExplainerError(
                f"{self.public_url} rejected the API key (HTTP 401): check OPENAI_API_KEY "
                "(environment or ./.env)"
            ) from None
        except openai.APITimeoutError:
            raise ExplainerError(
                f"no answer from {self.public_url} within {min(self.timeout, PREFLIGHT_TIMEOUT_S):g} s: "
                "check that the server is running and --base-url / OPENAI_BASE_URL"
            ) from None
        except openai.APIConnectionError:
            raise ExplainerError(
                f"cannot reach {self.public_url}: check that the server is running and "
                "--base-url / OPENAI_BASE_URL (and your network)"
            ) from None
        except (openai.APIStatusError, ValueError):
            pass  # it answered: reachable
        self._preflight_done = True

    def explain_batch(self, requests: Sequence[ExplainRequest]) -> list[Explanation]:
        """Explain each request concurrently; a failed item gets ``error``, never an exception.

        Raises :class:`ExplainerError` only before any call, when the endpoint is unusable.
        """
        if not requests:
            return []
        started = time.monotonic()
        results: list[Explanation | None] = [None] * len(requests)
        workers = max(1, min(self.concurrency, len(requests)))
        cache = self._batch_cache()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wordcam-vlm") as pool:
            prepared: list[_Prepared] = []
            for i, outcome in enumerate(
                pool.map(self._prepare_safely, range(len(requests)), requests)
            ):
                if isinstance(outcome, Explanation):
                    results[i] = outcome
                else:
                    prepared.append(outcome)
            with cache:
                if cache.warning and not self._warned_cache:
                    log.warning(cache.warning)
                    self._warned_cache = True
                misses: list[_Prepared] = []
                duplicates: dict[str, list[_Prepared]] = {}  # same photo twice: one call
                for item in prepared:
                    hit = cache.get(item.key)
                    if hit is not None:
                        results[item.index] = Explanation(
                            text=hit.text, details=dict(hit.details), cached=True
                        )
                    elif item.key in duplicates:
                        duplicates[item.key].append(item)
                    else:
                        duplicates[item.key] = []
                        misses.append(item)
                if misses and not self._preflight_done:
                    self.preflight()
                for item, explanation in zip(
                    misses,
                    pool.map(lambda it: self._call_and_record(it, cache), misses),
                    strict=True,
                ):
                    results[item.index] = explanation
                    for twin in duplicates[item.key]:
                        results[twin.index] = Explanation(
                            text=explanation.text,
                            error=explanation.error,
                            details=dict(explanation.details),
                            cached=explanation.error is None,
                        )
        final = [
            r if r is not None else Explanation(text="", error="not processed") for r in results
        ]
        self._log_summary(final, len(misses), time.monotonic() - started)
        return final

    def _batch_cache(self) -> VLMCache:
        """The call cache of one batch: the one given at construction, or the default file."""
        if self._cache is not None and not self.no_cache:
            return self._cache
        return VLMCache(enabled=not self.no_cache)

    # ------------------------------------------------------------------ preparation

    def _prepare_safely(self, index: int, request: ExplainRequest) -> _Prepared | Explanation:
        try:
            return self._prepare(index, request)
        except Exception as exc:  # one bad image never stops the batch
            return Explanation(text="", error=f"could not prepare the request: {_one_line(exc)}")

    def _prepare(self, index: int, request: ExplainRequest) -> _Prepared:
        import numpy as np

        from core import render

        lang = self.lang
        image = request.image.convert("RGB")
        cam = np.asarray(request.cam, dtype=np.float32)
        if cam.ndim != 2:
            raise ValueError(f"cam must be a 2-D map, got shape {cam.shape}")
        regions: list[PromptRegion] = []
        if self.image_mode == "pair":
            images = [image, render.overlay(image, cam)]
        elif self.image_mode == "panel":
            images = [render.panel(image, cam)]
        else:
            from core.regions import find_regions, position_name

            found = find_regions(cam, max_regions=5)
            images = [image, render.marks_overlay(image, cam, regions=found)]
            regions = [
                PromptRegion(
                    index=int(r.index),
                    position=position_name(r.position, lang),
                    percent=round(float(r.heat_share) * 100),
                    bbox=tuple(int(v) for v in r.bbox),
                )
                for r in found
            ]
        urls, blobs = zip(*(png_data_url(im, self.max_side) for im in images), strict=True)
        prompt = self.prompts.render(
            task=request.task or "",
            label=request.label,
            lang=lang,
            predictions=request.predictions,
            image_mode=self.image_mode,
            regions=regions,
        )
        key = cache_key(self.model, self.public_url, prompt, blobs, self.params)
        return _Prepared(
            index=index,
            request=request,
            prompt=prompt,
            image_urls=list(urls),
            image_hashes=[hashlib.sha256(b).hexdigest() for b in blobs],
            key=key,
            regions=regions,
        )

    # ------------------------------------------------------------------ calling

    def _call_and_record(self, item: _Prepared, cache: VLMCache) -> Explanation:
        try:
            result = self._call_with_retries(item)
        except Exception as exc:  # defensive: a bug in one item must not sink the batch
            result = _CallResult(status="error", error=f"unexpected error: {_one_line(exc)}")
        result.error = self._scrub(result.error)
        result.text = self._scrub(result.text) or ""
        result.response = self._scrub(result.response)
        usage = result.usage
        cost = estimate_cost(self.model, usage.get("prompt_tokens"), usage.get("completion_tokens"))
        details: dict[str, Any] = {
            **result.details,
            "model": self.model,
            "base_url": self.public_url,
            "image_mode": self.image_mode,
            "prompt": item.prompt,
            "status": result.status,
            "finish_reason": result.finish_reason,
            "usage": usage,
            "latency_s": round(result.latency_s, 3),
            "attempts": result.attempts,
            "cost_usd": cost,
        }
        if self._key != LOCAL_DUMMY_KEY and self._key in json.dumps(details, ensure_ascii=False):
            details = json.loads(json.dumps(details, ensure_ascii=False).replace(self._key, "***"))
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
        try:
            cache.record(
                {
                    "cache_key": item.key,
                    "model": self.model,
                    "base_url": self.public_url,
                    "prompt": item.prompt,
                    "params": self.params,
                    "image_hashes": item.image_hashes,
                    "request_key": item.request.key or None,
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
                    "cost_usd": cost,
                }
            )
        except Exception as exc:  # the answer matters more than its log line
            log.warning("could not write the VLM cache: %s", _one_line(exc))
        if result.status != "ok":
            return Explanation(text="", error=result.error or result.status, details=details)
        return Explanation(text=result.text, details=details)

    def _request_kwargs(self, item: _Prepared) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": item.prompt}]
        content += [{"type": "image_url", "image_url": {"url": url}} for url in item.image_urls]
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": content}],
        }
        if self._is_reasoning:
            kwargs["max_completion_tokens"] = self.max_tokens + REASONING_ALLOWANCE
        else:
            kwargs["max_tokens"] = self.max_tokens
            kwargs["temperature"] = self.temperature
        return kwargs

    def _call_with_retries(self, item: _Prepared) -> _CallResult:
        kwargs = self._request_kwargs(item)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self._limiter.wait()
            try:
                response = self._client.chat.completions.create(**kwargs)
            except Exception as exc:
                failure = _classify(exc)
                if isinstance(failure, _Retryable) and attempt <= self.max_retries:
                    delay = self._backoff(attempt, failure.retry_after)
                    log.debug("%s: %s; retry %d in %.2f s", self.name, failure, attempt, delay)
                    time.sleep(delay)
                    continue
                message = str(failure)
                if isinstance(failure, _Retryable):
                    message += f" (gave up after {attempt} attempts)"
                return _CallResult(
                    status="error",
                    error=message,
                    attempts=attempt,
                    latency_s=time.monotonic() - started,
                )
            result = self._interpret(response)
            result.attempts = attempt
            result.latency_s = time.monotonic() - started
            return result

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), RETRY_AFTER_CAP_S)
        delay = min(self.retry_max_delay, self.retry_base_delay * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)

    def _interpret(self, response: Any) -> _CallResult:
        usage = {}
        raw_usage = getattr(response, "usage", None)
        if raw_usage is not None:
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                value = getattr(raw_usage, name, None)
                if isinstance(value, int):
                    usage[name] = value
        choices = getattr(response, "choices", None) or []
        if not choices:
            return _CallResult(
                status="error", error="the server answered without choices", usage=usage
            )
        choice = choices[0]
        finish = getattr(choice, "finish_reason", None)
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None) if message is not None else None
        refusal = getattr(message, "refusal", None) if message is not None else None
        if not isinstance(content, str):
            content = "" if content is None else str(content)
        base = {"finish_reason": finish, "usage": usage, "response": content or None}
        if refusal:
            return _CallResult(
                status="refused", error=f"the model refused: {_one_line(refusal, 200)}", **base
            )
        if finish == "content_filter":
            return _CallResult(
                status="refused", error="the answer was blocked by the content filter", **base
            )
        text = content.strip()
        if not text:
            return _CallResult(
                status="empty", error=f"empty answer (finish_reason={finish})", **base
            )
        if self.structured:
            try:
                objects = parse_structured(text)
            except StructuredAnswerError as exc:
                return _CallResult(
                    status="error",
                    error=f"invalid structured answer: {exc}",
                    details={"raw_text": text},
                    **base,
                )
            return _CallResult(
                status="ok",
                text=render_objects(objects, self.lang),
                details={"objects": objects},
                **base,
            )
        return _CallResult(status="ok", text=text, **base)

    # ------------------------------------------------------------------ helpers

    def _scrub(self, value: str | None) -> str | None:
        """Remove the API key from text that is stored or shown (servers may echo it)."""
        if value and self._key and self._key != LOCAL_DUMMY_KEY and self._key in value:
            return value.replace(self._key, "***")
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


def _classify(exc: Exception) -> Exception:
    """Map an SDK/HTTP exception to a retryable or final one-line failure."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return _Retryable("request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return _Retryable(f"connection error ({_one_line(exc.__cause__ or exc, 120)})")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _error_message(exc)
        if status == 429 or status == 408 or status == 409 or status >= 500:
            return _Retryable(f"HTTP {status}: {detail}", _retry_after(exc.response.headers))
        hint = {
            401: "; check OPENAI_API_KEY",
            403: "; the key lacks access to this model",
            404: "; check the model name and --base-url",
        }.get(status, "")
        return RuntimeError(f"HTTP {status}: {detail}{hint}")
    if isinstance(exc, ValueError):  # json.JSONDecodeError and friends: a malformed body
        return RuntimeError(f"malformed response from the server ({_one_line(exc, 120)})")
    return RuntimeError(f"{type(exc).__name__}: {_one_line(exc)}")


def _error_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return _one_line(inner["message"], 200)
        if isinstance(inner, str):
            return _one_line(inner, 200)
    return _one_line(getattr(exc, "message", None) or exc, 200)


def _retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date), if any."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _one_line(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
