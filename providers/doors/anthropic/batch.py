"""Anthropic's Message Batches API (``/v1/messages/batches``)."""

from __future__ import annotations

import time
from typing import Any

from providers.base import GenerateResult
from providers.batch import (
    CLOCK_SKEW_S,
    FIND_WINDOW_S,
    BatchClient,
    BatchHandle,
    BatchRequest,
    BatchStatus,
    status_counts,
)
from providers.errors import ProviderError, classify_status

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
        from providers.doors.anthropic.adapter import classify_anthropic_error

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
                if total == len(custom_ids) and created >= since - CLOCK_SKEW_S and batch.id not in exclude:
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
        counts = status_counts(
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
        from providers.doors.anthropic.adapter import parse_anthropic_message

        return parse_anthropic_message(payload, raw_request, provider=self.provider)

    async def _cancel(self, handle: BatchHandle) -> None:
        try:
            await self._client.messages.batches.cancel(handle.batch_id)
        except Exception as exc:
            raise self._sdk_error(exc) from None
