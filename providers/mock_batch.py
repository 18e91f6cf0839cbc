"""Batch endpoints for :class:`providers.mock_server.MockServer`, in each vendor's wire format.

* OpenAI: ``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files/{id}/content``,
  ``POST /v1/batches`` (with ``metadata``), ``GET /v1/batches`` (newest first), ``GET /v1/batches/{id}``,
  ``POST /v1/batches/{id}/cancel``;
* Anthropic: ``POST /v1/messages/batches``, ``GET /v1/messages/batches`` (newest first),
  ``GET /v1/messages/batches/{id}``,
  ``GET /v1/messages/batches/{id}/results`` (JSONL), ``POST /v1/messages/batches/{id}/cancel``;
* Gemini: ``POST /{v1beta,v1}/models/{model}:batchGenerateContent`` (inlined requests, or a JSONL input file
  uploaded through ``POST /upload/{v}/files`` (resumable: start, then chunks) whose results come back as a
  file, ``GET /{v}/files/{id}:download?alt=media``),
  ``GET /{v}/batches`` (newest first), ``GET /{v}/batches/{id}``, ``POST /{v}/batches/{id}:cancel``.

Each batched request is answered by the server's synchronous answer path (same callback, same token
counts, same prefix-cache accounting, same overflow error past ``context_window``). A batch reports
"in progress" for :attr:`BatchMock.polls_to_complete` status calls, then ends. Items whose custom id is
in :attr:`BatchMock.fail_ids` get a server error instead of an answer. :attr:`BatchMock.calls` counts
uploads, creates, polls and result downloads per vendor, for assertions such as "uploaded once, created
one batch".
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from providers import mock_server as ms

if TYPE_CHECKING:
    from providers.mock_server import MockServer

__all__ = ["BatchMock", "MockBatch"]

_OPENAI_ENDPOINTS = {
    "/v1/chat/completions": "openai-chat",
    "/v1/completions": "openai-completions",
    "/v1/responses": "openai-responses",
}


@dataclass
class MockBatch:
    """One batch held by the mock."""

    vendor: str
    id: str
    created: float
    custom_ids: list[str]
    #: custom_id -> (HTTP status, body) as the synchronous endpoint would have answered.
    outcomes: dict[str, tuple[int, Any]]
    endpoint: str = ""
    input_file_id: str = ""
    model: str = ""
    polls: int = 0
    canceled: bool = False
    output_file_id: str | None = None
    error_file_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: custom_id -> the request body as received (OpenAI ``body``, Anthropic ``params``, Gemini ``request``).
    bodies: dict[str, Any] = field(default_factory=dict)


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.timezone.utc).isoformat().replace("+00:00", "Z")


class BatchMock:
    """The batch state of one MockServer (``server.batch``).

    Attributes:
        polls_to_complete: Status calls that still see the batch in progress before it ends.
        fail_ids: Custom ids that get a server error (500) instead of an answer.
        calls: Counter of ``(vendor, action)``: ``upload``, ``create``, ``poll``, ``results``, ``cancel``.
        batches: Batches by id.
    """

    def __init__(self, server: MockServer) -> None:
        self.server = server
        self.polls_to_complete = 0
        self.fail_ids: set[str] = set()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.batches: dict[str, MockBatch] = {}
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def count(self, vendor: str, action: str) -> int:
        """How many ``action`` calls ``vendor``'s batch endpoints received."""
        return self.calls[(vendor, action)]

    # ------------------------------------------------------------------------------------- routes

    def add_routes(self, app: web.Application) -> None:
        """Mount the batch routes (before the server's catch-all route)."""
        r = app.router
        r.add_post("/v1/files", self._openai_upload)
        r.add_get("/v1/files/{fid}/content", self._openai_content)
        r.add_post("/v1/batches", self._openai_create)
        r.add_get("/v1/batches", self._openai_list)
        r.add_get("/v1/batches/{bid}", self._openai_retrieve)
        r.add_post("/v1/batches/{bid}/cancel", self._openai_cancel)
        r.add_post("/v1/messages/batches", self._anthropic_create)
        r.add_get("/v1/messages/batches", self._anthropic_list)
        r.add_get("/v1/messages/batches/{bid}", self._anthropic_retrieve)
        r.add_get("/v1/messages/batches/{bid}/results", self._anthropic_results)
        r.add_post("/v1/messages/batches/{bid}/cancel", self._anthropic_cancel)
        r.add_post(
            r"/{ver:v1beta|v1|v1alpha}/models/{model:[^/:]+}:batchGenerateContent", self._gemini_create
        )
        r.add_post(r"/upload/{ver:v1beta|v1|v1alpha}/files", self._gemini_upload)
        r.add_get(r"/{ver:v1beta|v1|v1alpha}/files/{fid:[^/:]+}:download", self._gemini_download)
        r.add_get(r"/{ver:v1beta|v1|v1alpha}/batches", self._gemini_list)
        r.add_get(r"/{ver:v1beta|v1|v1alpha}/batches/{bid:[^/:]+}", self._gemini_get)
        r.add_post(r"/{ver:v1beta|v1|v1alpha}/batches/{bid:[^/:]+}:cancel", self._gemini_cancel)

    # ---------------------------------------------------------------------------------- internals

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._ids)}"

    def _auth(self, request: web.Request, api: str) -> web.Response | None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        presented = ms._presented_key(headers, request.query.get("key"))
        if self.server.api_key is not None and presented != self.server.api_key:
            return ms._auth_error(api, presented)
        return None

    def _answer_one(self, api: str, model: str | None, body: Any, custom_id: str) -> tuple[int, Any]:
        """(status, body) of one batched request, as the synchronous endpoint answers it."""
        if custom_id in self.fail_ids:
            return 500, ms._error_body(api, 500, "The server had an error processing this request (mock).")
        if not isinstance(body, dict):
            return 400, ms._error_body(api, 400, "request body is not a JSON object")
        if self.server.strict:  # a batched request meets the same contract as a synchronous one
            problem = ms.check_body(api, body)
            if problem is not None:
                return 400, ms._invalid_request(api, *problem)
        req = ms._parse(api, model, body, {})
        prompt_tokens = ms._count(req.prompt)
        window = self.server.context_window
        if window is not None and prompt_tokens > window:
            return 400, ms._context_error(api, prompt_tokens, window)
        return 200, ms._answer(self.server, api, req, prompt_tokens)

    def _poll(self, batch: MockBatch, vendor: str) -> bool:
        """Count one status call; True once the batch has ended."""
        with self._lock:
            self.calls[(vendor, "poll")] += 1
            batch.polls += 1
            return batch.canceled or batch.polls > self.polls_to_complete

    def _ended(self, batch: MockBatch) -> bool:
        """Whether the batch has ended, without counting a status call (listing does not advance it)."""
        return batch.canceled or batch.polls > self.polls_to_complete

    def _newest_first(self, vendor: str, request: web.Request, limit_name: str) -> list[MockBatch]:
        self.calls[(vendor, "list")] += 1
        try:
            limit = max(1, min(int(request.query.get(limit_name, "20")), 1000))
        except ValueError:
            limit = 20
        mine = sorted((b for b in self.batches.values() if b.vendor == vendor), key=lambda b: -b.created)
        return mine[:limit]

    def _get(self, bid: str, vendor: str) -> MockBatch | None:
        batch = self.batches.get(bid)
        return batch if batch is not None and batch.vendor == vendor else None

    # ------------------------------------------------------------------------------------- OpenAI

    async def _openai_upload(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "openai-chat")) is not None:
            return denied
        if not request.content_type.startswith("multipart/"):
            return ms._json(
                400, ms._openai_error(400, "expected multipart/form-data", "invalid_request_error")
            )
        fields: dict[str, Any] = {}
        filename = "upload"
        reader = await request.multipart()
        async for part in reader:
            if part.name == "file":
                filename = part.filename or filename
                fields["file"] = await part.read(decode=False)
            elif part.name:
                fields[part.name] = (await part.read(decode=True)).decode()
        data, purpose = fields.get("file"), fields.get("purpose")
        if data is None or purpose != "batch":
            msg = "a 'file' part and purpose 'batch' are required"
            return ms._json(400, ms._openai_error(400, msg, "invalid_request_error"))
        fid = self._new_id("file-mock")
        self.files[fid] = bytes(data)
        self.calls[("openai", "upload")] += 1
        return ms._json(
            200,
            {
                "id": fid,
                "object": "file",
                "bytes": len(data),
                "created_at": int(time.time()),
                "filename": filename,
                "purpose": "batch",
                "status": "processed",
                "expires_at": None,
                "status_details": None,
            },
        )

    async def _openai_content(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._auth(request, "openai-chat")) is not None:
            return denied
        fid = request.match_info["fid"]
        if fid not in self.files:
            return ms._json(
                404, ms._openai_error(404, f"No such File object: {fid}", "invalid_request_error")
            )
        return web.Response(body=self.files[fid], content_type="application/octet-stream")

    def _openai_batch(self, b: MockBatch, ended: bool) -> dict[str, Any]:
        n = len(b.custom_ids)
        ok = sum(1 for s, _ in b.outcomes.values() if s == 200)
        if b.canceled:
            status = "cancelled"
        else:
            status = "completed" if ended else ("validating" if b.polls <= 1 else "in_progress")
        done = ended
        return {
            "id": b.id,
            "object": "batch",
            "endpoint": b.endpoint,
            "errors": None,
            "input_file_id": b.input_file_id,
            "completion_window": "24h",
            "status": status,
            "output_file_id": b.output_file_id if done else None,
            "error_file_id": b.error_file_id if done else None,
            "created_at": int(b.created),
            "in_progress_at": int(b.created),
            "expires_at": int(b.created) + 86400,
            "finalizing_at": int(time.time()) if done else None,
            "completed_at": int(time.time()) if done and not b.canceled else None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": int(time.time()) if b.canceled else None,
            "request_counts": {
                "total": n,
                "completed": ok if done and not b.canceled else 0,
                "failed": n - ok if done and not b.canceled else 0,
            },
            "metadata": b.extra.get("metadata"),
        }

    async def _openai_create(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "openai-chat")) is not None:
            return denied
        body = await request.json()
        endpoint, fid = body.get("endpoint"), body.get("input_file_id")
        bad = None
        if endpoint not in _OPENAI_ENDPOINTS:
            bad = f"unsupported endpoint {endpoint!r}"
        elif body.get("completion_window") != "24h":
            bad = "completion_window must be '24h'"
        elif fid not in self.files:
            bad = f"No such File object: {fid}"
        if bad:
            return ms._json(400, ms._openai_error(400, bad, "invalid_request_error"))
        lines = [json.loads(x) for x in self.files[fid].decode().splitlines() if x.strip()]
        ids = [str(x.get("custom_id")) for x in lines]
        if len(set(ids)) != len(ids):
            return ms._json(400, ms._openai_error(400, "duplicate custom_id", "invalid_request_error"))
        for x in lines:
            if x.get("method") != "POST" or x.get("url") != endpoint:
                msg = f"line {x.get('custom_id')}: method/url must be POST {endpoint}"
                return ms._json(400, ms._openai_error(400, msg, "invalid_request_error"))
        api = _OPENAI_ENDPOINTS[endpoint]
        outcomes = {x["custom_id"]: self._answer_one(api, None, x.get("body"), x["custom_id"]) for x in lines}
        metadata = body.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and len(metadata) <= 16
            and all(isinstance(k, str) and len(k) <= 64 for k in metadata)
            and all(isinstance(v, str) and len(v) <= 512 for v in metadata.values())
        ):
            msg = "metadata: at most 16 string pairs, keys up to 64 and values up to 512 characters"
            return ms._json(400, ms._openai_error(400, msg, "invalid_request_error"))
        bid = self._new_id("batch_mock")
        b = MockBatch("openai", bid, time.time(), ids, outcomes, endpoint=endpoint, input_file_id=fid)
        b.extra["metadata"] = metadata
        b.bodies = {x["custom_id"]: x.get("body") for x in lines}
        out, err = [], []
        for cid in ids:
            status, payload = outcomes[cid]
            line = {
                "id": f"batch_req_{cid}",
                "custom_id": cid,
                "response": {"status_code": status, "request_id": f"req_{cid}", "body": payload},
                "error": None,
            }
            (out if status == 200 else err).append(json.dumps(line, ensure_ascii=False))
        if out:
            b.output_file_id = self._new_id("file-out")
            self.files[b.output_file_id] = ("\n".join(out) + "\n").encode()
        if err:
            b.error_file_id = self._new_id("file-err")
            self.files[b.error_file_id] = ("\n".join(err) + "\n").encode()
        self.batches[bid] = b
        self.calls[("openai", "create")] += 1
        return ms._json(200, self._openai_batch(b, ended=False))

    async def _openai_list(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "openai-chat")) is not None:
            return denied
        data = [self._openai_batch(b, self._ended(b)) for b in self._newest_first("openai", request, "limit")]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return ms._json(
            200, {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": False}
        )

    async def _openai_retrieve(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "openai-chat")) is not None:
            return denied
        b = self._get(request.match_info["bid"], "openai")
        if b is None:
            return ms._json(404, ms._openai_error(404, "No such batch", "invalid_request_error"))
        return ms._json(200, self._openai_batch(b, ended=self._poll(b, "openai")))

    async def _openai_cancel(self, request: web.Request) -> web.Response:
        b = self._get(request.match_info["bid"], "openai")
        if b is None:
            return ms._json(404, ms._openai_error(404, "No such batch", "invalid_request_error"))
        b.canceled = True
        self.calls[("openai", "cancel")] += 1
        return ms._json(200, self._openai_batch(b, ended=True))

    # ---------------------------------------------------------------------------------- Anthropic

    def _anthropic_batch(self, b: MockBatch, ended: bool, base: str) -> dict[str, Any]:
        n = len(b.custom_ids)
        ok = sum(1 for s, _ in b.outcomes.values() if s == 200)
        counts = {"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended and b.canceled:
            counts.update(processing=0, canceled=n)
        elif ended:
            counts.update(processing=0, succeeded=ok, errored=n - ok)
        return {
            "id": b.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": _iso(b.created),
            "expires_at": _iso(b.created + 86400),
            "ended_at": _iso(time.time()) if ended else None,
            "cancel_initiated_at": _iso(time.time()) if b.canceled else None,
            "archived_at": None,
            "results_url": f"{base}/v1/messages/batches/{b.id}/results" if ended else None,
        }

    async def _anthropic_create(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "anthropic")) is not None:
            return denied
        body = await request.json()
        items = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return ms._json(400, ms._anthropic_error("invalid_request_error", "requests: a non-empty list"))
        ids = [str(i.get("custom_id")) for i in items]
        if len(set(ids)) != len(ids):
            return ms._json(400, ms._anthropic_error("invalid_request_error", "duplicate custom_id"))
        outcomes = {
            str(i["custom_id"]): self._answer_one("anthropic", None, i.get("params"), str(i["custom_id"]))
            for i in items
        }
        bid = self._new_id("msgbatch_mock")
        b = MockBatch("anthropic", bid, time.time(), ids, outcomes)
        b.bodies = {str(i["custom_id"]): i.get("params") for i in items}
        self.batches[bid] = b
        self.calls[("anthropic", "create")] += 1
        return ms._json(200, self._anthropic_batch(b, False, _base(request)))

    async def _anthropic_list(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "anthropic")) is not None:
            return denied
        base = _base(request)
        batches = self._newest_first("anthropic", request, "limit")
        data = [self._anthropic_batch(b, self._ended(b), base) for b in batches]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return ms._json(200, {"data": data, "has_more": False, "first_id": first, "last_id": last})

    async def _anthropic_retrieve(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "anthropic")) is not None:
            return denied
        b = self._get(request.match_info["bid"], "anthropic")
        if b is None:
            return ms._json(404, ms._anthropic_error("not_found_error", "batch not found"))
        return ms._json(200, self._anthropic_batch(b, self._poll(b, "anthropic"), _base(request)))

    async def _anthropic_results(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._auth(request, "anthropic")) is not None:
            return denied
        b = self._get(request.match_info["bid"], "anthropic")
        if b is None:
            return ms._json(404, ms._anthropic_error("not_found_error", "batch not found"))
        self.calls[("anthropic", "results")] += 1
        lines = []
        for cid in b.custom_ids:
            status, payload = b.outcomes[cid]
            if b.canceled:
                result: dict[str, Any] = {"type": "canceled"}
            elif status == 200:
                result = {"type": "succeeded", "message": payload}
            else:
                result = {"type": "errored", "error": payload}
            lines.append(json.dumps({"custom_id": cid, "result": result}, ensure_ascii=False))
        return web.Response(body=("\n".join(lines) + "\n").encode(), content_type="application/binary")

    async def _anthropic_cancel(self, request: web.Request) -> web.Response:
        b = self._get(request.match_info["bid"], "anthropic")
        if b is None:
            return ms._json(404, ms._anthropic_error("not_found_error", "batch not found"))
        b.canceled = True
        self.calls[("anthropic", "cancel")] += 1
        return ms._json(200, self._anthropic_batch(b, True, _base(request)))

    # ------------------------------------------------------------------------------------- Gemini

    def _gemini_op(self, b: MockBatch, ended: bool) -> dict[str, Any]:
        n = len(b.custom_ids)
        ok = sum(1 for s, _ in b.outcomes.values() if s == 200)
        if b.canceled:
            state = "BATCH_STATE_CANCELLED"
        else:
            state = (
                "BATCH_STATE_SUCCEEDED"
                if ended
                else ("BATCH_STATE_PENDING" if b.polls < 1 else "BATCH_STATE_RUNNING")
            )
        meta: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "model": f"models/{b.model}",
            "displayName": b.extra.get("displayName", ""),
            "createTime": _iso(b.created),
            "updateTime": _iso(time.time()),
            "batchStats": {"requestCount": str(n), "pendingRequestCount": str(0 if ended else n)},
            "state": state,
            "name": b.id,
        }
        op: dict[str, Any] = {"name": b.id, "metadata": meta}
        if ended and not b.canceled:
            meta["endTime"] = _iso(time.time())
            meta["batchStats"].update(successfulRequestCount=str(ok), failedRequestCount=str(n - ok))
            responses = []
            for cid in b.custom_ids:
                status, payload = b.outcomes[cid]
                entry: dict[str, Any] = {"metadata": b.extra["metadata"][cid]}
                if status == 200:
                    entry["response"] = payload
                else:
                    err = payload.get("error", {}) if isinstance(payload, dict) else {}
                    entry["error"] = {"code": _HTTP_TO_RPC.get(status, 13), "message": err.get("message", "")}
                responses.append(entry)
            output: dict[str, Any] = (
                {"responsesFile": b.output_file_id}
                if b.output_file_id
                else {"inlinedResponses": {"inlinedResponses": responses}}
            )
            meta["output"] = output
            op["done"] = True
            op["response"] = {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
                **output,
            }
        return op

    async def _gemini_upload(self, request: web.Request) -> web.Response:
        """The Files API's resumable upload: ``start`` (metadata, returns the upload URL), then chunks
        (``upload``; the last one ``upload, finalize``) to that URL, answered with the file resource."""
        command = request.headers.get("X-Goog-Upload-Command", "")
        if command == "start":
            if (denied := self._auth(request, "gemini")) is not None:
                return denied
            meta = (await request.json() or {}).get("file") or {}
            uid = self._new_id("upload-")
            self.uploads[uid] = {
                "size": int(request.headers.get("X-Goog-Upload-Header-Content-Length", "0") or 0),
                "mime": request.headers.get("X-Goog-Upload-Header-Content-Type", ""),
                "display": meta.get("displayName", ""),
                "data": bytearray(),
            }
            url = str(request.url.with_query({"upload_id": uid}))
            return ms._json(200, {}, headers={"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"})
        up = self.uploads.get(request.query.get("upload_id", ""))
        if up is None or "upload" not in command:
            return ms._json(400, ms._gemini_error(400, "INVALID_ARGUMENT", "unknown upload session"))
        if int(request.headers.get("X-Goog-Upload-Offset", "-1")) != len(up["data"]):
            return ms._json(400, ms._gemini_error(400, "INVALID_ARGUMENT", "upload offset mismatch"))
        up["data"] += await request.read()
        if "finalize" not in command:
            return ms._json(200, {}, headers={"X-Goog-Upload-Status": "active"})
        if len(up["data"]) != up["size"]:
            return ms._json(400, ms._gemini_error(400, "INVALID_ARGUMENT", "upload size mismatch"))
        fid = self._new_id("files/mock")
        self.files[fid] = bytes(up["data"])
        self.calls[("gemini", "upload")] += 1
        now = time.time()
        file = {
            "name": fid,
            "displayName": up["display"],
            "mimeType": up["mime"],
            "sizeBytes": str(len(up["data"])),
            "createTime": _iso(now),
            "updateTime": _iso(now),
            "expirationTime": _iso(now + 48 * 3600),
            "uri": f"{_base(request)}/{request.match_info['ver']}/{fid}",
            "state": "ACTIVE",
            "source": "UPLOADED",
        }
        return ms._json(200, {"file": file}, headers={"X-Goog-Upload-Status": "final"})

    async def _gemini_download(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "gemini")) is not None:
            return denied
        fid = "files/" + request.match_info["fid"]
        if fid not in self.files or request.query.get("alt") != "media":
            return ms._json(404, ms._gemini_error(404, "NOT_FOUND", f"file {fid} not found"))
        self.calls[("gemini", "download")] += 1
        return web.Response(body=self.files[fid], content_type="application/octet-stream")

    async def _gemini_create(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "gemini")) is not None:
            return denied
        model = request.match_info["model"]
        body = await request.json()
        batch = body.get("batch") if isinstance(body, dict) else None
        source = (batch or {}).get("inputConfig") or {}
        items = (source.get("requests") or {}).get("requests")
        from_file = source.get("fileName")
        if from_file is not None:
            if from_file not in self.files:
                return ms._json(404, ms._gemini_error(404, "NOT_FOUND", f"file {from_file} not found"))
            lines = [json.loads(x) for x in self.files[from_file].decode().splitlines() if x.strip()]
            items = [{"request": x.get("request"), "metadata": {"key": x.get("key")}} for x in lines]
        if not isinstance(items, list) or not items:
            msg = "batch.inputConfig: requests.requests (a non-empty list) or fileName"
            return ms._json(400, ms._gemini_error(400, "INVALID_ARGUMENT", msg))
        ids, metadata, outcomes = [], {}, {}
        for i, item in enumerate(items):
            meta = item.get("metadata") or {}
            cid = str(meta.get("key", i))
            ids.append(cid)
            metadata[cid] = meta
            req_body = item.get("request") or {}
            req_model = str(req_body.get("model") or model).removeprefix("models/")
            outcomes[cid] = self._answer_one("gemini", req_model, req_body, cid)
        bid = self._new_id("batches/mock")
        b = MockBatch("gemini", bid, time.time(), ids, outcomes, model=model)
        b.extra = {"metadata": metadata, "displayName": (batch or {}).get("displayName", "")}
        if from_file is not None:
            out = []
            for cid in ids:
                status, payload = outcomes[cid]
                if status == 200:
                    out.append({"key": cid, "response": payload})
                else:
                    err = payload.get("error", {}) if isinstance(payload, dict) else {}
                    out.append(
                        {
                            "key": cid,
                            "error": {
                                "code": _HTTP_TO_RPC.get(status, 13),
                                "message": err.get("message", ""),
                            },
                        }
                    )
            b.output_file_id = self._new_id("files/mockout")
            self.files[b.output_file_id] = "".join(
                json.dumps(x, ensure_ascii=False) + "\n" for x in out
            ).encode()
        b.bodies = {cid: (item.get("request") or {}) for cid, item in zip(ids, items, strict=True)}
        self.batches[bid] = b
        self.calls[("gemini", "create")] += 1
        return ms._json(200, self._gemini_op(b, ended=False))

    async def _gemini_list(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "gemini")) is not None:
            return denied
        ops = [self._gemini_op(b, self._ended(b)) for b in self._newest_first("gemini", request, "pageSize")]
        return ms._json(200, {"operations": ops})

    async def _gemini_get(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request, "gemini")) is not None:
            return denied
        b = self._get("batches/" + request.match_info["bid"], "gemini")
        if b is None:
            return ms._json(404, ms._gemini_error(404, "NOT_FOUND", "batch not found"))
        return ms._json(200, self._gemini_op(b, ended=self._poll(b, "gemini")))

    async def _gemini_cancel(self, request: web.Request) -> web.Response:
        b = self._get("batches/" + request.match_info["bid"], "gemini")
        if b is None:
            return ms._json(404, ms._gemini_error(404, "NOT_FOUND", "batch not found"))
        b.canceled = True
        self.calls[("gemini", "cancel")] += 1
        return ms._json(200, {})


_HTTP_TO_RPC = {400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 503: 14, 504: 4}


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"
