"""A fake model server on 127.0.0.1 that speaks the real wire formats, with programmable faults.

It answers, in each vendor's exact JSON shapes (enough for the official SDKs to parse):

* OpenAI: ``POST /v1/chat/completions``, ``POST /v1/completions``, ``GET /v1/models``;
* Anthropic: ``POST /v1/messages``, ``POST /v1/messages/count_tokens``;
* Gemini: ``POST /{v1beta,v1}/models/{model}:generateContent`` and ``:countTokens``;
* llama.cpp: ``POST /tokenize``, ``GET /health``.

Behaviour is programmable: a fixed latency, faults injected by a script (one entry per request) and/or at
a rate from a seeded RNG (``429`` with ``Retry-After``, ``500``, ``503``, ``529``, ``malformed`` JSON,
``slow`` past the client's timeout, ``drop`` the connection, ``context_length``, ``400``, ``401``,
``404``, ``quota``: the vendor's billing / out-of-credit error), a context window that triggers each
vendor's real overflow error, an API key to check (a wrong
one gets a 401 that *echoes the key*, as some real servers do, to test redaction), a prefix cache that
reports cached tokens, and an optional ``upstream`` URL to forward clean requests to (faults in front of
the real llama.cpp server). Answers: a fixed text or a callback; with ``upstream``, the upstream's.

Strict by default: every request body is validated against the installed SDK's own request types
(:mod:`providers.wire_schema`: the openai/anthropic ``create()`` TypedDicts, google-genai's models); an
unknown or removed field (``temperature`` to Anthropic, ``cache_prompt`` to OpenAI) gets a 400 in the
vendor's own error format. Gemini 429s carry their wait in the body (``google.rpc.RetryInfo``), with no
``Retry-After`` header, as Google's do. The models endpoints answer in each vendor's format
(Anthropic ``GET /v1/models/{id}``: ``max_input_tokens``; Gemini ``GET /v1beta/models/{id}``:
``inputTokenLimit``) for the ids in ``vendor_models``.

It is an ``aiohttp.web`` server on its own event loop in a background thread: 64 concurrent requests with
200 ms latency are 64 sleeping coroutines, and the C HTTP parser keeps its CPU per request low enough not
to be the bottleneck of the provider benchmark. Run it in-process (``with MockServer(...) as srv``, from
sync or async code) or as a process::

    python -m providers.mock_server --latency 0.2 --fault-rate 0.2 --faults 429,500,slow --upstream URL
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import random
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import aiohttp
from aiohttp import web

from providers.doors.openai import responses_fake
from providers.wire_schema import check_body

__all__ = [
    "FAULTS",
    "MockReply",
    "MockRequest",
    "MockServer",
    "RecordedRequest",
    "mock_tokens",
]

FAULTS = (
    "ok",
    "429",
    "500",
    "503",
    "529",
    "malformed",
    "slow",
    "drop",
    "context_length",
    "400",
    "401",
    "404",
    "quota",
)
Api = Literal[
    "openai-chat",
    "openai-completions",
    "openai-responses",
    "anthropic",
    "anthropic-count",
    "gemini",
    "gemini-count",
    "tokenize",
]
_CJK = "\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"  # CJK, CJK punctuation, full-width forms
_TOKEN = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
_GEMINI_PATH = re.compile(r"^/(v1beta|v1|v1alpha)/models/([^/:]+):(generateContent|countTokens)$")
_FAULT_APIS = frozenset(
    {
        "openai-chat",
        "openai-completions",
        "openai-responses",
        "anthropic",
        "anthropic-count",
        "gemini",
        "gemini-count",
    }
)


def mock_tokens(text: str) -> list[str]:
    """The mock server's tokenizer: one token per CJK character or punctuation mark, one per other word."""
    return _TOKEN.findall(text)


def _count(text: str) -> int:
    return len(_TOKEN.findall(text))


def _truncate(text: str, max_tokens: int) -> tuple[str, bool]:
    matches = list(_TOKEN.finditer(text))
    if len(matches) <= max_tokens:
        return text, False
    return (text[: matches[max_tokens - 1].end()] if max_tokens > 0 else ""), True


@dataclass(frozen=True)
class MockReply:
    """What a callback answers.

    Attributes:
        text: The answer text (cut to the request's max tokens, which then reports MAX_TOKENS).
        finish: ``stop``, ``max_tokens``, ``content_filter`` (a refusal / safety stop), ``blocked``
            (the prompt itself refused: Gemini answers with no candidate and a ``promptFeedback``) or
            ``refusal`` (OpenAI: ``message.refusal`` set, ``finish_reason: stop``; elsewhere as
            ``content_filter``).
        reasoning_tokens: Hidden reasoning tokens to report (OpenAI ``reasoning_tokens``, Gemini thoughts).
        model: The model the response says answered (None: the one asked; vendors route retired names).
    """

    text: str
    finish: Literal["stop", "max_tokens", "content_filter", "blocked", "refusal"] = "stop"
    reasoning_tokens: int = 0
    model: str | None = None


@dataclass(frozen=True)
class MockRequest:
    """A parsed API request, as handed to the answer callback.

    Attributes:
        api: Which wire format.
        model: Model named in the body or path.
        prompt: All prompt text (system + turns) concatenated.
        max_tokens: The output cap asked for (None if absent).
        body: The decoded JSON body.
        headers: Request headers (lower-case names).
    """

    api: str
    model: str
    prompt: str
    max_tokens: int | None
    body: Any
    headers: dict[str, str]


@dataclass
class RecordedRequest:
    """One request as the server saw it (for assertions)."""

    method: str
    path: str
    api: str | None
    fault: str
    body: Any
    headers: dict[str, str]
    started: float
    finished: float = 0.0
    status: int | None = None


@dataclass
class _Stats:
    in_flight: int = 0
    max_in_flight: int = 0
    faults: Counter[str] = field(default_factory=Counter)


def _text_of(content: Any) -> str:
    """Text of an OpenAI/Anthropic content value (string or list of parts/blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_text_of(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return ""


class MockServer:
    """The fake server (see the module docstring).

    Args:
        answer: Text of every answer, or a callback ``(MockRequest) -> str | MockReply``.
        latency_s: Seconds every answered request waits before answering.
        fault_rate: Probability that a request (past the script) gets a fault from ``faults``.
        faults: Faults drawn at ``fault_rate``.
        script: Faults for the first requests, in arrival order (``"ok"`` for none).
        seed: Seed of the fault RNG (same seed, same sequence of draws).
        retry_after: ``Retry-After`` seconds sent with 429 (None: no header).
        slow_s: How long a ``slow`` fault stalls before answering.
        context_window: Prompts longer than this (mock tokens) get the vendor's overflow error.
        api_key: If set, requests must present it (Bearer, x-api-key, x-goog-api-key or ?key=).
        upstream: Forward requests that get no fault to this base URL (e.g. a llama.cpp server).
        model: Model name reported by ``/v1/models`` and in answers when the request names none.
        host: Address to bind (keep 127.0.0.1).
        port: Port (0: the OS picks a free one).
        fault_apis: Request kinds that can get faults (default: generation and token-count calls;
            never ``/tokenize``, ``/health`` or ``/v1/models``).
        strict: Validate request bodies against the installed SDKs' request types (400 if not).
        vendor_models: ``{model id: {"window": int, "max_output": int, "lifecycle": str,
            "adaptive": bool}}`` served by the Anthropic and Gemini models endpoints (others: 404).
        cache_ttl_s: Lifetime of an Anthropic cache entry, refreshed by each read (the API's 5 minutes).
        cache_min_tokens: Anthropic's minimum cacheable prefix: a breakpoint on a shorter prefix is neither
            written nor read (the API's 1024 tokens for Sonnet/Opus-class models).
        tokenizer: Counts a request's prompt tokens, for generation and count endpoints alike (default: the
            mock tokenizer, :func:`mock_tokens`); e.g. a real BPE's count to test sizing against a vocabulary
            whose counts do not add up where texts are joined.
    """

    def __init__(
        self,
        *,
        answer: str | Callable[[MockRequest], str | MockReply] = "OK",
        latency_s: float = 0.0,
        fault_rate: float = 0.0,
        faults: Sequence[str] = ("429", "500", "malformed", "drop"),
        script: Iterable[str] = (),
        seed: int = 0,
        retry_after: float | None = 1.0,
        slow_s: float = 30.0,
        context_window: int | None = None,
        api_key: str | None = None,
        upstream: str | None = None,
        model: str = "mock-model",
        host: str = "127.0.0.1",
        port: int = 0,
        fault_apis: Iterable[str] = _FAULT_APIS,
        strict: bool = True,
        vendor_models: dict[str, dict[str, Any]] | None = None,
        cache_ttl_s: float = 300.0,
        cache_min_tokens: int = 1024,
        tokenizer: Callable[[str], int] | None = None,
    ) -> None:
        unknown = [f for f in (*faults, *script) if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate must be within [0, 1]")
        self.answer = answer
        self.count_prompt: Callable[[str], int] = tokenizer or _count
        self.latency_s = latency_s
        self.fault_rate = fault_rate
        self.faults = tuple(faults)
        self.script = list(script)
        self.seed = seed
        self.retry_after = retry_after
        self.slow_s = slow_s
        self.context_window = context_window
        self.api_key = api_key
        self.upstream = upstream.rstrip("/") if upstream else None
        self.model = model
        self.fault_apis = frozenset(fault_apis)
        self.strict = strict
        self.vendor_models = dict(vendor_models or {})
        self.requests: list[RecordedRequest] = []
        self._host, self._port = host, port
        self._rng = random.Random(seed)
        self._script_pos = 0
        self._lock = threading.Lock()
        self._stats = _Stats()
        self._ids = itertools.count(1)
        self._last_prompt: dict[str, str] = {}
        self.cache_ttl_s = cache_ttl_s
        self.cache_min_tokens = cache_min_tokens
        self._anthropic_cache: dict[str, float] = {}  # cached prefix -> when it expires (monotonic)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._upstream_session: aiohttp.ClientSession | None = None
        # Batch APIs (providers/mock_batch.py): state, counters and routes.
        from providers.mock_batch import BatchMock

        self.batch = BatchMock(self)

    # ------------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>`` (OpenAI clients add ``/v1``)."""
        if self._url is None:
            raise RuntimeError("mock server is not running")
        return self._url

    def start(self) -> str:
        """Start serving on a background event loop; returns :attr:`url`."""
        if self._url is not None:
            return self._url
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="mock-server", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._url = asyncio.run_coroutine_threadsafe(self._astart(), loop).result(timeout=30)
        except BaseException:
            self._shutdown_loop()
            raise
        return self._url

    async def _astart(self) -> str:
        app = web.Application(client_max_size=512 * 1024 * 1024)
        self.batch.add_routes(app)  # before the catch-all
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, backlog=1024, reuse_address=True)
        await site.start()
        self._runner = runner
        if self.upstream:
            timeout = aiohttp.ClientTimeout(total=900)
            self._upstream_session = aiohttp.ClientSession(base_url=self.upstream, timeout=timeout)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop serving: stalled handlers are cancelled, connections closed, the port freed."""
        if self._loop is None:
            return
        if self._url is not None:
            self._url = None
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._astop(), self._loop).result(timeout=10)
        self._shutdown_loop()

    async def _astop(self) -> None:
        for task in list(self._handlers):
            task.cancel()
        if self._upstream_session is not None:
            await self._upstream_session.close()
            self._upstream_session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _shutdown_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=10)
        if not loop.is_running():
            loop.close()

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------------------------------- stats

    @property
    def max_in_flight(self) -> int:
        """Most requests being handled at once since start (or :meth:`reset`)."""
        return self._stats.max_in_flight

    @property
    def fault_counts(self) -> Counter[str]:
        """How many requests got each fault (``ok`` included)."""
        return Counter(self._stats.faults)

    def api_requests(self, api: str | None = None) -> list[RecordedRequest]:
        """Recorded requests to model APIs (optionally of one kind)."""
        with self._lock:
            reqs = list(self.requests)
        return [r for r in reqs if r.api is not None and (api is None or r.api == api)]

    def reset(self, *, script: Iterable[str] | None = None, fault_rate: float | None = None) -> None:
        """Forget recorded requests and stats; optionally load a new script / fault rate."""
        with self._lock:
            self.requests.clear()
            self._stats = _Stats()
            self._rng = random.Random(self.seed)
            self._script_pos = 0
            if script is not None:
                self.script = list(script)
            if fault_rate is not None:
                self.fault_rate = fault_rate

    # ------------------------------------------------------------------------------------- internals

    def _next_fault(self, api: str | None) -> str:
        if api not in self.fault_apis:
            return "ok"
        with self._lock:
            if self._script_pos < len(self.script):
                fault = self.script[self._script_pos]
                self._script_pos += 1
                return fault
            if self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.faults)
            return "ok"

    def _begin(self, rec: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(rec)
            self._stats.faults[rec.fault] += 1
            self._stats.in_flight += 1
            self._stats.max_in_flight = max(self._stats.max_in_flight, self._stats.in_flight)

    def _end(self) -> None:
        with self._lock:
            self._stats.in_flight -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            return await _handle(self, request)
        finally:
            if task is not None:
                self._handlers.discard(task)

    def _reply(self, req: MockRequest) -> MockReply:
        out = self.answer(req) if callable(self.answer) else self.answer
        return out if isinstance(out, MockReply) else MockReply(str(out))

    def _cached_prefix(self, api: str, prompt: str) -> int:
        """Tokens of the common prefix with the previous prompt of this API (an implicit prefix cache)."""
        with self._lock:
            last = self._last_prompt.get(api, "")
            self._last_prompt[api] = prompt
        n = 0
        for a, b in zip(last, prompt, strict=False):
            if a != b:
                break
            n += 1
        return _count(prompt[:n]) if n else 0


# ------------------------------------------------------------------------------------------ wire formats


def _openai_error(status: int, message: str, etype: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": etype, "param": None, "code": code}}


def _anthropic_error(etype: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": etype, "message": message}, "request_id": "req_mock"}


def _gemini_error(code: int, status: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        err["details"] = details
    return {"error": err}


_OPENAI_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
    529: ("server_error", None),
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}
_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    529: "UNAVAILABLE",
}


def _error_body(api: str, status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
    if api.startswith("anthropic"):
        return _anthropic_error(_ANTHROPIC_TYPES.get(status, "api_error"), message)
    if api.startswith("gemini"):
        details = None
        if status == 429 and retry_after is not None:
            details = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after:g}s"}
            ]
        return _gemini_error(status, _GEMINI_STATUS.get(status, "UNKNOWN"), message, details)
    etype, code = _OPENAI_TYPES.get(status, ("server_error", None))
    return _openai_error(status, message, etype, code)


def _context_error(api: str, prompt_tokens: int, window: int) -> dict[str, Any]:
    if api.startswith("anthropic"):
        return _anthropic_error(
            "invalid_request_error", f"prompt is too long: {prompt_tokens} tokens > {window} maximum"
        )
    if api.startswith("gemini"):
        return _gemini_error(
            400,
            "INVALID_ARGUMENT",
            f"The input token count ({prompt_tokens}) exceeds the maximum number of tokens allowed "
            f"({window}).",
        )
    return _openai_error(
        400,
        f"This model's maximum context length is {window} tokens. However, your messages resulted in "
        f"{prompt_tokens} tokens. Please reduce the length of the messages.",
        "invalid_request_error",
        "context_length_exceeded",
    )


def _parse(api: str, path_model: str | None, body: Any, headers: dict[str, str]) -> MockRequest:
    b = body if isinstance(body, dict) else {}
    if api == "openai-chat":
        prompt = "".join(_text_of(m.get("content")) for m in b.get("messages") or [] if isinstance(m, dict))
        max_tokens = b.get("max_completion_tokens") or b.get("max_tokens")
    elif api == "openai-responses":
        prompt, max_tokens = responses_fake.prompt_and_cap(b)
    elif api == "openai-completions":
        p = b.get("prompt", "")
        prompt = "".join(p) if isinstance(p, list) else str(p)
        max_tokens = b.get("max_tokens")
    elif api.startswith("anthropic"):
        prompt = _text_of(b.get("system", "")) + "".join(
            _text_of(m.get("content")) for m in b.get("messages") or [] if isinstance(m, dict)
        )
        max_tokens = b.get("max_tokens")
    elif api.startswith("gemini"):
        parts: list[str] = []
        sysi = b.get("systemInstruction") or b.get("system_instruction")
        if isinstance(sysi, dict):
            parts.extend(p.get("text", "") for p in sysi.get("parts") or [])
        for c in b.get("contents") or []:
            if isinstance(c, dict):
                parts.extend(p.get("text", "") for p in c.get("parts") or [] if isinstance(p, dict))
        prompt = "".join(parts)
        gen = b.get("generationConfig") or {}
        max_tokens = gen.get("maxOutputTokens")
    else:  # /tokenize: llama.cpp sends "content", vLLM "prompt"
        prompt = str(b.get("content", b.get("prompt", "")))
        max_tokens = None
    model = path_model or str(b.get("model") or "")
    return MockRequest(api, model, prompt, max_tokens if isinstance(max_tokens, int) else None, body, headers)


def _classify_path(method: str, path: str) -> tuple[str | None, str | None]:
    """(api, model from the path) for a request path."""
    if method != "POST":
        return None, None
    if path == "/v1/chat/completions" or path == "/chat/completions":
        return "openai-chat", None
    if path == "/v1/completions" or path == "/completions":
        return "openai-completions", None
    if path in responses_fake.PATHS:  # issue 18: the Responses API (providers/doors/openai/responses_fake.py)
        return "openai-responses", None
    if path == "/v1/messages":
        return "anthropic", None
    if path == "/v1/messages/count_tokens":
        return "anthropic-count", None
    if path == "/tokenize":
        return "tokenize", None
    m = _GEMINI_PATH.match(path)
    if m:
        return ("gemini" if m.group(3) == "generateContent" else "gemini-count"), m.group(2)
    return None, None


_STATUS_FAULTS = {"429": 429, "500": 500, "503": 503, "529": 529, "400": 400, "404": 404}
_FAULT_MESSAGES = {
    429: "Rate limit reached for requests (mock). Please try again later.",
    400: "Invalid request (mock fault).",
    404: "The model does not exist (mock fault).",
}


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return web.Response(status=status, body=data, content_type="application/json", headers=headers)


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (what the client sees as a dropped connection)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=499)  # never sent: the transport is closed


async def _handle(owner: MockServer, request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    headers = {k.lower(): v for k, v in request.headers.items()}
    api, path_model = _classify_path(request.method, request.path)
    fault = owner._next_fault(api)
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    rec = RecordedRequest(request.method, request.path, api, fault, body, headers, time.monotonic())
    owner._begin(rec)
    try:
        response = await _dispatch(owner, request, api, path_model, fault, raw, body, headers)
        rec.status = None if response.status == 499 else response.status
        return response
    finally:
        rec.finished = time.monotonic()
        owner._end()


async def _dispatch(
    owner: MockServer,
    request: web.Request,
    api: str | None,
    path_model: str | None,
    fault: str,
    raw: bytes,
    body: Any,
    headers: dict[str, str],
) -> web.Response:
    method, path = request.method, request.path
    if api is None:
        if method == "GET" and path in ("/health", "/v1/health"):
            return _json(200, {"status": "ok"})
        if method == "GET" and not owner.upstream:
            vendor = _vendor_model_answer(owner, path, headers)
            if vendor is not None:
                return vendor
        if method == "GET" and path in ("/v1/models", "/models") and not owner.upstream:
            entry: dict[str, Any] = {"id": owner.model, "object": "model", "owned_by": "mock"}
            if owner.context_window:
                entry["max_model_len"] = owner.context_window
            return _json(200, {"object": "list", "data": [entry]})
        if owner.upstream:
            return await _forward(owner, request, raw, headers)
        return _json(404, _openai_error(404, f"no route {method} {path}", "invalid_request_error"))
    # Faults that do not depend on the request.
    if fault == "drop":
        return _drop(request)
    if fault == "malformed":
        await asyncio.sleep(owner.latency_s)
        return _json(200, b'{"id": "broken", "choices": [{"index": 0, "message": {"content": "tru')
    if fault == "slow":
        await asyncio.sleep(owner.slow_s)
    if fault == "quota":
        await asyncio.sleep(owner.latency_s)
        return _json(*_quota_error(api))
    if fault in _STATUS_FAULTS:
        status = _STATUS_FAULTS[fault]
        await asyncio.sleep(owner.latency_s)
        extra: dict[str, str] = {}
        # Google sends the wait in the body (RetryInfo), not as a header.
        if status == 429 and owner.retry_after is not None and not api.startswith("gemini"):
            extra["Retry-After"] = f"{owner.retry_after:g}"
        message = _FAULT_MESSAGES.get(
            status, "The server had an error while processing your request (mock fault)."
        )
        return _json(status, _error_body(api, status, message, owner.retry_after), extra)
    # Authentication.
    presented = _presented_key(headers, request.query.get("key"))
    if fault == "401" or (owner.api_key is not None and presented != owner.api_key):
        return _auth_error(api, presented)
    if not isinstance(body, dict):
        return _json(400, _error_body(api, 400, "request body is not a JSON object"))
    if owner.strict:
        problem = check_body(api, body)
        if problem is not None:
            return _json(400, _invalid_request(api, *problem))
    if api == "openai-chat":  # a Responses-only model refuses chat completions (issue 18)
        rejection = responses_fake.chat_rejection(str(body.get("model") or ""))
        if rejection is not None:
            return _json(404, rejection)
    req = _parse(api, path_model, body, headers)
    prompt_tokens = owner.count_prompt(req.prompt)
    too_long = owner.context_window is not None and prompt_tokens > owner.context_window
    if fault == "context_length" or too_long:
        window = owner.context_window or max(1, prompt_tokens - 1)
        await asyncio.sleep(min(owner.latency_s, 0.05))
        return _json(400, _context_error(api, prompt_tokens, window))
    await asyncio.sleep(owner.latency_s)
    if owner.upstream:
        return await _forward(owner, request, raw, headers)
    return _json(200, _answer(owner, api, req, prompt_tokens))


def _invalid_request(api: str, param: str, message: str) -> dict[str, Any]:
    """A rejected request body in the vendor's own 400 format."""
    if api.startswith("anthropic"):
        return _anthropic_error("invalid_request_error", f"{param}: {message}")
    if api.startswith("gemini"):
        return _gemini_error(
            400,
            "INVALID_ARGUMENT",
            message,
            [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": param, "description": message}],
                }
            ],
        )
    if message == "Extra inputs are not permitted":
        message = f"Unrecognized request argument supplied: {param}"
    else:
        message = f"Invalid value for '{param}': {message}"
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}


def _quota_error(api: str) -> tuple[int, dict[str, Any]]:
    """Each vendor's out-of-credit answer."""
    if api.startswith("anthropic"):
        return 400, _anthropic_error(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to "
            "upgrade or purchase credits.",
        )
    if api.startswith("gemini"):
        return 429, _gemini_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Your prepayment credits are depleted. Please go to AI Studio to manage your project and "
            "billing.",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/billing",
                            "quotaId": "PrepaidCredits",
                        }
                    ],
                }
            ],
        )
    return 429, _openai_error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    )


_ANTHROPIC_MODEL_PATH = re.compile(r"^/v1/models/([^/]+)$")
_GEMINI_MODEL_PATH = re.compile(r"^/(?:v1beta|v1)/models/([^/:]+)$")


def _vendor_model_answer(owner: MockServer, path: str, headers: dict[str, str]) -> web.Response | None:
    """Anthropic ``models.retrieve`` / Gemini ``models.get`` in their real formats (None: not such a path)."""
    m = _GEMINI_MODEL_PATH.match(path)
    gemini = m is not None and ("x-goog-api-key" in headers or path.startswith("/v1beta"))
    anthropic = m is not None and "anthropic-version" in headers
    if not (gemini or anthropic):
        return None
    model_id = m.group(1) if m else ""
    spec = owner.vendor_models.get(model_id)
    if anthropic:
        if spec is None:
            return _json(404, _anthropic_error("not_found_error", f"model: {model_id}"))
        adaptive = bool(spec.get("adaptive", True))
        support = {"supported": True}
        return _json(
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
                            "disabled": support,
                            "between_tools": {"supported": adaptive},
                        },
                    }
                },
            },
        )
    if spec is None:
        return _json(
            404, _gemini_error(404, "NOT_FOUND", f"models/{model_id} is not found for API version v1beta")
        )
    return _json(
        200,
        {
            "name": f"models/{model_id}",
            "version": "001",
            "displayName": model_id,
            "inputTokenLimit": spec.get("window"),
            "outputTokenLimit": spec.get("max_output"),
            "supportedGenerationMethods": ["generateContent", "countTokens"],
            "temperature": 1,
            "maxTemperature": 2,
            "topP": 0.95,
            "topK": 64,
            "thinking": True,
        },
    )


def _auth_error(api: str, presented: str | None) -> web.Response:
    shown = presented or ""
    if api.startswith("gemini"):
        body = _gemini_error(
            400,
            "INVALID_ARGUMENT",
            f"API key not valid. Please pass a valid API key. (got {shown})",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
        )
        return _json(400, body)
    return _json(401, _error_body(api, 401, f"Incorrect API key provided: {shown}"))


async def _forward(
    owner: MockServer, request: web.Request, raw: bytes, headers: dict[str, str]
) -> web.Response:
    session = owner._upstream_session
    assert session is not None and owner.upstream is not None
    wanted = ("content-type", "authorization", "x-api-key", "accept")
    keep = {k: v for k, v in headers.items() if k in wanted}
    try:
        async with session.request(
            request.method, owner.upstream + request.path_qs, data=raw, headers=keep
        ) as resp:
            content = await resp.read()
            return web.Response(
                status=resp.status, body=content, content_type=resp.content_type or "application/json"
            )
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return _json(502, _openai_error(502, f"upstream failed: {type(exc).__name__}", "server_error"))


def _presented_key(headers: dict[str, str], query_key: str | None) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for name in ("x-api-key", "x-goog-api-key"):
        if headers.get(name):
            return headers[name]
    return query_key


def _answer(owner: MockServer, api: str, req: MockRequest, prompt_tokens: int) -> dict[str, Any]:
    body: dict[str, Any] = req.body
    n = next(owner._ids)
    if api == "tokenize":
        return {"tokens": list(range(1000, 1000 + prompt_tokens)), "count": prompt_tokens}
    if api == "anthropic-count":
        return {"input_tokens": prompt_tokens}
    if api == "gemini-count":
        return {
            "totalTokens": prompt_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
        }
    reply = owner._reply(req)
    text, cut = _truncate(reply.text, req.max_tokens) if req.max_tokens is not None else (reply.text, False)
    finish = "max_tokens" if cut else reply.finish
    refusal = None
    if finish == "refusal":
        refusal, finish = (text or "I can't help with that."), "stop"
        text = ""
        if api not in ("openai-chat", "openai-responses"):
            finish = "content_filter"
    if finish == "blocked" and not api.startswith("gemini"):
        finish = "content_filter"
    out_tokens = _count(text)
    model = reply.model or req.model or owner.model
    if api.startswith("openai"):
        cached = owner._cached_prefix(api, req.prompt)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out_tokens + reply.reasoning_tokens,
            "total_tokens": prompt_tokens + out_tokens + reply.reasoning_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reply.reasoning_tokens, "audio_tokens": 0},
        }
        if api == "openai-responses":
            return responses_fake.answer(
                n=n,
                model=model,
                body=body,
                text=text,
                finish=finish,
                refusal=refusal,
                prompt_tokens=prompt_tokens,
                out_tokens=out_tokens,
                reasoning_tokens=reply.reasoning_tokens,
                cached=cached,
            )
        reason = {"stop": "stop", "max_tokens": "length", "content_filter": "content_filter"}[finish]
        created = int(time.time())
        if api == "openai-chat":
            content = None if finish == "content_filter" else text
            message = {"role": "assistant", "content": None if refusal else content, "refusal": refusal}
            return {
                "id": f"chatcmpl-mock{n}",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reason}],
                "usage": usage,
                "system_fingerprint": "fp_mock",
            }
        return {
            "id": f"cmpl-mock{n}",
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": reason}],
            "usage": usage,
        }
    if api == "anthropic":
        read = write = 0
        breakpoint_text = _anthropic_cached_text(body)
        cacheable = _count(breakpoint_text) if breakpoint_text is not None else 0
        if breakpoint_text is not None and cacheable >= owner.cache_min_tokens:
            now = time.monotonic()
            with owner._lock:
                hit = owner._anthropic_cache.get(breakpoint_text, -math.inf) > now
                owner._anthropic_cache[breakpoint_text] = now + owner.cache_ttl_s  # written or refreshed
            if hit:
                read = cacheable
            else:
                write = cacheable
        reason = {"stop": "end_turn", "max_tokens": "max_tokens", "content_filter": "refusal"}[finish]
        return {
            "id": f"msg_mock{n}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}] if finish != "content_filter" else [],
            "stop_reason": reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": max(0, prompt_tokens - read - write),
                "output_tokens": out_tokens,
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
            },
        }
    # gemini
    if finish == "blocked":
        return {
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens},
            "modelVersion": model,
            "responseId": f"mock-{n}",
        }
    cached = owner._cached_prefix(api, req.prompt)
    reason = {"stop": "STOP", "max_tokens": "MAX_TOKENS", "content_filter": "SAFETY"}[finish]
    candidate: dict[str, Any] = {"finishReason": reason, "index": 0}
    if finish != "content_filter":
        candidate["content"] = {"parts": [{"text": text}], "role": "model"}
    usage_meta: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": out_tokens,
        "totalTokenCount": prompt_tokens + out_tokens + reply.reasoning_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
    }
    if cached:
        usage_meta["cachedContentTokenCount"] = cached
    if reply.reasoning_tokens:
        usage_meta["thoughtsTokenCount"] = reply.reasoning_tokens
    return {
        "candidates": [candidate],
        "usageMetadata": usage_meta,
        "modelVersion": model,
        "responseId": f"mock-{n}",
    }


def _anthropic_cached_text(body: dict[str, Any]) -> str | None:
    """Prompt text up to and including the last block marked ``cache_control`` (None if none is)."""
    pieces: list[tuple[str, bool]] = []
    system = body.get("system")
    if isinstance(system, list):
        pieces.extend((b.get("text", ""), "cache_control" in b) for b in system if isinstance(b, dict))
    elif isinstance(system, str):
        pieces.append((system, False))
    for m in body.get("messages") or []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            pieces.extend((b.get("text", ""), "cache_control" in b) for b in content if isinstance(b, dict))
        elif isinstance(content, str):
            pieces.append((content, False))
    marks = [i for i, (_, cached) in enumerate(pieces) if cached]
    if not marks:
        return None
    return "".join(text for text, _ in pieces[: marks[-1] + 1])


# ------------------------------------------------------------------------------------------------ CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Run a mock server until interrupted; prints its URL on the first line of stdout."""
    ap = argparse.ArgumentParser(prog="python -m providers.mock_server", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds per answered request")
    ap.add_argument("--answer", default="OK", help="answer text")
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default="429,500,malformed,drop", help=f"comma list of {','.join(FAULTS)}")
    ap.add_argument("--script", default="", help="comma list of faults for the first requests")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--retry-after", type=float, default=1.0)
    ap.add_argument("--slow", type=float, default=30.0, help="seconds a 'slow' fault stalls")
    ap.add_argument("--context-window", type=int, default=None)
    ap.add_argument("--upstream", default=None, help="forward clean requests to this base URL")
    args = ap.parse_args(argv)
    try:
        server = MockServer(
            answer=args.answer,
            latency_s=args.latency,
            fault_rate=args.fault_rate,
            faults=[f for f in args.faults.split(",") if f],
            script=[f for f in args.script.split(",") if f],
            seed=args.seed,
            retry_after=args.retry_after,
            slow_s=args.slow,
            context_window=args.context_window,
            upstream=args.upstream,
            port=args.port,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
