"""A scriptable fake OpenAI-compatible server for tests (stdlib only, 127.0.0.1, random port).

It speaks just enough of the Chat Completions API for wordcam's VLM explainer::

    with FakeVLMServer() as server:
        server.script(Fault.status(429, retry_after=1), Reply("ok"))
        explainer = OpenAIExplainer("test-model", base_url=server.base_url)
        ...
        server.requests  # every request received: path, headers, parsed JSON body

Scripted actions are consumed one per chat request, in order; when the script is empty the
server answers with ``default`` (a :class:`Reply`, or a callable ``body -> action``).
``GET /models`` lists one model (or answers ``models_status`` when set, e.g. 404 or 401).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """A normal chat completion answering ``text`` (or a refusal / empty / filtered answer)."""

    text: str | None = "The guardrail and the white road markings."
    finish_reason: str = "stop"
    refusal: str | None = None
    delay: float = 0.0
    prompt_tokens: int = 1000
    completion_tokens: int = 50


@dataclass
class Fault:
    """A failure: an HTTP error status, a hang longer than the client timeout, or bad JSON."""

    kind: str  # "status" | "malformed" | "hang"
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    body: str = ""

    @classmethod
    def http(cls, status: int, retry_after: float | None = None) -> Fault:
        return cls("status", status=status, retry_after=retry_after)

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed", status=200, body='{"id": "x", "choices": [ {"message": ')

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        return cls("hang", delay=seconds)


Action = Reply | Fault


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any] | None
    started: float = field(default_factory=time.monotonic)

    @property
    def prompt(self) -> str:
        """The text parts of the user message, joined."""
        return "\n".join(p["text"] for p in self.content_parts if p.get("type") == "text")

    @property
    def image_urls(self) -> list[str]:
        return [p["image_url"]["url"] for p in self.content_parts if p.get("type") == "image_url"]

    @property
    def content_parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for message in (self.body or {}).get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                parts.append({"type": "text", "text": content})
            elif isinstance(content, list):
                parts.extend(content)
        return parts


class FakeVLMServer:
    """Threaded local HTTP server; see the module docstring."""

    def __init__(self, default: Action | Callable[[dict], Action] | None = None) -> None:
        self.default: Action | Callable[[dict], Action] = default or Reply()
        self.models_status: int | None = None
        self.requests: list[Recorded] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._script: list[Action] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def script(self, *actions: Action) -> None:
        """Queue actions answered, in order, to the next chat requests."""
        with self._lock:
            self._script.extend(actions)

    def __enter__(self) -> FakeVLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_action(self, body: dict) -> Action:
        with self._lock:
            if self._script:
                return self._script.pop(0)
        return self.default(body) if callable(self.default) else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

            def do_GET(self) -> None:
                server.requests.append(
                    Recorded(
                        "GET", self.path, {k.lower(): v for k, v in self.headers.items()}, None
                    )
                )
                if self.path.rstrip("/").endswith("/models"):
                    if server.models_status:
                        body = {"error": {"message": f"status {server.models_status}"}}
                        self._send(server.models_status, json.dumps(body).encode())
                        return
                    data = {"object": "list", "data": [{"id": "test-model", "object": "model"}]}
                    self._send(200, json.dumps(data).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = None
                server.requests.append(
                    Recorded(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                with server._lock:
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    self._answer(server._next_action(body or {}), body or {})
                finally:
                    with server._lock:
                        server._in_flight -= 1

            def _answer(self, action: Action, body: dict) -> None:
                if isinstance(action, Fault):
                    if action.kind == "hang":
                        time.sleep(action.delay)
                        self._send(200, _completion(Reply("late answer"), body))
                        return
                    if action.kind == "malformed":
                        self._send(200, action.body.encode())
                        return
                    headers = {}
                    if action.retry_after is not None:
                        headers["Retry-After"] = f"{action.retry_after:g}"
                    message = {"error": {"message": f"fake error {action.status}"}}
                    self._send(action.status, json.dumps(message).encode(), headers)
                    return
                if action.delay:
                    time.sleep(action.delay)
                self._send(200, _completion(action, body))

        return Handler


def _completion(reply: Reply, body: dict) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.refusal is not None:
        message["refusal"] = reply.refusal
    return json.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "test-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }
    ).encode()
