"""The Gemini Developer API's wire format, as the strict fake speaks it (tests and benchmarks only).

* ``POST /{v1beta,v1,v1alpha}/models/{model}:generateContent`` and ``:countTokens``; the camelCase REST body's
  field names checked against google-genai's ``GenerationConfig`` / ``GenerateContentConfig`` /
  ``ThinkingConfig`` (either spelling), ``thinkingLevel`` against ``ThinkingLevel``;
* ``GET /v1beta/models/{id}`` (``models.get``: ``inputTokenLimit``) for the server's ``vendor_models``;
* 429s carry their wait in the body (``google.rpc.RetryInfo``), no ``Retry-After`` header; a bad key is a 400
  ``API_KEY_INVALID``; out of credit a ``RESOURCE_EXHAUSTED`` with a billing ``QuotaFailure``;
* batch mode: ``POST /{v}/models/{model}:batchGenerateContent`` (inlined requests, or a JSONL input file
  uploaded through ``POST /upload/{v}/files``, resumable: start, then chunks, whose results come back as a
  file, ``GET /{v}/files/{id}:download?alt=media``), ``GET /{v}/batches`` (newest first),
  ``GET /{v}/batches/{id}``, ``POST /{v}/batches/{id}:cancel``.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from aiohttp import web

from providers.fakes.harness import (
    BatchRoutes,
    FakeServer,
    MockBatch,
    MockRequest,
    Wire,
    count_tokens,
    iso_time,
    json_response,
    jsonl_bytes,
    jsonl_rows,
    server_base,
)
from providers.fakes.wire_schema import Problem, spellings

__all__ = ["GeminiWire", "gemini_error"]

_PATH = re.compile(r"^/(v1beta|v1|v1alpha)/models/([^/:]+):(generateContent|countTokens)$")
_MODEL_PATH = re.compile(r"^/(?:v1beta|v1)/models/([^/:]+)$")
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    529: "UNAVAILABLE",
}
#: google.rpc codes of HTTP statuses (a batched request's error).
_HTTP_TO_RPC = {400: 3, 401: 16, 403: 7, 404: 5, 429: 8, 500: 13, 503: 14, 504: 4}
# GenerateContentConfig fields the SDK handles on the client side (never sent on the wire).
_CLIENT_ONLY = {
    "http_options",
    "should_return_http_response",
    "automatic_function_calling",
    "automatic_continuation",
    "continuation_token",
}
_VERSION = r"{ver:v1beta|v1|v1alpha}"


def gemini_error(code: int, status: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """Google's error body."""
    err: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        err["details"] = details
    return {"error": err}


@functools.cache
def _fields() -> dict[str, frozenset[str]]:
    from google.genai import types

    gen = set(types.GenerationConfig.model_fields)
    request_level = set(types.GenerateContentConfig.model_fields) - gen - _CLIENT_ONLY
    return {
        "top": spellings({"contents", "generation_config", *request_level}),
        "generationConfig": spellings(gen),
        "thinkingConfig": spellings(types.ThinkingConfig.model_fields),
        "count": spellings({"contents", "generate_content_request"}),
        "levels": frozenset(e.value for e in types.ThinkingLevel),
    }


def _unknown(name: str, where: str = "") -> str:
    at = f" at '{where}'" if where else ""
    return f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'


def _rpc_error(status: int, payload: Any) -> dict[str, Any]:
    err = payload.get("error", {}) if isinstance(payload, dict) else {}
    return {"code": _HTTP_TO_RPC.get(status, 13), "message": err.get("message", "")}


class _BatchRoutes(BatchRoutes):
    """Gemini batch mode over the server's shared batch state."""

    api = "gemini"

    def mount(self, app: web.Application) -> None:
        r = app.router
        r.add_post(rf"/{_VERSION}/models/{{model:[^/:]+}}:batchGenerateContent", self.create)
        r.add_post(rf"/upload/{_VERSION}/files", self.upload)
        r.add_get(rf"/{_VERSION}/files/{{fid:[^/:]+}}:download", self.download)
        r.add_get(rf"/{_VERSION}/batches", self.list)
        r.add_get(rf"/{_VERSION}/batches/{{bid:[^/:]+}}", self.get)
        r.add_post(rf"/{_VERSION}/batches/{{bid:[^/:]+}}:cancel", self.cancel)

    @staticmethod
    def _error(status: int, message: str) -> web.Response:
        return json_response(status, gemini_error(status, _STATUS[status], message))

    def _op(self, b: MockBatch, ended: bool) -> dict[str, Any]:
        n, ok = len(b.custom_ids), b.succeeded
        if b.canceled:
            state = "BATCH_STATE_CANCELLED"
        elif ended:
            state = "BATCH_STATE_SUCCEEDED"
        else:
            state = "BATCH_STATE_PENDING" if b.polls < 1 else "BATCH_STATE_RUNNING"
        meta: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "model": f"models/{b.model}",
            "displayName": b.extra.get("displayName", ""),
            "createTime": iso_time(b.created),
            "updateTime": iso_time(time.time()),
            "batchStats": {"requestCount": str(n), "pendingRequestCount": str(0 if ended else n)},
            "state": state,
            "name": b.id,
        }
        op: dict[str, Any] = {"name": b.id, "metadata": meta}
        if ended and not b.canceled:
            meta["endTime"] = iso_time(time.time())
            meta["batchStats"].update(successfulRequestCount=str(ok), failedRequestCount=str(n - ok))
            responses = []
            for cid in b.custom_ids:
                status, payload = b.outcomes[cid]
                entry: dict[str, Any] = {"metadata": b.extra["metadata"][cid]}
                if status == 200:
                    entry["response"] = payload
                else:
                    entry["error"] = _rpc_error(status, payload)
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

    async def upload(self, request: web.Request) -> web.Response:
        """The Files API's resumable upload: ``start`` (metadata, returns the upload URL), then chunks
        (``upload``; the last one ``upload, finalize``) to that URL, answered with the file resource."""
        state = self.state
        command = request.headers.get("X-Goog-Upload-Command", "")
        if command == "start":
            if (denied := self.denied(request)) is not None:
                return denied
            meta = (await request.json() or {}).get("file") or {}
            uid = state.new_id("upload-")
            state.uploads[uid] = {
                "size": int(request.headers.get("X-Goog-Upload-Header-Content-Length", "0") or 0),
                "mime": request.headers.get("X-Goog-Upload-Header-Content-Type", ""),
                "display": meta.get("displayName", ""),
                "data": bytearray(),
            }
            url = str(request.url.with_query({"upload_id": uid}))
            return json_response(
                200, {}, headers={"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"}
            )
        up = state.uploads.get(request.query.get("upload_id", ""))
        if up is None or "upload" not in command:
            return self._error(400, "unknown upload session")
        if int(request.headers.get("X-Goog-Upload-Offset", "-1")) != len(up["data"]):
            return self._error(400, "upload offset mismatch")
        up["data"] += await request.read()
        if "finalize" not in command:
            return json_response(200, {}, headers={"X-Goog-Upload-Status": "active"})
        if len(up["data"]) != up["size"]:
            return self._error(400, "upload size mismatch")
        fid = state.new_id("files/mock")
        state.files[fid] = bytes(up["data"])
        state.calls[("gemini", "upload")] += 1
        now = time.time()
        file = {
            "name": fid,
            "displayName": up["display"],
            "mimeType": up["mime"],
            "sizeBytes": str(len(up["data"])),
            "createTime": iso_time(now),
            "updateTime": iso_time(now),
            "expirationTime": iso_time(now + 48 * 3600),
            "uri": f"{server_base(request)}/{request.match_info['ver']}/{fid}",
            "state": "ACTIVE",
            "source": "UPLOADED",
        }
        return json_response(200, {"file": file}, headers={"X-Goog-Upload-Status": "final"})

    async def download(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        fid = "files/" + request.match_info["fid"]
        if fid not in self.state.files or request.query.get("alt") != "media":
            return self._error(404, f"file {fid} not found")
        self.state.calls[("gemini", "download")] += 1
        return web.Response(body=self.state.files[fid], content_type="application/octet-stream")

    async def create(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        state = self.state
        model = request.match_info["model"]
        body = await request.json()
        batch = body.get("batch") if isinstance(body, dict) else None
        source = (batch or {}).get("inputConfig") or {}
        items = (source.get("requests") or {}).get("requests")
        from_file = source.get("fileName")
        if from_file is not None:
            if from_file not in state.files:
                return self._error(404, f"file {from_file} not found")
            lines = jsonl_rows(state.files[from_file])
            items = [{"request": x.get("request"), "metadata": {"key": x.get("key")}} for x in lines]
        if not isinstance(items, list) or not items:
            return self._error(400, "batch.inputConfig: requests.requests (a non-empty list) or fileName")
        ids, metadata, outcomes = [], {}, {}
        for i, item in enumerate(items):
            meta = item.get("metadata") or {}
            cid = str(meta.get("key", i))
            ids.append(cid)
            metadata[cid] = meta
            req_body = item.get("request") or {}
            req_model = str(req_body.get("model") or model).removeprefix("models/")
            outcomes[cid] = state.answer_one(self.wire, "gemini", req_model, req_body, cid)
        bid = state.new_id("batches/mock")
        b = MockBatch("gemini", bid, time.time(), ids, outcomes, model=model)
        b.extra = {"metadata": metadata, "displayName": (batch or {}).get("displayName", "")}
        if from_file is not None:
            out = []
            for cid in ids:
                status, payload = outcomes[cid]
                if status == 200:
                    out.append({"key": cid, "response": payload})
                else:
                    out.append({"key": cid, "error": _rpc_error(status, payload)})
            b.output_file_id = state.new_id("files/mockout")
            state.files[b.output_file_id] = jsonl_bytes(out)
        b.bodies = {cid: (item.get("request") or {}) for cid, item in zip(ids, items, strict=True)}
        state.add(b)
        return json_response(200, self._op(b, ended=False))

    async def list(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        batches = self.state.newest_first("gemini", request, "pageSize")
        return json_response(200, {"operations": [self._op(b, self.state.ended(b)) for b in batches]})

    async def get(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        b = self.state.get("batches/" + request.match_info["bid"], "gemini")
        if b is None:
            return self._error(404, "batch not found")
        return json_response(200, self._op(b, ended=self.state.poll(b, "gemini")))

    async def cancel(self, request: web.Request) -> web.Response:
        b = self.state.cancel("batches/" + request.match_info["bid"], "gemini")
        if b is None:
            return self._error(404, "batch not found")
        return json_response(200, {})


class GeminiWire(Wire):
    """generateContent, countTokens, models.get and batch mode."""

    vendor = "gemini"
    fault_apis = frozenset({"gemini", "gemini-count"})
    batch_routes = _BatchRoutes
    retry_after_header = False  # Google sends the wait in the body (RetryInfo)

    def route(self, method: str, path: str) -> tuple[str, str | None] | None:
        """``models/{model}:generateContent`` / ``:countTokens`` (the model from the path)."""
        m = _PATH.match(path)
        if m is None:
            return None
        return ("gemini" if m.group(3) == "generateContent" else "gemini-count"), m.group(2)

    def parse(self, api: str, path_model: str | None, body: dict[str, Any]) -> tuple[str, int | None]:
        """System instruction and content parts, ``generationConfig.maxOutputTokens``."""
        parts: list[str] = []
        sysi = body.get("systemInstruction") or body.get("system_instruction")
        if isinstance(sysi, dict):
            parts.extend(p.get("text", "") for p in sysi.get("parts") or [])
        for c in body.get("contents") or []:
            if isinstance(c, dict):
                parts.extend(p.get("text", "") for p in c.get("parts") or [] if isinstance(p, dict))
        gen = body.get("generationConfig") or {}
        return "".join(parts), gen.get("maxOutputTokens")

    def check_body(self, api: str, body: dict[str, Any]) -> Problem | None:
        """Field names against google-genai's models (camelCase or snake_case), levels against the enum."""
        f = _fields()
        if api == "gemini-count":
            bad = next((k for k in body if k not in f["count"]), None)
            return (bad, _unknown(bad)) if bad else None
        bad = next((k for k in body if k not in f["top"]), None)
        if bad is not None:
            return bad, _unknown(bad)
        if not isinstance(body.get("contents"), list):
            return "contents", "* GenerateContentRequest.contents: contents is not specified"
        gen = body.get("generationConfig", body.get("generation_config")) or {}
        if not isinstance(gen, dict):
            return "generationConfig", "Invalid value at 'generation_config'"
        bad = next((k for k in gen if k not in f["generationConfig"]), None)
        if bad is not None:
            return f"generationConfig.{bad}", _unknown(bad, "generation_config")
        thinking = gen.get("thinkingConfig", gen.get("thinking_config")) or {}
        if isinstance(thinking, dict):
            bad = next((k for k in thinking if k not in f["thinkingConfig"]), None)
            if bad is not None:
                return f"generationConfig.thinkingConfig.{bad}", _unknown(
                    bad, "generation_config.thinking_config"
                )
            level = thinking.get("thinkingLevel", thinking.get("thinking_level"))
            if level is not None and level not in f["levels"]:
                return (
                    "generationConfig.thinkingConfig.thinkingLevel",
                    f"Invalid value {level!r} for thinking_level",
                )
        return None

    def error_body(self, api: str, status: int, message: str, retry_after: float | None = None) -> Any:
        """Google's error, a 429 with ``RetryInfo`` when a wait is given."""
        details = None
        if status == 429 and retry_after is not None:
            details = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after:g}s"}
            ]
        return gemini_error(status, _STATUS.get(status, "UNKNOWN"), message, details)

    def invalid_request(self, api: str, param: str, message: str) -> Any:
        """``INVALID_ARGUMENT`` with a ``BadRequest`` field violation."""
        violation = {"field": param, "description": message}
        return gemini_error(
            400,
            "INVALID_ARGUMENT",
            message,
            [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}],
        )

    def context_error(self, api: str, prompt_tokens: int, window: int) -> Any:
        """The input-token-count 400."""
        return gemini_error(
            400,
            "INVALID_ARGUMENT",
            f"The input token count ({prompt_tokens}) exceeds the maximum number of tokens allowed "
            f"({window}).",
        )

    def quota_error(self, api: str) -> tuple[int, Any]:
        """``RESOURCE_EXHAUSTED`` with a billing ``QuotaFailure`` (prepaid credits depleted)."""
        violation = {"quotaMetric": "generativelanguage.googleapis.com/billing", "quotaId": "PrepaidCredits"}
        return 429, gemini_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Your prepayment credits are depleted. Please go to AI Studio to manage your project and "
            "billing.",
            [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]}],
        )

    def auth_error(self, api: str, presented: str | None) -> tuple[int, Any]:
        """A 400 ``API_KEY_INVALID`` (Google's answer to a wrong key)."""
        return 400, gemini_error(
            400,
            "INVALID_ARGUMENT",
            f"API key not valid. Please pass a valid API key. (got {presented or ''})",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
        )

    def get(self, server: FakeServer, path: str, headers: dict[str, str]) -> web.Response | None:
        """``models.get`` for the server's ``vendor_models`` (404 for others)."""
        m = _MODEL_PATH.match(path)
        if m is None or server.upstream or not ("x-goog-api-key" in headers or path.startswith("/v1beta")):
            return None
        model_id = m.group(1)
        spec = server.vendor_models.get(model_id)
        if spec is None:
            message = f"models/{model_id} is not found for API version v1beta"
            return json_response(404, gemini_error(404, "NOT_FOUND", message))
        return json_response(
            200,
            {
                "name": f"models/{model_id}",
                "version": "001",
                "displayName": model_id,
                "inputTokenLimit": spec.get("window"),
                "outputTokenLimit": spec.get("max_output"),
                "supportedGenerationMethods": ["generateContent", "countTokens"],
                "temperature": 1,
                "maxTemperature": 2,
                "topP": 0.95,
                "topK": 64,
                "thinking": True,
            },
        )

    def answer(self, server: FakeServer, api: str, req: MockRequest, prompt_tokens: int) -> Any:
        """A ``GenerateContentResponse`` (cached and thought tokens in ``usageMetadata``), or the count."""
        n = next(server.ids)
        if api == "gemini-count":
            return {
                "totalTokens": prompt_tokens,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
            }
        reply = server.reply(req)
        text, finish = reply.clipped(req.max_tokens)
        if finish == "refusal":
            finish, text = "content_filter", ""
        model = reply.model or req.model or server.model
        if finish == "blocked":
            return {
                "promptFeedback": {"blockReason": "SAFETY"},
                "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens},
                "modelVersion": model,
                "responseId": f"mock-{n}",
            }
        out_tokens = count_tokens(text)
        cached = server.cached_prefix(api, req.prompt)
        reason = {"stop": "STOP", "max_tokens": "MAX_TOKENS", "content_filter": "SAFETY"}[finish]
        candidate: dict[str, Any] = {"finishReason": reason, "index": 0}
        if finish != "content_filter":
            candidate["content"] = {"parts": [{"text": text}], "role": "model"}
        usage_meta: dict[str, Any] = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": out_tokens,
            "totalTokenCount": prompt_tokens + out_tokens + reply.reasoning_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
        }
        if cached:
            usage_meta["cachedContentTokenCount"] = cached
        if reply.reasoning_tokens:
            usage_meta["thoughtsTokenCount"] = reply.reasoning_tokens
        return {
            "candidates": [candidate],
            "usageMetadata": usage_meta,
            "modelVersion": model,
            "responseId": f"mock-{n}",
        }
