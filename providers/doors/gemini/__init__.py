"""The Gemini door: the Gemini Developer API through ``google-genai``.

Importing this package imports no SDK; :meth:`GeminiDoor.adapter` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.door import BatchSupport, CacheRules, Capabilities, Door, VendorDefaults

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.batch import BatchClient, BatchLimits
    from providers.entry import ModelInfo

__all__ = ["DOOR", "THINKING_LEVELS", "GeminiDoor"]

#: ``thinking_level`` values (``google.genai.types.ThinkingLevel``; tests check it).
THINKING_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH")
#: Implicit caching above 4096 tokens (ai.google.dev/gemini-api/docs/caching, 2026-10: 4096 for Gemini 3.x
#: and 4, 2048 for 2.5; the larger is used, the conservative side).
CACHE = CacheRules(mode="automatic", min_prefix_tokens=4096, in_batch=True)
#: Batch mode: 2 GB per input file (up to 20 MB of requests inline), half price (ai.google.dev, batch mode).
BATCH = BatchSupport(max_requests=100_000, max_bytes=2 * 1024 * 1024 * 1024, discount=0.5, endpoint="batches")


class GeminiDoor(Door):
    """Google's Gemini Developer API (``gemini:<model id>``, ``google:<model id>``)."""

    name = "gemini"
    prefixes = ("gemini", "google")
    key_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    default_tokenizer = "cl100k_base"
    packages = ("google-genai",)

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """Implicit caching, batch mode, the free count endpoint, thinking budgets or levels."""
        return Capabilities(
            cache=CACHE,
            batch=BATCH,
            count_api=info.count_api,
            thinking=("budget", "level"),
            thinking_levels=THINKING_LEVELS,
        )

    def vendor_defaults(self) -> VendorDefaults:
        """cl100k_base as a stand-in; lengths exact through the count API."""
        return VendorDefaults(tokenizer=self.default_tokenizer, count_api=True)

    def adapter(self) -> type[Provider]:
        """:class:`providers.doors.gemini.adapter.GeminiProvider` (imports ``google.genai``)."""
        from providers.doors.gemini.adapter import GeminiProvider

        return GeminiProvider

    def batch_client(self, provider: Provider, *, limits: BatchLimits | None = None) -> BatchClient | None:
        """The batch-mode client (inline requests, or a JSONL file through the Files API)."""
        from providers.batch import BatchLimits
        from providers.doors.gemini.batch import GeminiBatchClient

        return GeminiBatchClient(provider, limits=limits or BatchLimits.of(BATCH))


DOOR = GeminiDoor()
