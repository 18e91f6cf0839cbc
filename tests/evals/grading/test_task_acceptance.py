"""The issue's acceptance for tasks, end to end: your own document and needle, the Gemini 1.5 preset, grades a
careful human would give (crafted answers), the closed-book control, one module per task."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import pkgutil
import re
from pathlib import Path

import pytest

from evals.execution.session import was_cut
from evals.run import main
from evals.store.results import read_records
from haystacks.build import main as build_main
from haystacks.tasks import AnswerKey, Fact, get_task, grade_answer, task_names
from haystacks.tokenizers import get_tokenizer
from providers.base import GenerateResult, StopReason, Usage
from providers.fakes.server import MockRequest, MockServer
from tests.evals.execution.test_run_mock import REGISTRY

SANDWICH = "The best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day."
QUESTION = "What is the best thing to do in San Francisco?"
ANSWER = "eat a sandwich and sit in Dolores Park on a sunny day"


@pytest.fixture
def licence_text(tmp_path: Path) -> Path:
    """A licence text of your own: pandas' LICENSE and the third-party licences it bundles (English)."""
    dist = importlib.metadata.distribution("pandas")
    files = [f for f in dist.files or () if "LICENSE" in f.name.upper() or "LICENCE" in f.name.upper()]
    text = "\n\n".join(Path(dist.locate_file(f)).read_text(encoding="utf-8") for f in files)
    assert len(text) > 20_000
    path = tmp_path / "licence.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_your_own_document_and_needle_builds_exactly(
    licence_text: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--haystack", str(licence_text), "--language", "en", "--length", "6000", "--depth", "40"]
    argv += ["--needle", SANDWICH, "--question", QUESTION, "--answer", ANSWER, "--format", "json"]
    assert build_main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["context_tokens"] == 6000
    assert get_tokenizer("cl100k_base").count(d["context"]) == 6000
    assert d["context"].count(SANDWICH) == 1
    (needle,) = d["needles"]
    assert abs(needle["actual_depth"] - 40.0) <= 1.0
    assert d["question"] == QUESTION and d["answers"] == [ANSWER]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--needle", SANDWICH, "--question", QUESTION, "--answer", "a burrito"],
            "does not contain its answer",
        ),
        (["--needle", SANDWICH, "--question", QUESTION, "--answer", "  "], "answer is empty"),
        (["--needle", SANDWICH, "--question", QUESTION], "one --question and one --answer per --needle"),
    ],
)
def test_bad_custom_needles_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build_main([*argv, "--length", "2000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert main([*argv, "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_bad_haystack_files_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait".encode("latin-1"))
    for path, message in ((empty, "is empty"), (latin, "not UTF-8"), (tmp_path / "nope.txt", "not found")):
        assert main(["--haystack", str(path), "--dry-run"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "results").exists()


def test_your_own_needle_through_a_run(
    licence_text: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reader(req: MockRequest) -> str:  # a model that answers from the context it was sent
        return f"The text says: {ANSWER}." if SANDWICH in req.prompt else "The text does not say"

    with MockServer(answer=reader) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, price=1.0, judge="j"))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        out = tmp_path / "run"
        argv = ["--model", "mock-model", "--haystack", str(licence_text), "--language", "en"]
        argv += ["--needle", SANDWICH, "--question", QUESTION, "--answer", ANSWER]
        argv += ["--lengths", "3000,6000", "--depths", "40", "--out", str(out), "--no-report"]
        assert main(argv) == 0
        sent = [json.dumps(r.body, ensure_ascii=False) for r in srv.api_requests("openai-chat")]
        assert len(sent) == 2 and all(p.count(SANDWICH) == 1 and QUESTION in p for p in sent)
    recs = read_records(out / "results.jsonl")
    assert {r.task for r in recs} == {"custom"}
    assert all(r.expected == (ANSWER,) and r.question == QUESTION for r in recs)
    assert all(r.status == "ok" and r.score == 1.0 and r.outcome == "found" for r in recs)
    header = json.loads((out / "header.json").read_text())
    assert header["corpus_files"] == ["licence.txt"]


def test_gemini_preset_dry_run_shows_its_grid_and_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--model", "gpt-6.1-sol", "--preset", "gemini-1.5", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "special_magic" in out and "1000000" in out
    assert re.search(r"estimated cost\s*│\s*\$[\d,]+\.\d+", out), out


# Crafted answers and the grades a careful human would give them.
MULTI = AnswerKey(
    "multi",
    "en",
    "What are the magic numbers for Oslo and Lima?",
    expected=(
        Fact("the magic number for Oslo", "4729183", "Oslo"),
        Fact("the magic number for Lima", "1234567", "Lima"),
    ),
)
SINGLE = AnswerKey(
    "single",
    "en",
    "What is the magic number for Oslo?",
    expected=(Fact("the magic number for Oslo", "4729183", "Oslo"),),
)
ABSENT = AnswerKey(
    "no_needle",
    "en",
    "What is the magic number for Warsaw?",
    absent=Fact("the magic number for Warsaw", "", "Warsaw"),
)


@pytest.mark.parametrize(
    ("key", "answer", "score", "outcome"),
    [
        (
            MULTI,
            "Sure! Looking through the text, Oslo's magic number is 4,729,183 and Lima's is 1234567.",
            1.0,
            "found",
        ),
        (MULTI, "Oslo: 1234567, Lima: 4729183", 0.0, "misbound"),
        (MULTI, "4729183, 1234567", 1.0, "found"),
        (MULTI, "Oslo is 4729183.", 0.5, "partial"),
        (ABSENT, "The magic number for Warsaw is 11.", 0.0, "hallucinated"),
        (ABSENT, "The text does not say.", 1.0, "abstained"),
        (ABSENT, "The text does not say, but it could be 4729183.", 0.0, "hallucinated"),
    ],
)
def test_crafted_answers(key: AnswerKey, answer: str, score: float, outcome: str) -> None:
    g = get_task(key.task).grade(answer, key)
    assert (g.score, g.outcome) == (score, outcome)


def _result(text: str, stop: StopReason) -> GenerateResult:
    return GenerateResult(text, stop, Usage(100, 32), 0.1, "m", {}, {})


def _cut_off(text: str, stop: StopReason, key: AnswerKey = MULTI) -> tuple[str, bool]:
    g, cut_off = grade_answer(get_task(key.task), text, key, was_cut(_result(text, stop)))
    return g.outcome, cut_off


def test_an_answer_cut_before_it_commits_is_truncated_one_cut_after_is_graded() -> None:
    explaining = "Let me look for the magic numbers of Oslo and Lima in the text. The first one"
    assert _cut_off(explaining, StopReason.MAX_TOKENS) == ("wrong_format", True)
    assert _cut_off(explaining, StopReason.STOP) == ("wrong_format", False)  # complete: a miss
    assert _cut_off("Oslo: 4729183, Li", StopReason.TRUNCATED) == ("partial", False)  # committed to Oslo's
    assert _cut_off("Oslo: 4729183, Lima: 12", StopReason.TRUNCATED) == ("partial", False)  # "12…" unfinished
    assert _cut_off("Oslo: 4729183, Lima: 12", StopReason.STOP) == ("partial", False)
    assert _cut_off("Oslo's magic number is 47291", StopReason.MAX_TOKENS) == (
        "wrong_format",
        True,
    )  # mid-number
    runaway = "Oslo: 1000000000000000000000000000"  # a runaway number: committed, and invented
    assert _cut_off(runaway, StopReason.MAX_TOKENS) == ("hallucinated", False)
    assert _cut_off("", StopReason.TRUNCATED) == ("wrong_format", True)  # emptied by hidden thinking
    # a base model's answer line, then more text to the budget: cut, but committed first
    assert _cut_off("4729183\nQuestion: next", StopReason.MAX_TOKENS, SINGLE) == ("found", False)


def test_closed_book_control_is_run_once_per_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with MockServer(answer="I don't know") as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, price=1.0, judge="j"))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        out = tmp_path / "run"
        argv = ["--model", "mock-model", "--task", "topical", "--lengths", "800", "--depths", "0,50"]
        assert main([*argv, "--seeds", "0,1", "--out", str(out), "--no-report"]) == 0
    recs = read_records(out / "results.jsonl")
    closed = [r for r in recs if r.kind == "closed_book"]
    assert len(closed) == 2 and {r.seed for r in closed} == {0, 1} and all(r.length == 0 for r in closed)
    assert all("<text>" not in (r.question or "") for r in closed)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["closed_book"] == {"asked": 2, "known": 0}
    assert summary["cells"] == 4


def test_every_module_of_the_package_is_in_the_table() -> None:
    """A new task is one module: the table finds it (nothing else names it)."""
    import haystacks.tasks as pkg

    names = set(task_names())
    for m in pkgutil.iter_modules(pkg.__path__):
        if m.name in ("base", "registry"):
            continue
        mod = importlib.import_module(f"haystacks.tasks.{m.name}")
        mine = {t.name for t in vars(mod).values() if isinstance(t, type) and getattr(t, "name", "") in names}
        assert mine, f"module {m.name} registers no task"


@pytest.mark.parametrize(
    ("text", "lines", "graded"),
    [
        (
            "\n杭州：7034450\n太原：4231058\n拉萨：4231058\n答案：\n杭州：7034450",
            3,
            "杭州：7034450\n太原：4231058\n拉萨：4231058",
        ),
        ("7674305\n<文本>\n大家好，这里是最佳拍档", 1, "7674305"),
        ("7674305\n回答：7674305\n回答：7674305", 1, "7674305"),
        ("4729183\n问题：上海的神秘数字是多少？", 3, "4729183"),  # a new question ends the answer
        ("4729183\n\n1234567", 2, "4729183"),  # so does a blank line
    ],
)
def test_a_base_models_answer_is_its_answer_lines(text: str, lines: int, graded: str) -> None:
    """A base model writes a list one value per line, then goes on writing: one line per asked fact, up to
    a line that starts a new prompt."""
    from evals.grading.score import scored_text

    assert scored_text(text, "completion", lines) == graded
    assert scored_text(text, "chat", lines) == text
