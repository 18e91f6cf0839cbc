"""Comments and docs that tell the truth today: every dotted name of the project (``evals.store.load``,
``providers.doors.call_cost``, ``haystacks.tasks.AnswerKey.param``) and every project file path
(``evals/store/rows.py``) written in a docstring, a comment, the README or docs/ resolves to something that
exists. A module moved or a function renamed leaves no stale reference behind (the kind of comment that
names "the one pricing function" after it moved)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("haystacks", "providers", "evals")
DOTTED = re.compile(r"(?<![\w./-])((?:haystacks|providers|evals)(?:\.[A-Za-z_]\w*)+)")
#: Names that look like the project's but are file names (``haystacks.parquet``, the export's file).
FILE_SUFFIXES = ("parquet", "json", "jsonl", "toml", "md", "txt", "html", "png", "py")
#: Paths in the docs that are examples, not files (the recipe's new door; "tests/benchmarks only").
EXAMPLES = {"providers/doors/acme", "tests/benchmarks"}
PATH = re.compile(r"(?<![\w./-])((?:haystacks|providers|evals|tests|benchmarks|docs)/[\w./-]*\w)")


def sources() -> list[Path]:
    files = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    files += sorted((ROOT / "benchmarks").glob("*.py")) + sorted((ROOT / "docs").glob("*.md"))
    return [*files, ROOT / "README.md"]


def resolves(name: str) -> bool:
    """Whether ``a.b.c`` names a module, or an attribute (or a pydantic field) under the longest module."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if hasattr(obj, attr):
                obj = getattr(obj, attr)
            elif attr in (getattr(obj, "model_fields", None) or {}):
                return True  # a pydantic field: the rest names its value
            else:
                fields = {*getattr(obj, "__dataclass_fields__", {}), *getattr(obj, "__annotations__", {})}
                return attr in fields
        return True
    return False


def references(path: Path) -> list[tuple[int, str, str]]:
    out = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if path.suffix == ".py" and line.lstrip().startswith(("import ", "from ")):
            continue  # imports are checked by running them
        for m in DOTTED.finditer(line):
            out.append((no, "name", m.group(1).rstrip(".")))
        for m in PATH.finditer(line):
            out.append((no, "path", m.group(1).rstrip(".")))
    return out


def stale(path: Path) -> list[str]:
    bad = []
    for no, kind, ref in references(path):
        if kind == "path":
            target = ROOT / ref
            exists = target.exists() or target.with_suffix("").exists()
            if exists or ref in EXAMPLES or "*" in ref or "<" in ref:
                continue
        elif ref.rsplit(".", 1)[-1] in FILE_SUFFIXES or resolves(ref):
            continue
        bad.append(f"{path.relative_to(ROOT)}:{no}: {ref}")
    return bad


def test_the_checker_tells_a_stale_name_from_a_live_one() -> None:
    assert resolves("evals.store.load") and resolves("providers.doors.call_cost")
    assert resolves("haystacks.tasks.AnswerKey.param") and resolves("evals.store.record.ResultRecord.score")
    assert not resolves("evals.runner") and not resolves("evals.plan.record_cost")
    assert not resolves("evals.store.record.ResultRecord.no_such_field")


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_stale_reference(path: Path) -> None:
    assert stale(path) == []
