"""OpenAI adapter (chat completions, and legacy completions for base models) on the official SDK.

Reasoning models (o-series) spend hidden tokens out of ``max_completion_tokens``; the adapter asks for
``max_tokens + reasoning_budget`` so the visible answer is not starved, sends ``reasoning_effort``, and
leaves out ``temperature`` (which they reject). The SDK's own retries are off: the loop in
:mod:`providers.base` decides.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import openai
from openai.types import Completion
from openai.types.chat import ChatCompletion

from providers.base import GenerateRequest, GenerateResult, Provider, StopReason, Usage
from providers.errors import (
    ConnectionDropped,
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
    classify_status,
    classify_transport,
    redact,
)

__all__ = ["OpenAIProvider", "classify_openai_error", "finish_to_stop"]

_FINISH = {
    "stop": StopReason.STOP,
    "length": StopReason.MAX_TOKENS,
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


def _response_body(response: Any) -> Any:
    """Decoded body of an error response (JSON if it parses, else text)."""
    try:
        text = response.text
    except Exception:  # body not read / not decodable
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def classify_openai_error(exc: BaseException, *, provider: str, secrets: tuple[str, ...]) -> ProviderError:
    """Classify an exception raised by the ``openai`` SDK.

    Args:
        exc: The SDK exception.
        provider: Name for messages.
        secrets: Strings to redact (the API key).

    Returns:
        The classified error (not raised).
    """
    if isinstance(exc, openai.APIStatusError):
        return classify_status(
            exc.status_code,
            _response_body(exc.response),
            exc.response.headers,
            provider=provider,
            secrets=secrets,
        )
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout("request timed out", provider=provider)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        detail = classify_transport(cause, provider=provider, secrets=secrets)
        if isinstance(detail, ProviderTimeout):
            return detail
        return ConnectionDropped(f"connection failed ({type(cause).__name__})", provider=provider)
    if isinstance(exc, openai.APIResponseValidationError):
        return MalformedResponse("response does not match the API schema", provider=provider)
    classified = classify_transport(exc, provider=provider, secrets=secrets)
    if classified is not None:
        return classified
    return ProviderError(
        f"unexpected error: {redact(f'{type(exc).__name__}: {exc}', secrets)}", provider=provider
    )


class OpenAIProvider(Provider):
    """OpenAI's API through ``openai.AsyncOpenAI`` (chat completions; completions in completion mode)."""

    kind = "openai"
    #: Name of the output-cap field (OpenAI: max_completion_tokens; most compatible servers: max_tokens).
    max_tokens_field = "max_completion_tokens"
    #: Role of the system prompt.
    system_role = "system"

    def __init__(self, info: Any, **kwargs: Any) -> None:
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

    def _extra_body(self, req: GenerateRequest) -> dict[str, Any]:
        """Vendor fields outside OpenAI's schema (subclasses add theirs)."""
        return {}

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
        body.update(self._extra_body(req))
        return endpoint, body

    def describe_request(self, req: GenerateRequest) -> dict[str, Any]:
        endpoint, body = self.build_body(req)
        return {"endpoint": "/chat/completions" if endpoint == "chat" else "/completions", **body}

    # -- call

    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        endpoint, body = self.build_body(req)
        # The SDK's generic ``post`` (its documented route for raw bodies): same auth, error mapping
        # and typed parsing as ``chat.completions.create``, without re-validating a body we built
        # ourselves, which cost about a millisecond of CPU per call (measured in the benchmark).
        path, cast = (
            ("/chat/completions", ChatCompletion) if endpoint == "chat" else ("/completions", Completion)
        )
        try:
            resp = await self._client.post(path, cast_to=cast, body=body)
        except Exception as exc:
            raise classify_openai_error(exc, provider=self.name, secrets=self._secrets()) from None
        return self._parse(req, endpoint, body, resp)

    def _parse(self, req: GenerateRequest, endpoint: str, body: dict[str, Any], resp: Any) -> GenerateResult:
        choices = getattr(resp, "choices", None)
        if not choices:
            raise MalformedResponse("response has no choices", provider=self.name)
        choice = choices[0]
        if endpoint == "chat":
            message = getattr(choice, "message", None)
            text = (getattr(message, "content", None) or "") if message is not None else ""
        else:
            text = getattr(choice, "text", None) or ""
        usage = getattr(resp, "usage", None)
        prompt_details = getattr(usage, "prompt_tokens_details", None)
        completion_details = getattr(usage, "completion_tokens_details", None)
        extra = getattr(resp, "model_extra", None) or {}
        timings = extra.get("timings") if isinstance(extra.get("timings"), dict) else None
        return GenerateResult(
            text=text,
            stop_reason=finish_to_stop(getattr(choice, "finish_reason", None)),
            usage=Usage(
                input_tokens=getattr(usage, "prompt_tokens", None),
                output_tokens=getattr(usage, "completion_tokens", None),
                cached_input_tokens=getattr(prompt_details, "cached_tokens", None),
                reasoning_tokens=getattr(completion_details, "reasoning_tokens", None),
            ),
            latency_s=0.0,
            model=getattr(resp, "model", None) or self.info.model_id,
            raw_request=self._redact(self.describe_request(req)),
            raw_response=self._redact(resp.model_dump(mode="json", exclude_none=True)),
            server_timings=timings,
        )

    async def _close(self) -> None:
        await self._client.close()
