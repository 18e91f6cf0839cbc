"""``custom``: your own needle(s), question(s) and answer(s) — the San Francisco sandwich test.

Given on the command line (``--needle TEXT --question TEXT --answer TEXT``, repeatable) or in a TOML/JSONL
file, they reach the task as the cell parameter ``needles``: a tuple of ``(needle, question, answer)``. One
needle goes at the cell's depth; several are spread from it towards the end, as in ``multi``. Several
questions are asked together, numbered; each answer found scores its share.

Grading: with several questions, an answer laid out as a numbered list (or "question 2: ...", "问题2：...")
is read item by item, item i answering question i (the list index is the key here, never a value); else
the whole answer is read for each question. A numeric answer is read as every other numeric fact is (the
one reader: the committed value, a second candidate is a hedge, an approximation is not exact). A text
answer counts when the answer states it or a close paraphrase: at least :data:`PARAPHRASE_RECALL` of its
content tokens (:func:`haystacks.reading.phrase_recall`; "eating a sandwich at Dolores Park" for "eat a
sandwich in Dolores Park"); an answer naming another colour than the answer's states none of it. The
threshold is measured on ``answers/custom.jsonl`` (50 answers): right answers recall 0.55 or more, wrong
ones 0.5 or less. An answer that states it while leaving another candidate open ("either A or B",
可能是A，也可能是B) is ``hedged`` (no credit). A one-word answer needs that word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from haystacks.errors import SpecError
from haystacks.grading import normalize
from haystacks.needles import NeedlePlan, PlannedNeedle, check_depth, multi_depths
from haystacks.reading import hedges, is_refusal, numbers, phrase_recall, prepare
from haystacks.tasks.base import CHAT_ANSWER, AnswerKey, Fact, Grade, Task, fact_values, verdict
from haystacks.tasks.registry import register

if TYPE_CHECKING:
    from haystacks.builder import CellSpec

__all__ = [
    "PARAPHRASE_RECALL",
    "CustomTask",
    "answer_items",
    "check_custom_needles",
    "custom_needles",
    "load_needles_file",
]

_KEY = {"zh": "问题{i}", "en": "question {i}"}
#: Share of a text answer's content tokens an answer must state (measured on answers/custom.jsonl).
PARAPHRASE_RECALL = 0.55
_ITEM = re.compile(
    r"^[ \t>*_#-]*(?:(?:question|q|问题|问|第)\s*)?(\d{1,2})\s*(?:[.)、:：]|题|个问题)[ \t*_]*", re.I | re.M
)


def answer_items(answer: str, n: int) -> list[str] | None:
    """The answer's items 1..n when it is laid out as a numbered list of n items (else None)."""
    marks = [(int(m.group(1)), m.start(), m.end()) for m in _ITEM.finditer(answer)]
    marks = [x for x in marks if 1 <= x[0] <= n]
    if n < 2 or len({i for i, _, _ in marks}) != n:
        return None
    items = [""] * n
    for j, (i, _, end) in enumerate(marks):
        stop = marks[j + 1][1] if j + 1 < len(marks) else len(answer)
        items[i - 1] += " " + answer[end:stop]
    return items


def check_custom_needles(needles: Sequence[Sequence[str]]) -> tuple[tuple[str, str, str], ...]:
    """Validate user needles: each a (needle, question, answer) triple, the needle containing its answer.

    Raises:
        SpecError: One line naming the first bad needle.
    """
    out: list[tuple[str, str, str]] = []
    if not needles:
        raise SpecError("the custom task needs at least one --needle with its --question and --answer")
    for i, triple in enumerate(needles, 1):
        if len(triple) != 3:
            raise SpecError(f"needle {i}: give a needle, a question and an answer")
        text, question, answer = (" ".join(str(x).split()) for x in triple)
        if not text:
            raise SpecError(f"needle {i}: the needle text is empty")
        if not question:
            raise SpecError(f"needle {i}: the question is empty")
        if not normalize(answer):
            raise SpecError(f"needle {i}: the answer is empty")
        if normalize(answer) not in normalize(text):
            raise SpecError(f"needle {i}: the needle {text[:60]!r} does not contain its answer {answer!r}")
        out.append((text, question, answer))
    return tuple(out)


class CustomTask(Task):
    name = "custom"
    summary = "your own needle(s), question(s) and answer(s) (--needle/--question/--answer or --needles-file)"
    options = ("needles",)

    def needles_of(self, spec: CellSpec) -> tuple[tuple[str, str, str], ...]:
        return check_custom_needles(spec.param("needles") or ())

    def plan(self, spec: CellSpec) -> NeedlePlan:
        triples = self.needles_of(spec)
        depth = check_depth(spec.depth)
        depths = (depth,) if len(triples) == 1 else multi_depths(depth, len(triples))
        needles = tuple(
            PlannedNeedle(kind="needle", text=t, key=q, answer=a, depth=d)
            for (t, q, a), d in zip(triples, depths, strict=True)
        )
        if len(triples) == 1:
            question = triples[0][1]
        else:
            question = "\n".join(f"{i}. {q}" for i, (_, q, _a) in enumerate(triples, 1))
        key_name = _KEY.get(spec.language, _KEY["en"])
        facts = tuple(Fact(key_name.format(i=i), a) for i, (_, _q, a) in enumerate(triples, 1))
        return NeedlePlan(
            needles=needles,
            distractors=(),
            change=None,
            question=question,
            answers=tuple(a for _, _, a in triples),
            absent_key=None,
            clause_sep="",
            facts=facts,
        )

    def answer_budget(self, spec: CellSpec) -> int:
        triples = spec.param("needles") or ()
        # each answer restated with framing (about a token per 2 characters, plus 32 of sentence); never
        # below a one-fact chat answer (the corpus: 50 tokens at most for 1-2 needles)
        return max(CHAT_ANSWER, 64 + sum(32 + len(str(t[2])) for t in triples))

    def answer_lines(self, spec: CellSpec) -> int:
        return max(1, len(spec.param("needles") or ()))

    def completion_budget(self, spec: CellSpec) -> int:
        # each answer on its own line, about a token per 2 characters of it, plus framing
        return min(
            self.answer_budget(spec), sum(24 + len(str(t[2])) for t in spec.param("needles") or ()) or 32
        )

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        items = answer_items(answer, len(key.expected))
        found: list[str] = []
        hedged: list[str] = []
        for i, f in enumerate(key.expected):
            part = items[i] if items is not None else answer
            exp = normalize(f.answer)
            if exp.isdigit():
                p = prepare(part)
                v = verdict(p, [m for m in numbers(p) if not m.weak])
                hits = [m for m in v.values if not fact_values(f).isdisjoint(m.readings)]
                if v.state == "one" and hits:
                    found.append(f.answer)
                elif hits:
                    hedged.append(f.answer)
                continue
            recall = max(phrase_recall(part, form) for form in f.forms())
            if recall >= PARAPHRASE_RECALL and hedges(part):
                hedged.append(f.answer)
            elif recall >= PARAPHRASE_RECALL:
                found.append(f.answer)
        score = len(found) / len(key.expected)
        refused = is_refusal(answer)
        if score == 1.0:
            outcome = "found"
        elif score > 0:
            outcome = "partial"
        elif hedged:
            outcome = "hedged"
        elif refused:
            outcome = "abstained"
        elif not answer.strip():
            outcome = "wrong_format"
        else:
            outcome = "wrong"
        return Grade(
            score=score,
            outcome=outcome,
            found=tuple(found),
            missed=tuple(f.answer for f in key.expected if f.answer not in found),
            abstained=refused,
            firm=score > 0 or refused,
        )

    def example_options(self) -> dict[str, Any]:
        return {
            "needles": (
                (
                    "The best thing to do in San Francisco is eat a sandwich in Dolores Park on a sunny day.",
                    "What is the best thing to do in San Francisco?",
                    "eat a sandwich in Dolores Park",
                ),
            )
        }

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        needles = options.get("needles") or ()
        return {"params": (("needles", tuple(tuple(t) for t in needles)),)}


register(CustomTask())


def load_needles_file(path: str | Path) -> tuple[tuple[str, str, str], ...]:
    """Read custom needles from TOML (``[[needle]]`` tables) or JSONL (one object a line).

    Each row has ``needle`` (or ``text``), ``question`` and ``answer``.

    Raises:
        SpecError: Unreadable file, bad syntax, a row without its three fields (one line naming it).
    """
    import json
    import sys

    p = Path(path)
    try:
        raw = p.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise SpecError(f"cannot read needles file {p}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise SpecError(f"needles file {p} is not UTF-8 (invalid byte at offset {e.start})") from e
    rows: list[Any] = []
    if p.suffix.lower() == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        try:
            data = tomllib.loads(raw)
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"needles file {p}: {e}") from e
        rows = list(data.get("needle") or data.get("needles") or [])
    else:
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SpecError(f"needles file {p}, line {n}: not JSON ({e.msg})") from e
    triples = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise SpecError(f"needles file {p}, row {n}: expected a table with needle, question, answer")
        text = row.get("needle", row.get("text"))
        if not all(isinstance(x, str) for x in (text, row.get("question"), row.get("answer"))):
            raise SpecError(f"needles file {p}, row {n}: needs needle, question and answer (text)")
        triples.append((text, row["question"], row["answer"]))
    if not triples:
        raise SpecError(f"needles file {p} holds no needle")
    return check_custom_needles(triples)


def custom_needles(
    needles: Sequence[str] = (),
    questions: Sequence[str] = (),
    answers: Sequence[str] = (),
    needles_file: str | Path | None = None,
) -> tuple[tuple[str, str, str], ...]:
    """The custom needles from repeated ``--needle/--question/--answer`` flags and/or a needles file.

    Raises:
        SpecError: Counts that do not match, or a bad needle.
    """
    if not (len(needles) == len(questions) == len(answers)):
        raise SpecError(
            f"give one --question and one --answer per --needle (got {len(needles)} needles, "
            f"{len(questions)} questions, {len(answers)} answers)"
        )
    triples = list(zip(needles, questions, answers, strict=True))
    if needles_file is not None:
        triples.extend(load_needles_file(needles_file))
    return check_custom_needles(triples)
