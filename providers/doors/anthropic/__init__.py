"""The Anthropic door: the Messages API through the ``anthropic`` SDK.

Importing this package imports no SDK; :meth:`AnthropicDoor.adapter` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.door import BatchSupport, CacheRules, Capabilities, Door, VendorDefaults

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.batch import BatchClient, BatchLimits
    from providers.entry import ModelInfo

__all__ = ["DOOR", "REASONING_EFFORTS", "AnthropicDoor"]

#: ``output_config.effort`` values as ``anthropic.types.OutputConfigParam`` types them (tests check it).
REASONING_EFFORTS = ("low", "medium", "high", "xhigh", "max")
#: Explicit breakpoints (``cache_control``), at most 4 per request; 1024 tokens is the Sonnet/Opus-class
#: minimum (a Haiku-class model's 2048 only removes breakpoints the sizer would not set); 5-minute entries
#: (written at 1.25x the input price, the entry's ``cache_write``) or 1-hour ones (``ttl: "1h"``, written at
#: 2x); batches may read and write the cache (docs.anthropic.com, prompt caching).
CACHE = CacheRules(
    mode="breakpoints",
    min_prefix_tokens=1024,
    max_breakpoints=4,
    ttl_s=300.0,
    in_batch=True,
    long_ttl_s=3600.0,
    long_write_factor=2.0,
)
#: 100,000 requests / 256 MB per batch, half price (docs.anthropic.com, message batches).
BATCH = BatchSupport(
    max_requests=100_000, max_bytes=256 * 1024 * 1024, discount=0.5, endpoint="/v1/messages/batches"
)


class AnthropicDoor(Door):
    """Anthropic's API (``anthropic:<model id>``)."""

    name = "anthropic"
    prefixes = ("anthropic",)
    key_env = ("ANTHROPIC_API_KEY",)
    default_tokenizer = "cl100k_base"
    packages = ("anthropic",)

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """Breakpoint caching, the batch API, the free count endpoint, effort, budget or adaptive thinking."""
        return Capabilities(
            cache=CACHE,
            batch=BATCH,
            count_api=info.count_api,
            reasoning_efforts=REASONING_EFFORTS,
            thinking=("budget", "adaptive"),
            min_thinking_budget=1024,
        )

    def vendor_defaults(self) -> VendorDefaults:
        """cl100k_base as a stand-in (Claude's tokenizer is not public); exact through the count API."""
        return VendorDefaults(tokenizer=self.default_tokenizer, count_api=True)

    def adapter(self) -> type[Provider]:
        """:class:`providers.doors.anthropic.adapter.AnthropicProvider` (imports ``anthropic``)."""
        from providers.doors.anthropic.adapter import AnthropicProvider

        return AnthropicProvider

    def batch_client(self, provider: Provider, *, limits: BatchLimits | None = None) -> BatchClient | None:
        """The Message Batches client."""
        from providers.batch import BatchLimits
        from providers.doors.anthropic.batch import AnthropicBatchClient

        return AnthropicBatchClient(provider, limits=limits or BatchLimits.of(BATCH))


DOOR = AnthropicDoor()
