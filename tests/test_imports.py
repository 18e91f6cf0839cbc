"""No import cycles among the project's modules.

Every ``import`` statement of ``haystacks``, ``providers`` and ``evals`` is read with :mod:`ast` — at module
level, inside functions and under ``if TYPE_CHECKING:`` alike — and resolved to the project module it names
(``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``). The implicit
import of a parent package (``import a.b`` runs ``a/__init__.py``) is not an edge: a package's ``__init__``
re-exporting its submodules is not a cycle. The graph's strongly connected components must all be single
modules that do not import themselves.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("haystacks", "providers", "evals")
#: Cycles still present, each with the reason it is left (sets of module names). Keep this short.
KNOWN_CYCLES: dict[frozenset[str], str] = {}


def project_modules() -> dict[str, Path]:
    """Module name -> file, for every ``.py`` file of the packages."""
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path, known: set[str]) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                while name and name not in known:  # ``import a.b.c`` of a non-module attribute path
                    name = name.rpartition(".")[0]
                if name:
                    yield name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                if node.level > 1:
                    base_parts = base_parts[: -(node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in known:
                    yield full
                elif base in known:
                    yield base


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (anywhere in its source)."""
    modules = project_modules()
    known = set(modules)
    return {m: set(_imports(m, p, known)) for m, p in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with a cycle (Tarjan), each as a set of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[frozenset[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _path(graph: dict[str, set[str]], comp: frozenset[str]) -> str:
    """One cycle through ``comp``, for the failure message."""
    start = min(comp)
    seen = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v] & comp):
            if w == start:
                return " -> ".join([*seen[v], start])
            if w not in seen:
                seen[w] = [*seen[v], w]
                todo.append(w)
    return ", ".join(sorted(comp))


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert "providers.errors" in graph["providers.base"]  # module level
    assert "providers.entry" in graph["providers.base"]  # under TYPE_CHECKING
    assert "providers.doors.openai.adapter" in graph["providers.doors.openai"]  # inside a function
    assert "haystacks.tasks" in graph["evals.execution.sizing"]  # inside a method


def test_cycle_finder_finds_a_cycle() -> None:
    toy = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert set(cycles(toy)) == {frozenset("abc"), frozenset("e")}
    assert _path(toy, frozenset("abc")) == "a -> b -> c -> a"


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    unexpected = [c for c in found if c not in KNOWN_CYCLES]
    assert not unexpected, "import cycles: " + "; ".join(_path(graph, c) for c in unexpected)
    stale = [", ".join(sorted(c)) for c in KNOWN_CYCLES if c not in found]
    assert not stale, f"known cycles that are gone (remove them from KNOWN_CYCLES): {stale}"


def _is_fake(module: str) -> bool:
    return (
        module == "providers.mock_server"
        or module.startswith("providers.fakes")
        or module.endswith(".fake")
        or module.endswith("_fake")  # a second fake in a door folder (openai/responses_fake.py)
    )


def test_the_product_never_imports_the_fakes() -> None:
    """The fakes (the harness, each door's fake.py) are for tests and benchmarks: no product module imports
    them, not even inside a function."""
    graph = import_graph()
    offenders = sorted(f"{m} -> {t}" for m, ts in graph.items() if not _is_fake(m) for t in ts if _is_fake(t))
    assert not offenders, offenders


#: The layers of ``evals``, lowest first: a module may import its own layer and the ones below, never above.
#: The shared base (config, errors, stats) < the store < grading < planning < execution < reporting < the
#: command lines (the top-level modules ``evals.run``, ``evals.report``, ``evals.agreement``,
#: ``evals.models``).
EVALS_LAYERS: tuple[tuple[str, ...], ...] = (
    ("evals", "evals.config", "evals.errors", "evals.stats"),
    ("evals.store",),
    ("evals.grading",),
    ("evals.planning",),
    ("evals.execution",),
    ("evals.reporting",),
    ("evals.run", "evals.report", "evals.agreement", "evals.models"),
)


def evals_layer(module: str) -> int | None:
    """The layer of an ``evals`` module (None: not in ``evals``)."""
    best: tuple[int, int] | None = None
    for i, names in enumerate(EVALS_LAYERS):
        for name in names:
            inside = module == name or module.startswith(name + ".")
            if inside and (best is None or len(name) > best[1]):
                best = (i, len(name))
    return None if best is None else best[0]


def test_every_evals_module_has_a_layer() -> None:
    graph = import_graph()
    assert [m for m in graph if m.startswith("evals") and evals_layer(m) is None] == []
    assert evals_layer("evals.store.record") == 1 and evals_layer("evals.report") == 6
    assert evals_layer("evals.reporting.data") == 5 and evals_layer("evals") == 0


def test_evals_imports_only_downwards() -> None:
    """``evals`` is split by job into layers (docs/ARCHITECTURE.md, "where a change goes"): a module never
    imports one of a higher layer, so each subpackage can be read knowing only those below it."""
    graph = import_graph()
    upward = sorted(
        f"{m} -> {t}"
        for m, ts in graph.items()
        if (lm := evals_layer(m)) is not None
        for t in ts
        if (lt := evals_layer(t)) is not None and lt > lm
    )
    assert upward == []
