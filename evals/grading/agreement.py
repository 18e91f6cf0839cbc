"""Grader agreement on the labelled answer corpus (``answers/*.jsonl``), and a judge measured on it.

    python -m evals.agreement [--answers DIR] [--show-disagreements]
    python -m evals.agreement --judge MODEL [--base-url URL] [--limit N]

Each corpus line is an answer with the grade and outcome a careful human gives (format: the corpus spec in
``answers/README.md``). The deterministic grader regrades every line with its task
(``AnswerKey.from_dict(line["key"])``, the ``cut`` flag through :func:`haystacks.tasks.grade_answer`); the
report is the agreement (score and outcome both equal) per family and overall, and the confusion table of
human outcome × grader outcome per family. With ``--judge`` the pinned judge model
(:mod:`evals.grading.judge`)
grades the scored lines too and the report adds judge vs human and judge vs deterministic agreement
(percent and Cohen's kappa of the pass/fail verdicts).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.errors import EvalError
from haystacks.tasks import OUTCOMES, AnswerKey, Grade, task_names

__all__ = [
    "CorpusError",
    "Line",
    "agreement_report",
    "grade_line",
    "load_corpus",
    "regrade",
]

REPO = Path(__file__).resolve().parents[2]
FIELDS = ("id", "task", "language", "key", "answer", "cut", "score", "outcome")


class CorpusError(EvalError):
    """A corpus file or line that cannot be read (one line naming the file and line)."""


@dataclass(frozen=True)
class Line:
    """One labelled answer and how the deterministic grader reads it.

    Attributes:
        id: The line's id (``multi-en-007``).
        task: Its task.
        language: ``zh`` or ``en``.
        answer: The answer text.
        key: Its answer key.
        cut: Whether the answer stopped at its token budget.
        human_score: The human grade (None: not scored, ``truncated``).
        human_outcome: The human outcome.
        score: The grader's score (None when ``truncated``).
        outcome: The grader's outcome.
        raw: The JSON object.
    """

    id: str
    task: str
    language: str
    answer: str
    key: AnswerKey
    cut: bool
    human_score: float | None
    human_outcome: str
    score: float | None
    outcome: str
    raw: dict[str, Any]

    @property
    def agrees(self) -> bool:
        """Score and outcome both as the human gave them."""
        if self.outcome != self.human_outcome:
            return False
        if self.score is None or self.human_score is None:
            return self.score is None and self.human_score is None
        return abs(self.score - self.human_score) < 1e-6


def regrade(obj: dict[str, Any]) -> tuple[float | None, str]:
    """The deterministic grade of one corpus line: ``(score, outcome)``; ``(None, "truncated")`` for an
    answer cut before it committed to anything (:func:`grade_line`)."""
    g, cut_off = grade_line(obj)
    if cut_off:
        return None, "truncated"
    return g.score, g.outcome


def grade_line(obj: dict[str, Any]) -> tuple[Grade, bool]:
    """The grader's full reading of one corpus line: ``(grade, truncated)``.

    A base model's completion (a ``style`` naming ``completion``) is graded as the runner grades one: its
    answer lines only (:func:`evals.grading.score.read_answer`, the runner's reading).
    """
    from evals.grading.score import read_answer

    key = AnswerKey.from_dict(obj["key"])
    style = "completion" if "completion" in str(obj.get("style") or "") else "chat"
    reading = read_answer(str(obj["answer"]), key, style=style, cut=bool(obj.get("cut")))
    return reading.grade, reading.truncated


def _check(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CorpusError(f"{where}: not a JSON object")
    missing = [f for f in FIELDS if f not in obj]
    if missing:
        raise CorpusError(f"{where}: missing {', '.join(missing)}")
    if obj["task"] not in task_names():
        raise CorpusError(f"{where}: unknown task {obj['task']!r}")
    if obj["outcome"] not in OUTCOMES:
        raise CorpusError(f"{where}: unknown outcome {obj['outcome']!r}")
    score = obj["score"]
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise CorpusError(f"{where}: score must be a number or null, got {score!r}")
    if not isinstance(obj["key"], dict) or obj["key"].get("task") != obj["task"]:
        raise CorpusError(f"{where}: key is not an answer key of task {obj['task']!r}")
    return obj


def load_corpus(root: Path | str | None = None) -> list[Line]:
    """Read and regrade every ``answers/*.jsonl`` line.

    Args:
        root: The folder of the JSONL files (default: ``answers/`` at the repository root).

    Returns:
        The lines, file by file in name order.

    Raises:
        CorpusError: An unreadable file or a malformed line (names the file and line number).
    """
    folder = Path(root) if root is not None else REPO / "answers"
    if not folder.is_dir():
        raise CorpusError(f"no answer corpus at {folder}")
    out: list[Line] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.jsonl")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CorpusError(f"cannot read {path}: {e}") from e
        for n, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            where = f"{path.name}:{n}"
            try:
                obj = _check(json.loads(raw), where)
            except json.JSONDecodeError as e:
                raise CorpusError(f"{where}: not JSON ({e.msg})") from e
            if obj["id"] in seen:
                raise CorpusError(f"{where}: duplicate id {obj['id']!r}")
            seen.add(obj["id"])
            try:
                key = AnswerKey.from_dict(obj["key"])
                score, outcome = regrade(obj)
            except (KeyError, TypeError, ValueError) as e:
                raise CorpusError(f"{where}: cannot grade ({e})") from e
            out.append(
                Line(
                    id=str(obj["id"]),
                    task=str(obj["task"]),
                    language=str(obj["language"]),
                    answer=str(obj["answer"]),
                    key=key,
                    cut=bool(obj["cut"]),
                    human_score=None if obj["score"] is None else float(obj["score"]),
                    human_outcome=str(obj["outcome"]),
                    score=score,
                    outcome=outcome,
                    raw=obj,
                )
            )
    return out


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:5.1f}%" if n else "    -"


def agreement_report(lines: Sequence[Line], *, disagreements: bool = True) -> str:
    """The agreement per family and overall, the confusion table per family (human outcome in rows, the
    grader's in columns) and, optionally, every disagreement.

    Args:
        lines: Regraded corpus lines.
        disagreements: List every line where the grader and the human differ.

    Returns:
        The report text.
    """
    out: list[str] = []
    fams: dict[str, list[Line]] = defaultdict(list)
    for x in lines:
        fams[x.task].append(x)
    agree = sum(x.agrees for x in lines)
    out.append(f"agreement (score and outcome): {agree}/{len(lines)} = {_pct(agree, len(lines)).strip()}")
    out.append("")
    out.append(f"{'family':<14}{'n':>5}{'zh':>5}{'en':>5}{'agree':>8}")
    for task in [t for t in task_names() if t in fams]:
        xs = fams[task]
        k = sum(x.agrees for x in xs)
        zh = sum(x.language == "zh" for x in xs)
        out.append(f"{task:<14}{len(xs):>5}{zh:>5}{len(xs) - zh:>5}{_pct(k, len(xs)):>8}")
    for task in [t for t in task_names() if t in fams]:
        xs = fams[task]
        table = Counter((x.human_outcome, x.outcome) for x in xs)
        rows = [o for o in OUTCOMES if any(h == o for h, _ in table)]
        cols = [o for o in OUTCOMES if any(g == o for _, g in table)]
        out.append("")
        out.append(f"{task}: human (rows) x grader (columns)")
        width = max(12, *(len(c) + 1 for c in cols))
        out.append(" " * 14 + "".join(f"{c:>{width}}" for c in cols))
        for r in rows:
            out.append(f"{r:<14}" + "".join(f"{table.get((r, c), 0) or '.':>{width}}" for c in cols))
    if disagreements:
        bad = [x for x in lines if not x.agrees]
        if bad:
            out.append("")
            out.append(f"disagreements ({len(bad)}):")
            for x in bad:
                out.append(
                    f"  {x.id}: human {x.human_score} {x.human_outcome} / grader {x.score} {x.outcome} "
                    f"(cut={x.cut}): {x.answer[:160]!r}"
                )
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------- judge


async def judge_lines(
    lines: Iterable[Line], model: str, base_url: str | None = None
) -> list[tuple[Line, int | None]]:
    """Grade the scored corpus lines with a judge model (its registry entry; refused unless pinned).

    Args:
        lines: Corpus lines (``truncated`` ones are skipped: not scored).
        model: The judge's registry name.
        base_url: Endpoint override (a local server, the mock).

    Returns:
        ``(line, judge grade 1..10 or None)`` per judged line.
    """
    from evals.grading.judge import check_judge, judge_answer
    from providers.registry import check_usable, create_provider, resolve_api_key, resolve_model

    info = resolve_model(model)
    check_usable(info)
    # the corpus has no model under test: only the pinning rule applies
    check_judge(info, type("Nobody", (), {"alias": "", "model_id": "", "provider": ""})())
    provider = create_provider(info, base_url=base_url, api_key=resolve_api_key(info))
    try:
        todo = [x for x in lines if x.human_score is not None]
        out = []
        for x in todo:
            verdict = await judge_answer(provider, info, x.key, x.answer)
            if verdict.get("error"):
                raise CorpusError(f"judge {info.alias}: {verdict['error']}")
            out.append((x, verdict["score"]))
        return out
    finally:
        close = getattr(provider, "aclose", None)
        if close is not None:
            await close()


def judge_report(judged: Sequence[tuple[Line, int | None]]) -> str:
    """Judge vs human and judge vs deterministic agreement on the pass/fail verdicts (judge pass at
    :data:`evals.grading.judge.JUDGE_PASS`, scores at :data:`evals.grading.judge.SCORE_PASS`), and
    deterministic vs human
    on the same lines."""
    from evals.grading.judge import agreement

    ok = [(x, g) for x, g in judged if g is not None]
    lines = [f"judged {len(judged)} scored lines ({len(judged) - len(ok)} without a readable grade)"]

    def row(name: str, pairs: list[tuple[float, int]]) -> str:
        a = agreement(pairs)
        kappa = "-" if a.kappa is None else f"{a.kappa:.3f}"
        pct = "-" if a.percent is None else f"{100 * a.percent:.1f}%"
        return f"  {name:<28} n={a.n:<5} agree={pct:<7} kappa={kappa}"

    lines.append(row("judge vs human", [(x.human_score or 0.0, g) for x, g in ok]))
    lines.append(row("judge vs deterministic", [(x.score or 0.0, g) for x, g in ok if x.score is not None]))
    det = [(x.human_score or 0.0, 10 if (x.score or 0.0) >= 0.5 else 1) for x, _ in ok if x.score is not None]
    lines.append(row("deterministic vs human", det))
    by_family: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for x, g in ok:
        by_family[x.task].append((x.human_score or 0.0, g))
    for task in [t for t in task_names() if t in by_family]:
        lines.append(row(f"judge vs human: {task}", by_family[task]))
    return "\n".join(lines)
