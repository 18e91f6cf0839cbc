"""The LLM judge: pinning and same-model checks, rubric prompt, grade parsing, agreement statistics."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from evals.errors import JudgeError
from evals.grading.judge import agreement, check_judge, is_pinned, judge_prompt, parse_judge_score


def info(alias: str, model_id: str, provider: str = "openai") -> SimpleNamespace:
    return SimpleNamespace(alias=alias, model_id=model_id, provider=provider)


@pytest.mark.parametrize(
    ("model_id", "pinned"),
    [
        ("gpt-4o-2024-08-06", True),
        ("claude-3-5-sonnet-20241022", True),
        ("gemini-1.5-pro-002", True),
        ("gpt-4o", False),
        ("claude-3-5-sonnet-latest", False),
        ("gemini-2.5-pro", False),
    ],
)
def test_is_pinned(model_id: str, pinned: bool) -> None:
    assert is_pinned(model_id) is pinned


def test_check_judge() -> None:
    model = info("gpt-4o", "gpt-4o-2024-08-06")
    check_judge(info("claude-3-5-sonnet", "claude-3-5-sonnet-20241022", "anthropic"), model)
    with pytest.raises(JudgeError, match="is the model under test"):
        check_judge(info("gpt-4o-snap", "gpt-4o-2024-08-06"), model)
    with pytest.raises(JudgeError, match="not pinned"):
        check_judge(info("gpt-4o-mini", "gpt-4o-mini"), model)
    pinned_flag = SimpleNamespace(alias="j", model_id="my-judge", provider="openai", pinned=True)
    check_judge(pinned_flag, model)
    check_judge(info("gemma-3-270m", "gemma-3-270m-q4_k_m", "local"), model)  # a fixed local file


def test_prompt_holds_the_parts() -> None:
    p = judge_prompt("上海的神秘数字是什么？", "4729183", "是4729183", "zh")
    assert "4729183" in p and "是4729183" in p and "[[N]]" in p
    assert "(empty)" in judge_prompt("q", "r", "  ", "en")


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("[[10]]", 10),
        ("Score: [[ 7 ]] because...", 7),
        ("8", 8),
        ("评分：3", 3),
        ("[[11]]", None),
        ("The answer is wrong.", None),
        ("0", None),
    ],
)
def test_parse_grade(text: str, grade: int | None) -> None:
    assert parse_judge_score(text) == grade


def test_agreement_hand_computed() -> None:
    # 10 answers: 4 both pass, 3 both fail, 2 judge-only pass, 1 score-only pass
    pairs = [(1.0, 10)] * 4 + [(0.0, 1)] * 3 + [(0.0, 8)] * 2 + [(1.0, 5)]
    a = agreement(pairs)
    assert a.n == 10
    assert a.percent == pytest.approx(0.7)
    # p_s = 0.5, p_j = 0.6 -> pe = 0.3 + 0.2 = 0.5 -> kappa = (0.7 - 0.5) / 0.5 = 0.4
    assert a.kappa == pytest.approx(0.4)
    assert (a.judge_only, a.score_only) == (2, 1)


def test_agreement_edge_cases() -> None:
    assert agreement([]).percent is None
    perfect = agreement([(1.0, 10), (1.0, 9)])
    assert perfect.percent == 1.0 and perfect.kappa is None  # all one class: kappa undefined
