"""The OpenAI-compatible door: any server speaking OpenAI's chat/completions (vLLM, SGLang, llama.cpp,
Ollama), named ``<entry>:<model id>`` (``vllm:Qwen/Qwen3-8B``) or by ``--base-url`` alone.

Importing this package imports no SDK; :meth:`OpenAICompatibleDoor.adapter` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.door import Capabilities, Door
from providers.doors.openai import REASONING_EFFORTS

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.entry import ModelInfo

__all__ = ["DOOR", "OpenAICompatibleDoor"]


class OpenAICompatibleDoor(Door):
    """A self-hosted OpenAI-compatible server (no batch API, no billed cache)."""

    name = "openai-compatible"
    key_required = False
    suffix_ids = True
    needs_base_url = True
    packages = ("openai", "httpx")

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """No billed cache or batch; a count endpoint where the server has one (llama.cpp ``/tokenize``)."""
        return Capabilities(count_api=info.count_api, reasoning_efforts=REASONING_EFFORTS)

    def discover(self, info: ModelInfo, base_url: str | None, api_key: str | None) -> ModelInfo:
        """The served model id and window from the server's ``/v1/models`` (first of several replicas)."""
        from providers.doors.openai_compat.adapter import discover
        from providers.endpoints import parse_base_urls

        urls = parse_base_urls(base_url)
        if not urls:
            return info
        filled, _ = discover(info, urls[0], api_key)  # replicas serve one model: ask the first
        return filled

    def adapter(self) -> type[Provider]:
        """:class:`providers.doors.openai_compat.adapter.OpenAICompatibleProvider` (imports ``openai``)."""
        from providers.doors.openai_compat.adapter import OpenAICompatibleProvider

        return OpenAICompatibleProvider


DOOR = OpenAICompatibleDoor()
