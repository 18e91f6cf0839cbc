"""The Vertex AI door: ``vertex:<model>`` (Gemini on Google Cloud), google-genai with ``vertexai=True``.

Configured the way google-genai and Google Cloud are:

* a project: ``GOOGLE_CLOUD_PROJECT`` and ``GOOGLE_CLOUD_LOCATION`` (default ``global``, as the SDK's), with
  application default credentials (``gcloud auth application-default login``, a service account in
  ``GOOGLE_APPLICATION_CREDENTIALS``, or the metadata server); requests go to
  ``/v1beta1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent``
  with an OAuth bearer token;
* or express mode: an API key in ``GOOGLE_API_KEY`` and no project; requests go to
  ``/v1beta1/publishers/google/models/{model}:generateContent`` with ``x-goog-api-key``.

A project set in the environment wins over a key, as in the SDK. ``--base-url`` replaces the endpoint
(``https://{location}-aiplatform.googleapis.com``). Tokens are counted through Vertex's ``countTokens``.
A ``vertex:<id>`` the Gemini entries name (``vertex:gemini-2.5-flash``) borrows that entry (window,
thinking, list prices: Vertex's standard on-demand prices for Gemini are the Gemini API's paid-tier
prices; check cloud.google.com/vertex-ai/generative-ai/pricing); any other needs ``--context-window``.
Batch prediction on Vertex reads its input from Cloud Storage or BigQuery: not offered here.

Importing this package imports no SDK; the adapter does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from providers.door import Capabilities, VendorDefaults
from providers.doors.cloud import CloudDoor
from providers.doors.vertex.settings import KEY_ENV, VertexSettings, check_adc, vertex_settings

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.entry import ModelInfo

__all__ = ["DOOR", "VertexDoor", "VertexSettings", "vertex_settings"]


class VertexDoor(CloudDoor):
    """Gemini on Vertex AI (``vertex:<model>``): a model the Gemini entries name borrows its entry; any other
    needs ``--context-window``."""

    name = "vertex"
    maker = "gemini"
    prefixes = ("vertex",)
    key_env = (KEY_ENV,)
    key_required = False  # application default credentials instead of a key
    default_tokenizer = "cl100k_base"
    packages = ("google-genai",)

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """Implicit caching as on the Gemini API, no batch here, the count endpoint, thinking controls."""
        from providers.doors.gemini import CACHE, THINKING_LEVELS

        return Capabilities(
            cache=CACHE,
            batch=None,
            count_api=True,
            thinking=("budget", "level"),
            thinking_levels=THINKING_LEVELS,
        )

    def vendor_defaults(self) -> VendorDefaults:
        """cl100k_base as a stand-in; lengths exact through ``countTokens``."""
        return VendorDefaults(tokenizer=self.default_tokenizer, count_api=True)

    def check_config(
        self, info: ModelInfo, environ: Mapping[str, str] | None = None, *, base_url: str | None = None
    ) -> str | None:
        """A project with application default credentials, or an express-mode key; returns the key."""
        settings = vertex_settings(info, os.environ if environ is None else environ)
        if not settings.express and environ is None:
            check_adc(info)  # reads the process's environment, as google.auth does
        return settings.api_key

    def adapter(self) -> type[Provider]:
        """:class:`providers.doors.vertex.adapter.VertexProvider` (imports ``google.genai``)."""
        from providers.doors.vertex.adapter import VertexProvider

        return VertexProvider


DOOR = VertexDoor()
