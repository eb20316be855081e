"""Talking to an OpenAI-compatible endpoint: the client, the reachability check, retries and
the rate limit.

The client is built and the endpoint first asked on first use, never when an explainer is
made. Retries (429, 408, 409, 5xx, timeouts, connection errors; ``Retry-After`` honoured) are
done here, with the SDK's own retries off, so their behaviour is explicit and testable.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core.errors import ExplainerError
from core.explainers.openai_response import one_line
from core.explainers.openai_settings import OpenAISettings
from core.explainers.vlm_cache import DEFAULT_BASE_URL

log = logging.getLogger(__name__)

RETRY_AFTER_CAP_S = 120.0
PREFLIGHT_TIMEOUT_S = 5.0
# Hosts whose /models route authenticates differently from their OpenAI-compatible chat route:
# a 401 there does not mean the key is wrong.
MODELS_AUTH_DIFFERS = ("anthropic.com",)


class RateLimiter:
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
class Sent:
    """The outcome of one request with its retries: the SDK response, or a one-line error."""

    response: Any = None
    error: str | None = None
    attempts: int = 0
    latency_s: float = 0.0


class Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Transport:
    """One endpoint: a lazily built SDK client, a once-only check, and chat calls with retries.

    ``limiter`` (an object with ``wait()``) replaces the per-process :class:`RateLimiter`.
    """

    def __init__(self, settings: OpenAISettings, limiter: Any = None) -> None:
        self.settings = settings
        self.limiter = limiter if limiter is not None else RateLimiter(settings.rpm)
        self._client: Any = None
        self._lock = threading.Lock()
        self.checked = not settings.preflight  # no check wanted: nothing to wait for

    @property
    def client(self) -> Any:
        """The SDK client, built on first use (building it asks nothing of the network)."""
        with self._lock:
            if self._client is None:
                self._client = _make_client(self.settings)
            return self._client

    def check(self) -> None:
        """Check once that the endpoint answers (GET /models, short timeout).

        Raises a one-line :class:`ExplainerError` if it does not; 404 (no /models route) and
        other non-auth errors count as reachable.
        """
        if self.checked:
            return
        import openai

        s = self.settings
        wait = min(s.timeout, PREFLIGHT_TIMEOUT_S)
        try:
            self.client.with_options(timeout=wait, max_retries=0).models.list()
        except openai.AuthenticationError:
            host = (urlsplit(s.public_url).hostname or "").lower()
            if not host.endswith(MODELS_AUTH_DIFFERS):  # else it answered: the call checks the key
                raise ExplainerError(
                    f"{s.public_url} rejected the API key (HTTP 401): check OPENAI_API_KEY "
                    "(environment or ./.env)"
                ) from None
        except openai.APITimeoutError:
            raise ExplainerError(
                f"no answer from {s.public_url} within {wait:g} s: "
                "check that the server is running and --base-url / OPENAI_BASE_URL"
            ) from None
        except openai.APIConnectionError:
            raise ExplainerError(
                f"cannot reach {s.public_url}: check that the server is running and "
                "--base-url / OPENAI_BASE_URL (and your network)"
            ) from None
        except (openai.APIStatusError, ValueError):
            pass  # it answered: reachable
        self.checked = True

    def send(self, kwargs: dict[str, Any]) -> Sent:
        """One chat completion with ``kwargs``, retried as the settings say; never raises."""
        s = self.settings
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self.limiter.wait()
            try:
                response = self.client.chat.completions.create(**kwargs)
            except Exception as exc:
                failure = classify(exc)
                if isinstance(failure, Retryable) and attempt <= s.max_retries:
                    delay = backoff(s, attempt, failure.retry_after)
                    log.debug("%s: %s; retry %d in %.2f s", s.name, failure, attempt, delay)
                    time.sleep(delay)
                    continue
                message = str(failure)
                if isinstance(failure, Retryable):
                    message += f" (gave up after {attempt} attempts)"
                return Sent(error=message, attempts=attempt, latency_s=time.monotonic() - started)
            return Sent(response=response, attempts=attempt, latency_s=time.monotonic() - started)


def _make_client(settings: OpenAISettings) -> Any:
    import openai

    # The SDK's HTTP layer logs every request at INFO; keep the CLI output to our summary.
    for name in ("httpx2", "httpx"):
        http_log = logging.getLogger(name)
        if http_log.level == logging.NOTSET:
            http_log.setLevel(logging.WARNING)
    return openai.OpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url or DEFAULT_BASE_URL,
        timeout=settings.timeout,
        max_retries=0,
    )


def backoff(settings: OpenAISettings, attempt: int, retry_after: float | None) -> float:
    """Seconds before retry ``attempt``: the server's ``Retry-After``, else jittered doubling."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_AFTER_CAP_S)
    delay = min(settings.retry_max_delay, settings.retry_base_delay * 2 ** (attempt - 1))
    return delay * (0.5 + random.random() / 2)


def classify(exc: Exception) -> Exception:
    """Map an SDK/HTTP exception to a retryable or final one-line failure."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return Retryable("request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return Retryable(f"connection error ({one_line(exc.__cause__ or exc, 120)})")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _error_message(exc)
        if status == 429 or status == 408 or status == 409 or status >= 500:
            return Retryable(f"HTTP {status}: {detail}", retry_after(exc.response.headers))
        hint = {
            401: "; check OPENAI_API_KEY",
            403: "; the key lacks access to this model",
            404: "; check the model name and --base-url",
        }.get(status, "")
        return RuntimeError(f"HTTP {status}: {detail}{hint}")
    if isinstance(exc, ValueError):  # json.JSONDecodeError and friends: a malformed body
        return RuntimeError(f"malformed response from the server ({one_line(exc, 120)})")
    return RuntimeError(f"{type(exc).__name__}: {one_line(exc)}")


def _error_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return one_line(inner["message"], 200)
        if isinstance(inner, str):
            return one_line(inner, 200)
    return one_line(getattr(exc, "message", None) or exc, 200)


def retry_after(headers: Any) -> float | None:
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
