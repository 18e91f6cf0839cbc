"""Vendor batch APIs (half price, answers within 24 h) behind one interface: types and the client base.

The vendor clients live in their doors (``providers/doors/<door>/batch.py``);
:func:`providers.doors.batch_client` finds the one for a provider.

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
    ProviderError,
)

__all__ = [
    "CLOCK_SKEW_S",
    "FIND_WINDOW_S",
    "TAG_KEY",
    "BatchClient",
    "BatchHandle",
    "BatchLimits",
    "BatchRequest",
    "BatchStatus",
    "BatchUnsupportedError",
    "batch_requests",
    "json_bytes",
    "status_counts",
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

    @classmethod
    def of(cls, support: Any) -> BatchLimits:
        """The limits of a door's :class:`providers.door.BatchSupport`."""
        return cls(support.max_requests, support.max_bytes)


#: Metadata key (OpenAI) that tags a batch with its submission token.
TAG_KEY = "niah_submission"
#: How far before a submission's recorded time :meth:`BatchClient.find` looks (listings are newest first).
FIND_WINDOW_S = 3600.0
#: Tolerated difference between this machine's clock and the vendor's.
CLOCK_SKEW_S = 60.0


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


def status_counts(rest_key: str | None = None, rest: int = 0, **values: int) -> dict[str, int]:
    """The five counts (missing ones 0); ``rest`` is added to ``rest_key``."""
    out = {k: int(values.get(k, 0) or 0) for k in COUNT_KEYS}
    if rest_key is not None:
        out[rest_key] += max(0, rest)
    return out


def json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


# ------------------------------------------------------------------------------------------ base


class BatchClient(ABC):
    """Submit, poll and collect batches for one provider (see the module docstring).

    Args:
        provider: The provider whose SDK client, body builder and retry policy are used.
        limits: The size limits of one batch (the door's :class:`providers.door.BatchSupport`; tests use
            tiny ones).
    """

    vendor: str = ""
    #: Bytes one request adds to the payload beyond its own JSON (separators).
    _overhead = 1

    def __init__(self, provider: Provider, *, limits: BatchLimits) -> None:
        self.provider = provider
        self.limits = limits
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
                n = json_bytes(self.item(br)) + self._overhead
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


def batch_requests(items: Iterable[tuple[str, GenerateRequest]]) -> list[BatchRequest]:
    """``[(custom_id, request), ...]`` as BatchRequests."""
    return [BatchRequest(cid, req) for cid, req in items]
