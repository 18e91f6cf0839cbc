"""The typed answer key, grade detail and identity inputs write the JSON the dicts before them wrote, byte
for byte, read every older file as before, and keep the run identity (an old run directory resumes into
itself)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from evals.config import build_config
from evals.planning.grid import resolve_grid
from evals.planning.identity import identity_inputs, plan_identity
from evals.store.record import IdentityInputs, ResultRecord, parse_header, parse_record
from evals.store.results import ReadStats, read_records
from evals.store.rows import export_row
from haystacks.answer_key import AnswerKey, Fact, ScoreDetail

DATA = Path(__file__).resolve().parents[2] / "data"
SHAPES = DATA / "record_shapes"
ROUND2 = DATA / "round2_runs" / "runs"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))  # as ResultsStore.append writes a line


def _make_records() -> Any:
    spec = importlib.util.spec_from_file_location("make_records", SHAPES / "make_records.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.records


@pytest.mark.parametrize("key_as", ["key", "dict"])
def test_records_write_the_bytes_the_dicts_wrote(key_as: str) -> None:
    """Every task, both languages, found/abstained/decoy/cut answers: the lines written before the fields were
    typed (``results_main.jsonl``), byte for byte, whether the record is given the key or its dict."""
    records = _make_records()
    lines = list(records((lambda k: k) if key_as == "key" else (lambda k: k.to_dict())))
    old = (SHAPES / "results_main.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(old) == 240
    assert lines == old
    tasks = {json.loads(line)["task"] for line in old}
    assert {"single", "multi", "no_needle", "changed_line", "associative", "aggregate"} <= tasks


def test_round2_answer_keys_and_details_write_back_as_written() -> None:
    n = 0
    for path in sorted(ROUND2.glob("*/results.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            out = parse_record(obj).to_json()
            for name in ("answer_key", "score_detail"):
                assert _dumps(out[name]) == _dumps(obj[name]), (path, name)
            n += 1
    assert n == 80


def test_round2_identity_inputs_write_back_and_hash_as_recorded() -> None:
    for path in sorted(ROUND2.glob("*/header.json")):
        obj = json.loads(path.read_text(encoding="utf-8"))
        header = parse_header(obj)
        assert isinstance(header.identity_inputs, IdentityInputs)
        assert _dumps(header.to_json()["identity_inputs"]) == _dumps(obj["identity_inputs"])
        assert plan_identity(header.identity_inputs) == obj["run_identity"], path


# Computed before the inputs were typed (``identity_inputs`` returned a dict). The first two follow the task,
# prompt and grading versions: bumping one of those rightly changes every identity (update the pin with it).
# Updated for GRADING_VERSION 4 (postfix conclusions, corrections after a refusal, "No:", Chinese decimals).
PINNED = [
    ({"model": "gpt-4o"}, "26591b8ea70399ca0ca32ce5e688c3e308521a8309b4070c7b9f1c9e90269346"),
    (
        {
            "model": "gemma-3-270m",
            "tasks": "single,multi,aggregate",
            "depths": "0,12.5,100",
            "temperature": 0.7,
            "seeds": "0,1",
        },
        "8915d5875c1f213868a7841d79189eae6adf860a081ff7809e27c060da5bb6e3",
    ),
]


@pytest.mark.parametrize(("options", "identity"), PINNED)
def test_run_identity_is_pinned(options: dict[str, Any], identity: str) -> None:
    cfg = build_config(None, options)
    inputs = identity_inputs(cfg, resolve_grid(cfg), model_id="gpt-4o-2024-08-06", corpus_sha256="c0")
    assert plan_identity(inputs) == identity


def test_identity_of_fixed_inputs_is_pinned() -> None:
    """Independent of every version constant: the same inputs, the same hash as the dict gave."""
    raw = {
        "settings": {"model": "gpt-4o", "language": "zh", "tasks": ["single"], "temperature": 0.0},
        "model_id": "gpt-4o-2024-08-06",
        "grid": {
            "lengths": [1000, 2000],
            "depths": [0.0, 50.0],
            "tasks": ["single"],
            "seeds": [0],
            "language": "zh",
        },
        "corpus_sha256": "c0",
        "tasks": {"single": {"version": 2}},
        "prompt_template": 1,
        "grading": 3,
    }
    inputs = IdentityInputs.model_validate(raw)
    assert _dumps(inputs.to_json()) == _dumps(raw)
    assert plan_identity(inputs) == "3d60e27ac70a516d3d2a2ac07151716ad33d81e58cdf560c6c45d071ece38083"


def test_old_details_read_and_write_back_with_their_keys() -> None:
    old = {"found": ["1"], "missed": [], "abstained": False, "hallucinated": True, "located": None}
    d = ScoreDetail.model_validate(old)
    assert d.outcome is None and d.misbound is None and d.hallucinated is True and d.found == ("1",)
    assert _dumps(d.model_dump(mode="json")) == _dumps(old)  # no keys added, the explicit null kept
    rec = ResultRecord(cell_id="c", model="m", task="single", length=1, depth=0, score_detail=old)
    assert rec.hallucinated is None  # not graded
    rec = rec.model_copy(update={"status": "ok", "score": 0.0})
    assert rec.hallucinated is True
    row = export_row(rec, "run")
    assert row["score_found"] == ["1"] and row["score_hallucinated"] is True
    assert row["score_detail_json"] == json.dumps(old, ensure_ascii=False, sort_keys=True)


def test_null_key_and_detail_read() -> None:
    rec = parse_record(
        {"cell_id": "c", "model": "m", "task": "single", "length": 1, "depth": 0, "status": "error"}
        | {"answer_key": None, "score_detail": None}
    )
    assert rec.answer_key is None and rec.score_detail is None and rec.hallucinated is None
    assert rec.to_json()["answer_key"] is None and rec.to_json()["score_detail"] is None


def test_grade_detail_keeps_located_out_unless_known_and_extras_last() -> None:
    d = ScoreDetail(outcome="found", found=("1",), abstained=False, lexical_overlap=0.5)
    assert list(d.model_dump(mode="json")) == ["outcome", "found", "abstained", "lexical_overlap"]
    assert d.lexical_overlap == 0.5  # type: ignore[attr-defined]


def test_damaged_detail_is_one_damaged_line(tmp_path: Path) -> None:
    """A score_detail of the wrong shape makes its line damaged under the store's one rule: skipped with the
    field named; the lines around it read."""
    good = {"cell_id": "a", "model": "m", "task": "single", "length": 1, "depth": 0, "status": "error"}
    bad = good | {"cell_id": "b", "score_detail": {"found": {"not": "a list"}}}
    no_task = good | {"cell_id": "d", "answer_key": {"language": "en", "expected": [{"answer": "1"}]}}
    path = tmp_path / "results.jsonl"
    lines = (good, bad, good | {"cell_id": "c"}, no_task)
    path.write_text("".join(_dumps(o) + "\n" for o in lines), encoding="utf-8")
    stats = ReadStats()
    assert [r.cell_id for r in read_records(path, stats)] == ["a", "c"]
    assert stats.skipped == 2
    assert "score_detail.found" in stats.problems[0] and "answer_key.task" in stats.problems[1]
    with pytest.raises(TypeError, match="at most 4 positional"):
        Fact("k", "a", "", (), "extra")
    # what older writers could leave is read leniently: numbers for text
    assert ScoreDetail.model_validate({"found": [1234]}).found == ("1234",)


def test_answer_key_reads_as_it_always_read() -> None:
    k = AnswerKey.from_dict(
        {
            "task": "single",
            "language": None,
            "expected": [{"key": "k", "answer": 7, "label": None}],
            "absent": {},
        }
        | {"params": {"b": 1, "a": 2}}
    )
    assert k == AnswerKey("single", "zh", "", expected=(Fact("k", "7"),), params=(("a", 2), ("b", 1)))
    assert hash(k) == hash(AnswerKey.from_dict(k.to_dict()))
    assert k.param("a") == 2 and k.expected[0].forms() == ("7",)
    assert list(k.to_dict()) == [
        "task",
        "language",
        "question",
        "expected",
        "decoys",
        "absent",
        "changed_sentence",
        "params",
    ]
    assert k.to_dict()["expected"] == [{"key": "k", "answer": "7", "label": "", "accept": []}]
    with pytest.raises(ValueError):
        AnswerKey.from_dict({"language": "en"})  # no task
    with pytest.raises(ValueError):  # frozen
        k.task = "multi"  # type: ignore[misc]
