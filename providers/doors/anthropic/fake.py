"""Anthropic's wire format, as the strict fake speaks it (tests and benchmarks only).

* ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``, bodies checked against the installed anthropic
  SDK's ``MessageCreateParamsNonStreaming`` / ``MessageCountTokensParams`` (no ``temperature`` in 2.x);
* ``GET /v1/models/{id}`` (``models.retrieve``: ``max_input_tokens``, lifecycle, thinking support) for the
  server's ``vendor_models``, asked with an ``anthropic-version`` header;
* prompt caching as billed (:func:`bill_cache`): at most 4 ``cache_control`` blocks (1-hour ones before
  5-minute ones), the longest cached prefix at a breakpoint read, the rest up to the last breakpoint written,
  entries alive ``cache_ttl_s`` (``1h``: ``cache_ttl_long_s``) from their last use, nothing below
  ``cache_min_tokens``; ``usage.cache_creation`` splits the writes by ttl;
* Message Batches: ``POST /v1/messages/batches``, ``GET /v1/messages/batches`` (newest first),
  ``GET /v1/messages/batches/{id}``, ``GET .../results`` (JSONL), ``POST .../cancel``;
* errors as ``{"type": "error", "error": {"type", "message"}}`` (``overloaded_error`` for 529, "prompt is too
  long", "credit balance is too low").
"""

from __future__ import annotations

import functools
import math
import re
import time
from typing import Any

from aiohttp import web

from providers.fakes.harness import (
    BatchRoutes,
    FakeServer,
    MockBatch,
    MockRequest,
    Wire,
    count_tokens,
    iso_time,
    json_response,
    jsonl_bytes,
    server_base,
    text_of,
)
from providers.fakes.wire_schema import Problem, check_typed

__all__ = ["AnthropicWire", "anthropic_error"]

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}
_MODEL_PATH = re.compile(r"^/v1/models/([^/]+)$")


def anthropic_error(etype: str, message: str) -> dict[str, Any]:
    """Anthropic's error body."""
    return {"type": "error", "error": {"type": etype, "message": message}, "request_id": "req_mock"}


@functools.cache
def _types() -> dict[str, Any]:
    from anthropic.types import message_count_tokens_params, message_create_params

    return {
        "anthropic": message_create_params.MessageCreateParamsNonStreaming,
        "anthropic-count": message_count_tokens_params.MessageCountTokensParams,
    }


#: Breakpoints one request may carry (the API answers more with a 400).
MAX_BREAKPOINTS = 4


def breakpoints(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The prompt text up to and including each block marked ``cache_control``, in prompt order (system,
    then messages), with the entry's ttl (``5m`` or ``1h``)."""
    pieces: list[tuple[str, str | None]] = []

    def add(block: Any) -> None:
        if isinstance(block, dict):
            cc = block.get("cache_control")
            ttl = (cc.get("ttl") or "5m") if isinstance(cc, dict) else None
            pieces.append((str(block.get("text", "")), ttl))

    system = body.get("system")
    if isinstance(system, list):
        for b in system:
            add(b)
    elif isinstance(system, str):
        pieces.append((system, None))
    for m in body.get("messages") or []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            for b in content:
                add(b)
        elif isinstance(content, str):
            pieces.append((content, None))
    out: list[tuple[str, str]] = []
    text = ""
    for piece, ttl in pieces:
        text += piece
        if ttl is not None:
            out.append((text, ttl))
    return out


def breakpoint_problem(body: dict[str, Any]) -> str | None:
    """The API's refusal of a request's breakpoints (too many; a 1-hour one after a 5-minute one)."""
    marks = breakpoints(body)
    if len(marks) > MAX_BREAKPOINTS:
        return (
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(marks)}."
        )
    ttls = [ttl for _, ttl in marks]
    if "5m" in ttls and "1h" in ttls[ttls.index("5m") :]:
        return "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block"
    return None


class _BatchRoutes(BatchRoutes):
    """Anthropic's Message Batches over the server's shared batch state."""

    api = "anthropic"

    def mount(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1/messages/batches", self.create)
        r.add_get("/v1/messages/batches", self.list)
        r.add_get("/v1/messages/batches/{bid}", self.retrieve)
        r.add_get("/v1/messages/batches/{bid}/results", self.results)
        r.add_post("/v1/messages/batches/{bid}/cancel", self.cancel)

    @staticmethod
    def _not_found() -> web.Response:
        return json_response(404, anthropic_error("not_found_error", "batch not found"))

    def _batch(self, b: MockBatch, ended: bool, base: str) -> dict[str, Any]:
        n, ok = len(b.custom_ids), b.succeeded
        counts = {"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended and b.canceled:
            counts.update(processing=0, canceled=n)
        elif ended:
            counts.update(processing=0, succeeded=ok, errored=n - ok)
        return {
            "id": b.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": iso_time(b.created),
            "expires_at": iso_time(b.created + 86400),
            "ended_at": iso_time(time.time()) if ended else None,
            "cancel_initiated_at": iso_time(time.time()) if b.canceled else None,
            "archived_at": None,
            "results_url": f"{base}/v1/messages/batches/{b.id}/results" if ended else None,
        }

    async def create(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        state = self.state
        body = await request.json()
        items = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return json_response(400, anthropic_error("invalid_request_error", "requests: a non-empty list"))
        ids = [str(i.get("custom_id")) for i in items]
        if len(set(ids)) != len(ids):
            return json_response(400, anthropic_error("invalid_request_error", "duplicate custom_id"))
        outcomes = {
            str(i["custom_id"]): state.answer_one(
                self.wire, "anthropic", None, i.get("params"), str(i["custom_id"])
            )
            for i in items
        }
        bid = state.new_id("msgbatch_mock")
        b = MockBatch("anthropic", bid, time.time(), ids, outcomes)
        b.bodies = {str(i["custom_id"]): i.get("params") for i in items}
        state.add(b)
        return json_response(200, self._batch(b, False, server_base(request)))

    async def list(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        base = server_base(request)
        batches = self.state.newest_first("anthropic", request, "limit")
        data = [self._batch(b, self.state.ended(b), base) for b in batches]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return json_response(200, {"data": data, "has_more": False, "first_id": first, "last_id": last})

    async def retrieve(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        b = self.state.get(request.match_info["bid"], "anthropic")
        if b is None:
            return self._not_found()
        return json_response(200, self._batch(b, self.state.poll(b, "anthropic"), server_base(request)))

    async def results(self, request: web.Request) -> web.StreamResponse:
        if (denied := self.denied(request)) is not None:
            return denied
        b = self.state.get(request.match_info["bid"], "anthropic")
        if b is None:
            return self._not_found()
        self.state.calls[("anthropic", "results")] += 1
        lines: list[dict[str, Any]] = []
        for cid in b.custom_ids:
            status, payload = b.outcomes[cid]
            if b.canceled:
                result: dict[str, Any] = {"type": "canceled"}
            elif status == 200:
                result = {"type": "succeeded", "message": payload}
            else:
                result = {"type": "errored", "error": payload}
            lines.append({"custom_id": cid, "result": result})
        return web.Response(body=jsonl_bytes(lines), content_type="application/binary")

    async def cancel(self, request: web.Request) -> web.Response:
        b = self.state.cancel(request.match_info["bid"], "anthropic")
        if b is None:
            return self._not_found()
        return json_response(200, self._batch(b, True, server_base(request)))


class AnthropicWire(Wire):
    """Messages, token counting, models.retrieve and Message Batches."""

    vendor = "anthropic"
    fault_apis = frozenset({"anthropic", "anthropic-count"})
    batch_routes = _BatchRoutes

    def route(self, method: str, path: str) -> tuple[str, str | None] | None:
        """``/v1/messages`` and ``/v1/messages/count_tokens``."""
        if path == "/v1/messages":
            return "anthropic", None
        if path == "/v1/messages/count_tokens":
            return "anthropic-count", None
        return None

    def parse(self, api: str, path_model: str | None, body: dict[str, Any]) -> tuple[str, int | None]:
        """System and message texts, ``max_tokens``."""
        messages = body.get("messages") or []
        prompt = text_of(body.get("system", "")) + "".join(
            text_of(m.get("content")) for m in messages if isinstance(m, dict)
        )
        return prompt, body.get("max_tokens")

    def check_body(self, api: str, body: dict[str, Any]) -> Problem | None:
        """Against ``MessageCreateParamsNonStreaming`` / ``MessageCountTokensParams``, then the breakpoints'
        rules."""
        problem = check_typed(body, _types()[api])
        if problem is None and api == "anthropic":
            message = breakpoint_problem(body)
            if message is not None:
                return "messages", message
        return problem

    def error_body(self, api: str, status: int, message: str, retry_after: float | None = None) -> Any:
        """``{"type": "error", "error": {...}}`` with Anthropic's error type for the status."""
        return anthropic_error(_TYPES.get(status, "api_error"), message)

    def invalid_request(self, api: str, param: str, message: str) -> Any:
        """``invalid_request_error`` naming the field."""
        return anthropic_error("invalid_request_error", f"{param}: {message}")

    def context_error(self, api: str, prompt_tokens: int, window: int) -> Any:
        """ "prompt is too long"."""
        return anthropic_error(
            "invalid_request_error", f"prompt is too long: {prompt_tokens} tokens > {window} maximum"
        )

    def quota_error(self, api: str) -> tuple[int, Any]:
        """400 "credit balance is too low"."""
        return 400, anthropic_error(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to "
            "upgrade or purchase credits.",
        )

    def get(self, server: FakeServer, path: str, headers: dict[str, str]) -> web.Response | None:
        """``models.retrieve`` for the server's ``vendor_models`` (404 for others)."""
        m = _MODEL_PATH.match(path)
        if m is None or "anthropic-version" not in headers or server.upstream:
            return None
        model_id = m.group(1)
        spec = server.vendor_models.get(model_id)
        if spec is None:
            return json_response(404, anthropic_error("not_found_error", f"model: {model_id}"))
        adaptive = bool(spec.get("adaptive", True))
        return json_response(
            200,
            {
                "type": "model",
                "id": model_id,
                "display_name": model_id,
                "created_at": "2026-06-30T00:00:00Z",
                "lifecycle": spec.get("lifecycle", "active"),
                "deprecated_at": None,
                "retires_at": None,
                "max_input_tokens": spec.get("window"),
                "max_tokens": spec.get("max_output"),
                "capabilities": {
                    "thinking": {
                        "supported": True,
                        "types": {
                            "adaptive": {"supported": adaptive},
                            "enabled": {"supported": not adaptive},
                            "disabled": {"supported": True},
                            "between_tools": {"supported": adaptive},
                        },
                    }
                },
            },
        )

    def answer(self, server: FakeServer, api: str, req: MockRequest, prompt_tokens: int) -> Any:
        """A ``message`` with cache reads and writes as billed, or the count."""
        n = next(server.ids)
        if api == "anthropic-count":
            return {"input_tokens": prompt_tokens}
        reply = server.reply(req)
        text, finish = reply.clipped(req.max_tokens)
        if finish in ("refusal", "blocked"):
            finish = "content_filter"
            if reply.finish == "refusal":
                text = ""
        read, written = bill_cache(server, req.body)
        write = sum(written.values())
        reason = {"stop": "end_turn", "max_tokens": "max_tokens", "content_filter": "refusal"}[finish]
        return {
            "id": f"msg_mock{n}",
            "type": "message",
            "role": "assistant",
            "model": reply.model or req.model or server.model,
            "content": [{"type": "text", "text": text}] if finish != "content_filter" else [],
            "stop_reason": reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": max(0, prompt_tokens - read - write),
                "output_tokens": count_tokens(text),
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": written.get("5m", 0),
                    "ephemeral_1h_input_tokens": written.get("1h", 0),
                },
            },
        }


def bill_cache(server: FakeServer, body: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """Prompt-cache reads and writes of one request, as Anthropic bills them, and the cache updated.

    Only breakpoints whose prefix reaches ``server.cache_min_tokens`` are cached. The read is the longest
    such prefix held and alive; the write is the rest up to the last breakpoint, each piece under the ttl
    of the breakpoint that ends it; every breakpoint from the read on is (re)written with its ttl
    (``5m``: ``server.cache_ttl_s``; ``1h``: ``server.cache_ttl_long_s``), and reads refresh their entry.

    Returns:
        ``(read tokens, {ttl: written tokens})``.
    """
    import hashlib

    marks = []
    for text, ttl in breakpoints(body):
        n = server.count_prompt(text)
        if n >= server.cache_min_tokens:
            marks.append((n, hashlib.sha256(text.encode("utf-8")).hexdigest(), ttl))
    if not marks:
        return 0, {}
    now = time.monotonic()
    lifetime = {"5m": server.cache_ttl_s, "1h": server.cache_ttl_long_s}
    with server.lock:
        hit = -1
        for i, (_, key, _ttl) in enumerate(marks):
            if server.explicit_cache.get(key, -math.inf) > now:
                hit = i
        read = marks[hit][0] if hit >= 0 else 0
        written: dict[str, int] = {}
        before = read
        for i, (n, key, ttl) in enumerate(marks):
            if i < hit:
                continue
            if i > hit and n > before:
                written[ttl] = written.get(ttl, 0) + n - before
                before = n
            server.explicit_cache[key] = max(server.explicit_cache.get(key, -math.inf), now + lifetime[ttl])
    return read, written
