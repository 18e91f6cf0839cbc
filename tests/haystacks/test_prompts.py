"""Prompt rendering and the template overhead used for sizing."""

from __future__ import annotations

import pytest

from haystacks.builder import CellSpec, build_haystack
from haystacks.corpus import Corpus
from haystacks.errors import SpecError
from haystacks.prompts import ABSTAIN_ANSWERS, prompt_overhead, render_prompt
from haystacks.tokenizers import Tokenizer


@pytest.mark.parametrize("language", ["zh", "en"])
def test_render_chat_and_completion(language: str, corpus: Corpus, cl100k: Tokenizer) -> None:
    h = build_haystack(CellSpec(length=3000, depth=40.0, language=language), cl100k, corpus)
    p = render_prompt(h, "chat")
    assert p.system is None
    assert h.context in p.user and p.user.index(h.context) < p.user.index(h.question)
    assert p.user.endswith(h.question)
    assert ABSTAIN_ANSWERS[language] in p.user
    assert p.completion == p.user + "\n" + p.answer_prefix
    assert p.answer_prefix == ("答案：" if language == "zh" else "Answer:")
    assert h.answers[0] not in p.user.replace(h.needles[0].text, "")  # the answer only in the needle


def test_no_needle_prompt_has_the_same_instructions(corpus: Corpus, cl100k: Tokenizer) -> None:
    a = render_prompt(build_haystack(CellSpec(task="single", length=2000), cl100k, corpus))
    b = render_prompt(build_haystack(CellSpec(task="no_needle", length=2000), cl100k, corpus))
    head = a.user[: a.user.index("<文本>")]
    assert b.user.startswith(head)


def test_prompts_share_prefixes_across_depths(corpus: Corpus, cl100k: Tokenizer) -> None:
    a = build_haystack(CellSpec(length=6000, depth=20.0), cl100k, corpus)
    b = build_haystack(CellSpec(length=6000, depth=80.0), cl100k, corpus)
    pa, pb = render_prompt(a).user, render_prompt(b).user
    cut = pa.index(a.needles[0].text)
    assert pa[:cut] == pb[:cut]


@pytest.mark.parametrize("style", ["chat", "completion"])
@pytest.mark.parametrize("task", ["single", "multi", "changed_line", "no_needle"])
def test_overhead_sizes_the_prompt(style: str, task: str, corpus: Corpus, cl100k: Tokenizer) -> None:
    for length, depth in [(1000, 0.0), (2500, 50.0), (7000, 100.0)]:
        spec = CellSpec(task=task, length=length, depth=depth, seed=3)
        h = build_haystack(spec, cl100k, corpus)
        p = render_prompt(h, style)
        total = cl100k.count(p.user if style == "chat" else p.completion)
        overhead = prompt_overhead(cl100k, spec, style)
        assert overhead > 20
        assert total - h.context_tokens in (overhead, overhead - 1)  # never more than asked


def test_bad_style(corpus: Corpus, cl100k: Tokenizer) -> None:
    h = build_haystack(CellSpec(length=1000), cl100k, corpus)
    with pytest.raises(SpecError):
        render_prompt(h, "xml")
    with pytest.raises(SpecError):
        prompt_overhead(cl100k, CellSpec(), "xml")
