"""The default provider: Gemma 3 270M served in-process by llama.cpp, spoken to as an
OpenAI-compatible server in completion mode (it is a base model: prompt + answer prefix)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from providers.doors.local.server import LocalServer
from providers.doors.openai_compat.adapter import OpenAICompatibleProvider

if TYPE_CHECKING:
    from providers.registry import ModelInfo

__all__ = ["LocalProvider", "serve_window"]


def serve_window(info: ModelInfo, longest: int, allow_beyond: bool = False) -> int | None:
    """The window to start the embedded model with: enough for the longest prompt plus its answer.

    Args:
        info: The registry entry (``served_context`` is the default window, ``context_window`` the most).
        longest: The longest prompt plus its answer budget, in tokens.
        allow_beyond: The user probes beyond the window: serve what the model allows, no margin.

    Returns:
        ``n_ctx`` rounded up to 256, at most the model's window; None for a model that is not embedded.
    """
    if info.provider != "local":
        return None
    base = info.served_context or 0
    if allow_beyond:
        return max(base, min(info.context_window, longest))
    need = max(base, longest + 64)
    return min(info.context_window, int(math.ceil(need / 256) * 256))


class LocalProvider(OpenAICompatibleProvider):
    """Starts a :class:`LocalServer` on creation and stops it in :meth:`aclose`.

    ``info`` is replaced by the effective entry: ``context_window`` is the window actually served
    (``n_ctx``), ``tokenizer`` is ``llamacpp:<server url>`` and ``base_url`` the server's ``/v1``.
    """

    kind = "local"

    def __init__(
        self,
        info: ModelInfo,
        *,
        n_ctx: int | None = None,
        verbose: bool = False,
        base_url: str | None = None,
        server: LocalServer | None = None,
        **kwargs: Any,
    ) -> None:
        if base_url:  # an already running llama.cpp server: a compatible provider that asks its window
            self.server = None
            info = info.model_copy(update={"context_window": 0})
        else:
            ctx = n_ctx or info.served_context or info.context_window
            self.server = server or LocalServer(
                n_ctx=ctx, max_ctx=info.context_window, verbose=verbose, model_alias=info.model_id
            )
            base_url = self.server.start() + "/v1"
            info = info.model_copy(update={"context_window": self.server.n_ctx})
        discover = self.server is None
        info = info.model_copy(
            update={"base_url": base_url, "tokenizer": "llamacpp:{server_url}", "discover": discover}
        )
        super().__init__(info, base_url=base_url, **kwargs)
        self.is_llamacpp = True

    async def _close(self) -> None:
        try:
            await super()._close()
        finally:
            if self.server is not None:
                self.server.stop()
