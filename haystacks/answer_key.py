"""What a grader knows about a cell: the facts asked and the answer key (a leaf module: no imports of the
project, so the needle plans that make keys and the tasks that grade with them both build on it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AnswerKey", "Fact"]


@dataclass(frozen=True)
class Fact:
    """One fact an answer is graded on.

    Attributes:
        key: How the fact is named ("上海的神秘数字" / "the magic number for Oslo").
        answer: Its canonical answer ("4729183").
        label: The bare key an answer names it by ("上海" / "Oslo"); binds values to keys. "" = unbound.
        accept: Other forms that count as the answer (an English name for a Chinese one, say).
    """

    key: str
    answer: str
    label: str = ""
    accept: tuple[str, ...] = ()

    def forms(self) -> tuple[str, ...]:
        """The answer and every accepted form."""
        return (self.answer, *self.accept)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "answer": self.answer, "label": self.label, "accept": list(self.accept)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Fact:
        return cls(str(d["key"]), str(d["answer"]), str(d.get("label") or ""), tuple(d.get("accept") or ()))


@dataclass(frozen=True)
class AnswerKey:
    """Everything a grader needs about a cell, and nothing else (no context, no tokenizer).

    Attributes:
        task: Task name.
        language: Question language.
        question: The question asked.
        expected: The asked facts, in question order.
        decoys: Facts in the text that are *not* asked (distractors, other items); stating one is a decoy.
        absent: ``no_needle``: the asked key, present nowhere in the text.
        changed_sentence: ``changed_line``: the altered sentence as it stands in the context.
        params: Task-specific grading parameters (e.g. ``("op", "sum")``).
    """

    task: str
    language: str
    question: str
    expected: tuple[Fact, ...] = ()
    decoys: tuple[Fact, ...] = ()
    absent: Fact | None = None
    changed_sentence: str | None = None
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "language": self.language,
            "question": self.question,
            "expected": [f.to_dict() for f in self.expected],
            "decoys": [f.to_dict() for f in self.decoys],
            "absent": self.absent.to_dict() if self.absent is not None else None,
            "changed_sentence": self.changed_sentence,
            "params": {k: v for k, v in self.params},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AnswerKey:
        absent = d.get("absent")
        return cls(
            task=str(d["task"]),
            language=str(d.get("language") or "zh"),
            question=str(d.get("question") or ""),
            expected=tuple(Fact.from_dict(f) for f in d.get("expected") or ()),
            decoys=tuple(Fact.from_dict(f) for f in d.get("decoys") or ()),
            absent=Fact.from_dict(absent) if absent else None,
            changed_sentence=d.get("changed_sentence"),
            params=tuple(sorted((d.get("params") or {}).items())),
        )
