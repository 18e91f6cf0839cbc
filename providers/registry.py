"""The model registry: ``models.toml`` (data, not code) validated with pydantic, name resolution,
prices, and :func:`create_provider`, which imports a vendor SDK only when its provider is used.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from providers.errors import (
    ConfigError,
    MissingKeyError,
    RegistryError,
    RetiredModelError,
    UnknownModelError,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from providers.base import Provider, RetryPolicy, Usage

__all__ = [
    "MODELS_FILE",
    "VENDOR_PREFIXES",
    "ModelInfo",
    "Prices",
    "Registry",
    "apply_overrides",
    "check_config",
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
ProviderKind = Literal[
    "openai", "anthropic", "gemini", "openai-compatible", "local", "azure", "vertex", "bedrock"
]
Lifecycle = Literal["active", "deprecated", "retired"]
Thinking = Literal["none", "budget", "adaptive", "level"]
#: ``reasoning_effort`` values per vendor, as the installed SDKs type them (tests check them against
#: ``openai.types.shared.ReasoningEffort`` and ``anthropic.types.OutputConfigParam``).
REASONING_EFFORTS: dict[str, tuple[str, ...]] = {
    "openai": ("none", "minimal", "low", "medium", "high", "xhigh", "max"),
    "openai-compatible": ("none", "minimal", "low", "medium", "high", "xhigh", "max"),
    "anthropic": ("low", "medium", "high", "xhigh", "max"),
    # issue 18: the cloud doors take their vendor's values.
    "azure": ("none", "minimal", "low", "medium", "high", "xhigh", "max"),
    "bedrock": ("low", "medium", "high", "xhigh", "max"),
}
#: Gemini ``thinking_level`` values (``google.genai.types.ThinkingLevel``).
THINKING_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH")

#: ``<prefix>:<model id>`` names any model a vendor serves (``anthropic:claude-opus-5-5``).
VENDOR_PREFIXES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "google": "gemini",
    # issue 18: cloud doors (providers/doors/azure, vertex, bedrock)
    "azure": "azure",
    "vertex": "vertex",
    "bedrock": "bedrock",
}
_VENDOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "openai": {"key_env": "OPENAI_API_KEY", "tokenizer": "o200k_base", "count_api": False},
    "anthropic": {"key_env": "ANTHROPIC_API_KEY", "tokenizer": "cl100k_base", "count_api": True},
    "gemini": {
        "key_env": "GEMINI_API_KEY",
        "key_env_fallbacks": ("GOOGLE_API_KEY",),
        "tokenizer": "cl100k_base",
        "count_api": True,
    },
    # issue 18: keys are optional (Entra ID, application default credentials, the AWS credential chain);
    # each door's check_config names what to set when nothing is.
    "azure": {"key_env": "AZURE_OPENAI_API_KEY", "tokenizer": "o200k_base", "count_api": False},
    "vertex": {
        "key_env": "GOOGLE_API_KEY",
        "key_env_fallbacks": ("GEMINI_API_KEY",),
        "tokenizer": "cl100k_base",
        "count_api": True,
    },
    "bedrock": {"key_env": "AWS_BEARER_TOKEN_BEDROCK", "tokenizer": "cl100k_base", "count_api": True},
}
#: issue 18: a cloud door serves another vendor's models: the vendor whose entries it borrows (window,
#: tokenizer, prices, lifecycle) for ``<door>:<id>`` names that are not registered.
_CLOUD_VENDOR = {"azure": "openai", "vertex": "gemini", "bedrock": "anthropic"}
#: issue 18: each door's configuration check (no SDK import), ``module:function(info, base_url, environ)``.
_CONFIG_CHECKS = {
    "azure": "providers.doors.azure:check_config",
    "vertex": "providers.doors.vertex:check_config",
    "bedrock": "providers.doors.bedrock:check_config",
}

# Adapter classes, imported on first use so that an SDK is loaded only when its provider is.
_ADAPTERS: dict[str, str] = {
    "openai": "providers.openai_provider:OpenAIProvider",
    "openai-compatible": "providers.openai_compat:OpenAICompatibleProvider",
    "anthropic": "providers.anthropic_provider:AnthropicProvider",
    "gemini": "providers.gemini_provider:GeminiProvider",
    "local": "providers.local:LocalProvider",
    # issue 18
    "openai-responses": "providers.doors.openai.responses:OpenAIResponsesProvider",
    "azure": "providers.doors.azure.adapter:AzureOpenAIProvider",
    "vertex": "providers.doors.vertex.adapter:VertexProvider",
    "bedrock": "providers.doors.bedrock.adapter:BedrockProvider",
}


# ----------------------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class Prices:
    """List prices in USD per 1M tokens.

    Attributes:
        input: Uncached prompt tokens.
        output: Output tokens (hidden reasoning included).
        cached_input: Prompt tokens read from the prefix cache (None: billed as ``input``).
        cache_write: Prompt tokens written to the cache (None: billed as ``input``).
        as_of: Date the prices were taken.
        source: Where they were taken from.
        long_context_threshold: Prompt tokens above which the ``*_long`` prices apply (None: flat).
        input_long, output_long, cached_input_long, cache_write_long: Prices above the threshold.
    """

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    as_of: dt.date | None = None
    source: str = ""
    long_context_threshold: int | None = None
    input_long: float | None = None
    output_long: float | None = None
    cached_input_long: float | None = None
    cache_write_long: float | None = None

    def estimate(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float:
        """Cost in USD of one request of this size.

        Args:
            input_tokens: All prompt tokens (cached ones included).
            output_tokens: Output tokens, reasoning included.
            cached_input_tokens: Of ``input_tokens``, those read from the cache.
            cache_write_tokens: Of ``input_tokens``, those written to the cache.

        Returns:
            USD.
        """
        long = self.long_context_threshold is not None and input_tokens > self.long_context_threshold

        def pick(short: float | None, long_price: float | None, fallback: float) -> float:
            value = long_price if long and long_price is not None else short
            return fallback if value is None else value

        p_in = pick(self.input, self.input_long, self.input)
        p_out = pick(self.output, self.output_long, self.output)
        p_cached = pick(self.cached_input, self.cached_input_long, p_in)
        p_write = pick(self.cache_write, self.cache_write_long, p_in)
        uncached = max(0, input_tokens - cached_input_tokens - cache_write_tokens)
        total = uncached * p_in + cached_input_tokens * p_cached + cache_write_tokens * p_write
        return (total + output_tokens * p_out) / 1e6

    def cost(self, usage: Usage) -> float | None:
        """Cost in USD of a request with this reported usage (None when usage is unknown)."""
        if usage.input_tokens is None or usage.output_tokens is None:
            return None
        return self.estimate(
            usage.input_tokens,
            usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens or 0,
            cache_write_tokens=usage.cache_write_tokens or 0,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (dates as ISO strings), for run headers."""
        out = dataclasses.asdict(self)
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        return out


@dataclass(frozen=True)
class ModelInfo:
    """One registry entry, resolved.

    Attributes:
        alias: The canonical registry name (``gemini-1.5-pro``), also ``Provider.name``.
        provider: Adapter kind.
        model_id: The id sent to the API ("" = ask the server, OpenAI-compatible only).
        context_window: Tokens the model accepts (prompt + output). For the local model: the window
            actually served once the provider is created (``Provider.info``).
        tokenizer: Tokenizer spec for haystacks (``cl100k_base``, ``o200k_base``, ``llamacpp:<url>``).
            Templates ``{server_url}`` are filled by :func:`create_provider`.
        mode: ``chat`` or ``completion`` (base models: one prompt string with an answer prefix).
        key_env: The main environment variable holding the API key (None: no key).
        base_url: Endpoint (None: the SDK's default).
        prices: List prices, or None when unknown.
        aliases: Other names that resolve to this entry.
        key_env_fallbacks: Further variables tried in order (``GOOGLE_API_KEY`` after ``GEMINI_API_KEY``).
        key_required: Whether a missing key is an error.
        tokenizer_exact: Whether ``tokenizer`` is the model's own (else lengths are approximate).
        count_api: Whether the provider can count tokens (``Provider.count_tokens`` returns a number).
        max_output_tokens: Output cap of the model, if known.
        concurrency, rpm, tpm: Default per-endpoint limits.
        timeout_s: Default per-request timeout.
        reasoning: Hidden-reasoning model (budgets handled by the adapter).
        reasoning_budget: Default reasoning tokens on top of ``max_tokens``.
        reasoning_effort: OpenAI ``reasoning_effort`` to send, if any.
        supports_prefill: The API continues an assistant prefill.
        supports_temperature: The API accepts ``temperature``.
        served_context: Local model: the window it is started with unless ``n_ctx`` is given.
        discover: Ask the server for what the entry leaves open: an OpenAI-compatible server's model id
            and window (``/v1/models``), Anthropic's ``models.retrieve`` (``max_input_tokens``) or
            Gemini's ``models.get`` (``input_token_limit``) for a ``<vendor>:<id>`` name.
        extra_headers: Headers sent with every request (beta flags; never secrets).
        notes: Free text.
        thinking: How hidden reasoning is asked for: ``none`` (not sent), ``budget`` (Anthropic
            ``{"type": "enabled", "budget_tokens"}``, Gemini 2.5 ``thinking_budget``), ``adaptive``
            (Anthropic ``{"type": "adaptive"}``), ``level`` (Gemini 3+ ``thinking_level``).
        thinking_level: Gemini ``thinking_level`` for ``thinking = "level"``.
        status: Vendor lifecycle: ``active``, ``deprecated`` (still served) or ``retired`` (refused).
        status_since: Date of the deprecation / retirement.
        retires: Announced retirement date of a deprecated model.
        successors: Registry names to use instead.
        lifecycle_source: Where the lifecycle facts come from.
        window_source: Where ``context_window`` comes from (``registry``, ``models endpoint``, ``override``).
        api: OpenAI-style doors: ``responses`` (the Responses API), ``chat`` (chat completions) or ``""``
            (the Responses API exactly for the models the installed SDK lists as Responses-only).
    """

    alias: str
    provider: str
    model_id: str
    context_window: int
    tokenizer: str
    mode: Literal["chat", "completion"] = "chat"
    key_env: str | None = None
    base_url: str | None = None
    prices: Prices | None = None
    aliases: tuple[str, ...] = ()
    key_env_fallbacks: tuple[str, ...] = ()
    key_required: bool = True
    tokenizer_exact: bool = True
    count_api: bool = False
    max_output_tokens: int | None = None
    concurrency: int = 8
    rpm: int | None = None
    tpm: int | None = None
    timeout_s: float = 600.0
    reasoning: bool = False
    reasoning_budget: int = 0
    reasoning_effort: str | None = None
    supports_prefill: bool = False
    supports_temperature: bool = True
    served_context: int | None = None
    discover: bool = False
    extra_headers: tuple[tuple[str, str], ...] = ()
    notes: str = ""
    thinking: str = "none"
    thinking_level: str | None = None
    status: str = "active"
    status_since: dt.date | None = None
    retires: dt.date | None = None
    successors: tuple[str, ...] = ()
    lifecycle_source: str = ""
    window_source: str = "registry"
    api: str = ""

    @property
    def key_envs(self) -> tuple[str, ...]:
        """All key variables in the order they are tried."""
        return ((self.key_env,) if self.key_env else ()) + self.key_env_fallbacks

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for run headers (no secrets: keys are never part of an entry)."""
        out = dataclasses.asdict(self)
        out["prices"] = self.prices.to_dict() if self.prices else None
        out["aliases"] = list(self.aliases)
        out["key_env_fallbacks"] = list(self.key_env_fallbacks)
        out["extra_headers"] = dict(self.extra_headers)
        out["successors"] = list(self.successors)
        for k in ("status_since", "retires"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


# ----------------------------------------------------------------------------------------- validation


class _PricesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    as_of: dt.date
    source: str = Field(min_length=1)
    long_context_threshold: int | None = Field(default=None, gt=0)
    input_long: float | None = Field(default=None, ge=0)
    output_long: float | None = Field(default=None, ge=0)
    cached_input_long: float | None = Field(default=None, ge=0)
    cache_write_long: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _tiers(self) -> _PricesModel:
        tiers = (self.input_long, self.output_long, self.cached_input_long, self.cache_write_long)
        has_long = any(v is not None for v in tiers)
        if has_long and self.long_context_threshold is None:
            raise ValueError("*_long prices need long_context_threshold")
        return self


class _LifecycleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Lifecycle = "active"
    since: dt.date | None = None
    retires: dt.date | None = None
    successors: list[str] = Field(default_factory=list)
    source: str = ""

    @model_validator(mode="after")
    def _dates(self) -> _LifecycleModel:
        if self.status == "retired" and self.since is None:
            raise ValueError("a retired model needs `since` (the retirement date)")
        if self.status != "active" and not self.source:
            raise ValueError("a deprecated or retired model needs `source`")
        return self


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: ProviderKind
    model_id: str
    context_window: int = Field(ge=0)
    tokenizer: str = Field(min_length=1)
    tokenizer_exact: bool = True
    count_api: bool = False
    mode: Literal["chat", "completion"] = "chat"
    key_env: str | list[str] | None = None
    key_required: bool = True
    base_url: str | None = None
    max_output_tokens: int | None = Field(default=None, gt=0)
    concurrency: int = Field(default=8, ge=1)
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=600.0, gt=0)
    reasoning: bool = False
    reasoning_budget: int = Field(default=0, ge=0)
    reasoning_effort: str | None = None
    thinking: Thinking = "none"
    thinking_level: str | None = None
    lifecycle: _LifecycleModel = Field(default_factory=_LifecycleModel)
    supports_prefill: bool = False
    supports_temperature: bool = True
    served_context: int | None = Field(default=None, gt=0)
    discover: bool = False
    extra_headers: dict[str, str] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    notes: str = ""
    prices: _PricesModel | None = None
    api: Literal["", "chat", "responses"] = ""

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None:
            _check_url(v)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> _EntryModel:
        if self.context_window == 0 and not self.discover:
            raise ValueError("context_window must be > 0 (or discover = true for a compatible server)")
        if not self.model_id and self.provider != "openai-compatible":
            raise ValueError("model_id may be empty only for openai-compatible entries")
        if self.api and self.provider not in ("openai", "azure"):
            raise ValueError("api applies to OpenAI entries (openai, azure)")
        if self.provider in ("openai", "anthropic", "gemini") and self.key_required and not self.key_env:
            raise ValueError(f"a {self.provider} entry needs key_env")
        if any(k.lower() in ("authorization", "x-api-key", "x-goog-api-key") for k in self.extra_headers):
            raise ValueError("extra_headers must not carry credentials; keys come from key_env")
        if self.reasoning_effort is not None:
            allowed = REASONING_EFFORTS.get(self.provider, ())
            if self.reasoning_effort not in allowed:
                raise ValueError(
                    f"reasoning_effort {self.reasoning_effort!r} is not one of {allowed} for {self.provider}"
                )
        if self.thinking == "level" and self.thinking_level not in THINKING_LEVELS:
            raise ValueError(f"thinking = 'level' needs thinking_level, one of {THINKING_LEVELS}")
        if self.thinking == "level" and self.provider not in ("gemini", "vertex"):
            raise ValueError("thinking = 'level' is Gemini's thinking_level")
        if self.thinking == "adaptive" and self.provider not in ("anthropic", "bedrock"):
            raise ValueError("thinking = 'adaptive' is Anthropic's adaptive thinking")
        if self.thinking in ("budget", "adaptive", "level") and self.reasoning_budget <= 0:
            raise ValueError(
                "a thinking model needs reasoning_budget > 0 (answer budgets leave room for thinking)"
            )
        if (
            self.thinking == "budget"
            and self.provider in ("anthropic", "bedrock")
            and self.reasoning_budget < 1024
        ):
            raise ValueError("Anthropic budget_tokens must be >= 1024")
        return self


class _RegistryFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = 1
    default_model: str | None = None
    models: dict[str, _EntryModel] = Field(default_factory=dict)


def _check_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")


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
        if sep and model_id and _norm(head) in VENDOR_PREFIXES:
            return self._vendor_model(VENDOR_PREFIXES[_norm(head)], model_id)
        if sep and model_id and _norm(head) in self.index:
            base = self.entries[self.index[_norm(head)]]
            if base.provider == "openai-compatible":
                return dataclasses.replace(base, model_id=model_id, alias=f"{base.alias}:{model_id}")
            raise UnknownModelError(name, [base.alias])
        raise UnknownModelError(name, self.suggestions(name))

    def _vendor_model(self, kind: str, model_id: str) -> ModelInfo:
        if kind in _CLOUD_VENDOR:
            return self._cloud_model(kind, model_id)
        for info in self.entries.values():
            if info.provider != kind:
                continue
            names = {_norm(info.model_id), _norm(info.alias), *(_norm(a) for a in info.aliases)}
            if _norm(model_id) in names:
                return info
        d = _VENDOR_DEFAULTS[kind]
        return ModelInfo(
            alias=f"{kind}:{model_id}",
            provider=kind,
            model_id=model_id,
            context_window=0,
            tokenizer=d["tokenizer"],
            tokenizer_exact=False,
            count_api=d["count_api"],
            key_env=d["key_env"],
            key_env_fallbacks=d.get("key_env_fallbacks", ()),
            prices=None,
            concurrency=4,
            # Unknown model: send nothing a model might reject (no temperature, no thinking settings), and
            # leave room for hidden reasoning on top of the answer budget.
            supports_temperature=False,
            reasoning=True,
            reasoning_budget=4096,
            discover=True,
            window_source="",
            notes=f"not in the registry: any model id {kind} serves; prices unknown",
        )

    def _cloud_model(self, kind: str, model_id: str) -> ModelInfo:
        """issue 18: ``azure:<deployment>``, ``vertex:<model>``, ``bedrock:<model id>``.

        A registered entry of that door serving ``model_id`` wins; else the vendor's entry for the same model
        (a Bedrock id ``[us.]anthropic.<id>-v1:0`` names Anthropic's ``<id>``; an Azure deployment named after
        its model) lends its window, tokenizer, thinking, lifecycle and list prices, with the door's own
        credentials; else a bare entry (window from ``--context-window``, prices unknown).
        """
        for info in self.entries.values():
            if info.provider == kind and _norm(model_id) in {_norm(info.model_id), _norm(info.alias)}:
                return info
        d = _VENDOR_DEFAULTS[kind]
        door = {
            "alias": f"{kind}:{model_id}",
            "provider": kind,
            "model_id": model_id,
            "key_env": d["key_env"],
            "key_env_fallbacks": d.get("key_env_fallbacks", ()),
            "key_required": False,
            "count_api": d["count_api"],
            "aliases": (),
            "discover": False,
        }
        underlying = _underlying_id(kind, model_id)
        vendor = _CLOUD_VENDOR[kind]
        for info in self.entries.values():
            names = {_norm(info.model_id), _norm(info.alias), *(_norm(a) for a in info.aliases)}
            if info.provider == vendor and underlying in names:
                note = (
                    f"{vendor} entry {info.alias!r} served through {kind}; prices are {vendor}'s list prices"
                )
                return dataclasses.replace(info, **door, notes=note)
        return ModelInfo(
            **door,
            context_window=0,
            tokenizer=d["tokenizer"],
            tokenizer_exact=False,
            prices=None,
            concurrency=4,
            supports_temperature=False,
            reasoning=True,
            reasoning_budget=4096,
            window_source="",
            notes=f"not in the registry: any model {kind} serves; prices unknown",
        )


def _underlying_id(kind: str, model_id: str) -> str:
    """The vendor's model id behind a cloud door's id (normalised): Bedrock ``[geo.]anthropic.<id>-v1:0``."""
    key = _norm(model_id)
    if kind == "bedrock":
        head, dot, rest = key.partition("anthropic.")
        if dot and (not head or head.rstrip(".") in ("us", "eu", "apac", "au", "jp", "global", "us-gov")):
            key = rest
        key = key.split(":")[0]
        if key.endswith("-v1") or key.endswith("-v2"):
            key = key[:-3]
    return key


def _to_info(alias: str, e: _EntryModel) -> ModelInfo:
    envs = [e.key_env] if isinstance(e.key_env, str) else list(e.key_env or [])
    prices = None
    if e.prices is not None:
        prices = Prices(**e.prices.model_dump())
    return ModelInfo(
        alias=alias,
        provider=e.provider,
        model_id=e.model_id,
        context_window=e.context_window,
        tokenizer=e.tokenizer,
        mode=e.mode,
        key_env=envs[0] if envs else None,
        key_env_fallbacks=tuple(envs[1:]),
        key_required=e.key_required and bool(envs),
        base_url=e.base_url,
        prices=prices,
        aliases=tuple(e.aliases),
        tokenizer_exact=e.tokenizer_exact,
        count_api=e.count_api,
        max_output_tokens=e.max_output_tokens,
        concurrency=e.concurrency,
        rpm=e.rpm,
        tpm=e.tpm,
        timeout_s=e.timeout_s,
        reasoning=e.reasoning or e.thinking != "none",
        reasoning_budget=e.reasoning_budget,
        reasoning_effort=e.reasoning_effort,
        supports_prefill=e.supports_prefill,
        supports_temperature=e.supports_temperature,
        served_context=e.served_context,
        discover=e.discover,
        extra_headers=tuple(sorted(e.extra_headers.items())),
        notes=e.notes,
        thinking=e.thinking,
        thinking_level=e.thinking_level,
        status=e.lifecycle.status,
        status_since=e.lifecycle.since,
        retires=e.lifecycle.retires,
        successors=tuple(e.lifecycle.successors),
        lifecycle_source=e.lifecycle.source,
        window_source="registry" if e.context_window else "",
        api=e.api,
    )


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
    try:
        return _RegistryFileModel.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise RegistryError(f"model registry {path}: {where}: {first['msg']}{more}") from None


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
    entries = {alias: _to_info(alias, e) for alias, e in base.models.items()}
    default = base.default_model
    extra = user_file if user_file is not None else os.environ.get(USER_MODELS_ENV)
    if extra:
        extra_path = Path(extra)
        user = _validate(extra_path, _read_toml(extra_path))
        entries.update({alias: _to_info(alias, e) for alias, e in user.models.items()})
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
    if info.provider == "openai" and not info.context_window:
        raise ConfigError(
            f"model {info.alias!r} is not in the registry and OpenAI's models endpoint reports no context "
            "window: give it with --context-window"
        )
    if info.provider in _CLOUD_VENDOR and not info.context_window:
        raise ConfigError(
            f"model {info.alias!r} is not in the registry and {info.provider} reports no context window: "
            "give it with --context-window"
        )


def check_config(
    info: ModelInfo, base_url: str | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """issue 18: the door's own configuration (endpoint, api-version, project, region) is complete.

    Args:
        info: The entry.
        base_url: A ``--base-url`` given for it.
        environ: The environment (default ``os.environ``).

    Raises:
        ConfigError: One line naming what to set.
    """
    target = _CONFIG_CHECKS.get(info.provider)
    if target is None:
        return
    module_name, _, fn = target.partition(":")
    check = getattr(importlib.import_module(module_name), fn)
    check(info, base_url, os.environ if environ is None else environ)


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
        info = dataclasses.replace(info, context_window=context_window, window_source="override")
    if price_input is not None or price_output is not None:
        if price_input is None or price_output is None:
            raise ConfigError("give both --price-input and --price-output (USD per 1M tokens)")
        if price_input < 0 or price_output < 0:
            raise ConfigError("prices must be >= 0 USD per 1M tokens")
        prices = Prices(input=price_input, output=price_output, as_of=dt.date.today(), source="command line")
        info = dataclasses.replace(info, prices=prices)
    return info


def resolve_api_key(info: ModelInfo, environ: Mapping[str, str] | None = None) -> str | None:
    """The API key for ``info`` from the environment.

    Raises:
        MissingKeyError: The key is required and no variable is set (the message names them).
    """
    env = os.environ if environ is None else environ
    for var in info.key_envs:
        value = env.get(var, "").strip()
        if value:
            return value
    if info.key_required and info.key_envs:
        raise MissingKeyError(info.alias, info.key_envs)
    return None


def _adapter_class(kind: str) -> type[Provider]:
    target = _ADAPTERS.get(kind)
    if target is None:
        raise ConfigError(f"no adapter for provider {kind!r}")
    module_name, _, cls_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = exc.name or exc
        raise ConfigError(f"provider {kind!r} needs a package that is not installed: {missing}") from None
    return getattr(module, cls_name)


def _adapter_kind(info: ModelInfo) -> str:
    """The adapter of an entry (issue 18: OpenAI models through the Responses API where they need it)."""
    if info.provider == "openai":
        from providers.doors.openai.responses import uses_responses

        if uses_responses(info.api, info.model_id):
            return "openai-responses"
    return info.provider


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
            _check_url(base_url)
        except ValueError as exc:
            raise ConfigError(f"--base-url: {exc}") from None
    key = api_key if api_key else resolve_api_key(info)
    if mode is not None:
        if mode not in ("chat", "completion"):
            raise ConfigError(f"mode must be 'chat' or 'completion', got {mode!r}")
        info = dataclasses.replace(info, mode=mode)
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
    check_config(info, base_url)
    cls = _adapter_class(_adapter_kind(info))
    kwargs: dict[str, Any] = {
        "api_key": key,
        "base_url": base_url or info.base_url,
        "limits": limits,
        "retry": retry,
        "timeout_s": timeout_s,
    }
    if info.provider == "local":
        kwargs.update(n_ctx=n_ctx, verbose=verbose)
    elif n_ctx is not None:
        raise ConfigError("n_ctx applies only to the embedded local model")
    return cls(info, **kwargs)
