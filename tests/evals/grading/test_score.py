"""Table-driven tests of the deterministic scorer."""

from __future__ import annotations

import pytest

from evals.grading.score import (
    contains_answer,
    grade,
    is_abstention,
    normalize,
    number_candidates,
    parse_chinese_number,
    parse_english_number,
    read_answer,
    score_answer,
    scored_text,
)
from haystacks.tasks import AnswerKey, Fact


@pytest.mark.parametrize(
    ("run", "digits"),
    [
        ("四七二九一八三", "4729183"),
        ("四百七十二万九千一百八十三", "4729183"),
        ("十五", "15"),
        ("二十", "20"),
        ("一百零五", "105"),
        ("两千", "2000"),
        ("十万", "100000"),
        ("一亿两千万", "120000000"),
        ("二零二四", "2024"),
        ("〇〇七", "007"),
        ("472万9183", "4729183"),
        ("肆柒贰玖壹捌叁", "4729183"),
        ("一千二百三十四万五千六百七十八", "12345678"),
    ],
)
def test_parse_chinese_number(run: str, digits: str) -> None:
    assert parse_chinese_number(run) == digits


@pytest.mark.parametrize(
    ("run", "digits"),
    [
        ("four seven two nine one eight three", "4729183"),
        ("four million seven hundred twenty-nine thousand one hundred eighty-three", "4729183"),
        ("four million, seven hundred and twenty-nine thousand, one hundred and eighty-three", "4729183"),
        ("twelve", "12"),
        ("one hundred", "100"),
        ("zero zero seven", "007"),
    ],
)
def test_parse_english_number(run: str, digits: str) -> None:
    assert parse_english_number(run) == digits


@pytest.mark.parametrize(
    ("answer", "expected", "hit"),
    [
        ("4729183", "4729183", True),
        ("答案是4729183。", "4729183", True),
        ("答案是４７２９１８３。", "4729183", True),  # full-width digits
        ("４，７２９，１８３", "4729183", True),  # full-width with separators
        ("4,729,183", "4729183", True),
        ("4 729 183", "4729183", True),
        ("472-9183", "4729183", True),
        ("四七二九一八三", "4729183", True),
        ("神秘数字是四百七十二万九千一百八十三。", "4729183", True),
        ("The magic number is four seven two nine one eight three.", "4729183", True),
        ("It is four million seven hundred twenty-nine thousand one hundred eighty-three", "4729183", True),
        ("47291835", "4729183", False),  # substring of a longer number is a miss
        ("14729183", "4729183", False),
        ("数字是 14729183。", "4729183", False),
        ("472918", "4729183", False),
        ("4729184", "4729183", False),
        ("答案：4729183，另外还有12", "4729183", True),
        ("12和4729183", "4729183", True),
        ("", "4729183", False),
        ("蓝色的 雨伞！", "蓝色的雨伞", True),
        ("The Blue Umbrella", "blue umbrella", True),
        ("红色的雨伞", "蓝色的雨伞", False),
    ],
)
def test_contains_answer(answer: str, expected: str, hit: bool) -> None:
    assert contains_answer(answer, expected) is hit


def test_number_candidates_whole_numbers_only() -> None:
    cands = number_candidates("4,729,183 and 47291835")
    assert "4729183" in cands
    assert "47291835" in cands
    assert "729183" in cands  # a trailing group is a whole group
    assert "4729" in cands  # leading groups joined
    assert "291835" not in cands  # never a substring of a digit run


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("４,７２９,１８３。", "4729183"),
        ("Ａｂｃ　ｄ！", "abcd"),
        ("上海 的 神秘数字：", "上海的神秘数字"),
    ],
)
def test_normalize(text: str, norm: str) -> None:
    assert normalize(text) == norm


@pytest.mark.parametrize(
    ("answer", "abstains"),
    [
        ("文中没有提到。", True),
        ("我不知道", True),
        ("无法找到相关信息", True),
        ("The text does not mention it.", True),
        ("It is not mentioned in the context.", True),
        ("I don't know.", True),
        ("无", True),
        ("4729183", False),
        ("上海的神秘数字是4729183", False),
        ("Someone said nothing.", False),
    ],
)
def test_is_abstention(answer: str, abstains: bool) -> None:
    assert is_abstention(answer) is abstains


@pytest.mark.parametrize(
    ("task", "answer", "expected", "score"),
    [
        ("single", "4729183", ["4729183"], 1.0),
        ("single", "答案是４７２９１８３", ["4729183"], 1.0),
        ("single", "47291835", ["4729183"], 0.0),
        ("single", "我不知道", ["4729183"], 0.0),
        ("multi", "1111111, 2222222", ["1111111", "2222222", "3333333"], 2 / 3),
        ("multi", "一一一一一一一", ["1111111", "2222222", "3333333"], 1 / 3),
        ("multi", "", ["1111111", "2222222"], 0.0),
        ("multi", "1111111 2222222 3333333 4444444", ["1111111", "2222222", "3333333", "4444444"], 1.0),
        ("distractor", "5555555", ["4729183"], 0.0),
        ("distractor", "4729183", ["4729183"], 1.0),
    ],
)
def test_score_needle_tasks(task: str, answer: str, expected: list[str], score: float) -> None:
    assert score_answer(task, answer, expected).score == pytest.approx(score)


def test_partial_credit_detail() -> None:
    r = score_answer("multi", "1111111 and 3333333", ["1111111", "2222222", "3333333"])
    assert r.found == ("1111111", "3333333")
    assert r.missed == ("2222222",)
    assert r.detail().found == ("1111111", "3333333")


def test_distractor_hedging_is_a_hedge() -> None:
    # values without keys: naming a decoy's value beside the asked one is a hedge, not an answer
    answer = "北京是5555555，上海是4729183"
    r = score_answer("distractor", answer, ["4729183"], distractors=["5555555", "6666666"])
    assert r.score == 0.0 and r.outcome == "hedged"
    assert r.distractors_found == ("5555555",)
    r2 = score_answer("distractor", "5555555", ["4729183"], distractors=["5555555"])
    assert r2.score == 0.0
    assert r2.detail().distractors_found == ("5555555",)


@pytest.mark.parametrize(
    ("answer", "score", "abstained", "hallucinated"),
    [
        ("文中没有提到上海的神秘数字。", 1.0, True, False),
        ("The text does not mention a magic number.", 1.0, True, False),
        ("上海的神秘数字是4729183。", 0.0, False, True),
        ("四七二九一八三", 0.0, False, True),
        ("没有提到，但可能是 4729183", 0.0, True, True),
        ("采访者：你好", 0.0, False, False),  # neither abstains nor invents
        ("文中没有提到，2024年的采访里也没有", 1.0, True, False),  # a year is not a value
    ],
)
def test_no_needle(answer: str, score: float, abstained: bool, hallucinated: bool) -> None:
    r = score_answer("no_needle", answer, [])
    assert (r.score, r.abstained, r.hallucinated) == (score, abstained, hallucinated)
    assert r.detail().hallucinated is hallucinated


@pytest.mark.parametrize(
    ("answer", "located"),
    [
        ("被改动的是：他在1998年搬到了杭州。", True),  # quotes the altered sentence
        ("杭州", True),  # names the altered value
        ("他在1998年搬到了", False),  # quotes only the unchanged part of the sentence
        ("他在", False),  # too little
        ("北京", False),
        ("", False),
    ],
)
def test_changed_line(answer: str, located: bool) -> None:
    r = score_answer("changed_line", answer, ["杭州"], changed_sentence="他在1998年搬到了杭州。")
    assert r.located is located
    assert r.score == (1.0 if located else 0.0)
    assert r.detail().located is located


def test_unknown_task_and_missing_expected() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        score_answer("bogus", "x", ["1"])
    with pytest.raises(ValueError, match="expected answer"):
        score_answer("single", "x", [])


@pytest.mark.parametrize(
    ("text", "scored", "ends"),
    [
        ("4729183", "4729183", True),
        ("4729183\nQuestion: next", "4729183", False),  # a base model's answer line, then more text
        ("\n杭州：1\n太原：2\n", "杭州：1\n太原：2", True),
        ("Answer: 1\n\nAnswer: 1", "Answer: 1", False),
    ],
)
def test_runs_to_end(text: str, scored: str, ends: bool) -> None:
    from evals.grading.score import runs_to_end

    assert runs_to_end(text, scored) is ends


def _two_city_key() -> AnswerKey:
    return AnswerKey(
        task="multi",
        language="zh",
        question="杭州和太原的神秘数字分别是多少？",
        expected=(
            Fact("杭州的神秘数字", "4729183", "杭州"),
            Fact("太原的神秘数字", "5521907", "太原"),
        ),
    )


def test_read_answer_completion_reads_the_answer_lines_only() -> None:
    """A base model answers one line per asked fact, then keeps writing: only those lines are graded."""
    text = "\n杭州：4729183\n太原：5521907\n问题：上海的神秘数字是多少？\n答案：1"
    r = read_answer(text, _two_city_key(), style="completion")
    assert r.scored == "杭州：4729183\n太原：5521907"
    assert (r.grade.score, r.grade.outcome, r.truncated) == (1.0, "found", False)
    # the same text read as a chat answer is graded whole: the extra value after it is a third claim
    whole = read_answer(text, _two_city_key(), style="chat")
    assert whole.scored == text


def test_read_answer_cut_before_committing_is_truncated_not_wrong() -> None:
    """Cut by its budget mid-number before any value was finished: not scored (the runner's and the
    corpus's one reading)."""
    r = read_answer("Let me look through the text for Hangzhou: 47291", _two_city_key(), cut=True)
    assert r.truncated is True
    done = read_answer("杭州：4729183；太原：5521907。", _two_city_key(), cut=True)
    assert (done.truncated, done.grade.score) == (False, 1.0)
    # a number the cut may have stopped mid-way is left out: the first value stands, the last is unknown
    open_end = read_answer("杭州：4729183；太原：5521907", _two_city_key(), cut=True)
    assert (open_end.truncated, open_end.grade.score) == (False, 0.5)


def test_grade_is_the_cells_task_grade() -> None:
    """``grade`` applies the key's own task: the same answer, keyed for multi, is graded by multi's rule."""
    key = _two_city_key()
    g = grade("杭州：4729183；太原：5521907。", key)
    assert (g.score, g.outcome) == (1.0, "found")
    half = grade("杭州：4729183。", key)
    assert (half.score, half.outcome) == (0.5, "partial")
    assert grade("太原：4729183。", key).outcome == "misbound"


def test_read_answer_defaults_and_a_cut_after_the_answer_lines() -> None:
    """By default an answer is a chat answer, not cut; a completion whose answer lines are followed by more
    text was not cut inside them, so their last number stands even when the budget ran out later."""
    whole = read_answer("杭州：4729183；太原：5521907", _two_city_key())
    assert (whole.scored, whole.grade.score, whole.truncated) == ("杭州：4729183；太原：5521907", 1.0, False)
    text = "杭州：4729183\n太原：5521907\n问题：上海的神秘数字"
    later = read_answer(text, _two_city_key(), style="completion", cut=True)
    assert (later.grade.score, later.truncated) == (1.0, False)


def test_scored_text_reads_one_line_by_default() -> None:
    assert scored_text("4729183\n5521907", "completion") == "4729183"
    assert scored_text("4729183\n5521907", "chat") == "4729183\n5521907"
