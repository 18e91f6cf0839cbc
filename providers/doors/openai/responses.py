"""OpenAI's Responses API (``POST /v1/responses``, ``client.responses.create``) on the official SDK.

Used for every ``openai`` model the installed SDK lists as Responses-only (its ``ResponsesModel`` literal
beyond ``ChatModel``: ``o3-pro``, ``gpt-5-pro``, the deep-research and codex models, ...), which answer
chat completions with a 404, and for any OpenAI entry whose registry entry says ``api = "responses"``.

The body holds only fields of the SDK's typed ``responses.create()`` (``ResponseCreateParamsNonStreaming``):
the system prompt as ``instructions``, the turns (or, in completion mode, the prompt string) as ``input``,
``max_output_tokens`` (answer budget + reasoning budget for reasoning models, as with chat completions),
``reasoning: {"effort": ...}``, ``store: false`` (an evaluation prompt is not kept on OpenAI's servers) and
``prompt_cache_key``. The API has no ``stop`` and no ``seed``: stop sequences are applied to the answer here
(the text is cut at the first one; billed tokens are what the API reports), a seed is not sent.

Reading: the text is the ``output_text`` parts of the ``message`` items; a ``refusal`` part is
``CONTENT_FILTER``; ``status: "incomplete"`` with ``incomplete_details.reason == "max_output_tokens"`` is
``TRUNCATED`` (``"content_filter"``: ``CONTENT_FILTER``); ``status: "failed"`` raises the classified
``error``. Usage: ``input_tokens`` (cached ones in ``input_tokens_details.cached_tokens``) and
``output_tokens`` (reasoning in ``output_tokens_details.reasoning_tokens``); ``cache_write_tokens`` where
the API reports writes.
"""

from __future__ import annotations

import functools
import hashlib
import typing
from typing import Any

from providers.base import GenerateRequest, GenerateResult, StopReason, Usage
from providers.doors.openai.adapter import OpenAIProvider, classify_openai_error
from providers.errors import MalformedResponse, classify_status

__all__ = ["RESPONSES_PATH", "OpenAIResponsesProvider", "responses_only_models", "uses_responses"]

RESPONSES_PATH = "/responses"
_INCOMPLETE = {"max_output_tokens": StopReason.TRUNCATED, "content_filter": StopReason.CONTENT_FILTER}


def _literals(tp: Any) -> list[str]:
    out: list[str] = []
    for arg in typing.get_args(tp):
        if isinstance(arg, str):
            out.append(arg)
        else:
            out.extend(_literals(arg))
    return out


@functools.cache
def responses_only_models() -> frozenset[str]:
    """Model ids the installed openai SDK types for ``responses.create`` but not for chat completions."""
    from openai.types.shared import ChatModel, ResponsesModel

    return frozenset(_literals(ResponsesModel)) - frozenset(_literals(ChatModel))


def uses_responses(api: str, model_id: str) -> bool:
    """Whether an OpenAI entry goes through the Responses API.

    Args:
        api: The entry's ``api`` (``"responses"``, ``"chat"``, or ``""``: decided by the SDK's model lists).
        model_id: The model id sent to the API.
    """
    if api:
        return api == "responses"
    return model_id in responses_only_models()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


class OpenAIResponsesProvider(OpenAIProvider):
    """An OpenAI model through ``/v1/responses`` (same client, limits and batch API as chat completions)."""

    def build_body(self, req: GenerateRequest) -> tuple[str, dict[str, Any]]:
        """``("responses", body)`` for ``req``."""
        info = self.info
        budget = req.reasoning_budget if req.reasoning_budget is not None else info.reasoning_budget
        body: dict[str, Any] = {"model": info.model_id}
        if req.prompt is not None:
            body["input"] = req.prompt + (req.prefill or "")
        else:
            turns = [{"role": m.role, "content": m.content} for m in req.messages]
            if req.prefill and info.supports_prefill:
                turns.append({"role": "assistant", "content": req.prefill})
            body["input"] = turns
        if req.system:
            body["instructions"] = req.system
        body["max_output_tokens"] = req.max_tokens + (budget if info.reasoning else 0)
        if info.supports_temperature and not info.reasoning:
            body["temperature"] = req.temperature
        if info.reasoning and info.reasoning_effort:
            body["reasoning"] = {"effort": info.reasoning_effort}
        body["store"] = False
        if req.cache_prefix:
            head = (req.system or "") + (req.messages[0].content if req.messages else req.prompt or "")
            body["prompt_cache_key"] = hashlib.sha256(head[:2048].encode()).hexdigest()[:32]
        return "responses", body

    def describe_request(self, req: GenerateRequest) -> dict[str, Any]:
        _, body = self.build_body(req)
        out = {"endpoint": RESPONSES_PATH, **body}
        if req.stop:
            out["stop_applied_locally"] = list(req.stop)
        return out

    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        _, body = self.build_body(req)
        try:
            data = await self._client.post(RESPONSES_PATH, cast_to=object, body=body)
        except Exception as exc:
            raise classify_openai_error(exc, provider=self.name, secrets=self._secrets()) from None
        return self._parse("responses", self.describe_request(req), data)

    def _parse(self, endpoint: str, raw_request: dict[str, Any], data: Any) -> GenerateResult:
        if endpoint != "responses":
            return super()._parse(endpoint, raw_request, data)
        if not isinstance(data, dict) or not isinstance(data.get("output"), list):
            raise MalformedResponse("response has no output list", provider=self.name)
        status = data.get("status")
        if status == "failed":
            error = _dict(data.get("error"))
            raise classify_status(
                500 if error.get("code") == "server_error" else 400,
                {"error": error},
                provider=self.name,
                secrets=self._secrets(),
            )
        texts: list[str] = []
        refused = False
        for item in data["output"]:
            if not isinstance(item, dict) or item.get("type") != "message":
                continue  # reasoning summaries and other items carry no answer text
            for part in item.get("content") or []:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "output_text":
                    text = part.get("text")
                    if not isinstance(text, str):
                        raise MalformedResponse("output_text has no text", provider=self.name)
                    texts.append(text)
                elif part.get("type") == "refusal":
                    refused = True
        if status == "incomplete":
            reason = _dict(data.get("incomplete_details")).get("reason")
            stop = _INCOMPLETE.get(str(reason), StopReason.OTHER)
        elif status == "completed":
            stop = StopReason.STOP
        else:
            stop = StopReason.OTHER
        if refused:
            stop = StopReason.CONTENT_FILTER
        text = "".join(texts)
        stops = raw_request.get("stop_applied_locally")
        if isinstance(stops, list) and stops:  # the API has no stop sequences: cut here (batch too)
            text, cut = _cut_at_stop(text, tuple(str(x) for x in stops))
            if cut:
                stop = StopReason.STOP
        usage = _dict(data.get("usage"))
        details = _dict(usage.get("input_tokens_details"))
        return GenerateResult(
            text=text,
            stop_reason=stop,
            usage=Usage(
                input_tokens=_int(usage.get("input_tokens")),
                output_tokens=_int(usage.get("output_tokens")),
                cached_input_tokens=_int(details.get("cached_tokens")),
                cache_write_tokens=_int(details.get("cache_write_tokens")) or None,
                reasoning_tokens=_int(_dict(usage.get("output_tokens_details")).get("reasoning_tokens")),
            ),
            latency_s=0.0,
            model=str(data.get("model") or self.info.model_id),
            raw_request=self._redact(raw_request),
            raw_response=self._redact(data),
        )
