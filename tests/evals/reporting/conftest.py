"""Fixtures that fabricate run directories (header.json + results.jsonl): typed records and headers of
:mod:`evals.store.record`, written with their own ``to_json`` so the fixtures cannot drift from the schema
(raw dicts only for the schema-1 and damaged-line tests)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from evals.store.record import NeedleRecord, ResultRecord, RunHeader, UsageRecord
from evals.store.results import cell_id

Outcome = tuple[str, float | None, str]  # (status, score, answer)


def _outcome(task: str, status: str, score: float | None, hallucinated: bool) -> str | None:
    if status != "ok" or score is None:
        return None
    if hallucinated:
        return "hallucinated"
    if task == "no_needle":  # the fixture's stand-in for the task's grade, not report code
        return "abstained" if score >= 1 else "wrong_format"
    return "found" if score >= 1 else ("partial" if score > 0 else "wrong")


def make_record(
    model: str,
    task: str,
    length: int,
    depth: float,
    seed: int = 0,
    *,
    status: str = "ok",
    score: float | None = 1.0,
    answer: str = "4729183。",
    language: str = "zh",
    cost: float | None = 0.001,
    prompt_tokens: int | None = None,
    hallucinated: bool = False,
    error: str | None = None,
    outcome: str | None = None,
    kind: str = "cell",
    **fields: Any,
) -> ResultRecord:
    """One typed result record (:class:`evals.store.record.ResultRecord`); ``fields`` set any other field."""
    ok = status == "ok"
    needles = (
        []
        if task == "no_needle" or kind == "closed_book"
        else [
            NeedleRecord(
                kind="needle",
                key="上海的神秘数字",
                answer="4729183",
                depth=depth,
                actual_depth=depth,
                text="上海的神秘数字是4729183。",
            )
        ]
    )
    pt = prompt_tokens if prompt_tokens is not None else length + 53
    values: dict[str, Any] = {
        "cell_id": cell_id(
            model + ("#closed" if kind == "closed_book" else ""), task, language, length, depth, seed
        ),
        "kind": kind,
        "model": model,
        "provider": "local",
        "task": task,
        "language": language,
        "length": length,
        "depth": depth,
        "seed": seed,
        "needles": needles,
        "expected": [] if task == "no_needle" else ["4729183"],
        "target_tokens": length,
        "context_tokens": length,
        "prompt_tokens": pt,
        "prompt_tokens_source": "provider",
        "tokens_exact": True,
        "input_sha256": hashlib.sha256(
            f"{model}{task}{length}{depth}{seed}{language}{kind}".encode()
        ).hexdigest(),
        "status": status,
        "stop_reason": "stop" if ok else ("model_length" if status == "model_length" else None),
        "answer": answer if status in ("ok", "truncated") else None,
        "score": score if ok else None,
        "outcome": outcome if outcome is not None else _outcome(task, status, score, hallucinated),
        "score_detail": {"found": [], "missed": [], "abstained": False, "hallucinated": hallucinated}
        if ok
        else None,
        "error": error if status == "error" else None,
        "latency_s": 0.5,
        "attempts": 1,
        "usage": UsageRecord(input_tokens=pt, output_tokens=8, cached_input_tokens=0) if ok else None,
        "cost_usd": cost if ok else None,
        "timestamp": "2026-11-22T23:00:00Z",
    }
    values.update(fields)
    return ResultRecord(**values)


def legacy_record(
    model: str, task: str, length: int, depth: float, seed: int = 0, **kw: Any
) -> dict[str, Any]:
    """A schema-1 line as the first release wrote it (no ``outcome``, ``kind`` or ``truncated``)."""
    obj = make_record(model, task, length, depth, seed, **kw).to_json()
    for key in ("outcome", "kind", "answer_key", "task_params", "max_tokens", "run_identity"):
        obj.pop(key, None)
    obj["schema_version"] = 1
    return obj


def write_run(
    run_dir: Path,
    records: Sequence[ResultRecord | dict[str, Any]],
    *,
    model: str = "m",
    lengths: Sequence[int] = (),
    depths: Sequence[float] = (),
    tasks: Sequence[str] = ("single",),
    header: bool = True,
    extra_lines: Sequence[str] = (),
    torn_tail: str | None = None,
) -> Path:
    """Write a run directory: header.json and results.jsonl (plus raw extra lines / a torn tail)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if header:
        head = {
            "schema_version": 2,
            "suite_version": "0.1.0",
            "git_commit": "abc123def4567890",
            "created": "2026-11-22T22:00:00Z",
            "config": {"model": model, "lengths": list(lengths), "depths": list(depths)},
            "model": {"alias": model, "provider": "local", "model_id": f"{model}-id"},
            "tokenizer": "cl100k_base",
            "tokens_exact": True,
            "corpus_sha256": "0" * 64,
            "packages": {},
            "grid": {"lengths": list(lengths), "depths": list(depths), "tasks": list(tasks), "seeds": [0]},
        }
        (run_dir / "header.json").write_text(json.dumps(RunHeader(**head).to_json()), encoding="utf-8")
    objs = [r.to_json() if isinstance(r, ResultRecord) else r for r in records]  # dicts: raw (legacy, broken)
    lines = [json.dumps(o, ensure_ascii=False) for o in objs] + list(extra_lines)
    text = "".join(line + "\n" for line in lines)
    if torn_tail is not None:
        text += torn_tail
    (run_dir / "results.jsonl").write_text(text, encoding="utf-8")
    return run_dir


def grid_run(
    run_dir: Path,
    model: str,
    lengths: Sequence[int],
    depths: Sequence[float],
    *,
    tasks: Sequence[str] = ("single",),
    seeds: Sequence[int] = (0,),
    outcome: Callable[[str, int, float, int], Outcome] | None = None,
    **kwargs: Any,
) -> Path:
    """A full grid run; ``outcome(task, length, depth, seed)`` gives (status, score, answer)."""
    records = []
    for task in tasks:
        for length in lengths:
            for depth in depths:
                for seed in seeds:
                    status, score, answer = (
                        outcome(task, length, depth, seed) if outcome else ("ok", 1.0, "4729183")
                    )
                    records.append(
                        make_record(
                            model,
                            task,
                            length,
                            depth,
                            seed,
                            status=status,
                            score=score,
                            answer=answer,
                            error="ServerError: HTTP 503" if status == "error" else None,
                        )
                    )
    return write_run(run_dir, records, model=model, lengths=lengths, depths=depths, tasks=tasks, **kwargs)


@pytest.fixture(autouse=True)
def _pinned_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
