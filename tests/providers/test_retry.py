"""The central retry loop, through every adapter's SDK against the fake wire-format server: retryable
faults are retried and succeed, others fail fast after exactly one attempt, nothing retries forever,
Retry-After is honoured (and capped), overflows are an outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from providers.base import GenerateRequest, Message, RetryPolicy, StopReason
from providers.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    ProviderError,
    ProviderTimeout,
    ServerError,
)
from providers.fakes.server import MockServer
from tests.providers.conftest import make_provider

REQ = GenerateRequest(messages=(Message("user", "What is the magic number?"),), max_tokens=8)
Factory = Callable[..., MockServer]


@pytest.mark.parametrize("fault", ["429", "500", "503", "529", "malformed", "drop"])
async def test_retryable_fault_is_retried_then_ok(adapter: str, fault: str, mock_server: Factory) -> None:
    srv = mock_server(answer="4729183", script=[fault])
    async with make_provider(adapter, srv) as p:
        res = await p.generate(REQ)
    assert res.text == "4729183"
    assert res.stop_reason is StopReason.STOP
    assert res.attempts == 2
    calls = srv.api_requests()
    assert [r.fault for r in calls] == [fault, "ok"]


async def test_two_faults_in_a_row_then_ok(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(answer="ok", script=["500", "drop", "429", "malformed"])
    async with make_provider(adapter, srv) as p:
        res = await p.generate(REQ)
    assert res.attempts == 5 and res.text == "ok"


async def test_timeout_is_retried(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(answer="late but fine", script=["slow"], slow_s=5.0)
    async with make_provider(adapter, srv, timeout_s=0.5) as p:
        t0 = time.monotonic()
        res = await p.generate(REQ)
        elapsed = time.monotonic() - t0
    assert res.text == "late but fine" and res.attempts == 2
    assert 0.4 < elapsed < 4.0


@pytest.mark.parametrize(
    ("fault", "cls"), [("400", BadRequestError), ("401", AuthError), ("404", NotFoundError)]
)
async def test_client_errors_fail_fast(
    adapter: str, fault: str, cls: type[ProviderError], mock_server: Factory
) -> None:
    srv = mock_server(script=[fault])
    async with make_provider(adapter, srv) as p:
        with pytest.raises(cls) as info:
            await p.generate(REQ)
    assert info.value.attempts == 1
    assert not info.value.retryable
    assert len(srv.api_requests()) == 1
    assert "\n" not in str(info.value)


async def test_permanent_failure_stops_at_the_cap(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(fault_rate=1.0, faults=["500"])
    policy = RetryPolicy(max_attempts=4, initial_backoff_s=0, max_backoff_s=0, jitter_s=0)
    async with make_provider(adapter, srv, retry=policy) as p:
        with pytest.raises(ServerError) as info:
            await p.generate(REQ)
    assert info.value.attempts == 4
    assert len(srv.api_requests()) == 4
    assert "after 4 attempts" in str(info.value)


async def test_default_policy_cap_applies(mock_server: Factory) -> None:
    srv = mock_server(fault_rate=1.0, faults=["503", "drop"])
    async with make_provider("compat", srv) as p:  # the autouse fast policy: default attempts, no backoff
        with pytest.raises(ProviderError) as info:
            await p.generate(REQ)
    assert info.value.retryable
    assert info.value.attempts == p.retry_policy.max_attempts == 6
    assert len(srv.api_requests()) == 6


async def test_total_deadline_stops_retrying(mock_server: Factory) -> None:
    srv = mock_server(fault_rate=1.0, faults=["500"])
    policy = RetryPolicy(
        max_attempts=1000, max_total_s=0.6, initial_backoff_s=0.1, max_backoff_s=0.1, jitter_s=0
    )
    async with make_provider("compat", srv, retry=policy) as p:
        t0 = time.monotonic()
        with pytest.raises(ServerError) as info:
            await p.generate(REQ)
        elapsed = time.monotonic() - t0
    assert 2 <= info.value.attempts < 20
    assert elapsed < 3.0


async def test_retry_after_is_honoured(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(script=["429"], retry_after=0.6)
    policy = RetryPolicy(initial_backoff_s=0, max_backoff_s=0, jitter_s=0, max_retry_after_s=10)
    async with make_provider(adapter, srv, retry=policy) as p:
        res = await p.generate(REQ)
    first, second = srv.api_requests()
    gap = second.started - first.finished
    assert res.attempts == 2
    assert gap >= 0.55, f"retried after {gap:.3f} s, server asked for 0.6 s"
    assert gap < 2.0


async def test_retry_after_is_capped(mock_server: Factory) -> None:
    srv = mock_server(script=["429"], retry_after=30)
    policy = RetryPolicy(initial_backoff_s=0, max_backoff_s=0, jitter_s=0, max_retry_after_s=0.2)
    async with make_provider("openai", srv, retry=policy) as p:
        t0 = time.monotonic()
        res = await p.generate(REQ)
    assert res.attempts == 2
    assert time.monotonic() - t0 < 2.0


async def test_exponential_backoff_without_retry_after(mock_server: Factory) -> None:
    srv = mock_server(script=["500", "500"])
    policy = RetryPolicy(initial_backoff_s=0.15, max_backoff_s=5, jitter_s=0)
    async with make_provider("anthropic", srv, retry=policy) as p:
        await p.generate(REQ)
    a, b, c = srv.api_requests()
    assert b.started - a.finished >= 0.14
    assert c.started - b.finished >= 0.29  # doubled


async def test_retry_after_cools_down_the_whole_endpoint(mock_server: Factory) -> None:
    srv = mock_server(script=["429"], retry_after=0.5, latency_s=0.0)
    policy = RetryPolicy(initial_backoff_s=0, max_backoff_s=0, jitter_s=0, max_retry_after_s=5)
    async with make_provider("compat", srv, retry=policy, concurrency=4) as p:
        first = asyncio.create_task(p.generate(REQ))
        await asyncio.sleep(0.15)  # the 429 has arrived; a new request must wait out the cool-down
        second = await p.generate(REQ)
        await first
    assert second.attempts == 1
    reqs = srv.api_requests()
    assert reqs[0].fault == "429"
    assert min(r.started for r in reqs[1:]) - reqs[0].finished >= 0.45


async def test_context_overflow_is_an_outcome_not_an_error(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(context_window=5)
    async with make_provider(adapter, srv) as p:
        res = await p.generate(GenerateRequest(prompt="one two three four five six seven", max_tokens=4))
    assert res.stop_reason is StopReason.MODEL_LENGTH
    assert res.text == ""
    assert res.attempts == 1
    assert res.usage.input_tokens == 7
    assert res.raw_response  # the server's error body is kept
    assert len(srv.api_requests()) == 1


async def test_unexpected_adapter_exception_is_not_retried(mock_server: Factory) -> None:
    srv = mock_server()
    p = make_provider("compat", srv)

    async def broken(req: GenerateRequest) -> None:
        raise KeyError("bug in adapter")

    p._generate = broken  # type: ignore[method-assign]
    with pytest.raises(ProviderError, match="unexpected error: KeyError") as info:
        await p.generate(REQ)
    assert info.value.attempts == 1 and not info.value.retryable
    await p.aclose()


async def test_hard_timeout_of_the_policy(mock_server: Factory) -> None:
    srv = mock_server(latency_s=2.0)
    policy = RetryPolicy(max_attempts=2, initial_backoff_s=0, max_backoff_s=0, jitter_s=0, timeout_s=0.3)
    async with make_provider("gemini", srv, retry=policy) as p:
        t0 = time.monotonic()
        with pytest.raises(ProviderTimeout) as info:
            await p.generate(REQ)
    assert info.value.attempts == 2
    assert time.monotonic() - t0 < 1.8


async def test_closed_provider_refuses(mock_server: Factory) -> None:
    srv = mock_server()
    p = make_provider("openai", srv)
    await p.aclose()
    await p.aclose()  # idempotent
    with pytest.raises(ProviderError, match="closed"):
        await p.generate(REQ)
