"""Vertex AI adapter: the Gemini adapter on ``genai.Client(vertexai=True, ...)``.

Requests, thinking settings, response reading and error classification are the Gemini adapter's (the
Vertex wire format of ``generateContent`` / ``countTokens`` is the same JSON); what differs is the client:
project and location with application default credentials, or an express-mode API key (see
:mod:`providers.doors.vertex`), the SDK's Vertex API version (``v1beta1``) and paths.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from google import genai
from google.genai import types

from providers.base import GenerateRequest, Provider
from providers.doors.gemini.adapter import GeminiProvider
from providers.doors.vertex.settings import vertex_settings

if TYPE_CHECKING:
    from providers.entry import ModelInfo

__all__ = ["API_VERSION", "VertexProvider"]

#: The SDK's Vertex API version (``GOOGLE_GENAI_API_VERSION`` unset).
API_VERSION = "v1beta1"


class VertexProvider(GeminiProvider):
    """Gemini through Vertex AI (``generateContent``, ``countTokens``)."""

    kind = "vertex"

    def __init__(self, info: ModelInfo, **kwargs: Any) -> None:
        settings = vertex_settings(info, os.environ, kwargs.get("api_key"))
        kwargs["api_key"] = settings.api_key
        Provider.__init__(self, info, **kwargs)
        self.settings = settings
        options = types.HttpOptions(
            api_version=API_VERSION,
            base_url=self.base_url,
            timeout=int(self.timeout_s * 1000),
            headers=dict(info.extra_headers) or None,
            retry_options=types.HttpRetryOptions(attempts=1),  # the central loop retries
        )
        if settings.express:
            self._client = genai.Client(vertexai=True, api_key=settings.api_key, http_options=options)
        else:
            self._client = genai.Client(
                vertexai=True, project=settings.project, location=settings.location, http_options=options
            )

    @property
    def resource(self) -> str:
        """The model's resource path under the API version."""
        model = f"publishers/google/models/{self.info.model_id}"
        if self.settings.express:
            return model
        return f"projects/{self.settings.project}/locations/{self.settings.location}/{model}"

    def describe_request(self, req: GenerateRequest) -> dict[str, Any]:
        return {"endpoint": f"/{API_VERSION}/{self.resource}:generateContent", **self.build_request(req)}
