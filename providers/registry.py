"""The model registry: ``models.toml`` (data, not code) validated with pydantic, name resolution,
prices, and :func:`create_provider`, which imports a vendor SDK only when its provider is used.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from providers.doors import door_by_prefix, door_for, get_door, load_door, register
from providers.entry import ModelInfo, Prices, check_url
from providers.errors import (
    ConfigError,
    RegistryError,
    RetiredModelError,
    UnknownModelError,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from providers.base import Provider, RetryPolicy
    from providers.door import Door

__all__ = [
    "MODELS_FILE",
    "ModelInfo",
    "Prices",
    "Registry",
    "apply_overrides",
    "check_usable",
    "create_provider",
    "default_model",
    "list_models",
    "load_registry",
    "resolve_api_key",
    "resolve_model",
]

MODELS_FILE = Path(__file__).with_name("models.toml")
USER_MODELS_ENV = "NIAH_MODELS_FILE"


# ----------------------------------------------------------------------------------------- validation


class _RegistryFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = 1
    default_model: str | None = None
    models: dict[str, ModelInfo] = Field(default_factory=dict)


def _norm(name: str) -> str:
    return name.strip().lower()


class Registry:
    """Validated registry entries with an alias index."""

    def __init__(self, entries: Mapping[str, ModelInfo], default: str) -> None:
        self.entries = dict(entries)
        self.default = default
        self.index: dict[str, str] = {}
        for alias, info in self.entries.items():
            for name in (alias, *info.aliases):
                other = self.index.get(_norm(name))
                if other is not None and other != alias:
                    raise RegistryError(f"model name {name!r} is used by both {other!r} and {alias!r}")
                self.index[_norm(name)] = alias
        if _norm(default) not in self.index:
            raise RegistryError(f"default_model {default!r} is not a registered model")
        for alias, info in self.entries.items():
            for succ in info.successors:
                target = self.index.get(_norm(succ))
                if target is None:
                    raise RegistryError(f"model {alias!r}: successor {succ!r} is not a registered model")
                if self.entries[target].status == "retired":
                    raise RegistryError(f"model {alias!r}: successor {succ!r} is retired")

    @property
    def names(self) -> list[str]:
        """Every name that resolves (canonical names and aliases)."""
        return sorted({n for a, i in self.entries.items() for n in (a, *i.aliases)})

    def suggestions(self, name: str, n: int = 5) -> list[str]:
        """Closest known names to ``name`` (difflib, then substring matches)."""
        query = _norm(name)
        canon = sorted(self.entries)
        pool = self.names
        close = difflib.get_close_matches(query, [_norm(p) for p in pool], n=n, cutoff=0.5)
        by_norm = {_norm(p): p for p in pool}
        out = [self.index.get(c, by_norm[c]) for c in close]
        out = list(dict.fromkeys(out))  # de-duplicate, keep order
        if len(out) < n and len(query) >= 3:
            out += [c for c in canon if query in c and c not in out][: n - len(out)]
        return out[:n]

    def resolve(self, name: str) -> ModelInfo:
        """Look ``name`` up (case-insensitive).

        Besides registry names and aliases: ``<compatible entry>:<model id>`` (``vllm:Qwen/Qwen3-8B``) and
        ``<vendor>:<model id>`` (``openai:``, ``anthropic:``, ``gemini:``) for any model a vendor serves.
        A vendor id that a registry entry serves resolves to that entry; any other gets a bare entry named
        ``<vendor>:<id>`` whose window is asked from the vendor's models endpoint when the provider is
        created (or given with ``apply_overrides``) and whose prices are unknown.
        """
        key = _norm(name)
        if not key:
            raise UnknownModelError(name, self.suggestions(self.default))
        alias = self.index.get(key)
        if alias is not None:
            return self.entries[alias]
        head, sep, model_id = name.strip().partition(":")
        model_id = model_id.strip()
        door = door_by_prefix(head) if sep and model_id else None
        if door is not None:
            return self._vendor_model(door, model_id)
        if sep and model_id and _norm(head) in self.index:
            base = self.entries[self.index[_norm(head)]]
            if door_for(base).suffix_ids:
                return base.model_copy(update={"model_id": model_id, "alias": f"{base.alias}:{model_id}"})
            raise UnknownModelError(name, [base.alias])
        raise UnknownModelError(name, self.suggestions(name))

    def _vendor_model(self, door: Door, model_id: str) -> ModelInfo:
        for info in self.entries.values():
            if info.provider != door.name:
                continue
            names = {_norm(info.model_id), _norm(info.alias), *(_norm(a) for a in info.aliases)}
            if _norm(model_id) in names:
                return info
        return door.vendor_entry(model_id)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise RegistryError(f"model registry {path} not found") from None
    except OSError as exc:
        raise RegistryError(f"cannot read model registry {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"model registry {path} is not valid TOML: {exc}") from None


def _validate(path: Path, raw: dict[str, Any]) -> _RegistryFileModel:
    models = raw.get("models")
    if isinstance(models, dict):  # an entry's name is its table's name
        raw = {
            **raw,
            "models": {k: {**v, "alias": k} if isinstance(v, dict) else v for k, v in models.items()},
        }
    try:
        file = _RegistryFileModel.model_validate(raw, context={"registry": True})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise RegistryError(f"model registry {path}: {where}: {first['msg']}{more}") from None
    for alias, info in file.models.items():
        _check_door(path, alias, info, models[alias])
    return file


def _check_door(path: Path, alias: str, info: ModelInfo, table: dict[str, Any]) -> None:
    """The entry's door exists and accepts the entry (one-line RegistryError naming the field)."""
    where = f"model registry {path}: models.{alias}"
    try:
        door = register(load_door(info.door)) if info.door else None
    except ConfigError as exc:
        raise RegistryError(f"{where}.door: {exc}") from None
    try:
        door = door or get_door(info.provider)
    except ConfigError as exc:
        raise RegistryError(f"{where}.provider: {exc}") from None
    if door.name != info.provider:
        raise RegistryError(f"{where}.provider: the door {info.door!r} is named {door.name!r}")
    if door.key_required and door.key_env and table.get("key_required", True) and not info.key_envs:
        raise RegistryError(f"{where}: a {info.provider} entry needs key_env")
    try:
        door.check_entry(info)
    except ValueError as exc:
        raise RegistryError(f"{where}: {exc}") from None


def load_registry(path: Path | str | None = None, *, user_file: Path | str | None = None) -> Registry:
    """Load and validate a registry.

    Args:
        path: The registry file (default: the packaged ``models.toml``).
        user_file: Extra entries merged on top (default: the file named by ``NIAH_MODELS_FILE``, if set).

    Returns:
        The registry.

    Raises:
        RegistryError: Missing file, invalid TOML or failed validation (one-line message with the field).
    """
    base_path = Path(path) if path is not None else MODELS_FILE
    base = _validate(base_path, _read_toml(base_path))
    entries = dict(base.models)
    default = base.default_model
    extra = user_file if user_file is not None else os.environ.get(USER_MODELS_ENV)
    if extra:
        extra_path = Path(extra)
        user = _validate(extra_path, _read_toml(extra_path))
        entries.update(user.models)
        default = user.default_model or default
    if not entries:
        raise RegistryError(f"model registry {base_path} has no models")
    return Registry(entries, default or next(iter(entries)))


@functools.lru_cache(maxsize=4)
def _cached_registry(user_file: str | None) -> Registry:
    return load_registry(user_file=user_file or "")


def _registry() -> Registry:
    return _cached_registry(os.environ.get(USER_MODELS_ENV) or None)


def resolve_model(name: str | None) -> ModelInfo:
    """Resolve a name users type (``gemini-1.5``, ``gpt-4o``, ``vllm:Qwen/Qwen2.5-7B``) to its entry.

    Args:
        name: Model name or alias, case-insensitive; None or "" gives the default model.

    Returns:
        The entry.

    Raises:
        UnknownModelError: Not registered; the message lists the closest names.
        RegistryError: The registry file is broken.

    Retired models resolve (their names stay known); :func:`check_usable` refuses them.
    """
    reg = _registry()
    if name is None or not name.strip():
        return reg.resolve(reg.default)
    return reg.resolve(name)


def default_model() -> ModelInfo:
    """The default model's entry (the embedded local model)."""
    reg = _registry()
    return reg.resolve(reg.default)


def list_models() -> list[ModelInfo]:
    """All registered entries, sorted by name."""
    reg = _registry()
    return [reg.entries[a] for a in sorted(reg.entries)]


def check_usable(info: ModelInfo) -> None:
    """Refuse, before any request, a model that cannot be called as configured.

    Raises:
        RetiredModelError: The vendor retired it (one line: name, date, successors).
        ConfigError: A ``openai:<id>`` model without a window (OpenAI's models endpoint reports none:
            give ``context_window``, e.g. ``--context-window``).
    """
    if info.status == "retired":
        raise RetiredModelError(info.alias, info.status_since, info.successors)
    door_for(info).check_usable(info)


def apply_overrides(
    info: ModelInfo,
    *,
    context_window: int | None = None,
    price_input: float | None = None,
    price_output: float | None = None,
) -> ModelInfo:
    """The entry with a user-given window and/or prices (USD per 1M tokens) in place of the registry's.

    Raises:
        ConfigError: A non-positive window, a negative price, or only one of the two prices.
    """
    if context_window is not None:
        if context_window <= 0:
            raise ConfigError(f"--context-window must be > 0, got {context_window}")
        info = info.model_copy(update={"context_window": context_window, "window_source": "override"})
    if price_input is not None or price_output is not None:
        if price_input is None or price_output is None:
            raise ConfigError("give both --price-input and --price-output (USD per 1M tokens)")
        if price_input < 0 or price_output < 0:
            raise ConfigError("prices must be >= 0 USD per 1M tokens")
        prices = Prices(input=price_input, output=price_output, as_of=dt.date.today(), source="command line")
        info = info.model_copy(update={"prices": prices})
    return info


def resolve_api_key(
    info: ModelInfo, environ: Mapping[str, str] | None = None, *, base_url: str | None = None
) -> str | None:
    """The API key for ``info`` from the environment (the door also checks its platform settings; a
    ``base_url`` given for the run may stand in for an endpoint variable, issue 18).

    Raises:
        MissingKeyError: The key is required and no variable is set (the message names them).
    """
    return door_for(info).check_config(info, environ, base_url=base_url)


def create_provider(
    info: ModelInfo,
    *,
    concurrency: int | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    base_url: str | Sequence[str] | None = None,
    api_key: str | None = None,
    retry: RetryPolicy | None = None,
    timeout_s: float | None = None,
    n_ctx: int | None = None,
    mode: Literal["chat", "completion"] | None = None,
    verbose: bool = False,
) -> Provider:
    """Build the provider for a registry entry.

    The vendor SDK is imported here, on first use. For the local model this starts the embedded
    llama.cpp server (about 2 s) and the returned provider's ``info`` carries the served window and
    the server's tokenizer URL; close it with ``await provider.aclose()``.

    Args:
        info: The entry (from :func:`resolve_model`).
        concurrency: Requests in flight per endpoint (default: the entry's).
        rpm: Requests-per-minute limit (default: the entry's, usually none).
        tpm: Tokens-per-minute limit (default: the entry's, usually none).
        base_url: Endpoint override (required for ``openai-compatible`` entries without one); several
            replicas as a list or ``"URL1,URL2"`` give a :class:`providers.endpoints.RoutedProvider`.
        api_key: Key to use instead of the environment (never stored anywhere but in memory).
        retry: Retry policy (default: the module default, see ``providers.base``).
        timeout_s: Per-request timeout (default: the entry's).
        n_ctx: Local model: the window to serve (default: the entry's ``served_context``).
        mode: Override the entry's prompt mode (``chat``/``completion``).
        verbose: Local model: let llama.cpp log to stderr.

    Returns:
        The provider.

    Raises:
        MissingKeyError: A required key is not set (names the variable).
        ConfigError: Bad option (e.g. no base URL for a compatible server, unreachable server).
        LocalModelError: The embedded model could not start.
    """
    from providers.base import LimitSettings

    check_usable(info)
    # Several replicas ("URL1,URL2" or a list): one adapter each behind a least-busy router
    # (providers/endpoints.py); `concurrency` is per replica.
    if base_url is not None and (not isinstance(base_url, str) or "," in base_url):
        from providers.endpoints import RoutedProvider, parse_base_urls

        urls = parse_base_urls(base_url)
        if len(urls) > 1:
            opts = dict(concurrency=concurrency, rpm=rpm, tpm=tpm, api_key=api_key, retry=retry)
            opts.update(timeout_s=timeout_s, n_ctx=n_ctx, mode=mode, verbose=verbose)
            return RoutedProvider([create_provider(info, base_url=u, **opts) for u in urls])  # type: ignore[arg-type]
        base_url = urls[0] if urls else None
    if base_url is not None:
        try:
            check_url(base_url)
        except ValueError as exc:
            raise ConfigError(f"--base-url: {exc}") from None
    key = api_key if api_key else resolve_api_key(info, base_url=base_url or info.base_url)
    if mode is not None:
        if mode not in ("chat", "completion"):
            raise ConfigError(f"mode must be 'chat' or 'completion', got {mode!r}")
        info = info.model_copy(update={"mode": mode})
    try:
        limits = LimitSettings(
            concurrency=concurrency if concurrency is not None else info.concurrency,
            rpm=rpm if rpm is not None else info.rpm,
            tpm=tpm if tpm is not None else info.tpm,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if timeout_s is not None and timeout_s <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {timeout_s}")
    door = door_for(info)
    kwargs: dict[str, Any] = {
        "api_key": key,
        "base_url": base_url or info.base_url,
        "limits": limits,
        "retry": retry,
        "timeout_s": timeout_s,
        "n_ctx": n_ctx,
        "verbose": verbose,
    }
    try:
        return door.create(info, **kwargs)
    except ImportError as exc:
        missing = exc.name or exc
        raise ConfigError(
            f"provider {info.provider!r} needs a package that is not installed: {missing}"
        ) from None
