"""Depth/length grids and the list syntax."""

from __future__ import annotations

import pytest

from haystacks.errors import GridSpecError, HaystackError
from haystacks.grids import depth_grid, length_grid, parse_list


def test_depth_grid() -> None:
    assert depth_grid(5) == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert depth_grid(1) == [50.0]
    assert len(depth_grid(35)) == 35 and depth_grid(35)[0] == 0.0 and depth_grid(35)[-1] == 100.0
    s = depth_grid(9, "sigmoid")
    assert s[0] == 0.0 and s[-1] == 100.0 and s == sorted(s)
    assert s[1] - s[0] < s[5] - s[4]  # denser near the ends
    with pytest.raises(GridSpecError):
        depth_grid(0)
    with pytest.raises(GridSpecError):
        depth_grid(3, "cubic")


def test_length_grid() -> None:
    assert length_grid(1000, 5000, 5) == [1000, 2000, 3000, 4000, 5000]
    lg = length_grid(1000, 1_000_000, 35, "log")
    assert len(lg) == 35 and lg[0] == 1000 and lg[-1] == 1_000_000 and lg == sorted(set(lg))
    assert lg[1] / lg[0] == pytest.approx(lg[-1] / lg[-2], rel=0.01)
    assert length_grid(1000, 1000, 1) == [1000]
    for bad in [(0, 10, 3), (10, 5, 3), (1, 10, 0)]:
        with pytest.raises(GridSpecError):
            length_grid(*bad)
    with pytest.raises(GridSpecError):
        length_grid(1, 10, 3, "exp")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1000,2000", [1000.0, 2000.0]),
        ("1000:8000:4", [1000.0, 3333.333333, 5666.666667, 8000.0]),
        ("0-100/25", [0.0, 25.0, 50.0, 75.0, 100.0]),
        ("32k, 1M", [32000.0, 1e6]),
        ("1k:1M:4:log", [1000.0, 10000.0, 100000.0, 1e6]),
        ("0:100:3:sigmoid", [0.0, 50.0, 100.0]),
        ("0-10/3", [0.0, 3.0, 6.0, 9.0]),
        ("5", [5.0]),
        ("7:7:1", [7.0]),
    ],
)
def test_parse_list(spec: str, expected: list[float]) -> None:
    assert parse_list(spec) == pytest.approx(expected)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        " ",
        "1,,2",
        "a",
        "1:2",
        "1:2:3:4:5",
        "5:1:3",
        "1:5:0",
        "1:5:2.5",
        "0:5:3:log",
        "1:5:3:cubic",
        "10-1/2",
        "1-10/0",
        "1-10",
        "nan",
        "1e400",
    ],
)
def test_parse_list_errors(spec: str) -> None:
    with pytest.raises(GridSpecError):
        parse_list(spec)
    assert issubclass(GridSpecError, HaystackError)
