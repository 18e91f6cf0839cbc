"""Every task of the table: exact lengths and depths, seeded determinism, a restated answer graded found,
needles that hold what the question needs; then the five newer families one by one (plans and graders)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haystacks.builder import CellSpec, Haystack, build_haystack
from haystacks.corpus import Corpus
from haystacks.errors import SpecError
from haystacks.grading import contains_answer, normalize
from haystacks.needles import NeedlePlan
from haystacks.prompts import ABSTAIN_ANSWERS
from haystacks.tasks import OUTCOMES, AnswerKey, get_task, task_names
from haystacks.tasks.aggregate import OPS, compute
from haystacks.tasks.associative import NAMES, PAIRS, QUESTIONS, TEMPLATES, content_tokens, lexical_overlap
from haystacks.tasks.chain import codes_in
from haystacks.tasks.ordered import ordinal
from haystacks.tasks.topical import ATTRIBUTES, zh_number
from haystacks.tokenizers import Tokenizer, get_tokenizer

from .conftest import check_depth, check_exact

NEW = ("associative", "chain", "aggregate", "ordered", "topical")
LANGS = ("zh", "en")


def spec_for(task: str, **over: object) -> CellSpec:
    """A cell of ``task`` with its example options (what a run with those options would build)."""
    t = get_task(task)
    fields: dict[str, object] = {"task": task, **t.cell_params(t.example_options())}
    fields.update(over)
    return CellSpec(**fields)  # type: ignore[arg-type]


def plan_of(task: str, **over: object) -> NeedlePlan:
    return get_task(task).plan(spec_for(task, **over))


def key_of(task: str, **over: object) -> AnswerKey:
    s = spec_for(task, **over)
    return get_task(task).plan(s).answer_key(task, s.language)


def grade(key: AnswerKey, answer: str) -> tuple[float, str]:
    g = get_task(key.task).grade(answer, key)
    assert g.outcome in OUTCOMES
    return g.score, g.outcome


@pytest.fixture(scope="module")
def o200k() -> Tokenizer:
    return get_tokenizer("o200k_base")


def test_the_table_holds_the_new_families() -> None:
    names = task_names()
    assert set(NEW) <= set(names)
    for name in names:
        t = get_task(name)
        assert t.name == name and t.summary and t.metric
        assert set(t.cell_params(t.example_options())) <= set(CellSpec.__dataclass_fields__)
    assert get_task("topical").closed_book and not get_task("associative").closed_book


# ---------------------------------------------------------------------------------------------------------
# every task: exact lengths, depths, determinism, a restated answer is found, needles support the question
# ---------------------------------------------------------------------------------------------------------
cells = st.fixed_dictionaries(
    {
        "length": st.floats(min_value=3.0, max_value=4.7).map(lambda x: round(10**x)),
        "depth": st.floats(min_value=0.0, max_value=100.0).map(lambda d: round(d, 2)),
        "seed": st.integers(min_value=0, max_value=10_000),
        "language": st.sampled_from(LANGS),
    }
)


def _check_built(h: Haystack, tok: Tokenizer) -> None:
    check_exact(h, tok)
    # exact where the tokenizer allows: a cut before a 2-token character can miss by one (the builder's
    # documented tolerance, see test_builder); test_lengths_exact_in_almost_every_cell counts the misses
    assert abs(h.context_tokens - h.spec.length) <= 2
    items = (*h.needles, *h.distractors)
    for n in items:
        # two items at one boundary are placed side by side (in depth order): the later one's nearest
        # boundary is taken by the first, so it is checked as part of that pair, not alone
        ends = {m.char_offset + len(m.text) for m in items if m is not n}
        starts = {m.char_offset for m in items if m is not n}
        end = n.char_offset + len(n.text)
        paired = any(n.char_offset - e in (0, 1) for e in ends) or any(s - end in (0, 1) for s in starts)
        if not paired:
            check_depth(h, n, tok)


@pytest.mark.parametrize("task", task_names())
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cell=cells)
def test_exact_length_and_depths_cl100k(task: str, cell: dict, corpus: Corpus, cl100k: Tokenizer) -> None:
    _check_built(build_haystack(spec_for(task, **cell), cl100k, corpus), cl100k)


@pytest.mark.parametrize("task", task_names())
@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cell=cells)
def test_exact_length_and_depths_o200k(task: str, cell: dict, corpus: Corpus, o200k: Tokenizer) -> None:
    _check_built(build_haystack(spec_for(task, **cell), o200k, corpus), o200k)


@pytest.mark.parametrize("task", task_names())
def test_lengths_exact_in_almost_every_cell(task: str, corpus: Corpus, cl100k: Tokenizer) -> None:
    hs = [
        build_haystack(spec_for(task, length=n, depth=d, seed=s, language=lang), cl100k, corpus)
        for n, d, s, lang in itertools.product((1000, 1500, 4096, 10_000), (0.0, 50.0, 100.0), (0,), LANGS)
    ]
    exact = sum(h.context_tokens == h.spec.length for h in hs)
    assert exact >= len(hs) - 4, [(h.spec.length, h.context_tokens) for h in hs]
    assert all(abs(h.context_tokens - h.spec.length) <= 2 for h in hs)


@pytest.mark.parametrize("task", task_names())
def test_same_seed_same_needles_for_every_tokenizer_length_and_depth(
    task: str, corpus: Corpus, cl100k: Tokenizer, o200k: Tokenizer
) -> None:
    for lang, seed in itertools.product(LANGS, (0, 5)):
        a = build_haystack(spec_for(task, length=1500, depth=20.0, seed=seed, language=lang), cl100k, corpus)
        b = build_haystack(spec_for(task, length=3000, depth=20.0, seed=seed, language=lang), o200k, corpus)
        assert [n.text for n in a.needles] == [n.text for n in b.needles] or task == "changed_line"
        assert [n.text for n in a.distractors] == [n.text for n in b.distractors]
        assert a.question == b.question and a.answers == b.answers
        assert a.answer_key.expected == b.answer_key.expected and a.answer_key.decoys == b.answer_key.decoys
        assert a.answer_key.params == b.answer_key.params
        # the plan does not depend on length or depth either (only the depths it asks for move)
        p1, p2 = plan_of(task, seed=seed, language=lang, depth=10.0), plan_of(task, seed=seed, language=lang)
        assert [n.text for n in p1.needles] == [n.text for n in p2.needles]
        assert p1.question == p2.question and p1.grading == p2.grading
    if task != "custom":  # another seed, another draw
        assert key_of(task, seed=6, language="en") != key_of(task, seed=5, language="en")


def restated(key: AnswerKey) -> str:
    """The expected answer restated with some framing (the abstention for the no-needle control)."""
    if key.absent is not None:
        return ABSTAIN_ANSWERS[key.language]
    if key.language == "zh":
        return "根据文本，答案是" + "、".join(f.answer for f in key.expected) + "。"
    return "According to the text, the answer is " + ", ".join(f.answer for f in key.expected) + "."


@pytest.mark.parametrize("task", task_names())
def test_the_expected_answer_restated_scores_one(task: str) -> None:
    for lang, seed in itertools.product(LANGS, range(6)):
        key = key_of(task, seed=seed, language=lang)
        g = get_task(task).grade(restated(key), key)
        assert g.score == 1.0, (task, lang, seed, g)
        assert g.outcome == ("abstained" if task == "no_needle" else "found")
        # a record's answer key round-trips through JSON and grades the same
        again = AnswerKey.from_dict(key.to_dict())
        assert get_task(task).grade(restated(key), again).score == 1.0


def _supported(task: str, plan: NeedlePlan, lang: str) -> None:
    texts = [n.text for n in (*plan.needles, *filter(None, [plan.change]))]
    key = plan.answer_key(task, lang)
    if task == "no_needle":
        assert key.absent is not None and all(key.absent.label not in t for t in texts)
        return
    if task == "aggregate":
        values = [int(n.answer) for n in plan.needles]
        assert all(str(v) in t for v, t in zip(values, texts, strict=True))
        assert str(compute(dict(plan.grading)["op"], values)) == key.expected[0].answer
        return
    for f in key.expected:
        assert any(contains_answer(t, f.answer) for t in texts), (task, f)
    if task == "chain":
        path = dict(plan.grading)["path"]
        assert path[0] in plan.question and path[-1] == key.expected[0].answer
        for i, n in enumerate(plan.needles):  # hop i takes label i to label i + 1
            assert codes_in(n.text) == {path[i], path[i + 1]} and n.text.index(path[i]) < n.text.index(
                path[i + 1]
            )
    if task == "associative":
        landmark, city = dict(plan.grading)["hop"].split(" -> ")
        assert (landmark, city) in PAIRS[lang] and landmark in texts[0] and city in plan.question
        assert city not in texts[0]
    if task == "topical":
        label = key.expected[0].label
        assert label in texts[0] and label in plan.question
    if task == "ordered":
        assert ordinal(dict(plan.grading)["index"], len(plan.needles), lang) in plan.question


@pytest.mark.parametrize("task", task_names())
def test_the_needles_hold_what_the_question_needs(task: str) -> None:
    for lang, seed in itertools.product(LANGS, range(8)):
        _supported(task, plan_of(task, seed=seed, language=lang), lang)


# ---------------------------------------------------------------------------------------------------------
# associative
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_associative_no_lexical_overlap_in_any_row(lang: str) -> None:
    """Every (landmark, city) row, with every template and every name: the question shares no content token
    (English word / Chinese character bigram, stopwords removed) with the needle."""
    cities = [c for _, c in PAIRS[lang]]
    assert len(PAIRS[lang]) >= 30 and len(set(cities)) == len(cities)
    for (landmark, city), tpl, name in itertools.product(PAIRS[lang], TEMPLATES[lang], NAMES[lang]):
        q = QUESTIONS[lang].format(city=city)
        assert content_tokens(q, lang), q
        assert lexical_overlap(tpl.format(name=name, landmark=landmark), q, lang) == 0.0, (
            landmark,
            city,
            name,
        )
    for a, b in itertools.permutations(NAMES[lang], 2):
        assert normalize(a) not in normalize(b)


def test_lexical_overlap_measure() -> None:
    assert (
        lexical_overlap("The magic number for Oslo is 1.", "What is the magic number for Oslo?", "en") == 1.0
    )
    assert lexical_overlap("Oslo is cold.", "Which character has been to Oslo?", "en") == 0.5
    assert content_tokens("哪位人物去过德累斯顿？", "zh") == {"人物", "德累", "累斯", "斯顿"}
    assert lexical_overlap("林雪野住在德累斯顿。", "哪位人物去过德累斯顿？", "zh") == 0.75


def test_associative_records_overlap_and_distractors() -> None:
    for lang, seed in itertools.product(LANGS, range(10)):
        plan = plan_of("associative", seed=seed, language=lang, n_distractors=3)
        assert dict(plan.grading)["lexical_overlap"] == 0.0
        key = plan.answer_key("associative", lang)
        names = [key.expected[0].answer, *(d.answer for d in key.decoys)]
        assert len(set(names)) == 4 and len(plan.distractors) == 3
        cities = {d.key for d in plan.distractors} | {plan.needles[0].key}
        assert len(cities) == 4  # other characters at other landmarks
    with pytest.raises(SpecError):
        plan_of("associative", n_distractors=-1)


@pytest.mark.parametrize(
    ("answer", "score", "outcome"),
    [
        ("{n}", 1.0, "found"),
        ("I believe it was {n}, who lives right by that landmark.", 1.0, "found"),
        ("{d}", 0.0, "decoy"),  # the character of another landmark (bound to another city)
        ("Either {n} or {d}.", 0.0, "hedged"),  # several characters: not an answer
        ("The text does not say.", 0.0, "abstained"),
        ("It was Bartholomew.", 0.0, "wrong"),  # someone who is no character of the cell
        ("It was someone who likes bridges.", 0.0, "wrong_format"),  # no name at all
        ("", 0.0, "wrong_format"),
    ],
)
def test_associative_grades(answer: str, score: float, outcome: str) -> None:
    key = key_of("associative", seed=3, language="en", n_distractors=2)
    text = answer.format(n=key.expected[0].answer, d=key.decoys[0].answer)
    assert grade(key, text) == (score, outcome)


def test_family_parameters_reach_the_grade_detail() -> None:
    key = key_of("associative", seed=2, language="zh")
    assert get_task("associative").grade("", key).detail().lexical_overlap == 0.0
    assert get_task("chain").grade("", key_of("chain", params=(("hops", 3),))).detail().hops == 3
    assert get_task("aggregate").grade("", key_of("aggregate", params=(("op", "max"),))).detail().op == "max"
    assert get_task("ordered").grade("", key_of("ordered")).detail().index in (1, 2, 3, 4)
    assert get_task("topical").grade("", key_of("topical")).detail().attribute


def test_associative_grades_zh() -> None:
    key = key_of("associative", seed=1, language="zh", n_distractors=1)
    n, d = key.expected[0].answer, key.decoys[0].answer
    assert grade(key, f"去过那里的人是{n}。") == (1.0, "found")
    assert grade(key, f"{d}") == (0.0, "decoy")
    assert grade(key, "文中没有提到") == (0.0, "abstained")


# ---------------------------------------------------------------------------------------------------------
# chain
# ---------------------------------------------------------------------------------------------------------
def test_chain_hops_option_and_placement() -> None:
    t = get_task("chain")
    assert t.cell_params({}) == {"params": (("hops", 2),), "n_distractors": 0}
    assert t.cell_params({"hops": 4})["params"] == (("hops", 4),)
    shuffled = 0
    for seed in range(12):
        plan = plan_of("chain", seed=seed, language="en", depth=30.0, params=(("hops", 4),))
        assert len(plan.needles) == 4 and len(dict(plan.grading)["path"]) == 5
        depths = [n.depth for n in plan.needles]
        assert depths[0] == 30.0 and sorted(depths) == [30.0, 47.5, 65.0, 82.5]
        shuffled += depths != sorted(depths)
    assert shuffled >= 6  # the text order is not the chain order
    for bad in (0, 13, "2"):
        with pytest.raises(SpecError, match="hops"):
            plan_of("chain", params=(("hops", bad),))


def test_chain_distractors_are_other_chains() -> None:
    plan = plan_of("chain", seed=2, language="zh", n_distractors=3)
    key = plan.answer_key("chain", "zh")
    path = set(dict(plan.grading)["path"])
    assert len(plan.distractors) == 3
    for d in plan.distractors:
        assert codes_in(d.text).isdisjoint(path)
    assert {d.answer for d in plan.distractors} <= {f.answer for f in key.decoys}


@pytest.mark.parametrize(
    ("answer", "score", "outcome"),
    [
        ("{end}", 1.0, "found"),
        ("Its final label is {end_spaced}.", 1.0, "found"),  # "ZT 118" / "zt118" read alike
        ("{start} became {mid}, which became {end}.", 1.0, "found"),  # restating the path
        ("{mid}", 0.0, "decoy"),  # an intermediate label
        ("{start}", 0.0, "decoy"),  # the start label
        ("{other}", 0.0, "decoy"),  # the end of an unrelated chain
        ("{end}, or maybe {other}", 0.0, "hedged"),
        ("The final label is QQ-999.", 0.0, "hallucinated"),
        ("The text does not say.", 0.0, "abstained"),
        ("It was relabelled twice.", 0.0, "wrong_format"),  # no label at all
    ],
)
def test_chain_grades(answer: str, score: float, outcome: str) -> None:
    plan = plan_of("chain", seed=4, language="en", n_distractors=1)
    key = plan.answer_key("chain", "en")
    start, mid, end = dict(plan.grading)["path"]
    assert "QQ-999" not in {start, mid, end}
    text = answer.format(
        start=start,
        mid=mid,
        end=end,
        end_spaced=end.replace("-", " ").lower(),
        other=plan.distractors[0].answer,
    )
    assert grade(key, text) == (score, outcome)


# ---------------------------------------------------------------------------------------------------------
# aggregate
# ---------------------------------------------------------------------------------------------------------
def test_aggregate_ops_and_values() -> None:
    seen = set()
    for seed, lang in itertools.product(range(20), LANGS):
        plan = plan_of("aggregate", seed=seed, language=lang)
        op = dict(plan.grading)["op"]
        seen.add(op)
        values = [int(n.answer) for n in plan.needles]
        assert len(values) == 4 and len(set(values)) == 4 and all(10 <= v <= 99 for v in values)
        assert [n.depth for n in plan.needles] == sorted(n.depth for n in plan.needles)
        key = plan.answer_key("aggregate", lang)
        assert key.expected[0].answer == str(compute(op, values))
        assert key.expected[0].answer not in {d.answer for d in key.decoys}
    assert seen == set(OPS)
    t = get_task("aggregate")
    assert t.cell_params({"n_needles": 6, "op": "max"}) == {"n_needles": 6, "params": (("op", "max"),)}
    plan = plan_of("aggregate", n_needles=6, params=(("op", "max"),))
    assert len(plan.needles) == 6 and dict(plan.grading)["op"] == "max"
    assert len(plan.answer_key("aggregate", "zh").decoys) == 5  # the largest value is the answer, not a decoy
    with pytest.raises(SpecError, match="op"):
        plan_of("aggregate", params=(("op", "mean"),))


def _aggregate_key(op: str) -> tuple[AnswerKey, list[int]]:
    plan = plan_of("aggregate", seed=1, language="en", params=(("op", op),))
    return plan.answer_key("aggregate", "en"), [int(n.answer) for n in plan.needles]


@pytest.mark.parametrize(
    ("op", "answer", "score", "outcome"),
    [
        ("sum", "{total}", 1.0, "found"),
        ("sum", "{a} + {b} + {c} + {d} = {total} crates in total.", 1.0, "found"),
        ("sum", "{a}", 0.0, "decoy"),  # one shipment, not the total
        ("sum", "{a} + {b} = {wrong}", 0.0, "wrong"),  # a miscount is not an invention
        ("sum", "The text does not say.", 0.0, "abstained"),
        ("sum", "Quite a lot of crates.", 0.0, "wrong_format"),
        ("count", "There were four shipments.", 1.0, "found"),
        ("count", "{a}", 0.0, "decoy"),
        ("count", "3", 0.0, "wrong"),
        ("max", "The largest shipment had {maxv} crates.", 1.0, "found"),
        ("max", "{minv}", 0.0, "decoy"),
        ("max", "{a}, {b}, {c}, {d}", 0.0, "hedged"),  # listing the values is not choosing
        ("max", "Of {minv} and {maxv}, the largest is {maxv}.", 1.0, "found"),
        ("sum", "In total {total} crates ({a} + {b} + {c} + {d}).", 1.0, "found"),
    ],
)
def test_aggregate_grades(op: str, answer: str, score: float, outcome: str) -> None:
    key, v = _aggregate_key(op)
    assert v.index(max(v)) != 3  # the fixture the listing case relies on
    text = answer.format(
        a=v[0], b=v[1], c=v[2], d=v[3], total=sum(v), wrong=v[0] + v[1], maxv=max(v), minv=min(v)
    )
    assert grade(key, text) == (score, outcome)
    assert get_task("aggregate").grade(text, key).extra["op"] == op


def test_aggregate_grades_zh() -> None:
    plan = plan_of("aggregate", seed=2, language="zh", params=(("op", "sum"),))
    key = plan.answer_key("aggregate", "zh")
    total = key.expected[0].answer
    assert grade(key, f"一共有{total}箱。") == (1.0, "found")
    plan = plan_of("aggregate", seed=2, language="zh", params=(("op", "count"),))
    assert grade(plan.answer_key("aggregate", "zh"), "一共有四批货物。") == (1.0, "found")


# ---------------------------------------------------------------------------------------------------------
# ordered
# ---------------------------------------------------------------------------------------------------------
def test_ordinals() -> None:
    assert [ordinal(i, 4, "en") for i in range(1, 5)] == ["first", "second", "third", "last"]
    assert [ordinal(i, 4, "zh") for i in range(1, 5)] == ["第一", "第二", "第三", "最后一"]
    assert ordinal(1, 1, "en") == "first"


@pytest.mark.parametrize(("length", "depth"), [(1000, 99.0), (1000, 0.0), (5000, 50.0), (1200, 99.9)])
@pytest.mark.parametrize("k", [4, 10])
def test_ordered_items_appear_in_plan_order(
    length: int, depth: float, k: int, corpus: Corpus, cl100k: Tokenizer
) -> None:
    asked = set()
    for seed, lang in itertools.product(range(4), LANGS):
        spec = spec_for("ordered", length=length, depth=depth, seed=seed, language=lang, n_needles=k)
        h = build_haystack(spec, cl100k, corpus)
        assert len(h.needles) == k
        offsets = [n.char_offset for n in h.needles]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
        i = h.answer_key.param("index")
        asked.add(i)
        assert h.answers == (h.needles[i - 1].answer,)
    assert len(asked) >= 2


@pytest.mark.parametrize(
    ("answer", "score", "outcome"),
    [
        ("{right}", 1.0, "found"),
        ("The {word} code given is {right}.", 1.0, "found"),
        ("{other}", 0.0, "decoy"),  # another item
        ("The codes were {right} and {other}.", 0.0, "hedged"),  # several: not an answer
        ("999999", 0.0, "hallucinated"),
        ("The text does not say.", 0.0, "abstained"),
        ("It is the storage room code.", 0.0, "wrong_format"),
    ],
)
def test_ordered_grades(answer: str, score: float, outcome: str) -> None:
    plan = plan_of("ordered", seed=0, language="en")
    key = plan.answer_key("ordered", "en")
    i = key.param("index")
    right, other = key.expected[0].answer, key.decoys[0].answer
    assert "999999" not in {n.answer for n in plan.needles}
    assert grade(key, answer.format(right=right, other=other, word=ordinal(i, 4, "en"))) == (score, outcome)


def test_ordered_grades_zh() -> None:
    key = key_of("ordered", seed=3, language="zh", n_needles=5)
    assert len(key.decoys) == 4
    i = key.param("index")
    assert grade(key, f"文中给出的{ordinal(i, 5, 'zh')}个密码是{key.expected[0].answer}。") == (1.0, "found")
    assert grade(key, key.decoys[-1].answer) == (0.0, "decoy")


# ---------------------------------------------------------------------------------------------------------
# topical
# ---------------------------------------------------------------------------------------------------------
def test_zh_number() -> None:
    assert (
        zh_number(400_000) == "四十万"
        and zh_number(240_000) == "二十四万"
        and zh_number(960_000) == "九十六万"
    )
    for attr in ATTRIBUTES:
        for v in attr.values:
            if v % 10_000 == 0:
                assert normalize(zh_number(v)) == str(v)


def test_topical_is_closed_book_and_the_question_stands_alone() -> None:
    attrs = set()
    for seed in range(30):
        zh, en = plan_of("topical", seed=seed, language="zh"), plan_of("topical", seed=seed, language="en")
        attrs.add(dict(en.grading)["attribute"])
        assert zh.answers == en.answers  # the same fact in both languages
        assert not re.search("文中|文本|上文", zh.question) and not re.search(r"\btext\b", en.question, re.I)
        label = en.needles[0].label
        assert label in en.question and label in en.needles[0].text
    assert attrs == {a.name for a in ATTRIBUTES}


@pytest.mark.parametrize(
    ("answer", "score", "outcome"),
    [
        ("{v}", 1.0, "found"),
        ("{m} supports {v_commas} tokens of context.", 1.0, "found"),
        ("{m}: {v}; {dm}: {dv}", 1.0, "found"),
        ("{dv}", 0.0, "decoy"),  # the other model's value
        ("{m}: {dv}", 0.0, "decoy"),
        ("{dm}: {v}", 0.0, "misbound"),  # the right value under the other model
        ("{m} supports 123456 tokens.", 0.0, "hallucinated"),
        ("The text does not say.", 0.0, "abstained"),
        ("A very long context.", 0.0, "wrong_format"),
    ],
)
def test_topical_grades(answer: str, score: float, outcome: str) -> None:
    seed = next(
        s for s in range(100) if dict(plan_of("topical", seed=s).grading)["attribute"] == "context_length"
    )
    plan = plan_of("topical", seed=seed, language="en", n_distractors=1)
    key = plan.answer_key("topical", "en")
    v, dv = key.expected[0].answer, key.decoys[0].answer
    text = answer.format(v=v, v_commas=f"{int(v):,}", m=key.expected[0].label, dv=dv, dm=key.decoys[0].label)
    assert grade(key, text) == (score, outcome)


def test_topical_grades_zh_numerals() -> None:
    seed = next(
        s for s in range(100) if dict(plan_of("topical", seed=s).grading)["attribute"] == "context_length"
    )
    key = key_of("topical", seed=seed, language="zh")
    v = int(key.expected[0].answer)
    assert grade(key, f"支持{zh_number(v)}个词元。") == (1.0, "found")
    assert grade(key, f"{v // 10_000}万") == (1.0, "found")
    assert grade(key, f"{v // 1000}K") == (1.0, "found")


@pytest.mark.parametrize("task", task_names())
def test_the_answer_budget_holds_the_restated_answer(task: str, cl100k: Tokenizer) -> None:
    t = get_task(task)
    for lang, seed in itertools.product(LANGS, range(4)):
        s = spec_for(task, seed=seed, language=lang)
        key = t.plan(s).answer_key(task, lang)
        assert cl100k.count(restated(key)) + 8 <= t.answer_budget(s), (task, lang, seed)
    if task == "chain":  # the budget grows with what there is to restate
        assert t.answer_budget(spec_for(task, params=(("hops", 6),))) > t.answer_budget(spec_for(task))


def test_build_cli_hops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from haystacks.build import main

    out = tmp_path / "h.json"
    argv = ["--task", "chain", "--hops", "3", "--length", "1200", "--language", "en", "-o", str(out)]
    assert main(argv) == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    assert len(d["needles"]) == 3 and d["spec"]["params"] == {"hops": 3}
    assert main([*argv[:3], "0", *argv[4:]]) == 2
    assert "hops must be a whole number" in capsys.readouterr().err
