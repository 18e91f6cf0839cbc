"""Per-endpoint limits: concurrency (observed by the fake server), sharing between providers of one
endpoint, requests-per-minute and tokens-per-minute limiters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from providers.base import EndpointLimits, GenerateRequest, LimitSettings, Message, estimate_tokens
from providers.fakes.server import MockServer
from tests.providers.conftest import make_provider

REQ = GenerateRequest(messages=(Message("user", "hello"),), max_tokens=4)
Factory = Callable[..., MockServer]


@pytest.mark.parametrize("limit", [1, 3, 8])
async def test_concurrency_limit_is_honoured(adapter: str, limit: int, mock_server: Factory) -> None:
    srv = mock_server(latency_s=0.05)
    async with make_provider(adapter, srv, concurrency=limit) as p:
        results = await asyncio.gather(*(p.generate(REQ) for _ in range(limit * 3 + 1)))
    assert len(results) == limit * 3 + 1
    assert srv.max_in_flight == limit  # reached, never exceeded


async def test_providers_of_one_endpoint_share_the_limit(mock_server: Factory) -> None:
    srv = mock_server(latency_s=0.05)
    a = make_provider("compat", srv, concurrency=2)
    b = make_provider("compat", srv, concurrency=2)
    async with a, b:
        await asyncio.gather(*(p.generate(REQ) for p in (a, b) for _ in range(6)))
    assert srv.max_in_flight == 2


async def test_different_endpoints_have_separate_limits(mock_server: Factory) -> None:
    one, two = mock_server(latency_s=0.1), mock_server(latency_s=0.1)
    a = make_provider("openai", one, concurrency=2)
    b = make_provider("openai", two, concurrency=2)
    async with a, b:
        t0 = time.monotonic()
        await asyncio.gather(*(p.generate(REQ) for p in (a, b) for _ in range(4)))
        elapsed = time.monotonic() - t0
    assert one.max_in_flight == 2 and two.max_in_flight == 2
    assert elapsed < 0.6  # 2 rounds of 0.1 s per endpoint, in parallel


async def test_rpm_limit_spaces_requests(mock_server: Factory) -> None:
    srv = mock_server()
    async with make_provider("compat", srv, rpm=600, concurrency=50) as p:  # 10 per second, burst 10
        t0 = time.monotonic()
        await asyncio.gather(*(p.generate(REQ) for _ in range(20)))
        elapsed = time.monotonic() - t0
    assert elapsed >= 0.85
    starts = sorted(r.started for r in srv.api_requests())
    # from t0, not from the first arrival: a loaded machine delays arrivals, never brings the last one forward
    assert starts[-1] - t0 >= 0.85


async def test_without_rpm_no_delay(mock_server: Factory) -> None:
    srv = mock_server()
    async with make_provider("compat", srv, concurrency=50) as p:
        t0 = time.monotonic()
        await asyncio.gather(*(p.generate(REQ) for _ in range(20)))
    assert time.monotonic() - t0 < 0.8


async def test_tpm_limit_charges_prompt_and_output_tokens(mock_server: Factory) -> None:
    srv = mock_server()
    req = GenerateRequest(messages=(Message("user", "x"),), max_tokens=10, est_input_tokens=990)
    # 120k tokens per minute = 2000 per second; a bucket of one minute holds 120 requests of 1000 tokens.
    async with make_provider("compat", srv, tpm=120_000, concurrency=200) as p:
        t0 = time.monotonic()
        await asyncio.gather(*(p.generate(req) for _ in range(120)))
        burst = time.monotonic() - t0
        await p.generate(req)
        await p.generate(req)
        total = time.monotonic() - t0
    assert burst < 3.0
    # 122 requests of 1000 tokens against a bucket of 120,000 refilled at 2000 per second: the last one cannot
    # start before 2000 tokens have refilled, 1 s after t0 (however slowly the burst ran on a loaded machine;
    # without the limiter an idle machine takes a fraction of that).
    assert total >= 0.95


async def test_endpoint_limits_unit() -> None:
    limits = EndpointLimits(LimitSettings(concurrency=2))

    async def hold() -> None:
        async with limits:
            await asyncio.sleep(0.02)

    await asyncio.gather(*(hold() for _ in range(7)))
    assert limits.max_in_flight == 2 and limits.in_flight == 0
    limits.cool_down(0.2)
    t0 = time.monotonic()
    await limits.admit(1)
    assert time.monotonic() - t0 >= 0.18


def test_limit_settings_validation() -> None:
    with pytest.raises(ValueError):
        LimitSettings(concurrency=0)
    with pytest.raises(ValueError):
        LimitSettings(rpm=0)
    with pytest.raises(ValueError):
        LimitSettings(tpm=-1)


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("你好世界") == 4
    assert estimate_tokens("abcdefgh") == 2
