"""Vertex AI settings: project and location (application default credentials) or an express-mode key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from providers.errors import ConfigError

if TYPE_CHECKING:
    from providers.entry import ModelInfo

__all__ = [
    "DEFAULT_LOCATION",
    "KEY_ENV",
    "LOCATION_ENV",
    "PROJECT_ENV",
    "VertexSettings",
    "check_adc",
    "vertex_settings",
]

PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"
LOCATION_ENV = "GOOGLE_CLOUD_LOCATION"
KEY_ENV = "GOOGLE_API_KEY"
DEFAULT_LOCATION = "global"


@dataclass(frozen=True)
class VertexSettings:
    """How to reach Vertex AI.

    Attributes:
        project: The Google Cloud project (None: express mode).
        location: The region (``us-central1``) or ``global`` (None: express mode).
        api_key: The express-mode key (None: application default credentials).
    """

    project: str | None
    location: str | None
    api_key: str | None

    @property
    def express(self) -> bool:
        """API-key (express) mode."""
        return self.project is None


def vertex_settings(
    info: ModelInfo, environ: Mapping[str, str], api_key: str | None = None
) -> VertexSettings:
    """Project and location (application default credentials), or an express-mode key.

    Raises:
        ConfigError: Neither is set (one line naming both ways).
    """
    project = environ.get(PROJECT_ENV, "").strip() or None
    if project is not None:
        location = environ.get(LOCATION_ENV, "").strip() or DEFAULT_LOCATION
        return VertexSettings(project, location, None)
    key = api_key or environ.get(KEY_ENV, "").strip() or None
    if key is None:
        raise ConfigError(
            f"{info.alias}: set {PROJECT_ENV} (and {LOCATION_ENV}; credentials from application default "
            f"credentials), or {KEY_ENV} for Vertex AI express mode"
        )
    return VertexSettings(None, None, key)


def check_adc(info: ModelInfo) -> None:
    """Application default credentials can be found (a key file, gcloud's login, or the metadata server).

    Nothing is refreshed here (no token request); on a machine with none of them, ``google.auth`` pings the
    metadata server once (a few seconds offline).

    Raises:
        ConfigError: None found (one line naming how to provide them).
    """
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError:
        raise ConfigError(
            f"{info.alias}: no Google application default credentials: run 'gcloud auth application-default "
            f"login' or set GOOGLE_APPLICATION_CREDENTIALS to a key file (or use {KEY_ENV} without "
            f"{PROJECT_ENV} for express mode)"
        ) from None
