"""Records built the way the runner builds them (answer key and grade detail), for every task with its example
options, both languages and a few answers, each one JSON line exactly as ``ResultsStore.append`` writes it.

``results_main.jsonl`` was written by this script before the answer key and the grade detail were typed
(dicts then); ``tests/evals/test_record_shapes.py`` checks the typed record writes the same bytes.
Run by hand: ``python tests/data/record_shapes/make_records.py OUT.jsonl``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from evals.store.record import ResultRecord
from haystacks.builder import CellSpec
from haystacks.tasks import get_task, grade_answer, task_names


def spec_for(task: str, **over: Any) -> CellSpec:
    """A cell of ``task`` with its example options."""
    t = get_task(task)
    fields: dict[str, Any] = {"task": task, **t.cell_params(t.example_options())}
    fields.update(over)
    return CellSpec(**fields)


def records(key_as: Any = lambda key: key) -> Iterator[str]:
    """The lines; ``key_as`` turns the answer key into what the record is given (the key, or its dict)."""
    for task in task_names():
        for lang in ("zh", "en"):
            try:
                s = spec_for(task, language=lang, seed=3)
                key = get_task(task).plan(s).answer_key(task, s.language)
            except Exception:
                continue
            decoy = " ".join(f.answer for f in key.decoys[:1]) or "42"
            expected = " ".join(f.answer for f in key.expected)
            answers = [expected, "I don't know.", "不知道", decoy, key.changed_sentence or "x 1234567"]
            for i, ans in enumerate(answers):
                for cut in (False, True):
                    g, cut_off = grade_answer(get_task(task), ans, key, cut)
                    ok = not cut_off
                    rec = ResultRecord(
                        cell_id=f"{task}-{lang}-{i}-{cut}",
                        model="m",
                        task=task,
                        language=lang,
                        length=1000,
                        depth=50.0,
                        question=key.question,
                        expected=[f.answer for f in key.expected],
                        answer_key=key_as(key),
                        status="ok" if ok else "truncated",
                        answer=ans,
                        scored_answer=ans,
                        score=g.score if ok else None,
                        outcome=g.outcome if ok else "truncated",
                        score_detail=g.detail(),
                    )
                    yield json.dumps(rec.to_json(), ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        for line in records():
            f.write(line + "\n")
