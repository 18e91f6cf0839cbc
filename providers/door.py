"""The door interface: what the suite needs to know about one way of reaching a model.

A *door* is one folder under ``providers/doors/`` (or any importable package, see
:mod:`providers.doors`): its ``__init__.py`` defines ``DOOR``, an instance of a :class:`Door` subclass, and
imports nothing heavy; the adapter, batch client, token counting and the vendor SDK are imported only when
:meth:`Door.adapter` / :meth:`Door.batch_client` are called. Everything else in the suite (the registry,
``evals/``) asks the door and keeps no table of vendors:

* :meth:`Door.capabilities` — prompt-cache rules, batch support and limits, count API, reasoning controls;
* :meth:`Door.vendor_entry` — the entry for ``<prefix>:<model id>`` names the registry does not list;
* :meth:`Door.check_entry` — a registry entry's door-specific rules (read when ``models.toml`` loads);
* :meth:`Door.check_usable` / :meth:`Door.check_config` — refusals before any request;
* :meth:`Door.create` — the provider; :meth:`Door.discover` — a server's own model id before a run is named;
* :meth:`Door.answering_model` — how the model that answered is named in records.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from providers.errors import ConfigError, MissingKeyError

if TYPE_CHECKING:
    from providers.base import Provider
    from providers.batch import BatchClient, BatchLimits
    from providers.entry import ModelInfo

__all__ = ["BatchSupport", "CacheRules", "Capabilities", "Door", "Thinking"]

Thinking = Literal["budget", "adaptive", "level"]


@dataclass(frozen=True)
class CacheRules:
    """Prompt caching as the vendor bills it (read by the cost plan and the sizer).

    Attributes:
        mode: ``none`` (no prefix cache billed), ``automatic`` (the vendor caches the longest prefix shared
            with an earlier prompt, no write premium: OpenAI, Gemini) or ``breakpoints`` (the request marks
            where a cacheable prefix ends, written at the cache-write price, read later: Anthropic).
        min_prefix_tokens: Shortest cacheable prefix; below it nothing is cached (and no breakpoint is set).
        step: Cached tokens are billed in increments of this many (OpenAI: 128).
        max_breakpoints: Breakpoints one request may carry (Anthropic: 4).
        ttl_s: Lifetime of an entry from its last use (None: unknown / vendor-managed).
        in_batch: Whether batch requests may read and write the cache.
        long_ttl_s: A longer lifetime a breakpoint may ask for (Anthropic's ``ttl: "1h"``; None: none).
        long_write_factor: Price of a token written with the longer lifetime, relative to the input price
            (Anthropic: 2.0; the default lifetime's writes cost the entry's ``cache_write`` price).
    """

    mode: Literal["none", "automatic", "breakpoints"] = "none"
    min_prefix_tokens: int = 0
    step: int = 1
    max_breakpoints: int = 0
    ttl_s: float | None = None
    in_batch: bool = False
    long_ttl_s: float | None = None
    long_write_factor: float = 1.0

    @property
    def explicit(self) -> bool:
        """The request sets breakpoints (``mode == "breakpoints"``)."""
        return self.mode == "breakpoints"


NO_CACHE = CacheRules()


@dataclass(frozen=True)
class BatchSupport:
    """A vendor batch API.

    Attributes:
        max_requests: Requests per submission.
        max_bytes: Bytes per submission (the input file, or the request body).
        discount: Price of a batched token relative to the synchronous price.
        endpoint: The vendor's batch endpoint, for messages (``/v1/batches``).
    """

    max_requests: int
    max_bytes: int
    discount: float = 0.5
    endpoint: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What a model behind a door can do, typed.

    Attributes:
        cache: Prompt-cache rules.
        batch: The batch API, or None when the door has none.
        count_api: A free, exact token-count endpoint (``Provider.count_tokens`` answers).
        reasoning_efforts: Accepted ``reasoning_effort`` values (empty: the door sends none).
        thinking: Kinds of hidden-reasoning control the door speaks (``budget``, ``adaptive``, ``level``).
        thinking_levels: Accepted ``thinking_level`` values for ``thinking = "level"``.
        min_thinking_budget: Smallest ``budget`` the API accepts (Anthropic: 1024).
    """

    cache: CacheRules = NO_CACHE
    batch: BatchSupport | None = None
    count_api: bool = False
    reasoning_efforts: tuple[str, ...] = ()
    thinking: tuple[Thinking, ...] = ()
    thinking_levels: tuple[str, ...] = ()
    min_thinking_budget: int = 1


@dataclass(frozen=True)
class VendorDefaults:
    """What a ``<prefix>:<model id>`` name the registry does not list gets (see :meth:`Door.vendor_entry`).

    Attributes:
        tokenizer: Tokenizer spec used as a stand-in (lengths then approximate).
        count_api: The door can count tokens for any model.
        concurrency: Requests in flight per endpoint.
        reasoning_budget: Hidden-reasoning tokens left on top of the answer (an unknown model may reason).
    """

    tokenizer: str = "cl100k_base"
    count_api: bool = False
    concurrency: int = 4
    reasoning_budget: int = 4096
    extra: Mapping[str, Any] = field(default_factory=dict)


class Door(ABC):
    """One way of reaching models: an API (and its SDK), or a server the suite starts.

    Subclasses set the class attributes and implement :meth:`adapter`; the rest has defaults that fit a
    vendor API with an API key. Instances are stateless; ``DOOR`` in the door package is the one instance.

    Attributes:
        name: The registry ``provider`` value of its entries (``openai``, ``openai-compatible``); also the
            ``provider`` of result records and the kind of its providers.
        prefixes: Model-name prefixes it answers: ``<prefix>:<model id>`` names any model it serves.
        key_env: Environment variables for credentials, in the order they are tried.
        key_required: Whether an entry without a key can run (a local server: no).
        default_tokenizer: The tokenizer of unlisted models (see :class:`VendorDefaults`).
        suffix_ids: Entries of this door take ``<entry>:<model id>`` names (``vllm:Qwen/Qwen3-8B``).
        needs_base_url: Entries need ``--base-url`` unless they carry one.
        fixed_weights: The model is a fixed file whose version the run header records (a judge through this
            door is pinned without a dated id).
        packages: Distribution names whose versions go into run headers.
    """

    name: ClassVar[str]
    prefixes: ClassVar[tuple[str, ...]] = ()
    key_env: ClassVar[tuple[str, ...]] = ()
    key_required: ClassVar[bool] = True
    default_tokenizer: ClassVar[str] = "cl100k_base"
    suffix_ids: ClassVar[bool] = False
    needs_base_url: ClassVar[bool] = False
    fixed_weights: ClassVar[bool] = False
    packages: ClassVar[tuple[str, ...]] = ()

    # -- what the suite asks

    def capabilities(self, info: ModelInfo) -> Capabilities:
        """The capabilities of ``info``'s model through this door (default: none)."""
        return Capabilities(count_api=info.count_api)

    def vendor_defaults(self) -> VendorDefaults:
        """What an unlisted ``<prefix>:<id>`` model gets."""
        return VendorDefaults(tokenizer=self.default_tokenizer)

    def vendor_entry(self, model_id: str) -> ModelInfo:
        """The entry of a model the registry does not list, named ``<name>:<model id>``.

        Its window is asked from the vendor when the provider is created (``discover``) or given by the user;
        prices are unknown; nothing a model might reject is sent (no temperature), and room is left for
        hidden reasoning on top of the answer budget.
        """
        from providers.entry import ModelInfo

        d = self.vendor_defaults()
        return ModelInfo(
            alias=f"{self.name}:{model_id}",
            provider=self.name,
            model_id=model_id,
            context_window=0,
            tokenizer=d.tokenizer,
            tokenizer_exact=False,
            count_api=d.count_api,
            key_env=self.key_env[0] if self.key_env else None,
            key_env_fallbacks=tuple(self.key_env[1:]),
            key_required=self.key_required and bool(self.key_env),
            prices=None,
            concurrency=d.concurrency,
            supports_temperature=False,
            reasoning=d.reasoning_budget > 0,
            reasoning_budget=d.reasoning_budget,
            discover=True,
            window_source="",
            notes=f"not in the registry: any model id {self.name} serves; prices unknown",
            **dict(d.extra),
        )

    def check_entry(self, info: ModelInfo) -> None:
        """Refuse a registry entry this door cannot serve as written (raise ``ValueError``; the registry
        turns it into a one-line :class:`providers.errors.RegistryError` naming the entry).

        The default checks the model id, ``reasoning_effort`` and ``thinking`` against
        :meth:`capabilities`.
        """
        if not info.model_id and not self.suffix_ids:
            raise ValueError(
                f"model_id may be empty only for entries of a door that discovers it ({self.name})"
            )
        caps = self.capabilities(info)
        if info.reasoning_effort is not None and info.reasoning_effort not in caps.reasoning_efforts:
            allowed = caps.reasoning_efforts
            raise ValueError(
                f"reasoning_effort {info.reasoning_effort!r} is not one of {allowed} for {self.name}"
            )
        if info.thinking != "none" and info.thinking not in caps.thinking:
            raise ValueError(
                f"thinking = {info.thinking!r} is not spoken by {self.name} (only {caps.thinking})"
            )
        if info.thinking == "level" and info.thinking_level not in caps.thinking_levels:
            raise ValueError(f"thinking = 'level' needs thinking_level, one of {caps.thinking_levels}")
        if info.thinking == "budget" and info.reasoning_budget < caps.min_thinking_budget:
            raise ValueError(f"{self.name} thinking budgets must be >= {caps.min_thinking_budget}")

    def check_usable(self, info: ModelInfo) -> None:  # noqa: B027 - optional hook
        """Refuse, with no network and no environment, a model that cannot be called as configured
        (raise :class:`providers.errors.ConfigError`)."""

    def check_config(
        self, info: ModelInfo, environ: Mapping[str, str] | None = None, *, base_url: str | None = None
    ) -> str | None:
        """Check credentials and platform settings; return the API key (None: none needed or set).

        ``base_url`` is the endpoint given for the run (``--base-url``), which some platforms take in place
        of an environment variable (Azure's ``AZURE_OPENAI_ENDPOINT``).

        Raises:
            MissingKeyError: A required key is not set (names the variables).
            ConfigError: Another setting is missing (one line naming what to set).
        """
        env = os.environ if environ is None else environ
        for var in info.key_envs:
            value = env.get(var, "").strip()
            if value:
                return value
        if info.key_required and info.key_envs:
            raise MissingKeyError(info.alias, info.key_envs)
        return None

    def answering_model(self, raw_model_id: str) -> str:
        """The name records give the model that answered, from what the API reported."""
        return raw_model_id

    def discover(self, info: ModelInfo, base_url: str | None, api_key: str | None) -> ModelInfo:
        """The entry with what the server says it serves, asked before a run is named (default: unchanged).

        Only for doors whose entries leave the model id open (``suffix_ids``): a compatible server's model.
        """
        return info

    # -- what is built

    @abstractmethod
    def adapter(self) -> type[Provider]:
        """The adapter class (imports the SDK; raise ``ImportError`` when it is missing)."""

    def create(self, info: ModelInfo, **kwargs: Any) -> Provider:
        """The provider for ``info`` (``kwargs``: ``api_key``, ``base_url``, ``limits``, ``retry``,
        ``timeout_s``, and the door's own options such as the local server's ``n_ctx`` / ``verbose``).

        Raises:
            ConfigError: An option this door does not take.
        """
        for option in ("n_ctx", "verbose"):
            value = kwargs.pop(option, None)
            if option == "n_ctx" and value is not None:
                raise ConfigError("n_ctx applies only to the embedded local model")
        return self.adapter()(info, **kwargs)

    def batch_client(self, provider: Provider, *, limits: BatchLimits | None = None) -> BatchClient | None:
        """The batch client for ``provider`` (None: the door has no batch API)."""
        return None

    def __repr__(self) -> str:
        return f"<door {self.name}>"
