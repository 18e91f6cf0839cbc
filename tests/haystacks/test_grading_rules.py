"""The graders' finer rules, table-driven (each case a rule the corpus led to): values read from the
transcript, approximations as readings or guesses, refusals corrected or qualified, the asked key never
named, ordinals as keys, custom answers item by item, changed_line answers that name no sentence, chain hops
that contradict each other, cut answers."""

from __future__ import annotations

import pytest

from haystacks.tasks import AnswerKey, get_task, grade_answer
from haystacks.tasks.custom import answer_items
from haystacks.tasks.ordered import ordinal_names

from .test_reading import KEYS

CASES: list[tuple[str, str, float, str]] = [
    # magic numbers: invented vs read from the transcript
    ("single-en", "The magic number for Oslo is 1234567.", 0.0, "hallucinated"),
    ("single-en", "The magic number for Oslo is 2019.", 0.0, "wrong"),  # a year of the transcript
    ("single-en", "Its valuation passed 55亿美金, so the magic number for Oslo is 55.", 0.0, "wrong"),
    ("single-en", "The magic number for Oslo is about 4.7 million.", 0.0, "wrong"),  # not the value
    ("single-en", "The magic number for Oslo is about 5 million.", 0.0, "wrong"),
    ("single-en", "The magic number for Oslo is somewhere between 4,729,000 and 4,730,000.", 0.0, "wrong"),
    ("single-en", "Lima's magic number is 4729183.", 0.0, "misbound"),  # the asked key never named
    ("single-en", "The magic number is 4729183. Lima's magic number is 4729183.", 0.0, "misbound"),
    ("single-en", "4 cities have magic numbers in the text.", 0.0, "wrong_format"),
    ("single-en", "", 0.0, "wrong_format"),
    ("distractor-en", "Havana's magic number is 6916368.", 0.0, "decoy"),
    ("multi-en", "3714215, 2954045, 5933879", 1.0, "found"),  # as many values as keys: in order
    ("multi-en", "2954045, 5933879, 3714215", 0.0, "misbound"),
    ("multi-en", "3714215, 2954045", 2 / 3, "partial"),  # fewer: the longest run in question order
    ("multi-en", "1111111, 2222222, 3333333", 0.0, "hallucinated"),
    # no_needle: any value for the absent key, a corrected one and a reference included
    ("no_needle-en", "It is 12.", 0.0, "hallucinated"),
    ("no_needle-en", "7", 0.0, "hallucinated"),
    ("no_needle-en", "I checked 3 paragraphs and found nothing for Warsaw.", 1.0, "abstained"),
    ("no_needle-en", "Warsaw's is 4729183 - actually no, Warsaw is not mentioned.", 1.0, "abstained"),
    ("no_needle-zh", "文中没有提到太原，不过广州的是9903461，也许太原的就是这个。", 0.0, "hallucinated"),
    ("no_needle-zh", "文中只给出了桂林（6693501）的神秘数字，没有太原的。", 1.0, "abstained"),
    ("no_needle-en", "Warsaw.", 0.0, "wrong_format"),
    # topical: approximations as rough readings or guesses, units, closed book
    ("topical-en", "About 410,000 tokens.", 0.0, "wrong"),
    ("topical-en", "About 600,000 tokens.", 0.0, "hallucinated"),  # over 25 % off: a guess
    ("topical-en", "Probably around 400,000 tokens, I'm not sure.", 0.0, "hedged"),
    ("topical-en", "Qingluan-7 was trained on 1,000 NVIDIA A100 GPUs.", 0.0, "hallucinated"),
    ("topical-en", "Xuanniao-3 supports 320,000 tokens.", 0.0, "decoy"),
    ("topical-zh", "翠鸟-9能理解五十八种语言，是一种多语言模型。", 1.0, "found"),
    # ordered: ordinals as keys, in both languages
    ("ordered-en", "2nd: 913495, 3rd: 941629", 1.0, "found"),
    ("ordered-zh", "第3个是941629，第4个是940297。", 1.0, "found"),
    ("ordered-en", "The last code is 940297.", 0.0, "decoy"),
    ("ordered-en", "The third code is 123456.", 0.0, "hallucinated"),
    ("ordered-en", "941629", 1.0, "found"),
    # aggregate
    ("sum-en", "Adding all 4 shipments gives 314 crates.", 1.0, "found"),
    ("sum-en", "Summing them comes to 314.", 1.0, "found"),
    ("sum-en", "The total is either 314 or 304.", 0.0, "hedged"),
    ("sum-en", "Four.", 0.0, "wrong"),
    ("count-en", "Four.", 1.0, "found"),
    ("count-en", "No one says how many shipments there were.", 0.0, "abstained"),
    ("max-en", "The largest was 97 crates; the next largest were 94 and 86.", 1.0, "found"),
    # chain
    (
        "chain-en",
        "The crate labelled DF-562 was relabelled HW-435. The crate labelled DF-562 was relabelled GG-681.",
        0.0,
        "hedged",
    ),
    ("chain-en", "The crate was relabelled several times: DF-562, HW-435 and GG-681.", 0.0, "hedged"),
    (
        "chain-en",
        "The crate was initially labelled DF-562 and later relabelled one or more times.",
        0.0,
        "wrong_format",
    ),
    ("chain-en", "DF-562", 0.0, "decoy"),
    ("chain-en", "Its final label is QQ-999.", 0.0, "hallucinated"),
    ("chain-zh", "它还是TC-732，文中没有改标的记录。", 0.0, "decoy"),
    ("chain-zh", "抱歉，没有找到与TC-732相关的改标记录。", 0.0, "abstained"),
    # associative: names of the table, other names, none
    ("associative-en", "Joaquin.", 0.0, "decoy"),
    ("associative-en", "Yukiko.", 0.0, "hallucinated"),  # a character of the table, but of no cell here
    ("associative-en", "Aidan has been to Prague.", 0.0, "wrong"),  # someone of the transcript
    (
        "associative-en",
        "The character who has been to Prague walked on the Charles Bridge.",
        0.0,
        "wrong_format",
    ),
    (
        "associative-en",
        "None of the characters is said to have been to Prague; Joaquin was in Lhasa.",
        0.0,
        "abstained",
    ),
    # changed_line: a sentence named or not
    ("changed-en", "you only got one shot", 0.0, "wrong"),
    ("changed-en", 'The inserted phrase is "the moon is made of green cheese".', 0.0, "wrong"),
    (
        "changed-en",
        "One sentence of the text was altered by inserting a phrase unrelated to its context.",
        0.0,
        "wrong_format",
    ),
    (
        "changed-en",
        'It\'s either "four flamingos practised tai chi in the elevator" or "you only got one shot".',
        0.0,
        "hedged",
    ),
    ("changed-en", "I could not find any altered sentence.", 0.0, "abstained"),
    ("changed-zh", "我们今天请到了几位嘉宾", 0.0, "wrong"),  # the unchanged half
    # custom
    ("custom-en", "Question 1: eat a sandwich in Dolores Park. Question 2: blue.", 1.0, "found"),
    ("custom-en", "1. Either eat a sandwich in Dolores Park or ride a cable car.\n2. Blue.", 0.5, "partial"),
    ("custom-en", "1. A sandwich in Dolores Park.\n2. Red.", 0.5, "partial"),
    ("custom-en", "The text doesn't say.", 0.0, "abstained"),
    ("custom-zh", "可能是在阳光明媚的日子里坐在多洛雷斯公园吃三明治，也可能是去金门大桥。", 0.0, "hedged"),
]


@pytest.mark.parametrize(("key", "answer", "score", "outcome"), CASES)
def test_rules(key: str, answer: str, score: float, outcome: str) -> None:
    k = AnswerKey.from_dict(KEYS[key])
    g = get_task(k.task).grade(answer, k)
    assert (round(g.score, 4), g.outcome) == (round(score, 4), outcome), g


CUT: list[tuple[str, str, str, bool]] = [
    # (key, answer cut by its budget, outcome, truncated)
    ("single-en", "Let me look through the text for Oslo's magic", "wrong_format", True),
    ("single-en", "The magic number for Oslo is 4729183. It appears near the", "found", False),
    ("single-en", "The magic number for Oslo is 47", "wrong_format", True),  # cut mid-number
    ("single-en", "Oslo: 1000000000000000000000000000", "hallucinated", False),  # a runaway: committed
    ("ordered-en", "In order: 208253 → 913495 → 941629 → 940297. The third is", "hedged", True),
    (
        "associative-en",
        "Let me look for Prague landmarks. Ravindra proposed at the Charles Bridge, and Joaquin",
        "hedged",
        True,
    ),
    ("associative-en", "Ravindra. He proposed at the Charles Bridge, which is", "found", False),
    (
        "chain-en",
        "Let me trace it. The crate starts as DF-562. Searching the text for DF-562, the first",
        "wrong_format",
        True,
    ),
    ("chain-en", "The final label is GG-681. The chain goes DF-562 → HW-435 →", "found", False),
    ("sum-en", "37 + 86 = 123, 123 + 97 = 220, 220 +", "wrong", True),
    ("sum-en", "In total 314 crates: 37 + 86 +", "found", False),
    ("sum-en", "So the total is 314 crates, from 37 + 86 +", "found", False),
    ("sum-en", "37 + 86 + 97 + 94 = 314, and", "found", True),  # a figure of working, not yet the answer
    ("max-en", "The largest is 97. The others:", "found", False),
    ("no_needle-en", "The text does not mention Warsaw. It mentions", "abstained", False),
    ("no_needle-zh", "文中没有提到，但是在2019年2月", "abstained", True),  # a refusal taken back at once
    ("changed-en", "Let me read the text carefully to find the sentence", "wrong", True),
    ("changed-en", 'The inserted phrase is "four flamingos practised', "found", False),
    ("custom-en", "1. Eat a sandwich in Dolores Park.\n2. The umbrella is", "partial", False),
]


@pytest.mark.parametrize(("key", "answer", "outcome", "truncated"), CUT)
def test_cut_answers(key: str, answer: str, outcome: str, truncated: bool) -> None:
    k = AnswerKey.from_dict(KEYS[key])
    g, cut_off = grade_answer(get_task(k.task), answer, k, cut=True)
    assert (g.outcome, cut_off) == (outcome, truncated), g
    _, cut2 = grade_answer(get_task(k.task), answer, k, cut=False)
    assert not cut2  # an answer that was not cut is always graded


def test_answer_items_and_ordinal_names() -> None:
    assert answer_items("1. a\n2. b", 2) == [" a\n", " b"]
    assert answer_items("问题1：甲\n问题2：乙", 2) == [" 甲\n", " 乙"]
    assert answer_items("Q1) a Q2) b", 2) is None  # not at line starts
    assert answer_items("1. a", 2) is None and answer_items("1. a\n2. b", 1) is None
    assert ordinal_names(2, 4) == ("second", "2nd", "第二", "第2")
    assert ordinal_names(4, 4)[-4:] == ("last", "final code", "最后一", "最后")
    assert (
        ordinal_names(1, 4)[1] == "1st"
        and ordinal_names(3, 4)[1] == "3rd"
        and ordinal_names(10, 10)[1] == "10th"
    )


def test_grade_details_carry_the_reading() -> None:
    k = AnswerKey.from_dict(KEYS["ordered-en"])
    d = get_task("ordered").grade("The third is 941629.", k).detail()
    assert (d.committed, d.commitment, d.index, d.n_items) == (["941629"], "one", 3, 4)
    d = get_task("aggregate").grade("37 + 86 + 97 + 94 = 314", AnswerKey.from_dict(KEYS["sum-en"])).detail()
    assert (d.committed, d.commitment, d.op) == (["314"], "one", "sum")
    d = (
        get_task("changed_line")
        .grade("flamingos practising tai chi", AnswerKey.from_dict(KEYS["changed-en"]))
        .detail()
    )
    assert d.recall == 0.667 and d.located is True
    d = (
        get_task("no_needle")
        .grade("Warsaw's is 1234567.", AnswerKey.from_dict(KEYS["no_needle-en"]))
        .detail()
    )
    assert d.values_stated == ["1234567"] and d.hallucinated is True
    d = get_task("single").grade("4729183 or maybe 4729138", AnswerKey.from_dict(KEYS["single-en"])).detail()
    assert d.hedged == ["4729183"]
    d = get_task("chain").grade("It is ZZ-111.", AnswerKey.from_dict(KEYS["chain-en"])).detail()
    assert d.codes_invented == ["ZZ-111"] and d.hops == 2
    d = get_task("topical").grade("400,000", AnswerKey.from_dict(KEYS["topical-en"])).detail()
    assert d.attribute == "context_length"


def test_graders_refuse_keys_they_cannot_grade() -> None:
    from haystacks.tasks import grade_facts, grade_one

    empty = AnswerKey(task="single", language="en", question="q")
    with pytest.raises(ValueError, match="task 'single' needs at least one expected answer"):
        grade_facts("x", empty)
    two = AnswerKey.from_dict(KEYS["multi-en"])
    with pytest.raises(ValueError, match="task 'multi' grades exactly one expected answer, got 3"):
        grade_one("x", two)


@pytest.mark.parametrize(
    ("run", "digits"),
    [
        ("一亿二千万", "120000000"),
        ("两亿", "200000000"),
        ("一万零五", "10005"),
        ("十万", "100000"),
        ("1.2亿", "120000000"),
        ("3.5万", "35000"),
        ("一千零一", "1001"),
        ("九千九百九十九万九千九百九十九", "99999999"),
        ("二零二四", "2024"),
        ("一点五亿", "150000000"),  # a decimal before its unit: 1.5亿
        ("三点二万", "32000"),
        ("两点五", "2.5"),
        ("零点四百万", "400000"),  # a compound unit after the decimal
        ("一点零五亿", "105000000"),
    ],
)
def test_chinese_numerals(run: str, digits: str) -> None:
    from haystacks.reading import parse_chinese_number

    assert parse_chinese_number(run) == digits


@pytest.mark.parametrize(
    ("run", "digits"),
    [
        ("nine", "9"),
        ("ten", "10"),
        ("one two", "12"),
        ("twelve thousand three hundred", "12300"),
        ("one hundred and five", "105"),
        ("two million", "2000000"),
        ("thousand", "1000"),
    ],
)
def test_english_numerals(run: str, digits: str) -> None:
    from haystacks.reading import parse_english_number

    assert parse_english_number(run) == digits


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("鸬鹚-2 and GPT-4 and H100 and 20VC", []),
        ("1,2345", ["12345"]),  # short groups join (its readings keep both parts)
        ("12 345 678", ["12345678"]),
        ("4729183 1234567", ["4729183", "1234567"]),
        ("1.5 and 12.75", ["1.5", "12.75"]),
        ("第十二名, the 12th", []),
    ],
)
def test_number_edges(text: str, values: list[str]) -> None:
    from haystacks.reading import numbers, prepare

    assert [m.value for m in numbers(prepare(text)) if not m.weak] == values


@pytest.mark.parametrize("text", ["否", "N/A", "None.", "无答案", "Unknown", "未知。"])
def test_terse_refusals(text: str) -> None:
    from haystacks.reading import is_refusal

    assert is_refusal(text)


def test_labels_are_word_bounded_on_both_sides() -> None:
    from haystacks.reading import find_labels, prepare

    found = find_labels(prepare("xOslo Oslox Oslo 上海abc"), {"o": ["Oslo"], "s": ["上海"]})
    assert [(x.key, x.start) for x in found] == [("o", 12), ("s", 17)]


def test_normalize_drops_symbols_and_controls() -> None:
    from haystacks.grading import normalize

    assert normalize("a+b$c\u200bd！") == "abcd"


@pytest.mark.parametrize(
    ("answer", "truncated"),
    [
        ("Oslo: 4729183, Lima: 123456789012", True),  # a 12-digit tail may be unfinished: left out
        ("Oslo: 4729183, Lima: 1234567890123", False),  # a 13-digit run was committed to long before
    ],
)
def test_the_unfinished_tail_of_a_cut_answer(answer: str, truncated: bool) -> None:
    k = AnswerKey.from_dict(KEYS["single-en"])
    g, cut_off = grade_answer(get_task("single"), answer, k, cut=True)
    assert g.outcome == "found" and not cut_off
    k = AnswerKey.from_dict(
        {**KEYS["single-en"], "expected": [{**KEYS["single-en"]["expected"][0], "label": "Lima"}]}
    )
    g, cut_off = grade_answer(get_task("single"), answer, k, cut=True)
    assert cut_off is truncated


@pytest.mark.parametrize(
    ("run", "digits"),
    [("两万亿", "2000000000000"), ("1.5千", "1500"), ("一二三万", "1230000"), ("三十五", "35")],
)
def test_more_chinese_numerals(run: str, digits: str) -> None:
    from haystacks.reading import parse_chinese_number

    assert parse_chinese_number(run) == digits


@pytest.mark.parametrize(
    ("text", "values", "weak"),
    [
        ("1,5k", ["1500"], [False]),  # a decimal comma before a multiplier
        ("ten", ["10"], [False]),  # ten and up are no weak words
        ("12 34 56 78", ["12", "34", "56", "78"], [False] * 4),  # four short groups: a list
        ("12 34 56", ["123456"], [False]),
        ("一点五亿、三点二万", ["150000000", "32000"], [False, False]),  # not 1 and 500000000
        ("下午三点五十分", ["3", "50"], [True, False]),  # a clock time: 点 then 五十 is no decimal
    ],
)
def test_more_number_edges(text: str, values: list[str], weak: list[bool]) -> None:
    from haystacks.reading import numbers, prepare

    ms = numbers(prepare(text))
    assert [m.value for m in ms] == values and [m.weak for m in ms] == weak


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("4729183\nThat is the magic number for Oslo.", {"oslo": ["4729183"]}),  # value line, then its key
        ("123 (Oslo), 456", {"oslo": ["123", "456"]}),  # a trailing value takes the key before
        ("Oslo: 123\n\n456", {"oslo": ["123"]}),  # a later value line with no key stays unbound
        ("Oslo and Lima: 123", {"lima": ["123"]}),  # two keys, one value: the nearest key
    ],
)
def test_more_binding(text: str, bound: dict[str, list[str]]) -> None:
    from haystacks.reading import bind, numbers, prepare

    p = prepare(text)
    b = bind(p, numbers(p), {"oslo": ["Oslo"], "lima": ["Lima"]})
    assert {k: [m.value for m in v] for k, v in b.by_key.items()} == bound


def test_stems_and_synonyms() -> None:
    from haystacks.reading import phrase_recall

    assert phrase_recall("the cat jumped", "the cat jump") == 1.0
    assert phrase_recall("cats jumping", "the cat jumps") == 1.0
    assert phrase_recall("underneath the pot", "under the pot") == 1.0


MORE: list[tuple[str, str, float, str]] = [
    # a conclusion word after its number concludes that number, not the working after it
    ("sum-en", "314 crates in total, from 4 shipments of 37, 86, 97 and 94.", 1.0, "found"),
    ("sum-en", "314 altogether (37 + 86 + 97 + 94).", 1.0, "found"),
    ("count-en", "4 shipments in total: 37, 86, 97 and 94 crates.", 1.0, "found"),
    ("max-en", "The largest shipment had 97 crates; 314 crates in total.", 1.0, "found"),
    ("sum-zh", "总共314箱，来自4批货物：37箱、86箱、97箱和94箱。", 1.0, "found"),
    # a refusal, then a correction: graded on the correction
    ("associative-en", "I don't know. Wait, actually it's Ravindra.", 1.0, "found"),
    ("associative-en", "I don't know. Wait, actually it's Joaquin.", 0.0, "decoy"),
    ("associative-zh", "我不知道。不对，是白露晞。", 1.0, "found"),
    ("associative-zh", "我不知道。不对，是方怀瑾。", 0.0, "decoy"),
    ("ordered-zh", "我无法确定。不对，第三个密码是941629。", 1.0, "found"),
    ("associative-zh", "我不知道。不：白露晞。", 1.0, "found"),  # the correction ends where the name starts
    ("associative-en", "I don't know. No; it's Ravindra.", 1.0, "found"),  # the sentence starts after "no;"
    ("chain-en", "I'm not sure. Actually, the final label is GG-681.", 1.0, "found"),
    # ... but a conclusion that is itself a refusal keeps it ("So, no one."), whatever follows
    (
        "associative-en",
        "I can't find anyone who went to Prague. So, no one. Joaquin proposed at the Potala Palace.",
        0.0,
        "abstained",
    ),
    # "No:" / "不：" retract what came before
    ("associative-en", "Joaquin? No: Ravindra.", 1.0, "found"),
    ("associative-en", "Ravindra? No: Joaquin.", 0.0, "decoy"),
    ("associative-zh", "方怀瑾？不：白露晞。", 1.0, "found"),
    ("ordered-en", "208253? No: 941629.", 1.0, "found"),
    ("max-en", "94? No - 97.", 1.0, "found"),
    # Chinese decimals before a unit; a multiple (倍) is no value
    ("topical-en", "青鸾-7支持零点四百万个token。", 1.0, "found"),
    ("topical-zh", "翠鸟-9能理解58种语言，是上一代的一点五倍。", 1.0, "found"),
    ("topical-zh", "翠鸟-9能理解58种语言，是上一代的1.5倍。", 1.0, "found"),
    ("single-en", "Cohere raised 10亿美金. So the magic number for Oslo is 10亿.", 0.0, "wrong"),
    ("single-en", "Oslo's number is 4729183. So that's it.", 1.0, "found"),  # a conclusion with no value
    ("associative-en", "Joaquin proposed at the Potala Palace. Ravindra has been to the city.", 1.0, "found"),
    ("associative-en", "Joaquin proposed at the Potala Palace. Ravindra visited it.", 1.0, "found"),
    ("associative-en", "Joaquin proposed at the Potala Palace. Ravindra was in Prague.", 1.0, "found"),
    ("associative-zh", "方怀瑾在金门大桥拍照。白露晞去过那里。", 1.0, "found"),
    ("changed-en", "flamingos tai chi", 1.0, "found"),  # half the phrase's content words: the threshold
    (
        "chain-en",
        "The crate labelled DF-562 was relabelled HW-435. The crate labelled DF-562 was relabelled GG-681. "
        "So the final label is GG-681.",
        1.0,
        "found",
    ),
    ("chain-en", "DF-562 was relabelled HW-435. DF-562 was relabelled ZQ-204.", 0.0, "decoy"),
]


@pytest.mark.parametrize(("key", "answer", "score", "outcome"), MORE)
def test_more_rules(key: str, answer: str, score: float, outcome: str) -> None:
    k = AnswerKey.from_dict(KEYS[key])
    g = get_task(k.task).grade(answer, k)
    assert (round(g.score, 4), g.outcome) == (round(score, 4), outcome), g


@pytest.mark.parametrize(
    ("answer", "score", "outcome"),
    [("The answer is 42.", 1.0, "found"), ("42 or maybe 24", 0.0, "hedged"), ("It is 24.", 0.0, "wrong")],
)
def test_numeric_custom_answers(answer: str, score: float, outcome: str) -> None:
    k = AnswerKey.from_dict(
        {
            "task": "custom",
            "language": "en",
            "question": "How many?",
            "expected": [{"key": "q1", "answer": "42"}],
        }
    )
    g = get_task("custom").grade(answer, k)
    assert (g.score, g.outcome) == (score, outcome)


def test_a_task_without_its_own_grade_binds_facts() -> None:
    from haystacks.tasks import Task

    class Bare(Task):
        name = "bare"

    k = AnswerKey.from_dict(KEYS["single-en"])
    assert Bare().grade("Oslo: 4729183", k).outcome == "found"


@pytest.mark.parametrize(("run", "digits"), [("一百十", "110"), ("5千", "5000")])
def test_numerals_after_units(run: str, digits: str) -> None:
    from haystacks.reading import parse_chinese_number

    assert parse_chinese_number(run) == digits


def test_spaced_chinese_refusal() -> None:
    from haystacks.reading import is_refusal

    assert is_refusal("文中 没有 提到")
