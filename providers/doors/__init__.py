"""The doors: where they are found, and the lookups the rest of the suite makes.

A door is a package whose ``__init__.py`` defines ``DOOR`` (a :class:`providers.door.Door`) and imports
nothing heavy (its SDK is imported by ``DOOR.adapter()``). Doors are found in three places, lazily (a
door package is imported the first time any door is looked up; no SDK is imported then):

* the built-in doors: every sub-package of this package (:func:`builtin_modules`; a new folder is found);
* installed plugins: the entry-point group :data:`ENTRY_POINT_GROUP` (``name = "pkg.module"``);
* a registry entry's ``door = "pkg.module"`` field (the recipe for a new door in docs/ARCHITECTURE.md:
  one folder plus one registry entry), registered when the registry loads that entry.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import threading
from importlib import metadata
from typing import TYPE_CHECKING, Any

from providers.door import Door
from providers.errors import ConfigError

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.batch import BatchClient, BatchLimits
    from providers.entry import ModelInfo

__all__ = [
    "ENTRY_POINT_GROUP",
    "all_doors",
    "batch_client",
    "builtin_modules",
    "call_cost",
    "door_by_prefix",
    "door_for",
    "get_door",
    "load_door",
    "register",
    "supports_batch",
]

#: Entry-point group of doors installed by other distributions.
ENTRY_POINT_GROUP = "niah_suite.doors"

_lock = threading.Lock()
_registered: dict[str, Door] = {}


def load_door(module: str) -> Door:
    """Import ``module`` and return its ``DOOR``.

    Raises:
        ConfigError: The module cannot be imported or has no ``DOOR`` that is a :class:`Door`.
    """
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"door {module!r} cannot be imported: {exc}") from None
    door = getattr(mod, "DOOR", None)
    if not isinstance(door, Door):
        raise ConfigError(f"door module {module!r} defines no DOOR (a providers.door.Door instance)")
    if not getattr(door, "name", ""):
        raise ConfigError(f"door module {module!r}: DOOR has no name")
    return door


def builtin_modules() -> tuple[str, ...]:
    """The built-in doors' packages (every sub-package of :mod:`providers.doors`), by name."""
    found = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)
    return tuple(f"{__name__}.{name}" for name in found)


@functools.cache
def _found() -> dict[str, Door]:
    doors: dict[str, Door] = {}
    modules = list(builtin_modules())
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        modules.append(ep.value.partition(":")[0])
    for module in modules:
        door = load_door(module)
        other = doors.get(door.name)
        if other is not None and type(other) is not type(door):
            raise ConfigError(f"two doors are named {door.name!r}: {type(other).__module__}, {module}")
        doors[door.name] = door
    return doors


def register(door: Door) -> Door:
    """Add a door found outside this package and the entry points (a registry entry's ``door`` field).

    Registering the same door class again is a no-op; a different door under a taken name is refused.

    Raises:
        ConfigError: The name or one of its prefixes belongs to another door.
    """
    with _lock:
        known = all_doors()
        other = known.get(door.name)
        if other is not None:
            if type(other) is type(door):
                return other
            raise ConfigError(f"door name {door.name!r} is taken by {type(other).__module__}")
        for prefix in door.prefixes:
            taken = door_by_prefix(prefix)
            if taken is not None:
                raise ConfigError(f"door {door.name!r}: prefix {prefix!r} is taken by door {taken.name!r}")
        _registered[door.name] = door
        return door


def all_doors() -> dict[str, Door]:
    """Every known door by name (built-in, installed, registered)."""
    return {**_found(), **_registered}


def get_door(name: str) -> Door:
    """The door named ``name`` (a registry entry's ``provider``).

    Raises:
        ConfigError: No such door (the message lists the known ones).
    """
    door = all_doors().get(name)
    if door is None:
        raise ConfigError(f"no door {name!r}; known doors: {', '.join(sorted(all_doors()))}")
    return door


def door_for(info: ModelInfo) -> Door:
    """The door of a registry entry (its ``door`` module when it names one, else its ``provider``)."""
    module = getattr(info, "door", "")
    if module:
        return register(load_door(module))
    return get_door(info.provider)


def door_by_prefix(prefix: str) -> Door | None:
    """The door answering ``<prefix>:<model id>`` names (case-insensitive), or None."""
    key = prefix.strip().lower()
    for door in all_doors().values():
        if key in door.prefixes:
            return door
    return None


def supports_batch(provider: Provider) -> bool:
    """Whether ``provider``'s door has a batch API for its model."""
    return door_for(provider.info).capabilities(provider.info).batch is not None


def batch_client(provider: Provider, *, limits: BatchLimits | None = None) -> BatchClient:
    """The batch client for ``provider``.

    Args:
        provider: A provider from :func:`providers.registry.create_provider`.
        limits: Override the door's size limits.

    Raises:
        BatchUnsupportedError: The door has no batch API (local model, OpenAI-compatible servers).
    """
    from providers.batch import BatchUnsupportedError

    client = door_for(provider.info).batch_client(provider, limits=limits)
    if client is None:
        raise BatchUnsupportedError(
            f"{provider.name}: {provider.kind} endpoints have no batch API; run without --batch"
        )
    return client


def call_cost(usage: Any, info: ModelInfo, *, batch: bool = False) -> float | None:
    """USD of one call from the usage the provider reported: the entry's prices with its door's rules (the
    batch discount, the price of a long-lived cache write), through :func:`providers.entry.usage_cost`.

    Args:
        usage: A :class:`providers.base.Usage` (or anything with its token fields).
        info: The model's entry.
        batch: The call went through the door's batch API.

    Returns:
        USD, 0.0 for a free model with zero prices, None when prices or usage are unknown.
    """
    from providers.entry import usage_cost

    caps = door_for(info).capabilities(info)
    discount = caps.batch.discount if batch and caps.batch is not None else 1.0
    return usage_cost(usage, info.prices, discount=discount, write_1h_factor=caps.cache.long_write_factor)
