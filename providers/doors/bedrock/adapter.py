"""Amazon Bedrock adapter: the Anthropic adapter on ``anthropic.AsyncAnthropicBedrock``.

The body is the Anthropic adapter's with ``anthropic_version: "bedrock-2023-05-31"`` (Bedrock's; the SDK
would otherwise put the first-party API version there); the SDK moves ``model`` into the path
(``POST /model/{model id}/invoke``) and signs each request with SigV4 (botocore's credential chain) or
sends the Bedrock API key as a bearer token. Answers are Messages API JSON, read by the Anthropic adapter.

Token counting: Bedrock's ``CountTokens`` (``POST /model/{foundation model id}/count-tokens`` with
``{"input": {"invokeModel": {"body": <base64 of the InvokeModel body>}}}``, answering ``{"inputTokens": n}``)
through the same client (signed the same way); the SDK's ``messages.count_tokens`` is not available on
Bedrock. Errors come as ``{"message": ...}`` with the exception name in ``x-amzn-ErrorType``: a
``ValidationException`` saying the input is too long is the prompt over the window (``MODEL_LENGTH``);
``ThrottlingException`` (429) and ``ServiceUnavailableException`` (503) are retried by the central loop.
"""

from __future__ import annotations

import base64
import json
import os
import re
from typing import TYPE_CHECKING, Any

import anthropic

from providers.base import GenerateRequest, Provider
from providers.doors.anthropic.adapter import (
    AnthropicProvider,
    classify_anthropic_error,
)
from providers.doors.bedrock.settings import BEDROCK_VERSION, bedrock_settings, foundation_id
from providers.errors import ContextLengthExceeded, MalformedResponse, ProviderError

if TYPE_CHECKING:
    from providers.entry import ModelInfo

__all__ = ["BedrockProvider", "classify_bedrock_error"]

#: Bedrock's own wording of a prompt over the model's window (a ValidationException).
_TOO_LONG = re.compile(r"input is too long|too many input tokens", re.I)


def classify_bedrock_error(exc: BaseException, *, provider: str, secrets: tuple[str, ...]) -> ProviderError:
    """Classify an exception of the anthropic SDK's Bedrock client (not raised)."""
    err = classify_anthropic_error(exc, provider=provider, secrets=secrets)
    if isinstance(exc, anthropic.BadRequestError) and _TOO_LONG.search(str(err.message)):
        body = exc.body if isinstance(exc.body, dict) else {"message": str(err.message)}
        return ContextLengthExceeded(err.message, provider=provider, body=body)
    return err


class BedrockProvider(AnthropicProvider):
    """Claude on Amazon Bedrock (``/model/{id}/invoke``, ``/model/{id}/count-tokens``).

    Generation is the Anthropic adapter's: the SDK's Bedrock client rewrites ``POST /v1/messages`` to
    ``/model/{model}/invoke`` (the model taken out of the body) and signs it.
    """

    kind = "bedrock"

    def __init__(self, info: ModelInfo, **kwargs: Any) -> None:
        settings = bedrock_settings(info, os.environ, kwargs.get("api_key"))
        kwargs["api_key"] = settings.bearer_token
        Provider.__init__(self, info, **kwargs)
        self.region = settings.region
        self._client = anthropic.AsyncAnthropicBedrock(
            aws_region=settings.region,
            api_key=settings.bearer_token,
            base_url=self.base_url,
            max_retries=0,
            timeout=self.timeout_s,
            default_headers=dict(info.extra_headers) or None,
        )

    @property
    def invoke_path(self) -> str:
        """The InvokeModel path of this model."""
        return f"/model/{self.info.model_id}/invoke"

    def build_body(self, req: GenerateRequest) -> dict[str, Any]:
        """The Messages body with Bedrock's ``anthropic_version`` (``model`` goes into the path)."""
        return {**super().build_body(req), "anthropic_version": BEDROCK_VERSION}

    def _described(self, body: dict[str, Any]) -> dict[str, Any]:
        """The InvokeModel path and the body as sent there (without ``model``)."""
        return {"endpoint": self.invoke_path, **{k: v for k, v in body.items() if k != "model"}}

    def _classify(self, exc: BaseException) -> ProviderError:
        """Anthropic's classification, with Bedrock's words for a prompt over the window."""
        return classify_bedrock_error(exc, provider=self.name, secrets=self._secrets())

    async def count_tokens(self, text: str) -> int | None:
        """Bedrock's count of ``text`` as one user message (``CountTokens`` on the foundation model)."""
        invoke = {
            "anthropic_version": BEDROCK_VERSION,
            "max_tokens": 1,
            "messages": [{"role": "user", "content": text}],
        }
        payload = base64.b64encode(json.dumps(invoke, ensure_ascii=False).encode()).decode()
        path = f"/model/{foundation_id(self.info.model_id)}/count-tokens"
        request = json.dumps({"input": {"invokeModel": {"body": payload}}}).encode()

        async def once() -> int:
            try:
                # Sent as bytes: a JSON body would get the SDK's first-party ``anthropic_version`` added.
                data = await self._client.post(
                    path,
                    cast_to=object,
                    content=request,
                    options={"headers": {"Content-Type": "application/json"}},
                )
            except Exception as exc:
                raise self._classify(exc) from None
            count = data.get("inputTokens") if isinstance(data, dict) else None
            if not isinstance(count, int):
                raise MalformedResponse("CountTokens answer has no inputTokens", provider=self.name)
            return count

        value, _ = await self._retrying(once, limited=False)
        return value
