"""What a grader knows about a cell and what it says about an answer: the facts asked and the answer key, and
the grade's detail as a result record keeps it (a leaf module: no imports of the project, so the needle plans
that make keys, the tasks that grade with them and the record that stores both all build on it).

These are the one definition of their JSON shapes: :class:`AnswerKey` is a record's ``answer_key`` and
:class:`ScoreDetail` its ``score_detail`` (frozen pydantic models; :mod:`evals.store.record` types the
record's fields with them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_serializer,
)

__all__ = ["AnswerKey", "Fact", "ScoreDetail"]


def _text(v: Any) -> Any:
    """A number written where text belongs reads as its text (keys of hand-written or older files)."""
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


_Text = Annotated[str, BeforeValidator(_text)]


def _or(default: Any) -> BeforeValidator:
    """null (or any empty value) reads as ``default``, as :meth:`AnswerKey.from_dict` always read it."""
    return BeforeValidator(lambda v: v or default)


def _named(cls: type[BaseModel], args: tuple[Any, ...], kw: dict[str, Any]) -> dict[str, Any]:
    """Positional arguments named by the fields' order (as the dataclasses these were took them). All is
    passed on by name, so a missing or wrong field is a ``ValidationError`` (pydantic validates a JSON object
    through ``__init__`` too), never a ``TypeError``."""
    if not args:
        return kw
    names = list(cls.model_fields)
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__} takes at most {len(names)} positional arguments ({len(args)} given)")
    both = [n for n in names[: len(args)] if n in kw]
    if both:
        raise TypeError(f"{cls.__name__} got {both[0]!r} both by position and by name")
    return dict(zip(names, args, strict=False)) | kw


class Fact(BaseModel):
    """One fact an answer is graded on (frozen, hashable; ``Fact(key, answer, label, accept)`` positionally).

    Attributes:
        key: How the fact is named ("上海的神秘数字" / "the magic number for Oslo").
        answer: Its canonical answer ("4729183").
        label: The bare key an answer names it by ("上海" / "Oslo"); binds values to keys. "" = unbound.
        accept: Other forms that count as the answer (an English name for a Chinese one, say).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    key: _Text
    answer: _Text
    label: Annotated[_Text, _or("")] = ""
    accept: Annotated[tuple[_Text, ...], _or(())] = ()

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(**_named(type(self), args, kw))

    def forms(self) -> tuple[str, ...]:
        """The answer and every accepted form."""
        return (self.answer, *self.accept)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (``accept`` a list)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Fact:
        """From its JSON object.

        Raises:
            pydantic.ValidationError: Not a fact (a ``ValueError``).
        """
        return cls.model_validate(d)


class AnswerKey(BaseModel):
    """Everything a grader needs about a cell, and nothing else (no context, no tokenizer).

    ``AnswerKey(task, language, question, expected=..., ...)``; frozen and hashable (when its parameters
    are). Read from JSON leniently, as records have always been read: a missing or null ``language`` is
    ``zh``, ``question`` ``""``, ``expected``/``decoys`` empty, an empty ``absent`` none, and ``params`` (a
    JSON object) is kept as its items in key order.

    Attributes:
        task: Task name.
        language: Question language.
        question: The question asked.
        expected: The asked facts, in question order.
        decoys: Facts in the text that are *not* asked (distractors, other items); stating one is a decoy.
        absent: ``no_needle``: the asked key, present nowhere in the text.
        changed_sentence: ``changed_line``: the altered sentence as it stands in the context.
        params: Task-specific grading parameters (e.g. ``("op", "sum")``); a JSON object on the wire.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    task: _Text
    language: Annotated[str, _or("zh")] = "zh"
    question: Annotated[str, _or("")] = ""
    expected: Annotated[tuple[Fact, ...], _or(())] = ()
    decoys: Annotated[tuple[Fact, ...], _or(())] = ()
    absent: Annotated[Fact | None, _or(None)] = None
    changed_sentence: str | None = None
    params: tuple[tuple[str, Any], ...] = ()

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(**_named(type(self), args, kw))

    @field_validator("params", mode="before")
    @classmethod
    def _params_in(cls, v: Any) -> Any:
        if v is None:
            return ()
        return tuple(sorted(v.items())) if isinstance(v, Mapping) else v

    @field_serializer("params")
    def _params_out(self, params: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
        return {k: v for k, v in params}

    def param(self, name: str, default: Any = None) -> Any:
        """One grading parameter (``default`` when the key has none)."""
        return dict(self.params).get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (a record's ``answer_key``)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AnswerKey:
        """From its JSON object.

        Raises:
            pydantic.ValidationError: Not an answer key (a ``ValueError``).
        """
        return cls.model_validate(d)


class ScoreDetail(BaseModel):
    """How an answer was graded, as a result record keeps it (``score_detail``; made by
    :meth:`haystacks.tasks.base.Grade.detail`). Task-specific keys (an associative cell's
    ``lexical_overlap``, an aggregate's ``op``, ...) follow the declared ones and read as attributes.

    Written with exactly the keys it was given, in order (declared, then the task's): a grade leaves
    ``located`` out unless it has one, and a record of an older writer that lacks a newer key reads it as
    None and writes it back without it.

    The declared fields are :class:`haystacks.tasks.base.Grade`'s, which documents each (here every one may be
    None: an older record may lack it).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    outcome: str | None = None
    found: tuple[_Text, ...] | None = None
    missed: tuple[_Text, ...] | None = None
    misbound: tuple[_Text, ...] | None = None
    abstained: bool | None = None
    hallucinated: bool | None = None
    distractors_found: tuple[_Text, ...] | None = None
    located: bool | None = None

    @model_serializer(mode="wrap")
    def _given_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        given = self.model_fields_set
        return {k: v for k, v in out.items() if k in given or k not in type(self).model_fields}
