"""The optional LLM judge: the classic 1-10 rubric, graded by a pinned model other than the one under test.

The deterministic score (:mod:`evals.grading.score`) stays the score of record; the judge's grade is stored
beside it (the record's ``judge`` field) and its agreement with the deterministic score is reported, so a
reader can see how often an LLM judge would have misgraded the answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from evals.errors import JudgeError

__all__ = [
    "JUDGE_PASS",
    "Agreement",
    "agreement",
    "check_judge",
    "is_pinned",
    "judge_answer",
    "judge_prompt",
    "judge_reference",
    "parse_judge_score",
]

#: A judge grade at or above this counts as "correct" when comparing with the deterministic score.
JUDGE_PASS = 7
#: A deterministic score at or above this counts as "correct".
SCORE_PASS = 0.5

_PINNED = re.compile(r"(?:\d{4}-\d{2}-\d{2}|(?<!\d)20\d{6}(?!\d)|-\d{3}$|@\d{8}$)")


def is_pinned(model_id: str) -> bool:
    """Whether a model id names a fixed snapshot (a date such as ``2024-08-06`` / ``20241022``, or ``-002``).

    Args:
        model_id: The provider's model id.

    Returns:
        True for a pinned snapshot, False for a moving alias such as ``gpt-4o`` or ``...-latest``.
    """
    return "latest" not in model_id and bool(_PINNED.search(model_id))


def check_judge(judge: Any, model: Any) -> None:
    """Refuse a judge that is the model under test, or that is not pinned to a snapshot.

    Args:
        judge: The judge's registry entry (``alias``, ``model_id``, optional ``pinned``).
        model: The registry entry of the model under test.

    Raises:
        JudgeError: With a one-line reason.
    """
    if judge.alias == model.alias or (judge.model_id == model.model_id and judge.provider == model.provider):
        raise JudgeError(f"the judge {judge.alias!r} is the model under test; pick a different judge model")
    pinned = getattr(judge, "pinned", None)
    if pinned is None:
        # A local GGUF is a fixed file (its package version is in the header); an API id must name a snapshot.
        from providers.doors import door_for

        pinned = door_for(judge).fixed_weights or is_pinned(judge.model_id)
    if not pinned:
        raise JudgeError(
            f"the judge {judge.alias!r} (model id {judge.model_id!r}) is not pinned to a dated snapshot; "
            "use a registry entry whose model id names one (e.g. gpt-4o-2024-08-06) so grades reproduce"
        )


_RUBRIC = {
    "en": (
        "You are grading an answer against a reference answer.\n\n"
        "Question: {question}\n\n"
        "Reference answer: {reference}\n\n"
        "Answer to grade: {answer}\n\n"
        "Rate how well the answer to grade agrees with the reference, from 1 to 10:\n"
        "1 - unrelated to the reference, or wrong.\n"
        "3 - somewhat relevant, but does not agree with the reference.\n"
        "5 - relevant, but contains errors.\n"
        "7 - agrees with the reference, with small omissions.\n"
        "10 - fully correct and in complete agreement with the reference.\n"
        "Judge only the facts, not the wording or language. Reply with the grade only, as [[N]]."
    ),
    "zh": (
        "请根据参考答案为一个回答打分。\n\n"
        "问题：{question}\n\n"
        "参考答案：{reference}\n\n"
        "待评回答：{answer}\n\n"
        "请给出 1 到 10 的分数，衡量待评回答与参考答案的一致程度：\n"
        "1 - 与参考答案无关或错误。\n"
        "3 - 有些相关，但与参考答案不一致。\n"
        "5 - 相关，但有错误。\n"
        "7 - 与参考答案一致，略有遗漏。\n"
        "10 - 完全正确，与参考答案完全一致。\n"
        "只看事实，不看措辞或语言。只回复分数，格式为 [[N]]。"
    ),
}

NO_FACT_REFERENCE = {
    "en": "The text does not contain this information; a correct answer says so and invents no value.",
    "zh": "文中没有这条信息；正确的回答应说明没有提到，且不编造任何数值。",
}


def judge_prompt(question: str, reference: str, answer: str, language: str = "en") -> str:
    """The rubric prompt for one answer.

    Args:
        question: The question the model was asked.
        reference: The expected answer (see :data:`NO_FACT_REFERENCE` for the no-needle control).
        answer: The model's answer.
        language: ``zh`` or ``en`` (the rubric's language).

    Returns:
        The user message for the judge.
    """
    template = _RUBRIC.get(language, _RUBRIC["en"])
    return template.format(
        question=question.strip(), reference=reference.strip(), answer=answer.strip() or "(empty)"
    )


def parse_judge_score(text: str) -> int | None:
    """Read the grade from a judge's reply: ``[[N]]``, else a leading or lone integer 1..10.

    Args:
        text: The judge's reply.

    Returns:
        The grade, or None when the reply holds no grade in 1..10.
    """
    m = re.search(r"\[\[\s*(\d{1,2})\s*\]\]", text)
    if m is None:
        m = re.match(r"\s*(?:score|grade|rating|分数|评分)?\s*[:：]?\s*(\d{1,2})\b", text, re.I)
    if m is None:
        return None
    value = int(m.group(1))
    return value if 1 <= value <= 10 else None


@dataclass(frozen=True)
class Agreement:
    """Agreement between judge grades and deterministic scores over the same answers.

    Attributes:
        n: Answers graded by both.
        percent: Share (0..1) where both call the answer correct, or both wrong.
        kappa: Cohen's kappa of the two binary verdicts (None when undefined, e.g. n = 0).
        judge_pass: Judge grade counted as correct at or above this.
        score_pass: Deterministic score counted as correct at or above this.
        judge_only: Answers the judge passed and the deterministic score failed.
        score_only: Answers the deterministic score passed and the judge failed.
    """

    n: int
    percent: float | None
    kappa: float | None
    judge_pass: int = JUDGE_PASS
    score_pass: float = SCORE_PASS
    judge_only: int = 0
    score_only: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


def agreement(
    pairs: Iterable[tuple[float, int]], judge_pass: int = JUDGE_PASS, score_pass: float = SCORE_PASS
) -> Agreement:
    """Percent agreement and Cohen's kappa between deterministic scores and judge grades.

    Args:
        pairs: ``(deterministic score 0..1, judge grade 1..10)`` per answer.
        judge_pass: Threshold of a passing judge grade.
        score_pass: Threshold of a passing deterministic score.

    Returns:
        The :class:`Agreement`.
    """
    a = b = both = neither = 0
    for score, grade in pairs:
        s, j = score >= score_pass, grade >= judge_pass
        if s and j:
            both += 1
        elif s:
            a += 1
        elif j:
            b += 1
        else:
            neither += 1
    n = a + b + both + neither
    if n == 0:
        return Agreement(0, None, None, judge_pass, score_pass)
    po = (both + neither) / n
    p_s, p_j = (both + a) / n, (both + b) / n
    pe = p_s * p_j + (1 - p_s) * (1 - p_j)
    kappa = None if pe >= 1.0 else (po - pe) / (1 - pe)
    return Agreement(n, po, kappa, judge_pass, score_pass, judge_only=b, score_only=a)


def judge_reference(key: Any) -> str:
    """The reference answer a judge compares with, from a cell's answer key (``haystacks.tasks.AnswerKey``).

    A question the text cannot answer (``key.absent``) is referenced as "the text does not say"; an altered
    sentence by the sentence and its inserted phrase; anything else by its expected answers.
    """
    if key.absent is not None or not key.expected:
        return NO_FACT_REFERENCE.get(key.language, NO_FACT_REFERENCE["en"])
    answers = "; ".join(f.answer for f in key.expected)
    if key.changed_sentence:
        return f"{key.changed_sentence} ({answers})"
    return answers


async def judge_answer(provider: Any, info: Any, key: Any, answer: str) -> dict[str, Any]:
    """Ask the judge model to grade one answer; never raises for a provider failure.

    Args:
        provider: The judge's provider.
        info: The judge's registry entry (``alias``, ``model_id``, ``mode``, ``prices``).
        key: The cell's answer key.
        answer: The graded part of the answer.

    Returns:
        The record's ``judge`` object: ``model``, ``model_id``, ``score`` (1..10 or None), ``raw``,
        ``cost_usd``, or ``error``.
    """
    from providers.base import GenerateRequest, Message
    from providers.doors import call_cost
    from providers.errors import ProviderError

    text = judge_prompt(key.question, judge_reference(key), answer, key.language)
    if info.mode == "chat":
        req = GenerateRequest(messages=(Message("user", text),), max_tokens=16, temperature=0.0)
    else:
        req = GenerateRequest(prompt=text + "\n", max_tokens=16, temperature=0.0)
    out: dict[str, Any] = {"model": info.alias, "model_id": info.model_id, "score": None, "raw": None}
    try:
        res = await provider.generate(req)
    except ProviderError as e:
        out["error"] = str(e)
        return out
    out["raw"] = res.text[:500]
    out["score"] = parse_judge_score(res.text)
    out["cost_usd"] = call_cost(res.usage, info)
    return out
