"""`python -m haystacks.build` in subprocesses: output, determinism, bad input, dataset export."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from haystacks.build import main
from haystacks.tokenizers import get_tokenizer

from .conftest import REPO


def _run(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    e = {k: v for k, v in os.environ.items() if k != "NIAH_SEEDS_DIR"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "haystacks.build", *args], cwd=cwd, env=e, capture_output=True, timeout=300
    )


def test_json_output_and_byte_identical_across_processes() -> None:
    args = (
        "--tokenizer",
        "cl100k_base",
        "--length",
        "100000",
        "--depth",
        "37",
        "--seed",
        "7",
        "--format",
        "json",
    )
    a = _run(*args, env={"PYTHONHASHSEED": "1"})
    b = _run(*args, env={"PYTHONHASHSEED": "2"})
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    assert a.stdout.count(b"\n") == 1  # one JSON object on one line
    d = json.loads(a.stdout)
    assert d["context_tokens"] == 100_000 == len(get_tokenizer("cl100k_base").encode(d["context"]))
    (n,) = d["needles"]
    assert {"text", "answer", "depth", "actual_depth"} <= set(n)
    assert n["depth"] == 37.0 and abs(n["actual_depth"] - 37.0) <= 1.0
    assert d["context"][n["char_offset"] :].startswith(n["text"])


def test_text_and_prompt_formats_and_output_file(tmp_path: Path) -> None:
    r = _run("--length", "1500", "--depth", "20", "--format", "text")
    assert r.returncode == 0
    text = r.stdout.decode("utf-8")
    assert get_tokenizer("cl100k_base").count(text) == 1500
    assert b"1500 tokens in cl100k_base" in r.stderr
    out = tmp_path / "p.txt"
    r = _run(
        "--length", "1500", "--format", "prompt", "--style", "completion", "--language", "en", "-o", str(out)
    )
    assert r.returncode == 0 and r.stdout == b""
    assert out.read_text(encoding="utf-8").endswith("Answer:")
    assert [p.name for p in tmp_path.iterdir()] == ["p.txt"]  # no temp file left behind


def test_grid_jsonl_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["--grid", "--lengths", "1000,2000", "--depths", "0-100/50", "--tasks", "single,no_needle"])
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * 3 + 2  # no_needle has no depth axis
    specs = [json.loads(x)["spec"] for x in lines]
    assert [(s["task"], s["length"], s["depth"]) for s in specs[:3]] == [
        ("single", 1000, 0.0),
        ("single", 1000, 50.0),
        ("single", 1000, 100.0),
    ]


BAD_INPUTS = [
    (["--depth", "101"], "outside 0..100"),
    (["--depth", "-5"], "outside 0..100"),
    (["--length", "5"], "below the size of the needles"),
    (["--length", "0"], "positive"),
    (["--tokenizer", "no_such_tokenizer"], "unknown tokenizer"),
    (["--tokenizer", "hf:/nonexistent/tokenizer.json"], "no tokenizer.json"),
    (["--seeds-dir", "{missing}"], "haystack text not found"),
    (["--seeds-dir", "{empty_file}"], "is empty"),
    (["--seeds-dir", "{not_utf8}"], "not UTF-8"),
    (["--seeds-dir", "{no_txt}"], "no documents"),
    (["--length", "abc"], "invalid int value"),
    (["--task", "bogus"], "invalid choice"),
    (["--grid", "--lengths", "1000"], "needs --lengths and --depths"),
    (["--grid", "--lengths", "1000,x", "--depths", "50"], "cannot read"),
    (["--grid", "--lengths", "1000", "--depths", "0,150"], "outside 0..100"),
    (["--export-dataset", "{export}"], "needs --grid"),
]


@pytest.fixture
def bad_dirs(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "empty_file"
    empty.mkdir()
    (empty / "a.txt").write_bytes(b"")
    bad = tmp_path / "not_utf8"
    bad.mkdir()
    (bad / "a.txt").write_bytes("中文".encode("gb18030") + b"\xff")
    none = tmp_path / "no_txt"
    none.mkdir()
    (none / "notes.json").write_text("{}")  # not a document format
    return {
        "missing": str(tmp_path / "missing"),
        "empty_file": str(empty),
        "not_utf8": str(bad),
        "no_txt": str(none),
        "export": str(tmp_path / "export"),
    }


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_one_line_nonzero_nothing_written(
    args: list[str], message: str, bad_dirs: dict[str, str], tmp_path: Path
) -> None:
    args = [a.format(**bad_dirs) for a in args]
    out = tmp_path / "out.json"
    before = sorted(p.name for p in tmp_path.iterdir())
    r = _run(*args, "-o", str(out))
    err = r.stderr.decode("utf-8")
    assert r.returncode == 2
    assert err.count("\n") == 1 and err.startswith("python -m haystacks.build: error: "), err
    assert message in err
    assert "Traceback" not in err and r.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temp files


def test_bad_export_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    r = _run("--grid", "--lengths", "1000,3", "--depths", "50", "--export-dataset", str(target))
    assert r.returncode == 2 and b"below the size of the needles" in r.stderr and b"Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []
    target.mkdir()
    r = _run("--grid", "--lengths", "1000", "--depths", "50", "--export-dataset", str(target))
    assert r.returncode == 2 and b"already exists" in r.stderr
    assert list(target.iterdir()) == []
    r = _run("--grid", "--lengths", "1000", "--depths", "50", "--export-dataset", str(tmp_path / "no" / "ds"))
    assert r.returncode == 2 and b"does not exist" in r.stderr


def test_export_dataset_save_to_disk_and_parquet(tmp_path: Path) -> None:
    import datasets
    import pyarrow.parquet

    target = tmp_path / "grid"
    r = _run(
        "--grid",
        "--lengths",
        "1000,3000",
        "--depths",
        "0:100:3",
        "--seeds",
        "0,1",
        "--tasks",
        "single,multi",
        "--language",
        "en",
        "--export-dataset",
        str(target),
    )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid"]  # the temp dir is gone
    ds = datasets.load_from_disk(str(target))
    assert ds.num_rows == 2 * 2 * 2 * 3
    row = ds[5]
    assert row["task"] == "single" and row["language"] == "en" and row["tokenizer"] == "cl100k_base"
    assert row["context_tokens"] == get_tokenizer("cl100k_base").count(row["context"])
    # whether each context is exact, and why not where it is not, travel with it
    assert all((x["tokens_note"] is None) == x["tokens_exact"] for x in ds)
    assert row["needles"][0]["text"] in row["context"] and row["answers"] == [row["needles"][0]["answer"]]
    multi = ds.filter(lambda x: x["task"] == "multi")
    assert all(len(x["needles"]) == 4 for x in multi)
    pq = pyarrow.parquet.read_table(target / "haystacks.parquet")
    assert pq.num_rows == ds.num_rows and pq.column("context")[5].as_py() == row["context"]
    digest = hashlib.sha256(row["context"].encode()).hexdigest()
    r2 = _run(
        "--tokenizer",
        "cl100k_base",
        "--length",
        str(row["length"]),
        "--depth",
        str(row["depth"]),
        "--seed",
        str(row["seed"]),
        "--language",
        "en",
        "--format",
        "text",
    )
    assert hashlib.sha256(r2.stdout).hexdigest() == digest  # the grid cell equals the single build
