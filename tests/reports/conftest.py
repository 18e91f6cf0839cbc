"""Fixtures that fabricate run directories (header.json + results.jsonl) in the results schema."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from evals.results import cell_id

Outcome = tuple[str, float | None, str]  # (status, score, answer)


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
) -> dict[str, Any]:
    """One results.jsonl record following docs/ARCHITECTURE.md."""
    ok = status == "ok"
    needles = (
        []
        if task == "no_needle"
        else [
            {
                "kind": "needle",
                "key": "上海的神秘数字",
                "answer": "4729183",
                "depth": depth,
                "actual_depth": depth,
                "text": "上海的神秘数字是4729183。",
            }
        ]
    )
    pt = prompt_tokens if prompt_tokens is not None else length + 53
    return {
        "schema_version": 1,
        "cell_id": cell_id(model, task, language, length, depth, seed),
        "model": model,
        "provider": "local",
        "task": task,
        "language": language,
        "length": length,
        "depth": depth,
        "seed": seed,
        "needles": needles,
        "target_tokens": length,
        "context_tokens": length,
        "prompt_tokens": pt,
        "prompt_tokens_source": "provider",
        "tokens_exact": True,
        "input_sha256": hashlib.sha256(f"{model}{task}{length}{depth}{seed}{language}".encode()).hexdigest(),
        "status": status,
        "stop_reason": "stop" if ok else ("model_length" if status == "model_length" else None),
        "answer": answer if ok else None,
        "score": score if ok else None,
        "score_detail": {"found": [], "missed": [], "abstained": False, "hallucinated": hallucinated}
        if ok
        else None,
        "judge": None,
        "error": error if status == "error" else None,
        "latency_s": 0.5,
        "attempts": 1,
        "usage": {"input_tokens": pt, "output_tokens": 8, "cached_input_tokens": 0} if ok else None,
        "cost_usd": cost if ok else None,
        "timestamp": "2026-11-22T23:00:00Z",
    }


def write_run(
    run_dir: Path,
    records: Sequence[dict[str, Any]],
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
            "schema_version": 1,
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
        (run_dir / "header.json").write_text(json.dumps(head), encoding="utf-8")
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + list(extra_lines)
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
