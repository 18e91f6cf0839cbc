"""Prompt rendering: the same instructions for every task, in the needle language.

The template is data (:data:`TEMPLATES`). Every task gets identical instructions, including how to say
that the text does not contain the answer (:data:`ABSTAIN_ANSWERS`), so the no-needle control is not
given away by its wording. Chat prompts are one user message; completion prompts (base models) end with an
answer prefix such as ``"答案："``.
"""

from __future__ import annotations

from dataclasses import dataclass

from haystacks.builder import CellSpec, Haystack
from haystacks.errors import SpecError
from haystacks.tasks import get_task
from haystacks.tokenizers import Tokenizer

__all__ = [
    "ABSTAIN_ANSWERS",
    "STYLES",
    "TEMPLATES",
    "TEMPLATE_VERSION",
    "Prompt",
    "PromptTemplate",
    "prompt_frame",
    "prompt_overhead",
    "render_closed_book",
    "render_prompt",
]

STYLES = ("chat", "completion")
#: Bumped whenever the text around a context changes (part of every run's identity).
TEMPLATE_VERSION = 1


@dataclass(frozen=True)
class PromptTemplate:
    """The text around a context, in one language.

    Attributes:
        instructions: What to do, including the abstention phrase.
        context_open: Line before the context.
        context_close: Line after the context.
        question_label: Label before the question.
        answer_prefix: Completion mode: the prompt ends with it; chat: usable as an assistant prefill.
        closed_book: Instructions of the closed-book control (the question asked with no text).
    """

    instructions: str
    context_open: str
    context_close: str
    question_label: str
    answer_prefix: str
    closed_book: str = ""


ABSTAIN_ANSWERS = {"zh": "文中没有提到", "en": "The text does not say"}

TEMPLATES: dict[str, PromptTemplate] = {
    "zh": PromptTemplate(
        instructions=(
            "下面是一篇很长的文本，其中藏有一些信息。请仔细阅读全文，然后只根据文本内容回答文本后面的问题，"
            f"回答要简短。如果文本中找不到答案，请回答“{ABSTAIN_ANSWERS['zh']}”。"
        ),
        context_open="<文本>",
        context_close="</文本>",
        question_label="问题：",
        answer_prefix="答案：",
        closed_book="请简短回答下面的问题。如果你不知道答案，请回答“不知道”。",
    ),
    "en": PromptTemplate(
        instructions=(
            "Below is a long text with some information hidden in it. Read all of it, then answer the "
            "question after the text using only the text, briefly. If the text does not contain the "
            f'answer, reply "{ABSTAIN_ANSWERS["en"]}".'
        ),
        context_open="<text>",
        context_close="</text>",
        question_label="Question: ",
        answer_prefix="Answer:",
        closed_book=(
            'Answer the question below briefly. If you do not know the answer, reply "I don\'t know".'
        ),
    ),
}


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt.

    Attributes:
        system: System message (None: the instructions live in the user message).
        user: Instructions + context + question (chat models).
        completion: ``user`` followed by the answer prefix (base models).
        answer_prefix: ``"答案："`` / ``"Answer:"``.
        cache_split: Character offset into ``user`` (and ``completion``) where the first inserted text (a
            needle, distractor or altered line) starts: ``user[:cache_split]`` is instructions plus filler,
            the same text for every cell of a (task, language, seed) whose first needle lies further in,
            so the part a prompt cache can share. None when nothing was inserted (closed book, no needle).
    """

    system: str | None
    user: str
    completion: str
    answer_prefix: str
    cache_split: int | None = None


def _parts(language: str, question: str) -> tuple[str, str, PromptTemplate]:
    tpl = TEMPLATES.get(language)
    if tpl is None:
        raise SpecError(f"no prompt template for language {language!r}")
    before = f"{tpl.instructions}\n\n{tpl.context_open}\n"
    after = f"{tpl.context_close}\n\n{tpl.question_label}{question}"
    return before, after, tpl


def render_prompt(haystack: Haystack, style: str = "chat") -> Prompt:
    """Render a haystack as a prompt.

    Args:
        haystack: The built haystack.
        style: ``chat`` or ``completion``; both forms are always filled, ``style`` only validates the
            caller's intent (kept for symmetry with :func:`prompt_overhead`).

    Returns:
        The prompt.

    Raises:
        SpecError: Unknown style or language.
    """
    if style not in STYLES:
        raise SpecError(f"unknown prompt style {style!r} (chat | completion)")
    before, after, tpl = _parts(haystack.spec.language, haystack.question)
    ctx = haystack.context
    user = before + ctx + ("" if ctx.endswith("\n") else "\n") + after
    offsets = [n.char_offset for n in (*haystack.needles, *haystack.distractors)]
    return Prompt(
        system=None,
        user=user,
        completion=f"{user}\n{tpl.answer_prefix}",
        answer_prefix=tpl.answer_prefix,
        cache_split=len(before) + min(offsets) if offsets else None,
    )


def render_closed_book(question: str, language: str) -> Prompt:
    """The closed-book control's prompt: a task's question with no text, to tell known facts from found ones.

    Raises:
        SpecError: Unknown language.
    """
    tpl = TEMPLATES.get(language)
    if tpl is None:
        raise SpecError(f"no prompt template for language {language!r}")
    user = f"{tpl.closed_book}\n\n{tpl.question_label}{question}"
    return Prompt(
        system=None, user=user, completion=f"{user}\n{tpl.answer_prefix}", answer_prefix=tpl.answer_prefix
    )


def prompt_frame(spec: CellSpec, style: str) -> tuple[str, str, str]:
    """The text a prompt puts before and after a cell's context, and the answer prefix.

    A prompt's text is ``before + context + "\\n" + after`` (``after`` ends with the answer prefix line in
    the ``completion`` style).

    Raises:
        SpecError: Unknown style, language or an invalid spec.
    """
    if style not in STYLES:
        raise SpecError(f"unknown prompt style {style!r} (chat | completion)")
    plan = get_task(spec.task).plan(spec)
    before, after, tpl = _parts(spec.language, plan.question)
    if style == "completion":
        after = f"{after}\n{tpl.answer_prefix}"
    return before, after, tpl.answer_prefix


def prompt_overhead(tokenizer: Tokenizer, spec: CellSpec, style: str) -> int:
    """Tokens the template adds around the context, so a runner can size the context to (prompt - overhead).

    The question depends only on the spec's seed/task/language (never on length or depth), so this is
    known before the haystack is built. Counts are of the template text itself; where the context's last
    characters merge with the closing line, the real prompt can differ by about one token.

    Args:
        tokenizer: The tokenizer the prompt is measured in.
        spec: The cell (its task, seed and language fix the question).
        style: ``chat`` (the user message) or ``completion`` (plus the answer prefix).

    Returns:
        ``count(text before the context) + count(text after the context)`` (the text after starts with the
        newline that closes the context's last line).

    Raises:
        SpecError: Unknown style, language or an invalid spec.
    """
    before, after, _ = prompt_frame(spec, style)
    return tokenizer.count(before) + tokenizer.count("\n" + after)
