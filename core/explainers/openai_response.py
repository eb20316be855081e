"""Reading a chat completion: usage, refusals, empty answers and structured (JSON) answers,
each turned into one :class:`CallResult` with a status (ok, refused, empty, error)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.explainers.prompts import StructuredAnswerError, parse_structured, render_objects


@dataclass
class CallResult:
    status: str  # ok | refused | empty | error
    text: str = ""
    error: str | None = None
    response: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    latency_s: float = 0.0


def interpret(response: Any, structured: bool, lang: str) -> CallResult:
    """The :class:`CallResult` of one SDK chat completion (``lang`` renders structured answers)."""
    usage = {}
    raw_usage = getattr(response, "usage", None)
    if raw_usage is not None:
        for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
            value = getattr(raw_usage, name, None)
            if isinstance(value, int):
                usage[name] = value
    choices = getattr(response, "choices", None) or []
    if not choices:
        return CallResult(status="error", error="the server answered without choices", usage=usage)
    choice = choices[0]
    finish = getattr(choice, "finish_reason", None)
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None) if message is not None else None
    refusal = getattr(message, "refusal", None) if message is not None else None
    if not isinstance(content, str):
        content = "" if content is None else str(content)
    base = {"finish_reason": finish, "usage": usage, "response": content or None}
    if refusal:
        return CallResult(
            status="refused", error=f"the model refused: {one_line(refusal, 200)}", **base
        )
    if finish == "content_filter":
        return CallResult(
            status="refused", error="the answer was blocked by the content filter", **base
        )
    text = content.strip()
    if not text:
        return CallResult(status="empty", error=f"empty answer (finish_reason={finish})", **base)
    if not structured:
        return CallResult(status="ok", text=text, **base)
    try:
        objects = parse_structured(text)
    except StructuredAnswerError as exc:
        return CallResult(
            status="error",
            error=f"invalid structured answer: {exc}",
            details={"raw_text": text},
            **base,
        )
    return CallResult(
        status="ok", text=render_objects(objects, lang), details={"objects": objects}, **base
    )


def one_line(value: object, limit: int = 300) -> str:
    """``value`` as one line of at most ``limit`` characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
