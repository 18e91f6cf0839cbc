"""Gemini batch mode (``batches.create``): requests inline, or above :data:`GEMINI_INLINE_BYTES` a JSONL input
file through the Files API."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from providers.base import GenerateResult
from providers.batch import (
    FIND_WINDOW_S,
    BatchClient,
    BatchHandle,
    BatchRequest,
    BatchStatus,
    json_bytes,
    status_counts,
)
from providers.errors import ProviderError, classify_status

#: Gemini: the most request bytes one create call takes inline; a larger batch goes through an input file
#: (the Files API; 2 GB per file) and its results come back as a file.
GEMINI_INLINE_BYTES = 20 * 1024 * 1024


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
        from providers.doors.gemini.adapter import classify_gemini_error

        return classify_gemini_error(exc, provider=self.provider.name, secrets=self.provider._secrets())

    #: Request bytes above which a batch is sent as an input file (tests lower it).
    inline_bytes = GEMINI_INLINE_BYTES

    async def _submit(
        self, items: list[Any], custom_ids: tuple[str, ...], key: str, token: str
    ) -> BatchHandle:
        src: Any = items
        try:
            if sum(json_bytes(i) for i in items) > self.inline_bytes:
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
            return BatchStatus(state, vendor_state, status_counts(processing=n))
        if job.dest is not None and job.dest.file_name:
            lines = await self._file_results(job.dest.file_name)
            ok = sum(1 for x in lines if x.get("response") is not None and x.get("error") is None)
            bad = len(lines) - ok
            where = {"expired": "expired", "canceled": "canceled"}.get(state, "errored")
            return BatchStatus(
                state, vendor_state, status_counts(where, n - ok - bad, succeeded=ok, errored=bad)
            )
        responses = (job.dest.inlined_responses if job.dest else None) or []
        ok = sum(1 for r in responses if r.response is not None and r.error is None)
        bad = len(responses) - ok
        where = {"expired": "expired", "canceled": "canceled"}.get(state, "errored")
        return BatchStatus(state, vendor_state, status_counts(where, n - ok - bad, succeeded=ok, errored=bad))

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
        from providers.doors.gemini.adapter import parse_gemini_response

        return parse_gemini_response(payload, raw_request, provider=self.provider)

    async def _cancel(self, handle: BatchHandle) -> None:
        try:
            await self._client.aio.batches.cancel(name=handle.batch_id)
        except Exception as exc:
            raise self._sdk_error(exc) from None
