"""The run configuration: one frozen, validated object built from a config file and/or CLI flags.

A config file (``--config run.toml`` or ``.json``) holds the same keys as the long flags (``-`` or ``_``
both accepted, e.g. ``max-tokens`` / ``max_tokens``); flags given on the command line override it; unknown
keys are refused with one clear line.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals.errors import ConfigFileError
from evals.stats import DEFAULT_THRESHOLD
from haystacks.tasks import task_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "DEFAULT_DEPTHS",
    "DEFAULT_LENGTHS",
    "DEFAULT_MODEL",
    "RunConfig",
    "build_config",
    "load_config_file",
    "validation_message",
]

DEFAULT_MODEL = "gemma-3-270m"
DEFAULT_LENGTHS: tuple[int, ...] = (1000, 2000, 4000)
DEFAULT_DEPTHS: tuple[float, ...] = (0.0, 25.0, 50.0, 75.0, 100.0)

#: Keys that change what a cell's answer means; a run directory's identity hashes them (see plan.py).
IDENTITY_KEYS: tuple[str, ...] = (
    "model",
    "tasks",
    "language",
    "shuffle",
    "style",
    "max_tokens",
    "temperature",
    "count_api",
)
#: Run options a task may read (see ``haystacks.tasks.Task.options``); each task's own enter the identity.
TASK_OPTIONS: tuple[str, ...] = ("n_needles", "n_distractors", "hops", "needles")


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class RunConfig(BaseModel):
    """Everything a run needs, validated. Grid specs stay as given; :mod:`evals.plan` resolves them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(DEFAULT_MODEL, min_length=1, description="registry alias of the model under test")
    tasks: tuple[str, ...] = Field(("single",), min_length=1, description="task variants")
    language: Literal["zh", "en"] = "zh"
    lengths: tuple[float, ...] | str | None = None
    min_length: int | None = Field(None, gt=0)
    max_length: int | None = Field(None, gt=0)
    n_lengths: int | None = Field(None, gt=0, le=200)
    length_spacing: Literal["linear", "log"] = "linear"
    depths: tuple[float, ...] | str | None = None
    n_depths: int | None = Field(None, gt=0, le=201)
    depth_spacing: Literal["linear", "sigmoid"] = "linear"
    seeds: tuple[int, ...] | None = None
    repeats: int = Field(1, gt=0, le=1000)
    n_needles: int = Field(3, ge=1, le=100)
    n_distractors: int = Field(3, ge=0, le=100)
    hops: int = Field(2, ge=1, le=20, description="chain task: hops from the start to the asked end")
    haystack: Path | None = Field(
        None, description="your own text: a .txt/.md/.html/.epub/.pdf/.docx file or a folder of them"
    )
    needles: tuple[tuple[str, str, str], ...] = Field(
        (), description="custom task: (needle, question, answer)"
    )
    preset: Literal["gemini-1.5"] | None = None
    shuffle: bool = False
    style: Literal["auto", "chat", "completion"] = "auto"
    max_tokens: int | None = Field(None, gt=0, le=32768, description="None: each task's answer budget")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    order: Literal["shared", "grid", "depth_major"] = "shared"
    concurrency: int | None = Field(None, gt=0, le=1024)
    rpm: int | None = Field(None, gt=0)
    tpm: int | None = Field(None, gt=0)
    base_url: str | None = None
    timeout: float | None = Field(None, gt=0)
    max_attempts: int | None = Field(None, ge=1, le=100)
    backoff: float | None = Field(None, ge=0)
    out: Path | None = None
    max_cost: float | None = Field(None, ge=0.0)
    context_window: int | None = Field(None, gt=0, description="window of a model the registry lacks")
    price_input: float | None = Field(None, ge=0.0, description="USD per 1M input tokens")
    price_output: float | None = Field(None, ge=0.0, description="USD per 1M output tokens")
    judge: str | None = None
    allow_beyond_window: bool = False
    count_api: bool = True
    force: bool = False
    no_report: bool = False
    dry_run: bool = False
    batch: bool = Field(False, description="send the cells through the vendor's batch API (half price)")
    batch_poll: float = Field(30.0, gt=0, description="seconds between batch status polls")
    shard: str | None = Field(None, description="'i/n': run the i-th of n balanced shards of the cells")
    adaptive: bool = Field(False, description="sample the grid in rounds (evals.adaptive_run)")
    adaptive_strict: bool = Field(
        False, description="adaptive without the monotonicity inference (implies adaptive)"
    )
    confidence: float = Field(0.95, gt=0.0, lt=1.0, description="confidence of the adaptive answer")
    threshold: float = Field(
        DEFAULT_THRESHOLD, ge=0.0, le=1.0, description="recall threshold of the effective length"
    )
    compare_with: Path | None = Field(None, description="a finished run of another model (--dry-run)")

    @model_validator(mode="before")
    @classmethod
    def _strict_implies_adaptive(cls, v: Any) -> Any:
        if isinstance(v, dict) and v.get("adaptive_strict"):
            v = {**v, "adaptive": True}
        return v

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks(cls, v: Any) -> Any:
        v = _split(v)
        for t in v or ():
            if t not in task_names():
                raise ValueError(f"unknown task {t!r} (choose from {', '.join(task_names())})")
        if v and len(set(v)) != len(v):
            raise ValueError("a task is listed twice")
        return v

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, v: Any) -> Any:
        v = (v,) if isinstance(v, int) and not isinstance(v, bool) else _split(v)
        if v is not None and len(set(map(str, v))) != len(v):
            raise ValueError("a seed is listed twice")
        return v

    @field_validator("lengths", "depths", mode="before")
    @classmethod
    def _numbers(cls, v: Any) -> Any:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return (v,)
        return v

    @field_validator("lengths")
    @classmethod
    def _lengths(cls, v: Any) -> Any:
        if isinstance(v, tuple):
            for x in v:
                if not math.isfinite(x) or x <= 0 or x != int(x):
                    raise ValueError(f"length {x:g} is not a positive whole number of tokens")
        return v

    @field_validator("depths")
    @classmethod
    def _depths(cls, v: Any) -> Any:
        if isinstance(v, tuple):
            for x in v:
                if not math.isfinite(x) or not 0.0 <= x <= 100.0:
                    raise ValueError(f"depth {x:g} is outside 0..100 (percent)")
        return v

    @model_validator(mode="after")
    def _ranges(self) -> RunConfig:
        if self.min_length and self.max_length and self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is above max_length {self.max_length}")
        if self.lengths is not None and (self.min_length or self.max_length):
            raise ValueError("give either lengths or min_length/max_length, not both")
        if self.depths is not None and self.n_depths:
            raise ValueError("give either depths or n_depths, not both")
        if self.seeds is not None and "repeats" in self.model_fields_set:
            raise ValueError("give either seeds or repeats, not both")
        if self.judge is not None and self.judge == self.model:
            raise ValueError("the judge must be a different model from the model under test")
        return self

    @field_validator("shard")
    @classmethod
    def _shard(cls, v: Any) -> Any:
        if v is None:
            return v
        parts = str(v).split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"shard {v!r} is not 'i/n' (e.g. 0/2)")
        i, n = (int(p) for p in parts)
        if n < 1 or not 0 <= i < n:
            raise ValueError(f"shard {v!r}: i must be in 0..n-1 and n at least 1")
        return f"{i}/{n}"

    def shard_of(self) -> tuple[int, int] | None:
        """``(i, n)`` of ``--shard i/n``, or None."""
        if self.shard is None:
            return None
        i, n = self.shard.split("/")
        return int(i), int(n)

    def seed_list(self) -> list[int]:
        """The seeds of the run: ``seeds`` when given, else ``0..repeats-1``."""
        return list(self.seeds) if self.seeds is not None else list(range(self.repeats))

    @field_validator("needles", mode="before")
    @classmethod
    def _needles(cls, v: Any) -> Any:
        # a config file may hold [{needle=..., question=..., answer=...}, ...]
        if isinstance(v, list | tuple):
            return tuple(
                (x.get("needle", x.get("text")), x.get("question"), x.get("answer"))
                if isinstance(x, dict)
                else x
                for x in v
            )
        return v

    def task_options(self) -> dict[str, Any]:
        """The options tasks read (:data:`TASK_OPTIONS`), by name."""
        return {k: getattr(self, k) for k in TASK_OPTIONS}

    def identity(self) -> dict[str, Any]:
        """The settings that define what a cell's answer means (grid, corpus and task versions are added
        by :func:`evals.plan.plan_identity`)."""
        d = self.model_dump(mode="json")
        return {k: d[k] for k in IDENTITY_KEYS}


_FIELDS = set(RunConfig.model_fields)


def validation_message(err: ValidationError, source: str = "config") -> str:
    """One line describing the first problem of a pydantic ValidationError.

    Args:
        err: The error.
        source: Where the values came from ("config file x.toml", "options").

    Returns:
        e.g. ``"options: depths: depth 150 is outside 0..100 (percent)"``.
    """
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()) if not isinstance(p, int))
    msg = str(first.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    if first.get("type") == "extra_forbidden":
        msg = f"unknown key {loc!r} (known keys: {', '.join(sorted(_FIELDS))})"
        return f"{source}: {msg}"
    more = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{source}: {loc + ': ' if loc else ''}{msg}{more}"


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a ``.toml`` or ``.json`` run config into a dict of RunConfig keys.

    Args:
        path: The file.

    Returns:
        The values, keys normalized (``-`` → ``_``; ``task`` → ``tasks``, ``seed`` → ``seeds``).

    Raises:
        ConfigFileError: When the file is missing, unreadable, not TOML/JSON, or not a table.
    """
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigFileError(f"cannot read config file {path}: {e.strerror or e}") from e
    try:
        text = raw.decode("utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigFileError(f"config file {path} must end in .toml or .json")
    except UnicodeDecodeError as e:
        raise ConfigFileError(f"config file {path} is not UTF-8 text") from e
    except json.JSONDecodeError as e:
        raise ConfigFileError(f"config file {path}: invalid JSON at line {e.lineno}: {e.msg}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigFileError(f"config file {path}: invalid TOML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigFileError(f"config file {path} must hold a table of keys")
    return normalize_keys(data)


_ALIASES = {"task": "tasks", "seed": "seeds", "output": "out", "output_dir": "out"}


def normalize_keys(values: dict[str, Any]) -> dict[str, Any]:
    """Map ``max-tokens`` → ``max_tokens`` and singular aliases (``task``, ``seed``) to field names."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        key = str(k).replace("-", "_")
        out[_ALIASES.get(key, key)] = v
    return out


def build_config(
    file_values: dict[str, Any] | None, flag_values: dict[str, Any], source: str = ""
) -> RunConfig:
    """Merge config-file values with explicitly given flags (flags win) and validate.

    Args:
        file_values: From :func:`load_config_file`, or None.
        flag_values: Only the flags the user gave (keys are RunConfig field names).
        source: Name of the config file, for messages.

    Returns:
        The validated, frozen :class:`RunConfig`.

    Raises:
        ConfigFileError: With a one-line message naming the first bad key.
    """
    merged = dict(file_values or {})
    merged.update(normalize_keys(flag_values))
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as e:
        where = (
            f"config file {source}"
            if source and not set(flag_values) & {str(x["loc"][0]) for x in e.errors() if x.get("loc")}
            else "options"
        )
        raise ConfigFileError(validation_message(e, where)) from e
