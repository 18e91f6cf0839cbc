"""The fake server's Responses API (``POST /v1/responses``), in the real wire format.

Hooked into :class:`providers.mock_server.MockServer` (and through it the batch mock's ``/v1/responses``
endpoint): the request body is validated against the installed SDK's ``ResponseCreateParamsNonStreaming``
(:mod:`providers.wire_schema`), the answer is a ``Response`` object as the SDK parses it (``status``
``completed`` or ``incomplete`` with ``incomplete_details.reason = "max_output_tokens"``, ``message`` items
with ``output_text`` or ``refusal`` parts, a ``reasoning`` item when reasoning tokens are reported, usage
with cached and reasoning tokens). Chat completions asked of a Responses-only model get the API's 404
("only supported in v1/responses"), as OpenAI answers them.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["PATHS", "answer", "chat_rejection", "prompt_and_cap"]

PATHS = ("/v1/responses", "/responses")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def prompt_and_cap(body: dict[str, Any]) -> tuple[str, int | None]:
    """All prompt text (instructions + input) and ``max_output_tokens`` of a Responses request."""
    items = body.get("input")
    prompt = str(body.get("instructions") or "")
    if isinstance(items, str):
        prompt += items
    elif isinstance(items, list):
        prompt += "".join(_text(i.get("content")) for i in items if isinstance(i, dict))
    cap = body.get("max_output_tokens")
    return prompt, cap if isinstance(cap, int) else None


def chat_rejection(model: str) -> dict[str, Any] | None:
    """The 404 body chat completions get for a Responses-only model (None: the model takes chat)."""
    from providers.doors.openai.responses import responses_only_models

    if model not in responses_only_models():
        return None
    return {
        "error": {
            "message": "This model is only supported in v1/responses and not in v1/chat/completions.",
            "type": "invalid_request_error",
            "param": "model",
            "code": None,
        }
    }


def answer(
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
    """A ``Response`` object for one answered request.

    Args:
        n: A running number for ids.
        model: The model that answered.
        body: The request body (echoed fields: instructions, max_output_tokens, reasoning).
        text: The answer (already cut to the output cap).
        finish: ``stop``, ``max_tokens`` or ``content_filter``.
        refusal: A refusal text (the answer is then a ``refusal`` part).
        prompt_tokens, out_tokens, reasoning_tokens, cached: Usage figures.
    """
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
