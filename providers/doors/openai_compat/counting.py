"""Exact prompt-token counts from a llama.cpp server, chat template included.

A llama.cpp server (the embedded model, or one the user runs) reports ``usage.prompt_tokens`` only after a
call. Before it, the same count comes from its own endpoints: ``/apply-template`` renders the chat messages
with the model's template and ``/tokenize`` (special tokens added and parsed, as the server does for a
request) counts the result; a completion prompt is tokenized directly. This is what lets a runner size a
prompt to exactly N tokens through a chat template, whose tokens can merge with the text next to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from providers.base import GenerateRequest

__all__ = ["LlamaCppCounter"]


class LlamaCppCounter:
    """Counts a request's prompt tokens as a llama.cpp server will (see the module docstring).

    Args:
        base_url: The server's OpenAI-compatible base URL (``.../v1``) or its root.
        timeout_s: Per request.
    """

    def __init__(self, base_url: str, timeout_s: float = 60.0) -> None:
        root = base_url.rstrip("/")
        self.root = root[: -len("/v1")] if root.endswith("/v1") else root
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def count(self, req: GenerateRequest) -> int | None:
        """The request's prompt tokens, or None when the server cannot say (an older server, an error)."""
        try:
            if req.prompt is not None:
                text = req.prompt
            else:
                messages = [{"role": "system", "content": req.system}] if req.system else []
                messages += [{"role": m.role, "content": m.content} for m in req.messages]
                r = await self._client.post(f"{self.root}/apply-template", json={"messages": messages})
                r.raise_for_status()
                text = r.json()["prompt"]
            r = await self._client.post(
                f"{self.root}/tokenize", json={"content": text, "add_special": True, "parse_special": True}
            )
            r.raise_for_status()
            return len(r.json()["tokens"])
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            return None

    async def aclose(self) -> None:
        await self._client.aclose()
