"""Anthropic Messages API adapter on the official ``anthropic`` SDK.

The body holds only fields of the SDK's typed ``messages.create()`` (``MessageCreateParamsNonStreaming``):
anthropic 2.x has no ``temperature``/``top_p``/``top_k``, so none is sent. Thinking follows the entry:
``adaptive`` sends ``{"type": "adaptive"}`` (Claude 5.x), ``budget`` sends ``{"type": "enabled",
"budget_tokens": >= 1024}``; either way ``max_tokens`` = answer budget + reasoning budget, so thinking
cannot starve the answer, and an answer cut by ``max_tokens`` comes back as ``StopReason.TRUNCATED``.
A ``reasoning_effort`` goes out as ``output_config.effort``. A ``<vendor>:<id>`` model not in the registry
gets its window (``max_input_tokens``), output cap and thinking support from ``models.retrieve``.

Prompt caching: ``cache_breakpoints`` split the last user message into text blocks, each ending at a
breakpoint carrying ``cache_control: {"type": "ephemeral"}`` (at most 4, ascending; the evals layout puts
them at earlier cells' needles, to read, and at this cell's, to write); without breakpoints, ``cache_prefix``
marks the whole last user block (or the system prompt). A prompt that extends a cached prefix reads it at the
cached-input price; writes cost the ``cache_write`` price. Prefill: the prefill is
sent as the final assistant turn (trailing whitespace removed, as the API requires) and the result's text
is the continuation. ``usage.input_tokens`` sums Anthropic's three counters (uncached + cache read + cache
write) so it means "prompt tokens" as for every other provider; the parts are in ``cached_input_tokens``
and ``cache_write_tokens``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anthropic

from providers.base import GenerateRequest, GenerateResult, Provider, StopReason, Usage
from providers.doors.openai.adapter import aiohttp_client
from providers.errors import (
    ConfigError,
    MalformedResponse,
    ProviderError,
    RetiredModelError,
    classify_stainless_error,
    lookup_failure,
)

if TYPE_CHECKING:
    from providers.registry import ModelInfo

__all__ = ["AnthropicProvider", "classify_anthropic_error", "stop_reason_of"]

_STOP = {
    "end_turn": StopReason.STOP,
    "stop_sequence": StopReason.STOP,
    "max_tokens": StopReason.TRUNCATED,
    "refusal": StopReason.CONTENT_FILTER,
    "model_context_window_exceeded": StopReason.MODEL_LENGTH,
}
_EPHEMERAL = {"type": "ephemeral"}


def _cache_control(req: GenerateRequest) -> dict[str, Any]:
    """``{"type": "ephemeral"}``, with ``"ttl": "1h"`` when the request asks for the 1-hour lifetime."""
    return {**_EPHEMERAL, "ttl": req.cache_ttl} if req.cache_ttl == "1h" else dict(_EPHEMERAL)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stop_reason_of(value: str | None) -> StopReason:
    """Map an Anthropic ``stop_reason`` to a :class:`StopReason`."""
    return _STOP.get(value or "", StopReason.OTHER)


def classify_anthropic_error(exc: BaseException, *, provider: str, secrets: tuple[str, ...]) -> ProviderError:
    """Classify an exception raised by the ``anthropic`` SDK (not raised).

    Args:
        exc: The SDK exception.
        provider: Name for messages.
        secrets: Strings to redact (the API key).
    """
    return classify_stainless_error(anthropic, exc, provider=provider, secrets=secrets)


def discover_anthropic(info: ModelInfo, api_key: str | None, base_url: str | None) -> ModelInfo:
    """Fill an entry's window, output cap and thinking from ``models.retrieve`` (``GET /v1/models/{id}``).

    Raises:
        RetiredModelError: The endpoint reports the model ``retired``.
        ConfigError: No window reported (give ``--context-window``); other errors as classified.
    """
    client = anthropic.Anthropic(api_key=api_key or "EMPTY", base_url=base_url, max_retries=0, timeout=30.0)
    try:
        m = client.models.retrieve(info.model_id)
    except Exception as exc:
        err = classify_anthropic_error(exc, provider=info.alias, secrets=(api_key or "",))
        raise lookup_failure(err, f"Anthropic for {info.model_id!r}") from None
    finally:
        client.close()
    if m.lifecycle == "retired":
        raise RetiredModelError(info.alias, m.deprecated_at.date() if m.deprecated_at else None)
    if not m.max_input_tokens:
        raise ConfigError(f"Anthropic reports no window for {info.model_id!r}: give it with --context-window")
    updates: dict[str, Any] = {
        "context_window": int(m.max_input_tokens),
        "window_source": "models endpoint",
        "max_output_tokens": m.max_tokens or info.max_output_tokens,
    }
    types_ = m.capabilities.thinking.types if m.capabilities and m.capabilities.thinking else None
    if types_ is not None and types_.adaptive.supported:
        updates["thinking"] = "adaptive"
    elif types_ is not None and not types_.disabled.supported and types_.enabled.supported:
        updates.update(thinking="budget", reasoning_budget=max(1024, info.reasoning_budget))
    if m.lifecycle == "deprecated":
        updates["status"] = "deprecated"
        updates["retires"] = m.retires_at.date() if m.retires_at else None
    return info.model_copy(update={**updates})


class AnthropicProvider(Provider):
    """Claude through ``anthropic.AsyncAnthropic`` (``/v1/messages``, ``/v1/messages/count_tokens``)."""

    kind = "anthropic"

    def __init__(self, info: ModelInfo, **kwargs: Any) -> None:
        if info.discover and not info.context_window:
            info = discover_anthropic(info, kwargs.get("api_key"), kwargs.get("base_url"))
        super().__init__(info, **kwargs)
        self._client = anthropic.AsyncAnthropic(
            api_key=self._api_key or "EMPTY",
            base_url=self.base_url,
            max_retries=0,
            timeout=self.timeout_s,
            default_headers=dict(info.extra_headers) or None,
            http_client=aiohttp_client(anthropic, self.timeout_s),
        )

    def build_body(self, req: GenerateRequest) -> dict[str, Any]:
        """The JSON body of ``/v1/messages`` for ``req``."""
        info = self.info
        turns: list[tuple[str, str]] = (
            [("user", req.prompt)] if req.prompt is not None else [(m.role, m.content) for m in req.messages]
        )
        thinking = info.thinking in ("budget", "adaptive")
        budget = req.reasoning_budget if req.reasoning_budget is not None else info.reasoning_budget
        if info.thinking == "budget":
            budget = max(1024, budget)  # the API's minimum budget_tokens
        extra = budget if info.reasoning else 0
        messages: list[dict[str, Any]] = []
        last_user = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=-1)
        cuts = tuple(req.cache_breakpoints) if req.prompt is None else ()
        split = bool(cuts)
        for i, (role, content) in enumerate(turns):
            if i == last_user and split:
                # the message in blocks ending at each breakpoint (cacheable prefixes, e.g. the context up to
                # earlier cells' needles and up to this one's); the rest after the last one is not cached
                blocks: list[dict[str, Any]] = []
                start = 0
                for cut in cuts:
                    if start < cut < len(content):
                        head: dict[str, Any] = {"type": "text", "text": content[start:cut]}
                        if req.cache_prefix:
                            head["cache_control"] = _cache_control(req)
                        blocks.append(head)
                        start = cut
                blocks.append({"type": "text", "text": content[start:]})
                messages.append({"role": role, "content": blocks})
                continue
            block: dict[str, Any] = {"type": "text", "text": content}
            if req.cache_prefix and i == last_user:
                block["cache_control"] = dict(_EPHEMERAL)
            messages.append({"role": role, "content": [block]})
        prefill = (req.prefill or "").rstrip()
        if prefill and info.supports_prefill and not info.reasoning:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": prefill}]})
        body: dict[str, Any] = {
            "model": info.model_id,
            "max_tokens": req.max_tokens + extra,
            "messages": messages,
        }
        if req.system:
            system: dict[str, Any] = {"type": "text", "text": req.system}
            if req.cache_prefix and last_user < 0 and not split:
                system["cache_control"] = dict(_EPHEMERAL)
            body["system"] = [system]
        if req.stop:
            body["stop_sequences"] = list(req.stop)
        if info.thinking == "adaptive":
            body["thinking"] = {"type": "adaptive"}
        elif thinking:
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}  # < max_tokens: answer >= 1
        if info.reasoning_effort:
            body["output_config"] = {"effort": info.reasoning_effort}
        return body

    def describe_request(self, req: GenerateRequest) -> dict[str, Any]:
        return self._described(self.build_body(req))

    def _described(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request as recorded: its endpoint and the body sent."""
        return {"endpoint": "/v1/messages", **body}

    def _classify(self, exc: BaseException) -> ProviderError:
        """The typed error of an exception the SDK raised."""
        return classify_anthropic_error(exc, provider=self.name, secrets=self._secrets())

    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        body = self.build_body(req)
        try:
            # The SDK's generic ``post``: its auth, headers, error mapping and transport, with the JSON
            # handed back as is (no re-validation of our body or of the answer; see the OpenAI adapter).
            data = await self._client.post("/v1/messages", cast_to=object, body=body)
        except Exception as exc:
            raise self._classify(exc) from None
        return parse_anthropic_message(data, self._described(body), provider=self)

    async def count_tokens(self, text: str) -> int | None:
        """Anthropic's count of ``text`` as one user message (``/v1/messages/count_tokens``)."""

        async def once() -> int:
            try:
                resp = await self._client.messages.count_tokens(
                    model=self.info.model_id, messages=[{"role": "user", "content": text}]
                )
            except Exception as exc:
                raise self._classify(exc) from None
            count = getattr(resp, "input_tokens", None)
            if not isinstance(count, int):
                raise MalformedResponse("count_tokens answer has no input_tokens", provider=self.name)
            return count

        value, _ = await self._retrying(once, limited=False)
        return value

    async def _close(self) -> None:
        await self._client.close()


def parse_anthropic_message(data: Any, raw_request: dict[str, Any], *, provider: Provider) -> GenerateResult:
    """A Messages API response body as a GenerateResult (the shapes the synchronous adapter reads)."""
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise MalformedResponse("response has no content list", provider=provider.name)
    text = "".join(
        str(b.get("text") or "") for b in data["content"] if isinstance(b, dict) and b.get("type") == "text"
    )
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    uncached = _int(usage.get("input_tokens"))
    read = _int(usage.get("cache_read_input_tokens"))
    write = _int(usage.get("cache_creation_input_tokens"))
    creation = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) else {}
    write_1h = _int(creation.get("ephemeral_1h_input_tokens"))
    total_in = None if uncached is None else uncached + (read or 0) + (write or 0)
    return GenerateResult(
        text=text,
        stop_reason=stop_reason_of(data.get("stop_reason")),
        usage=Usage(
            input_tokens=total_in,
            output_tokens=_int(usage.get("output_tokens")),
            cached_input_tokens=read,
            cache_write_tokens=write,
            cache_write_1h_tokens=write_1h,
        ),
        latency_s=0.0,
        model=str(data.get("model") or provider.info.model_id),
        raw_request=provider._redact(raw_request),
        raw_response=provider._redact(data),
    )
