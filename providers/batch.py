"""Vendor batch APIs (half price, answers within 24 h) behind one interface.

A batch client wraps a provider made by :func:`providers.registry.create_provider` and talks to the
vendor through the provider's own SDK client (same key, base URL, headers and transport):

* OpenAI: one JSONL file uploaded with ``purpose="batch"`` (``files.create``), then ``batches.create`` on
  ``/v1/chat/completions`` (or ``/v1/completions``); results in the output and error files
  (``files.content``).
* Anthropic: ``messages.batches.create(requests=[{custom_id, params}])``, ``retrieve``, ``results``.
* Gemini: ``batches.create(model, src=[inlined requests])`` (above 20 MB ``src=`` an input file uploaded with
  ``files.upload``), ``batches.get``; results inlined in the job (or a file, ``files.download``).

Every request body is the one the synchronous adapter builds for the same :class:`GenerateRequest`
(``build_body`` / ``build_request``), so a batched cell and a synchronous cell send the same bytes to the
model. Requests are split into several batches only where a vendor limit (count or bytes) forces it.
Answers are parsed into :class:`GenerateResult` (a prompt over the window becomes ``MODEL_LENGTH``, as
in :meth:`Provider.generate`) or a classified :class:`ProviderError` per ``custom_id``.

Typical use::

    client = batch_client(provider)
    handles = await client.submit([BatchRequest(cell_id, req) for cell_id, req in todo])
    for h in handles:
        await client.wait(h)
        for custom_id, outcome in (await client.results(h, requests)).items(): ...

Handles are plain data (``to_dict`` / ``from_dict``): a run can store them and collect results later.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.base import GenerateRequest, GenerateResult, Provider, StopReason, Usage
from providers.errors import (
    ConfigError,
    ContextLengthExceeded,
    MalformedResponse,
    ProviderError,
    classify_status,
)

__all__ = [
    "BATCH_LIMITS",
    "FIND_WINDOW_S",
    "GEMINI_INLINE_BYTES",
    "TAG_KEY",
    "BatchClient",
    "BatchHandle",
    "BatchLimits",
    "BatchRequest",
    "BatchStatus",
    "BatchUnsupportedError",
    "batch_client",
    "supports_batch",
]

#: Normalised batch states. ``running`` until the vendor says the batch ended one way or another.
STATES = ("running", "ended", "failed", "expired", "canceled")
COUNT_KEYS = ("succeeded", "errored", "processing", "expired", "canceled")


class BatchUnsupportedError(ConfigError):
    """The provider has no batch API (local model, OpenAI-compatible servers)."""


@dataclass(frozen=True)
class BatchRequest:
    """One request of a batch.

    Attributes:
        custom_id: The caller's id, unique within a submission (e.g. the cell id); 1-64 of
            ``[A-Za-z0-9_-]`` for Anthropic.
        request: The request, as for :meth:`Provider.generate`.
    """

    custom_id: str
    request: GenerateRequest


@dataclass(frozen=True)
class BatchLimits:
    """A vendor's size limits of one batch.

    Attributes:
        max_requests: Requests per batch.
        max_bytes: Bytes of the batch's payload (OpenAI: the JSONL file; Anthropic: the JSON body;
            Gemini: the inlined requests of the create call).
    """

    max_requests: int
    max_bytes: int


#: Published limits (2025): OpenAI 50,000 requests / 200 MB input file; Anthropic 100,000 requests /
#: Metadata key (OpenAI) that tags a batch with its submission token.
TAG_KEY = "niah_submission"
#: How far before a submission's recorded time :meth:`BatchClient.find` looks (listings are newest first).
FIND_WINDOW_S = 3600.0
#: Tolerated difference between this machine's clock and the vendor's.
_CLOCK_SKEW_S = 60.0
#: 256 MB; Gemini: 2 GB per input file (up to 20 MB of requests go inline, :data:`GEMINI_INLINE_BYTES`).
BATCH_LIMITS: dict[str, BatchLimits] = {
    "openai": BatchLimits(50_000, 200 * 1024 * 1024),
    "anthropic": BatchLimits(100_000, 256 * 1024 * 1024),
    "gemini": BatchLimits(100_000, 2 * 1024 * 1024 * 1024),
}
#: Gemini: the most request bytes one create call takes inline; a larger batch goes through an input file
#: (the Files API; 2 GB per file) and its results come back as a file.
GEMINI_INLINE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class BatchHandle:
    """A submitted batch (serialisable; store it to collect results later).

    Attributes:
        vendor: ``openai`` | ``anthropic`` | ``gemini``.
        batch_id: The vendor's batch id (Gemini: ``batches/...``).
        custom_ids: The requests it holds, in submission order.
        submitted_at: Unix time of submission.
        model: Registry alias of the provider that submitted it.
        input_file_id: OpenAI: the uploaded JSONL file.
        endpoint: OpenAI: the batch's endpoint (``/v1/chat/completions`` or ``/v1/completions``).
    """

    vendor: str
    batch_id: str
    custom_ids: tuple[str, ...]
    submitted_at: float
    model: str = ""
    input_file_id: str | None = None
    endpoint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        out = dataclasses.asdict(self)
        out["custom_ids"] = list(self.custom_ids)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchHandle:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["custom_ids"] = tuple(values.get("custom_ids") or ())
        return cls(**values)


@dataclass(frozen=True)
class BatchStatus:
    """Where a batch stands.

    Attributes:
        state: One of :data:`STATES` (``running`` until the batch ended).
        vendor_state: The vendor's own word (``in_progress``, ``JOB_STATE_RUNNING``...).
        counts: ``succeeded``, ``errored``, ``processing``, ``expired``, ``canceled`` request counts.
    """

    state: str
    vendor_state: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """True once the vendor will change nothing more (results can be fetched)."""
        return self.state != "running"


def _counts(rest_key: str | None = None, rest: int = 0, **values: int) -> dict[str, int]:
    """The five counts (missing ones 0); ``rest`` is added to ``rest_key``."""
    out = {k: int(values.get(k, 0) or 0) for k in COUNT_KEYS}
    if rest_key is not None:
        out[rest_key] += max(0, rest)
    return out


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


# ------------------------------------------------------------------------------------------ base


class BatchClient(ABC):
    """Submit, poll and collect batches for one provider (see the module docstring).

    Args:
        provider: The provider whose SDK client, body builder and retry policy are used.
        limits: Override the vendor's size limits (tests use tiny ones).
    """

    vendor: str = ""
    #: Bytes one request adds to the payload beyond its own JSON (separators).
    _overhead = 1

    def __init__(self, provider: Provider, *, limits: BatchLimits | None = None) -> None:
        self.provider = provider
        self.limits = limits or BATCH_LIMITS[self.vendor]
        self._client: Any = getattr(provider, "_client", None)
        if self._client is None:
            raise BatchUnsupportedError(f"{provider.name}: the provider exposes no SDK client for batches")

    # -- for subclasses

    @abstractmethod
    def item(self, br: BatchRequest) -> Any:
        """The request as one entry of the vendor's batch payload."""

    def group_key(self, br: BatchRequest) -> str:
        """Requests with different keys never share a batch (OpenAI: the endpoint)."""
        return ""

    @abstractmethod
    async def _submit(
        self, items: list[Any], custom_ids: tuple[str, ...], key: str, token: str
    ) -> BatchHandle:
        """Submit one chunk (within the limits), tagged with ``token`` where the vendor keeps a tag."""

    @abstractmethod
    async def _find(
        self, token: str, custom_ids: tuple[str, ...], since: float, exclude: frozenset[str] = frozenset()
    ) -> BatchHandle | None:
        """The batch a submission tagged ``token`` (made at ``since``) created, if the vendor has it; never
        one of ``exclude`` (batches already accounted for)."""

    @abstractmethod
    async def _status(self, handle: BatchHandle) -> BatchStatus:
        """Poll once."""

    @abstractmethod
    async def _results(self, handle: BatchHandle) -> dict[str, Any]:
        """Raw outcome per custom_id: a success payload or a ProviderError."""

    @abstractmethod
    def _parse(self, payload: Any, raw_request: dict[str, Any]) -> GenerateResult:
        """A success payload (the vendor's synchronous response body) as a GenerateResult."""

    # -- public

    def split(self, requests: Sequence[BatchRequest]) -> list[list[BatchRequest]]:
        """Cut ``requests`` into batches, in order, only where a count or byte limit forces it.

        Raises:
            ConfigError: Duplicate custom ids, or one request alone larger than the byte limit.
        """
        seen: set[str] = set()
        for br in requests:
            if br.custom_id in seen:
                raise ConfigError(f"batch: duplicate custom_id {br.custom_id!r}")
            seen.add(br.custom_id)
        groups: dict[str, list[BatchRequest]] = {}
        for br in requests:
            groups.setdefault(self.group_key(br), []).append(br)
        chunks: list[list[BatchRequest]] = []
        for members in groups.values():
            current: list[BatchRequest] = []
            size = 0
            for br in members:
                n = _json_bytes(self.item(br)) + self._overhead
                if n > self.limits.max_bytes:
                    raise ConfigError(
                        f"batch: request {br.custom_id!r} is {n} bytes, over the {self.vendor} batch "
                        f"limit of {self.limits.max_bytes} bytes"
                    )
                if current and (len(current) >= self.limits.max_requests or size + n > self.limits.max_bytes):
                    chunks.append(current)
                    current, size = [], 0
                current.append(br)
                size += n
            if current:
                chunks.append(current)
        return chunks

    async def submit(
        self, requests: Sequence[BatchRequest], token: str | None = None, exclude: Iterable[str] = ()
    ) -> list[BatchHandle]:
        """Submit ``requests`` as few batches as the vendor's limits allow.

        Each batch is tagged with a submission token (``token``, suffixed with the chunk's index when there
        are several; a fresh one when None). A retried create first looks for the batch its earlier attempt
        may have created (a timeout after the vendor accepted it), so a retry never submits twice.

        Args:
            requests: The requests.
            token: The submission's tag (default: a fresh one).
            exclude: Ids of batches already accounted for (never taken for this submission's).

        Returns:
            One handle per batch created, in order.
        """
        exclude = frozenset(exclude)
        handles: list[BatchHandle] = []
        chunks = self.split(requests)
        base = token or uuid.uuid4().hex
        for i, chunk in enumerate(chunks):
            items = [self.item(br) for br in chunk]
            ids = tuple(br.custom_id for br in chunk)
            key = self.group_key(chunk[0])
            tag = base if len(chunks) == 1 else f"{base}-{i}"
            since = time.time()
            attempted = False

            async def once(
                items: list[Any] = items,
                ids: tuple[str, ...] = ids,
                key: str = key,
                tag: str = tag,
                since: float = since,
            ) -> BatchHandle:
                nonlocal attempted
                if attempted:
                    known = frozenset(h.batch_id for h in handles) | exclude
                    found = await self._find(tag, ids, since, known)
                    if found is not None:
                        return found
                attempted = True
                return await self._submit(items, ids, key, tag)

            handle, _ = await self.provider._retrying(once, limited=False)
            handles.append(handle)
        return handles

    async def find(
        self, token: str, custom_ids: Sequence[str], since: float, exclude: Iterable[str] = ()
    ) -> BatchHandle | None:
        """The batch a submission tagged ``token`` created at about ``since`` (Unix time), or None when the
        vendor has none: the submission never reached it. OpenAI and Gemini keep the tag (batch metadata,
        display name); Anthropic keeps none, so its batch is the one of ``len(custom_ids)`` requests created
        closest after ``since`` (within :data:`FIND_WINDOW_S`) that is not one of ``exclude``."""
        value, _ = await self.provider._retrying(
            lambda: self._find(token, tuple(custom_ids), since, frozenset(exclude)), limited=False
        )
        return value

    async def status(self, handle: BatchHandle) -> BatchStatus:
        """Poll the batch once (retryable failures go through the provider's retry loop)."""
        value, _ = await self.provider._retrying(lambda: self._status(handle), limited=False)
        return value

    async def wait(
        self, handle: BatchHandle, *, poll_s: float = 30.0, timeout_s: float | None = None
    ) -> BatchStatus:
        """Poll until the batch is done (or ``timeout_s`` passed: the last status is returned)."""
        started = time.monotonic()
        while True:
            st = await self.status(handle)
            if st.done or (timeout_s is not None and time.monotonic() - started >= timeout_s):
                return st
            await asyncio.sleep(poll_s)

    async def results(
        self, handle: BatchHandle, requests: Mapping[str, GenerateRequest] | None = None
    ) -> dict[str, GenerateResult | ProviderError]:
        """The outcome of every request of a finished batch.

        Args:
            handle: The batch.
            requests: The requests by custom_id, if at hand: each result's ``raw_request`` is then the
                body sent (as for a synchronous call); otherwise it names the batch and custom_id only.

        Returns:
            ``{custom_id: GenerateResult | ProviderError}`` for every custom_id of the handle. A request
            the batch never ran (expired, canceled) is a retryable ProviderError; a prompt over the
            window is a ``MODEL_LENGTH`` result.
        """
        raw, _ = await self.provider._retrying(lambda: self._results(handle), limited=False)
        now = time.time()
        out: dict[str, GenerateResult | ProviderError] = {}
        for cid in handle.custom_ids:
            req = requests.get(cid) if requests is not None else None
            described = self.provider.describe_request(req) if req is not None else {}
            raw_request = {**described, "batch_id": handle.batch_id, "custom_id": cid}
            outcome = raw.get(cid)
            if outcome is None:
                outcome = ProviderError(
                    "the batch ended without a result for this request", provider=self.provider.name
                )
                outcome.retryable = True
            if isinstance(outcome, ContextLengthExceeded):
                body = outcome.body if isinstance(outcome.body, dict) else {"error": outcome.message}
                out[cid] = GenerateResult(
                    text="",
                    stop_reason=StopReason.MODEL_LENGTH,
                    usage=Usage(input_tokens=outcome.prompt_tokens, output_tokens=0),
                    latency_s=0.0,
                    model=self.provider.info.model_id,
                    raw_request=self.provider._redact(raw_request),
                    raw_response=self.provider._redact(body),
                    total_s=max(0.0, now - handle.submitted_at),
                )
                continue
            if isinstance(outcome, ProviderError):
                out[cid] = outcome
                continue
            try:
                result = self._parse(outcome, raw_request)
            except ProviderError as exc:
                out[cid] = exc
                continue
            out[cid] = dataclasses.replace(
                result, text=self.provider._redact(result.text), total_s=max(0.0, now - handle.submitted_at)
            )
        return out

    async def cancel(self, handle: BatchHandle) -> None:
        """Ask the vendor to stop the batch (finished requests keep their results)."""
        await self.provider._retrying(lambda: self._cancel(handle), limited=False)

    async def _cancel(self, handle: BatchHandle) -> None:  # pragma: no cover - trivial per vendor
        raise NotImplementedError

    def _error(self, exc: BaseException) -> ProviderError:
        return self.provider._classify_unknown(exc)


# ---------------------------------------------------------------------------------------- OpenAI


_OPENAI_STATES = {
    "validating": "running",
    "in_progress": "running",
    "finalizing": "running",
    "cancelling": "running",
    "completed": "ended",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "canceled",
}


#: OpenAI adapter endpoint -> batch endpoint (``responses``: providers/doors/openai/responses.py).
_OPENAI_BATCH_ENDPOINTS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "responses": "/v1/responses",
}


class OpenAIBatchClient(BatchClient):
    """OpenAI's Batch API: one uploaded JSONL file per batch."""

    vendor = "openai"

    def group_key(self, br: BatchRequest) -> str:
        endpoint, _ = self.provider.build_body(br.request)  # type: ignore[attr-defined]
        return _OPENAI_BATCH_ENDPOINTS[endpoint]

    def item(self, br: BatchRequest) -> dict[str, Any]:
        _, body = self.provider.build_body(br.request)  # type: ignore[attr-defined]
        return {"custom_id": br.custom_id, "method": "POST", "url": self.group_key(br), "body": body}

    def _sdk_error(self, exc: Exception) -> ProviderError:
        from providers.openai_provider import classify_openai_error

        return classify_openai_error(exc, provider=self.provider.name, secrets=self.provider._secrets())

    async def _submit(
        self, items: list[Any], custom_ids: tuple[str, ...], key: str, token: str
    ) -> BatchHandle:
        data = b"".join(json.dumps(i, ensure_ascii=False).encode() + b"\n" for i in items)
        try:
            file = await self._client.files.create(
                file=("niah-batch.jsonl", io.BytesIO(data), "application/jsonl"), purpose="batch"
            )
            batch = await self._client.batches.create(
                input_file_id=file.id, endpoint=key, completion_window="24h", metadata={TAG_KEY: token}
            )
        except Exception as exc:
            raise self._sdk_error(exc) from None
        return BatchHandle(self.vendor, batch.id, custom_ids, time.time(), self.provider.name, file.id, key)

    async def _find(
        self, token: str, custom_ids: tuple[str, ...], since: float, exclude: frozenset[str] = frozenset()
    ) -> BatchHandle | None:
        try:
            async for batch in self._client.batches.list(limit=100):
                if (batch.metadata or {}).get(TAG_KEY) == token and batch.id not in exclude:
                    return BatchHandle(
                        self.vendor,
                        batch.id,
                        custom_ids,
                        float(batch.created_at),
                        self.provider.name,
                        batch.input_file_id,
                        batch.endpoint,
                    )
                if batch.created_at < since - FIND_WINDOW_S:
                    return None
        except Exception as exc:
            raise self._sdk_error(exc) from None
        return None

    async def _status(self, handle: BatchHandle) -> BatchStatus:
        try:
            batch = await self._client.batches.retrieve(handle.batch_id)
        except Exception as exc:
            raise self._sdk_error(exc) from None
        state = _OPENAI_STATES.get(batch.status, "running")
        rc = batch.request_counts
        total = rc.total if rc else len(handle.custom_ids)
        done, failed = (rc.completed, rc.failed) if rc else (0, 0)
        rest = max(0, total - done - failed)
        where = {"running": "processing", "expired": "expired", "canceled": "canceled"}.get(state, "errored")
        return BatchStatus(state, batch.status, _counts(where, rest, succeeded=done, errored=failed))

    async def _file_lines(self, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        content = await self._client.files.content(file_id)
        lines = []
        for line in content.content.decode("utf-8").splitlines():
            if line.strip():
                lines.append(json.loads(line))
        return lines

    async def _results(self, handle: BatchHandle) -> dict[str, Any]:
        try:
            batch = await self._client.batches.retrieve(handle.batch_id)
            lines = await self._file_lines(batch.output_file_id)
            lines += await self._file_lines(batch.error_file_id)
        except ProviderError:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedResponse(
                f"batch output is not JSONL ({exc})", provider=self.provider.name
            ) from None
        except Exception as exc:
            raise self._sdk_error(exc) from None
        out: dict[str, Any] = {}
        for line in lines:
            cid = line.get("custom_id")
            response = line.get("response") if isinstance(line.get("response"), dict) else None
            if response is not None and response.get("status_code") == 200:
                out[cid] = response.get("body")
            elif response is not None:
                out[cid] = classify_status(
                    int(response.get("status_code") or 500),
                    response.get("body"),
                    provider=self.provider.name,
                    secrets=self.provider._secrets(),
                )
            else:
                err = line.get("error") if isinstance(line.get("error"), dict) else {}
                code = str(err.get("code") or "")
                status = 400 if code not in ("batch_expired", "batch_cancelled", "server_error") else 500
                exc = classify_status(status, {"error": err}, provider=self.provider.name)
                if code in ("batch_expired", "batch_cancelled"):
                    exc.retryable = True
                out[cid] = exc
        return out

    def _parse(self, payload: Any, raw_request: dict[str, Any]) -> GenerateResult:
        endpoint = "completions" if raw_request.get("endpoint") == "/completions" else "chat"
        if isinstance(payload, dict) and payload.get("object") == "text_completion":
            endpoint = "completions"
        if isinstance(payload, dict) and payload.get("object") == "response":
            endpoint = "responses"
        return self.provider._parse(endpoint, raw_request, payload)  # type: ignore[attr-defined]

    async def _cancel(self, handle: BatchHandle) -> None:
        try:
            await self._client.batches.cancel(handle.batch_id)
        except Exception as exc:
            raise self._sdk_error(exc) from None


# ------------------------------------------------------------------------------------- Anthropic


_ANTHROPIC_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


class AnthropicBatchClient(BatchClient):
    """Anthropic's Message Batches API (``/v1/messages/batches``)."""

    vendor = "anthropic"

    def item(self, br: BatchRequest) -> dict[str, Any]:
        return {"custom_id": br.custom_id, "params": self.provider.build_body(br.request)}  # type: ignore[attr-defined]

    def _sdk_error(self, exc: Exception) -> ProviderError:
        from providers.anthropic_provider import classify_anthropic_error

        return classify_anthropic_error(exc, provider=self.provider.name, secrets=self.provider._secrets())

    async def _submit(
        self, items: list[Any], custom_ids: tuple[str, ...], key: str, token: str
    ) -> BatchHandle:
        try:  # Message Batches keep no tag: :meth:`_find` matches on the request count and creation time
            batch = await self._client.messages.batches.create(requests=items)
        except Exception as exc:
            raise self._sdk_error(exc) from None
        return BatchHandle(self.vendor, batch.id, custom_ids, time.time(), self.provider.name)

    async def _find(
        self, token: str, custom_ids: tuple[str, ...], since: float, exclude: frozenset[str] = frozenset()
    ) -> BatchHandle | None:
        best: tuple[float, Any] | None = None
        try:
            async for batch in self._client.messages.batches.list(limit=100):
                created = batch.created_at.timestamp()
                if created < since - FIND_WINDOW_S:
                    break
                rc = batch.request_counts
                total = rc.processing + rc.succeeded + rc.errored + rc.canceled + rc.expired
                if total == len(custom_ids) and created >= since - _CLOCK_SKEW_S and batch.id not in exclude:
                    gap = abs(created - since)
                    if best is None or gap < best[0]:
                        best = (gap, batch)
        except Exception as exc:
            raise self._sdk_error(exc) from None
        if best is None:
            return None
        return BatchHandle(
            self.vendor, best[1].id, custom_ids, best[1].created_at.timestamp(), self.provider.name
        )

    async def _status(self, handle: BatchHandle) -> BatchStatus:
        try:
            batch = await self._client.messages.batches.retrieve(handle.batch_id)
        except Exception as exc:
            raise self._sdk_error(exc) from None
        rc = batch.request_counts
        counts = _counts(
            succeeded=rc.succeeded,
            errored=rc.errored,
            processing=rc.processing,
            expired=rc.expired,
            canceled=rc.canceled,
        )
        state = "ended" if batch.processing_status == "ended" else "running"
        return BatchStatus(state, batch.processing_status, counts)

    async def _results(self, handle: BatchHandle) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            decoder = await self._client.messages.batches.results(handle.batch_id)
            async for line in decoder:
                entry = line.model_dump(mode="json", exclude_none=True)
                result = entry.get("result") or {}
                kind = result.get("type")
                cid = entry.get("custom_id")
                if kind == "succeeded":
                    out[cid] = result.get("message")
                elif kind == "errored":
                    body = result.get("error") or {}
                    etype = str((body.get("error") or {}).get("type") or "api_error")
                    out[cid] = classify_status(
                        _ANTHROPIC_ERROR_STATUS.get(etype, 500),
                        body,
                        provider=self.provider.name,
                        secrets=self.provider._secrets(),
                    )
                else:  # canceled / expired: never ran; running it again may succeed
                    err = ProviderError(f"batch request {kind}", provider=self.provider.name, body=result)
                    err.retryable = True
                    out[cid] = err
        except Exception as exc:
            raise self._sdk_error(exc) from None
        return out

    def _parse(self, payload: Any, raw_request: dict[str, Any]) -> GenerateResult:
        from providers.anthropic_provider import parse_anthropic_message

        return parse_anthropic_message(payload, raw_request, provider=self.provider)

    async def _cancel(self, handle: BatchHandle) -> None:
        try:
            await self._client.messages.batches.cancel(handle.batch_id)
        except Exception as exc:
            raise self._sdk_error(exc) from None


# ---------------------------------------------------------------------------------------- Gemini


_GEMINI_STATES = {
    "JOB_STATE_SUCCEEDED": "ended",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_CANCELLED": "canceled",
    "JOB_STATE_EXPIRED": "expired",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "ended",
}
#: google.rpc codes of a per-request error, as HTTP statuses (for classify_status).
_RPC_TO_HTTP = {
    1: 499,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    7: 403,
    8: 429,
    9: 400,
    11: 400,
    13: 500,
    14: 503,
    16: 401,
}


class GeminiBatchClient(BatchClient):
    """The Gemini Developer API's Batch Mode (``models/{m}:batchGenerateContent``): requests inline up to
    :data:`GEMINI_INLINE_BYTES`, else as a JSONL input file through the Files API (results then come back as
    a file)."""

    vendor = "gemini"

    def item(self, br: BatchRequest) -> dict[str, Any]:
        request = self.provider.build_request(br.request)  # type: ignore[attr-defined]
        return {
            "contents": request["contents"],
            "config": request["config"],
            "metadata": {"key": br.custom_id},
        }

    def _sdk_error(self, exc: Exception) -> ProviderError:
        from providers.gemini_provider import classify_gemini_error

        return classify_gemini_error(exc, provider=self.provider.name, secrets=self.provider._secrets())

    #: Request bytes above which a batch is sent as an input file (tests lower it).
    inline_bytes = GEMINI_INLINE_BYTES

    async def _submit(
        self, items: list[Any], custom_ids: tuple[str, ...], key: str, token: str
    ) -> BatchHandle:
        src: Any = items
        try:
            if sum(_json_bytes(i) for i in items) > self.inline_bytes:
                src = (await self._upload(items, custom_ids, token)).name
            job = await self._client.aio.batches.create(
                model=self.provider.info.model_id, src=src, config={"display_name": f"niah-{token}"}
            )
        except ProviderError:
            raise
        except Exception as exc:
            raise self._sdk_error(exc) from None
        return BatchHandle(self.vendor, str(job.name), custom_ids, time.time(), self.provider.name)

    async def _upload(self, items: list[Any], custom_ids: tuple[str, ...], token: str) -> Any:
        """The requests as a JSONL input file (one ``{"key", "request"}`` line each, the request in the REST
        form the SDK itself sends inline), uploaded through the Files API."""
        from google.genai import batches as genai_batches

        api = self._client._api_client
        lines = []
        for item, cid in zip(items, custom_ids, strict=True):
            rest = genai_batches._InlinedRequest_to_mldev(
                api, {k: v for k, v in item.items() if k != "metadata"}
            )
            lines.append(json.dumps({"key": cid, "request": rest["request"]}, ensure_ascii=False))
        data = ("\n".join(lines) + "\n").encode()
        return await self._client.aio.files.upload(
            file=io.BytesIO(data), config={"mime_type": "application/jsonl", "display_name": f"niah-{token}"}
        )

    async def _file_results(self, file_name: str) -> list[dict[str, Any]]:
        try:
            data = await self._client.aio.files.download(file=file_name)
        except Exception as exc:
            raise self._sdk_error(exc) from None
        out = []
        for line in bytes(data).decode("utf-8", errors="replace").splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    async def _find(
        self, token: str, custom_ids: tuple[str, ...], since: float, exclude: frozenset[str] = frozenset()
    ) -> BatchHandle | None:
        try:
            pager = await self._client.aio.batches.list(config={"page_size": 100})
            async for job in pager:
                if job.display_name == f"niah-{token}" and str(job.name) not in exclude:
                    made = job.create_time.timestamp() if job.create_time else since
                    return BatchHandle(self.vendor, str(job.name), custom_ids, made, self.provider.name)
                if job.create_time is not None and job.create_time.timestamp() < since - FIND_WINDOW_S:
                    return None
        except Exception as exc:
            raise self._sdk_error(exc) from None
        return None

    async def _get(self, handle: BatchHandle) -> Any:
        try:
            return await self._client.aio.batches.get(name=handle.batch_id)
        except Exception as exc:
            raise self._sdk_error(exc) from None

    async def _status(self, handle: BatchHandle) -> BatchStatus:
        job = await self._get(handle)
        vendor_state = job.state.name if job.state is not None else "JOB_STATE_UNSPECIFIED"
        state = _GEMINI_STATES.get(vendor_state, "running")
        n = len(handle.custom_ids)
        if state == "running":
            return BatchStatus(state, vendor_state, _counts(processing=n))
        if job.dest is not None and job.dest.file_name:
            lines = await self._file_results(job.dest.file_name)
            ok = sum(1 for x in lines if x.get("response") is not None and x.get("error") is None)
            bad = len(lines) - ok
            where = {"expired": "expired", "canceled": "canceled"}.get(state, "errored")
            return BatchStatus(state, vendor_state, _counts(where, n - ok - bad, succeeded=ok, errored=bad))
        responses = (job.dest.inlined_responses if job.dest else None) or []
        ok = sum(1 for r in responses if r.response is not None and r.error is None)
        bad = len(responses) - ok
        where = {"expired": "expired", "canceled": "canceled"}.get(state, "errored")
        return BatchStatus(state, vendor_state, _counts(where, n - ok - bad, succeeded=ok, errored=bad))

    async def _results(self, handle: BatchHandle) -> dict[str, Any]:
        job = await self._get(handle)
        if job.dest is not None and job.dest.file_name:
            return self._from_file(await self._file_results(job.dest.file_name))
        responses = (job.dest.inlined_responses if job.dest else None) or []
        out: dict[str, Any] = {}
        for i, r in enumerate(responses):
            key = (r.metadata or {}).get("key")
            cid = key if key is not None else (handle.custom_ids[i] if i < len(handle.custom_ids) else None)
            if cid is None:
                continue
            if r.error is not None:
                code = int(r.error.code or 13)
                body = {"error": {"code": code, "message": r.error.message or "", "details": r.error.details}}
                out[cid] = classify_status(
                    _RPC_TO_HTTP.get(code, 500),
                    body,
                    provider=self.provider.name,
                    secrets=self.provider._secrets(),
                )
            elif r.response is not None:
                out[cid] = r.response
        return out

    def _from_file(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """Outcomes from a results file: ``{"key", "response"}`` or ``{"key", "error"}`` lines."""
        from google.genai import types as genai_types

        out: dict[str, Any] = {}
        for line in lines:
            cid = line.get("key")
            if not isinstance(cid, str):
                continue
            err = line.get("error")
            if err is not None:
                code = int((err or {}).get("code") or 13)
                body = {"error": {"code": code, "message": (err or {}).get("message", "")}}
                out[cid] = classify_status(
                    _RPC_TO_HTTP.get(code, 500),
                    body,
                    provider=self.provider.name,
                    secrets=self.provider._secrets(),
                )
            elif line.get("response") is not None:
                out[cid] = genai_types.GenerateContentResponse.model_validate(line["response"])
        return out

    def _parse(self, payload: Any, raw_request: dict[str, Any]) -> GenerateResult:
        from providers.gemini_provider import parse_gemini_response

        return parse_gemini_response(payload, raw_request, provider=self.provider)

    async def _cancel(self, handle: BatchHandle) -> None:
        try:
            await self._client.aio.batches.cancel(name=handle.batch_id)
        except Exception as exc:
            raise self._sdk_error(exc) from None


# ---------------------------------------------------------------------------------------- factory

_CLIENTS: dict[str, type[BatchClient]] = {
    "openai": OpenAIBatchClient,
    "anthropic": AnthropicBatchClient,
    "gemini": GeminiBatchClient,
}


def supports_batch(provider: Provider) -> bool:
    """Whether :func:`batch_client` accepts ``provider``."""
    return provider.kind in _CLIENTS


def batch_client(provider: Provider, *, limits: BatchLimits | None = None) -> BatchClient:
    """The batch client for ``provider``.

    Args:
        provider: A provider from :func:`providers.registry.create_provider` (OpenAI, Anthropic, Gemini).
        limits: Override the vendor's size limits.

    Raises:
        BatchUnsupportedError: The provider has no batch API (local model, OpenAI-compatible servers).
    """
    cls = _CLIENTS.get(provider.kind)
    if cls is None:
        raise BatchUnsupportedError(
            f"{provider.name}: {provider.kind} endpoints have no batch API; run without --batch"
        )
    return cls(provider, limits=limits)


def batch_requests(items: Iterable[tuple[str, GenerateRequest]]) -> list[BatchRequest]:
    """``[(custom_id, request), ...]`` as BatchRequests."""
    return [BatchRequest(cid, req) for cid, req in items]
