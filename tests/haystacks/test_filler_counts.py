"""Shared filler counts for count-API models (haystacks.filler_counts) and the builder's shared sizing."""

from __future__ import annotations

import dataclasses

import pytest

from haystacks.builder import CellSpec, build_haystack
from haystacks.corpus import Corpus
from haystacks.filler_counts import FillerCounts
from haystacks.prompts import render_prompt
from haystacks.stream import filler_stream
from haystacks.tokenizers import (
    COUNT_PREFIX,
    COUNT_PREFIX_NO_NEWLINE,
    CountingTokenizer,
    Tokenizer,
    get_tokenizer,
)
from providers.fakes.server import mock_tokens


def mock_count(text: str) -> int:
    return len(mock_tokens(text))


@pytest.fixture(scope="module")
def o200k() -> Tokenizer:
    return get_tokenizer("o200k_base")


def test_cuts_are_exact_counts_and_share_probes(corpus: Corpus, cl100k: Tokenizer, o200k: Tokenizer) -> None:
    stream = filler_stream(corpus, cl100k, 0, False)
    for model in (mock_count, o200k.count):
        fc = FillerCounts(stream, model, cl100k.count)
        for r in (7_892, 31_892, 127_892):
            x, m = fc.cut(r)
            assert m == model(stream.text(0, x) + "\n")  # with the newline a prompt adds
            # exact where a cut reaches it; o200k has stretches where every character adds two tokens
            assert m == r if model is mock_count else 0 <= r - m <= 1
            assert stream.text(x - 1, x) != "\n"  # a context ends inside a paragraph
        calls = fc.calls
        assert calls <= 18
        assert fc.chars < 2 * len(stream.text(0, fc.cut(127_892)[0]))  # about one count of the longest
        assert fc.cut(31_892) == fc.cut(31_892) and fc.calls == calls  # a known cut costs nothing


def test_every_exact_point_is_the_models_count(corpus: Corpus, cl100k: Tokenizer, o200k: Tokenizer) -> None:
    stream = filler_stream(corpus, cl100k, 3, True)  # shuffled passes: pieces cross pass boundaries too
    fc = FillerCounts(stream, o200k.count, cl100k.count, prior_ratio=0.7)
    for r in (150_000, 20_000, 90_000, 3_000):  # any order: overshoots are counted back from the anchor
        fc.cut(r)
    for x in fc._xs:
        inside = stream.chr_start(stream.locate_chr(x)) != x  # inside a paragraph: with the newline
        assert fc.exact(x) == o200k.count(stream.text(0, x) + ("\n" if inside else ""))
    x = 12_345
    assert abs(fc.estimate(x) - o200k.count(stream.text(0, x))) < 0.03 * o200k.count(stream.text(0, x))


def test_a_piece_for_measuring_a_frame_and_bad_targets(corpus: Corpus, cl100k: Tokenizer) -> None:
    stream = filler_stream(corpus, cl100k, 0, False)
    fc = FillerCounts(stream, mock_count, cl100k.count)
    assert fc.known_piece() is None
    fc.warm(5_000)
    text, tokens = fc.known_piece()
    assert tokens == mock_count(text) and text[-1].isalnum() and fc.known_piece() == (text, tokens)
    with pytest.raises(ValueError, match="at least one token"):
        fc.cut(0)


def test_framed_counts_cancel_the_message_framing(cl100k: Tokenizer) -> None:
    sent: list[str] = []

    def api(text: str) -> int:  # what /count_tokens answers: the message's tokens plus 7 of framing
        sent.append(text)
        return mock_count(text) + 7

    tok = CountingTokenizer("vendor:framed", api, cl100k, framed=True)
    assert tok.count("你好，世界") == mock_count("你好，世界")
    assert tok.count("\n你好") == mock_count("\n你好")  # whitespace first: the prefix without its newline
    assert sent == [
        COUNT_PREFIX + "你好，世界",
        COUNT_PREFIX,
        COUNT_PREFIX_NO_NEWLINE + "\n你好",
        COUNT_PREFIX_NO_NEWLINE,
    ]
    assert tok.count("你好，世界") == mock_count("你好，世界") and tok.calls == 4  # memoized


def _prompt_share(h: object, model: object) -> int:
    """The context's share of a prompt in ``model``'s tokens (with the newline after it): the prompt minus
    the same prompt around a short known context."""
    q = COUNT_PREFIX_NO_NEWLINE
    prompt = render_prompt(h).user  # type: ignore[arg-type]
    plain = render_prompt(dataclasses.replace(h, context=q)).user  # type: ignore[type-var]
    return model(prompt) - (model(plain) - model(q + "\n"))  # type: ignore[operator]


def test_shared_sizing_is_exact_where_counts_add_up(corpus: Corpus, cl100k: Tokenizer) -> None:
    """The mock tokenizer adds up at every join of Chinese text: every cell whose needles sit between Chinese
    sentences is exact, in its count and in the prompt, at a fraction of a count call per cell."""
    tok = CountingTokenizer("vendor:mock", mock_count, cl100k)
    cells = 0
    for task in ("single", "multi", "distractor", "no_needle", "changed_line"):
        for length in (3_000, 20_000):
            for depth in (0, 30, 70, 100):
                h = build_haystack(CellSpec(task=task, length=length, depth=depth, seed=1), tok, corpus)
                cells += 1
                assert h.tokens_exact and h.context_tokens == length == h.spec.length
                if task != "changed_line":
                    assert _prompt_share(h, mock_count) == length
                else:  # the clause can land after a Latin word ("work?" is one mock token, "work" "?" two)
                    assert abs(_prompt_share(h, mock_count) - length) <= 1
                for n in h.needles:
                    true = mock_count(h.context[: n.char_offset])
                    assert abs(n.token_offset - true) <= 0.02 * length  # interpolated between counts
    assert tok.calls < cells


def test_shared_sizing_with_a_real_bpe_is_close_and_says_it_is_a_prediction(
    corpus: Corpus, cl100k: Tokenizer, o200k: Tokenizer
) -> None:
    """o200k as the "vendor" (cl100k the proxy): counts do not always add up where a needle is inserted
    (a full stop merges with the next word), so some cells are a token or two off; the run's generation
    check records those (tests/evals/execution/test_sizing_scale.py)."""
    tok = CountingTokenizer("vendor:o200k", o200k.count, cl100k)
    offs = []
    for task in ("single", "multi"):
        for language in ("zh", "en"):
            for depth in (0, 50, 100):
                h = build_haystack(
                    CellSpec(task=task, length=6_000, depth=depth, language=language), tok, corpus
                )
                assert h.context_tokens == 6_000
                offs.append(_prompt_share(h, o200k.count) - 6_000)
    assert all(abs(d) <= 3 for d in offs)
    assert offs.count(0) >= len(offs) // 2
