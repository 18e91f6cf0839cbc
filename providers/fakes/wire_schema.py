"""Request bodies checked against an installed SDK's own request types (for the strict fakes).

:func:`check_typed` checks a body against a typed ``create()`` parameter ``TypedDict`` (openai's
``CompletionCreateParamsNonStreaming``, anthropic's ``MessageCreateParamsNonStreaming``): every key, at every
depth, must be one the types declare, and the values must validate (pydantic ``TypeAdapter``).
:func:`spellings` gives a pydantic model's field names in camelCase and snake_case (google-genai's REST
bodies). An SDK upgrade that drops a field an adapter sends makes the fake answer 400, so a test fails
instead of production. Checks return None (valid) or ``(param, message)`` naming the first problem.
"""

from __future__ import annotations

import collections.abc
import functools
import types as pytypes
import typing
from typing import Any

from pydantic import TypeAdapter, ValidationError
from typing_extensions import is_typeddict

__all__ = ["Problem", "check_typed", "spellings"]

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


def check_typed(body: dict[str, Any], td: Any) -> Problem | None:
    """The first unknown key or invalid value of ``body`` against the TypedDict ``td`` (None: valid)."""
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


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def spellings(fields: Any) -> frozenset[str]:
    """Each field name in snake_case and camelCase."""
    return frozenset(n for f in fields for n in (f, _camel(f)))
