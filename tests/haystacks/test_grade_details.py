"""The whole reading of an answer, not only its score: what it committed to (``committed``, ``commitment``,
``route``), which decoys it stated, what was misbound or hedged, whether a cut answer had committed
(``firm``) and was graded or counted as truncated. Each row an answer as GPT/Claude/Gemini (or a small local
model) write them, graded as a careful human reads it; rows named by a corpus id are that labelled corpus
line (``answers/*.jsonl``), graded on the corpus path. Written to kill the grader's mutants
(``benchmarks/mutation_grading.py``) that no score-and-outcome case noticed."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from evals.grading.agreement import REPO, grade_line
from haystacks.tasks import AnswerKey, get_task, grade_answer

from .test_reading import KEYS as READING_KEYS

KEYS: dict[str, dict[str, Any]] = {
    **READING_KEYS,
    "multi2-en": {  # two asked keys and a look-alike decoy of another city
        "task": "multi",
        "language": "en",
        "question": "What are the magic numbers for Reykjavik and Perth?",
        "expected": [
            {"key": "Reykjavik", "answer": "3714215", "label": "Reykjavik", "accept": []},
            {"key": "Perth", "answer": "2954045", "label": "Perth", "accept": []},
        ],
        "decoys": [{"key": "Havana", "answer": "6916368", "label": "Havana", "accept": []}],
    },
}


@cache
def _corpus() -> dict[str, dict[str, Any]]:
    lines = {}
    for path in sorted((REPO / "answers").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            lines[obj["id"]] = obj
    return lines


def _reading(source: str, answer: str | None, cut: bool) -> dict[str, Any]:
    if answer is None:
        g, truncated = grade_line(_corpus()[source])
    else:
        k = AnswerKey.from_dict(KEYS[source])
        g, truncated = grade_answer(get_task(k.task), answer, k, cut)
    return {
        "score": round(g.score, 4),
        **g.detail().model_dump(mode="json"),
        "firm": g.committed,
        "truncated": truncated,
    }


# (a key of test_reading.KEYS or a corpus id, the answer (None: the corpus line's), cut, expected reading)
DETAILS: list[tuple[str, str | None, bool, dict[str, Any]]] = [
    (
        "chain-en-037",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["KN-726"],
            "missed": [],
            "misbound": [],
            "distractors_found": [],
            "committed": ["KN-726"],
            "commitment": "one",
            "route": "first",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "chain-en",
        "HW-435 then GG-681. So: GG-681.",
        True,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["GG-681"],
            "missed": [],
            "misbound": [],
            "distractors_found": ["HW-435"],
            "committed": ["GG-681"],
            "commitment": "one",
            "route": "path",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "ordered-en-025",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "hedged",
            "found": [],
            "missed": ["957020"],
            "misbound": [],
            "distractors_found": ["971155"],
            "committed": ["957020", "971155"],
            "commitment": "hedge",
            "route": "named",
            "firm": False,
            "truncated": False,
        },
    ),
    (
        "chain-zh-028",
        None,
        True,
        {
            "score": 0.0,
            "outcome": "hedged",
            "found": [],
            "missed": ["YD-800"],
            "misbound": [],
            "distractors_found": ["PD-508", "TA-826", "DZ-756"],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "ordered-zh-012",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["440890"],
            "missed": [],
            "misbound": [],
            "distractors_found": ["957048", "320843", "976969"],
            "committed": ["440890"],
            "commitment": "one",
            "route": "first",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "multi-en-039",
        None,
        True,
        {
            "score": 0.3333,
            "outcome": "partial",
            "found": ["8294589"],
            "missed": ["7633159", "7630271"],
            "misbound": ["7630271", "8294589"],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "sum-en",
        "The total is 1,314 crates.",
        False,
        {
            "score": 0.0,
            "outcome": "wrong",
            "found": [],
            "missed": ["314"],
            "misbound": [],
            "distractors_found": [],
            "committed": ["1314"],
            "commitment": "one",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "sum-en",
        "Adding all 4 shipments gives 314 crates.",
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["314"],
            "missed": [],
            "misbound": [],
            "distractors_found": [],
            "committed": ["314"],
            "commitment": "one",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "changed_line-zh-006",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "wrong",
            "found": [],
            "missed": ["一条会说话的围巾坚持要去南极度假"],
            "misbound": [],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "ordered-zh-021",
        None,
        True,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["314292"],
            "missed": [],
            "misbound": [],
            "distractors_found": ["528166"],
            "committed": ["314292"],
            "commitment": "one",
            "route": "named",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "topical-en-033",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "hallucinated",
            "found": [],
            "missed": ["117"],
            "misbound": [],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "multi-en",
        "1111111",
        False,
        {
            "score": 0.0,
            "outcome": "hallucinated",
            "found": [],
            "missed": ["3714215", "2954045", "5933879"],
            "misbound": [],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "custom-en",
        "1. A sandwich in Dolores Park.\n2. Red.",
        False,
        {
            "score": 0.5,
            "outcome": "partial",
            "found": ["eat a sandwich in Dolores Park"],
            "missed": ["blue"],
            "misbound": [],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "associative-zh-025",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "abstained",
            "found": [],
            "missed": ["周墨白"],
            "misbound": [],
            "distractors_found": ["江月白", "陆知遥"],
            "committed": [],
            "commitment": "none",
            "route": "",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "chain-en-012",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "decoy",
            "found": [],
            "missed": ["XS-242"],
            "misbound": [],
            "distractors_found": ["LR-187"],
            "committed": ["LR-187"],
            "commitment": "one",
            "route": "first",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "aggregate-en-036",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["97"],
            "missed": [],
            "misbound": [],
            "distractors_found": ["96", "93"],
            "committed": ["97"],
            "commitment": "one",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "chain-en",
        "DF-562",
        False,
        {
            "score": 0.0,
            "outcome": "decoy",
            "found": [],
            "missed": ["GG-681"],
            "misbound": [],
            "distractors_found": ["DF-562"],
            "committed": ["DF-562"],
            "commitment": "one",
            "route": "first",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "associative-en",
        "Yukiko.",
        False,
        {
            "score": 0.0,
            "outcome": "hallucinated",
            "hallucinated": True,
            "found": [],
            "missed": ["Ravindra"],
            "misbound": [],
            "distractors_found": [],
            "committed": ["Yukiko"],
            "commitment": "one",
            "route": "first",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "sum-zh",
        "大约314箱。",
        False,
        {
            "score": 0.0,
            "outcome": "hedged",
            "found": [],
            "missed": ["314"],
            "misbound": [],
            "distractors_found": [],
            "committed": ["314"],
            "commitment": "approx",
            "firm": False,
            "truncated": False,
        },
    ),
    (
        "associative-zh",
        "不是方怀瑾，是白露晞。",
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["白露晞"],
            "missed": [],
            "misbound": [],
            "distractors_found": ["方怀瑾"],
            "committed": ["白露晞"],
            "commitment": "one",
            "route": "first",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "count-zh",
        "共有四批，分别是37箱、86",
        True,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["4"],
            "missed": [],
            "misbound": [],
            "distractors_found": ["37"],
            "committed": ["4"],
            "commitment": "one",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "sum-en",
        "37+86+97+94=314",
        True,
        {
            "score": 0.0,
            "outcome": "decoy",
            "found": [],
            "missed": ["314"],
            "misbound": [],
            "distractors_found": ["37", "86", "97", "94"],
            "committed": ["37", "86", "97", "94"],
            "commitment": "hedge",
            "firm": False,
            "truncated": True,
        },
    ),
    (
        "ordered-en",
        "208253, 913495, 941629",
        True,
        {
            "score": 0.0,
            "outcome": "decoy",
            "found": [],
            "missed": ["941629"],
            "misbound": [],
            "distractors_found": ["208253", "913495"],
            "committed": ["208253", "913495"],
            "commitment": "hedge",
            "route": "all",
            "firm": False,
            "truncated": True,
        },
    ),
    (
        "topical-en",
        "About 0.4 million tokens.",
        False,
        {
            "score": 0.0,
            "outcome": "hedged",
            "found": [],
            "missed": ["400000"],
            "misbound": [],
            "distractors_found": [],
            "hedged": ["400000"],
            "firm": False,
            "truncated": False,
        },
    ),
    (
        "associative-en",
        "Aidan has been to Prague.",
        False,
        {
            "score": 0.0,
            "outcome": "wrong",
            "found": [],
            "missed": ["Ravindra"],
            "misbound": [],
            "distractors_found": [],
            "committed": [],
            "commitment": "none",
            "route": "",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "chain-en",
        "Its final label is QQ-999.",
        False,
        {
            "score": 0.0,
            "outcome": "hallucinated",
            "hallucinated": True,
            "found": [],
            "missed": ["GG-681"],
            "misbound": [],
            "distractors_found": [],
            "committed": ["QQ-999"],
            "commitment": "one",
            "route": "first",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "sum-en",
        "About 300 crates in total.",
        False,
        {
            "score": 0.0,
            "outcome": "wrong",
            "found": [],
            "missed": ["314"],
            "misbound": [],
            "distractors_found": [],
            "committed": ["300"],
            "commitment": "approx",
            "firm": False,
            "truncated": False,
        },
    ),
    (
        "associative-zh",
        "白露晞在宽窄巷子拍了照，宽窄巷子在成都。方怀瑾去的是金门大桥。",
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["白露晞"],
            "missed": [],
            "misbound": [],
            "distractors_found": ["方怀瑾"],
            "committed": ["白露晞"],
            "commitment": "one",
            "route": "named",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "multi-zh",
        "太原：8493721；长春：3462716；海口：1346564",
        False,
        {
            "score": 0.3333,
            "outcome": "partial",
            "found": ["1346564"],
            "missed": ["3462716", "8493721"],
            "misbound": ["8493721", "3462716"],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "distractor-en",
        "It could be 6916368... no, it is 3916368.",
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["3916368"],
            "missed": [],
            "misbound": [],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "count-en",
        "No one says how many shipments there were.",
        False,
        {
            "score": 0.0,
            "outcome": "abstained",
            "found": [],
            "missed": ["4"],
            "misbound": [],
            "distractors_found": [],
            "committed": [],
            "commitment": "none",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "changed-en",
        "The inserted phrase is: four flamingos prac",
        True,
        {
            "score": 0.0,
            "outcome": "wrong_format",
            "found": [],
            "missed": ["four flamingos practised tai chi in the elevator"],
            "misbound": [],
            "distractors_found": [],
            "firm": False,
            "truncated": True,
        },
    ),
    (
        "custom-en",
        "The best thing to do is eat a sandwich in Dolore",
        True,
        {
            "score": 0.0,
            "outcome": "wrong",
            "found": [],
            "missed": ["eat a sandwich in Dolores Park", "blue"],
            "misbound": [],
            "distractors_found": [],
            "firm": False,
            "truncated": True,
        },
    ),
    (
        "chain-en",
        "The crate labelled DF-562 was relabelled HW-435. The crate labelled DF-562 was relabelled GG-681.",
        False,
        {
            "score": 0.0,
            "outcome": "hedged",
            "found": [],
            "missed": ["GG-681"],
            "misbound": [],
            "distractors_found": ["HW-435"],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "custom-zh-013",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["加一勺桂花蜜"],
            "missed": [],
            "misbound": [],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "topical-zh-013",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "misbound",
            "found": [],
            "missed": ["440000"],
            "misbound": ["440000"],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "associative-zh-009",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["贺星河"],
            "missed": [],
            "misbound": [],
            "distractors_found": ["江月白"],
            "committed": ["贺星河"],
            "commitment": "one",
            "route": "marker",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "topical-en-034",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "abstained",
            "found": [],
            "missed": ["2304"],
            "misbound": [],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "changed_line-en-017",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "wrong_format",
            "found": [],
            "missed": ["a tortoise in spectacles was repairing a submarine"],
            "misbound": [],
            "distractors_found": [],
            "firm": False,
            "truncated": False,
        },
    ),
    (
        "multi-en-020",
        None,
        False,
        {
            "score": 0.75,
            "outcome": "partial",
            "found": ["3714215", "2954045", "5933879"],
            "missed": ["9263397"],
            "misbound": [],
            "distractors_found": [],
            "hedged": ["9263397"],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "multi-zh-036",
        None,
        True,
        {
            "score": 0.0,
            "outcome": "misbound",
            "found": [],
            "missed": ["7887453", "5924635", "8018884", "9598198"],
            "misbound": ["9598198"],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "chain-en-006",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "hedged",
            "found": [],
            "missed": ["EX-694"],
            "misbound": [],
            "distractors_found": ["TK-898"],
            "committed": ["TK-898", "EX-694"],
            "commitment": "hedge",
            "route": "named",
            "firm": False,
            "truncated": False,
        },
    ),
    # two asked keys, a decoy's value for the first: partial, the decoy stated
    (
        "multi2-en",
        "6916368, 2954045",
        False,
        {
            "score": 0.5,
            "outcome": "partial",
            "found": ["2954045"],
            "missed": ["3714215"],
            "misbound": [],
            "distractors_found": ["6916368"],
            "firm": True,
            "truncated": False,
        },
    ),
    # cut: a trailing number may be unfinished, so the second value is left out; the first was committed
    (
        "multi2-en",
        "3714215, 6916368",
        True,
        {
            "score": 0.5,
            "outcome": "partial",
            "found": ["3714215"],
            "missed": ["2954045"],
            "misbound": [],
            "distractors_found": [],
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "ordered-en",
        "First: 208253. Second: 913495. Third: 941629.",
        True,
        {
            "score": 0.0,
            "outcome": "wrong_format",
            "missed": ["941629"],
            "distractors_found": ["208253", "913495"],
            "committed": [],
            "commitment": "none",
            "firm": False,
            "truncated": True,
        },
    ),
    ("custom-zh", "", False, {"score": 0.0, "outcome": "wrong_format", "firm": False, "truncated": False}),
    ("no_needle-zh", "不知", False, {"score": 1.0, "outcome": "abstained", "firm": True, "truncated": False}),
    (
        "no_needle-zh",
        "没有。",
        False,
        {"score": 1.0, "outcome": "abstained", "firm": True, "truncated": False},
    ),
    (
        "single-en",
        "Oslo: 12",
        False,
        {"score": 0.0, "outcome": "hallucinated", "missed": ["4729183"], "firm": True},
    ),
    (
        "associative-zh",
        "白露晞和方怀瑾都去过。",
        False,
        {
            "score": 0.0,
            "outcome": "hedged",
            "distractors_found": ["方怀瑾"],
            "committed": ["白露晞", "方怀瑾"],
            "commitment": "hedge",
            "firm": False,
        },
    ),
    (
        "topical-en",
        "Roughly 300k",
        True,
        {"score": 0.0, "outcome": "wrong", "missed": ["400000"], "firm": True, "truncated": False},
    ),
    (
        "sum-en",
        "4 shipments = ",
        True,
        {
            "score": 0.0,
            "outcome": "wrong",
            "committed": ["4"],
            "commitment": "one",
            "firm": False,
            "truncated": True,
        },
    ),
    (
        "chain-zh",
        "TC-732改成了KR-951。",
        False,
        {
            "score": 0.0,
            "outcome": "decoy",
            "distractors_found": ["KR-951"],
            "committed": ["KR-951"],
            "commitment": "one",
            "route": "first",
            "firm": True,
        },
    ),
    (
        "ordered-en",
        "The third code is 94162.",
        False,
        {"score": 0.0, "outcome": "hallucinated", "committed": ["94162"], "firm": True},
    ),
    (
        "single-en",
        "Oslo: 4,729,183 or 4,729,138",
        False,
        {"score": 0.0, "outcome": "hedged", "hedged": ["4729183"], "firm": False},
    ),
    # a Chinese path told with 变为 / 改成 reads to its end
    (
        "chain-zh",
        "它的标签从TC-732变为KR-951，又变为UH-448。",
        False,
        {"score": 1.0, "outcome": "found", "committed": ["UH-448"], "route": "path", "firm": True},
    ),
    (
        "chain-zh",
        "它的标签从TC-732改成KR-951，又改成UH-448。",
        False,
        {"score": 1.0, "outcome": "found", "committed": ["UH-448"], "firm": True},
    ),
    (
        "associative-en",
        "Ravindra, or possibly Joaquin; th",
        True,
        {
            "score": 0.0,
            "outcome": "hedged",
            "distractors_found": ["Joaquin"],
            "commitment": "hedge",
            "firm": False,
            "truncated": True,
        },
    ),
    # cut before the asked ordinal's value: nothing committed yet
    (
        "ordered-zh",
        "第一个是208253，第二个是913495，第三个",
        True,
        {
            "score": 0.0,
            "outcome": "wrong_format",
            "missed": ["941629"],
            "distractors_found": ["208253", "913495"],
            "commitment": "none",
            "firm": False,
            "truncated": True,
        },
    ),
    (
        "chain-zh",
        "最后的标签是UH-448。木箱最初是TC-732",
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "distractors_found": ["TC-732"],
            "committed": ["UH-448"],
            "route": "named",
            "firm": True,
        },
    ),
    # a made-up code: invented from five digits on (a six-digit family), wrong below
    (
        "ordered-en",
        "The third code is 1234.",
        False,
        {"score": 0.0, "outcome": "wrong", "committed": ["1234"], "firm": True},
    ),
    (
        "ordered-en",
        "The third code is 12345.",
        False,
        {"score": 0.0, "outcome": "hallucinated", "hallucinated": True, "committed": ["12345"], "firm": True},
    ),
    # a refusal that still offers values commits to them
    (
        "multi-en",
        "I couldn't find them: 1111111?",
        False,
        {"score": 0.0, "outcome": "hallucinated", "hallucinated": True, "firm": True},
    ),
    (
        "multi-en",
        "Sorry, I can't find these. Perhaps 12, 34, 56.",
        False,
        {"score": 0.0, "outcome": "hallucinated", "firm": True},
    ),
    # an approximate code is no exact answer: hedged when it is the right one, a decoy's otherwise
    (
        "ordered-en",
        "The third code is approximately 941629.",
        False,
        {
            "score": 0.0,
            "outcome": "hedged",
            "committed": ["941629"],
            "commitment": "approx",
            "route": "first",
            "firm": False,
        },
    ),
    (
        "ordered-zh",
        "第三个密码大约是941629。",
        False,
        {"score": 0.0, "outcome": "hedged", "committed": ["941629"], "commitment": "approx", "firm": False},
    ),
    (
        "ordered-en",
        "The third code is about 940297.",
        False,
        {"score": 0.0, "outcome": "decoy", "committed": ["940297"], "commitment": "approx", "firm": False},
    ),
    (
        "ordered-en",
        "Maybe 941629 or 940297, I cannot tell.",
        False,
        {
            "score": 0.0,
            "outcome": "hedged",
            "committed": ["941629", "940297"],
            "commitment": "hedge",
            "route": "all",
            "firm": False,
        },
    ),
    # fewer values than keys, none named: a decoy's value, an invented one, a rough one
    (
        "multi2-en",
        "6916368",
        False,
        {"score": 0.0, "outcome": "decoy", "distractors_found": ["6916368"], "hallucinated": False},
    ),
    ("multi2-en", "1111111", False, {"score": 0.0, "outcome": "hallucinated", "hallucinated": True}),
    ("multi2-en", "About 1,100,000.", False, {"score": 0.0, "outcome": "wrong", "hallucinated": False}),
    # Perth's value stated for the decoy city: Perth misbound
    (
        "multi2-en",
        "Reykjavik: 3714215, Havana: 2954045",
        False,
        {"score": 0.5, "outcome": "partial", "found": ["3714215"], "misbound": ["2954045"]},
    ),
    (
        "no_needle-en",
        "7.",
        False,
        {"score": 0.0, "outcome": "hallucinated"},
    ),  # a bare digit, full stop and all
    (
        "count-en",
        "Only four.",
        False,
        {"score": 1.0, "outcome": "found", "committed": ["4"]},
    ),  # the number word is the answer
    # the answer's first sentence commits; what follows is context
    (
        "chain-en",
        "GG-681. Earlier it was HW-435.",
        False,
        {"score": 1.0, "outcome": "found", "distractors_found": ["HW-435"], "route": "first", "firm": True},
    ),
    (
        "associative-en",
        "Ravindra. Joaquin went to Lhasa.",
        False,
        {"score": 1.0, "outcome": "found", "route": "first"},
    ),
    ("chain-zh", "UH-448。之前是KR-951。", False, {"score": 1.0, "outcome": "found", "route": "first"}),
    (
        "aggregate-en-049",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["314"],
            "missed": [],
            "misbound": [],
            "abstained": False,
            "hallucinated": False,
            "distractors_found": ["37", "86", "97", "94"],
            "op": "sum",
            "committed": ["314"],
            "commitment": "one",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "aggregate-zh-046",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["252"],
            "missed": [],
            "misbound": [],
            "abstained": False,
            "hallucinated": False,
            "distractors_found": ["30", "74", "94", "54"],
            "op": "sum",
            "committed": ["252"],
            "commitment": "one",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "associative-en-039",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["Ravindra"],
            "missed": [],
            "misbound": [],
            "abstained": True,
            "hallucinated": False,
            "distractors_found": [],
            "committed": ["Ravindra"],
            "commitment": "one",
            "route": "marker",
            "lexical_overlap": 0.0,
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "associative-zh-035",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["白露晞"],
            "missed": [],
            "misbound": [],
            "abstained": True,
            "hallucinated": False,
            "distractors_found": [],
            "committed": ["白露晞"],
            "commitment": "one",
            "route": "marker",
            "lexical_overlap": 0.0,
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "associative-en-041",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["Ravindra"],
            "missed": [],
            "misbound": [],
            "abstained": False,
            "hallucinated": False,
            "distractors_found": ["Joaquin"],
            "committed": ["Ravindra"],
            "commitment": "one",
            "route": "marker",
            "lexical_overlap": 0.0,
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "associative-zh-037",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["白露晞"],
            "missed": [],
            "misbound": [],
            "abstained": False,
            "hallucinated": False,
            "distractors_found": ["方怀瑾"],
            "committed": ["白露晞"],
            "commitment": "one",
            "route": "marker",
            "lexical_overlap": 0.0,
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "topical-zh-059",
        None,
        False,
        {
            "score": 0.0,
            "outcome": "decoy",
            "found": [],
            "missed": ["280000"],
            "misbound": [],
            "abstained": False,
            "hallucinated": False,
            "distractors_found": ["720000"],
            "attribute": "context_length",
            "firm": True,
            "truncated": False,
        },
    ),
    (
        "topical-zh-057",
        None,
        False,
        {
            "score": 1.0,
            "outcome": "found",
            "found": ["440000"],
            "missed": [],
            "misbound": [],
            "abstained": False,
            "hallucinated": False,
            "distractors_found": [],
            "attribute": "context_length",
            "firm": True,
            "truncated": False,
        },
    ),
    (  # a refusal with no candidate: nothing taken back, no route
        "associative-en",
        "I don't know.",
        False,
        {
            "score": 0.0,
            "outcome": "abstained",
            "committed": [],
            "commitment": "none",
            "route": "",
            "firm": True,
        },
    ),
    (  # a refusal taken back, cut after the correction: committed
        "associative-en",
        "I don't know. Wait, actually it's Ravindra. The Charles Bridge is",
        True,
        {"score": 1.0, "outcome": "found", "committed": ["Ravindra"], "route": "marker", "firm": True},
    ),
    (
        "associative-zh",
        "我不知道。不对，是白露晞，她在宽窄巷子",
        True,
        {"score": 1.0, "outcome": "found", "committed": ["白露晞"], "route": "marker", "firm": True},
    ),
    (  # the total before "in total" is committed; the cut working after it does not matter
        "sum-en",
        "314 crates in total, from 4 shipments of 37, 86",
        True,
        {"score": 1.0, "outcome": "found", "committed": ["314"], "firm": True, "truncated": False},
    ),
]


@pytest.mark.parametrize(("source", "answer", "cut", "expected"), DETAILS)
def test_the_whole_reading(source: str, answer: str | None, cut: bool, expected: dict[str, Any]) -> None:
    got = _reading(source, answer, cut)
    assert {k: got.get(k) for k in expected} == expected, (source, answer)


def test_item_mentions_are_word_bounded_folded_and_not_overlapping() -> None:
    from haystacks.reading import prepare
    from haystacks.tasks.base import Fact, item_mentions

    p = prepare("Ravindra Rao met Ravindran, then RAVINDRA and Ｑｕｉｌｌａ; 白露晞见了白露晞。")
    facts = (Fact("a", "Ravindra Rao", accept=("Ravindra",)), Fact("b", "Quilla"), Fact("c", "白露晞"))
    got = [(m.value, p[m.start : m.end]) for m in item_mentions(p, facts)]
    assert got == [
        ("Ravindra Rao", "ravindra rao"),  # the longer form first; "Ravindra" inside it is not met again
        ("Ravindra Rao", "ravindra"),  # "Ravindran" is another name
        ("Quilla", "quilla"),  # full-width letters folded
        ("白露晞", "白露晞"),
        ("白露晞", "白露晞"),
    ]


@pytest.mark.parametrize(
    ("params", "answer", "outcome"),
    [
        ({}, "The first code is 208253.", "found"),  # no index: the first is asked
        ({}, "The first code is 208253 and the second is 913495.", "found"),
        ({"index": 4}, "The last code is 940297.", "found"),  # no n_items: the decoys and the answer
        ({"index": 4}, "The last code is 208253.", "decoy"),
        ({"index": 4}, "The fourth code is 940297 and the last one is 208253.", "hedged"),  # the same item
    ],
)
def test_ordered_keys_without_their_params(params: dict[str, Any], answer: str, outcome: str) -> None:
    key = {
        **KEYS["ordered-en"],
        "expected": [
            {"key": "code", "answer": "208253" if not params else "940297", "label": "", "accept": []}
        ],
        "decoys": [
            {"key": "c", "answer": x, "label": "", "accept": []}
            for x in ("913495", "941629", "940297" if not params else "208253")
        ],
        "params": params,
    }
    k = AnswerKey.from_dict(key)
    assert get_task("ordered").grade(answer, k).outcome == outcome


def test_ordinal_names_of_a_single_item_have_no_last() -> None:
    from haystacks.tasks.ordered import ordinal_names

    assert ordinal_names(1, 1) == ("first", "1st", "第一", "第1")
    assert ordinal_names(2, 2)[-4:] == ("last", "final code", "最后一", "最后")


def test_number_candidates_and_normalize() -> None:
    from haystacks.grading import contains_answer, normalize, number_candidates

    assert number_candidates("4,729,183") == {"4", "729", "183", "4729", "729183", "4729183"}
    assert normalize("Four seven two nine one eight three.") == "4729183"
    assert normalize("It is four seven two") == "itis472"
    assert normalize("四七二九一八三。") == "4729183"
    assert contains_answer("anything at all", "") is False  # an empty expected answer is never found
    assert contains_answer("Oslo: four seven two nine one eight three", "4729183")


def test_a_text_fact_of_a_task_without_its_own_grade() -> None:
    from haystacks.tasks import Task

    class Bare(Task):
        name = "bare"

    k = AnswerKey.from_dict(
        {
            "task": "bare",
            "language": "en",
            "question": "What colour is the umbrella?",
            "expected": [{"key": "colour", "answer": "blue", "label": "", "accept": ["navy"]}],
        }
    )
    assert (Bare().grade("The umbrella is navy.", k).outcome, Bare().grade("It is red.", k).outcome) == (
        "found",
        "wrong",
    )


@pytest.mark.parametrize(
    ("key", "answer", "score", "outcome"),
    [
        ("multi-en", "3714215, 2954045, 5933879", 1.0, "found"),  # a bare list in question order
        ("multi-en", "3714215, 2954045", 2 / 3, "partial"),
        ("multi2-en", "6916368, 2954045", 0.5, "partial"),
        ("single-en", "The magic number for Oslo is 12.", 0.0, "hallucinated"),  # two digits: invented
        ("single-en", "About 100.", 0.0, "wrong"),  # a rough figure is no invented value
        ("single-en", "Oslo: 4729183", 1.0, "found"),
    ],
)
def test_the_default_grader_of_a_new_task(key: str, answer: str, score: float, outcome: str) -> None:
    from haystacks.tasks import Task

    class Bare(Task):
        name = "bare"

    g = Bare().grade(answer, AnswerKey.from_dict({**KEYS[key], "task": "bare"}))
    assert (round(g.score, 4), g.outcome) == (round(score, 4), outcome)


def test_an_aggregate_key_without_its_op_is_a_sum() -> None:
    params = {k: v for k, v in KEYS["sum-en"]["params"].items() if k != "op"}
    k = AnswerKey.from_dict({**KEYS["sum-en"], "params": params})
    g = get_task("aggregate").grade("In total, 314 crates.", k)
    assert (g.score, g.outcome) == (1.0, "found")


@pytest.mark.parametrize(
    ("answer", "score", "outcome"),
    [
        ("1. 42\n2. Blue.", 1.0, "found"),  # a number, then a text answer: both read
        ("1. 24\n2. Blue.", 0.5, "partial"),
        ("1. 42 or 24\n2. Red.", 0.0, "hedged"),
    ],
)
def test_a_custom_key_of_a_number_and_a_phrase(answer: str, score: float, outcome: str) -> None:
    k = AnswerKey.from_dict(
        {
            "task": "custom",
            "language": "en",
            "question": "1. How many?\n2. What colour is the umbrella?",
            "expected": [{"key": "q1", "answer": "42"}, {"key": "q2", "answer": "blue"}],
        }
    )
    g = get_task("custom").grade(answer, k)
    assert (round(g.score, 4), g.outcome) == (score, outcome)


@pytest.mark.parametrize(
    "text",
    ["The 3rd code is 941629.", "第3个密码是941629。", "In 2024, 5 times: 941629", "1. first\n2. 941629"],
)
def test_mentions_index_the_prepared_text(text: str) -> None:
    from haystacks.reading import numbers, prepare

    p = prepare(text)
    assert [p[m.start : m.end] for m in numbers(p) if not m.weak] == ["941629"]


@pytest.mark.parametrize(("run", "digits"), [("五百亿", "50000000000"), ("三亿五千万", "350000000")])
def test_chinese_numerals_with_yi(run: str, digits: str) -> None:
    from haystacks.reading import parse_chinese_number

    assert parse_chinese_number(run) == digits


def test_the_default_grader_reads_a_text_fact_and_a_number() -> None:
    from haystacks.tasks import Task

    class Bare(Task):
        name = "bare"

    k = AnswerKey.from_dict(
        {
            "task": "bare",
            "language": "en",
            "question": "What colour is the umbrella, and what is the magic number?",
            "expected": [
                {"key": "colour", "answer": "blue", "label": "", "accept": []},
                {"key": "number", "answer": "4729183", "label": "", "accept": []},
            ],
        }
    )
    got = [
        (Bare().grade(a, k).score, Bare().grade(a, k).outcome) for a in ("Blue; 4729183.", "Red; 4729183.")
    ]
    assert got == [(1.0, "found"), (0.5, "partial")]


def test_stems_and_an_empty_phrase() -> None:
    from haystacks.reading import content, phrase_recall

    assert [content(w, pairs=False) for w in ("slowly", "uses", "cats")] == [{"slow"}, {"use"}, {"cat"}]
    assert phrase_recall("anything at all", "...") == 0.0  # a phrase with no content is never recalled
