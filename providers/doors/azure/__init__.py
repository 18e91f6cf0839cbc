"""The Azure OpenAI door: ``azure:<deployment>`` through the openai SDK's Azure client.

Configured the way the SDK and Azure are: the resource endpoint in ``AZURE_OPENAI_ENDPOINT``
(``https://<resource>.openai.azure.com``; ``--base-url`` overrides it), the API version in
``OPENAI_API_VERSION`` (``2024-10-21``, ``2025-04-01-preview``, ...), and a key in ``AZURE_OPENAI_API_KEY``
or Microsoft Entra ID: a token in ``AZURE_OPENAI_AD_TOKEN``, or ``DefaultAzureCredential`` when the
``azure-identity`` package is installed. Requests go to
``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`` with an ``api-key`` header
(or ``Authorization: Bearer``), and ``{endpoint}/openai/responses`` for entries with ``api = "responses"``.

A deployment has any name; the model behind it is what the response's ``model`` says. A deployment named
after its model (``azure:gpt-4o``) borrows the OpenAI entry of that model (window, tokenizer, list prices);
any other is probed once when its provider is created (a one-token request): the reported model's OpenAI
entry lends its tokenizer and prices, and every record names the model that answered. Azure's Global Batch
(``/openai/batches`` with a batch deployment) is not wired here: ``--batch`` is refused for this door.

Importing this package imports no SDK; the adapter does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from providers.door import CacheRules, Capabilities, VendorDefaults
from providers.doors.azure.settings import KEY_ENV, AzureSettings, azure_settings
from providers.doors.cloud import CloudDoor
from providers.errors import ConfigError

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.entry import ModelInfo

__all__ = ["DOOR", "AzureDoor", "AzureSettings", "azure_settings"]

#: Prompt caching as on OpenAI (automatic above 1024 tokens, 128-token steps; learn.microsoft.com, Azure
#: OpenAI prompt caching).
CACHE = CacheRules(mode="automatic", min_prefix_tokens=1024, step=128, ttl_s=300.0)


class AzureDoor(CloudDoor):
    """Azure OpenAI deployments (``azure:<deployment>``): a deployment named after an OpenAI model borrows its
    entry; any other is probed when its provider is created."""

    name = "azure"
    maker = "openai"
    probes_unlisted = True
    prefixes = ("azure",)
    key_env = (KEY_ENV,)
    key_required = False  # Entra ID instead of a key
    default_tokenizer = "o200k_base"
    packages = ("openai",)

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """Automatic caching, no batch here, no count endpoint, OpenAI's ``reasoning_effort``."""
        from providers.doors.openai import REASONING_EFFORTS

        return Capabilities(cache=CACHE, batch=None, count_api=False, reasoning_efforts=REASONING_EFFORTS)

    def vendor_defaults(self) -> VendorDefaults:
        """o200k_base until the probe names the model."""
        return VendorDefaults(tokenizer=self.default_tokenizer, count_api=False)

    def check_entry(self, info: ModelInfo) -> None:
        """The default checks, and ``api`` is ``""``, ``chat`` or ``responses``."""
        super().check_entry(info)
        if info.api not in ("", "chat", "responses"):
            raise ValueError(f"api must be 'chat' or 'responses', got {info.api!r}")

    def check_usable(self, info: ModelInfo) -> None:
        """Azure reports no window for a deployment: an unlisted one needs ``--context-window``."""
        if not info.context_window:
            raise ConfigError(
                f"model {info.alias!r}: Azure reports no context window for a deployment: give it with "
                "--context-window"
            )

    def check_config(
        self, info: ModelInfo, environ: Mapping[str, str] | None = None, *, base_url: str | None = None
    ) -> str | None:
        """Endpoint, API version and credentials are set; returns the key (None: Entra ID)."""
        env = os.environ if environ is None else environ
        return azure_settings(info, base_url, env).api_key

    def create(self, info: ModelInfo, **kwargs: Any) -> Provider:
        """Chat completions, or the Responses API (``api = "responses"``, or a Responses-only model)."""
        kwargs.pop("verbose", None)
        if kwargs.pop("n_ctx", None) is not None:
            raise ConfigError("n_ctx applies only to the embedded local model")
        from providers.doors.azure.adapter import AzureOpenAIProvider, AzureResponsesProvider
        from providers.doors.openai.responses import uses_responses

        # ``api`` decides; unset, a deployment named after a Responses-only model goes through /responses.
        cls = AzureResponsesProvider if uses_responses(info.api, info.model_id) else AzureOpenAIProvider
        return cls(info, **kwargs)

    def adapter(self) -> type[Provider]:
        """:class:`providers.doors.azure.adapter.AzureOpenAIProvider` (imports ``openai``)."""
        from providers.doors.azure.adapter import AzureOpenAIProvider

        return AzureOpenAIProvider


DOOR = AzureDoor()
