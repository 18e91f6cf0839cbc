"""Request-body validators built from the installed SDKs' own request types (for the strict mock server).

OpenAI and Anthropic bodies are checked against the SDKs' typed ``create()`` parameters (the
``TypedDict`` s ``CompletionCreateParamsNonStreaming`` and ``MessageCreateParamsNonStreaming``): every key,
at every depth, must be one the types declare, and the values must validate (pydantic ``TypeAdapter``).
Gemini's REST body is camelCase JSON; its field names are checked against the google-genai pydantic models
(``GenerationConfig``, ``GenerateContentConfig``, ``ThinkingConfig``), accepting each field's camelCase
and snake_case spelling. An SDK upgrade that drops a field the adapters send makes the mock answer 400,
so a test fails instead of production.

Each check returns None (valid) or ``(param, message)`` naming the first problem.
"""

from __future__ import annotations

import collections.abc
import functools
import types as pytypes
import typing
from typing import Any

from pydantic import TypeAdapter, ValidationError
from typing_extensions import is_typeddict

__all__ = ["check_body"]

# pydantic's lazy iterator type for ``Iterable[...]`` fields (not exported under a stable name).
ValidatorIterator = type(TypeAdapter(collections.abc.Iterable[int]).validate_python([1]))

Problem = tuple[str, str]


def _strip(tp: Any) -> Any:
    """The type under Annotated / Required / NotRequired / ReadOnly wrappers."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated or (
            origin is not None and getattr(origin, "_name", None) in ("Required", "NotRequired", "ReadOnly")
        ):
            tp = typing.get_args(tp)[0]
        elif str(origin).startswith("typing_extensions.") and typing.get_args(tp) and not is_typeddict(tp):
            name = str(origin).rsplit(".", 1)[-1]
            if name in ("Required", "NotRequired", "ReadOnly"):
                tp = typing.get_args(tp)[0]
            else:
                return tp
        else:
            return tp


@functools.cache
def _hints(td: Any) -> dict[str, Any]:
    return typing.get_type_hints(td, include_extras=True)


def _alternatives(tp: Any) -> tuple[Any, ...]:
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is pytypes.UnionType:
        out: list[Any] = []
        for a in typing.get_args(tp):
            out.extend(_alternatives(a))
        return tuple(out)
    return (tp,)


def _is_list_type(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin in (list, tuple, collections.abc.Iterable, collections.abc.Sequence):
        return True
    return getattr(origin, "__name__", "") in ("SequenceNotStr", "Iterable", "Sequence", "List")


def _unknown_key(value: Any, tp: Any, path: str) -> str | None:
    """The dotted path of the first key in ``value`` that ``tp`` does not declare (None: all known)."""
    if isinstance(value, dict):
        candidates = [a for a in _alternatives(tp) if is_typeddict(a)]
        if not candidates:
            return None  # a free-form mapping (metadata, JSON schema): anything goes
        # A discriminated union: keep the alternatives whose literal "type" matches.
        typed = [c for c in candidates if _type_matches(c, value.get("type"))]
        first: str | None = None
        for td in typed or candidates:
            hints = _hints(td)
            bad = next((k for k in value if k not in hints), None)
            if bad is None:
                for k, v in value.items():
                    bad_inner = _unknown_key(v, hints[k], f"{path}{k}.")
                    if bad_inner is not None:
                        bad = bad_inner
                        break
                else:
                    return None
                first = first or bad
            else:
                first = first or f"{path}{bad}"
        return first
    if isinstance(value, list):
        item_types = [
            typing.get_args(a)[0] for a in _alternatives(tp) if _is_list_type(a) and typing.get_args(a)
        ]
        for i, item in enumerate(value):
            results = [_unknown_key(item, t, f"{path}{i}.") for t in item_types]
            if results and all(r is not None for r in results):
                return results[0]
    return None


def _type_matches(td: Any, type_value: Any) -> bool:
    hint = _hints(td).get("type")
    if hint is None or type_value is None:
        return True
    args = typing.get_args(_strip(hint))
    return not args or type_value in args


def _force(value: Any) -> Any:
    """Consume pydantic's lazy iterators (``Iterable[...]`` fields) so that every item is validated."""
    if isinstance(value, ValidatorIterator):
        return [_force(v) for v in value]
    if isinstance(value, dict):
        return {k: _force(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_force(v) for v in value]
    return value


@functools.cache
def _adapter(td: Any) -> TypeAdapter[Any]:
    return TypeAdapter(td)


def _check_typed(body: dict[str, Any], td: Any) -> Problem | None:
    bad = _unknown_key(body, td, "")
    if bad is not None:
        return bad, "Extra inputs are not permitted"
    try:
        _force(_adapter(td).validate_python(body))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper()))
        return where, err["msg"]
    return None


@functools.cache
def _openai_types() -> dict[str, Any]:
    from openai.types import completion_create_params
    from openai.types.chat import completion_create_params as chat_params
    from openai.types.responses import response_create_params

    return {
        "openai-chat": chat_params.CompletionCreateParamsNonStreaming,
        "openai-completions": completion_create_params.CompletionCreateParamsNonStreaming,
        "openai-responses": response_create_params.ResponseCreateParamsNonStreaming,
    }


@functools.cache
def _anthropic_types() -> dict[str, Any]:
    from anthropic.types import message_count_tokens_params, message_create_params

    return {
        "anthropic": message_create_params.MessageCreateParamsNonStreaming,
        "anthropic-count": message_count_tokens_params.MessageCountTokensParams,
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _spellings(fields: Any) -> frozenset[str]:
    return frozenset(n for f in fields for n in (f, _camel(f)))


# GenerateContentConfig fields the SDK handles on the client side (never sent on the wire).
_CLIENT_ONLY = {
    "http_options",
    "should_return_http_response",
    "automatic_function_calling",
    "automatic_continuation",
    "continuation_token",
}


@functools.cache
def _gemini_fields() -> dict[str, frozenset[str]]:
    from google.genai import types

    gen = set(types.GenerationConfig.model_fields)
    request_level = set(types.GenerateContentConfig.model_fields) - gen - _CLIENT_ONLY
    return {
        "top": _spellings({"contents", "generation_config", *request_level}),
        "generationConfig": _spellings(gen),
        "thinkingConfig": _spellings(types.ThinkingConfig.model_fields),
        "count": _spellings({"contents", "generate_content_request"}),
        "levels": frozenset(e.value for e in types.ThinkingLevel),
    }


def _unknown(name: str, where: str = "") -> str:
    at = f" at '{where}'" if where else ""
    return f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'


def _check_gemini(api: str, body: dict[str, Any]) -> Problem | None:
    f = _gemini_fields()
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


def check_body(api: str, body: dict[str, Any]) -> Problem | None:
    """Validate a request body of ``api`` (mock server API name) against the installed SDK's types.

    Returns:
        None when valid, else ``(param, message)`` for the first problem found.
    """
    if api in ("openai-chat", "openai-completions", "openai-responses"):
        return _check_typed(body, _openai_types()[api])
    if api in ("anthropic", "anthropic-count"):
        return _check_typed(body, _anthropic_types()[api])
    if api in ("gemini", "gemini-count"):
        return _check_gemini(api, body)
    return None
