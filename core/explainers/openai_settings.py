"""The settings of the ``openai:MODEL`` explainer: one frozen object, checked when made.

:meth:`OpenAISettings.resolve` reads what the user gave, then ``OPENAI_BASE_URL`` /
``OPENAI_API_KEY`` from the environment or ``./.env``. Nothing here touches the network: the
endpoint is first asked when the explainer is first used (:mod:`core.explainers.openai_transport`).
Every error is one line that says what to change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.errors import ExplainerError
from core.explainers.vlm_cache import public_base_url
from core.languages import DEFAULT_LANG, LANGUAGES

IMAGE_MODES = ("pair", "panel", "marks")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
LOCAL_DUMMY_KEY = "not-needed"
# Reasoning models take max_completion_tokens (hidden reasoning counts against it) and no
# temperature; this many extra tokens are allowed for their reasoning.
REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4")
REASONING_ALLOWANCE = 4000


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


@dataclass(frozen=True)
class OpenAISettings:
    """Everything the ``openai`` explainer runs with; invalid values raise :class:`ExplainerError`.

    Build it with :meth:`resolve` (environment and ``.env`` included), or directly when every
    value is known (``api_key`` then must be given, or ``base_url`` be local).
    """

    model: str
    lang: str = DEFAULT_LANG
    base_url: str | None = None
    api_key: str = field(default="", repr=False)
    prompt_template: str | Path | None = None
    structured: bool = False
    image_mode: str = "pair"
    max_side: int = 512
    concurrency: int = 4
    rpm: float | None = None
    timeout: float = 60.0
    max_retries: int = 5
    no_cache: bool = False
    temperature: float = 0.0
    max_tokens: int = 600
    retry_base_delay: float = 1.0
    retry_max_delay: float = 30.0
    preflight: bool = True

    def __post_init__(self) -> None:
        model = str(self.model or "").strip()
        if not model:
            raise ExplainerError(
                "the openai explainer needs a model name: use --explainer openai:MODEL "
                "(e.g. openai:gpt-4o, or the model name your --base-url server serves)"
            )
        _check_choice("language", self.lang, LANGUAGES)
        _check_choice("image mode", self.image_mode, IMAGE_MODES)
        _at_least("max_side", self.max_side, 32, " pixels")
        _at_least("concurrency", self.concurrency, 1)
        _at_least("max_retries", self.max_retries, 0)
        _at_least("max_tokens", self.max_tokens, 1)
        _positive("timeout", self.timeout, " seconds")
        if self.rpm is not None:
            _positive("rpm", self.rpm)
        _at_least("retry_base_delay", self.retry_base_delay, 0, " seconds")
        _at_least("retry_max_delay", self.retry_max_delay, 0, " seconds")
        set_ = object.__setattr__  # normalise the types once, here
        set_(self, "model", model)
        set_(self, "max_side", int(self.max_side))
        set_(self, "concurrency", int(self.concurrency))
        set_(self, "max_retries", int(self.max_retries))
        set_(self, "max_tokens", int(self.max_tokens))
        set_(self, "timeout", float(self.timeout))
        set_(self, "rpm", float(self.rpm) if self.rpm else None)
        set_(self, "temperature", float(self.temperature))
        set_(self, "retry_base_delay", float(self.retry_base_delay))
        set_(self, "retry_max_delay", float(self.retry_max_delay))
        for name in ("structured", "no_cache", "preflight"):
            set_(self, name, bool(getattr(self, name)))
        if not self.api_key:
            if not is_local_url(self.base_url):
                raise ExplainerError(
                    f"no API key for {public_base_url(self.base_url)}: set OPENAI_API_KEY "
                    "(environment or a .env file in the current directory), or use --base-url "
                    "for a local server"
                )
            set_(self, "api_key", LOCAL_DUMMY_KEY)

    @classmethod
    def resolve(cls, model: str | None, **options: Any) -> OpenAISettings:
        """Settings from the caller's options, then the environment, then ``./.env``."""
        unknown = sorted(set(options) - set(cls.__dataclass_fields__) - {"model"})
        if unknown:
            raise ExplainerError(
                f"the openai explainer has no option {', '.join(map(repr, unknown))}: "
                f"use {', '.join(f for f in cls.__dataclass_fields__ if f != 'model')}"
            )
        dotenv = read_dotenv(Path.cwd() / ".env")
        base_url = (
            options.pop("base_url", None)
            or os.environ.get("OPENAI_BASE_URL")
            or dotenv.get("OPENAI_BASE_URL")
            or None
        )
        api_key = (
            options.pop("api_key", None)
            or os.environ.get("OPENAI_API_KEY")
            or dotenv.get("OPENAI_API_KEY")
            or ""
        )
        return cls(model=model or "", base_url=base_url, api_key=api_key, **options)

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    @property
    def public_url(self) -> str:
        """The endpoint without credentials, as shown and stored."""
        return public_base_url(self.base_url)

    @property
    def secret(self) -> str | None:
        """The key to scrub from stored text (``None`` for a local endpoint's dummy key)."""
        return self.api_key if self.api_key != LOCAL_DUMMY_KEY else None

    @property
    def is_reasoning(self) -> bool:
        name = self.model.lower().rsplit("/", 1)[-1]
        return name.startswith(REASONING_PREFIXES)

    @property
    def params(self) -> dict[str, Any]:
        """Request parameters that change the answer (part of the cache key)."""
        return {
            "temperature": None if self.is_reasoning else self.temperature,
            "max_tokens": self.max_tokens,
            "structured": self.structured,
            "image_mode": self.image_mode,
            "max_side": self.max_side,
        }


def _check_choice(what: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        article = "unsupported" if what == "language" else "unknown"
        raise ExplainerError(f"{article} {what} {value!r}: use one of {', '.join(choices)}")


def _number(name: str, value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ExplainerError(f"{name} must be a number (got {value!r})") from None


def _at_least(name: str, value: object, low: float, unit: str = "") -> None:
    if _number(name, value) < low:
        raise ExplainerError(f"{name} must be at least {low:g}{unit} (got {value})")


def _positive(name: str, value: object, unit: str = "") -> None:
    if _number(name, value) <= 0:
        raise ExplainerError(f"{name} must be positive{unit} (got {value})")
