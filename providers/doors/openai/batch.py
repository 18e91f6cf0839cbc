"""OpenAI's Batch API (``/v1/batches``): one uploaded JSONL file per batch, results in output/error files."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from providers.base import GenerateResult
from providers.batch import (
    FIND_WINDOW_S,
    TAG_KEY,
    BatchClient,
    BatchHandle,
    BatchRequest,
    BatchStatus,
    status_counts,
)
from providers.errors import MalformedResponse, ProviderError, classify_status

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


#: Adapter endpoint -> batch endpoint (``responses``: the Responses API, responses.py).
_BATCH_ENDPOINTS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "responses": "/v1/responses",
}


class OpenAIBatchClient(BatchClient):
    """OpenAI's Batch API: one uploaded JSONL file per batch."""

    vendor = "openai"

    def group_key(self, br: BatchRequest) -> str:
        endpoint, _ = self.provider.build_body(br.request)  # type: ignore[attr-defined]
        return _BATCH_ENDPOINTS[endpoint]

    def item(self, br: BatchRequest) -> dict[str, Any]:
        _, body = self.provider.build_body(br.request)  # type: ignore[attr-defined]
        return {"custom_id": br.custom_id, "method": "POST", "url": self.group_key(br), "body": body}

    def _sdk_error(self, exc: Exception) -> ProviderError:
        from providers.doors.openai.adapter import classify_openai_error

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
        return BatchStatus(state, batch.status, status_counts(where, rest, succeeded=done, errored=failed))

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
            endpoint = "responses"  # the Responses API (responses.py)
        return self.provider._parse(endpoint, raw_request, payload)  # type: ignore[attr-defined]

    async def _cancel(self, handle: BatchHandle) -> None:
        try:
            await self._client.batches.cancel(handle.batch_id)
        except Exception as exc:
            raise self._sdk_error(exc) from None
