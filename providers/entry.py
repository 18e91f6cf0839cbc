"""A registry entry as the rest of the suite sees it: :class:`ModelInfo` (one pydantic model, validated
straight from a ``models.toml`` table), its :class:`Prices`, and :func:`cost_usd`, the one pricing function.

Kept apart from :mod:`providers.registry` (which reads the file and finds doors) so that doors, the provider
base and evals can name the type without importing the registry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = ["Lifecycle", "ModelInfo", "Prices", "check_url", "cost_usd", "usage_cost"]

Thinking = Literal["none", "budget", "adaptive", "level"]
LifecycleStatus = Literal["active", "deprecated", "retired"]


def check_url(url: str) -> None:
    """Raise ``ValueError`` unless ``url`` is an http(s) URL with a host."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")


class Prices(BaseModel):
    """List prices in USD per 1M tokens (the ``[models.X.prices]`` table).

    Attributes:
        input: Uncached prompt tokens.
        output: Output tokens (hidden reasoning included).
        cached_input: Prompt tokens read from the prefix cache (None: billed as ``input``).
        cache_write: Prompt tokens written to the cache (None: billed as ``input``).
        as_of: Date the prices were taken (required in a registry file).
        source: Where they were taken from (required in a registry file).
        long_context_threshold: Prompt tokens above which the ``*_long`` prices apply (None: flat).
        input_long, output_long, cached_input_long, cache_write_long: Prices above the threshold.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    as_of: dt.date | None = None
    source: str = ""
    long_context_threshold: int | None = Field(default=None, gt=0)
    input_long: float | None = Field(default=None, ge=0)
    output_long: float | None = Field(default=None, ge=0)
    cached_input_long: float | None = Field(default=None, ge=0)
    cache_write_long: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _tiers(self, info: ValidationInfo) -> Prices:
        tiers = (self.input_long, self.output_long, self.cached_input_long, self.cache_write_long)
        if any(v is not None for v in tiers) and self.long_context_threshold is None:
            raise ValueError("*_long prices need long_context_threshold")
        if (info.context or {}).get("registry") and (self.as_of is None or not self.source):
            raise ValueError("registry prices need as_of (a date) and source")
        return self

    def price(self, name: str, prompt_tokens: int = 0) -> float | None:
        """One price per 1M tokens (``input``, ``output``, ``cached_input``, ``cache_write``); the ``*_long``
        one when the prompt is above ``long_context_threshold`` and it is set."""
        threshold = self.long_context_threshold
        if threshold is not None and prompt_tokens > threshold:
            long_value = getattr(self, f"{name}_long", None)
            if long_value is not None:
                return float(long_value)
        value = getattr(self, name)
        return None if value is None else float(value)

    def estimate(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float:
        """Cost in USD of one request of this size (:func:`cost_usd`)."""
        cost = cost_usd(self, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens)
        assert cost is not None  # input and output prices are required
        return cost

    def cost(self, usage: Any) -> float | None:
        """Cost in USD of a request with this reported usage (None when usage is unknown)."""
        if usage.input_tokens is None or usage.output_tokens is None:
            return None
        return usage_cost(usage, self)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (dates as ISO strings), for run headers."""
        return self.model_dump(mode="json")


def cost_usd(
    prices: Any,
    n_in: int,
    n_cached: int = 0,
    n_write: int = 0,
    n_out: int = 0,
    *,
    discount: float = 1.0,
    n_write_1h: int = 0,
    write_1h_factor: float | None = None,
) -> float | None:
    """USD of one call: uncached input, cache reads, cache writes and output. The one pricing function.

    Args:
        prices: The entry's :class:`Prices` (per 1M tokens), or None.
        n_in: Prompt tokens (cached and written ones included).
        n_cached: Of those, read from the prompt cache (billed at ``cached_input`` where priced).
        n_write: Of those, written to the prompt cache (billed at ``cache_write`` where priced).
        n_out: Output tokens (hidden reasoning included).
        discount: Price ratio of every token (a batch API's :attr:`providers.door.BatchSupport.discount`;
            the discounts stack with caching, as the vendors document).
        n_write_1h: Of the written tokens, those written with the longer lifetime (Anthropic's 1 hour).
        write_1h_factor: Their price relative to the input price
            (:attr:`providers.door.CacheRules.long_write_factor`; None: the ``cache_write`` price).

    Returns:
        USD, or None when ``prices`` is None or has no input or output price. Each price is its ``*_long``
        variant when ``n_in`` is above ``long_context_threshold``; a missing cache price is the input price.
    """
    if prices is None:
        return None
    p_in, p_out = prices.price("input", n_in), prices.price("output", n_in)
    if p_in is None or p_out is None:
        return None
    p_cached = prices.price("cached_input", n_in)
    p_write = prices.price("cache_write", n_in)
    p_write = p_write if p_write is not None else p_in
    n_long = min(max(0, n_write_1h), n_write)
    p_long = p_in * write_1h_factor if write_1h_factor is not None else p_write
    cost = (
        max(0, n_in - n_cached - n_write) * p_in
        + n_cached * (p_cached if p_cached is not None else p_in)
        + (n_write - n_long) * p_write
        + n_long * p_long
        + n_out * p_out
    )
    return cost / 1e6 * discount


def usage_cost(
    usage: Any, prices: Any, *, discount: float = 1.0, write_1h_factor: float | None = None
) -> float | None:
    """:func:`cost_usd` of a provider's reported ``Usage``.

    ``input_tokens`` includes cached ones; ``cache_write_tokens`` are a part of the uncached rest;
    ``output_tokens`` includes hidden reasoning. A count the provider did not report is taken as 0.

    Returns:
        USD, 0.0 for a free model with zero prices, None when prices or the whole usage are unknown.
    """
    if usage is None or prices is None:
        return None
    n_in = getattr(usage, "input_tokens", None)
    n_out = getattr(usage, "output_tokens", None)
    if n_in is None and n_out is None:
        return None
    n_in, n_out = n_in or 0, n_out or 0
    n_cached = min(getattr(usage, "cached_input_tokens", None) or 0, n_in)
    n_write = min(getattr(usage, "cache_write_tokens", None) or 0, n_in - n_cached)
    n_long = min(getattr(usage, "cache_write_1h_tokens", None) or 0, n_write)
    return cost_usd(
        prices,
        n_in,
        n_cached,
        n_write,
        n_out,
        discount=discount,
        n_write_1h=n_long,
        write_1h_factor=write_1h_factor,
    )


class Lifecycle(BaseModel):
    """The ``[models.X.lifecycle]`` table (read into :class:`ModelInfo`'s flat fields)."""

    model_config = ConfigDict(extra="forbid")
    status: LifecycleStatus = "active"
    since: dt.date | None = None
    retires: dt.date | None = None
    successors: list[str] = Field(default_factory=list)
    source: str = ""

    @model_validator(mode="after")
    def _dates(self) -> Lifecycle:
        if self.status == "retired" and self.since is None:
            raise ValueError("a retired model needs `since` (the retirement date)")
        if self.status != "active" and not self.source:
            raise ValueError("a deprecated or retired model needs `source`")
        return self


class ModelInfo(BaseModel):
    """One registry entry: a ``[models.<alias>]`` table of ``models.toml`` validated as it is.

    The file's forms are read in (``key_env`` may list fallbacks, ``extra_headers`` is a table, lifecycle
    facts sit in a ``lifecycle`` table); everything else is the field of the same name. Door-specific rules
    (``reasoning_effort`` values, thinking kinds, keys) are the door's
    (:meth:`providers.door.Door.check_entry`).

    Attributes:
        alias: The canonical registry name (``gemini-1.5-pro``), also ``Provider.name``.
        provider: The door's name (``openai``, ``openai-compatible``...): which door serves it.
        model_id: The id sent to the API ("" = ask the server, doors with ``suffix_ids`` only).
        context_window: Tokens the model accepts (prompt + output). For the local model: the window
            actually served once the provider is created (``Provider.info``).
        tokenizer: Tokenizer spec for haystacks (``cl100k_base``, ``o200k_base``, ``llamacpp:<url>``).
            Templates ``{server_url}`` are filled by :func:`providers.registry.create_provider`.
        mode: ``chat`` or ``completion`` (base models: one prompt string with an answer prefix).
        key_env: The main environment variable holding the API key (None: no key).
        base_url: Endpoint (None: the SDK's default).
        prices: List prices, or None when unknown.
        aliases: Other names that resolve to this entry.
        key_env_fallbacks: Further variables tried in order (``GOOGLE_API_KEY`` after ``GEMINI_API_KEY``).
        key_required: Whether a missing key is an error (never, without a key variable).
        tokenizer_exact: Whether ``tokenizer`` is the model's own (else lengths are approximate).
        count_api: Whether the provider can count tokens (``Provider.count_tokens`` returns a number).
        max_output_tokens: Output cap of the model, if known.
        concurrency, rpm, tpm: Default per-endpoint limits.
        timeout_s: Default per-request timeout.
        reasoning: Hidden-reasoning model (budgets handled by the adapter; any ``thinking`` implies it).
        reasoning_budget: Default reasoning tokens on top of ``max_tokens``.
        reasoning_effort: The effort to send, if any (a value the door accepts).
        supports_prefill: The API continues an assistant prefill.
        supports_temperature: The API accepts ``temperature``.
        served_context: Local model: the window it is started with unless ``n_ctx`` is given.
        discover: Ask the server for what the entry leaves open: a compatible server's model id and window,
            or a vendor's models endpoint for a ``<vendor>:<id>`` name.
        extra_headers: Headers sent with every request (beta flags; never secrets).
        notes: Free text.
        thinking: How hidden reasoning is asked for: ``none`` (not sent), ``budget``, ``adaptive``, ``level``.
        thinking_level: Gemini ``thinking_level`` for ``thinking = "level"``.
        status: Vendor lifecycle: ``active``, ``deprecated`` (still served) or ``retired`` (refused).
        status_since: Date of the deprecation / retirement.
        retires: Announced retirement date of a deprecated model.
        successors: Registry names to use instead.
        lifecycle_source: Where the lifecycle facts come from.
        window_source: Where ``context_window`` comes from (``registry``, ``models endpoint``, ``override``).
        door: The module of the entry's door when it is not a built-in one (``pkg.doors.toy``; see
            :mod:`providers.doors`); "" finds the door by ``provider``.
        api: OpenAI-style doors (``openai``, ``azure``): ``responses`` (the Responses API), ``chat`` (chat
            completions) or ``""``: the Responses API exactly for the models the installed SDK lists as
            Responses-only (``providers/doors/openai/responses.py``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    alias: str = ""
    provider: str = Field(min_length=1)
    model_id: str
    context_window: int = Field(ge=0)
    tokenizer: str = Field(min_length=1)
    mode: Literal["chat", "completion"] = "chat"
    key_env: str | None = None
    base_url: str | None = None
    prices: Prices | None = None
    aliases: tuple[str, ...] = ()
    key_env_fallbacks: tuple[str, ...] = ()
    key_required: bool = True
    tokenizer_exact: bool = True
    count_api: bool = False
    max_output_tokens: int | None = Field(default=None, gt=0)
    concurrency: int = Field(default=8, ge=1)
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=600.0, gt=0)
    reasoning: bool = False
    reasoning_budget: int = Field(default=0, ge=0)
    reasoning_effort: str | None = None
    supports_prefill: bool = False
    supports_temperature: bool = True
    served_context: int | None = Field(default=None, gt=0)
    discover: bool = False
    extra_headers: tuple[tuple[str, str], ...] = ()
    notes: str = ""
    thinking: Thinking = "none"
    thinking_level: str | None = None
    status: LifecycleStatus = "active"
    status_since: dt.date | None = None
    retires: dt.date | None = None
    successors: tuple[str, ...] = ()
    lifecycle_source: str = ""
    window_source: str = "registry"
    door: str = ""
    api: Literal["", "chat", "responses"] = ""

    @model_validator(mode="before")
    @classmethod
    def _file_forms(cls, data: Any) -> Any:
        """Read the registry file's forms: key lists, header tables, the lifecycle table."""
        if not isinstance(data, Mapping):
            return data
        d = dict(data)
        if isinstance(d.get("key_env"), list):
            envs = [str(v) for v in d["key_env"]]
            d["key_env"] = envs[0] if envs else None
            d["key_env_fallbacks"] = (*envs[1:], *d.get("key_env_fallbacks", ()))
        if not d.get("key_env") and not d.get("key_env_fallbacks"):
            d["key_required"] = False
        if isinstance(d.get("extra_headers"), Mapping):
            d["extra_headers"] = tuple(sorted((str(k), str(v)) for k, v in d["extra_headers"].items()))
        if "lifecycle" in d:
            try:
                life = Lifecycle.model_validate(d.pop("lifecycle"))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(f"lifecycle{'.' + where if where else ''}: {first['msg']}") from None
            d.update(
                status=life.status,
                status_since=life.since,
                retires=life.retires,
                successors=tuple(life.successors),
                lifecycle_source=life.source,
            )
        if d.get("thinking", "none") != "none":
            d["reasoning"] = True
        if "window_source" not in d:
            d["window_source"] = "registry" if d.get("context_window") else ""
        return d

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None:
            check_url(v)
        return v

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> ModelInfo:
        if not (info.context or {}).get("registry"):
            return self
        if self.context_window == 0 and not self.discover:
            raise ValueError("context_window must be > 0 (or discover = true for a compatible server)")
        if any(k.lower() in ("authorization", "x-api-key", "x-goog-api-key") for k, _ in self.extra_headers):
            raise ValueError("extra_headers must not carry credentials; keys come from key_env")
        if self.thinking != "none" and self.reasoning_budget <= 0:
            raise ValueError(
                "a thinking model needs reasoning_budget > 0 (answer budgets leave room for thinking)"
            )
        return self

    @property
    def key_envs(self) -> tuple[str, ...]:
        """All key variables in the order they are tried."""
        return ((self.key_env,) if self.key_env else ()) + self.key_env_fallbacks

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for run headers (no secrets: keys are never part of an entry)."""
        out = self.model_dump(mode="json")
        out["extra_headers"] = dict(self.extra_headers)
        if not self.door:
            del out["door"]
        return out
