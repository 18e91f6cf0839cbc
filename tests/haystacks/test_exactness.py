"""``tokens_exact`` is the truth: true only when the context re-encodes to exactly the target tokens.

Every check re-encodes the final context with the tokenizer named (tiktoken; a byte-level BPE trained on the
seeds, whose counts do not add up where a needle joins the text; a SentencePiece-like BPE whose counts add
up at no join at all) and compares it with ``target_tokens``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from haystacks.build import main as build_main
from haystacks.builder import (
    _PADS,
    CellSpec,
    Haystack,
    _Item,
    _layout,
    _move_cut,
    _prepare,
    _Result,
    _tail,
    build_haystack,
)
from haystacks.corpus import Corpus
from haystacks.errors import SpecError
from haystacks.stream import corpus_stats, filler_stream
from haystacks.tasks import task_names
from haystacks.tokenizers import Tokenizer, get_tokenizer

LANGUAGES = ("zh", "en")


def assert_truthful(h: Haystack, tok: Tokenizer) -> int:
    """``tokens_exact`` and ``tokens_note`` agree with a full encode of the context; returns that count."""
    n = len(tok.encode(h.context))
    assert h.context_tokens == n, "context_tokens is the context's count"
    assert h.tokens_exact is (n == h.spec.length), (h.spec, n, h.tokens_note)
    assert (h.tokens_note is None) is h.tokens_exact
    d = h.to_dict()
    assert d["tokens_exact"] is h.tokens_exact and d["target_tokens"] == h.spec.length
    assert ("tokens_note" in d) is (not h.tokens_exact)
    for nd in (*h.needles, *h.distractors):
        assert h.context[nd.char_offset : nd.char_offset + len(nd.text)] == nd.text
        assert len(tok.encode(h.context[: nd.char_offset])) == nd.token_offset
    return n


def _grid(lengths: tuple[int, ...], depths: tuple[float, ...], seeds: tuple[int, ...]) -> list[CellSpec]:
    return [
        CellSpec(task=task, length=length, depth=depth, seed=seed, language=lang)
        for task in task_names()
        for lang in LANGUAGES
        for length in lengths
        for depth in depths
        for seed in seeds
    ]


def _sweep(specs: list[CellSpec], tok: Tokenizer, corpus: Corpus) -> tuple[int, int]:
    built = exact = 0
    for spec in specs:
        try:
            h = build_haystack(spec, tok, corpus)
        except SpecError:
            continue  # a length below what the task needs: refused, nothing claimed
        built += 1
        exact += assert_truthful(h, tok) == spec.length
    return built, exact


# ---------------------------------------------------------------------------------------------------------
# the two reproductions of issue 16
# ---------------------------------------------------------------------------------------------------------
def test_cl100k_depth_100_is_exact(corpus: Corpus, cl100k: Tokenizer) -> None:
    """Was 3,999 tokens claiming exact: the cut fell before a character of two tokens ("谢")."""
    h = build_haystack(CellSpec(length=4000, depth=100.0, seed=0), cl100k, corpus)
    assert len(cl100k.encode(h.context)) == 4000 == h.context_tokens
    assert h.tokens_exact is True and h.tokens_note is None
    (n,) = h.needles
    assert h.context.endswith("\n" + n.text)  # still the very last thing in the context
    assert n.token_offset == 4000 - cl100k.count(n.text)


def test_cli_reproduction(capsys: pytest.CaptureFixture[str], cl100k: Tokenizer) -> None:
    argv = ["--tokenizer", "cl100k_base", "--length", "4000", "--depth", "100", "--seed", "0"]
    assert build_main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["tokens_exact"] is True and "tokens_note" not in d
    assert len(cl100k.encode(d["context"])) == d["target_tokens"] == d["context_tokens"] == 4000


def test_hf_multi_at_depth_93_is_exact(corpus: Corpus, hf_tokenizer_path: Path) -> None:
    """Was 962 tokens of 1,000 claiming exact: needles sent to the end were followed by deeper needles placed
    inside the text, which took the room the end needed."""
    tok = get_tokenizer(f"hf:{hf_tokenizer_path}")
    h = build_haystack(CellSpec(task="multi", length=1000, depth=93.0), tok, corpus)
    assert len(tok.encode(h.context)) == 1000 == h.context_tokens
    assert h.tokens_exact is True
    offsets = [n.char_offset for n in h.needles]
    assert offsets == sorted(offsets)  # depth order kept
    assert [round(n.actual_depth) for n in h.needles] == [93, 95, 96, 98]


def test_end_items_keep_their_order_and_room(corpus: Corpus, cl100k: Tokenizer) -> None:
    """Once a needle goes to the end, every deeper one follows it there, in depth order."""
    for length in (600, 1000, 2000):
        h = build_haystack(CellSpec(task="multi", length=length, depth=93.0, language="en"), cl100k, corpus)
        assert_truthful(h, cl100k)
        assert h.tokens_exact
        offsets = [n.char_offset for n in h.needles]
        assert offsets == sorted(offsets)
        # two needles at one sentence boundary are set apart like sentences ("...7630271. The magic...")
        assert not re.search(r"\d\.The magic", h.context)


# ---------------------------------------------------------------------------------------------------------
# lengths x depths x seeds x zh/en x every task
# ---------------------------------------------------------------------------------------------------------
def test_grid_cl100k_never_claims_a_wrong_length(corpus: Corpus, cl100k: Tokenizer) -> None:
    specs = _grid((1000, 1500, 4000, 16_000), (0.0, 7.0, 50.0, 93.0, 100.0), (0, 1))
    built, exact = _sweep(specs, cl100k, corpus)
    assert built >= 0.9 * len(specs)
    assert exact == built  # every cell of this grid can be made exact (it is, with the pads)


def test_grid_o200k_never_claims_a_wrong_length(corpus: Corpus) -> None:
    tok = get_tokenizer("o200k_base")
    built, exact = _sweep(_grid((1000, 4000), (0.0, 93.0, 100.0), (0, 1)), tok, corpus)
    assert exact == built > 0


def test_grid_hf_never_claims_a_wrong_length(corpus: Corpus, hf_tokenizer_path: Path) -> None:
    tok = get_tokenizer(f"hf:{hf_tokenizer_path}")
    built, exact = _sweep(_grid((1000, 4000), (0.0, 50.0, 93.0, 100.0), (0, 1)), tok, corpus)
    assert exact == built > 0


def test_grid_metaspace_never_claims_a_wrong_length(corpus: Corpus, hf_metaspace_path: Path) -> None:
    tok = get_tokenizer(f"hf:{hf_metaspace_path}")
    ps = corpus.paragraphs
    assert tok.count(ps[0] + ps[1]) != tok.count(ps[0]) + tok.count(ps[1])  # not additive at joins
    built, exact = _sweep(_grid((1000, 3000), (0.0, 50.0, 100.0), (1,)), tok, corpus)
    assert built > 0 and exact >= 0.95 * built


def test_approx_is_never_exact_and_says_why(corpus: Corpus, cl100k: Tokenizer) -> None:
    h = build_haystack(CellSpec(task="multi", length=3000, depth=20.0), "approx:cl100k_base", corpus)
    assert h.tokens_exact is False and h.tokens_counted is False
    assert h.tokens_note == "approx:cl100k_base is a stand-in: lengths counted in cl100k_base"
    assert h.to_dict()["tokens_note"] == h.tokens_note
    assert cl100k.count(h.context) == h.context_tokens == 3000


# ---------------------------------------------------------------------------------------------------------
# the property, over random cells (derandomized: the same examples on every run)
# ---------------------------------------------------------------------------------------------------------
cells = st.builds(
    CellSpec,
    task=st.sampled_from(task_names()),
    length=st.floats(min_value=3.0, max_value=4.6).map(lambda x: round(10**x)),
    depth=st.one_of(st.sampled_from([0.0, 100.0]), st.floats(0.0, 100.0).map(lambda d: round(d, 2))),
    seed=st.integers(min_value=0, max_value=10_000),
    language=st.sampled_from(LANGUAGES),
    shuffle=st.booleans(),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(spec=cells, which=st.sampled_from(["cl100k", "hf", "metaspace"]))
@example(spec=CellSpec(length=4000, depth=100.0), which="cl100k")
@example(spec=CellSpec(task="multi", length=1000, depth=93.0), which="hf")
@example(spec=CellSpec(task="distractor", length=4000, depth=0.0, seed=1, language="en"), which="cl100k")
@example(spec=CellSpec(task="multi", length=16_000, depth=100.0), which="cl100k")
def test_tokens_exact_is_the_truth(
    spec: CellSpec,
    which: str,
    corpus: Corpus,
    cl100k: Tokenizer,
    hf_tokenizer_path: Path,
    hf_metaspace_path: Path,
) -> None:
    tok = {
        "cl100k": cl100k,
        "hf": get_tokenizer(f"hf:{hf_tokenizer_path}"),
        "metaspace": get_tokenizer(f"hf:{hf_metaspace_path}"),
    }[which]
    try:
        h = build_haystack(spec, tok, corpus)
    except SpecError:
        return
    assert_truthful(h, tok)
    if which != "metaspace":
        assert h.tokens_exact  # these two always reach the target on this corpus


# ---------------------------------------------------------------------------------------------------------
# a tokenizer that cannot be hit: said so, never claimed
# ---------------------------------------------------------------------------------------------------------
class _EvenTokenizer:
    """cl100k counts rounded up to an even number: odd targets cannot be reached by any cut."""

    exact = True
    additive = False
    backend = "even"

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.name = "even"
        self.cache_key = "even"

    def count(self, text: str) -> int:
        return 2 * math.ceil(self.inner.count(text) / 2)

    def encode(self, text: str) -> list[int]:
        return [0] * self.count(text)


def test_unreachable_target_says_false_with_the_closest(corpus: Corpus, cl100k: Tokenizer) -> None:
    tok = _EvenTokenizer(cl100k)
    odd = build_haystack(CellSpec(length=3001, depth=40.0), tok, corpus)
    assert odd.tokens_exact is False and odd.tokens_counted is True
    assert odd.context_tokens == tok.count(odd.context) in (3000, 3002)
    closest = odd.context_tokens
    assert odd.tokens_note == f"no cut of the filler gives exactly 3001 tokens in even (closest {closest})"
    even = build_haystack(CellSpec(length=3000, depth=40.0), tok, corpus)
    assert even.tokens_exact is True and even.context_tokens == tok.count(even.context) == 3000


def test_cli_says_when_a_length_is_not_exact(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--tokenizer", "approx:cl100k_base", "--length", "2000", "--format", "text"]
    assert build_main(argv) == 0
    err = capsys.readouterr().err
    assert "2000 tokens in approx:cl100k_base" in err
    assert "(not exact: approx:cl100k_base is a stand-in: lengths counted in cl100k_base)" in err


# ---------------------------------------------------------------------------------------------------------
# the pieces: the end of a context and its pads
# ---------------------------------------------------------------------------------------------------------
def test_tail_layout() -> None:
    assert _tail("abc\n", 2, "", "", "") == "ab"
    assert _tail("abc\n", 2, "", "", "N") == "ab\nN"
    assert _tail("abc\n", 4, "", "", "N") == "abc\nN"  # a line end is not doubled
    assert _tail("abc\n", 0, "", "", "N") == "N"  # the end items start the line
    assert _tail("abc\n", 0, "\u3000", " ", "N") == "\u3000N "
    assert _tail("abc\n", 2, "\u3000", " ", "N") == "ab\u3000\nN "
    assert _tail("abc\n", 2, "\n", "", "") == "ab\n"
    assert _tail("abc\n", 2, "\n", "", "N") == "ab\nN"


def test_pads_are_whitespace_shortest_first() -> None:
    assert _PADS[:5] == (("\n", ""), (" ", ""), ("\u3000", ""), ("", " "), ("", "\n"))
    sizes = [len(a) + len(b) for a, b in _PADS]
    assert sizes == sorted(sizes) and max(sizes) == 4 and len(set(_PADS)) == len(_PADS)
    assert all((a + b) and not (a + b).strip() for a, b in _PADS)


def test_a_pad_is_used_only_where_no_cut_hits(corpus: Corpus, cl100k: Tokenizer) -> None:
    """Cells whose cut lands before a character of two or three tokens end with a pad; others do not."""
    plain = build_haystack(CellSpec(length=4000, depth=50.0), cl100k, corpus)
    assert not plain.context.endswith((" ", "\u3000"))
    padded = build_haystack(CellSpec(task="distractor", length=4000, seed=1, language="en"), cl100k, corpus)
    assert padded.tokens_exact and padded.context_tokens == cl100k.count(padded.context) == 4000
    two = build_haystack(CellSpec(task="multi", length=16_000, depth=100.0), cl100k, corpus)
    assert two.tokens_exact and cl100k.count(two.context) == 16_000
    assert two.context.endswith(two.needles[-1].text + " ")  # two pads: one before the end items, one after


# ---------------------------------------------------------------------------------------------------------
# moving the cut (tokenizers whose counts do not add up): local counts, each move confirmed by a full count
# ---------------------------------------------------------------------------------------------------------
def _laid_out(spec: CellSpec, tok: Tokenizer, corpus: Corpus) -> _Result:
    plan, planned, sizes, _ = _prepare(spec, tok)
    stats = corpus_stats(corpus, tok)
    stream = filler_stream(corpus, tok, spec.seed, spec.shuffle)
    items = [_Item(planned=p, order=i, size=n) for i, (p, n) in enumerate(zip(planned, sizes, strict=True))]
    return _layout(spec, plan, items, stream, stats, spec.length)


def _texts_in_place(res: _Result) -> None:
    for it in res.items:
        assert res.context[it.char_offset : it.char_offset + len(it.text)] == it.text


@pytest.mark.parametrize("shift", [-7, -2, -1, 1, 2, 4])
@pytest.mark.parametrize(("task", "depth"), [("single", 50.0), ("multi", 50.0), ("single", 100.0)])
def test_move_cut_lands_on_the_target(
    shift: int, task: str, depth: float, corpus: Corpus, hf_metaspace_path: Path
) -> None:
    tok = get_tokenizer(f"hf:{hf_metaspace_path}")
    res = _laid_out(CellSpec(task=task, length=3000, depth=depth, seed=2), tok, corpus)
    assert res.layout is not None and bool(res.layout.end_items) is (depth == 100.0)
    measured = tok.count(res.context)
    calls: list[int] = []

    def counter(text: str) -> int:
        calls.append(len(text))
        return tok.count(text)

    moved = _move_cut(res, measured, measured + shift, counter)
    assert moved is not None
    new, n = moved
    assert n == measured + shift == tok.count(new.context)
    assert new.layout is res.layout and new.context != res.context
    assert new.context[: new.tail_char] == res.context[: res.tail_char]  # only the end moved
    _texts_in_place(new)
    full = [c for c in calls if c >= len(new.context) // 2]
    assert len(full) == 1  # the first candidate, confirmed by one full count, hits
    assert len(calls) - len(full) <= 20  # a bracket search of local pieces, each counted once (memoized)
    if res.layout.end_items:
        end = "\n".join(it.text for it in res.layout.end_items)
        assert new.context.rstrip(" ").endswith("\n" + end)


def test_move_cut_gives_up_and_restores(corpus: Corpus, hf_metaspace_path: Path) -> None:
    tok = get_tokenizer(f"hf:{hf_metaspace_path}")
    res = _laid_out(CellSpec(task="multi", length=3000, depth=30.0, seed=2), tok, corpus)
    assert res.layout is not None
    cut = res.layout.cut
    offsets = [it.char_offset for it in res.items]
    measured = tok.count(res.context)
    for target in (measured + 5000, measured - 5000):  # far beyond the last paragraph
        assert _move_cut(res, measured, target, tok.count) is None
        assert res.layout.cut == cut and [it.char_offset for it in res.items] == offsets
        _texts_in_place(res)
    # a target only a wrong count would give: every candidate confirmed, none accepted, all restored
    assert _move_cut(res, measured, measured + 2, lambda t: 2 * tok.count(t)) is None
    assert res.layout.cut == cut and [it.char_offset for it in res.items] == offsets
    assert _move_cut(_Result(context=res.context, tokens=measured), measured, measured + 1, tok.count) is None
    # a counter without a count (a count API that gave none): given up, restored
    assert _move_cut(res, measured, measured + 2, lambda t: None) is None
    assert res.layout.cut == cut and [it.char_offset for it in res.items] == offsets
    local_only = lambda t: tok.count(t) if len(t) < 2000 else None  # noqa: E731
    assert _move_cut(res, measured, measured + 2, local_only) is None
    assert res.layout.cut == cut and [it.char_offset for it in res.items] == offsets


def test_build_moves_the_cut_instead_of_laying_out_again(corpus: Corpus, hf_metaspace_path: Path) -> None:
    """Joins that do not add up put a layout off; a re-layout comes close; one confirmed move hits."""
    tok = get_tokenizer(f"hf:{hf_metaspace_path}")
    spec = CellSpec(task="multi", length=3000, depth=50.0, seed=2)
    assert tok.count(_laid_out(spec, tok, corpus).context) != 3000
    spy = _Spy(tok)
    h = build_haystack(spec, spy, corpus)
    assert h.tokens_exact and tok.count(h.context) == 3000
    prefixes = {h.context[: n.char_offset] for n in h.needles}
    full = [t for t in spy.texts if len(t) > 2000 and t not in prefixes]
    assert len(full) <= 3 and full[-1] == h.context  # two layouts counted whole, then the moved cut


class _Spy:
    """A tokenizer that records what it counts (same counts, same cache key: shares the statistics)."""

    exact = True
    additive = False
    backend = "spy"

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.name = inner.name
        self.cache_key = inner.cache_key  # type: ignore[attr-defined]
        self.texts: list[str] = []

    def count(self, text: str) -> int:
        self.texts.append(text)
        return self.inner.count(text)

    def encode(self, text: str) -> list[int]:
        return self.inner.encode(text)


def test_move_cut_pads_where_no_cut_hits(corpus: Corpus, cl100k: Tokenizer) -> None:
    """A cell whose cut falls before a character of two tokens: moving the cut alone cannot hit the target;
    the search tries the pads, and its first candidate, confirmed by one full count, hits."""
    for length in range(4000, 4200):
        res = _laid_out(CellSpec(length=length, depth=100.0), cl100k, corpus)
        assert res.layout is not None
        *_, k, pre, post = res.layout.cut
        if pre or post:
            break
    else:
        pytest.fail("no cell of 4000..4199 tokens needs a pad")
    assert cl100k.count(res.context) == length
    bare = res.layout.recut(k, "", "")
    m = cl100k.count(bare.context)
    assert m != length
    texts: list[str] = []

    def counter(t: str) -> int:
        texts.append(t)
        return cl100k.count(t)

    moved = _move_cut(bare, m, length, counter)
    assert moved is not None and moved[1] == length == cl100k.count(moved[0].context)
    *_, pre2, post2 = res.layout.cut
    assert (pre2 or post2) and (pre2 + post2).isspace()
    assert moved[0].context.rstrip(" ").endswith(res.items[-1].text)  # the needle still ends the context
    assert len([t for t in texts if len(t) > len(bare.context) // 2]) == 1
    _texts_in_place(moved[0])
