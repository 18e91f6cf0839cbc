"""Grading agreement: the corpus regraded, the confusion table, bad corpus lines as one-line errors, and a
judge measured on the corpus against the repository's mock server (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.agreement import main
from evals.grading.agreement import CorpusError, agreement_report, load_corpus
from providers.mock_server import MockRequest, MockServer

KEY = {
    "task": "single",
    "language": "en",
    "question": "What is the magic number for Oslo?",
    "expected": [{"key": "the magic number for Oslo", "answer": "4729183", "label": "Oslo", "accept": []}],
    "decoys": [],
    "absent": None,
    "changed_sentence": None,
    "params": {},
}


def line(i: int, answer: str, score: float | None, outcome: str, cut: bool = False) -> dict:
    return {
        "id": f"single-en-{i:03d}",
        "task": "single",
        "language": "en",
        "seed": 0,
        "options": {},
        "closed_book": False,
        "key": KEY,
        "answer": answer,
        "cut": cut,
        "score": score,
        "outcome": outcome,
        "reason": "test",
        "style": "test",
        "source": "crafted",
    }


def write(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "single.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return folder


ROWS = [
    line(1, "Oslo: 4729183", 1.0, "found"),
    line(2, "4729183, or possibly 4729138", 0.0, "hedged"),
    line(3, "The text doesn\u2019t say.", 0.0, "abstained"),
    line(4, "Let me look through the text for Oslo's", None, "truncated", cut=True),
    line(5, "Oslo: 1234567", 1.0, "found"),  # a wrong human label: the grader disagrees
]


def test_load_and_report(tmp_path: Path) -> None:
    lines = load_corpus(write(tmp_path / "answers", ROWS))
    assert [x.outcome for x in lines] == ["found", "hedged", "abstained", "truncated", "hallucinated"]
    assert [x.agrees for x in lines] == [True, True, True, True, False]
    assert lines[3].score is None
    text = agreement_report(lines)
    assert "agreement (score and outcome): 4/5 = 80.0%" in text
    assert "single-en-005: human 1.0 found / grader 0.0 hallucinated" in text
    assert "found" in text.split("single: human (rows) x grader (columns)")[1]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "single.jsonl:1: not JSON"),
        (json.dumps({**line(1, "x", 1.0, "found"), "outcome": "great"}), "unknown outcome 'great'"),
        (json.dumps({k: v for k, v in line(1, "x", 1.0, "found").items() if k != "key"}), "missing key"),
        (json.dumps({**line(1, "x", 1.0, "found"), "score": "1"}), "score must be a number or null"),
    ],
)
def test_bad_lines_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, message: str
) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    (folder / "single.jsonl").write_text(bad + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"single\.jsonl:1"):
        load_corpus(folder)
    assert main(["--answers", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_duplicate_ids_and_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write(tmp_path / "answers", [ROWS[0], ROWS[0]])
    with pytest.raises(CorpusError, match="duplicate id"):
        load_corpus(folder)
    assert main(["--answers", str(tmp_path / "nowhere")]) == 2
    assert "no answer corpus" in capsys.readouterr().err


REGISTRY = """
[models."mock-judge"]
provider = "openai-compatible"
model_id = "{judge}"
context_window = 100000
tokenizer = "cl100k_base"
mode = "chat"
key_required = false
base_url = "{url}/v1"
[models."mock-judge".prices]
input = 0.0
output = 0.0
as_of = 2026-01-01
source = "test"
"""


def judge(req: MockRequest) -> str:
    """A judge that passes every answer holding the reference's digits (and fails the rest)."""
    reference = req.prompt.split("Reference answer:")[1].split("\n")[0]
    answer = req.prompt.split("Answer to grade:")[1]
    return "[[9]]" if reference.strip()[:7] in answer else "[[2]]"


def test_judge_agreement_against_the_mock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write(tmp_path / "answers", ROWS)
    with MockServer(answer=judge) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, judge="mock-judge-2024-01-01"))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        assert main(["--answers", str(folder), "--judge", "mock-judge"]) == 0
        judged = [r for r in srv.api_requests() if r.body and r.body.get("model") == "mock-judge-2024-01-01"]
    out = capsys.readouterr().out
    assert len(judged) == 4  # the truncated line is not scored, so not judged
    assert "judged 4 scored lines" in out
    # the judge passes the hedge (it holds the digits) that the human fails, and fails line 5, whose human
    # label is wrong: 2/4 with the human; the grader agrees with the human on 3/4 (not on line 5)
    assert "judge vs human               n=4     agree=50.0%" in out
    assert "judge vs deterministic       n=4     agree=75.0%" in out
    assert "deterministic vs human       n=4     agree=75.0%" in out


def test_an_unpinned_judge_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write(tmp_path / "answers", ROWS[:1])
    reg = tmp_path / "models.toml"
    reg.write_text(REGISTRY.format(url="http://127.0.0.1:9", judge="moving-alias"))
    monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
    assert main(["--answers", str(folder), "--judge", "mock-judge"]) == 2
    assert "not pinned" in capsys.readouterr().err
