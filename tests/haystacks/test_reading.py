"""The one reader of answers, table-driven: a crafted case for each bullet of issue 16's "Why", in Chinese
and English, graded by the task that owns it (score and outcome), then the reader's own parts."""

from __future__ import annotations

from typing import Any

import pytest

from haystacks.reading import (
    bind,
    committed_values,
    is_refusal,
    numbers,
    phrase_recall,
    prepare,
)
from haystacks.tasks import OUTCOMES, AnswerKey, get_task


def _fact(answer: str, label: str = "", key: str = "") -> dict[str, Any]:
    return {"key": key or f"fact {answer}", "answer": answer, "label": label, "accept": []}


KEYS: dict[str, dict[str, Any]] = {
    "multi-en": {
        "task": "multi",
        "language": "en",
        "question": "What are the magic numbers for Reykjavik, Perth and Naples?",
        "expected": [_fact("3714215", "Reykjavik"), _fact("2954045", "Perth"), _fact("5933879", "Naples")],
    },
    "multi-zh": {
        "task": "multi",
        "language": "zh",
        "question": "太原、长春和海口的神秘数字分别是多少？",
        "expected": [_fact("3462716", "太原"), _fact("8493721", "长春"), _fact("1346564", "海口")],
    },
    "distractor-en": {
        "task": "distractor",
        "language": "en",
        "question": "What is the magic number for Athens?",
        "expected": [_fact("3916368", "Athens")],
        "decoys": [_fact("6916368", "Havana"), _fact("1541482", "Munich")],
    },
    "distractor-zh": {
        "task": "distractor",
        "language": "zh",
        "question": "长沙的神秘数字是多少？",
        "expected": [_fact("7036914", "长沙")],
        "decoys": [_fact("6036914", "兰州"), _fact("4354743", "郑州")],
    },
    "single-en": {
        "task": "single",
        "language": "en",
        "question": "What is the magic number for Oslo?",
        "expected": [_fact("4729183", "Oslo")],
    },
    "single-zh": {
        "task": "single",
        "language": "zh",
        "question": "武汉的神秘数字是多少？",
        "expected": [_fact("1732206", "武汉")],
    },
    "no_needle-en": {
        "task": "no_needle",
        "language": "en",
        "question": "What is the magic number for Warsaw?",
        "absent": _fact("", "Warsaw"),
    },
    "no_needle-zh": {
        "task": "no_needle",
        "language": "zh",
        "question": "太原的神秘数字是多少？",
        "absent": _fact("", "太原"),
    },
    "topical-en": {
        "task": "topical",
        "language": "en",
        "question": "How many tokens of context does Qingluan-7, the model released by DeepWords, support?",
        "expected": [{**_fact("400000", "Qingluan-7"), "accept": ["400k"]}],
        "decoys": [_fact("320000", "Xuanniao-3")],
        "params": {"attribute": "context_length"},
    },
    "topical-zh": {
        "task": "topical",
        "language": "zh",
        "question": "澄星智能表示其模型“翠鸟-9”能够理解多少种语言？",
        "expected": [_fact("58", "翠鸟-9")],
        "params": {"attribute": "languages"},
    },
    "chain-en": {
        "task": "chain",
        "language": "en",
        "question": "A crate was first labelled DF-562 ... What is its final label?",
        "expected": [_fact("GG-681")],
        "decoys": [_fact("DF-562"), _fact("HW-435"), _fact("ZQ-204")],
        "params": {"hops": 2, "path": ["DF-562", "HW-435", "GG-681"]},
    },
    "chain-zh": {
        "task": "chain",
        "language": "zh",
        "question": "有一只木箱最初的标签是TC-732……它最后的标签是什么？",
        "expected": [_fact("UH-448")],
        "decoys": [_fact("TC-732"), _fact("KR-951")],
        "params": {"hops": 2, "path": ["TC-732", "KR-951", "UH-448"]},
    },
    "sum-en": {
        "task": "aggregate",
        "language": "en",
        "question": "How many crates arrived at the Linden Street warehouse in total, over all shipments?",
        "expected": [_fact("314")],
        "decoys": [_fact("37"), _fact("86"), _fact("97"), _fact("94")],
        "params": {"op": "sum", "values": [37, 86, 97, 94]},
    },
    "count-en": {
        "task": "aggregate",
        "language": "en",
        "question": "How many separate shipments of crates arrived at the Linden Street warehouse?",
        "expected": [_fact("4")],
        "decoys": [_fact("37"), _fact("86"), _fact("97"), _fact("94")],
        "params": {"op": "count", "values": [37, 86, 97, 94]},
    },
    "max-zh": {
        "task": "aggregate",
        "language": "zh",
        "question": "运到桤木码头仓库的各批货物中，箱数最多的一批有多少箱？",
        "expected": [_fact("58")],
        "decoys": [_fact("20"), _fact("41"), _fact("14")],
        "params": {"op": "max", "values": [58, 20, 41, 14]},
    },
    "max-en": {
        "task": "aggregate",
        "language": "en",
        "question": "What was the largest number of crates in a single shipment?",
        "expected": [_fact("97")],
        "decoys": [_fact("37"), _fact("86"), _fact("94")],
        "params": {"op": "max", "values": [37, 86, 97, 94]},
    },
    "count-zh": {
        "task": "aggregate",
        "language": "zh",
        "question": "一共有几批货物运到了梧桐街仓库？",
        "expected": [_fact("4")],
        "decoys": [_fact("37"), _fact("86"), _fact("97"), _fact("94")],
        "params": {"op": "count", "values": [37, 86, 97, 94]},
    },
    "sum-zh": {
        "task": "aggregate",
        "language": "zh",
        "question": "所有运到梧桐街仓库的货物加起来一共有多少箱？",
        "expected": [_fact("314")],
        "decoys": [_fact("37"), _fact("86"), _fact("97"), _fact("94")],
        "params": {"op": "sum", "values": [37, 86, 97, 94]},
    },
    "ordered-en": {
        "task": "ordered",
        "language": "en",
        "question": "... Counting in order of appearance, what is the third code given?",
        "expected": [_fact("941629")],
        "decoys": [_fact("208253"), _fact("913495"), _fact("940297")],
        "params": {"index": 3, "n_items": 4},
    },
    "ordered-zh": {
        "task": "ordered",
        "language": "zh",
        "question": "……按出现的先后顺序，文中给出的第三个密码是多少？",
        "expected": [_fact("941629")],
        "decoys": [_fact("208253"), _fact("913495"), _fact("940297")],
        "params": {"index": 3, "n_items": 4},
    },
    "associative-en": {
        "task": "associative",
        "language": "en",
        "question": "Which character has been to Prague?",
        "expected": [_fact("Ravindra")],
        "decoys": [_fact("Joaquin"), _fact("Quilla")],
        "params": {"hop": "the Charles Bridge -> Prague", "lexical_overlap": 0.0},
    },
    "associative-zh": {
        "task": "associative",
        "language": "zh",
        "question": "哪位人物去过成都？",
        "expected": [_fact("白露晞")],
        "decoys": [_fact("方怀瑾")],
        "params": {"hop": "宽窄巷子 -> 成都", "lexical_overlap": 0.0},
    },
    "changed-en": {
        "task": "changed_line",
        "language": "en",
        "question": "Find the inserted phrase and quote it exactly.",
        "expected": [_fact("four flamingos practised tai chi in the elevator")],
        "changed_sentence": "解答了不少大家关心的问题, four flamingos practised tai chi in the elevator",
    },
    "changed-zh": {
        "task": "changed_line",
        "language": "zh",
        "question": "请找出这段被插入的内容，并原样写出来。",
        "expected": [_fact("一只戴眼镜的乌龟正在修理潜水艇")],
        "changed_sentence": "我们今天请到了几位嘉宾，一只戴眼镜的乌龟正在修理潜水艇",
    },
    "custom-en": {
        "task": "custom",
        "language": "en",
        "question": "1. What is the best thing to do in San Francisco?\n2. What colour is the umbrella?",
        "expected": [_fact("eat a sandwich in Dolores Park"), _fact("blue")],
    },
    "custom-zh": {
        "task": "custom",
        "language": "zh",
        "question": "在旧金山最好的事情是什么？",
        "expected": [_fact("在阳光明媚的日子里坐在多洛雷斯公园吃三明治")],
    },
}

# (bullet of "Why", key, answer, score, outcome)
CASES: list[tuple[str, str, str, float, str]] = [
    # --- binding: a numbered list, value-then-key, respectively / 分别, tables
    ("binding", "multi-en", "1. Reykjavik: 3714215\n2. Perth: 2954045\n3. Naples: 5933879", 1.0, "found"),
    ("binding", "multi-en", "3714215 (Reykjavik), 2954045 (Perth), 5933879 (Naples)", 1.0, "found"),
    (
        "binding",
        "multi-en",
        "The magic numbers for Reykjavik, Perth and Naples are 3714215, 2954045 and 5933879, respectively.",
        1.0,
        "found",
    ),
    (
        "binding",
        "multi-en",
        "| City | Magic number |\n|---|---|\n| Reykjavik | 3,714,215 |\n| Perth | 2,954,045 |\n"
        "| Naples | 5,933,879 |",
        1.0,
        "found",
    ),
    (
        "binding",
        "multi-en",
        "**Reykjavik**\n3714215\n\n**Perth**\n2954045\n\n**Naples**\n5933879",
        1.0,
        "found",
    ),
    ("binding", "multi-en", "Reykjavik: 2954045, Perth: 5933879, Naples: 3714215", 0.0, "misbound"),
    ("binding", "multi-zh", "太原、长春和海口的神秘数字分别是3462716、8493721和1346564。", 1.0, "found"),
    ("binding", "multi-zh", "1. 太原：3462716\n2. 长春：8493721\n3. 海口：1346564", 1.0, "found"),
    ("binding", "multi-zh", "3462716（太原），8493721（长春），1346564（海口）", 1.0, "found"),
    (
        "binding",
        "multi-zh",
        "- 太原的神秘数字是3462716\n- 长春的是8493721\n- 海口：文中没有提到",
        2 / 3,
        "partial",
    ),
    ("binding", "multi-zh", "太原：8493721；长春：3462716；海口：1346564", 1 / 3, "partial"),
    # --- refusals: "one", 一些/一下, typographic apostrophes, other wordings, closed book
    ("refusal", "no_needle-en", "No one in the text mentions a magic number for Warsaw.", 1.0, "abstained"),
    (
        "refusal",
        "no_needle-en",
        "The text doesn\u2019t mention Warsaw\u2019s magic number.",
        1.0,
        "abstained",
    ),
    (
        "refusal",
        "no_needle-en",
        "I\u2019m sorry, but I couldn\u2019t find that in the passage.",
        1.0,
        "abstained",
    ),
    (
        "refusal",
        "no_needle-en",
        "There isn't one - Warsaw does not appear anywhere in the text.",
        1.0,
        "abstained",
    ),
    (
        "refusal",
        "no_needle-en",
        "The text gives the magic number for Oslo, 4729183, but not the one for Warsaw.",
        1.0,
        "abstained",
    ),
    ("refusal", "no_needle-en", "The magic number for Warsaw is 11.", 0.0, "hallucinated"),
    ("refusal", "no_needle-en", "It isn't stated, but perhaps it is 4729183.", 0.0, "hallucinated"),
    ("refusal", "no_needle-zh", "我看了一下，文中并没有给出太原的神秘数字。", 1.0, "abstained"),
    ("refusal", "no_needle-zh", "文中只提到了一些其他城市，没有太原的神秘数字。", 1.0, "abstained"),
    ("refusal", "no_needle-zh", "抱歉，文本里找不到这个信息。", 1.0, "abstained"),
    ("refusal", "no_needle-zh", "太原的神秘数字是一二三四五六七。", 0.0, "hallucinated"),
    ("refusal", "topical-en", "I'm not familiar with a model called Qingluan-7.", 0.0, "abstained"),
    (
        "refusal",
        "topical-en",
        "I don\u2019t have information about DeepWords or its models.",
        0.0,
        "abstained",
    ),
    ("refusal", "topical-zh", "我不了解这个模型，没有相关信息。", 0.0, "abstained"),
    ("refusal", "topical-zh", "翠鸟-9能理解100种语言。", 0.0, "hallucinated"),
    # --- hedges
    ("hedge", "distractor-en", "3916368, or possibly 6916368.", 0.0, "hedged"),
    (
        "hedge",
        "distractor-en",
        "The magic number for Athens is 3916368, though it might be 3916386.",
        0.0,
        "hedged",
    ),
    ("hedge", "distractor-en", "It could be 6916368... no, it is 3916368.", 1.0, "found"),
    ("hedge", "distractor-en", "Athens: 3916368 (Havana's is the similar 6916368).", 1.0, "found"),
    ("hedge", "distractor-zh", "长沙的神秘数字可能是7036914，也可能是6036914。", 0.0, "hedged"),
    ("hedge", "distractor-zh", "长沙的神秘数字是6036914，不对，应该是7036914。", 1.0, "found"),
    ("hedge", "distractor-zh", "长沙的神秘数字是7036914，不对，应该是6036914。", 0.0, "decoy"),
    ("hedge", "single-en", "4729183 - or maybe 4729138, I'm not sure.", 0.0, "hedged"),
    ("hedge", "single-zh", "武汉的神秘数字是1732206，也可能是1732260。", 0.0, "hedged"),
    ("hedge", "topical-en", "Qingluan-7 supports 400,000 tokens, or perhaps 320,000.", 0.0, "hedged"),
    ("hedge", "chain-en", "The final label is either GG-681 or HW-435.", 0.0, "hedged"),
    ("hedge", "chain-en", "DF-562 was relabelled HW-435, which was then relabelled GG-681.", 1.0, "found"),
    ("hedge", "chain-en", "DF-562 → HW-435 → GG-681. Final label: GG-681.", 1.0, "found"),
    ("hedge", "chain-en", "DF-562 was relabelled HW-435. So the final label is HW-435.", 0.0, "decoy"),
    ("hedge", "chain-en", "DF-562 → HW-435", 0.0, "decoy"),
    ("hedge", "chain-zh", "最后的标签可能是UH-448，也可能是KR-951。", 0.0, "hedged"),
    ("hedge", "chain-zh", "TC-732 → KR-951 → UH-448，所以最后的标签是UH-448。", 1.0, "found"),
    ("hedge", "chain-zh", "TC-732先被改成了KR-951，所以它最后的标签是KR-951。", 0.0, "decoy"),
    # --- the committed answer: list indices, ordinals, corrected sums, max not last, explanations
    ("commit", "count-en", "The shipments were:\n1. 37 crates\n2. 86 crates\n3. 97 crates", 0.0, "decoy"),
    ("commit", "count-en", "There were four separate shipments (37, 86, 97 and 94 crates).", 1.0, "found"),
    ("commit", "count-en", "The 4th shipment had 94 crates.", 0.0, "decoy"),
    (
        "commit",
        "sum-en",
        "37 + 86 + 97 + 94 = 304. Wait, let me recount: 37 + 86 + 97 + 94 = 314.",
        1.0,
        "found",
    ),
    ("commit", "sum-en", "37 + 86 + 97 + 94 = 314. Actually, I mis-added: the total is 304.", 0.0, "wrong"),
    ("commit", "sum-en", "About 300 crates in total.", 0.0, "wrong"),
    ("commit", "sum-en", "In total 314 crates arrived (37 + 86 + 97 + 94).", 1.0, "found"),
    ("commit", "sum-en", "314 crates in total, from 4 shipments of 37, 86, 97 and 94.", 1.0, "found"),
    ("commit", "sum-zh", "合计314箱，由37、86、97和94箱四批组成。", 1.0, "found"),
    ("commit", "associative-en", "Joaquin? No: Ravindra.", 1.0, "found"),
    ("commit", "associative-zh", "方怀瑾？不：白露晞。", 1.0, "found"),
    ("refusal", "associative-en", "I don't know. Wait, actually it's Ravindra.", 1.0, "found"),
    ("refusal", "associative-zh", "我不知道。不对，是白露晞。", 1.0, "found"),
    ("commit", "max-en", "The largest shipment had 97 crates; the others had 37, 86 and 94.", 1.0, "found"),
    ("commit", "max-en", "The shipments had 37, 86, 97 and 94 crates.", 0.0, "hedged"),
    ("commit", "max-zh", "各批分别是58箱、20箱、41箱和14箱，其中最多的一批是58箱。", 1.0, "found"),
    ("commit", "max-zh", "最多的一批有58箱，其余为20、41、14箱。", 1.0, "found"),
    ("commit", "count-zh", "一共有四批货物运到了梧桐街仓库。", 1.0, "found"),
    ("commit", "count-zh", "第4批货物有94箱。", 0.0, "decoy"),
    ("commit", "sum-zh", "37+86+97+94=304，不对，重新计算：37+86+97+94=314。所以一共314箱。", 1.0, "found"),
    (
        "commit",
        "ordered-en",
        "The third code given is 941629 (the first two were 208253 and 913495).",
        1.0,
        "found",
    ),
    ("commit", "ordered-en", "1st: 208253\n2nd: 913495\n3rd: 941629\n4th: 940297", 1.0, "found"),
    ("commit", "ordered-en", "The codes were 208253, 913495, 941629 and 940297.", 0.0, "hedged"),
    ("commit", "ordered-en", "The third code is 940297.", 0.0, "decoy"),
    ("commit", "ordered-zh", "第一个是208253，第二个是913495，第三个是941629。", 1.0, "found"),
    ("commit", "ordered-zh", "文中给出的第三个密码是941629，而不是第二个的913495。", 1.0, "found"),
    (
        "commit",
        "associative-en",
        "Ravindra has been to Prague: the Charles Bridge is in Prague. (Joaquin was at the Potala Palace, "
        "which is in Lhasa.)",
        1.0,
        "found",
    ),
    ("commit", "associative-en", "Not Joaquin and not Quilla - it is Ravindra.", 1.0, "found"),
    (
        "commit",
        "associative-zh",
        "去过成都的是白露晞（宽窄巷子在成都），而方怀瑾去的是金门大桥。",
        1.0,
        "found",
    ),
    ("commit", "associative-zh", "可能是白露晞，也可能是方怀瑾。", 0.0, "hedged"),
    # --- numbers with word multipliers
    ("numbers", "topical-en", "Qingluan-7 supports 400 thousand tokens.", 1.0, "found"),
    ("numbers", "topical-en", "It supports a 400K-token context.", 1.0, "found"),
    ("numbers", "topical-en", "About 0.4 million tokens.", 0.0, "hedged"),
    ("numbers", "topical-en", "Qingluan-7: 400,000; Xuanniao-3: 320,000.", 1.0, "found"),
    ("numbers", "topical-en", "Xuanniao-3: 400,000", 0.0, "misbound"),
    ("numbers", "single-zh", "武汉的神秘数字是一百七十三万二千二百零六。", 1.0, "found"),
    ("numbers", "single-zh", "173万2206", 1.0, "found"),
    ("numbers", "single-en", "one million seven hundred thousand - no, it is 4,729,183", 1.0, "found"),
    ("numbers", "topical-zh", "翠鸟-9能理解五十八种语言。", 1.0, "found"),
    ("numbers", "topical-zh", "大约60种语言。", 0.0, "wrong"),  # a rough reading of 58, not exact
    ("numbers", "topical-zh", "可能大约100种语言吧。", 0.0, "hallucinated"),  # a hedged guess invents
    # --- paraphrase: changed_line and custom
    ("paraphrase", "changed-en", '"four flamingos practised tai chi in the elevator"', 1.0, "found"),
    ("paraphrase", "changed-en", "Flamingos practicing tai chi in an elevator.", 1.0, "found"),
    (
        "paraphrase",
        "changed-en",
        "The altered sentence: 解答了不少大家关心的问题, four flamingos practised tai chi in the elevator",
        1.0,
        "found",
    ),
    ("paraphrase", "changed-en", "解答了不少大家关心的问题", 0.0, "wrong"),
    ("paraphrase", "changed-zh", "一只戴眼镜的乌龟正在修理潜水艇", 1.0, "found"),
    ("paraphrase", "changed-zh", "戴眼镜的乌龟在修理潜水艇", 1.0, "found"),
    ("paraphrase", "changed-zh", "被插入的是“我们今天请到了几位嘉宾”", 0.0, "wrong"),
    (
        "paraphrase",
        "changed-zh",
        "插入的内容是：a tortoise wearing spectacles, repairing a submarine",
        1.0,
        "found",
    ),
    ("paraphrase", "custom-en", "1. Eating a sandwich at Dolores Park.\n2. It is blue.", 1.0, "found"),
    ("paraphrase", "custom-en", "1. Visit the Golden Gate Bridge.\n2. Blue.", 0.5, "partial"),
    ("paraphrase", "custom-zh", "在阳光明媚的日子坐在多洛雷斯公园吃个三明治。", 1.0, "found"),
    ("paraphrase", "custom-zh", "去金门大桥散步。", 0.0, "wrong"),
]


@pytest.mark.parametrize(("bullet", "key", "answer", "score", "outcome"), CASES)
def test_crafted_answers(bullet: str, key: str, answer: str, score: float, outcome: str) -> None:
    k = AnswerKey.from_dict(KEYS[key])
    g = get_task(k.task).grade(answer, k)
    assert g.outcome in OUTCOMES
    assert (round(g.score, 4), g.outcome) == (round(score, 4), outcome), (bullet, answer, g)


def test_every_bullet_in_both_languages() -> None:
    seen = {(b, KEYS[k]["language"]) for b, k, *_ in CASES}
    for bullet in ("binding", "refusal", "hedge", "commit", "numbers", "paraphrase"):
        assert {(bullet, "en"), (bullet, "zh")} <= seen, bullet


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("4,729,183", [("4729183", False)]),
        ("4 729 183 and 1234567", [("4729183", False), ("1234567", False)]),
        ("472-9183", [("4729183", False)]),
        (
            "1.2M, 12k, 12 thousand, 1.2 million",
            [("1200000", False), ("12000", False), ("12000", False), ("1200000", False)],
        ),
        (
            "40万、1.2亿、472万9183、四十万",
            [("400000", False), ("120000000", False), ("4729183", False), ("400000", False)],
        ),
        ("about 300", [("300", True)]),
        ("~300", [("300", True)]),
        ("300-400", [("300", True), ("400", True)]),
        ("300 to 400", [("300", True), ("400", True)]),
        ("大约三百", [("300", True)]),
        ("300左右", [("300", True)]),
        ("the 3rd item, 第3个, in 2024, 5 times, 3 paragraphs, 50%", []),
        ("一些、一下、一样、唯一", []),
        ("1. first\n2) second\n- third", []),
        ("四七二九一八三", [("4729183", False)]),
        ("4,729,183 and 12,000", [("4729183", False), ("12000", False)]),  # two groupings, two numbers
        ("1,234", [("1234", False)]),
        ("R-1 supports 400k tokens", [("400000", False)]),  # a hyphenated name's number is its name
        ("一亿二千万", [("120000000", False)]),
        ("一点五亿、三点二万、两点五", [("150000000", False), ("32000", False), ("2.5", False)]),
        ("four seven two nine one eight three", [("4729183", False)]),
    ],
)
def test_numbers(text: str, values: list[tuple[str, bool]]) -> None:
    got = [(m.value, m.approx) for m in numbers(prepare(text)) if not m.weak]
    assert got == values


@pytest.mark.parametrize(
    ("text", "weak"),
    [("I could not find one.", True), ("no one knows", True), ("一", True), ("one shipment", False)],
)
def test_weak_number_words(text: str, weak: bool) -> None:
    ms = numbers(prepare(text))
    assert len(ms) == 1 and ms[0].weak is weak


@pytest.mark.parametrize(
    ("text", "refuses"),
    [
        ("The text doesn\u2019t say.", True),
        ("THE TEXT DOES NOT MENTION IT.", True),
        ("Not mentioned.", True),
        ("I don't know.", True),
        ("I'm not familiar with this model.", True),
        ("I don't have information about this company.", True),
        ("Unfortunately, I was unable to locate it.", True),
        ("我不了解这个模型。", True),
        ("没有相关信息。", True),
        ("文中未提及。", True),
        ("无", True),
        ("没有。", True),  # the whole answer a bare "no"
        ("不知。", True),
        ("N / A", True),  # spaced out
        ("文中 没 有 提 到", True),  # a small model's spaced-out Chinese
        ("我 不 知 道", True),
        ("4729183", False),
        ("The magic number for Oslo is 4729183.", False),
        ("Someone said nothing.", False),
        ("上海的神秘数字是4729183", False),
    ],
)
def test_is_refusal(text: str, refuses: bool) -> None:
    assert is_refusal(text) is refuses


def test_bind_by_structure() -> None:
    keys = {"oslo": ["Oslo"], "lima": ["Lima"]}
    for text in (
        "Oslo: 123, Lima: 456",
        "123 (Oslo), 456 (Lima)",
        "Oslo and Lima are 123 and 456 respectively",
        "| Oslo | 123 |\n| Lima | 456 |",
        "1. Oslo - 123\n2. Lima - 456",
        "Oslo:\n123\nLima:\n456",
        "123 is Oslo's and 456 is Lima's",
    ):
        p = prepare(text)
        b = bind(p, numbers(p), keys)
        assert {k: [m.value for m in v] for k, v in b.by_key.items()} == {"oslo": ["123"], "lima": ["456"]}, (
            text
        )


def test_commitment_after_a_correction() -> None:
    p = prepare("It is 123. Wait, actually it is 456.")
    assert [m.value for m in committed_values(p, numbers(p))] == ["456"]
    p = prepare("It is 123 or 456.")
    assert [m.value for m in committed_values(p, numbers(p))] == ["123", "456"]


def test_phrase_recall() -> None:
    assert phrase_recall("戴眼镜的乌龟在修理潜水艇", "一只戴眼镜的乌龟正在修理潜水艇") == 1.0
    assert phrase_recall("我们今天请到了几位嘉宾", "一只戴眼镜的乌龟正在修理潜水艇") == 0.0
    assert phrase_recall("", "x y") == 0.0


@pytest.mark.parametrize(
    ("text", "prepared"),
    [
        ("| City | Number |\n|---|---|\n| Oslo | 123 |", "city : number\n\noslo : 123"),
        ("a|b|c", "a : b : c"),
        ("x | y", "x | y"),  # one pipe inside a line is no table
        ("```python\n4729183\n```", "\n4729183\n"),
        ("# Answer\n> quoted", "answer\nquoted"),
        ("**Bold** and __under__ and ~~gone~~", "bold and under and gone"),
        ("<think>It is 123.</think>It is 456.", " it is 456."),
        ("1. one\n2) two\n- three\n* four\n• five\n3、six", "one\ntwo\nthree\nfour\nfive\nsix"),
        ("(1) a (2) b", "a   b"),
        ("`4729183` in `code`", "4729183 in code"),
        ("\u2018x\u2019 \u201cy\u201d a\u2014b", "'x' \"y\" a - b"),
        ("Ｏｓｌｏ：１２３", "oslo:123"),
        ("42.\n7.5", "42.\n7.5"),  # a number with a full stop is no list marker
        ("| X | 4729183 |", "x : 4729183"),  # a table row: cells joined, an "X" cell kept
        ("| Oslo 4729183", "oslo 4729183"),  # one leading bar: a row of one cell
    ],
)
def test_prepare(text: str, prepared: str) -> None:
    assert prepare(text) == prepared


def test_mention_readings_and_counts() -> None:
    (m,) = numbers(prepare("472 9183"))
    assert m.reads("4729183") and m.reads("472") and m.reads("9183") and not m.reads("47")
    four, cities, bare = numbers(prepare("4 cities, 58种语言, 123 is it"))
    assert (four.counted, four.after) == (True, "cities")
    assert (cities.counted, cities.after) == (True, "种")
    assert (bare.counted, bare.after) == (False, "is")
    assert numbers(prepare("1.5"))[0].value == "1.5"
    assert [m.value for m in numbers(prepare("12,345 and 4.729.183 and 1'000"))] == [
        "12345",
        "4729183",
        "1000",
    ]


@pytest.mark.parametrize(
    ("text", "hedge"),
    [
        ("either 123 or 456", True),
        ("123, or possibly 456", True),
        ("可能是123，也可能是456", True),
        ("我不确定", True),
        ("It is 123.", False),
        ("123 and 456", False),
    ],
)
def test_hedges(text: str, hedge: bool) -> None:
    from haystacks.reading import hedges

    assert hedges(text) is hedge


def test_markers_and_commitment() -> None:
    from haystacks.reading import commitment, hedge_between, markers, postfix_conclusions

    p = prepare("First 1, so 2; wait, actually 3")
    assert len(markers(p)) == 3
    total = prepare("314 crates in total, from 4 shipments of 37 and 86.")
    assert markers(total) == [] and postfix_conclusions(total) == [(0, 19)]  # "in total" concludes 314
    assert len(markers(prepare("Joaquin? No: Ravindra. 不：白露晞"))) == 2
    offsets = [m.start for m in numbers(p)]
    assert commitment(p, offsets) == 2  # the values after the last marker with a value before it
    assert commitment(p, offsets[:1]) == 0
    assert hedge_between(prepare("1 or 2"), 0, 6) and not hedge_between(prepare("1 and 2"), 0, 7)


def test_units_split_lines_sentences_and_corrections() -> None:
    from haystacks.reading import units

    p = prepare("A is 1. B is 2!\nC is 3——不对，是4")
    assert [p[a:b].strip() for a, b in units(p)] == ["a is 1.", "b is 2!", "c is 3 - - ", "不对,是4"][:2] + [
        p[a:b].strip() for a, b in units(p)
    ][2:]
    assert len(units(p)) == 4
    assert units("") == [] and units("   ") == []


def test_find_labels_longest_first_and_word_bounded() -> None:
    from haystacks.reading import find_labels

    keys = {"sf": ["San Francisco"], "fr": ["Francisco"], "oslo": ["Oslo"]}
    found = find_labels(prepare("San-Francisco and Francisco, not Osloville; Oslo"), keys)
    assert [x.key for x in found] == ["sf", "fr", "oslo"]


def test_content_and_colours() -> None:
    from haystacks.reading import content

    assert {"flowerpot", "blue", "under"} <= content("beneath the blue flower pot")
    assert content("的一只") == set()
    assert "花盆" in content("蓝色花盆") and "花盆" not in content("蓝色花盆", pairs=False)
    assert phrase_recall("under the red flowerpot", "under the blue flowerpot") == 0.0
    assert phrase_recall("红色花盆底下", "蓝色花盆底下") == 0.0
    assert phrase_recall("under the blue and red flowerpot", "under the blue flowerpot") == 1.0
    assert phrase_recall("42", "42") == 1.0
