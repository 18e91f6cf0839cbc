"""No API key anywhere: a fake key goes through each adapter on success and failure paths and must
not appear in raw_request, raw_response, exception text/attributes or any log record (DEBUG included,
SDK loggers included)."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable

import pytest

from providers.base import GenerateRequest, Message, RetryPolicy, StopReason
from providers.errors import MissingKeyError, ProviderError
from providers.fakes.server import MockServer
from providers.registry import create_provider, resolve_model
from tests.providers.conftest import FAKE_KEY, make_provider

Factory = Callable[..., MockServer]
REQ = GenerateRequest(messages=(Message("user", "hello"),), system="s", max_tokens=4)
QUICK = RetryPolicy(max_attempts=2, initial_backoff_s=0, max_backoff_s=0, jitter_s=0, max_retry_after_s=0)


def _assert_clean(*things: object) -> None:
    for thing in things:
        text = thing if isinstance(thing, str) else json.dumps(thing, default=repr, ensure_ascii=False)
        assert FAKE_KEY not in text


def _assert_exception_clean(exc: BaseException) -> None:
    _assert_clean(str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc)))
    if isinstance(exc, ProviderError):
        _assert_clean(exc.body, exc.message)
    assert exc.__cause__ is None or FAKE_KEY not in repr(exc.__cause__)


def _assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info and record.exc_info[1] is not None:
            text += "".join(traceback.format_exception(record.exc_info[1]))
        assert FAKE_KEY not in text, f"key leaked in log {record.name}: {text[:200]}"


@pytest.mark.parametrize("fault", ["401", "500", "drop", "malformed", "slow"])
async def test_failures_never_leak_the_key(
    adapter: str, fault: str, mock_server: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A wrong key is presented: the server echoes it in its 401 message, as some real servers do.
    srv = mock_server(fault_rate=1.0, faults=[fault], api_key="the-right-key", slow_s=3.0)
    async with make_provider(adapter, srv, retry=QUICK, timeout_s=0.3) as p:
        with pytest.raises(ProviderError) as info:
            await p.generate(REQ)
        assert FAKE_KEY not in repr(p)
    _assert_exception_clean(info.value)
    _assert_logs_clean(caplog)


async def test_key_echoed_by_server_is_redacted(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(api_key="the-right-key")
    async with make_provider(adapter, srv) as p:
        with pytest.raises(ProviderError) as info:
            await p.generate(REQ)
    assert info.value.attempts == 1
    assert "***" in str(info.value)  # the server did send it back; we removed it
    _assert_exception_clean(info.value)


async def test_success_and_overflow_results_are_clean(
    adapter: str, mock_server: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    srv = mock_server(answer="fine", api_key=FAKE_KEY, context_window=50)
    async with make_provider(adapter, srv) as p:
        ok = await p.generate(REQ)
        over = await p.generate(GenerateRequest(prompt="word " * 60, max_tokens=4))
    assert ok.text == "fine" and over.stop_reason is StopReason.MODEL_LENGTH
    for res in (ok, over):
        _assert_clean(res.raw_request, res.raw_response)
    _assert_logs_clean(caplog)  # the SDKs' DEBUG logs (request options, headers) included


async def test_key_planted_in_prompt_and_answer_is_removed_from_raw_records(
    adapter: str, mock_server: Factory
) -> None:
    # Even if the key ends up in the text (a user pasted it, a server echoed it), the stored raw
    # request/response and the answer do not carry it. (SDK DEBUG logs of a prompt are the user's text.)
    srv = mock_server(answer=f"echo {FAKE_KEY}", api_key=FAKE_KEY)
    async with make_provider(adapter, srv) as p:
        res = await p.generate(GenerateRequest(messages=(Message("user", f"say {FAKE_KEY}"),), max_tokens=8))
    assert res.text == "echo ***"
    _assert_clean(res.raw_request, res.raw_response)


async def test_count_tokens_failure_is_clean(mock_server: Factory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    srv = mock_server(api_key="the-right-key")
    for adapter in ("anthropic", "gemini"):
        async with make_provider(adapter, srv) as p:
            with pytest.raises(ProviderError) as info:
                await p.count_tokens("hello")
        _assert_exception_clean(info.value)
    _assert_logs_clean(caplog)


def test_missing_key_message_has_no_other_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with pytest.raises(MissingKeyError) as info:
        create_provider(resolve_model("claude-sonnet-5-5"))
    _assert_exception_clean(info.value)
