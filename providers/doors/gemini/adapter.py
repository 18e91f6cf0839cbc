"""Gemini adapter on ``google-genai`` (the maintained successor of the deprecated
``google-generativeai``), Gemini Developer API, ``v1beta``.

Thinking models: ``max_output_tokens`` covers the thoughts, so the adapter asks for
``max_tokens + reasoning_budget``, and sets ``thinking_level`` (Gemini 3+, which reject
``thinking_budget``) or ``thinking_budget`` (2.5) as the entry says; ``usage.output_tokens`` is candidates +
thoughts (what is billed), ``reasoning_tokens`` the thoughts. ``finishReason: MAX_TOKENS`` (an answer cut,
or emptied by thinking) is ``StopReason.TRUNCATED``. ``temperature`` is sent only to models whose entry
accepts it (Gemini 3+ keep their default). The config is a typed ``types.GenerateContentConfig``, so only
fields the SDK knows can be sent. A ``gemini:<id>`` model not in the registry gets its window
(``input_token_limit``) and output cap from ``models.get``. Gemini caches long prefixes implicitly
(2.5 models), reported as ``cached_content_token_count``. The SDK retries nothing unless asked; we do not ask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from providers.base import GenerateRequest, GenerateResult, Provider, StopReason, Usage
from providers.errors import (
    ConfigError,
    MalformedResponse,
    ProviderError,
    classify_other,
    classify_status,
    lookup_failure,
)

if TYPE_CHECKING:
    from providers.registry import ModelInfo

__all__ = ["GeminiProvider", "classify_gemini_error", "finish_reason_of"]

API_VERSION = "v1beta"
_FILTERED = {
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "MODEL_ARMOR",
    "LANGUAGE",
}


def finish_reason_of(value: Any) -> StopReason:
    """Map a Gemini ``finishReason`` (enum or string) to a :class:`StopReason`."""
    name = getattr(value, "name", None) or (str(value) if value is not None else "")
    if name == "STOP":
        return StopReason.STOP
    if name == "MAX_TOKENS":
        return StopReason.TRUNCATED
    if name in _FILTERED:
        return StopReason.CONTENT_FILTER
    return StopReason.OTHER


def classify_gemini_error(exc: BaseException, *, provider: str, secrets: tuple[str, ...]) -> ProviderError:
    """Classify an exception raised by ``google-genai`` (not raised).

    Args:
        exc: The SDK exception.
        provider: Name for messages.
        secrets: Strings to redact (the API key).
    """
    if isinstance(exc, genai_errors.APIError):
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        body = exc.details
        if not isinstance(body, dict | list):
            body = {"error": {"code": exc.code, "message": exc.message or "", "status": exc.status}}
        return classify_status(int(exc.code or 0), body, headers, provider=provider, secrets=secrets)
    return classify_other(exc, provider=provider, secrets=secrets)


class GeminiProvider(Provider):
    """Gemini through ``genai.Client(...).aio.models`` (``generateContent``, ``countTokens``)."""

    kind = "gemini"

    def __init__(self, info: ModelInfo, **kwargs: Any) -> None:
        if info.discover and not info.context_window:
            info = self._discover(
                info, kwargs.get("api_key"), kwargs.get("base_url"), kwargs.get("timeout_s")
            )
        super().__init__(info, **kwargs)
        options = types.HttpOptions(
            api_version=API_VERSION,
            base_url=self.base_url,
            timeout=int(self.timeout_s * 1000),
            headers=dict(info.extra_headers) or None,
            # One attempt: the central loop retries. (Without retry_options the SDK's aiohttp path
            # silently retries dropped connections after sleeping 1-10 s.)
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=self._api_key or "EMPTY", http_options=options)

    @staticmethod
    def _discover(
        info: ModelInfo, api_key: str | None, base_url: str | None, timeout_s: float | None
    ) -> ModelInfo:
        """Fill the window and output cap from ``models.get`` (``GET /v1beta/models/{id}``).

        Raises:
            ConfigError: No window reported (give ``--context-window``), or the call failed.
        """
        options = types.HttpOptions(
            api_version=API_VERSION,
            base_url=base_url,
            timeout=30_000,
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        client = genai.Client(api_key=api_key or "EMPTY", http_options=options)
        try:
            m = client.models.get(model=info.model_id)
        except Exception as exc:
            err = classify_gemini_error(exc, provider=info.alias, secrets=(api_key or "",))
            raise lookup_failure(err, f"Gemini for {info.model_id!r}") from None
        finally:
            client.close()
        if not m.input_token_limit:
            raise ConfigError(
                f"Gemini reports no window for {info.model_id!r}: give it with --context-window"
            )
        return info.model_copy(
            update={
                "context_window": int(m.input_token_limit),
                "max_output_tokens": m.output_token_limit or info.max_output_tokens,
                "window_source": "models endpoint",
            }
        )

    def build_request(self, req: GenerateRequest) -> dict[str, Any]:
        """``model``, ``contents`` and ``config`` (as plain JSON-able dicts) for ``req``."""
        info = self.info
        if req.prompt is not None:
            contents = [{"role": "user", "parts": [{"text": req.prompt}]}]
        else:
            contents = [
                {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
                for m in req.messages
            ]
        config: dict[str, Any] = {"max_output_tokens": req.max_tokens}
        if info.supports_temperature and not info.reasoning:
            config["temperature"] = req.temperature
        if info.reasoning:
            budget = req.reasoning_budget if req.reasoning_budget is not None else info.reasoning_budget
            config["max_output_tokens"] = req.max_tokens + budget
            if info.thinking == "level" and info.thinking_level:
                config["thinking_config"] = {"thinking_level": info.thinking_level}
            elif info.thinking == "budget":
                config["thinking_config"] = {"thinking_budget": budget}
        if req.system:
            config["system_instruction"] = req.system
        if req.seed is not None:
            config["seed"] = req.seed
        if req.stop:
            config["stop_sequences"] = list(req.stop)
        return {"model": info.model_id, "contents": contents, "config": config}

    def describe_request(self, req: GenerateRequest) -> dict[str, Any]:
        return {
            "endpoint": f"/{API_VERSION}/models/{self.info.model_id}:generateContent",
            **self.build_request(req),
        }

    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        request = self.build_request(req)
        settings = dict(request["config"])
        if "thinking_config" in settings:
            settings["thinking_config"] = types.ThinkingConfig(**settings["thinking_config"])
        config = types.GenerateContentConfig(**settings)
        try:
            resp = await self._client.aio.models.generate_content(
                model=request["model"], contents=request["contents"], config=config
            )
        except Exception as exc:
            raise classify_gemini_error(exc, provider=self.name, secrets=self._secrets()) from None
        return parse_gemini_response(resp, self.describe_request(req), provider=self)

    async def count_tokens(self, text: str) -> int | None:
        """Gemini's count of ``text`` as one user turn (``models.countTokens``)."""

        async def once() -> int:
            try:
                resp = await self._client.aio.models.count_tokens(
                    model=self.info.model_id, contents=[{"role": "user", "parts": [{"text": text}]}]
                )
            except Exception as exc:
                raise classify_gemini_error(exc, provider=self.name, secrets=self._secrets()) from None
            if not isinstance(resp.total_tokens, int):
                raise MalformedResponse("countTokens answer has no totalTokens", provider=self.name)
            return resp.total_tokens

        value, _ = await self._retrying(once, limited=False)
        return value

    async def _close(self) -> None:
        await self._client.aio.aclose()


def parse_gemini_response(resp: Any, raw_request: dict[str, Any], *, provider: Provider) -> GenerateResult:
    """A ``types.GenerateContentResponse`` as a GenerateResult (the synchronous adapter's reading)."""
    candidates = resp.candidates or []
    if candidates:
        cand = candidates[0]
        parts = (cand.content.parts if cand.content else None) or []
        text = "".join(p.text for p in parts if p.text and not p.thought)
        stop = finish_reason_of(cand.finish_reason)
    elif resp.prompt_feedback is not None and resp.prompt_feedback.block_reason is not None:
        text, stop = "", StopReason.CONTENT_FILTER
    else:
        raise MalformedResponse("response has no candidates", provider=provider.name)
    um = resp.usage_metadata
    candidates_n = um.candidates_token_count if um else None
    thoughts = um.thoughts_token_count if um else None
    output = None if candidates_n is None and thoughts is None else (candidates_n or 0) + (thoughts or 0)
    raw = resp.model_dump(mode="json", exclude_none=True, exclude={"sdk_http_response"})
    return GenerateResult(
        text=text,
        stop_reason=stop,
        usage=Usage(
            input_tokens=um.prompt_token_count if um else None,
            output_tokens=output,
            cached_input_tokens=um.cached_content_token_count if um else None,
            reasoning_tokens=thoughts,
        ),
        latency_s=0.0,
        model=resp.model_version or provider.info.model_id,
        raw_request=provider._redact(raw_request),
        raw_response=provider._redact(raw),
    )
