"""OpenAI's wire format, as the strict fake speaks it (tests and benchmarks only).

* ``POST /v1/chat/completions`` and ``POST /v1/completions`` (also without ``/v1``: compatible servers),
  bodies checked against the installed openai SDK's ``CompletionCreateParamsNonStreaming`` types;
* ``GET /v1/models`` (the list a compatible server answers, with vLLM's ``max_model_len``);
* the Batch API: ``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files/{id}/content``,
  ``POST /v1/batches`` (with ``metadata``), ``GET /v1/batches`` (newest first), ``GET /v1/batches/{id}``,
  ``POST /v1/batches/{id}/cancel``;
* errors as ``{"error": {"message", "type", "param", "code"}}``: ``context_length_exceeded``,
  ``insufficient_quota``, ``invalid_api_key``, "Unrecognized request argument supplied".
"""

from __future__ import annotations

import functools
import time
from typing import Any

from aiohttp import web

from providers.fakes.harness import (
    BatchRoutes,
    FakeServer,
    MockBatch,
    MockReply,
    MockRequest,
    Wire,
    count_tokens,
    json_response,
    jsonl_bytes,
    jsonl_rows,
    text_of,
)
from providers.fakes.wire_schema import Problem, check_typed

__all__ = ["OpenAIWire", "openai_error", "openai_finish"]

_PATHS = {
    "/v1/chat/completions": "openai-chat",
    "/chat/completions": "openai-chat",
    "/v1/completions": "openai-completions",
    "/completions": "openai-completions",
}
_BATCH_ENDPOINTS = {
    "/v1/chat/completions": "openai-chat",
    "/v1/completions": "openai-completions",
    "/v1/responses": "openai-responses",  # answered by ResponsesWire (responses_fake.py)
}
_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
    529: ("server_error", None),
}


def openai_error(
    message: str, etype: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error body."""
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def openai_finish(reply: MockReply, max_tokens: int | None) -> tuple[str, str, str | None]:
    """``(text, finish, refusal)`` of an OpenAI answer (chat or Responses) to a request capped at
    ``max_tokens``: a refusal comes back as the refusal text (its own, or the API's usual words) with no
    answer text and finish ``stop``; a blocked prompt finishes by ``content_filter``."""
    text, finish = reply.clipped(max_tokens)
    if finish == "refusal":
        return "", "stop", text or "I can't help with that."
    return text, "content_filter" if finish == "blocked" else finish, None


@functools.cache
def _types() -> dict[str, Any]:
    from openai.types import completion_create_params
    from openai.types.chat import completion_create_params as chat_params

    return {
        "openai-chat": chat_params.CompletionCreateParamsNonStreaming,
        "openai-completions": completion_create_params.CompletionCreateParamsNonStreaming,
    }


class _BatchRoutes(BatchRoutes):
    """OpenAI's Batch API over the server's shared batch state."""

    api = "openai-chat"

    def mount(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1/files", self.upload)
        r.add_get("/v1/files/{fid}/content", self.content)
        r.add_post("/v1/batches", self.create)
        r.add_get("/v1/batches", self.list)
        r.add_get("/v1/batches/{bid}", self.retrieve)
        r.add_post("/v1/batches/{bid}/cancel", self.cancel)

    @staticmethod
    def _bad(status: int, message: str) -> web.Response:
        return json_response(status, openai_error(message, "invalid_request_error"))

    async def upload(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        if not request.content_type.startswith("multipart/"):
            return self._bad(400, "expected multipart/form-data")
        fields: dict[str, Any] = {}
        filename = "upload"
        reader = await request.multipart()
        async for part in reader:
            if part.name == "file":
                filename = part.filename or filename
                fields["file"] = await part.read(decode=False)  # type: ignore[union-attr]
            elif part.name:
                fields[part.name] = (await part.read(decode=True)).decode()  # type: ignore[union-attr]
        data, purpose = fields.get("file"), fields.get("purpose")
        if data is None or purpose != "batch":
            return self._bad(400, "a 'file' part and purpose 'batch' are required")
        fid = self.state.new_id("file-mock")
        self.state.files[fid] = bytes(data)
        self.state.calls[("openai", "upload")] += 1
        return json_response(
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

    async def content(self, request: web.Request) -> web.StreamResponse:
        if (denied := self.denied(request)) is not None:
            return denied
        fid = request.match_info["fid"]
        if fid not in self.state.files:
            return self._bad(404, f"No such File object: {fid}")
        return web.Response(body=self.state.files[fid], content_type="application/octet-stream")

    def _batch(self, b: MockBatch, ended: bool) -> dict[str, Any]:
        n, ok = len(b.custom_ids), b.succeeded
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

    async def create(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        state = self.state
        body = await request.json()
        endpoint, fid = body.get("endpoint"), body.get("input_file_id")
        bad = None
        if endpoint not in _BATCH_ENDPOINTS:
            bad = f"unsupported endpoint {endpoint!r}"
        elif body.get("completion_window") != "24h":
            bad = "completion_window must be '24h'"
        elif fid not in state.files:
            bad = f"No such File object: {fid}"
        if bad:
            return self._bad(400, bad)
        lines = jsonl_rows(state.files[fid])
        ids = [str(x.get("custom_id")) for x in lines]
        if len(set(ids)) != len(ids):
            return self._bad(400, "duplicate custom_id")
        for x in lines:
            if x.get("method") != "POST" or x.get("url") != endpoint:
                return self._bad(400, f"line {x.get('custom_id')}: method/url must be POST {endpoint}")
        api = _BATCH_ENDPOINTS[endpoint]
        outcomes = {
            x["custom_id"]: state.answer_one(self.wire, api, None, x.get("body"), x["custom_id"])
            for x in lines
        }
        metadata = body.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and len(metadata) <= 16
            and all(isinstance(k, str) and len(k) <= 64 for k in metadata)
            and all(isinstance(v, str) and len(v) <= 512 for v in metadata.values())
        ):
            return self._bad(
                400, "metadata: at most 16 string pairs, keys up to 64 and values up to 512 characters"
            )
        bid = state.new_id("batch_mock")
        b = MockBatch("openai", bid, time.time(), ids, outcomes, endpoint=endpoint, input_file_id=fid)
        b.extra["metadata"] = metadata
        b.bodies = {x["custom_id"]: x.get("body") for x in lines}
        out: list[dict[str, Any]] = []
        err: list[dict[str, Any]] = []
        for cid in ids:
            status, payload = outcomes[cid]
            line = {
                "id": f"batch_req_{cid}",
                "custom_id": cid,
                "response": {"status_code": status, "request_id": f"req_{cid}", "body": payload},
                "error": None,
            }
            (out if status == 200 else err).append(line)
        if out:
            b.output_file_id = state.new_id("file-out")
            state.files[b.output_file_id] = jsonl_bytes(out)
        if err:
            b.error_file_id = state.new_id("file-err")
            state.files[b.error_file_id] = jsonl_bytes(err)
        state.add(b)
        return json_response(200, self._batch(b, ended=False))

    async def list(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        batches = self.state.newest_first("openai", request, "limit")
        data = [self._batch(b, self.state.ended(b)) for b in batches]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return json_response(
            200, {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": False}
        )

    async def retrieve(self, request: web.Request) -> web.Response:
        if (denied := self.denied(request)) is not None:
            return denied
        b = self.state.get(request.match_info["bid"], "openai")
        if b is None:
            return self._bad(404, "No such batch")
        return json_response(200, self._batch(b, ended=self.state.poll(b, "openai")))

    async def cancel(self, request: web.Request) -> web.Response:
        b = self.state.cancel(request.match_info["bid"], "openai")
        if b is None:
            return self._bad(404, "No such batch")
        return json_response(200, self._batch(b, ended=True))


class OpenAIWire(Wire):
    """Chat completions, legacy completions, the models list and the Batch API."""

    vendor = "openai"
    fault_apis = frozenset({"openai-chat", "openai-completions"})
    batch_routes = _BatchRoutes

    def route(self, method: str, path: str) -> tuple[str, str | None] | None:
        """Chat and legacy completions, with or without ``/v1``."""
        api = _PATHS.get(path)
        return (api, None) if api else None

    def parse(self, api: str, path_model: str | None, body: dict[str, Any]) -> tuple[str, int | None]:
        """Message contents (or the prompt) and ``max_completion_tokens`` / ``max_tokens``."""
        if api == "openai-chat":
            messages = body.get("messages") or []
            prompt = "".join(text_of(m.get("content")) for m in messages if isinstance(m, dict))
            return prompt, body.get("max_completion_tokens") or body.get("max_tokens")
        p = body.get("prompt", "")
        return ("".join(p) if isinstance(p, list) else str(p)), body.get("max_tokens")

    def check_body(self, api: str, body: dict[str, Any]) -> Problem | None:
        """Against the SDK's ``CompletionCreateParamsNonStreaming`` (chat or legacy)."""
        return check_typed(body, _types()[api])

    def error_body(self, api: str, status: int, message: str, retry_after: float | None = None) -> Any:
        """``{"error": {...}}`` with OpenAI's type and code for the status."""
        etype, code = _TYPES.get(status, ("server_error", None))
        return openai_error(message, etype, code)

    def invalid_request(self, api: str, param: str, message: str) -> Any:
        """OpenAI's words for an unknown argument or a bad value."""
        if message == "Extra inputs are not permitted":
            message = f"Unrecognized request argument supplied: {param}"
        else:
            message = f"Invalid value for '{param}': {message}"
        return openai_error(message, "invalid_request_error", param=param)

    def context_error(self, api: str, prompt_tokens: int, window: int) -> Any:
        """``context_length_exceeded``."""
        return openai_error(
            f"This model's maximum context length is {window} tokens. However, your messages resulted in "
            f"{prompt_tokens} tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "context_length_exceeded",
        )

    def quota_error(self, api: str) -> tuple[int, Any]:
        """429 ``insufficient_quota``."""
        return 429, openai_error(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        )

    def get(self, server: FakeServer, path: str, headers: dict[str, str]) -> web.Response | None:
        """``GET /v1/models``: the served model (and its window as vLLM's ``max_model_len``)."""
        if path not in ("/v1/models", "/models") or server.upstream:
            return None
        entry: dict[str, Any] = {"id": server.model, "object": "model", "owned_by": "mock"}
        if server.context_window:
            entry["max_model_len"] = server.context_window
        return json_response(200, {"object": "list", "data": [entry]})

    def answer(self, server: FakeServer, api: str, req: MockRequest, prompt_tokens: int) -> Any:
        """A ``chat.completion`` or ``text_completion`` with usage (cached and reasoning tokens)."""
        n = next(server.ids)
        reply = server.reply(req)
        text, finish, refusal = openai_finish(reply, req.max_tokens)
        if refusal is not None and api != "openai-chat":
            finish = "content_filter"  # legacy completions have no refusal field
        out_tokens = count_tokens(text)
        model = reply.model or req.model or server.model
        cached = server.cached_prefix(api, req.prompt)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": out_tokens + reply.reasoning_tokens,
            "total_tokens": prompt_tokens + out_tokens + reply.reasoning_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reply.reasoning_tokens, "audio_tokens": 0},
        }
        reason = {"stop": "stop", "max_tokens": "length", "content_filter": "content_filter"}[finish]
        created = int(time.time())
        if api == "openai-chat":
            content = None if finish == "content_filter" else text
            message = {"role": "assistant", "content": None if refusal else content, "refusal": refusal}
            return {
                "id": f"chatcmpl-mock{n}",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reason}],
                "usage": usage,
                "system_fingerprint": "fp_mock",
            }
        return {
            "id": f"cmpl-mock{n}",
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": reason}],
            "usage": usage,
        }
