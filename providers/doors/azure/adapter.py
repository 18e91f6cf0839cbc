"""Azure OpenAI adapter: the OpenAI adapters (chat completions, Responses API) on ``openai.AsyncAzureOpenAI``.

The bodies are the OpenAI adapters' (``model`` is the deployment name, which the SDK moves into the path
``/openai/deployments/{deployment}/...``); the ``api-version`` query, the ``api-key`` header or the Entra ID
bearer token come from :func:`providers.doors.azure.azure_settings`. What differs from OpenAI:

* the model that answered is the response's ``model`` (the deployment's underlying model), and a bare
  ``azure:<deployment>`` entry is probed once at start (one request, one output token) for that model: its
  OpenAI registry entry lends the tokenizer and list prices (the window stays the one given);
* a prompt refused by Azure's content filter (HTTP 400, ``code: "content_filter"``) is an outcome,
  ``StopReason.CONTENT_FILTER``, not an error;
* 429s carry ``retry-after-ms`` and ``Retry-After``, honoured by the central retry loop.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import openai

from providers.base import GenerateRequest, GenerateResult, Provider, StopReason, Usage
from providers.doors.azure.settings import azure_settings
from providers.doors.openai.adapter import OpenAIProvider, aiohttp_client, classify_openai_error
from providers.doors.openai.responses import RESPONSES_PATH, OpenAIResponsesProvider
from providers.errors import ConfigError

if TYPE_CHECKING:
    from providers.entry import ModelInfo

__all__ = ["AzureOpenAIProvider", "AzureResponsesProvider", "content_filter_body"]

_PATHS = {"chat": "/chat/completions", "completions": "/completions", "responses": RESPONSES_PATH}


def content_filter_body(exc: BaseException) -> dict[str, Any] | None:
    """The error body of an Azure content-filter refusal (None: another error)."""
    if not isinstance(exc, openai.BadRequestError):
        return None
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    return {"error": error} if isinstance(error, dict) and error.get("code") == "content_filter" else None


class _Azure:
    """The Azure client and behaviour, mixed into the OpenAI adapters."""

    kind = "azure"
    info: ModelInfo
    base_url: str | None
    timeout_s: float
    name: str
    _api_key: str | None

    def _azure_init(self, info: ModelInfo, kwargs: dict[str, Any]) -> ModelInfo:
        settings = azure_settings(info, kwargs.get("base_url"), os.environ, kwargs.get("api_key"))
        kwargs["base_url"] = settings.endpoint
        kwargs["api_key"] = settings.api_key
        self._ad_token = settings.ad_token
        auth: dict[str, Any] = {"api_key": settings.api_key}
        if settings.ad_token:
            auth = {"azure_ad_token": settings.ad_token}
        elif settings.entra_provider:
            from azure.identity import DefaultAzureCredential, get_bearer_token_provider

            scope = "https://cognitiveservices.azure.com/.default"
            auth = {"azure_ad_token_provider": get_bearer_token_provider(DefaultAzureCredential(), scope)}
        self._auth = {"azure_endpoint": settings.endpoint, "api_version": settings.api_version, **auth}
        if info.discover:
            info = self._probe(info)
        return info

    def _make_client(self) -> openai.AsyncAzureOpenAI:
        return openai.AsyncAzureOpenAI(
            **self._auth,
            max_retries=0,
            timeout=self.timeout_s,
            default_headers=dict(self.info.extra_headers) or None,
            http_client=aiohttp_client(openai, self.timeout_s),
        )

    def _probe(self, info: ModelInfo) -> ModelInfo:
        """Ask the deployment once which model it serves; adopt that model's tokenizer and prices."""
        from providers.doors.cloud import borrowed_entry
        from providers.doors.openai import DOOR as OPENAI

        client = openai.AzureOpenAI(**self._auth, max_retries=0, timeout=60.0)
        body = {"model": info.model_id, "messages": [{"role": "user", "content": "Hi"}]}
        body["max_completion_tokens"] = 1
        secrets = tuple(s for s in (self._auth.get("api_key"), self._ad_token) if s)
        try:
            data = client.post("/chat/completions", cast_to=object, body=body)
        except Exception as exc:
            err = classify_openai_error(exc, provider=info.alias, secrets=secrets)
            raise ConfigError(f"cannot ask deployment {info.model_id!r} for its model: {err}") from None
        finally:
            client.close()
        model = str(data.get("model") or "") if isinstance(data, dict) else ""
        found = borrowed_entry(OPENAI, model, "openai", model) if model else None
        if found is None:
            note = f"deployment of {model or 'an unknown model'} (not in the registry: tokenizer approximate)"
            return info.model_copy(update={"discover": False, "notes": note})
        return info.model_copy(
            update={
                "discover": False,
                "tokenizer": found.tokenizer,
                "tokenizer_exact": found.tokenizer_exact,
                "prices": info.prices or found.prices,
                "max_output_tokens": info.max_output_tokens or found.max_output_tokens,
                "notes": f"deployment of {model} (its OpenAI entry {found.alias!r} lends tokenizer, prices)",
            }
        )

    def _secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._api_key, getattr(self, "_ad_token", None)) if s)

    def _filtered(self, body: dict[str, Any], error: dict[str, Any], endpoint: str) -> GenerateResult:
        return GenerateResult(
            text="",
            stop_reason=StopReason.CONTENT_FILTER,
            usage=Usage(input_tokens=None, output_tokens=0),
            latency_s=0.0,
            model=self.info.model_id,
            raw_request=self._redact({"endpoint": _PATHS[endpoint], **body}),  # type: ignore[attr-defined]
            raw_response=self._redact(error),  # type: ignore[attr-defined]
        )

    async def _azure_generate(self, req: GenerateRequest) -> GenerateResult:
        endpoint, body = self.build_body(req)  # type: ignore[attr-defined]
        try:
            data = await self._client.post(_PATHS[endpoint], cast_to=object, body=body)  # type: ignore[attr-defined]
        except Exception as exc:
            filtered = content_filter_body(exc)
            if filtered is not None:
                return self._filtered(body, filtered, endpoint)
            raise classify_openai_error(exc, provider=self.name, secrets=self._secrets()) from None
        described = self.describe_request(req)  # type: ignore[attr-defined]
        return self._parse(endpoint, described, data)  # type: ignore[attr-defined]


class AzureOpenAIProvider(_Azure, OpenAIProvider):
    """An Azure OpenAI deployment through chat completions (completions in completion mode)."""

    def __init__(self, info: ModelInfo, **kwargs: Any) -> None:
        info = self._azure_init(info, kwargs)
        Provider.__init__(self, info, **kwargs)
        self._client = self._make_client()

    def build_body(self, req: GenerateRequest) -> tuple[str, dict[str, Any]]:
        """The OpenAI body, without ``prompt_cache_key`` (Azure's chat completions do not take it)."""
        endpoint, body = super().build_body(req)
        body.pop("prompt_cache_key", None)
        return endpoint, body

    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        return await self._azure_generate(req)


class AzureResponsesProvider(_Azure, OpenAIResponsesProvider):
    """An Azure OpenAI deployment through the Responses API (``/openai/responses``)."""

    def __init__(self, info: ModelInfo, **kwargs: Any) -> None:
        info = self._azure_init(info, kwargs)
        Provider.__init__(self, info, **kwargs)
        self._client = self._make_client()

    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        return await self._azure_generate(req)
