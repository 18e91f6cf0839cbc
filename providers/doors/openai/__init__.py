"""The OpenAI door: chat completions (and legacy completions for base models) through the ``openai`` SDK.

Importing this package imports no SDK; :meth:`OpenAIDoor.adapter` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.door import BatchSupport, CacheRules, Capabilities, Door, VendorDefaults
from providers.errors import ConfigError

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.batch import BatchClient, BatchLimits
    from providers.entry import ModelInfo

__all__ = ["DOOR", "REASONING_EFFORTS", "OpenAIDoor"]

#: ``reasoning_effort`` values as ``openai.types.shared.ReasoningEffort`` types them (tests check it).
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
#: Automatic prefix caching above 1024 tokens, in 128-token increments (platform.openai.com/docs/guides/
#: prompt-caching); entries live 5-10 minutes (the shorter is used).
CACHE = CacheRules(mode="automatic", min_prefix_tokens=1024, step=128, ttl_s=300.0, in_batch=True)
#: 50,000 requests / 200 MB input file per batch, half price (platform.openai.com/docs/guides/batch).
BATCH = BatchSupport(max_requests=50_000, max_bytes=200 * 1024 * 1024, discount=0.5, endpoint="/v1/batches")


class OpenAIDoor(Door):
    """OpenAI's API (``openai:<model id>``)."""

    name = "openai"
    prefixes = ("openai",)
    key_env = ("OPENAI_API_KEY",)
    default_tokenizer = "o200k_base"
    packages = ("openai",)

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """Automatic caching, the batch API, no count endpoint, ``reasoning_effort``."""
        return Capabilities(cache=CACHE, batch=BATCH, count_api=False, reasoning_efforts=REASONING_EFFORTS)

    def vendor_defaults(self) -> VendorDefaults:
        """o200k_base as the stand-in tokenizer (exact for GPT-4o and later), no count API."""
        return VendorDefaults(tokenizer=self.default_tokenizer, count_api=False)

    def check_usable(self, info: ModelInfo) -> None:
        """OpenAI's models endpoint reports no window: an unlisted model needs ``--context-window``."""
        if not info.context_window:
            raise ConfigError(
                f"model {info.alias!r} is not in the registry and OpenAI's models endpoint reports no "
                "context window: give it with --context-window"
            )

    def check_entry(self, info: ModelInfo) -> None:
        """The default checks, and ``api`` is ``""``, ``chat`` or ``responses``."""
        super().check_entry(info)
        if info.api not in ("", "chat", "responses"):
            raise ValueError(f"api must be 'chat' or 'responses', got {info.api!r}")

    def create(self, info: ModelInfo, **kwargs: Any) -> Provider:
        """Chat completions, or the Responses API where the entry or the SDK's model lists ask for it."""
        from providers.doors.openai.responses import OpenAIResponsesProvider, uses_responses

        if uses_responses(info.api, info.model_id):
            for option in ("n_ctx", "verbose"):
                if kwargs.pop(option, None) and option == "n_ctx":
                    raise ConfigError("n_ctx applies only to the embedded local model")
            return OpenAIResponsesProvider(info, **kwargs)
        return super().create(info, **kwargs)

    def adapter(self) -> type[Provider]:
        """:class:`providers.doors.openai.adapter.OpenAIProvider` (imports ``openai``)."""
        from providers.doors.openai.adapter import OpenAIProvider

        return OpenAIProvider

    def batch_client(self, provider: Provider, *, limits: BatchLimits | None = None) -> BatchClient | None:
        """The OpenAI batch client (``/v1/batches`` with a JSONL input file)."""
        from providers.batch import BatchLimits
        from providers.doors.openai.batch import OpenAIBatchClient

        return OpenAIBatchClient(provider, limits=limits or BatchLimits.of(BATCH))


DOOR = OpenAIDoor()
