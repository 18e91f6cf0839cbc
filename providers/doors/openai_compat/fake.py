"""What a llama.cpp / vLLM server adds to OpenAI's wire, as the fake speaks it (tests and benchmarks only).

OpenAI-compatible servers speak :class:`providers.doors.openai.fake.OpenAIWire` (chat, completions,
``GET /v1/models``); this wire adds their own endpoints: ``POST /tokenize`` (llama.cpp sends ``content``,
vLLM ``prompt``; never faulted) and ``GET /health``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from providers.fakes.harness import FakeServer, MockRequest, Wire, json_response

__all__ = ["LlamaCppWire"]


class LlamaCppWire(Wire):
    """``/tokenize`` and ``/health``."""

    vendor = "llamacpp"

    def route(self, method: str, path: str) -> tuple[str, str | None] | None:
        """``POST /tokenize``."""
        return ("tokenize", None) if path == "/tokenize" else None

    def parse(self, api: str, path_model: str | None, body: dict[str, Any]) -> tuple[str, int | None]:
        """The text to tokenize."""
        return str(body.get("content", body.get("prompt", ""))), None

    def error_body(self, api: str, status: int, message: str, retry_after: float | None = None) -> Any:
        """llama.cpp's OpenAI-style error."""
        kind = "invalid_request_error" if status < 500 else "server_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def get(self, server: FakeServer, path: str, headers: dict[str, str]) -> web.Response | None:
        """``GET /health`` (also in front of an upstream)."""
        return json_response(200, {"status": "ok"}) if path in ("/health", "/v1/health") else None

    def answer(self, server: FakeServer, api: str, req: MockRequest, prompt_tokens: int) -> Any:
        """Token ids (one per fake token) and their count."""
        next(server.ids)
        return {"tokens": list(range(1000, 1000 + prompt_tokens)), "count": prompt_tokens}
