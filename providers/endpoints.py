"""Several replicas of one deployment behind one provider: least-busy routing and a circuit breaker.

``create_provider(info, base_url=[URL1, URL2])`` (or ``"URL1,URL2"``) builds one adapter per URL and wraps
them in a :class:`RoutedProvider`. Each request goes to the replica with the fewest requests in flight
(each replica has its own concurrency limit, the provider's ``concurrency``). A replica that fails with a
connection error, a timeout or a 5xx ``failure_threshold`` times in a row is taken out for a cool-down
(doubling on each new trip, up to ``max_cooldown_s``); after the cool-down it is tried again, and one more
failure takes it out again. Failures do not fail cells: the request's error is retried by the one retry
loop of :meth:`Provider.generate`, at once, on a replica this request has not tried yet. Only when every
replica is cooling down does a request wait, as for a ``Retry-After``, until the first comes back.

The replicas are meant to be self-hosted servers (vLLM, SGLang, llama.cpp) serving the same model; the
first replica's registry entry (discovered model id and window) is the provider's.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.base import GenerateRequest, GenerateResult, LimitSettings, Provider
from providers.errors import ConfigError, ConnectionDropped, ProviderError, ProviderTimeout, ServerError

__all__ = ["EndpointRouter", "EndpointState", "RoutedProvider", "parse_base_urls"]

#: The circuit breaker's defaults: consecutive failures that take a replica out, its first cool-down and the
#: cap of the doubling cool-downs (seconds).
FAILURE_THRESHOLD = 3
COOLDOWN_S = 30.0
MAX_COOLDOWN_S = 300.0

#: Replicas a request has tried (set per ``generate`` call, read by each attempt).
_TRIED: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("niah_tried_endpoints", default=None)


def parse_base_urls(value: str | Sequence[str] | None) -> list[str]:
    """``"URL1,URL2"`` or a list of URLs as a list (blank entries dropped, order kept)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [u.strip().rstrip("/") for u in items if u and u.strip()]


def is_endpoint_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the replica (not the request) is unwell: no connection, a timeout, a 5xx."""
    return isinstance(exc, ConnectionDropped | ProviderTimeout | ServerError)


@dataclass
class EndpointState:
    """One replica as the router sees it.

    Attributes:
        url: Base URL.
        in_flight: Requests routed to it and not finished (waiting for its slot included).
        consecutive_failures: Endpoint failures since its last success.
        open_until: Monotonic time until which it is out (0: in service).
        trips: Times it was taken out since its last success (sets the cool-down).
        requests: Requests routed to it in all.
        failures: Endpoint failures in all.
    """

    url: str
    concurrency: int
    in_flight: int = 0
    consecutive_failures: int = 0
    open_until: float = 0.0
    trips: int = 0
    requests: int = 0
    failures: int = 0
    semaphore: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.semaphore = asyncio.Semaphore(self.concurrency)


class EndpointRouter:
    """Least-busy choice among replicas with a per-replica circuit breaker.

    Args:
        urls: Base URLs of the replicas.
        concurrency: Requests in flight per replica.
        failure_threshold: Consecutive endpoint failures that take a replica out.
        cooldown_s: First cool-down; doubled on each further trip without a success in between.
        max_cooldown_s: Cap of the cool-down.
        clock: Monotonic clock (tests inject one).
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        concurrency: int = 8,
        failure_threshold: int = FAILURE_THRESHOLD,
        cooldown_s: float = COOLDOWN_S,
        max_cooldown_s: float = MAX_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ConfigError("no endpoint URL given")
        if len(set(urls)) != len(urls):
            raise ConfigError(f"the same endpoint URL is given twice: {', '.join(urls)}")
        if failure_threshold < 1:
            raise ConfigError("failure_threshold must be >= 1")
        self.endpoints = [EndpointState(u, concurrency) for u in urls]
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self.clock = clock

    def available(self) -> list[EndpointState]:
        """Replicas in service (never taken out, or their cool-down is over)."""
        now = self.clock()
        return [e for e in self.endpoints if e.open_until <= now]

    def is_out(self, url: str) -> bool:
        """Whether ``url`` is cooling down now."""
        return any(e.url == url and e.open_until > self.clock() for e in self.endpoints)

    def choose(self, avoid: set[str] | frozenset[str] = frozenset()) -> EndpointState | None:
        """The available replica with the fewest requests in flight, preferring those not in ``avoid``
        (ties: list order); None when every replica is cooling down."""
        candidates = self.available()
        fresh = [e for e in candidates if e.url not in avoid]
        pool = fresh or candidates
        if not pool:
            return None
        return min(pool, key=lambda e: e.in_flight)

    def ready_in(self) -> float:
        """Seconds until the first replica comes back (0 if one is in service)."""
        now = self.clock()
        return max(0.0, min(e.open_until for e in self.endpoints) - now)

    @contextlib.asynccontextmanager
    async def slot(self, ep: EndpointState) -> AsyncIterator[EndpointState]:
        """Hold one of ``ep``'s concurrency slots (counted in flight while waiting for it)."""
        ep.in_flight += 1
        ep.requests += 1
        try:
            async with ep.semaphore:
                yield ep
        finally:
            ep.in_flight -= 1

    def record_success(self, ep: EndpointState) -> None:
        """The replica answered (any answer that is not an endpoint failure)."""
        ep.consecutive_failures = 0
        ep.trips = 0

    def record_failure(self, ep: EndpointState) -> bool:
        """Count an endpoint failure; True when it takes the replica out."""
        ep.failures += 1
        ep.consecutive_failures += 1
        if ep.consecutive_failures < self.failure_threshold or ep.open_until > self.clock():
            return False
        cooldown = min(self.max_cooldown_s, self.cooldown_s * (2**ep.trips))
        ep.trips += 1
        ep.open_until = self.clock() + cooldown
        # Back in service after the cool-down, one more failure takes it out again.
        ep.consecutive_failures = self.failure_threshold - 1
        return True


class RoutedProvider(Provider):
    """One provider over several replicas (see the module docstring).

    Args:
        children: One provider per replica, same registry entry, made by ``create_provider``.
        failure_threshold, cooldown_s, max_cooldown_s: The circuit breaker (see :class:`EndpointRouter`).
    """

    def __init__(
        self,
        children: Sequence[Provider],
        *,
        failure_threshold: int = FAILURE_THRESHOLD,
        cooldown_s: float = COOLDOWN_S,
        max_cooldown_s: float = MAX_COOLDOWN_S,
    ) -> None:
        if not children:
            raise ConfigError("no endpoint given")
        first = children[0]
        urls = [str(c.base_url or "") for c in children]
        per = first.limit_settings
        super().__init__(
            first.info,
            api_key=first._api_key,
            base_url=",".join(urls),
            limits=LimitSettings(concurrency=per.concurrency * len(children), rpm=per.rpm, tpm=per.tpm),
            retry=first._retry,
            timeout_s=first.timeout_s,
        )
        self.kind = first.kind
        self.children = list(children)
        self._by_url = dict(zip(urls, children, strict=True))
        self.router = EndpointRouter(
            urls,
            concurrency=per.concurrency,
            failure_threshold=failure_threshold,
            cooldown_s=cooldown_s,
            max_cooldown_s=max_cooldown_s,
        )

    async def generate(self, req: GenerateRequest) -> GenerateResult:
        token = _TRIED.set(set())
        try:
            return await super().generate(req)
        finally:
            _TRIED.reset(token)

    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        tried = _TRIED.get()
        if tried is None:
            tried = set()
        ep = self.router.choose(tried)
        if ep is None:
            wait = self.router.ready_in()
            raise ServerError(
                f"all {len(self.children)} endpoints are out after repeated failures; "
                f"the first is back in {wait:.0f} s",
                retry_after=wait,
                provider=self.name,
            )
        tried.add(ep.url)
        async with self.router.slot(ep):
            try:
                result = await self._by_url[ep.url]._generate(req)
            except ProviderError as exc:
                if not is_endpoint_failure(exc):
                    self.router.record_success(ep)  # the replica answered; the request was at fault
                    raise
                self.router.record_failure(ep)
                if self.router.choose(tried) is not None and any(
                    e.url not in tried for e in self.router.available()
                ):
                    exc.retry_after = 0.0  # another replica can take it now: no backoff
                exc.message = f"{exc.message} [{ep.url}]"
                raise
        self.router.record_success(ep)
        return result

    def describe_request(self, req: GenerateRequest) -> dict[str, Any]:
        return self.children[0].describe_request(req)

    async def count_tokens(self, text: str) -> int | None:
        ep = self.router.choose()
        child = self._by_url[ep.url] if ep is not None else self.children[0]
        return await child.count_tokens(text)

    def _secrets(self) -> tuple[str, ...]:
        return self.children[0]._secrets()

    async def _close(self) -> None:
        for child in self.children:
            await child.aclose()
