"""Azure OpenAI settings: endpoint, API version and credentials, from the environment (no SDK import)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from providers.errors import ConfigError

if TYPE_CHECKING:
    from providers.entry import ModelInfo

__all__ = ["ENDPOINT_ENV", "KEY_ENV", "TOKEN_ENV", "VERSION_ENV", "AzureSettings", "azure_settings"]

ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
KEY_ENV = "AZURE_OPENAI_API_KEY"
TOKEN_ENV = "AZURE_OPENAI_AD_TOKEN"
VERSION_ENV = "OPENAI_API_VERSION"
#: Azure's data-plane versions: ``YYYY-MM-DD`` (GA) or ``YYYY-MM-DD-preview``.
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


@dataclass(frozen=True)
class AzureSettings:
    """Where and how to reach a deployment.

    Attributes:
        endpoint: The resource endpoint (no ``/openai`` suffix).
        api_version: The ``api-version`` query value.
        api_key: The key, or None when Entra ID is used.
        ad_token: A Microsoft Entra ID token (``AZURE_OPENAI_AD_TOKEN``).
        entra_provider: Use ``azure-identity``'s ``DefaultAzureCredential``.
    """

    endpoint: str
    api_version: str
    api_key: str | None
    ad_token: str | None = None
    entra_provider: bool = False


def _has_azure_identity() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("azure.identity") is not None
    except ModuleNotFoundError:  # no ``azure`` namespace at all
        return False


def azure_settings(
    info: ModelInfo, base_url: str | None, environ: Mapping[str, str], api_key: str | None = None
) -> AzureSettings:
    """The endpoint, API version and credentials for ``info``.

    Raises:
        ConfigError: One line naming what to set.
    """
    endpoint = (base_url or info.base_url or environ.get(ENDPOINT_ENV, "")).strip().rstrip("/")
    if endpoint.endswith("/openai"):
        endpoint = endpoint[: -len("/openai")]
    if not endpoint:
        raise ConfigError(
            f"{info.alias}: set {ENDPOINT_ENV} to your resource's endpoint "
            "(https://<resource>.openai.azure.com) or give --base-url"
        )
    version = environ.get(VERSION_ENV, "").strip()
    if not version:
        raise ConfigError(f"{info.alias}: set {VERSION_ENV} to an Azure OpenAI API version (e.g. 2024-10-21)")
    if not _VERSION.match(version):
        raise ConfigError(
            f"{info.alias}: {VERSION_ENV}={version!r} is not an Azure OpenAI API version "
            "(YYYY-MM-DD or YYYY-MM-DD-preview)"
        )
    key = api_key or environ.get(KEY_ENV, "").strip() or None
    token = None if key else environ.get(TOKEN_ENV, "").strip() or None
    if key is None and token is None and not _has_azure_identity():
        raise ConfigError(
            f"{info.alias}: set {KEY_ENV}, or {TOKEN_ENV} (a Microsoft Entra ID token), or install "
            "azure-identity to sign in with DefaultAzureCredential"
        )
    return AzureSettings(endpoint, version, key, token, entra_provider=key is None and token is None)
