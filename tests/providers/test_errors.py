"""Table-driven error classification: HTTP statuses and bodies of every vendor, each SDK's exceptions,
transport failures, Retry-After parsing, stop-reason mapping, redaction."""

from __future__ import annotations

import asyncio
import email.utils
import json
from typing import Any

import aiohttp
import anthropic
import httpx
import httpx2
import openai
import pytest
from google.genai import errors as genai_errors

from providers.base import StopReason
from providers.doors.anthropic.adapter import classify_anthropic_error, stop_reason_of
from providers.doors.gemini.adapter import classify_gemini_error, finish_reason_of
from providers.doors.openai.adapter import classify_openai_error, finish_to_stop
from providers.errors import (
    AuthError,
    BadRequestError,
    ConnectionDropped,
    ContextLengthExceeded,
    MalformedResponse,
    NotFoundError,
    ProviderError,
    ProviderTimeout,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    classify_status,
    classify_transport,
    is_context_length_message,
    parse_retry_after,
    redact,
)

OPENAI_CTX = {
    "error": {
        "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in "
        "130512 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}
ANTHROPIC_CTX = {
    "type": "error",
    "error": {
        "type": "invalid_request_error",
        "message": "prompt is too long: 210443 tokens > 200000 maximum",
    },
}
GEMINI_CTX = {
    "error": {
        "code": 400,
        "message": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
        "status": "INVALID_ARGUMENT",
    }
}
LLAMACPP_CTX = {
    "error": {
        "code": 400,
        "message": "request (3002 tokens) exceeds the available context size (2048 tokens), "
        "try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 3002,
        "n_ctx": 2048,
    }
}
VLLM_CTX = {
    "object": "error",
    "message": "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens "
    "(4990 in the messages, 10 in the completion). Please reduce the length of the messages or completion.",
    "type": "BadRequestError",
    "code": 400,
}
SGLANG_CTX = {
    "error": {"message": "The input (9000 tokens) is longer than the model's context length (8192 tokens)."}
}

# status, body, headers -> class, retryable, retry_after, (prompt_tokens, window) for overflows
STATUS_CASES: list[tuple[str, int, Any, dict[str, str], type[ProviderError], bool, float | None, Any]] = [
    (
        "openai 429",
        429,
        {"error": {"message": "Rate limit", "code": "rate_limit_exceeded"}},
        {"retry-after": "2"},
        RateLimitError,
        True,
        2.0,
        None,
    ),
    (
        "openai 429 ms",
        429,
        {"error": {"message": "Rate limit"}},
        {"retry-after-ms": "250"},
        RateLimitError,
        True,
        0.25,
        None,
    ),
    (
        "openai quota",
        429,
        {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota"}},
        {},
        QuotaExceededError,
        False,
        None,
        None,
    ),
    ("500", 500, {"error": {"message": "boom"}}, {}, ServerError, True, None, None),
    ("502 text", 502, "<html>Bad gateway</html>", {}, ServerError, True, None, None),
    ("503", 503, {"error": {"message": "unavailable"}}, {"retry-after": "3"}, ServerError, True, 3.0, None),
    ("504", 504, None, {}, ServerError, True, None, None),
    (
        "anthropic 529",
        529,
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        {},
        ServerError,
        True,
        None,
        None,
    ),
    ("501", 501, {"error": {"message": "not implemented"}}, {}, BadRequestError, False, None, None),
    ("408", 408, None, {}, ProviderTimeout, True, None, None),
    ("409", 409, {"error": {"message": "conflict"}}, {}, ServerError, True, None, None),
    ("400", 400, {"error": {"message": "bad"}}, {}, BadRequestError, False, None, None),
    ("401", 401, {"error": {"message": "Incorrect API key"}}, {}, AuthError, False, None, None),
    ("403", 403, {"error": {"message": "forbidden"}}, {}, AuthError, False, None, None),
    (
        "gemini bad key",
        400,
        {
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
                ],
            }
        },
        {},
        AuthError,
        False,
        None,
        None,
    ),
    ("404", 404, {"error": {"message": "model not found"}}, {}, NotFoundError, False, None, None),
    (
        "413",
        413,
        {"error": {"type": "request_too_large", "message": "too large"}},
        {},
        BadRequestError,
        False,
        None,
        None,
    ),
    ("422", 422, {"detail": "bad"}, {}, BadRequestError, False, None, None),
    ("openai ctx", 400, OPENAI_CTX, {}, ContextLengthExceeded, False, None, (130512, 128000)),
    ("anthropic ctx", 400, ANTHROPIC_CTX, {}, ContextLengthExceeded, False, None, (210443, 200000)),
    ("gemini ctx", 400, GEMINI_CTX, {}, ContextLengthExceeded, False, None, (1200000, 1048576)),
    ("llama.cpp ctx", 400, LLAMACPP_CTX, {}, ContextLengthExceeded, False, None, (3002, 2048)),
    ("vllm ctx", 400, VLLM_CTX, {}, ContextLengthExceeded, False, None, (5000, 4096)),
    ("sglang ctx", 400, SGLANG_CTX, {}, ContextLengthExceeded, False, None, (9000, 8192)),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "cls", "retryable", "retry_after", "numbers"),
    [c[1:] for c in STATUS_CASES],
    ids=[c[0] for c in STATUS_CASES],
)
def test_classify_status(
    status: int,
    body: Any,
    headers: dict[str, str],
    cls: type[ProviderError],
    retryable: bool,
    retry_after: float | None,
    numbers: Any,
) -> None:
    err = classify_status(status, body, headers, provider="m")
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.status == status
    assert err.retry_after == retry_after
    if numbers is not None:
        assert isinstance(err, ContextLengthExceeded)
        assert (err.prompt_tokens, err.context_window) == numbers
    assert "\n" not in str(err)


def test_context_messages_are_not_retryable_even_from_5xx_wording() -> None:
    # A 500 whose text mentions the context is still a server error (retry), never an overflow.
    err = classify_status(500, {"error": {"message": "maximum context length reached by worker"}})
    assert type(err) is ServerError
    assert is_context_length_message("prompt is too long: 5 tokens > 4 maximum")
    assert not is_context_length_message("rate limit exceeded")


# ------------------------------------------------------------------------------------- Retry-After


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "20", "retry-after": "9"}) == 0.02
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after({"Retry-After": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "-4"}) == 0.0
    assert parse_retry_after({"Retry-After": "nan"}) is None
    assert parse_retry_after({}) is None
    body = {
        "error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}]}
    }
    assert parse_retry_after(None, body) == 17.0
    assert parse_retry_after(None, [body]) == 17.0


# -------------------------------------------------------------------------------- transport errors

_REQ = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")

TRANSPORT_CASES: list[tuple[str, BaseException, type[ProviderError] | None]] = [
    ("TimeoutError", TimeoutError(), ProviderTimeout),
    ("asyncio timeout", asyncio.TimeoutError(), ProviderTimeout),
    ("httpx read timeout", httpx.ReadTimeout("slow"), ProviderTimeout),
    ("httpx2 connect timeout", httpx2.ConnectTimeout("slow"), ProviderTimeout),
    ("aiohttp timeout", aiohttp.ServerTimeoutError("slow"), ProviderTimeout),
    ("httpx dropped", httpx.RemoteProtocolError("Server disconnected"), ConnectionDropped),
    ("httpx2 connect", httpx2.ConnectError("refused"), ConnectionDropped),
    ("aiohttp dropped", aiohttp.ServerDisconnectedError(), ConnectionDropped),
    ("reset", ConnectionResetError(104, "reset"), ConnectionDropped),
    ("refused", ConnectionRefusedError(111, "refused"), ConnectionDropped),
    ("bad json", json.JSONDecodeError("Expecting value", "{", 1), MalformedResponse),
    ("other", ValueError("nope"), None),
]


@pytest.mark.parametrize(
    ("exc", "cls"), [c[1:] for c in TRANSPORT_CASES], ids=[c[0] for c in TRANSPORT_CASES]
)
def test_classify_transport(exc: BaseException, cls: type[ProviderError] | None) -> None:
    err = classify_transport(exc, provider="m")
    if cls is None:
        assert err is None
    else:
        assert type(err) is cls
        assert err.retryable


# ------------------------------------------------------------------------------- per-SDK tables


def _resp(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, headers=headers or {}, json=body, request=_REQ)


def _openai_status(status: int, body: Any, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    return openai.APIStatusError("err", response=_resp(status, body, headers), body=body)


def _with_cause(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


OPENAI_CASES: list[tuple[str, BaseException, type[ProviderError], float | None]] = [
    (
        "429",
        _openai_status(429, {"error": {"message": "slow down"}}, {"retry-after": "3"}),
        RateLimitError,
        3.0,
    ),
    (
        "quota",
        _openai_status(429, {"error": {"message": "x", "code": "insufficient_quota"}}),
        QuotaExceededError,
        None,
    ),
    ("500", _openai_status(500, {"error": {"message": "x"}}), ServerError, None),
    ("400", _openai_status(400, {"error": {"message": "bad"}}), BadRequestError, None),
    ("401", _openai_status(401, {"error": {"message": "bad key"}}), AuthError, None),
    ("404", _openai_status(404, {"error": {"message": "no model"}}), NotFoundError, None),
    ("ctx", _openai_status(400, OPENAI_CTX), ContextLengthExceeded, None),
    ("llama.cpp ctx", _openai_status(400, LLAMACPP_CTX), ContextLengthExceeded, None),
    ("timeout", openai.APITimeoutError(request=_REQ), ProviderTimeout, None),
    (
        "dropped",
        _with_cause(openai.APIConnectionError(request=_REQ), httpx2.RemoteProtocolError("closed")),
        ConnectionDropped,
        None,
    ),
    (
        "read timeout under connection error",
        _with_cause(openai.APIConnectionError(request=_REQ), httpx2.ReadTimeout("slow")),
        ProviderTimeout,
        None,
    ),
    (
        "schema",
        openai.APIResponseValidationError(response=_resp(200, {"x": 1}), body={"x": 1}),
        MalformedResponse,
        None,
    ),
    ("bad json", json.JSONDecodeError("Expecting value", "{", 1), MalformedResponse, None),
    ("other", KeyError("x"), ProviderError, None),
]


@pytest.mark.parametrize(
    ("exc", "cls", "retry_after"), [c[1:] for c in OPENAI_CASES], ids=[c[0] for c in OPENAI_CASES]
)
def test_openai_sdk_errors(exc: BaseException, cls: type[ProviderError], retry_after: float | None) -> None:
    err = classify_openai_error(exc, provider="gpt", secrets=())
    assert type(err) is cls
    assert err.retry_after == retry_after
    assert err.retryable is cls.retryable


def _anthropic_status(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> anthropic.APIStatusError:
    return anthropic.APIStatusError("err", response=_resp(status, body, headers), body=body)


def _anthropic_body(etype: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": etype, "message": message}}


ANTHROPIC_CASES: list[tuple[str, BaseException, type[ProviderError]]] = [
    (
        "429",
        _anthropic_status(429, _anthropic_body("rate_limit_error", "slow"), {"retry-after": "1"}),
        RateLimitError,
    ),
    ("529", _anthropic_status(529, _anthropic_body("overloaded_error", "Overloaded")), ServerError),
    ("500", _anthropic_status(500, _anthropic_body("api_error", "x")), ServerError),
    ("400", _anthropic_status(400, _anthropic_body("invalid_request_error", "bad")), BadRequestError),
    ("401", _anthropic_status(401, _anthropic_body("authentication_error", "invalid x-api-key")), AuthError),
    ("403", _anthropic_status(403, _anthropic_body("permission_error", "no")), AuthError),
    ("404", _anthropic_status(404, _anthropic_body("not_found_error", "model")), NotFoundError),
    ("ctx", _anthropic_status(400, ANTHROPIC_CTX), ContextLengthExceeded),
    ("timeout", anthropic.APITimeoutError(request=_REQ), ProviderTimeout),
    (
        "dropped",
        _with_cause(anthropic.APIConnectionError(request=_REQ), aiohttp.ServerDisconnectedError()),
        ConnectionDropped,
    ),
    ("bad json", json.JSONDecodeError("Expecting value", "{", 1), MalformedResponse),
]


@pytest.mark.parametrize(
    ("exc", "cls"), [c[1:] for c in ANTHROPIC_CASES], ids=[c[0] for c in ANTHROPIC_CASES]
)
def test_anthropic_sdk_errors(exc: BaseException, cls: type[ProviderError]) -> None:
    err = classify_anthropic_error(exc, provider="claude", secrets=())
    assert type(err) is cls
    assert err.retryable is cls.retryable


def _gemini_body(code: int, status: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "status": status, "message": message}
    if details:
        err["details"] = details
    return {"error": err}


GEMINI_CASES: list[tuple[str, BaseException, type[ProviderError], float | None]] = [
    (
        "429",
        genai_errors.ClientError(
            429,
            _gemini_body(
                429,
                "RESOURCE_EXHAUSTED",
                "quota",
                [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}],
            ),
        ),
        RateLimitError,
        7.0,
    ),
    ("500", genai_errors.ServerError(500, _gemini_body(500, "INTERNAL", "x")), ServerError, None),
    ("503", genai_errors.ServerError(503, _gemini_body(503, "UNAVAILABLE", "overloaded")), ServerError, None),
    (
        "400",
        genai_errors.ClientError(400, _gemini_body(400, "INVALID_ARGUMENT", "bad")),
        BadRequestError,
        None,
    ),
    (
        "bad key",
        genai_errors.ClientError(
            400,
            _gemini_body(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
            ),
        ),
        AuthError,
        None,
    ),
    ("403", genai_errors.ClientError(403, _gemini_body(403, "PERMISSION_DENIED", "no")), AuthError, None),
    (
        "404",
        genai_errors.ClientError(404, _gemini_body(404, "NOT_FOUND", "models/x is not found")),
        NotFoundError,
        None,
    ),
    ("ctx", genai_errors.ClientError(400, GEMINI_CTX), ContextLengthExceeded, None),
    ("timeout", httpx2.ReadTimeout("slow"), ProviderTimeout, None),
    ("aiohttp dropped", aiohttp.ServerDisconnectedError(), ConnectionDropped, None),
    ("bad json", json.JSONDecodeError("Expecting value", "{", 1), MalformedResponse, None),
]


@pytest.mark.parametrize(
    ("exc", "cls", "retry_after"), [c[1:] for c in GEMINI_CASES], ids=[c[0] for c in GEMINI_CASES]
)
def test_gemini_sdk_errors(exc: BaseException, cls: type[ProviderError], retry_after: float | None) -> None:
    err = classify_gemini_error(exc, provider="gemini", secrets=())
    assert type(err) is cls
    assert err.retry_after == retry_after
    assert err.retryable is cls.retryable


# ----------------------------------------------------------------------------------- stop reasons


@pytest.mark.parametrize(
    ("fn", "value", "expected"),
    [
        (finish_to_stop, "stop", StopReason.STOP),
        (finish_to_stop, "length", StopReason.TRUNCATED),
        (finish_to_stop, "content_filter", StopReason.CONTENT_FILTER),
        (finish_to_stop, "tool_calls", StopReason.OTHER),
        (finish_to_stop, None, StopReason.OTHER),
        (stop_reason_of, "end_turn", StopReason.STOP),
        (stop_reason_of, "stop_sequence", StopReason.STOP),
        (stop_reason_of, "max_tokens", StopReason.TRUNCATED),
        (stop_reason_of, "refusal", StopReason.CONTENT_FILTER),
        (stop_reason_of, "model_context_window_exceeded", StopReason.MODEL_LENGTH),
        (stop_reason_of, "pause_turn", StopReason.OTHER),
        (finish_reason_of, "STOP", StopReason.STOP),
        (finish_reason_of, "MAX_TOKENS", StopReason.TRUNCATED),
        (finish_reason_of, "SAFETY", StopReason.CONTENT_FILTER),
        (finish_reason_of, "RECITATION", StopReason.CONTENT_FILTER),
        (finish_reason_of, "PROHIBITED_CONTENT", StopReason.CONTENT_FILTER),
        (finish_reason_of, "MALFORMED_FUNCTION_CALL", StopReason.OTHER),
        (finish_reason_of, None, StopReason.OTHER),
    ],
)
def test_stop_reason_tables(fn: Any, value: Any, expected: StopReason) -> None:
    assert fn(value) is expected


def test_gemini_enum_finish_reason() -> None:
    from google.genai import types

    assert finish_reason_of(types.FinishReason.MAX_TOKENS) is StopReason.TRUNCATED
    assert finish_reason_of(types.FinishReason.SAFETY) is StopReason.CONTENT_FILTER


# -------------------------------------------------------------------------------------- redaction


def test_redact_walks_structures_and_headers() -> None:
    key = "my-very-secret-key-123"
    value = {
        "headers": {"Authorization": f"Bearer {key}", "x-goog-api-key": key, "Content-Type": "json"},
        "url": f"https://h/v1beta/models/m:generateContent?key={key}",
        "list": [key, ("a", key)],
        "n": 3,
        "other": "sk-proj-abcdefghijklmnopqrstuvwxyz0123 and AIzaSyA1234567890abcdefghijklmnop",
    }
    out = redact(value, [key, None, ""])
    text = json.dumps(out)
    assert key not in text
    assert "sk-proj-abcdefghijklmnop" not in text and "AIzaSyA1234567890" not in text
    assert out["headers"]["Content-Type"] == "json"
    assert out["headers"]["Authorization"] == "***"
    assert out["n"] == 3
    assert isinstance(out["list"][1], tuple)


def test_classified_error_messages_are_redacted() -> None:
    key = "test-key-0123456789"
    err = classify_status(401, {"error": {"message": f"Incorrect API key provided: {key}"}}, secrets=[key])
    assert key not in str(err) and key not in json.dumps(err.body)
    assert "***" in str(err)
