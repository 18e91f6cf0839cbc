"""What the cloud doors (Azure OpenAI, Vertex AI, Bedrock) share: they serve another vendor's models.

A ``<door>:<id>`` name the registry does not list borrows the vendor's entry for the same model (window,
tokenizer, thinking, list prices), with the door's own name, id and credentials; the maker's lifecycle is
recorded in ``lifecycle_source`` but not enforced (each platform retires models on its own calendar; a model
it no longer serves answers 404). A model the vendor's entries do not know gets the door's bare entry
(window from ``--context-window``, prices unknown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.door import Door
    from providers.entry import ModelInfo

__all__ = ["borrowed_entry"]


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
