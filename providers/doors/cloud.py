"""What the cloud doors (Azure OpenAI, Vertex AI, Bedrock) share: they serve another vendor's models.

A ``<door>:<id>`` name the registry does not list borrows the vendor's entry for the same model (window,
tokenizer, thinking, list prices), with the door's own name, id and credentials; the maker's lifecycle is
recorded in ``lifecycle_source`` but not enforced (each platform retires models on its own calendar; a model
it no longer serves answers 404). A model the vendor's entries do not know gets the door's bare entry
(window from ``--context-window``, or from the platform where it can be asked; prices unknown).

:class:`CloudDoor` is the base of those doors: it says whose entries they borrow, and refuses an unlisted
model without a window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from providers.door import Door
from providers.errors import ConfigError

if TYPE_CHECKING:
    from providers.entry import ModelInfo

__all__ = ["CloudDoor", "borrowed_entry"]


class CloudDoor(Door):
    """A platform's door to another vendor's models (subclassed by the Azure, Vertex and Bedrock doors).

    Attributes:
        maker: The door of the models' maker, whose registry entries a ``<door>:<id>`` name borrows.
        probes_unlisted: Whether the provider of a model the maker's entries do not name asks the platform
            about it when created (``discover``); else it needs ``--context-window``.
    """

    maker: ClassVar[str]
    probes_unlisted: ClassVar[bool] = False

    def maker_id(self, model_id: str) -> str:
        """The maker's id of the model the door calls ``model_id`` (default: the same)."""
        return model_id

    def vendor_entry(self, model_id: str) -> ModelInfo:
        """The maker's entry of the model, served through this door; any other model gets the bare entry."""
        found = borrowed_entry(self, model_id, self.maker, self.maker_id(model_id))
        if found is not None:
            return found
        bare = super().vendor_entry(model_id)
        return bare if self.probes_unlisted else bare.model_copy(update={"discover": False})

    def check_usable(self, info: ModelInfo) -> None:
        """An unlisted model needs ``--context-window``."""
        if not info.context_window:
            raise ConfigError(
                f"model {info.alias!r} is not in the registry: give its context window with --context-window"
            )


def borrowed_entry(door: Door, model_id: str, vendor: str, vendor_id: str) -> ModelInfo | None:
    """The vendor's registered entry for ``vendor_id`` as served by ``door`` under ``model_id`` (None: the
    vendor's registry entries do not name that model).

    Args:
        door: The cloud door.
        model_id: The id the door sends (deployment name, Vertex model, Bedrock model id).
        vendor: The door of the model's maker (``openai``, ``gemini``, ``anthropic``).
        vendor_id: The maker's id of the model.
    """
    from providers.errors import ProviderError
    from providers.registry import list_models

    wanted = vendor_id.strip().lower()
    try:
        entries = list_models()
    except ProviderError:
        return None
    for info in entries:
        names = {info.model_id.lower(), info.alias.lower(), *(a.lower() for a in info.aliases)}
        if info.provider == vendor and wanted in names:
            keys = door.key_env
            lifecycle = f"{door.name}'s own model lifecycle applies; {vendor} API: {info.status}"
            if info.lifecycle_source:
                lifecycle += f" ({info.lifecycle_source})"
            note = (
                f"{vendor} entry {info.alias!r} served through {door.name}; prices: {vendor}'s list prices "
                "(check the platform's price list; regional endpoints may cost more)"
            )
            return info.model_copy(
                update={
                    "alias": f"{door.name}:{model_id}",
                    "provider": door.name,
                    "door": "",
                    "model_id": model_id,
                    "aliases": (),
                    "key_env": keys[0] if keys else None,
                    "key_env_fallbacks": tuple(keys[1:]),
                    "key_required": door.key_required and bool(keys),
                    "count_api": door.vendor_defaults().count_api,
                    "discover": False,
                    "base_url": None,
                    # The platform keeps its own lifecycle (a model retired by its maker's API may still be
                    # served here, and the reverse): the maker's is recorded, not enforced.
                    "status": "active",
                    "status_since": None,
                    "retires": None,
                    "successors": (),
                    "lifecycle_source": lifecycle,
                    "notes": note,
                }
            )
    return None
