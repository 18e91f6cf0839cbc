"""The Responses API (``POST /v1/responses``) on the OpenAI fake, in the real wire format.

:class:`ResponsesWire` is the OpenAI wire (:mod:`providers.doors.openai.fake`: chat and legacy completions,
the models list, the Batch API, now also with ``/v1/responses`` batches) plus the Responses API:

* request bodies validated against the installed SDK's ``ResponseCreateParamsNonStreaming`` (an unknown
  field such as ``max_tokens`` is "Unrecognized request argument supplied");
* answers are ``Response`` objects as the SDK parses them: ``status`` ``completed``, or ``incomplete`` with
  ``incomplete_details.reason = "max_output_tokens"`` (or ``content_filter``); ``message`` items with
  ``output_text`` or ``refusal`` parts; a ``reasoning`` item when reasoning tokens are reported; usage with
  ``input_tokens_details.cached_tokens`` / ``cache_write_tokens`` and
  ``output_tokens_details.reasoning_tokens``;
* chat completions asked of a model the SDK lists as Responses-only are refused with the API's words
  ("only supported in v1/responses", a 404 as OpenAI answers it).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from providers.doors.openai.fake import OpenAIWire, openai_error, openai_finish
from providers.fakes.harness import FakeServer, MockRequest, count_tokens, text_of
from providers.fakes.wire_schema import Problem, check_typed

__all__ = ["PATHS", "ResponsesWire"]

PATHS = ("/v1/responses", "/responses")
_ONLY_RESPONSES = "This model is only supported in v1/responses and not in v1/chat/completions."


@functools.cache
def _responses_type() -> Any:
    from openai.types.responses import response_create_params

    return response_create_params.ResponseCreateParamsNonStreaming


class ResponsesWire(OpenAIWire):
    """OpenAI's wire with the Responses API."""

    fault_apis = OpenAIWire.fault_apis | {"openai-responses"}

    def route(self, method: str, path: str) -> tuple[str, str | None] | None:
        """``/v1/responses`` (and ``/responses``), else the OpenAI routes."""
        if path in PATHS:
            return "openai-responses", None
        return super().route(method, path)

    def parse(self, api: str, path_model: str | None, body: dict[str, Any]) -> tuple[str, int | None]:
        """Instructions + input text, and ``max_output_tokens``."""
        if api != "openai-responses":
            return super().parse(api, path_model, body)
        items = body.get("input")
        prompt = str(body.get("instructions") or "")
        if isinstance(items, str):
            prompt += items
        elif isinstance(items, list):
            prompt += "".join(text_of(i.get("content")) for i in items if isinstance(i, dict))
        cap = body.get("max_output_tokens")
        return prompt, cap if isinstance(cap, int) else None

    def check_body(self, api: str, body: dict[str, Any]) -> Problem | None:
        """Against ``ResponseCreateParamsNonStreaming``; chat for a Responses-only model is refused."""
        if api == "openai-responses":
            return check_typed(body, _responses_type())
        if api == "openai-chat":
            from providers.doors.openai.responses import responses_only_models

            if str(body.get("model") or "") in responses_only_models():
                return "model", _ONLY_RESPONSES
        return super().check_body(api, body)

    def invalid_request(self, api: str, param: str, message: str) -> Any:
        """OpenAI's words (and the Responses-only refusal as the API words it)."""
        if message == _ONLY_RESPONSES:
            return openai_error(message, "invalid_request_error", param=param)
        return super().invalid_request(api, param, message)

    def invalid_status(self, api: str, param: str, message: str) -> int:
        """OpenAI answers chat for a Responses-only model with a 404."""
        return 404 if message == _ONLY_RESPONSES else super().invalid_status(api, param, message)

    def answer(self, server: FakeServer, api: str, req: MockRequest, prompt_tokens: int) -> Any:
        """A ``Response`` object (chat and completions: the OpenAI wire's answers)."""
        if api != "openai-responses":
            return super().answer(server, api, req, prompt_tokens)
        n = next(server.ids)
        reply = server.reply(req)
        text, finish, refusal = openai_finish(reply, req.max_tokens)
        body: dict[str, Any] = req.body
        cached = server.cached_prefix(api, req.prompt)
        return _response(
            n=n,
            model=reply.model or req.model or server.model,
            body=body,
            text=text,
            finish=finish,
            refusal=refusal,
            prompt_tokens=prompt_tokens,
            out_tokens=count_tokens(text),
            reasoning_tokens=reply.reasoning_tokens,
            cached=cached,
        )


def _response(
    *,
    n: int,
    model: str,
    body: dict[str, Any],
    text: str,
    finish: str,
    refusal: str | None,
    prompt_tokens: int,
    out_tokens: int,
    reasoning_tokens: int,
    cached: int,
) -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    if reasoning_tokens:
        output.append({"type": "reasoning", "id": f"rs_mock{n}", "summary": []})
    incomplete = finish in ("max_tokens", "content_filter") and refusal is None
    if refusal is not None:
        parts: list[dict[str, Any]] = [{"type": "refusal", "refusal": refusal}]
    elif finish == "content_filter":
        parts = []
    else:
        parts = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    if parts:
        output.append(
            {
                "type": "message",
                "id": f"msg_mock{n}",
                "status": "incomplete" if incomplete else "completed",
                "role": "assistant",
                "content": parts,
            }
        )
    reason = {"max_tokens": "max_output_tokens", "content_filter": "content_filter"}.get(finish)
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    return {
        "id": f"resp_mock{n}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed",
        "error": None,
        "incomplete_details": {"reason": reason} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": None},
        "store": bool(body.get("store", True)),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": prompt_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": out_tokens + reasoning_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": prompt_tokens + out_tokens + reasoning_tokens,
        },
        "metadata": {},
    }
