"""Run configuration: file + flags merge, validation, one-line messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.config import RunConfig, build_config, load_config_file
from evals.errors import ConfigFileError


def test_defaults() -> None:
    cfg = build_config(None, {})
    assert cfg.model == "gemma-3-270m"
    assert cfg.tasks == ("single",)
    assert cfg.seed_list() == [0]
    assert cfg.max_tokens is None  # each task's own answer budget


def test_toml_file_and_flags_override(tmp_path: Path) -> None:
    p = tmp_path / "run.toml"
    p.write_text(
        'model = "gpt-4o"\ntask = "single,multi"\nlengths = [1000, 2000]\nmax-tokens = 16\nrepeats = 3\n'
    )
    cfg = build_config(load_config_file(p), {"max_tokens": 8}, source=str(p))
    assert cfg.model == "gpt-4o"
    assert cfg.tasks == ("single", "multi")
    assert cfg.lengths == (1000.0, 2000.0)
    assert cfg.max_tokens == 8  # flag wins
    assert cfg.seed_list() == [0, 1, 2]


def test_json_file(tmp_path: Path) -> None:
    p = tmp_path / "run.json"
    p.write_text(json.dumps({"depths": "0:100:5", "seeds": [3, 4], "language": "en"}))
    cfg = build_config(load_config_file(p), {})
    assert cfg.depths == "0:100:5"
    assert cfg.seed_list() == [3, 4]
    assert cfg.language == "en"


@pytest.mark.parametrize(
    ("content", "suffix", "match"),
    [
        ("model = ", ".toml", "invalid TOML"),
        ("{", ".json", "invalid JSON"),
        ("[1, 2]", ".json", "table of keys"),
        ("model: x", ".yaml", "must end in .toml or .json"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, suffix: str, match: str) -> None:
    p = tmp_path / f"c{suffix}"
    p.write_text(content)
    with pytest.raises(ConfigFileError, match=match):
        load_config_file(p)


def test_missing_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read config file"):
        load_config_file(tmp_path / "nope.toml")
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigFileError, match="not UTF-8"):
        load_config_file(p)


def test_unknown_key_one_line(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("modle = 'x'\n")
    with pytest.raises(ConfigFileError) as e:
        build_config(load_config_file(p), {}, source=str(p))
    msg = str(e.value)
    assert "unknown key 'modle'" in msg and "\n" not in msg
    assert str(p) in msg


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"depths": [150]}, r"depth 150 is outside 0\.\.100"),
        ({"depths": [-1]}, r"outside 0\.\.100"),
        ({"lengths": [1000.5]}, "not a positive whole number"),
        ({"lengths": [0]}, "not a positive whole number"),
        ({"tasks": "single,bogus"}, "unknown task 'bogus'"),
        ({"language": "fr"}, "language"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"min_length": 5000, "max_length": 1000}, "above max_length"),
        ({"lengths": [1000], "min_length": 10, "max_length": 20}, "either lengths or"),
        ({"seeds": "1,1"}, "listed twice"),
        ({"seeds": [1], "repeats": 2}, "either seeds or repeats"),
        ({"judge": "gemma-3-270m"}, "different model"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_invalid_values(values: dict, match: str) -> None:
    with pytest.raises(ConfigFileError, match=match) as e:
        build_config(None, values)
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("options:")


def test_identity_ignores_operational_keys() -> None:
    a = RunConfig(concurrency=2, out=Path("x"), max_cost=1.0, no_report=True)
    b = RunConfig()
    assert a.identity() == b.identity()
    assert RunConfig(max_tokens=8).identity() != b.identity()
