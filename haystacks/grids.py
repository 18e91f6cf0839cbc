"""Depth and length grids, and the list/range syntax of the command lines.

``parse_list`` accepts, comma-separated, any mix of:

* numbers, with optional ``k``/``K`` (x1,000) and ``m``/``M`` (x1,000,000) suffixes: ``1000``, ``32k``,
  ``1M``;
* ``a:b:n`` -- ``n`` points from ``a`` to ``b`` inclusive, evenly spaced; ``a:b:n:log`` log-spaced
  (rounded to whole numbers); ``a:b:n:sigmoid`` denser near both ends;
* ``a-b/step`` -- ``a, a+step, ...`` up to ``b`` inclusive (``0-100/5``).
"""

from __future__ import annotations

import math
import re

from haystacks.errors import GridSpecError

__all__ = ["depth_grid", "length_grid", "parse_list"]


def _sigmoid_points(n: int, steepness: float = 6.0) -> list[float]:
    """``n`` points in [0, 1] from a logistic curve: denser near both ends, exactly 0 and 1 at the ends."""
    xs = [-steepness + 2 * steepness * i / (n - 1) for i in range(n)]
    ys = [1.0 / (1.0 + math.exp(-x)) for x in xs]
    lo, hi = ys[0], ys[-1]
    return [(y - lo) / (hi - lo) for y in ys]


def depth_grid(n: int, spacing: str = "linear") -> list[float]:
    """Needle depths in percent.

    Args:
        n: Number of depths (``n == 1`` gives ``[50.0]``).
        spacing: ``linear`` (evenly from 0 to 100) or ``sigmoid`` (denser near 0 and 100).

    Returns:
        ``n`` depths from 0 to 100 inclusive, rounded to 4 decimals.

    Raises:
        GridSpecError: ``n < 1`` or an unknown spacing.
    """
    if n < 1:
        raise GridSpecError(f"need at least one depth, got {n}")
    if spacing not in ("linear", "sigmoid"):
        raise GridSpecError(f"unknown depth spacing {spacing!r} (linear | sigmoid)")
    if n == 1:
        return [50.0]
    pts = [i / (n - 1) for i in range(n)] if spacing == "linear" else _sigmoid_points(n)
    return [round(100.0 * p, 4) for p in pts]


def length_grid(min_len: int, max_len: int, n: int, spacing: str = "linear") -> list[int]:
    """Context lengths in tokens.

    Args:
        min_len: Shortest length (> 0).
        max_len: Longest length (>= ``min_len``).
        n: Number of lengths.
        spacing: ``linear`` or ``log``.

    Returns:
        Sorted distinct whole numbers from ``min_len`` to ``max_len`` inclusive (fewer than ``n`` only when
        rounding makes two points equal).

    Raises:
        GridSpecError: Bad bounds, ``n < 1`` or an unknown spacing.
    """
    if n < 1:
        raise GridSpecError(f"need at least one length, got {n}")
    if min_len < 1 or max_len < min_len:
        raise GridSpecError(f"bad length range {min_len}..{max_len}")
    if spacing not in ("linear", "log"):
        raise GridSpecError(f"unknown length spacing {spacing!r} (linear | log)")
    if n == 1:
        return [int(max_len)]
    if spacing == "linear":
        vals = [min_len + (max_len - min_len) * i / (n - 1) for i in range(n)]
    else:
        a, b = math.log(min_len), math.log(max_len)
        vals = [math.exp(a + (b - a) * i / (n - 1)) for i in range(n)]
    out = sorted({round(v) for v in vals} | {int(min_len), int(max_len)})
    return [int(v) for v in out]


_NUM = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([kKmM]?)\s*$")


def _num(s: str, spec: str) -> float:
    m = _NUM.match(s)
    if m is None:
        raise GridSpecError(f"cannot read {s.strip()!r} as a number in {spec!r}")
    x = float(m.group(1)) * {"": 1, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6}[m.group(2)]
    if not math.isfinite(x):
        raise GridSpecError(f"{s.strip()!r} is not finite in {spec!r}")
    return x


def _count(s: str, spec: str) -> int:
    x = _num(s, spec)
    if x < 1 or x != int(x):
        raise GridSpecError(f"the number of points must be a positive whole number in {spec!r}")
    return int(x)


def parse_list(spec: str) -> list[float]:
    """Parse a list/range spec (see the module docstring) into numbers.

    Args:
        spec: E.g. ``"1000,2000"``, ``"1000:8000:4"``, ``"1k:1M:35:log"``, ``"0-100/5"``.

    Returns:
        The numbers, in the order written (ranges expanded in increasing order).

    Raises:
        GridSpecError: Anything unparsable or empty.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise GridSpecError("empty list")
    out: list[float] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            raise GridSpecError(f"empty item in {spec!r}")
        if ":" in part:
            bits = part.split(":")
            if len(bits) not in (3, 4):
                raise GridSpecError(f"{part!r}: use a:b:n or a:b:n:log|linear|sigmoid")
            a, b, n = _num(bits[0], spec), _num(bits[1], spec), _count(bits[2], spec)
            kind = bits[3].strip().lower() if len(bits) == 4 else "linear"
            if b < a:
                raise GridSpecError(f"{part!r}: the end is below the start")
            if kind == "log":
                if a <= 0:
                    raise GridSpecError(f"{part!r}: a log range needs a positive start")
                out.extend(float(v) for v in length_grid(round(a), round(b), n, "log"))
            elif kind in ("linear", "sigmoid"):
                if n == 1:
                    out.append(a)
                    continue
                pts = [i / (n - 1) for i in range(n)] if kind == "linear" else _sigmoid_points(n)
                out.extend(round(a + (b - a) * p, 6) for p in pts)
            else:
                raise GridSpecError(f"{part!r}: unknown spacing {kind!r} (linear | log | sigmoid)")
        elif "/" in part:
            rng, _, step_s = part.partition("/")
            m = re.match(r"^\s*(.+?)\s*-\s*(.+)$", rng)
            if m is None:
                raise GridSpecError(f"{part!r}: use a-b/step")
            a, b, step = _num(m.group(1), spec), _num(m.group(2), spec), _num(step_s, spec)
            if step <= 0 or b < a:
                raise GridSpecError(f"{part!r}: need a positive step and an end not below the start")
            k = math.floor((b - a) / step + 1e-9)
            if k > 1_000_000:
                raise GridSpecError(f"{part!r} expands to too many points")
            out.extend(round(a + i * step, 6) for i in range(k + 1))
        else:
            out.append(_num(part, spec))
    if not out:
        raise GridSpecError(f"empty list {spec!r}")
    return out
