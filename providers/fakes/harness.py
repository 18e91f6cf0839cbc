"""The shared fake-server harness: one aiohttp server that speaks the wire formats it is given.

A wire format (:class:`Wire`) lives in its door's ``fake.py``: which paths are its API calls, how a body is
checked against the SDK's types and read, what it answers, and its error bodies. The harness does the rest,
the same for every vendor:

* a background event loop (``with FakeServer(wires=...) as srv`` from sync or async code): 64 concurrent
  requests with 200 ms latency are 64 sleeping coroutines, and the C HTTP parser keeps its CPU per request
  low enough not to be the bottleneck of the provider benchmark;
* faults injected by a script (one entry per request) and/or at a rate from a seeded RNG (``429`` with
  ``Retry-After``, ``500``, ``503``, ``529``, ``malformed`` JSON, ``slow`` past the client's timeout, ``drop``
  the connection, ``context_length``, ``400``, ``401``, ``404``, ``quota``: the vendor's out-of-credit error);
* a context window that triggers the vendor's own overflow error; an API key to check (a wrong one gets a
  401 that *echoes the key*, as some real servers do, to test redaction); an implicit prefix cache;
* an ``upstream`` URL to forward clean requests to (faults in front of a real llama.cpp server);
* the batch state shared by the vendors' batch endpoints (:class:`BatchMock`).

Strict by default: a wire checks every body against the installed SDK's request types and answers a bad
one with the vendor's own 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import random
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import aiohttp
from aiohttp import web

__all__ = [
    "FAULTS",
    "BatchMock",
    "BatchRoutes",
    "FakeServer",
    "MockBatch",
    "MockReply",
    "MockRequest",
    "RecordedRequest",
    "Wire",
    "count_tokens",
    "drop_connection",
    "iso_time",
    "json_response",
    "jsonl_bytes",
    "jsonl_rows",
    "mock_tokens",
    "presented_key",
    "read_request",
    "server_base",
    "text_of",
    "truncate",
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
_CJK = "\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"  # CJK, CJK punctuation, full-width forms
_TOKEN = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
Problem = tuple[str, str]


def mock_tokens(text: str) -> list[str]:
    """The fake's tokenizer: one token per CJK character or punctuation mark, one per other word."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """``len(mock_tokens(text))``."""
    return len(_TOKEN.findall(text))


def truncate(text: str, max_tokens: int) -> tuple[str, bool]:
    """``text`` cut to ``max_tokens`` fake tokens, and whether it was cut."""
    matches = list(_TOKEN.finditer(text))
    if len(matches) <= max_tokens:
        return text, False
    return (text[: matches[max_tokens - 1].end()] if max_tokens > 0 else ""), True


def text_of(content: Any) -> str:
    """Text of an OpenAI/Anthropic content value (string or list of parts/blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(text_of(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return ""


def iso_time(t: float) -> str:
    """RFC 3339 UTC time with a ``Z``."""
    return dt.datetime.fromtimestamp(t, tz=dt.timezone.utc).isoformat().replace("+00:00", "Z")


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response (``payload`` may be raw bytes, for malformed bodies)."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return web.Response(status=status, body=data, content_type="application/json", headers=headers)


def presented_key(headers: dict[str, str], query_key: str | None) -> str | None:
    """The credential a request presents (Bearer, ``x-api-key``, ``x-goog-api-key`` or ``?key=``)."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for name in ("x-api-key", "x-goog-api-key"):
        if headers.get(name):
            return headers[name]
    return query_key


def jsonl_rows(data: bytes) -> list[Any]:
    """The JSON values of a JSONL file's non-blank lines."""
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def jsonl_bytes(rows: Iterable[Any]) -> bytes:
    """A JSONL file of ``rows`` (one JSON value a line, each line ending in a newline)."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


async def read_request(request: web.Request) -> tuple[bytes, dict[str, str], Any]:
    """``(raw body, headers with lower-case names, decoded JSON body)``; a body that is not JSON is kept
    as text (a wire answers it with its 400)."""
    raw = await request.read()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return raw, headers, body


def drop_connection(request: web.Request) -> web.Response:
    """Close the connection without an answer (what the client sees as a dropped connection)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=499)  # never sent: the transport is closed


def server_base(request: web.Request) -> str:
    """``scheme://host`` of the fake as the client reached it."""
    return f"{request.scheme}://{request.host}"


def _plain_error(message: str, etype: str) -> dict[str, Any]:
    """The error body of an OpenAI-style server (no route, failed upstream)."""
    return {"error": {"message": message, "type": etype, "param": None, "code": None}}


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

    def clipped(self, max_tokens: int | None) -> tuple[str, str]:
        """``(text, finish)`` of the answer to a request capped at ``max_tokens``: the text cut to the cap
        (None: no cap) and then finished by ``max_tokens``."""
        if max_tokens is None:
            return self.text, self.finish
        text, cut = truncate(self.text, max_tokens)
        return text, "max_tokens" if cut else self.finish


@dataclass(frozen=True)
class MockRequest:
    """A parsed API request, as handed to the answer callback.

    Attributes:
        api: Which wire format (``openai-chat``, ``anthropic``, ``gemini-count``...).
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


class Wire(ABC):
    """One vendor's wire format, as the fake speaks it (subclassed in each door's ``fake.py``).

    Attributes:
        vendor: Name used in batch counters (``srv.batch.count(vendor, "create")``).
        batch_routes: The vendor's batch endpoints (:class:`BatchRoutes`), or None.
        fault_apis: Request kinds that can get faults (generation and count calls).
        retry_after_header: Whether a 429 carries ``Retry-After`` (Google's carry the wait in the body).
    """

    vendor: str = ""
    fault_apis: frozenset[str] = frozenset()
    retry_after_header: bool = True
    #: The vendor's batch endpoints, mounted by :meth:`add_routes` (None: no batch API).
    batch_routes: type[BatchRoutes] | None = None

    @abstractmethod
    def route(self, method: str, path: str) -> tuple[str, str | None] | None:
        """``(api, model named in the path)`` when ``method path`` is one of this wire's API calls."""

    def parse(self, api: str, path_model: str | None, body: dict[str, Any]) -> tuple[str, int | None]:
        """``(prompt text, max output tokens)`` of a request body."""
        return "", None

    def check_body(self, api: str, body: dict[str, Any]) -> Problem | None:
        """The first problem of a body against the SDK's request types (None: valid)."""
        return None

    @abstractmethod
    def error_body(self, api: str, status: int, message: str, retry_after: float | None = None) -> Any:
        """An error in the vendor's own body format."""

    def invalid_request(self, api: str, param: str, message: str) -> Any:
        """A rejected request body in the vendor's own 400 format."""
        return self.error_body(api, 400, f"{param}: {message}")

    def invalid_status(self, api: str, param: str, message: str) -> int:
        """The HTTP status the vendor answers a rejected body with (400; some refusals are 404s)."""
        return 400

    def context_error(self, api: str, prompt_tokens: int, window: int) -> Any:
        """The vendor's error for a prompt over the window (a 400)."""
        return self.error_body(api, 400, f"prompt of {prompt_tokens} tokens exceeds the window of {window}")

    def quota_error(self, api: str) -> tuple[int, Any]:
        """The vendor's out-of-credit answer."""
        return 429, self.error_body(api, 429, "quota exceeded")

    def auth_error(self, api: str, presented: str | None) -> tuple[int, Any]:
        """The vendor's answer to a wrong key (echoing it, to test redaction)."""
        return 401, self.error_body(api, 401, f"Incorrect API key provided: {presented or ''}")

    def presented_key(self, headers: dict[str, str], query_key: str | None) -> str | None:
        """The credential a request presents (default: :func:`presented_key`'s headers)."""
        return presented_key(headers, query_key)

    @abstractmethod
    def answer(self, server: FakeServer, api: str, req: MockRequest, prompt_tokens: int) -> Any:
        """The success body of a valid request."""

    def get(self, server: FakeServer, path: str, headers: dict[str, str]) -> web.Response | None:
        """Answer a ``GET`` that is not an API call (models endpoints, health), or None: not this wire's
        (what a real server behind ``server.upstream`` answers is left to it)."""
        return None

    def add_routes(self, app: web.Application, server: FakeServer) -> None:
        """Mount extra routes before the catch-all (default: :attr:`batch_routes`)."""
        if self.batch_routes is not None:
            self.batch_routes(self, server).mount(app)


class FakeServer:
    """The fake server (see the module docstring).

    Args:
        wires: The wire formats it speaks, tried in order for every request.
        answer: Text of every answer, or a callback ``(MockRequest) -> str | MockReply``.
        latency_s: Seconds every answered request waits before answering.
        fault_rate: Probability that a request (past the script) gets a fault from ``faults``.
        faults: Faults drawn at ``fault_rate``.
        script: Faults for the first requests, in arrival order (``"ok"`` for none).
        seed: Seed of the fault RNG (same seed, same sequence of draws).
        retry_after: ``Retry-After`` seconds sent with 429 (None: no header).
        slow_s: How long a ``slow`` fault stalls before answering.
        context_window: Prompts longer than this (fake tokens) get the vendor's overflow error.
        api_key: If set, requests must present it (Bearer, x-api-key, x-goog-api-key or ?key=).
        upstream: Forward requests that get no fault to this base URL (e.g. a llama.cpp server).
        model: Model name reported by ``/v1/models`` and in answers when the request names none.
        host: Address to bind (keep 127.0.0.1).
        port: Port (0: the OS picks a free one).
        fault_apis: Request kinds that can get faults (default: the wires' generation and count calls).
        strict: Validate request bodies against the installed SDKs' request types (400 if not).
        vendor_models: ``{model id: {"window": int, "max_output": int, "lifecycle": str,
            "adaptive": bool}}`` served by the vendors' models endpoints (others: 404).
        cache_ttl_s: Lifetime of an explicit cache entry, refreshed by each read (Anthropic's 5 minutes).
        cache_ttl_long_s: Lifetime of an entry written with ``ttl: "1h"``.
        cache_min_tokens: The minimum cacheable prefix of explicit breakpoints (Anthropic's 1024 tokens).
        tokenizer: Counts a request's prompt tokens, for generation and count endpoints alike (default:
            :func:`mock_tokens`); e.g. a real BPE's count to test sizing against a vocabulary whose counts
            do not add up where texts are joined.
    """

    def __init__(
        self,
        *,
        wires: Sequence[Wire],
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
        fault_apis: Iterable[str] | None = None,
        strict: bool = True,
        vendor_models: dict[str, dict[str, Any]] | None = None,
        cache_ttl_s: float = 300.0,
        cache_ttl_long_s: float = 3600.0,
        cache_min_tokens: int = 1024,
        tokenizer: Callable[[str], int] | None = None,
    ) -> None:
        unknown = [f for f in (*faults, *script) if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError("fault_rate must be within [0, 1]")
        self.wires = tuple(wires)
        self.answer = answer
        self.count_prompt: Callable[[str], int] = tokenizer or count_tokens
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
        if fault_apis is None:
            fault_apis = frozenset().union(*(w.fault_apis for w in self.wires))
        self.fault_apis = frozenset(fault_apis)
        self.strict = strict
        self.vendor_models = dict(vendor_models or {})
        self.requests: list[RecordedRequest] = []
        self._host, self._port = host, port
        self._rng = random.Random(seed)
        self._script_pos = 0
        self.lock = threading.Lock()
        self._stats = _Stats()
        self.ids = itertools.count(1)
        self._last_prompt: dict[str, str] = {}
        self.cache_ttl_s = cache_ttl_s
        self.cache_ttl_long_s = cache_ttl_long_s
        self.cache_min_tokens = cache_min_tokens
        #: Explicit cache entries (Anthropic breakpoints): cached prefix -> when it expires (monotonic).
        self.explicit_cache: dict[str, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._upstream_session: aiohttp.ClientSession | None = None
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
        for wire in self.wires:  # before the catch-all
            wire.add_routes(app, self)
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

    def __enter__(self) -> FakeServer:
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
        with self.lock:
            reqs = list(self.requests)
        return [r for r in reqs if r.api is not None and (api is None or r.api == api)]

    def reset(self, *, script: Iterable[str] | None = None, fault_rate: float | None = None) -> None:
        """Forget recorded requests and stats; optionally load a new script / fault rate."""
        with self.lock:
            self.requests.clear()
            self._stats = _Stats()
            self._rng = random.Random(self.seed)
            self._script_pos = 0
            if script is not None:
                self.script = list(script)
            if fault_rate is not None:
                self.fault_rate = fault_rate

    # --------------------------------------------------------------------------------- for the wires

    def reply(self, req: MockRequest) -> MockReply:
        """The configured answer to ``req``."""
        out = self.answer(req) if callable(self.answer) else self.answer
        return out if isinstance(out, MockReply) else MockReply(str(out))

    def cached_prefix(self, api: str, prompt: str) -> int:
        """Tokens of the common prefix with the previous prompt of this API (an implicit prefix cache)."""
        with self.lock:
            last = self._last_prompt.get(api, "")
            self._last_prompt[api] = prompt
        n = 0
        for a, b in zip(last, prompt, strict=False):
            if a != b:
                break
            n += 1
        return count_tokens(prompt[:n]) if n else 0

    def parse(
        self, wire: Wire, api: str, path_model: str | None, body: Any, headers: dict[str, str]
    ) -> MockRequest:
        """The request as the answer callback sees it."""
        prompt, max_tokens = wire.parse(api, path_model, body if isinstance(body, dict) else {})
        model = path_model or str((body if isinstance(body, dict) else {}).get("model") or "")
        return MockRequest(
            api, model, prompt, max_tokens if isinstance(max_tokens, int) else None, body, headers
        )

    # ------------------------------------------------------------------------------------- internals

    def _route(self, method: str, path: str) -> tuple[Wire | None, str | None, str | None]:
        if method == "POST":
            for wire in self.wires:
                hit = wire.route(method, path)
                if hit is not None:
                    return wire, hit[0], hit[1]
        return None, None, None

    def _next_fault(self, api: str | None) -> str:
        if api not in self.fault_apis:
            return "ok"
        with self.lock:
            if self._script_pos < len(self.script):
                fault = self.script[self._script_pos]
                self._script_pos += 1
                return fault
            if self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.faults)
            return "ok"

    def _begin(self, rec: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(rec)
            self._stats.faults[rec.fault] += 1
            self._stats.in_flight += 1
            self._stats.max_in_flight = max(self._stats.max_in_flight, self._stats.in_flight)

    def _end(self) -> None:
        with self.lock:
            self._stats.in_flight -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            return await self._recorded(request)
        finally:
            if task is not None:
                self._handlers.discard(task)

    async def _recorded(self, request: web.Request) -> web.StreamResponse:
        raw, headers, body = await read_request(request)
        wire, api, path_model = self._route(request.method, request.path)

        async def respond(fault: str) -> web.Response:
            if wire is None or api is None:
                return await self._other(request, raw, headers)
            return await self._dispatch(request, wire, api, path_model, fault, raw, body, headers)

        return await self._record(request, api, body, headers, respond)

    async def _record(
        self,
        request: web.Request,
        api: str | None,
        body: Any,
        headers: dict[str, str],
        respond: Callable[[str], Awaitable[web.Response]],
    ) -> web.Response:
        """Draw the request's fault, record it (in flight until answered) and answer with ``respond(fault)``
        (for servers that route and refuse before the wire: Azure, Vertex, Bedrock)."""
        fault = self._next_fault(api)
        rec = RecordedRequest(request.method, request.path, api, fault, body, headers, time.monotonic())
        self._begin(rec)
        try:
            response = await respond(fault)
            rec.status = None if response.status == 499 else response.status
            return response
        finally:
            rec.finished = time.monotonic()
            self._end()

    async def _other(self, request: web.Request, raw: bytes, headers: dict[str, str]) -> web.Response:
        """A request that is no API call: a wire's GET (models, health), the upstream, or a 404."""
        method, path = request.method, request.path
        if method == "GET":
            for wire in self.wires:
                response = wire.get(self, path, headers)
                if response is not None:
                    return response
        if self.upstream:
            return await self._forward(request, raw, headers)
        return json_response(404, _plain_error(f"no route {method} {path}", "invalid_request_error"))

    async def _dispatch(
        self,
        request: web.Request,
        wire: Wire,
        api: str,
        path_model: str | None,
        fault: str,
        raw: bytes,
        body: Any,
        headers: dict[str, str],
    ) -> web.Response:
        # Faults that do not depend on the request.
        if fault == "drop":
            return drop_connection(request)
        if fault == "malformed":
            await asyncio.sleep(self.latency_s)
            return json_response(
                200, b'{"id": "broken", "choices": [{"index": 0, "message": {"content": "tru'
            )
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
        if fault == "quota":
            await asyncio.sleep(self.latency_s)
            return json_response(*wire.quota_error(api))
        if fault in _STATUS_FAULTS:
            status = _STATUS_FAULTS[fault]
            await asyncio.sleep(self.latency_s)
            extra: dict[str, str] = {}
            if status == 429 and self.retry_after is not None and wire.retry_after_header:
                extra["Retry-After"] = f"{self.retry_after:g}"
            message = _FAULT_MESSAGES.get(
                status, "The server had an error while processing your request (mock fault)."
            )
            return json_response(status, wire.error_body(api, status, message, self.retry_after), extra)
        # Authentication.
        presented = wire.presented_key(headers, request.query.get("key"))
        if fault == "401" or (self.api_key is not None and presented != self.api_key):
            return json_response(*wire.auth_error(api, presented))
        if not isinstance(body, dict):
            return json_response(400, wire.error_body(api, 400, "request body is not a JSON object"))
        if self.strict:
            problem = wire.check_body(api, body)
            if problem is not None:
                return json_response(wire.invalid_status(api, *problem), wire.invalid_request(api, *problem))
        req = self.parse(wire, api, path_model, body, headers)
        prompt_tokens = self.count_prompt(req.prompt)
        too_long = self.context_window is not None and prompt_tokens > self.context_window
        if fault == "context_length" or too_long:
            window = self.context_window or max(1, prompt_tokens - 1)
            await asyncio.sleep(min(self.latency_s, 0.05))
            return json_response(400, wire.context_error(api, prompt_tokens, window))
        await asyncio.sleep(self.latency_s)
        if self.upstream:
            return await self._forward(request, raw, headers)
        return json_response(200, wire.answer(self, api, req, prompt_tokens))

    async def _forward(self, request: web.Request, raw: bytes, headers: dict[str, str]) -> web.Response:
        session = self._upstream_session
        assert session is not None and self.upstream is not None
        wanted = ("content-type", "authorization", "x-api-key", "accept")
        keep = {k: v for k, v in headers.items() if k in wanted}
        try:
            async with session.request(
                request.method, self.upstream + request.path_qs, data=raw, headers=keep
            ) as resp:
                content = await resp.read()
                return web.Response(
                    status=resp.status, body=content, content_type=resp.content_type or "application/json"
                )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return json_response(502, _plain_error(f"upstream failed: {type(exc).__name__}", "server_error"))


_STATUS_FAULTS = {"429": 429, "500": 500, "503": 503, "529": 529, "400": 400, "404": 404}
_FAULT_MESSAGES = {
    429: "Rate limit reached for requests (mock). Please try again later.",
    400: "Invalid request (mock fault).",
    404: "The model does not exist (mock fault).",
}


# ------------------------------------------------------------------------------------------- batches


@dataclass
class MockBatch:
    """One batch held by the fake."""

    vendor: str
    id: str
    created: float
    custom_ids: list[str]
    #: custom_id -> (HTTP status, body) as the synchronous endpoint would have answered.
    outcomes: dict[str, tuple[int, Any]]
    endpoint: str = ""
    input_file_id: str = ""
    model: str = ""
    polls: int = 0
    canceled: bool = False
    output_file_id: str | None = None
    error_file_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: custom_id -> the request body as received (OpenAI ``body``, Anthropic ``params``, Gemini ``request``).
    bodies: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> int:
        """How many requests were answered (status 200)."""
        return sum(1 for status, _ in self.outcomes.values() if status == 200)


class BatchMock:
    """The batch state of one fake server (``server.batch``), shared by the wires' batch endpoints.

    Each batched request is answered by the synchronous answer path (same callback, same token counts, same
    prefix-cache accounting, same overflow error past ``context_window``). A batch reports "in progress" for
    :attr:`polls_to_complete` status calls, then ends.

    Attributes:
        polls_to_complete: Status calls that still see the batch in progress before it ends.
        fail_ids: Custom ids that get a server error (500) instead of an answer.
        calls: Counter of ``(vendor, action)``: ``upload``, ``create``, ``poll``, ``list``, ``results``,
            ``download``, ``cancel``.
        batches: Batches by id.
        files: Uploaded and result files by id.
    """

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.polls_to_complete = 0
        self.fail_ids: set[str] = set()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.batches: dict[str, MockBatch] = {}
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def count(self, vendor: str, action: str) -> int:
        """How many ``action`` calls ``vendor``'s batch endpoints received."""
        return self.calls[(vendor, action)]

    def new_id(self, prefix: str) -> str:
        """A fresh id with ``prefix``."""
        with self._lock:
            return f"{prefix}{next(self._ids)}"

    def denied(self, request: web.Request, wire: Wire, api: str) -> web.Response | None:
        """The wire's auth error when the request does not present the server's key (None: allowed)."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        presented = wire.presented_key(headers, request.query.get("key"))
        if self.server.api_key is not None and presented != self.server.api_key:
            return json_response(*wire.auth_error(api, presented))
        return None

    def answer_one(
        self, wire: Wire, api: str, model: str | None, body: Any, custom_id: str
    ) -> tuple[int, Any]:
        """(status, body) of one batched request, as the synchronous endpoint answers it."""
        if custom_id in self.fail_ids:
            return 500, wire.error_body(api, 500, "The server had an error processing this request (mock).")
        if not isinstance(body, dict):
            return 400, wire.error_body(api, 400, "request body is not a JSON object")
        if self.server.strict:  # a batched request meets the same contract as a synchronous one
            problem = wire.check_body(api, body)
            if problem is not None:
                return wire.invalid_status(api, *problem), wire.invalid_request(api, *problem)
        req = self.server.parse(wire, api, model, body, {})
        prompt_tokens = count_tokens(req.prompt)
        window = self.server.context_window
        if window is not None and prompt_tokens > window:
            return 400, wire.context_error(api, prompt_tokens, window)
        return 200, wire.answer(self.server, api, req, prompt_tokens)

    def add(self, batch: MockBatch) -> None:
        """Hold a new batch (counts a ``create`` call of its vendor)."""
        with self._lock:
            self.batches[batch.id] = batch
            self.calls[(batch.vendor, "create")] += 1

    def cancel(self, bid: str, vendor: str) -> MockBatch | None:
        """Cancel ``vendor``'s batch ``bid`` (counts a ``cancel`` call); None: it has no such batch."""
        batch = self.get(bid, vendor)
        if batch is not None:
            with self._lock:
                batch.canceled = True
                self.calls[(vendor, "cancel")] += 1
        return batch

    def poll(self, batch: MockBatch, vendor: str) -> bool:
        """Count one status call; True once the batch has ended."""
        with self._lock:
            self.calls[(vendor, "poll")] += 1
            batch.polls += 1
            return batch.canceled or batch.polls > self.polls_to_complete

    def ended(self, batch: MockBatch) -> bool:
        """Whether the batch has ended, without counting a status call (listing does not advance it)."""
        return batch.canceled or batch.polls > self.polls_to_complete

    def newest_first(self, vendor: str, request: web.Request, limit_name: str) -> list[MockBatch]:
        """``vendor``'s batches, newest first, up to the request's page size (counts a ``list`` call)."""
        self.calls[(vendor, "list")] += 1
        try:
            limit = max(1, min(int(request.query.get(limit_name, "20")), 1000))
        except ValueError:
            limit = 20
        mine = sorted((b for b in self.batches.values() if b.vendor == vendor), key=lambda b: -b.created)
        return mine[:limit]

    def get(self, bid: str, vendor: str) -> MockBatch | None:
        """``vendor``'s batch ``bid`` (None: no such batch of this vendor)."""
        batch = self.batches.get(bid)
        return batch if batch is not None and batch.vendor == vendor else None


class BatchRoutes(ABC):
    """A vendor's batch endpoints over the server's shared :class:`BatchMock` (subclassed in a door's fake).

    Attributes:
        api: The wire's request kind whose auth errors the endpoints answer with.
    """

    api: str = ""

    def __init__(self, wire: Wire, server: FakeServer) -> None:
        self.wire, self.server, self.state = wire, server, server.batch

    @abstractmethod
    def mount(self, app: web.Application) -> None:
        """Add the routes to ``app``."""

    def denied(self, request: web.Request) -> web.Response | None:
        """The wire's auth error when the request lacks the server's key (None: allowed)."""
        return self.state.denied(request, self.wire, self.api)
