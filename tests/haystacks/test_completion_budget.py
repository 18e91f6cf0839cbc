"""A base model's answer budget (completion mode): its graded answer lines, never the chat budget."""

from __future__ import annotations

import pytest

from haystacks.spec import CellSpec
from haystacks.tasks import get_task, task_names
from haystacks.tasks.base import CHAT_ANSWER, COMPLETION_LINE


@pytest.mark.parametrize(
    ("task", "params", "lines", "expected"),
    [
        ("single", {}, 1, 32),
        ("no_needle", {}, 1, 32),
        ("multi", {}, 4, 128),  # the default 4 needles: one line each
        ("multi", {"n_needles": 3}, 3, 96),
        ("multi", {"depths": (10.0, 50.0)}, 2, 64),
        ("chain", {}, 1, 32),
        ("aggregate", {}, 1, 32),
        ("changed_line", {}, 1, 96),  # one line that may quote the altered sentence
    ],
)
def test_completion_budget(task: str, params: dict, lines: int, expected: int) -> None:
    t = get_task(task)
    spec = CellSpec(task=task, **params)
    assert t.answer_lines(spec) == lines
    assert t.completion_budget(spec) == expected
    assert t.completion_budget(spec) <= t.answer_budget(spec)


def test_custom_budget_follows_its_answers() -> None:
    t = get_task("custom")
    needles = (("N1", "Q1?", "a" * 10), ("N2", "Q2?", "b" * 30))
    spec = CellSpec(task="custom", params=(("needles", needles),))
    assert t.answer_lines(spec) == 2
    assert t.completion_budget(spec) == (24 + 10) + (24 + 30)
    assert t.answer_budget(spec) == max(CHAT_ANSWER, 64 + (32 + 10) + (32 + 30))


def test_every_task_has_a_completion_budget_within_its_chat_budget() -> None:
    for name in task_names():
        t = get_task(name)
        spec = CellSpec(task=name, **t.cell_params(t.example_options()))
        assert 0 < t.completion_budget(spec) <= t.answer_budget(spec)
        assert t.completion_budget(spec) >= COMPLETION_LINE or name == "custom"


def test_plan_picks_the_budget_by_style() -> None:
    from evals.planning.grid import answer_budget

    assert answer_budget("single", {}, None, "zh", "chat") == CHAT_ANSWER
    assert answer_budget("single", {}, None, "zh", "completion") == COMPLETION_LINE
    assert answer_budget("multi", {"n_needles": 3}, None, "zh", "completion") == 3 * COMPLETION_LINE
    assert answer_budget("single", {}, 7, "zh", "completion") == 7  # --max-tokens wins
