"""Typed errors of the provider layer, and the classification shared by every adapter.

Adapters never decide whether to retry: they turn what their SDK raised into one of the classes below
(:func:`classify_status` for HTTP statuses, :func:`classify_transport` for timeouts and dropped
connections) and the one central loop in :mod:`providers.base` retries exactly the ``retryable`` ones.

Every message is passed through :func:`redact` before it is stored, so an API key that a server echoes
back ("Incorrect API key provided: sk-...") never reaches a log, a result file or a terminal.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "AuthError",
    "BadRequestError",
    "ConfigError",
    "ConnectionDropped",
    "ContextLengthExceeded",
    "LocalModelError",
    "MalformedResponse",
    "MissingKeyError",
    "NotFoundError",
    "ProviderError",
    "ProviderTimeout",
    "QuotaExceededError",
    "RateLimitError",
    "RegistryError",
    "RetiredModelError",
    "ServerError",
    "UnknownModelError",
    "classify_other",
    "classify_stainless_error",
    "classify_status",
    "classify_transport",
    "error_message_from_body",
    "is_context_length_message",
    "lookup_failure",
    "parse_retry_after",
    "redact",
]

REDACTED = "***"


class ProviderError(Exception):
    """An API call failed. ``retryable`` says whether the central retry loop may try again.

    Attributes:
        retryable: True for 429, 5xx, timeouts, dropped connections and garbled responses.
        status: The HTTP status when there was one.
        retry_after: Seconds the server asked us to wait (``Retry-After`` and friends), if it said.
        provider: Registry alias or adapter name that raised it, for messages.
        attempts: How many attempts the central loop made before giving up (set by the loop).
        body: The (redacted) error body the server sent, when there was one.
    """

    retryable: bool = False
    default_status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else self.default_status
        self.retry_after = retry_after
        self.provider = provider
        self.body = body
        self.attempts = 1

    def __str__(self) -> str:
        head = f"{self.provider}: " if self.provider else ""
        status = f"HTTP {self.status}: " if self.status is not None else ""
        tail = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{head}{status}{self.message}{tail}"


class RateLimitError(ProviderError):
    """HTTP 429 (or Gemini RESOURCE_EXHAUSTED): retried, honouring ``Retry-After``."""

    retryable = True
    default_status = 429


class QuotaExceededError(ProviderError):
    """Billing, credit, spend-limit or daily-quota errors that no wait within a run will fix.

    Never retried (``retryable`` is False) and fatal for a run: OpenAI ``insufficient_quota`` (429),
    Anthropic ``billing_error`` / 402 / "credit balance is too low" / the spend-limit ``error_code`` s,
    Gemini ``RESOURCE_EXHAUSTED`` whose details name a billing or per-day quota.
    """

    retryable = False
    default_status = 429


class ServerError(ProviderError):
    """HTTP 5xx (500, 502, 503, 504, Anthropic's 529 overloaded): retried."""

    retryable = True
    default_status = 500


class ProviderTimeout(ProviderError):
    """No (complete) answer within the timeout: retried."""

    retryable = True


class ConnectionDropped(ProviderError):
    """The connection was refused, reset or closed before a response: retried."""

    retryable = True


class MalformedResponse(ProviderError):
    """The server answered 2xx with a body that is not the JSON the API promises: retried."""

    retryable = True


class AuthError(ProviderError):
    """HTTP 401/403: the key is wrong or lacks access. Fails fast."""

    default_status = 401


class BadRequestError(ProviderError):
    """HTTP 400 (and other 4xx that a retry cannot fix). Fails fast."""

    default_status = 400


class NotFoundError(ProviderError):
    """HTTP 404: unknown model or endpoint. Fails fast."""

    default_status = 404


class ContextLengthExceeded(ProviderError):
    """The prompt does not fit the model's window.

    Not retryable, and not raised to callers of :meth:`providers.base.Provider.generate`: the loop turns
    it into a result whose ``stop_reason`` is ``MODEL_LENGTH``.

    Attributes:
        prompt_tokens: The prompt length the server reported, when it did.
        context_window: The window the server reported, when it did.
    """

    default_status = 400

    def __init__(
        self,
        message: str,
        *,
        prompt_tokens: int | None = None,
        context_window: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.prompt_tokens = prompt_tokens
        self.context_window = context_window


class ConfigError(Exception):
    """The user asked for something the configuration cannot give (bad model name, missing key...)."""


class UnknownModelError(ConfigError):
    """The model name is not in the registry; the message lists the closest known names."""

    def __init__(self, name: str, suggestions: Iterable[str] = ()) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown model {name!r}{hint} (see providers/models.toml for all names)")


class MissingKeyError(ConfigError):
    """The provider needs an API key and none of its environment variables is set."""

    def __init__(self, model: str, env_vars: Iterable[str]) -> None:
        self.model = model
        self.env_vars = tuple(env_vars)
        first, *rest = self.env_vars
        alt = f" (or {', '.join(rest)})" if rest else ""
        super().__init__(f"model {model!r} needs an API key: set the environment variable {first}{alt}")


class RetiredModelError(ConfigError):
    """The model is retired by its vendor: refused before any request (names the date and successors)."""

    def __init__(self, name: str, since: Any, successors: Iterable[str] = ()) -> None:
        self.name = name
        self.since = since
        self.successors = tuple(successors)
        when = f" on {since}" if since else ""
        use = f"; use {', '.join(self.successors)}" if self.successors else ""
        super().__init__(f"model {name!r} was retired by its vendor{when}{use}")


class RegistryError(ConfigError):
    """The model registry file is missing, not valid TOML, or fails validation."""


class LocalModelError(ConfigError):
    """The embedded local model could not be started (package missing, GGUF not assembled, bind failed)."""


# --------------------------------------------------------------------------------------------- redaction

_KEY_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_\-]{16,}"),  # OpenAI / Anthropic style
    re.compile(r"AIza[0-9A-Za-z_\-]{20,}"),  # Google API keys
)
_SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization"}
)


def redact(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """Return a copy of ``value`` with every secret removed.

    Strings have each given secret (and anything shaped like an OpenAI, Anthropic or Google key)
    replaced by ``***``; mappings also lose the values of authentication headers; lists, tuples and
    nested structures are walked. Other values are returned unchanged.

    Args:
        value: A string, mapping, sequence or scalar (typically a request/response dict or a message).
        secrets: Exact strings to remove (the API key in use); empty or None entries are ignored.

    Returns:
        The redacted copy.
    """
    keys = tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True))
    if isinstance(value, Mapping | list | tuple):
        # Fast path: one serialisation and a few searches decide that nothing needs removing, and
        # the value is returned as is (most raw requests/responses; walking them costs more).
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = None
        if text is not None and not _may_hold_secret(text, keys):
            return value
    return _redact(value, keys)


_HEADER_KEY = re.compile(r'"(authorization|x-api-key|x-goog-api-key|api-key|proxy-authorization)"\s*:', re.I)


def _may_hold_secret(text: str, keys: tuple[str, ...]) -> bool:
    return (
        any(k in text for k in keys)
        or any(p.search(text) for p in _KEY_PATTERNS)
        or _HEADER_KEY.search(text) is not None
    )


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for s in secrets:
            if s in value:
                value = value.replace(s, REDACTED)
        for pattern in _KEY_PATTERNS:
            value = pattern.sub(REDACTED, value)
        return value
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            key = _redact(k, secrets) if isinstance(k, str) else k
            if isinstance(k, str) and k.lower() in _SECRET_HEADERS and v:
                out[key] = REDACTED
            else:
                out[key] = _redact(v, secrets)
        return out
    if isinstance(value, list | tuple):
        items = [_redact(v, secrets) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


# ------------------------------------------------------------------------------------- classification

_CONTEXT_PATTERNS = (
    re.compile(r"context[_ ]length[_ ]exceeded", re.I),  # OpenAI code
    re.compile(r"maximum context length", re.I),  # OpenAI / vLLM message
    re.compile(r"exceeds? the available context size", re.I),  # llama.cpp
    re.compile(r"exceed_context_size", re.I),  # llama.cpp type
    re.compile(r"prompt is too long", re.I),  # Anthropic
    re.compile(r"input token count.*exceeds the maximum", re.I | re.S),  # Gemini
    re.compile(r"longer than the model'?s context length", re.I),  # SGLang
    re.compile(r"too many tokens in (the )?prompt", re.I),
    re.compile(r"input length.*exceeds?.*context", re.I | re.S),
    re.compile(r"input length and `?max_tokens`? exceed context limit", re.I),  # Anthropic
)


def is_context_length_message(text: str) -> bool:
    """True when an error message/code says the prompt exceeded the model's window (any vendor)."""
    return any(p.search(text) for p in _CONTEXT_PATTERNS)


def _first_int(pattern: str, text: str) -> int | None:
    m = re.search(pattern, text, re.I | re.S)
    return int(m.group(1).replace(",", "")) if m else None


def _context_numbers(body: Any, message: str) -> tuple[int | None, int | None]:
    """Best-effort (prompt_tokens, context_window) from an overflow error of any vendor."""
    err = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(err, Mapping) and isinstance(err.get("n_prompt_tokens"), int):
        n_ctx = err.get("n_ctx")
        return err["n_prompt_tokens"], n_ctx if isinstance(n_ctx, int) else None
    patterns = (
        (r"prompt is too long: ([\d,]+) tokens", r"> ([\d,]+) maximum"),  # Anthropic
        (r"input token count \(?([\d,]+)\)?", r"tokens allowed \(?([\d,]+)\)?"),  # Gemini
        (r"request \(([\d,]+) tokens\)", r"context size \(([\d,]+) tokens\)"),  # llama.cpp
        (r"resulted in ([\d,]+) tokens", r"maximum context length is ([\d,]+)"),  # OpenAI
        (r"requested ([\d,]+) tokens", r"maximum context length is ([\d,]+)"),  # vLLM
        (r"input \(([\d,]+) tokens\)", r"context length \(([\d,]+) tokens\)"),  # SGLang
    )
    partial: tuple[int | None, int | None] = (None, None)
    for p_prompt, p_window in patterns:
        prompt, window = _first_int(p_prompt, message), _first_int(p_window, message)
        if prompt is not None and window is not None:
            return prompt, window
        if partial == (None, None):
            partial = (prompt, window)
    return partial


def error_message_from_body(body: Any) -> str:
    """The human message inside an error body of any of the supported wire formats."""
    if isinstance(body, Mapping):
        err = body.get("error", body)
        if isinstance(err, Mapping):
            msg = err.get("message") or err.get("msg")
            if msg:
                return str(msg)
            return json.dumps(err, ensure_ascii=False)[:500]
        if isinstance(err, str):
            return err
    if isinstance(body, list) and len(body) == 1:
        return error_message_from_body(body[0])
    if isinstance(body, str | bytes):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return text.strip()[:500] or "empty response body"
    return "no error message"


def _error_code(body: Any) -> str:
    """Vendor error code/type/status strings joined (``context_length_exceeded``, ``RESOURCE_EXHAUSTED``)."""
    parts: list[str] = []
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if isinstance(body, Mapping):
        err = body.get("error", body)
        if isinstance(err, Mapping):
            parts.extend(str(err[k]) for k in ("code", "type", "status") if err.get(k) is not None)
    return " ".join(parts)


def parse_retry_after(
    headers: Mapping[str, str] | None, body: Any = None, *, now: float | None = None
) -> float | None:
    """Seconds to wait as the server asked, or None.

    Reads ``retry-after-ms`` (OpenAI, Anthropic), ``Retry-After`` as seconds or as an HTTP date, and
    Gemini's ``google.rpc.RetryInfo`` ``retryDelay`` ("17s") in the error body.

    Args:
        headers: Response headers (any case-insensitive or plain mapping).
        body: The decoded error body, if any.
        now: Current time for HTTP-date values (tests); defaults to ``time.time()``.

    Returns:
        Non-negative seconds, or None when the server gave no hint.
    """
    if headers:
        lower = {str(k).lower(): str(v) for k, v in headers.items()}
        ms = lower.get("retry-after-ms")
        if ms:
            try:
                value = float(ms) / 1000.0
                if math.isfinite(value):
                    return max(0.0, value)
            except ValueError:
                pass
        ra = lower.get("retry-after")
        if ra:
            try:
                value = float(ra)
                if math.isfinite(value):
                    return max(0.0, value)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(ra)
                except (TypeError, ValueError):
                    when = None
                if when is not None:
                    return max(0.0, when.timestamp() - (time.time() if now is None else now))
    details: Any = None
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        details = body["error"].get("details")
    if isinstance(details, list):
        for d in details:
            if isinstance(d, Mapping) and str(d.get("@type", "")).endswith("RetryInfo"):
                m = re.fullmatch(r"\s*([\d.]+)s\s*", str(d.get("retryDelay", "")))
                if m:
                    return float(m.group(1))
    return None


_BILLING_CODES = frozenset(
    {
        "insufficient_quota",  # OpenAI
        "billing_error",  # Anthropic error.type
        "billing_hard_limit_reached",  # OpenAI
        "contract_spend_limit_reached",  # Anthropic error.details.error_code ...
        "enforced_spend_limit_reached",
        "linked_organization_spend_limit_reached",
        "linked_organization_billing_unavailable",
        "user_profile_billing_not_authorized",
        "user_profile_not_billable",
    }
)
_BILLING_MESSAGE = re.compile(
    r"credit balance is too low|credits? (are |is )?depleted|spend(ing)? (limit|cap)|"
    r"exceeded your current quota, please check your plan and billing|billing (is )?(not enabled|disabled)",
    re.I,
)


def _error_dict(body: Any) -> Mapping[str, Any]:
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    err = body.get("error") if isinstance(body, Mapping) else None
    return err if isinstance(err, Mapping) else {}


def _is_billing(status: int, code: str, message: str, body: Any) -> bool:
    """Whether an error says the account cannot pay (no wait will fix it), for any vendor."""
    if status == 402:
        return True
    err = _error_dict(body)
    codes = set(code.split())
    details = err.get("details")
    if isinstance(details, Mapping) and isinstance(details.get("error_code"), str):  # Anthropic
        codes.add(details["error_code"])
    if codes & _BILLING_CODES:
        return True
    if isinstance(details, list):  # Gemini google.rpc details
        for d in details:
            if not isinstance(d, Mapping):
                continue
            kind = str(d.get("@type", ""))
            if kind.endswith("ErrorInfo") and re.search(r"BILLING|SPEND|CREDIT", str(d.get("reason", ""))):
                return True
            if kind.endswith("QuotaFailure"):
                for v in d.get("violations") or []:
                    text = json.dumps(v, default=str) if isinstance(v, Mapping) else str(v)
                    # A per-day quota or a billing/spend quota: a wait of seconds cannot help.
                    if re.search(r"PerDay|billing|spend|credit", text, re.I):
                        return True
    if status == 429 and _BILLING_MESSAGE.search(message) and not _has_short_retry(body):
        return True
    return status in (400, 403) and _BILLING_MESSAGE.search(message) is not None


def _has_short_retry(body: Any) -> bool:
    """A RetryInfo under two minutes in the body: a rate limit, whatever its message says."""
    wait = parse_retry_after(None, body)
    return wait is not None and wait < 120


def _is_bad_key(code: str, message: str, body: Any) -> bool:
    """Gemini answers an invalid key with 400 INVALID_ARGUMENT / reason API_KEY_INVALID."""
    text = f"{code} {message} {json.dumps(body, default=str) if isinstance(body, dict | list) else ''}"
    return "API_KEY_INVALID" in text or "API key not valid" in text


def classify_status(
    status: int,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    *,
    provider: str | None = None,
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """Turn an HTTP error response into the matching :class:`ProviderError` subclass.

    Args:
        status: HTTP status code.
        body: Decoded JSON error body (or raw text) as the server sent it.
        headers: Response headers, for ``Retry-After``.
        provider: Name to put in the message.
        secrets: Strings to redact from the message and the stored body (the API key).

    Returns:
        The classified, redacted error (not raised).
    """
    secrets = tuple(secrets)
    body = redact(body, secrets)
    message = redact(error_message_from_body(body), secrets)
    code = _error_code(body)
    retry_after = parse_retry_after(headers, body)
    kwargs: dict[str, Any] = {"status": status, "provider": provider, "body": body}
    if status in (400, 413, 422) and (is_context_length_message(code) or is_context_length_message(message)):
        prompt_tokens, window = _context_numbers(body, message)
        return ContextLengthExceeded(message, prompt_tokens=prompt_tokens, context_window=window, **kwargs)
    if _is_billing(status, code, message, body) or "insufficient_quota" in message:
        return QuotaExceededError(message, **kwargs)
    if status == 429:
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    if status in (401, 403) or (status == 400 and _is_bad_key(code, message, body)):
        return AuthError(message, **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status == 408:
        return ProviderTimeout(message, retry_after=retry_after, **kwargs)
    if status == 409:  # conflicting concurrent request (OpenAI): transient
        return ServerError(message, retry_after=retry_after, **kwargs)
    if status >= 500 and status not in (501, 505):
        return ServerError(message, retry_after=retry_after, **kwargs)
    if 200 <= status < 300:
        return MalformedResponse(message, **kwargs)
    return BadRequestError(message, **kwargs)


_TIMEOUT_NAMES = ("TimeoutException", "TimeoutError", "ReadTimeout", "ConnectTimeout", "ServerTimeoutError")
_DROPPED_NAMES = (
    "ConnectError",
    "RemoteProtocolError",
    "ReadError",
    "WriteError",
    "NetworkError",
    "TransportError",
    "ServerDisconnectedError",
    "ClientOSError",
    "ClientConnectorError",
    "ConnectionError",
    "IncompleteRead",
)


def classify_transport(
    exc: BaseException, *, provider: str | None = None, secrets: Iterable[str | None] = ()
) -> ProviderError | None:
    """Classify a transport-level failure (no HTTP status) by its exception type, or return None.

    Works on httpx, httpx2, aiohttp and builtin exceptions without importing them: timeouts become
    :class:`ProviderTimeout`, refused/reset/closed connections :class:`ConnectionDropped`, and JSON
    that does not decode :class:`MalformedResponse`.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = redact(f"{type(exc).__name__}: {exc}".rstrip(": "), secrets)
    if names & set(_TIMEOUT_NAMES) or isinstance(exc, TimeoutError):
        return ProviderTimeout(f"request timed out ({text})", provider=provider)
    if names & set(_DROPPED_NAMES) or isinstance(exc, ConnectionError | EOFError):
        return ConnectionDropped(f"connection dropped ({text})", provider=provider)
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError) or "JSONDecodeError" in names:
        return MalformedResponse(f"response is not valid JSON ({text})", provider=provider)
    return None


def classify_other(
    exc: BaseException, *, provider: str | None = None, secrets: Iterable[str | None] = ()
) -> ProviderError:
    """Classify an exception no SDK-specific rule matched: a transport failure, else an unexpected
    (not retryable) error whose text has the secrets redacted."""
    classified = classify_transport(exc, provider=provider, secrets=secrets)
    if classified is not None:
        return classified
    return ProviderError(
        f"unexpected error: {redact(f'{type(exc).__name__}: {exc}', secrets)}", provider=provider
    )


def lookup_failure(err: ProviderError, what: str) -> Exception:
    """What a failed lookup of a model's metadata (a models endpoint asked before a run) raises: a wrong
    key, an unknown model or an empty account as classified (``err``), anything else a :class:`ConfigError`
    ``cannot ask {what}: {err}``.

    Args:
        err: The classified failure.
        what: Who was asked about which model (``"Gemini for 'gemini-x'"``).
    """
    if isinstance(err, AuthError | NotFoundError | QuotaExceededError):
        return err
    return ConfigError(f"cannot ask {what}: {err}")


def _status_error_body(exc: Any) -> Any:
    """Decoded body of an SDK status error: JSON if the response text parses, else what the SDK kept."""
    try:
        text = exc.response.text
    except Exception:  # body not read / not decodable
        return getattr(exc, "body", None)
    try:
        return json.loads(text)
    except ValueError:
        body = getattr(exc, "body", None)
        return text if body is None else body


def classify_stainless_error(
    sdk: Any, exc: BaseException, *, provider: str | None = None, secrets: Iterable[str | None] = ()
) -> ProviderError:
    """Classify an exception of the ``openai`` or ``anthropic`` SDK (``sdk`` is the module; both are
    generated by Stainless and share ``APIStatusError``, ``APITimeoutError``, ``APIConnectionError`` and
    ``APIResponseValidationError``)."""
    if isinstance(exc, sdk.APIStatusError):
        return classify_status(
            exc.status_code,
            _status_error_body(exc),
            exc.response.headers,
            provider=provider,
            secrets=secrets,
        )
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderTimeout("request timed out", provider=provider)
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__ or exc
        detail = classify_transport(cause, provider=provider, secrets=secrets)
        if isinstance(detail, ProviderTimeout):
            return detail
        return ConnectionDropped(f"connection failed ({type(cause).__name__})", provider=provider)
    if isinstance(exc, sdk.APIResponseValidationError):
        return MalformedResponse("response does not match the API schema", provider=provider)
    return classify_other(exc, provider=provider, secrets=secrets)
