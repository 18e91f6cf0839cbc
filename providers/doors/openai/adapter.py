"""OpenAI adapter (chat completions, and legacy completions for base models) on the official SDK.

Bodies hold only fields of the SDK's typed ``chat.completions.create()`` / ``completions.create()``
(``CompletionCreateParamsNonStreaming``; the strict mock server validates them against those types).
Reasoning models (GPT-5+, o-series) spend hidden tokens out of ``max_completion_tokens``; the adapter asks
for ``max_tokens + reasoning_budget`` so the visible answer is not starved, sends ``reasoning_effort`` (a
value of ``openai.types.shared.ReasoningEffort``), and leaves out ``temperature`` (which they reject).
``finish_reason: "length"`` is ``StopReason.TRUNCATED``; a ``message.refusal`` is ``CONTENT_FILTER``.
The SDK's own retries are off: the loop in :mod:`providers.base` decides.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import openai

from providers.base import GenerateRequest, GenerateResult, Provider, StopReason, Usage
from providers.errors import (
    MalformedResponse,
    ProviderError,
    classify_stainless_error,
)

if TYPE_CHECKING:
    from providers.registry import ModelInfo

__all__ = ["OpenAIProvider", "classify_openai_error", "finish_to_stop"]

_PATHS = {"chat": "/chat/completions", "completions": "/completions"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_FINISH = {
    "stop": StopReason.STOP,
    "length": StopReason.TRUNCATED,
    "content_filter": StopReason.CONTENT_FILTER,
}


def aiohttp_client(sdk: Any, timeout_s: float) -> Any:
    """The SDK's aiohttp-backed HTTP client (several times less CPU per request than the default
    httpx transport, which matters at high concurrency), or None when aiohttp is not installed."""
    factory = getattr(sdk, "DefaultAioHttpClient", None)
    if factory is None:
        return None
    try:
        return factory(timeout=timeout_s)
    except RuntimeError:  # the SDK was installed without its aiohttp extra
        return None


def finish_to_stop(finish_reason: str | None) -> StopReason:
    """Map an OpenAI ``finish_reason`` to a :class:`StopReason`."""
    return _FINISH.get(finish_reason or "", StopReason.OTHER)


def classify_openai_error(exc: BaseException, *, provider: str, secrets: tuple[str, ...]) -> ProviderError:
    """Classify an exception raised by the ``openai`` SDK.

    Args:
        exc: The SDK exception.
        provider: Name for messages.
        secrets: Strings to redact (the API key).

    Returns:
        The classified error (not raised).
    """
    return classify_stainless_error(openai, exc, provider=provider, secrets=secrets)


class OpenAIProvider(Provider):
    """OpenAI's API through ``openai.AsyncOpenAI`` (chat completions; completions in completion mode)."""

    kind = "openai"
    #: Name of the output-cap field (OpenAI: max_completion_tokens; most compatible servers: max_tokens).
    max_tokens_field = "max_completion_tokens"
    #: Role of the system prompt.
    system_role = "system"

    def __init__(self, info: ModelInfo, **kwargs: Any) -> None:
        super().__init__(info, **kwargs)
        self._client = openai.AsyncOpenAI(
            api_key=self._api_key or "EMPTY",
            base_url=self.base_url,
            max_retries=0,
            timeout=self.timeout_s,
            default_headers=dict(info.extra_headers) or None,
            http_client=aiohttp_client(openai, self.timeout_s),
        )

    # -- request

    def _chat_messages(self, req: GenerateRequest) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if req.system:
            messages.append({"role": self.system_role, "content": req.system})
        messages.extend({"role": m.role, "content": m.content} for m in req.messages)
        if req.prefill and self.info.supports_prefill:
            messages.append({"role": "assistant", "content": req.prefill})
        return messages

    def build_body(self, req: GenerateRequest) -> tuple[str, dict[str, Any]]:
        """The endpoint (``chat`` or ``completions``) and JSON body for ``req``."""
        info = self.info
        budget = req.reasoning_budget if req.reasoning_budget is not None else info.reasoning_budget
        max_tokens = req.max_tokens + (budget if info.reasoning else 0)
        body: dict[str, Any] = {"model": info.model_id}
        if req.prompt is not None:
            endpoint = "completions"
            body["prompt"] = req.prompt + (req.prefill or "")
            body["max_tokens"] = max_tokens
        else:
            endpoint = "chat"
            body["messages"] = self._chat_messages(req)
            body[self.max_tokens_field] = max_tokens
        if info.supports_temperature and not info.reasoning:
            body["temperature"] = req.temperature
        if info.reasoning and info.reasoning_effort:
            body["reasoning_effort"] = info.reasoning_effort
        if req.seed is not None:
            body["seed"] = req.seed
        if req.stop:
            body["stop"] = list(req.stop)
        if req.cache_prefix and self.kind == "openai" and endpoint == "chat":
            # Routes requests that share a beginning to the same cache shard (raises hit rates).
            head = (req.system or "") + (req.messages[0].content if req.messages else "")
            body["prompt_cache_key"] = hashlib.sha256(head[:2048].encode()).hexdigest()[:32]
        return endpoint, body

    def describe_request(self, req: GenerateRequest) -> dict[str, Any]:
        endpoint, body = self.build_body(req)
        return {"endpoint": _PATHS[endpoint], **body}

    # -- call

    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        endpoint, body = self.build_body(req)
        # The SDK's generic ``post`` (its documented route for raw requests): its auth, headers,
        # error mapping and transport, without re-validating a body we built ourselves and with the
        # JSON handed back as is (cast_to=object). Both steps cost about a millisecond of CPU per
        # call in the SDK's typed path, which shows at high concurrency (benchmarks/bench_providers.py).
        try:
            data = await self._client.post(_PATHS[endpoint], cast_to=object, body=body)
        except Exception as exc:
            raise classify_openai_error(exc, provider=self.name, secrets=self._secrets()) from None
        return self._parse(endpoint, {"endpoint": _PATHS[endpoint], **body}, data)

    def _parse(self, endpoint: str, raw_request: dict[str, Any], data: Any) -> GenerateResult:
        if not isinstance(data, dict):
            raise MalformedResponse("response is not a JSON object", provider=self.name)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise MalformedResponse("response has no choices", provider=self.name)
        choice = choices[0]
        stop = finish_to_stop(choice.get("finish_reason"))
        if endpoint == "chat":
            message = choice.get("message")
            text = (message.get("content") if isinstance(message, dict) else None) or ""
            if isinstance(message, dict) and message.get("refusal"):
                stop = StopReason.CONTENT_FILTER  # the model refused; the refusal text is in raw_response
        else:
            text = choice.get("text") or ""
        if not isinstance(text, str):
            raise MalformedResponse("answer text is not a string", provider=self.name)
        usage = _dict(data.get("usage"))
        timings = data.get("timings")
        return GenerateResult(
            text=text,
            stop_reason=stop,
            usage=Usage(
                input_tokens=_int(usage.get("prompt_tokens")),
                output_tokens=_int(usage.get("completion_tokens")),
                cached_input_tokens=_int(_dict(usage.get("prompt_tokens_details")).get("cached_tokens")),
                reasoning_tokens=_int(_dict(usage.get("completion_tokens_details")).get("reasoning_tokens")),
            ),
            latency_s=0.0,
            model=str(data.get("model") or self.info.model_id),
            raw_request=self._redact(raw_request),
            raw_response=self._redact(data),
            server_timings=timings if isinstance(timings, dict) else None,
        )

    async def _close(self) -> None:
        await self._client.close()
