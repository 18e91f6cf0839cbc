"""The Amazon Bedrock door: ``bedrock:<model id>`` (Claude on AWS) through the anthropic SDK's Bedrock client.

Configured the way AWS is: the region from ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``, or the profile's), and
credentials as botocore finds them (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
``AWS_PROFILE``, SSO, instance roles), each request signed with SigV4 (needs ``boto3``: the optional extra
``pip install niah-suite[bedrock]``), or a Bedrock API key in ``AWS_BEARER_TOKEN_BEDROCK`` (sent as a
bearer token; no boto3 needed). ``--base-url`` replaces ``https://bedrock-runtime.{region}.amazonaws.com``.

Model ids are Bedrock's: a foundation model (``anthropic.claude-haiku-4-5-20251001-v1:0``) or an inference
profile (``us.anthropic.claude-sonnet-4-5-20250929-v1:0``, ``global.anthropic...``). An id naming a Claude
model the Anthropic entries know borrows that entry (window, thinking, list prices: on-demand Bedrock prices
for Claude match Anthropic's for global profiles; regional profiles of newer models cost about 10% more;
check aws.amazon.com/bedrock/pricing). Tokens are counted with Bedrock's ``CountTokens``
(``POST /model/{id}/count-tokens``, always with the foundation-model id: inference profiles are refused
there); a model Bedrock cannot count gets ``count_api = false`` in its entry and lengths from the cl100k
proxy (``tokenizer_exact = false``). Batch inference on Bedrock reads its input from S3: not offered here.

Importing this package imports no SDK; the adapter does.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from providers.door import CacheRules, Capabilities, Door, VendorDefaults
from providers.errors import ConfigError

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.entry import ModelInfo

__all__ = ["BEDROCK_VERSION", "DOOR", "BedrockDoor", "BedrockSettings", "bedrock_settings", "foundation_id"]

TOKEN_ENV = "AWS_BEARER_TOKEN_BEDROCK"
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")
#: The ``anthropic_version`` Bedrock requires in every Claude request body.
BEDROCK_VERSION = "bedrock-2023-05-31"
#: Geographic prefixes of cross-region inference profiles.
PROFILE_PREFIXES = ("us", "eu", "apac", "au", "jp", "ca", "global", "us-gov")
#: Claude's breakpoint caching on Bedrock (docs.aws.amazon.com/bedrock, prompt caching: 1024-token minimum
#: for Sonnet/Opus-class models, 5-minute entries; batch inference is not used here).
CACHE = CacheRules(mode="breakpoints", min_prefix_tokens=1024, max_breakpoints=4, ttl_s=300.0)


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


class BedrockDoor(Door):
    """Claude on Amazon Bedrock (``bedrock:<model id>``)."""

    name = "bedrock"
    prefixes = ("bedrock",)
    key_env = (TOKEN_ENV,)
    key_required = False  # the AWS credential chain instead of a key
    default_tokenizer = "cl100k_base"
    packages = ("anthropic", "boto3")

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """Breakpoint caching, no batch here, CountTokens where the entry says, Claude's thinking controls."""
        from providers.doors.anthropic import REASONING_EFFORTS

        return Capabilities(
            cache=CACHE,
            batch=None,
            count_api=info.count_api,
            reasoning_efforts=REASONING_EFFORTS,
            thinking=("budget", "adaptive"),
            min_thinking_budget=1024,
        )

    def vendor_defaults(self) -> VendorDefaults:
        """cl100k_base as a stand-in; lengths exact through CountTokens."""
        return VendorDefaults(tokenizer=self.default_tokenizer, count_api=True)

    def vendor_entry(self, model_id: str) -> ModelInfo:
        """An id naming a known Claude model borrows its Anthropic entry; any other needs a window."""
        from providers.doors.cloud import borrowed_entry

        found = borrowed_entry(self, model_id, "anthropic", anthropic_id(model_id))
        return found or super().vendor_entry(model_id).model_copy(update={"discover": False})

    def check_usable(self, info: ModelInfo) -> None:
        """An unlisted model needs ``--context-window``."""
        if not info.context_window:
            raise ConfigError(
                f"model {info.alias!r} is not in the registry: give its context window with --context-window"
            )

    def check_config(
        self, info: ModelInfo, environ: Mapping[str, str] | None = None, *, base_url: str | None = None
    ) -> str | None:
        """Region and credentials are set; returns the Bedrock API key (None: SigV4)."""
        return bedrock_settings(info, os.environ if environ is None else environ).bearer_token

    def answering_model(self, raw_model_id: str) -> str:
        """Bedrock answers with Anthropic's model id."""
        return raw_model_id

    def adapter(self) -> type[Provider]:
        """:class:`providers.doors.bedrock.adapter.BedrockProvider` (imports ``anthropic``)."""
        from providers.doors.bedrock.adapter import BedrockProvider

        return BedrockProvider


DOOR = BedrockDoor()
