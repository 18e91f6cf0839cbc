"""Amazon Bedrock settings: region and credentials (no SDK import), and Bedrock's model ids."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from providers.errors import ConfigError

if TYPE_CHECKING:
    from providers.entry import ModelInfo

__all__ = [
    "BEDROCK_VERSION",
    "PROFILE_PREFIXES",
    "TOKEN_ENV",
    "BedrockSettings",
    "anthropic_id",
    "bedrock_settings",
    "foundation_id",
]

TOKEN_ENV = "AWS_BEARER_TOKEN_BEDROCK"
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")
#: The ``anthropic_version`` Bedrock requires in every Claude request body.
BEDROCK_VERSION = "bedrock-2023-05-31"
#: Geographic prefixes of cross-region inference profiles.
PROFILE_PREFIXES = ("us", "eu", "apac", "au", "jp", "ca", "global", "us-gov")


def foundation_id(model_id: str) -> str:
    """The foundation-model id of a Bedrock id (an inference profile's geographic prefix removed)."""
    head, dot, rest = model_id.partition(".")
    return rest if dot and head.lower() in PROFILE_PREFIXES else model_id


def anthropic_id(model_id: str) -> str:
    """Anthropic's id of a Bedrock id: ``us.anthropic.claude-x-20250101-v1:0`` gives ``claude-x-20250101``."""
    base = foundation_id(model_id).split(":")[0]
    base = base.removeprefix("anthropic.")
    for suffix in ("-v1", "-v2", "-v3"):
        base = base.removesuffix(suffix)
    return base


@dataclass(frozen=True)
class BedrockSettings:
    """How to reach Bedrock.

    Attributes:
        region: The AWS region.
        bearer_token: A Bedrock API key (None: SigV4 with botocore's credentials).
    """

    region: str
    bearer_token: str | None


def _profile_region(environ: Mapping[str, str]) -> str | None:
    if importlib.util.find_spec("boto3") is None:
        return None
    import boto3

    try:
        return boto3.Session(profile_name=environ.get("AWS_PROFILE") or None).region_name
    except Exception:  # an unknown profile: the credential check below names it
        return None


def bedrock_settings(
    info: ModelInfo, environ: Mapping[str, str], api_key: str | None = None
) -> BedrockSettings:
    """The region and credentials for ``info``.

    Raises:
        ConfigError: No region, or no credentials (one line naming what to set).
    """
    region = next((environ[v].strip() for v in REGION_ENVS if environ.get(v, "").strip()), None)
    region = region or _profile_region(environ)
    if not region:
        raise ConfigError(f"{info.alias}: set AWS_REGION to the Bedrock region (e.g. us-east-1)")
    token = api_key or environ.get(TOKEN_ENV, "").strip() or None
    if token is not None:
        return BedrockSettings(region, token)
    if importlib.util.find_spec("boto3") is None:
        raise ConfigError(
            f"{info.alias}: set {TOKEN_ENV} (a Bedrock API key), or install the bedrock extra "
            "(pip install 'niah-suite[bedrock]') to sign requests with your AWS credentials"
        )
    import boto3

    try:
        credentials = boto3.Session(profile_name=environ.get("AWS_PROFILE") or None).get_credentials()
    except Exception as exc:
        raise ConfigError(f"{info.alias}: AWS credentials: {type(exc).__name__}: {exc}") from None
    if credentials is None:
        raise ConfigError(
            f"{info.alias}: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            f"AWS_PROFILE, or {TOKEN_ENV}"
        )
    return BedrockSettings(region, None)
