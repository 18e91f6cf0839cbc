"""Seeded needle plans: a parameter table, drawn before sizing."""

from __future__ import annotations

import pytest

from haystacks.errors import SpecError
from haystacks.needles import CHANGED_PHRASES, FAMILIES, multi_depths
from haystacks.tasks import plan_needles

TASKS = ("single", "multi", "distractor", "no_needle", "changed_line")  # the first families


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("task", TASKS)
def test_plans_are_deterministic_and_independent_of_depth(task: str, language: str) -> None:
    a = plan_needles(task, 7, language, 30.0, n_distractors=2 if task != "changed_line" else 0)
    b = plan_needles(task, 7, language, 30.0, n_distractors=2 if task != "changed_line" else 0)
    assert a == b
    other_depth = plan_needles(task, 7, language, 80.0, n_distractors=2 if task != "changed_line" else 0)
    if task not in ("multi", "changed_line"):
        assert [(n.text, n.key, n.answer) for n in a.needles] == [
            (n.text, n.key, n.answer) for n in other_depth.needles
        ]
        assert a.distractors == other_depth.distractors
        assert a.question == other_depth.question
    others = [plan_needles(task, s, language, 30.0, n_distractors=len(a.distractors)) for s in range(8, 12)]
    assert any(o != a for o in others)


def test_single_needle_matches_the_family_template() -> None:
    p = plan_needles("single", 0, "zh", 50.0)
    (n,) = p.needles
    city = n.key.removesuffix("的神秘数字")
    assert city in FAMILIES["zh"].keys
    assert n.text == f"{city}的神秘数字是{n.answer}。"
    assert len(n.answer) == 7 and n.answer.isdigit() and n.answer[0] != "0"
    assert p.question == f"{city}的神秘数字是多少？" and p.answers == (n.answer,)
    assert n.answer not in p.question
    en = plan_needles("single", 0, "en", 50.0)
    assert en.needles[0].text.startswith("The magic number for ") and en.question.startswith("What is")


def test_multi_keys_distinct_question_lists_all() -> None:
    p = plan_needles("multi", 3, "zh", 20.0, n_needles=5)
    keys = [n.key for n in p.needles]
    assert len(set(keys)) == 5 and len({n.answer for n in p.needles}) == 5
    for k in keys:
        assert k.removesuffix("的神秘数字") in p.question
    assert p.answers == tuple(n.answer for n in p.needles)
    assert [n.depth for n in p.needles] == [20.0, 36.0, 52.0, 68.0, 84.0]
    assert len(plan_needles("multi", 3, "zh", 20.0).needles) == 4  # default k
    explicit = plan_needles("multi", 3, "en", 0.0, depths=(90.0, 10.0))
    assert [n.depth for n in explicit.needles] == [90.0, 10.0]
    assert " and " in explicit.question
    # asked keys do not change when distractors are added
    with_d = plan_needles("multi", 3, "zh", 20.0, n_needles=5, n_distractors=4)
    assert [n.text for n in with_d.needles] == [n.text for n in p.needles]


def test_distractors_near_miss_and_other_keys() -> None:
    p = plan_needles("distractor", 11, "zh", 50.0)
    assert len(p.distractors) == 3  # the task's default
    true = p.needles[0]
    keys = {true.key} | {d.key for d in p.distractors}
    assert len(keys) == 4
    near = p.distractors[0].answer
    assert len(near) == 7 and sum(a != b for a, b in zip(near, true.answer, strict=True)) == 1
    assert len({d.answer for d in p.distractors} | {true.answer}) == 4
    assert all(0.0 <= d.depth <= 100.0 for d in p.distractors)
    assert p.answers == (true.answer,)


def test_no_needle_asks_about_an_absent_key() -> None:
    p = plan_needles("no_needle", 5, "en", 50.0, n_distractors=3)
    assert p.needles == () and p.answers == ()
    assert p.absent_key is not None and p.absent_key in p.question
    assert all(p.absent_key not in d.text for d in p.distractors)


def test_changed_line_phrase_from_table_question_reveals_nothing() -> None:
    for lang in ("zh", "en"):
        p = plan_needles("changed_line", 2, lang, 40.0)
        assert p.change is not None and p.change.text in CHANGED_PHRASES[lang]
        assert p.answers == (p.change.text,)
        assert p.change.text not in p.question


def test_multi_depths_spread() -> None:
    assert multi_depths(0.0, 4) == (0.0, 25.0, 50.0, 75.0)
    assert multi_depths(50.0, 2) == (50.0, 75.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "nope"}, "unknown task"),
        ({"language": "fr"}, "unknown language"),
        ({"depth": -0.1}, "outside 0..100"),
        ({"depth": 100.5}, "outside 0..100"),
        ({"depth": float("nan")}, "outside 0..100"),
        ({"task": "multi", "depths": (10.0, 120.0)}, "outside 0..100"),
        ({"task": "multi", "depths": ()}, "must not be empty"),
        ({"task": "multi", "n_needles": 3, "depths": (1.0, 2.0)}, "does not match"),
        ({"task": "single", "n_needles": 2}, "for the multi task"),
        ({"task": "single", "depths": (1.0,)}, "for the multi task"),
        ({"task": "changed_line", "n_distractors": 1}, "no distractors"),
        ({"n_distractors": -1}, ">= 0"),
        ({"task": "multi", "n_needles": 30, "n_distractors": 20}, "at most"),
        ({"seed": 1.5}, "integer"),
    ],
)
def test_plan_errors(kwargs: dict, message: str) -> None:
    args = {"task": "single", "seed": 0, "language": "zh", "depth": 50.0} | kwargs
    with pytest.raises(SpecError, match=message):
        plan_needles(**args)
