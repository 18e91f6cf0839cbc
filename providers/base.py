"""The provider interface: typed request/result, one central retry loop, per-endpoint limits.

Adapters implement :meth:`Provider._generate` (one attempt, errors classified into
:mod:`providers.errors`); :meth:`Provider.generate` wraps every attempt in

* the endpoint's concurrency limit (an ``asyncio.Semaphore`` shared by all providers with the same
  ``(provider, base_url)`` in the running event loop), its optional requests-per-minute and
  tokens-per-minute limits (``aiolimiter.AsyncLimiter``) and a shared cool-down after a 429 that
  named a ``Retry-After``;
* a hard timeout;
* one tenacity loop that retries only ``retryable`` errors, waits ``Retry-After`` when the server
  gave one (capped) and exponential backoff with jitter otherwise, and stops after
  ``max_attempts`` or ``max_total_s``.

A prompt that does not fit the model's window is an outcome, not an error: ``generate`` returns a
result with ``stop_reason=StopReason.MODEL_LENGTH``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from providers.errors import ContextLengthExceeded, ProviderError, ProviderTimeout, classify_transport, redact

if TYPE_CHECKING:
    from types import TracebackType

    from providers.entry import ModelInfo

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "EndpointLimits",
    "GenerateRequest",
    "GenerateResult",
    "LimitSettings",
    "Message",
    "Provider",
    "RetryPolicy",
    "StopReason",
    "Usage",
    "estimate_tokens",
    "get_default_retry_policy",
    "set_default_retry_policy",
]

log = logging.getLogger("providers")
T = TypeVar("T")


# ------------------------------------------------------------------------------------------ data types


@dataclass(frozen=True)
class Message:
    """One chat turn.

    Attributes:
        role: ``"user"`` or ``"assistant"`` (the system prompt goes in ``GenerateRequest.system``).
        content: The text of the turn.
    """

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerateRequest:
    """One generation call, provider-neutral.

    Exactly one of ``prompt`` (completion mode, base models) and ``messages`` (chat mode) is set.

    Attributes:
        prompt: Completion mode: the full text including the answer prefix.
        messages: Chat mode turns.
        system: System prompt (chat mode).
        max_tokens: Visible answer tokens wanted. Reasoning models get ``reasoning_budget`` on top.
        temperature: Sampling temperature (ignored by models that reject it, e.g. OpenAI o-series).
        prefill: Assistant prefill where the API supports it (Anthropic); the result's text is the
            continuation, without the prefill.
        cache_prefix: Ask for prompt caching where the API has a switch (Anthropic ``cache_control``,
            llama.cpp ``cache_prompt``); OpenAI and Gemini cache prefixes on their own.
        cache_breakpoints: Chat mode: character offsets into the last user message where cacheable
            prefixes end, ascending (the caller checked each is long enough to cache; Anthropic takes at
            most 4). Anthropic sends the message as text blocks split there, ``cache_control`` on each
            block that ends at one; the other APIs ignore them. Empty: no split (Anthropic then marks the
            whole last user block when ``cache_prefix``).
        cache_ttl: The lifetime the breakpoints ask for (Anthropic: ``"1h"``; None: the default, 5 minutes).
        seed: Sampling seed where the API accepts one.
        stop: Stop sequences.
        reasoning_budget: Hidden-reasoning tokens allowed on top of ``max_tokens`` for reasoning
            models; None takes the registry entry's default. Ignored by other models.
        est_input_tokens: The caller's count of prompt tokens, charged to the tokens-per-minute limit
            (an estimate from the text is used when None).
    """

    prompt: str | None = None
    messages: tuple[Message, ...] = ()
    system: str | None = None
    max_tokens: int = 64
    temperature: float = 0.0
    prefill: str | None = None
    cache_prefix: bool = True
    cache_breakpoints: tuple[int, ...] = ()
    cache_ttl: str | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    reasoning_budget: int | None = None
    est_input_tokens: int | None = None

    def __post_init__(self) -> None:
        if (self.prompt is None) == (not self.messages):
            raise ValueError("GenerateRequest needs exactly one of prompt= (completion) or messages= (chat)")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")

    @property
    def text(self) -> str:
        """All prompt text (system, turns, prefill) concatenated, for estimates and hashing."""
        parts = [self.system or "", self.prompt or ""]
        parts.extend(m.content for m in self.messages)
        parts.append(self.prefill or "")
        return "".join(parts)


class StopReason(str, Enum):
    """Why generation ended."""

    STOP = "stop"  # natural end or a stop sequence
    TRUNCATED = "truncated"  # the output budget ran out: the answer was cut, or emptied by hidden thinking
    MAX_TOKENS = "max_tokens"  # (legacy) no adapter returns it any more; read it like TRUNCATED
    MODEL_LENGTH = "model_length"  # the prompt exceeded the model's context window
    CONTENT_FILTER = "content_filter"  # refused or blocked by a safety filter
    OTHER = "other"


@dataclass(frozen=True)
class Usage:
    """Token usage as the provider reported it, in one convention across vendors.

    Attributes:
        input_tokens: All prompt tokens, cached ones included (Anthropic's three counters summed).
        output_tokens: All billed output tokens, hidden reasoning included.
        cached_input_tokens: Prompt tokens served from the provider's prefix cache.
        reasoning_tokens: Hidden reasoning tokens (a part of ``output_tokens``).
        cache_write_tokens: Prompt tokens written to the cache (Anthropic; billed at a premium).
        cache_write_1h_tokens: Of those, written with the 1-hour lifetime (Anthropic; a higher premium).
    """

    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        """Plain dict (for JSONL)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class GenerateResult:
    """What one ``generate`` returned.

    Attributes:
        text: The answer (for a prefilled request: the continuation only). Empty for MODEL_LENGTH.
        stop_reason: Why generation ended.
        usage: Token usage.
        latency_s: Wall time of the successful attempt (limiter waits and backoff excluded).
        model: The model id the provider reports having used.
        raw_request: The request body sent, secrets removed.
        raw_response: The response body received (the error body for MODEL_LENGTH), secrets removed.
        attempts: Attempts the central loop made (1 = no retry).
        server_timings: llama.cpp ``timings`` (``cache_n``, ``prompt_n``, ``prompt_ms``, ...) when present.
        total_s: Wall time of the whole ``generate`` call, waits and retries included.
    """

    text: str
    stop_reason: StopReason
    usage: Usage
    latency_s: float
    model: str
    raw_request: dict[str, Any]
    raw_response: dict[str, Any]
    attempts: int = 1
    server_timings: dict[str, Any] | None = None
    total_s: float | None = None


# -------------------------------------------------------------------------------------- retry policy


@dataclass(frozen=True)
class RetryPolicy:
    """How the central loop retries.

    Attributes:
        max_attempts: Attempts in all, first included (>= 1).
        max_total_s: No new attempt starts after this many seconds since the first.
        initial_backoff_s: First exponential backoff (doubling, plus jitter) when no Retry-After was sent.
        max_backoff_s: Cap of one backoff wait.
        max_retry_after_s: Cap of a server-requested wait (a longer ``Retry-After`` is cut to this).
        jitter_s: Random extra up to this many seconds added to each backoff.
        timeout_s: Hard cap on one attempt (None: only the SDK's own timeout applies).
    """

    max_attempts: int = 6
    max_total_s: float = 900.0
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    max_retry_after_s: float = 120.0
    jitter_s: float = 1.0
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")

    def wait_seconds(self, error: BaseException | None, attempt_number: int) -> float:
        """Seconds to sleep before attempt ``attempt_number + 1`` after ``error``."""
        if isinstance(error, ProviderError) and error.retry_after is not None:
            return max(0.0, min(error.retry_after, self.max_retry_after_s))
        if self.max_backoff_s <= 0:
            return 0.0
        wait = wait_exponential_jitter(
            initial=self.initial_backoff_s, max=self.max_backoff_s, jitter=self.jitter_s
        )
        state = RetryCallState(None, None, (), {})
        state.attempt_number = attempt_number
        return float(wait(state))


DEFAULT_RETRY_POLICY = RetryPolicy()
_default_policy: RetryPolicy = DEFAULT_RETRY_POLICY


def get_default_retry_policy() -> RetryPolicy:
    """The policy used by providers created without an explicit ``retry=``."""
    return _default_policy


def retry_policy(
    *, max_attempts: int | None = None, backoff_s: float | None = None, timeout_s: float | None = None
) -> RetryPolicy | None:
    """The default policy with a caller's overrides (None when nothing is overridden: the default applies).

    Args:
        max_attempts: Attempts in all.
        backoff_s: First backoff (its jitter is capped to it, so a 0 backoff retries at once).
        timeout_s: Cap on one attempt.
    """
    if max_attempts is None and backoff_s is None and timeout_s is None:
        return None
    policy = get_default_retry_policy()
    changes: dict[str, Any] = {}
    if max_attempts is not None:
        changes["max_attempts"] = max_attempts
    if backoff_s is not None:
        changes["initial_backoff_s"] = backoff_s
        changes["jitter_s"] = min(policy.jitter_s, backoff_s)
    if timeout_s is not None:
        changes["timeout_s"] = timeout_s
    return dataclasses.replace(policy, **changes)


def set_default_retry_policy(policy: RetryPolicy) -> RetryPolicy:
    """Replace the default policy (tests switch backoff off with this); returns the previous one."""
    global _default_policy
    previous, _default_policy = _default_policy, policy
    return previous


# ------------------------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class LimitSettings:
    """Per-endpoint limits.

    Attributes:
        concurrency: Requests in flight at once (>= 1).
        rpm: Requests per minute, or None for no limit.
        tpm: Tokens (prompt estimate + max_tokens) per minute, or None for no limit.
    """

    concurrency: int = 8
    rpm: int | None = None
    tpm: int | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")


class EndpointLimits:
    """The limits shared by every provider that talks to one endpoint, in one event loop."""

    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        self.semaphore = asyncio.Semaphore(settings.concurrency)
        # Requests are smoothed (a burst of at most one second's worth), as providers enforce rpm at a
        # finer grain than the minute; tokens get a minute-sized bucket so one long prompt fits in it.
        if settings.rpm:
            burst = max(1, settings.rpm // 60)
            self.rpm: AsyncLimiter | None = AsyncLimiter(burst, 60.0 * burst / settings.rpm)
        else:
            self.rpm = None
        self.tpm = AsyncLimiter(settings.tpm, 60.0) if settings.tpm else None
        self.cooldown_until = 0.0
        self.in_flight = 0
        self.max_in_flight = 0

    async def __aenter__(self) -> EndpointLimits:
        await self.semaphore.acquire()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self.semaphore.release()

    async def admit(self, tokens: int) -> None:
        """Wait out a shared 429 cool-down, then the rpm and tpm limiters."""
        delay = self.cooldown_until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.rpm is not None:
            await self.rpm.acquire(1)
        if self.tpm is not None:
            await self.tpm.acquire(min(max(tokens, 1), self.tpm.max_rate))

    def cool_down(self, seconds: float) -> None:
        """Hold every request to this endpoint for ``seconds`` (a 429 with Retry-After)."""
        self.cooldown_until = max(self.cooldown_until, time.monotonic() + seconds)


_ENDPOINTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], EndpointLimits]] = (
    weakref.WeakKeyDictionary()
)


def endpoint_limits(key: tuple[str, str], settings: LimitSettings) -> EndpointLimits:
    """The shared limits of ``key`` in the running loop (created with ``settings`` on first use).

    Providers for the same endpoint share the first settings seen; a later provider asking for
    different ones is logged, not obeyed, so that two providers never double an endpoint's budget.
    """
    loop = asyncio.get_running_loop()
    table = _ENDPOINTS.setdefault(loop, {})
    limits = table.get(key)
    if limits is None:
        limits = table[key] = EndpointLimits(settings)
    elif limits.settings != settings:
        log.warning(
            "endpoint %s/%s already limited to %s; ignoring %s", key[0], key[1], limits.settings, settings
        )
    return limits


def estimate_tokens(text: str) -> int:
    """Cheap token estimate for rate limiting: about one per CJK character, one per 4 other characters.

    Counted from the UTF-8 length (CJK characters take 3 bytes, ASCII 1), so a 1M-token prompt costs
    milliseconds, not a Python loop over every character.
    """
    n_chars = len(text)
    wide = (len(text.encode("utf-8", "surrogatepass")) - n_chars) // 2
    return wide + (n_chars - wide + 3) // 4


# ----------------------------------------------------------------------------------------- provider


class Provider(ABC):
    """One model behind one endpoint. Subclasses implement ``_generate`` (and optionally
    ``count_tokens`` and ``_close``); everyone calls ``generate``.

    Attributes:
        name: Registry alias (``gpt-4o``, ``gemma-3-270m``).
        info: The effective registry entry (for the local model: the served window and tokenizer URL).
        kind: Adapter kind (``openai``, ``anthropic``, ``gemini``, ``openai-compatible``, ``local``).
        base_url: Endpoint base URL, or None for the SDK's default.
    """

    kind: str = "base"

    def __init__(
        self,
        info: ModelInfo,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        limits: LimitSettings | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.info = info
        self.name = info.alias
        self.base_url = base_url
        self.limit_settings = limits or LimitSettings()
        self.timeout_s = timeout_s if timeout_s is not None else info.timeout_s
        self._api_key = api_key
        self._retry = retry
        self._closed = False

    # -- for subclasses

    @abstractmethod
    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        """Make one attempt. Raise a classified :class:`ProviderError` on failure."""

    async def _close(self) -> None:  # noqa: B027 - optional hook
        """Release SDK clients and servers."""

    def _secrets(self) -> tuple[str, ...]:
        return (self._api_key,) if self._api_key else ()

    def _redact(self, value: Any) -> Any:
        return redact(value, self._secrets())

    def _classify_unknown(self, exc: BaseException) -> ProviderError:
        """Classify an exception the adapter did not map: transport errors, else a non-retryable error."""
        classified = classify_transport(exc, provider=self.name, secrets=self._secrets())
        if classified is not None:
            return classified
        text = self._redact(f"{type(exc).__name__}: {exc}")
        return ProviderError(f"unexpected error: {text}", provider=self.name)

    # -- public

    @property
    def endpoint_key(self) -> tuple[str, str]:
        """Key of the shared limits: (adapter kind, base URL or 'default')."""
        return (self.kind, (self.base_url or "default").rstrip("/"))

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy in force (the explicit one, else the current default)."""
        return self._retry if self._retry is not None else get_default_retry_policy()

    async def generate(self, req: GenerateRequest) -> GenerateResult:
        """Generate with limits and the central retry loop.

        Args:
            req: The request.

        Returns:
            The result; ``stop_reason`` is ``MODEL_LENGTH`` when the prompt did not fit the window.

        Raises:
            ProviderError: A non-retryable error, or the last retryable one once the policy gave up
                (``attempts`` says how many were made). Messages never contain the API key.
        """
        started = time.monotonic()
        tokens = req.max_tokens
        if self.limit_settings.tpm:  # only the tpm limiter needs the prompt's size
            tokens += req.est_input_tokens or estimate_tokens(req.text)

        async def once() -> tuple[GenerateResult, float]:
            t0 = time.monotonic()
            try:
                result = await self._generate(req)
            except ContextLengthExceeded as exc:
                result = self._model_length_result(req, exc)
            return result, time.monotonic() - t0

        (result, latency), attempts = await self._retrying(once, tokens)
        return dataclasses.replace(
            result,
            text=self._redact(result.text),  # a key echoed into the answer must not reach a result file
            latency_s=latency,
            attempts=attempts,
            total_s=time.monotonic() - started,
        )

    def _model_length_result(self, req: GenerateRequest, exc: ContextLengthExceeded) -> GenerateResult:
        body = exc.body if isinstance(exc.body, dict) else {"error": str(exc.body or exc.message)}
        return GenerateResult(
            text="",
            stop_reason=StopReason.MODEL_LENGTH,
            usage=Usage(input_tokens=exc.prompt_tokens, output_tokens=0),
            latency_s=0.0,
            model=self.info.model_id,
            raw_request=self._redact(self.describe_request(req)),
            raw_response=self._redact(body),
        )

    def describe_request(self, req: GenerateRequest) -> dict[str, Any]:
        """The request body this provider would send for ``req`` (adapters override); no secrets."""
        return {"model": self.info.model_id, **dataclasses.asdict(req)}

    async def count_tokens(self, text: str) -> int | None:
        """The provider's own token count of ``text`` sent as the prompt, or None if it has none.

        llama.cpp/vLLM count the text alone (no special tokens); Anthropic and Gemini count one user
        message as their count endpoints report it (a few tokens of framing included). Failures are
        classified like ``generate``'s and go through the same retry loop.
        """
        return None

    async def _retrying(
        self, fn: Callable[[], Awaitable[T]], tokens: int = 1, *, limited: bool = True
    ) -> tuple[T, int]:
        """Run ``fn`` (one request) under the endpoint limits and the retry policy.

        Args:
            fn: Async callable making one attempt; raises classified ProviderErrors.
            tokens: Tokens to charge to the tpm limiter per attempt.
            limited: Apply the endpoint's concurrency/rate limits (token counting skips them).

        Returns:
            ``fn``'s value and the number of attempts made.
        """
        if self._closed:
            raise ProviderError("provider is closed", provider=self.name)
        policy = self.retry_policy
        limits = endpoint_limits(self.endpoint_key, self.limit_settings)

        def before_sleep(state: RetryCallState) -> None:
            exc = _outcome_error(state)
            wait = state.next_action.sleep if state.next_action else 0.0
            if isinstance(exc, ProviderError) and exc.retry_after is not None and wait > 0:
                limits.cool_down(wait)
            log.info("%s; retry %d/%d in %.2f s", exc, state.attempt_number + 1, policy.max_attempts, wait)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.max_total_s),
            wait=lambda s: policy.wait_seconds(_outcome_error(s), s.attempt_number),
            retry=retry_if_exception(lambda e: isinstance(e, ProviderError) and e.retryable),
            before_sleep=before_sleep,
            reraise=True,
        )
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    if not limited:
                        value = await self._guarded(fn, policy)
                    else:
                        async with limits:
                            await limits.admit(tokens)
                            value = await self._guarded(fn, policy)
        except ProviderError as exc:
            exc.attempts = attempts
            raise
        # The loop ends only after a successful attempt (a final failure is re-raised above).
        return value, attempts

    async def _guarded(self, fn: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
        """One attempt with the hard timeout; unmapped exceptions classified."""
        try:
            if policy.timeout_s is None:
                return await fn()
            return await asyncio.wait_for(fn(), policy.timeout_s)
        except ProviderError:
            raise
        except asyncio.TimeoutError:
            raise ProviderTimeout(f"no answer within {policy.timeout_s:g} s", provider=self.name) from None
        except Exception as exc:  # the SDK raised something the adapter did not map
            raise self._classify_unknown(exc) from None

    async def aclose(self) -> None:
        """Close SDK clients (and, for the local model, stop its server). Idempotent."""
        if not self._closed:
            self._closed = True
            await self._close()

    async def __aenter__(self) -> Provider:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        cls = type(self).__name__
        return f"{cls}(name={self.name!r}, model_id={self.info.model_id!r}, base_url={self.base_url!r})"


def _outcome_error(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None and state.outcome.failed else None
