"""The labelled answer corpus (``answers/*.jsonl``) regraded: the grader agrees with the careful human on at
least 99 % of the answers (score and outcome both), and every disagreement is printed on failure."""

from __future__ import annotations

import pytest

from evals.grading.agreement import REPO, agreement_report, load_corpus
from haystacks.tasks import task_names

AGREEMENT = 0.99


@pytest.fixture(scope="module")
def corpus() -> list:
    if not sorted((REPO / "answers").glob("*.jsonl")):
        pytest.skip("no answers/*.jsonl in this checkout")
    return load_corpus()


def test_the_grader_agrees_with_the_human_labels(corpus: list) -> None:
    agree = sum(x.agrees for x in corpus)
    assert agree >= AGREEMENT * len(corpus), agreement_report(corpus)


def test_every_family_in_both_languages(corpus: list) -> None:
    seen = {(x.task, x.language) for x in corpus}
    missing = [(t, lang) for t in task_names() for lang in ("zh", "en") if (t, lang) not in seen]
    assert not missing, missing
