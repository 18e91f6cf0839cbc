"""Mutation testing of the graders, by hand (not in CI): does the test suite notice a changed grader?

Run by hand:  python benchmarks/mutation_grading.py [--modules haystacks.reading,...] [--limit N]
              [--sample N --seed S] [--timeout 10] [--survivors FILE]

mutmut (3.8) was tried first: on this 2-core machine it generated 4,811 mutants and ran about one a minute
(each mutant re-imports the package and runs pytest on the corpus test), so this script does the same job
in-process. Like mutmut 3 it mutates the bodies of functions and methods (module-level tables and
regexes are data, not mutated): comparison operators (``<``/``<=``, ``==``/``!=``, ``in``/``not in``,
``is``/``is not``), boolean operators (``and``/``or``), ``not`` dropped, arithmetic operators, integer and
float constants (+1), ``True``/``False`` swapped, string constants changed (``"XX" + s + "XX"``), ``break``
/``continue`` swapped, and a ``return`` value replaced by ``None``. Each mutant replaces the function's
code object and default values in place (every importer sees them) and is run against the tests' own
oracles, fastest first:
the crafted table of ``tests/haystacks/test_reading.py`` (every case, every unit table there), the rule
tables of ``tests/haystacks/test_grading_rules.py``, the whole readings (committed values, decoys stated, cut
answers) of ``tests/haystacks/test_grade_details.py``, the answer budgets of
``tests/haystacks/test_completion_budget.py``, the graders' tables of
``tests/haystacks/test_tasks.py`` and ``tests/evals/grading/test_score.py``, then the labelled corpus
(``answers/*.jsonl``, agreement must stay ≥ 99 %). A mutant is *killed* when any oracle fails, raises or
runs past ``--timeout`` seconds; *survived* otherwise. The kill rate and every survivor (module, line,
mutation) are printed.

A survivor that cannot change any result (an *equivalent* mutant) is listed, with the reason a reviewer can
check, in ``benchmarks/mutation_equivalent.txt`` (``label  # reason``, one a line); such survivors are
reported apart and the kill rate is ``killed / (run - equivalent)``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import importlib
import inspect
import random
import signal
import sys
import textwrap
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EQUIVALENT = REPO / "benchmarks" / "mutation_equivalent.txt"
sys.path.insert(0, str(REPO))

MODULES = (
    "haystacks.reading",
    "haystacks.grading",
    "haystacks.tasks.base",
    "haystacks.tasks.magic",
    "haystacks.tasks.changed_line",
    "haystacks.tasks.custom",
    "haystacks.tasks.associative",
    "haystacks.tasks.chain",
    "haystacks.tasks.aggregate",
    "haystacks.tasks.ordered",
    "haystacks.tasks.topical",
)
#: Functions that are no grading (plans, CLI options, file loading): not mutated.
SKIP = {"plan", "cell_params", "example_options", "needle_depths", "n_distractors", "question", "hops", "k",
        "identity", "check_cell", "item_count", "check_depths", "rng", "check_seed", "family", "draw_code",
        "check_custom_needles", "load_needles_file", "custom_needles", "needles_of", "compute", "zh_number",
        "_render", "_tables", "content_tokens", "lexical_overlap", "_fold", "ordinal", "answer_budget",
        "to_dict", "from_dict", "forms", "param", "detail", "stated_numbers", "register"}  # fmt: skip

_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
        ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot,
        ast.IsNot: ast.Is}  # fmt: skip
_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
        ast.Mod: ast.Mult}  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    """One mutation: where (module, function, line) and what."""

    module: str
    qualname: str
    line: int
    what: str
    index: int  # which mutable node of the function (in ast.walk order)


def _sites(fn: ast.AST) -> Iterator[tuple[int, ast.AST, str]]:
    """Every mutable node of a function body, with a description, in ast.walk order (its index)."""
    for i, node in enumerate(ast.walk(fn)):
        if isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) in _CMP:
                    yield i, node, f"{type(op).__name__} -> {_CMP[type(op)].__name__}"
                    break
        elif isinstance(node, ast.BoolOp):
            yield i, node, f"{type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield i, node, "drop not"
        elif isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            yield i, node, f"{type(node.op).__name__} -> {_BIN[type(node.op)].__name__}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield i, node, f"{node.value} -> {not node.value}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            yield i, node, f"{node.value!r} -> {node.value + 1!r}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
            yield i, node, f"string {node.value[:20]!r} changed"
        elif isinstance(node, ast.Break):
            yield i, node, "break -> continue"
        elif isinstance(node, ast.Continue):
            yield i, node, "continue -> break"
        elif isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
            yield i, node, "return value -> None"  # (``return None`` itself would be no mutant)


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _mutate(node: ast.AST) -> ast.AST | None:
    """The mutated copy of one node (None: leave it)."""
    n = copy.copy(node)
    if isinstance(n, ast.Compare):
        ops = list(n.ops)
        k = next(j for j, op in enumerate(ops) if type(op) in _CMP)
        ops[k] = _CMP[type(ops[k])]()
        n.ops = ops
    elif isinstance(n, ast.BoolOp):
        n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()
    elif isinstance(n, ast.UnaryOp):
        return n.operand
    elif isinstance(n, ast.BinOp):
        n.op = _BIN[type(n.op)]()
    elif isinstance(n, ast.Constant) and isinstance(n.value, bool):
        n.value = not n.value
    elif isinstance(n, ast.Constant) and isinstance(n.value, (int, float)):
        n.value = n.value + 1
    elif isinstance(n, ast.Constant) and isinstance(n.value, str):
        n.value = "XX" + n.value + "XX"
    elif isinstance(n, ast.Break):
        return ast.Continue()
    elif isinstance(n, ast.Continue):
        return ast.Break()
    elif isinstance(n, ast.Return):
        n.value = ast.Constant(None)
    return n


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST) -> None:
        self.target = target

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            out = _mutate(node)
            return ast.copy_location(out, node) if out is not None else node
        return super().visit(node)


def _functions(module: types.ModuleType) -> Iterator[tuple[str, Callable[..., object]]]:
    """Every function and method defined in the module (not imported), by qualified name."""
    for name, obj in vars(module).items():
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and name not in SKIP:
            yield name, obj
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            for mname, m in vars(obj).items():
                if inspect.isfunction(m) and mname not in SKIP:
                    yield f"{name}.{mname}", m
                elif isinstance(m, property) and m.fget is not None:
                    yield f"{name}.{mname}", m.fget


def _parse(fn: Callable[..., object]) -> ast.FunctionDef:
    src = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(src)
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    node.decorator_list = []
    ast.increment_lineno(tree, fn.__code__.co_firstlineno - 1)
    return node


def mutants(modules: tuple[str, ...]) -> list[tuple[Mutant, Callable[..., object]]]:
    """Every mutant of every function of the modules."""
    out = []
    for name in modules:
        mod = importlib.import_module(name)
        for qual, fn in _functions(mod):
            if fn.__code__.co_filename != mod.__file__:
                continue  # generated (dataclass __init__, __eq__...)
            try:
                tree = _parse(fn)
            except (OSError, TypeError):
                continue
            for i, node, what in _sites(tree):
                if tree.body and isinstance(tree.body[0], ast.Expr) and node is tree.body[0].value:
                    continue  # the docstring
                out.append((Mutant(name, qual, getattr(node, "lineno", tree.lineno), what, i), fn))
    return out


@contextlib.contextmanager
def applied(m: Mutant, fn: Callable[..., object]) -> Iterator[bool]:
    """Swap the function's code for the mutant's (yields False when it cannot be compiled alike)."""
    tree = _parse(fn)
    target = next(n for j, n in enumerate(ast.walk(tree)) if j == m.index)
    new = _Replace(target).visit(tree)
    ast.fix_missing_locations(new)
    module = ast.Module(body=[new], type_ignores=[])
    ns: dict[str, object] = {}
    glb = fn.__globals__
    try:
        code = compile(module, fn.__code__.co_filename, "exec")
        exec(code, dict(glb), ns)
        mutated = ns[tree.name]
        new_code = mutated.__code__  # type: ignore[attr-defined]
        if new_code.co_freevars != fn.__code__.co_freevars:
            yield False
            return
    except (SyntaxError, ValueError, TypeError):
        yield False
        return
    old = fn.__code__, fn.__defaults__, fn.__kwdefaults__
    # a default value lives on the function, not in its code: a mutated default is swapped in too
    fn.__code__, fn.__defaults__, fn.__kwdefaults__ = (
        new_code,
        mutated.__defaults__,  # type: ignore[attr-defined]
        mutated.__kwdefaults__,  # type: ignore[attr-defined]
    )
    try:
        yield True
    finally:
        fn.__code__, fn.__defaults__, fn.__kwdefaults__ = old


class _Timeout(Exception):
    pass


def _alarm(_sig: int, _frame: object) -> None:
    raise _Timeout


def oracles() -> list[Callable[[], bool]]:
    """The test suite's assertions, cheapest first; each returns True when it passes."""
    import pytest  # noqa: F401  (the test modules import it)

    from evals.grading.agreement import load_corpus
    from haystacks.tasks import AnswerKey, get_task
    from tests.haystacks import test_reading as tr

    def crafted() -> bool:
        for _b, key, answer, score, outcome in tr.CASES:
            k = AnswerKey.from_dict(tr.KEYS[key])
            g = get_task(k.task).grade(answer, k)
            if (round(g.score, 4), g.outcome) != (round(score, 4), outcome):
                return False
        return True

    def tables() -> bool:
        return _run_module_tests("tests.haystacks.test_reading", skip={"test_crafted_answers"})

    def task_tables() -> bool:
        return (
            _run_module_tests("tests.haystacks.test_grading_rules")
            and _run_module_tests(
                "tests.haystacks.test_tasks", only=lambda n: "grade" in n or n == "test_ordinals"
            )
            and _run_module_tests("tests.evals.grading.test_score")
            and _run_module_tests("tests.haystacks.test_grade_details")
            and _run_module_tests("tests.haystacks.test_completion_budget")
        )

    def corpus() -> bool:
        lines = load_corpus()
        return sum(x.agrees for x in lines) >= 0.99 * len(lines)

    return [crafted, tables, task_tables, corpus]


def _run_module_tests(
    name: str, skip: set[str] = frozenset(), only: Callable[[str], bool] | None = None
) -> bool:
    """Run a test module's test functions, parametrized ones over their parameter lists."""
    mod = importlib.import_module(name)
    for fname, fn in vars(mod).items():
        if not fname.startswith("test_") or not inspect.isfunction(fn) or fname in skip:
            continue
        if only is not None and not only(fname):
            continue
        marks = getattr(fn, "pytestmark", [])
        params = [mk for mk in marks if mk.name == "parametrize"]
        sig = inspect.signature(fn)
        if any(p not in {a for mk in params for a in _argnames(mk)} for p in sig.parameters):
            continue  # needs fixtures: left to pytest
        cases: list[dict[str, object]] = [{}]
        for mk in params:
            names = _argnames(mk)
            cases = [
                {**c, **dict(zip(names, v if len(names) > 1 else (v,), strict=True))}
                for c in cases
                for v in mk.args[1]
            ]
        for c in cases:
            try:
                fn(**c)
            except AssertionError:
                return False
    return True


def _argnames(mark: object) -> list[str]:
    names = mark.args[0]  # type: ignore[attr-defined]
    return [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)


def equivalents(path: Path) -> dict[str, str]:
    """The equivalent mutants' labels and their reasons (``label  # reason`` lines; ``#`` lines: comments)."""
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        label, _, reason = line.partition("  # ")
        if label.strip() and not line.startswith("#"):
            if not reason.strip():
                raise SystemExit(f"{path}: an equivalent mutant without its reason: {line!r}")
            out[label.strip()] = reason.strip()
    return out


def _label(m: Mutant) -> str:
    return f"{m.module}:{m.line} {m.qualname}: {m.what}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", default=",".join(MODULES))
    ap.add_argument("--limit", type=int, default=None, help="run only the first N mutants")
    ap.add_argument("--sample", type=int, default=None, help="run a random sample of N mutants")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per mutant")
    ap.add_argument("--survivors", default=None, help="write the survivors here (one a line)")
    ap.add_argument("--only", default=None, help="rerun only the mutants listed in this survivors file")
    ap.add_argument(
        "--equivalent", default=str(EQUIVALENT), help="equivalent mutants, one 'label  # reason' a line"
    )
    args = ap.parse_args()
    todo = mutants(tuple(args.modules.split(",")))
    if args.only:
        wanted = {line.strip() for line in Path(args.only).read_text(encoding="utf-8").splitlines()}
        todo = [(m, fn) for m, fn in todo if _label(m) in wanted]
    if args.sample:
        todo = random.Random(args.seed).sample(todo, min(args.sample, len(todo)))
    if args.limit:
        todo = todo[: args.limit]
    checks = oracles()
    for check in checks:  # the unmutated code passes every oracle
        assert check(), f"the oracle {check.__name__} fails without a mutant"
    signal.signal(signal.SIGALRM, _alarm)
    killed = survived = skipped = 0
    survivors: list[Mutant] = []
    t0 = time.monotonic()
    for n, (m, fn) in enumerate(todo, 1):
        with applied(m, fn) as ok:
            if not ok:
                skipped += 1
                continue
            dead = False
            signal.setitimer(signal.ITIMER_REAL, args.timeout)
            try:
                for check in checks:
                    if not check():
                        dead = True
                        break
            except _Timeout:
                dead = True
            except Exception:
                dead = True
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        if dead:
            killed += 1
        else:
            survived += 1
            survivors.append(m)
        if n % 50 == 0:
            rate = killed / max(1, killed + survived)
            took = time.monotonic() - t0
            print(
                f"{n}/{len(todo)} killed {killed} survived {survived} ({rate:.1%}) {took:.0f} s", flush=True
            )
    total = killed + survived
    known = equivalents(Path(args.equivalent))
    same = [m for m in survivors if _label(m) in known]
    survivors = [m for m in survivors if _label(m) not in known]
    rate = killed / max(1, total - len(same))
    print(
        f"mutants run {total} (not compilable alike: {skipped}); equivalent {len(same)}; "
        f"killed {killed} / {total - len(same)} = {rate:.1%}"
    )
    lines = [_label(m) for m in survivors]
    print("equivalent (benchmarks/mutation_equivalent.txt):")
    for m in same:
        print(f"  {_label(m)}  # {known[_label(m)]}")
    print("survivors:")
    for s in lines:
        print("  " + s)
    if args.survivors:
        Path(args.survivors).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
