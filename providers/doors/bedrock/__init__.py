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

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from providers.door import CacheRules, Capabilities, VendorDefaults
from providers.doors.bedrock.settings import (
    BEDROCK_VERSION,
    TOKEN_ENV,
    BedrockSettings,
    anthropic_id,
    bedrock_settings,
    foundation_id,
)
from providers.doors.cloud import CloudDoor

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.entry import ModelInfo

__all__ = ["BEDROCK_VERSION", "DOOR", "BedrockDoor", "BedrockSettings", "bedrock_settings", "foundation_id"]

#: Claude's breakpoint caching on Bedrock (docs.aws.amazon.com/bedrock, prompt caching: 1024-token minimum
#: for Sonnet/Opus-class models, 5-minute entries; batch inference is not used here).
CACHE = CacheRules(mode="breakpoints", min_prefix_tokens=1024, max_breakpoints=4, ttl_s=300.0)


class BedrockDoor(CloudDoor):
    """Claude on Amazon Bedrock (``bedrock:<model id>``): an id naming a known Claude model borrows its
    Anthropic entry; any other needs ``--context-window``."""

    name = "bedrock"
    maker = "anthropic"
    prefixes = ("bedrock",)
    key_env = (TOKEN_ENV,)
    key_required = False  # the AWS credential chain instead of a key
    default_tokenizer = "cl100k_base"
    packages = ("anthropic",)

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """Claude's own controls (the Anthropic door's), with Bedrock's cache rules and no batch here."""
        from providers.doors.anthropic import DOOR as CLAUDE

        return dataclasses.replace(CLAUDE.capabilities(info), cache=CACHE, batch=None)

    def vendor_defaults(self) -> VendorDefaults:
        """cl100k_base as a stand-in; lengths exact through CountTokens."""
        return VendorDefaults(tokenizer=self.default_tokenizer, count_api=True)

    def maker_id(self, model_id: str) -> str:
        """Anthropic's id of a Bedrock model id or inference profile."""
        return anthropic_id(model_id)

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
