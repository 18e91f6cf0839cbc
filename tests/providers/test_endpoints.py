"""Several replicas behind one provider: least-busy routing, per-replica concurrency, circuit breaker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from providers.base import GenerateRequest, GenerateResult
from providers.endpoints import EndpointRouter, RoutedProvider, parse_base_urls
from providers.errors import ConfigError, ProviderError
from providers.registry import create_provider, resolve_model


def _req(i: int) -> GenerateRequest:
    return GenerateRequest(prompt=f"question {i}: ", max_tokens=4)


def _routed(servers: list[Any], **kwargs: Any) -> RoutedProvider:
    urls = [s.url + "/v1" for s in servers]
    provider = create_provider(resolve_model("openai-compatible"), base_url=urls, **kwargs)
    assert isinstance(provider, RoutedProvider)
    return provider


def test_parse_base_urls() -> None:
    assert parse_base_urls("http://a:1/v1, http://b:2/v1/ ,") == ["http://a:1/v1", "http://b:2/v1"]
    assert parse_base_urls(["http://a:1"]) == ["http://a:1"]
    assert parse_base_urls(None) == []


def test_comma_string_and_single_url(mock_server: Any) -> None:
    a, b = mock_server(answer="A"), mock_server(answer="B")
    info = resolve_model("openai-compatible")
    routed = create_provider(info, base_url=f"{a.url}/v1,{b.url}/v1")
    single = create_provider(info, base_url=[a.url + "/v1"])
    try:
        assert isinstance(routed, RoutedProvider) and len(routed.children) == 2
        assert not isinstance(single, RoutedProvider) and single.base_url == a.url + "/v1"
    finally:
        asyncio.run(routed.aclose())
        asyncio.run(single.aclose())


def test_least_busy_with_per_endpoint_concurrency(mock_server: Any) -> None:
    servers = [mock_server(answer="OK", latency_s=0.05) for _ in range(2)]
    provider = _routed(servers, concurrency=3)

    async def go() -> list[GenerateResult]:
        try:
            return await asyncio.gather(*(provider.generate(_req(i)) for i in range(24)))
        finally:
            await provider.aclose()

    results = asyncio.run(go())
    assert all(r.text == "OK" for r in results)
    counts = [len(s.api_requests()) for s in servers]
    assert sum(counts) == 24 and min(counts) >= 9  # shared about evenly
    assert [s.max_in_flight for s in servers] == [3, 3]  # each replica at its own limit, never above


def test_dead_endpoint_is_taken_out_and_no_request_fails(mock_server: Any) -> None:
    alive, doomed = mock_server(answer="OK", latency_s=0.01), mock_server(answer="OK", latency_s=0.01)
    provider = _routed([alive, doomed], concurrency=4)
    doomed_url = doomed.url + "/v1"

    async def go() -> list[Any]:
        try:
            first = await asyncio.gather(*(provider.generate(_req(i)) for i in range(16)))
            doomed.stop()  # the replica dies between two waves
            second = await asyncio.gather(
                *(provider.generate(_req(i)) for i in range(16, 64)), return_exceptions=True
            )
            return [*first, *second]
        finally:
            await provider.aclose()

    results = asyncio.run(go())
    assert all(isinstance(r, GenerateResult) and r.text == "OK" for r in results), [
        r for r in results if not isinstance(r, GenerateResult)
    ]
    state = {e.url: e for e in provider.router.endpoints}
    dead = state[doomed_url]
    assert provider.router.is_out(doomed_url) and dead.trips == 1
    # Taken out after `failure_threshold` failures (plus those already in flight to it at that moment,
    # at most its concurrency - 1); the rest of the second wave went to the live replica.
    threshold = provider.router.failure_threshold
    assert threshold <= dead.failures <= threshold + 3
    assert dead.requests - dead.failures == len(doomed.api_requests()) <= 16
    assert len(alive.api_requests()) == 64 - len(doomed.api_requests())
    # Each failed attempt was retried at once on the other replica.
    assert sum(r.attempts for r in results) == 64 + dead.failures


def test_all_endpoints_down_is_a_retryable_error(mock_server: Any) -> None:
    servers = [mock_server(answer="OK") for _ in range(2)]
    provider = _routed(servers)
    for s in servers:
        s.stop()

    async def go() -> None:
        try:
            await provider.generate(_req(0))
        finally:
            await provider.aclose()

    with pytest.raises(ProviderError) as info:
        asyncio.run(go())
    assert info.value.retryable


def test_router_circuit_breaker_cools_down_and_readmits() -> None:
    now = [0.0]
    router = EndpointRouter(["a", "b"], failure_threshold=2, cooldown_s=10.0, clock=lambda: now[0])
    a, b = router.endpoints
    assert router.choose() is a  # ties: list order
    assert not router.record_failure(a)
    assert router.record_failure(a)  # second in a row: out
    assert router.choose() is b and router.choose({"b"}) is b  # avoid is a preference, not a ban
    assert not router.record_failure(b)
    router.record_success(b)  # a success resets the count
    assert not router.record_failure(b)
    now[0] = 10.5
    assert router.choose({"b"}) is a  # back after the cool-down
    assert router.record_failure(a)  # one more failure: out again, for twice as long
    assert a.open_until == pytest.approx(10.5 + 20.0)
    assert router.record_failure(b) and router.choose() is None
    assert router.ready_in() == pytest.approx(10.0)
    now[0] = 30.6
    router.record_success(router.choose() or a)
    with pytest.raises(ConfigError):
        EndpointRouter(["x", "x"])


def test_least_busy_prefers_the_idle_replica() -> None:
    router = EndpointRouter(["a", "b", "c"])
    a, b, c = router.endpoints
    a.in_flight, b.in_flight, c.in_flight = 2, 0, 1
    assert router.choose() is b
    assert router.choose({"b"}) is c
