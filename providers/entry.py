"""A registry entry as the rest of the suite sees it: :class:`ModelInfo` and its :class:`Prices`.

Kept apart from :mod:`providers.registry` (which reads ``models.toml`` and finds doors) so that doors, the
provider base and evals can name the type without importing the registry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from providers.base import Usage

__all__ = ["ModelInfo", "Prices"]


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
        door: The module of the entry's door when it is not a built-in one (``pkg.doors.toy``; see
            :mod:`providers.doors`); "" finds the door by ``provider``.
        api: OpenAI-style doors (``openai``, ``azure``): ``responses`` (the Responses API), ``chat`` (chat
            completions) or ``""``: the Responses API exactly for the models the installed SDK lists as
            Responses-only (``providers/doors/openai/responses.py``).
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
    door: str = ""
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
        if not self.door:
            del out["door"]
        for k in ("status_since", "retires"):
            out[k] = out[k].isoformat() if out[k] else None
        return out
