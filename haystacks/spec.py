"""What a cell is built from: :class:`CellSpec` (model-independent; read by the task table and the builder).

A leaf module: the task table (:mod:`haystacks.tasks`) types its plans with it and the builder builds it, so
it imports neither (only the typed errors).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from haystacks.errors import SpecError

__all__ = ["CellSpec", "check_depth"]


@dataclass(frozen=True)
class CellSpec:
    """What to build (model-independent): task, length, depth, seed and variant parameters.

    Attributes:
        task: ``single`` | ``multi`` | ``distractor`` | ``no_needle`` | ``changed_line``.
        length: Target tokens of the context (haystack including needles).
        depth: Percent 0..100; multi: the first needle's depth unless ``depths`` is given.
        seed: Draws needle keys/values (and the paragraph order when ``shuffle``).
        language: Needle and question language, ``zh`` or ``en``.
        n_needles: Multi: number of needles (1 = the default of 4).
        depths: Multi: explicit depths (default: spread from ``depth`` towards 100).
        n_distractors: Same-template needles with other keys (0 = 3 for the distractor task).
        shuffle: Shuffle the paragraphs of each corpus pass (seeded).
        params: Task-specific parameters as sorted ``(name, value)`` pairs (``hops``, custom ``needles``...);
            each task documents the ones it reads.
    """

    task: str = "single"
    length: int = 2000
    depth: float = 50.0
    seed: int = 0
    language: str = "zh"
    n_needles: int = 1
    depths: tuple[float, ...] | None = None
    n_distractors: int = 0
    shuffle: bool = False
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str, default: Any = None) -> Any:
        """A task parameter (``default`` when not given)."""
        return dict(self.params).get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the spec (``params`` only when there are any)."""
        d = asdict(self)
        d["depths"] = list(self.depths) if self.depths is not None else None
        if self.params:
            d["params"] = {k: _jsonable(v) for k, v in self.params}
        else:
            d.pop("params")
        return d


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    return v


def check_depth(d: float, what: str = "depth") -> float:
    """A depth in percent, 0..100, as a float.

    Raises:
        SpecError: Not a number, or outside 0..100 (one line naming ``what``).
    """
    try:
        x = float(d)
    except (TypeError, ValueError):
        raise SpecError(f"{what} {d!r} is not a number") from None
    if not math.isfinite(x) or not 0.0 <= x <= 100.0:
        raise SpecError(f"{what} {d!r} is outside 0..100 (percent)")
    return x
