"""The token-exact builder: lengths, depths, variants, prefix sharing, tokenizers, scale."""

from __future__ import annotations

import asyncio
import math
import tracemalloc
from pathlib import Path

import pytest
import quicktok
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from haystacks.builder import MAX_LENGTH, CellSpec, Haystack, _glued, build_grid, build_haystack
from haystacks.corpus import Corpus
from haystacks.errors import SpecError
from haystacks.stream import filler_stream
from haystacks.tokenizers import CountingTokenizer, Tokenizer, get_tokenizer

from .conftest import check_depth, check_exact

TASKS = ("single", "multi", "distractor", "no_needle", "changed_line")  # the first families

# ---------------------------------------------------------------------------------------------------------
# the acceptance property: exact lengths and depths over many random cells, 1K..1M tokens
# ---------------------------------------------------------------------------------------------------------
cells = st.builds(
    CellSpec,
    task=st.sampled_from(["single", "single", "multi", "distractor", "no_needle", "changed_line"]),
    length=st.floats(min_value=3.0, max_value=6.0).map(lambda x: round(10**x)),
    depth=st.floats(min_value=0.0, max_value=100.0).map(lambda d: round(d, 2)),
    seed=st.integers(min_value=0, max_value=10_000),
    language=st.sampled_from(["zh", "en"]),
    shuffle=st.booleans(),
)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(spec=cells)
@example(spec=CellSpec(length=1_000_000, depth=37.0, seed=7))
@example(spec=CellSpec(length=1_000_000, depth=99.5, seed=1, shuffle=True))
@example(spec=CellSpec(task="multi", length=1_000_000, depth=3.0, seed=2, language="en"))
@example(spec=CellSpec(length=1000, depth=100.0))
@example(spec=CellSpec(length=1000, depth=0.0))
@example(spec=CellSpec(task="distractor", length=1000, depth=50.0, seed=3))
def test_length_and_depth_are_exact(spec: CellSpec, corpus: Corpus, cl100k: Tokenizer) -> None:
    h = build_haystack(spec, cl100k, corpus)
    check_exact(h, cl100k)  # count verified by a full encode; within 0.5 %; offsets; verbatim; no U+FFFD
    for n in (*h.needles, *h.distractors):
        check_depth(h, n, cl100k)  # within 1 pp, or at the nearest sentence boundary


def test_lengths_hit_exactly_in_almost_every_cell(corpus: Corpus, cl100k: Tokenizer) -> None:
    specs = [
        CellSpec(length=n, depth=d)
        for n in (1000, 1500, 4096, 10_000, 32_000, 128_000)
        for d in (0, 33, 66, 100)
    ]
    hs = list(build_grid(specs, cl100k, corpus))
    exact = sum(h.context_tokens == h.spec.length for h in hs)
    assert exact >= len(hs) - 3  # a cut before a 2-token character can miss by one
    assert all(abs(h.context_tokens - h.spec.length) <= 2 for h in hs)


def test_depth_zero_is_first_and_hundred_is_last(corpus: Corpus, cl100k: Tokenizer) -> None:
    first = build_haystack(CellSpec(length=5000, depth=0.0), cl100k, corpus)
    assert first.needles[0].char_offset == 0 and first.context.startswith(first.needles[0].text)
    last = build_haystack(CellSpec(length=5000, depth=100.0), cl100k, corpus)
    assert last.context.endswith("\n" + last.needles[0].text)
    assert last.needles[0].token_offset == last.context_tokens - cl100k.count(last.needles[0].text)


# ---------------------------------------------------------------------------------------------------------
# variants
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("task", TASKS)
def test_each_variant(task: str, language: str, corpus: Corpus, cl100k: Tokenizer) -> None:
    spec = CellSpec(task=task, length=8000, depth=30.0, seed=4, language=language)
    h = build_haystack(spec, cl100k, corpus)
    check_exact(h, cl100k)
    assert h.question and (h.question.isascii() if language == "en" else not h.question.isascii())
    if task == "single":
        assert len(h.needles) == 1 and h.answers == (h.needles[0].answer,) and not h.distractors
    elif task == "multi":
        assert len(h.needles) == 4 and h.answers == tuple(n.answer for n in h.needles)
        assert [n.depth for n in h.needles] == [30.0, 47.5, 65.0, 82.5]
        offsets = [n.char_offset for n in h.needles]
        assert offsets == sorted(offsets)
    elif task == "distractor":
        assert len(h.needles) == 1 and len(h.distractors) == 3
        assert all(d.answer != h.answers[0] for d in h.distractors)
        assert all(d.answer not in h.question for d in h.distractors)
    elif task == "no_needle":
        assert h.needles == () and h.answers == () and h.absent_key
        marker = "的神秘数字" if language == "zh" else "magic number"
        assert marker not in h.context  # no distractors asked for: nothing of the family at all
    else:
        (n,) = h.needles
        assert n.kind == "changed" and h.answers == (n.answer,)
        assert n.answer in n.text and n.answer not in n.original and n.original
        assert n.answer not in h.question and n.original not in h.question
        # only this one sentence differs from the plain filler
        plain = build_haystack(
            CellSpec(task="no_needle", length=9000, seed=4, language=language), cl100k, corpus
        )
        restored = h.context[: n.char_offset] + n.original + h.context[n.char_offset + len(n.text) :]
        assert plain.context.startswith(restored.rstrip("\n"))  # (the cut may end with a newline)


def test_distractors_in_no_needle_never_use_the_asked_key(corpus: Corpus, cl100k: Tokenizer) -> None:
    h = build_haystack(CellSpec(task="no_needle", length=6000, seed=9, n_distractors=5), cl100k, corpus)
    assert len(h.distractors) == 5 and h.absent_key
    assert f"{h.absent_key}的神秘数字" not in h.context
    check_exact(h, cl100k)


def test_explicit_multi_depths(corpus: Corpus, cl100k: Tokenizer) -> None:
    h = build_haystack(CellSpec(task="multi", length=20_000, depths=(90.0, 10.0, 50.0)), cl100k, corpus)
    assert [n.depth for n in h.needles] == [90.0, 10.0, 50.0]
    assert [round(n.actual_depth) for n in h.needles] == [90, 10, 50]
    check_exact(h, cl100k)


# ---------------------------------------------------------------------------------------------------------
# prefix sharing and determinism
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shuffle", [False, True])
def test_haystacks_share_the_filler_prefix(shuffle: bool, corpus: Corpus, cl100k: Tokenizer) -> None:
    hs = [
        build_haystack(CellSpec(length=n, depth=d, seed=3, shuffle=shuffle), cl100k, corpus)
        for n, d in [(20_000, 10.0), (20_000, 80.0), (150_000, 50.0), (150_000, 5.0)]
    ]
    a, b, c, d = hs
    cut = min(a.needles[0].char_offset, b.needles[0].char_offset)
    assert a.context[:cut] == b.context[:cut]  # same length, other depth: same bytes before the needle
    filler_a = a.context.replace(a.needles[0].text, "")
    filler_c = c.context.replace(c.needles[0].text, "")
    common = len(filler_a) - 200  # the last partial paragraph of the short one is cut differently
    assert filler_a[:common] == filler_c[:common]  # a longer haystack extends the shorter one's filler
    assert d.context[: d.needles[0].char_offset] == c.context[: d.needles[0].char_offset]


def test_shuffle_depends_on_seed_only_when_on(corpus: Corpus, cl100k: Tokenizer) -> None:
    plain = [
        build_haystack(CellSpec(task="no_needle", length=3000, seed=s), cl100k, corpus).context
        for s in (1, 2)
    ]
    assert plain[0] == plain[1]
    shuf = [
        build_haystack(CellSpec(task="no_needle", length=3000, seed=s, shuffle=True), cl100k, corpus).context
        for s in (1, 2)
    ]
    assert shuf[0] != shuf[1] and shuf[0] != plain[0]


def test_same_needles_for_every_tokenizer(corpus: Corpus, cl100k: Tokenizer, hf_tokenizer_path: Path) -> None:
    hf = get_tokenizer(f"hf:{hf_tokenizer_path}")
    o200k = get_tokenizer("o200k_base")
    for task in ("single", "multi", "distractor", "no_needle"):
        spec = CellSpec(task=task, length=6000, depth=40.0, seed=21)
        built = [build_haystack(spec, t, corpus) for t in (cl100k, o200k, hf)]
        facts = {
            tuple((n.kind, n.text, n.key, n.answer, n.depth) for n in (*h.needles, *h.distractors))
            for h in built
        }
        assert len(facts) == 1
        assert len({(h.question, h.answers) for h in built}) == 1


def test_same_arguments_same_bytes(corpus: Corpus, cl100k: Tokenizer) -> None:
    spec = CellSpec(task="distractor", length=12_345, depth=61.0, seed=5, shuffle=True)
    assert build_haystack(spec, cl100k, corpus) == build_haystack(spec, "cl100k_base", corpus)


# ---------------------------------------------------------------------------------------------------------
# tokenizers that are not additive, count APIs, stand-ins
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec",
    [
        CellSpec(length=1000, depth=50.0),
        CellSpec(length=30_000, depth=12.5, seed=2, shuffle=True),
        CellSpec(task="multi", length=6000, depth=20.0, language="en"),
        CellSpec(task="changed_line", length=4000, depth=70.0),
    ],
)
def test_hf_tokenizer_json_sizes_exactly(spec: CellSpec, corpus: Corpus, hf_tokenizer_path: Path) -> None:
    tok = get_tokenizer(f"hf:{hf_tokenizer_path}")
    h = build_haystack(spec, tok, corpus)
    assert h.tokenizer == f"hf:{hf_tokenizer_path}" and h.tokens_exact
    check_exact(h, tok)
    for n in h.needles:
        assert abs(n.actual_depth - n.depth) <= 1.0 or spec.length < 5000


def test_count_api_recounting_corrects_the_proxy(corpus: Corpus, cl100k: Tokenizer) -> None:
    """``shared=False``: every context is counted whole (exact even for a counter whose counts do not add
    up, at several calls per cell)."""
    calls: list[int] = []

    def count(text: str) -> int:  # a "vendor tokenizer" ~37 % denser than cl100k, not additive at all
        calls.append(len(text))
        return math.ceil(cl100k.count(text) * 1.37) + text.count("。")

    tok = CountingTokenizer("vendor:model-x", count, proxy=cl100k, shared=False)
    for length in (2000, 50_000):
        h = build_haystack(CellSpec(task="multi", length=length, depth=10.0, seed=1), tok, corpus)
        assert h.tokenizer == "vendor:model-x" and h.tokens_counted
        assert h.context_tokens == count(h.context)
        # ceil(1.37 n) skips about a quarter of the counts: exact where it can be, else said so
        assert h.tokens_exact is (h.context_tokens == length)
        assert (h.tokens_note is None) is h.tokens_exact
        assert abs(h.context_tokens - length) <= 0.005 * length
        for n in h.needles:
            assert n.token_offset == count(h.context[: n.char_offset])
            assert abs(n.actual_depth - n.depth) <= 1.5
    assert len(calls) < 40  # a few sizing attempts plus one count per needle, not one per paragraph


async def test_async_count_api_from_a_worker_thread(corpus: Corpus, cl100k: Tokenizer) -> None:
    async def count(text: str) -> int:
        await asyncio.sleep(0)
        return cl100k.count(text) * 2

    tok = CountingTokenizer("vendor:async", count, proxy=cl100k, loop=asyncio.get_running_loop())
    h = await asyncio.to_thread(build_haystack, CellSpec(length=4000, depth=50.0), tok, corpus)
    # shared sizing: the context's share of a prompt, the newline after it included
    assert h.context_tokens == 2 * cl100k.count(h.context + "\n")
    assert abs(h.context_tokens - 4000) <= 2


def test_count_api_without_a_count_falls_back_and_says_so(corpus: Corpus, cl100k: Tokenizer) -> None:
    tok = CountingTokenizer("vendor:none", lambda t: None, proxy=cl100k)
    h = build_haystack(CellSpec(length=3000, depth=50.0), tok, corpus)
    assert h.tokens_exact is False and h.context_tokens == cl100k.count(h.context) == 3000


def test_approx_tokenizer_is_recorded_as_approximate(corpus: Corpus, cl100k: Tokenizer) -> None:
    h = build_haystack(CellSpec(length=3000), "approx:cl100k_base", corpus)
    assert h.tokenizer == "approx:cl100k_base" and h.tokens_exact is False
    assert h.context_tokens == cl100k.count(h.context) == 3000


# ---------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (CellSpec(length=10), "below the size of the needles"),
        (CellSpec(task="multi", n_needles=6, length=60), "below the size of the needles"),
        (CellSpec(length=0), "positive"),
        (CellSpec(length=MAX_LENGTH + 1), "maximum"),
        (CellSpec(length=1000.5), "whole number"),  # type: ignore[arg-type]
        (CellSpec(depth=-1), "outside 0..100"),
        (CellSpec(depth=100.01), "outside 0..100"),
        (CellSpec(task="bogus"), "unknown task"),
    ],
)
def test_bad_specs(spec: CellSpec, message: str, corpus: Corpus, cl100k: Tokenizer) -> None:
    with pytest.raises(SpecError, match=message):
        build_haystack(spec, cl100k, corpus)


# ---------------------------------------------------------------------------------------------------------
# scale: no re-tokenizing per cell, 10M tokens in bounded memory
# ---------------------------------------------------------------------------------------------------------
class _Spy:
    """cl100k that records the size of every string it is asked to count."""

    exact = True
    additive = True
    backend = "spy"

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.name = "spy"
        self.cache_key = "spy"
        self.sizes: list[int] = []

    def encode(self, text: str) -> list[int]:
        self.sizes.append(len(text))
        return self.inner.encode(text)

    def count(self, text: str) -> int:
        self.sizes.append(len(text))
        return self.inner.count(text)


def test_grid_never_retokenizes_a_context(corpus: Corpus, cl100k: Tokenizer) -> None:
    spy = _Spy(cl100k)
    build_haystack(CellSpec(length=1000), spy, corpus)  # corpus statistics: one count per paragraph
    longest_paragraph = max(len(p) for p in corpus.paragraphs)
    spy.sizes.clear()
    specs = [CellSpec(length=n, depth=d) for n in (5_000, 200_000, 1_000_000) for d in (0, 25, 50, 75, 100)]
    hs = list(build_grid(iter(specs), spy, corpus))
    assert len(hs) == 15 and [h.spec for h in hs] == specs
    assert max(spy.sizes) <= longest_paragraph + 100  # only single paragraphs (+ a needle) are encoded
    assert len(spy.sizes) < 30 * len(specs)


def test_ten_million_tokens_in_bounded_memory(corpus: Corpus, cl100k: Tokenizer) -> None:
    spec = CellSpec(length=10_000_000, depth=63.3, seed=5, shuffle=True)
    build_haystack(CellSpec(length=1000, seed=5, shuffle=True), cl100k, corpus)  # warm the statistics
    tracemalloc.start()
    try:
        h = build_haystack(spec, cl100k, corpus)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ctx_bytes = len(h.context.encode("utf-32-le"))  # upper bound of the str itself
    assert peak < 3 * ctx_bytes + 64 * 2**20, f"peak {peak / 2**20:.0f} MB"  # a few copies at most, < 200 MB
    stream = filler_stream(corpus, cl100k, 5, True)
    assert len(stream._cache) <= 8  # passes are regenerated, not all kept
    # exactness, with quicktok's cl100k (ids identical to tiktoken's: see test_tokenizers)
    qt = quicktok.get_encoding("cl100k_base")
    assert qt.count(h.context) == h.context_tokens == 10_000_000
    n = h.needles[0]
    assert qt.count(h.context[: n.char_offset]) == n.token_offset
    assert abs(n.actual_depth - 63.3) <= 0.01
    assert "\ufffd" not in h.context


def test_haystack_to_dict_is_json_ready(corpus: Corpus, cl100k: Tokenizer) -> None:
    import json

    h: Haystack = build_haystack(CellSpec(task="changed_line", length=3000, depth=20.0), cl100k, corpus)
    d = json.loads(json.dumps(h.to_dict(), ensure_ascii=False))
    assert d["context"] == h.context and d["context_tokens"] == h.context_tokens
    assert d["needles"][0]["original"] and {"text", "answer", "depth", "actual_depth"} <= set(d["needles"][0])
    assert d["spec"]["task"] == "changed_line" and list(d)[-1] == "context"


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(spec=cells)
def test_o200k_is_exact_too(spec: CellSpec, corpus: Corpus) -> None:
    tok = get_tokenizer("o200k_base")
    h = build_haystack(spec, tok, corpus)
    check_exact(h, tok)
    for n in (*h.needles, *h.distractors):
        check_depth(h, n, tok)


def test_small_english_corpus_repeated_many_times(tmp_path: Path, cl100k: Tokenizer) -> None:
    from haystacks.corpus import load_corpus

    (tmp_path / "a.txt").write_text(
        "It was a bright cold day in April. The clocks were striking thirteen! Was it late? Yes.\n\n"
        "Mr. Smith came home at 5.30 p.m. and read the paper. Nothing happened; nothing at all.\n",
        encoding="utf-8",
    )
    (tmp_path / "b.txt").write_text("一行没有标点的字幕\n另一行字幕\n", encoding="utf-8")
    small = load_corpus(tmp_path)
    for spec in (
        CellSpec(length=5000, depth=50.0, language="en"),
        CellSpec(task="multi", length=20_000, depth=5.0, shuffle=True, seed=3),
        CellSpec(task="changed_line", length=3000, depth=60.0, language="en"),
    ):
        h = build_haystack(spec, cl100k, small)
        check_exact(h, cl100k)
        for n in h.needles:
            assert abs(n.actual_depth - n.depth) <= 1.0


def test_a_needle_in_latin_text_is_set_off_by_spaces(cl100k: Tokenizer) -> None:
    """Sentences in English are separated by a space: a needle inserted at a sentence start gets one after it
    (round 1 glued it on: "...6021239.Children were...")."""
    text = (
        "The quick brown fox jumps over the lazy dog. It was a sunny day. Children were playing. " * 30 + "\n"
    ) * 20
    corpus = Corpus.from_texts([text])
    for depth in (0.0, 50.0):
        h = build_haystack(CellSpec(length=2000, depth=depth, language="en"), cl100k, corpus)
        n = h.needles[0]
        assert h.context[n.char_offset : n.char_offset + len(n.text) + 1] == n.text + " "
        assert n.token_offset == cl100k.count(h.context[: n.char_offset]) and h.context_tokens == 2000
    assert _glued("modal?", "The") and _glued("6021239.", "Children") and not _glued("模态?", "我")
    assert not _glued("park. ", "The") and not _glued("。", "The")
