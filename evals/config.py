"""The run configuration: one frozen, validated object built from a config file and/or CLI flags.

A config file (``--config run.toml`` or ``.json``) holds the same keys as the long flags (``-`` or ``_``
both accepted, e.g. ``max-tokens`` / ``max_tokens``); flags given on the command line override it; unknown
keys are refused with one clear line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

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
    "Flag",
    "RunConfig",
    "add_run_options",
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


#: Request orders (:func:`evals.planning.grid.order_cells`): the one list of them.
Order = Literal["shared", "grid", "depth_major"]


@dataclass(frozen=True)
class Flag:
    """How a :class:`RunConfig` field appears on the ``python -m evals.run`` command line, declared with the
    field (``Annotated[type, Flag(...)]``): the parser is built from these (:func:`add_run_options`), so a
    run option is declared once, with its help text.

    The option's type comes from the field: an ``int``/``float`` field takes a number, a ``Literal`` its
    values as choices, a ``bool`` is a switch setting ``const``; anything else is taken as text and
    validated by the field.

    Attributes:
        group: The help section.
        help: The help text (or a function of nothing that makes it, for text drawn from tables).
        names: The option strings (default ``--<field-name>`` with ``-`` for ``_``).
        const: What a switch sets (``--no-count-api`` sets False).
        metavar: The value's name in the help.
    """

    group: str
    help: str | Callable[[], str]
    names: tuple[str, ...] = ()
    const: Any = True
    metavar: str | None = None


_MODEL = "model"
_GRID = "grid"
_OWN = "your own haystack and needle"
_EXEC = "execution"
_ADAPT = "adaptive sampling and comparisons"


def _tasks_help() -> str:
    from haystacks.tasks import tasks

    return (
        "task(s), comma-separated: "
        + "; ".join(f"{name} ({t.summary})" for name, t in tasks().items())
        + ". Default single (custom when --needle is given)"
    )


class RunConfig(BaseModel):
    """Everything a run needs, validated. Grid specs stay as given; :mod:`evals.planning` resolves them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # model
    model: Annotated[
        str,
        Flag(
            _MODEL,
            f"registry name or alias of the model under test (default {DEFAULT_MODEL})",
            ("--model", "-m"),
        ),
    ] = Field(DEFAULT_MODEL, min_length=1)
    base_url: Annotated[
        str | None, Flag(_MODEL, "endpoint override (required for openai-compatible servers without one)")
    ] = None
    style: Annotated[
        Literal["auto", "chat", "completion"],
        Flag(
            _MODEL,
            "prompt style: chat messages, or one completion string with an answer prefix (default: the "
            "registry's)",
        ),
    ] = "auto"
    max_tokens: Annotated[
        int | None,
        Flag(
            _MODEL, "answer token limit per cell (default: each task's budget, sized to its expected answer)"
        ),
    ] = Field(None, gt=0, le=32768)
    temperature: Annotated[float, Flag(_MODEL, "sampling temperature (default 0)")] = Field(
        0.0, ge=0.0, le=2.0
    )
    # grid
    tasks: Annotated[tuple[str, ...], Flag(_GRID, _tasks_help, ("--task", "--tasks"))] = Field(
        ("single",), min_length=1
    )
    hops: Annotated[int, Flag(_GRID, "chain: hops from the start to the asked end (2)")] = Field(
        2, ge=1, le=20
    )
    preset: Annotated[
        Literal["gemini-1.5"] | None,
        Flag(
            _GRID,
            "gemini-1.5: the Gemini 1.5 report's text haystack grid and needle for this model (lengths to "
            "1M tokens and beyond where the window allows; see --dry-run for its cost)",
        ),
    ] = None
    # your own haystack and needle
    haystack: Annotated[
        Path | None,
        Flag(
            _OWN,
            "your own text as the haystack: a .txt/.md/.html/.epub/.pdf/.docx file or a folder of them "
            "(default: the seeds)",
        ),
    ] = Field(None)
    lengths: Annotated[
        tuple[float, ...] | str | None,
        Flag(
            _OWN,
            "prompt lengths in the model's tokens (list or range). Default 1000,2000,4000",
            ("--lengths", "-l"),
        ),
    ] = None
    min_length: Annotated[int | None, Flag(_OWN, "with --max-length: generate lengths in a range")] = Field(
        None, gt=0
    )
    max_length: Annotated[int | None, Flag(_OWN, "upper end of the generated length range")] = Field(
        None, gt=0
    )
    n_lengths: Annotated[int | None, Flag(_OWN, "points in the generated length range (default 5)")] = Field(
        None, gt=0, le=200
    )
    length_spacing: Annotated[
        Literal["linear", "log"], Flag(_OWN, "spacing of generated lengths (linear)")
    ] = "linear"
    depths: Annotated[
        tuple[float, ...] | str | None,
        Flag(
            _OWN,
            "needle depths in percent, 0 = start, 100 = end (default 0,25,50,75,100)",
            ("--depths", "-d"),
        ),
    ] = None
    n_depths: Annotated[int | None, Flag(_OWN, "generate N depths from 0 to 100 instead of --depths")] = (
        Field(None, gt=0, le=201)
    )
    depth_spacing: Annotated[
        Literal["linear", "sigmoid"],
        Flag(_OWN, "spacing of generated depths (sigmoid crowds them at both ends)"),
    ] = "linear"
    language: Annotated[Literal["zh", "en"], Flag(_OWN, "needle and question language (zh)")] = "zh"
    repeats: Annotated[int, Flag(_OWN, "seeds per cell: runs seeds 0..N-1 (default 1)")] = Field(
        1, gt=0, le=1000
    )
    seeds: Annotated[
        tuple[int, ...] | None, Flag(_OWN, "explicit seeds, e.g. '0,1,2' (instead of --repeats)")
    ] = None
    n_needles: Annotated[int, Flag(_OWN, "multi: needles per haystack (default 3)")] = Field(3, ge=1, le=100)
    n_distractors: Annotated[int, Flag(_OWN, "distractor: decoy needles (default 3)")] = Field(
        3, ge=0, le=100
    )
    shuffle: Annotated[
        bool, Flag(_OWN, "shuffle the transcript paragraphs (seeded) instead of reading them in order")
    ] = False
    allow_beyond_window: Annotated[
        bool,
        Flag(
            _OWN,
            "probe lengths beyond the model's window: those cells end 'model_length' instead of being "
            "refused",
        ),
    ] = False
    count_api: Annotated[
        bool,
        Flag(
            _OWN,
            "for models without a public tokenizer (Claude, Gemini): size haystacks with the proxy "
            "tokenizer (approximate lengths, tokens_exact=false) instead of the provider's token-count API",
            ("--no-count-api",),
            const=False,
        ),
    ] = True
    # execution
    concurrency: Annotated[
        int | None,
        Flag(
            _EXEC,
            "requests in flight (default: the registry's; 1 for the local model)",
            ("--concurrency", "-j"),
        ),
    ] = Field(None, gt=0, le=1024)
    rpm: Annotated[int | None, Flag(_EXEC, "requests-per-minute limit")] = Field(None, gt=0)
    timeout: Annotated[
        float | None, Flag(_EXEC, "seconds one request may take (default: the registry's)")
    ] = Field(None, gt=0)
    max_attempts: Annotated[
        int | None, Flag(_EXEC, "attempts per request, first included, on 429/5xx/timeouts (default 6)")
    ] = Field(None, ge=1, le=100)
    backoff: Annotated[
        float | None,
        Flag(_EXEC, "first retry wait in seconds when the server names none (doubles each retry; default 1)"),
    ] = Field(None, ge=0)
    tpm: Annotated[int | None, Flag(_EXEC, "tokens-per-minute limit")] = Field(None, gt=0)
    batch: Annotated[
        bool,
        Flag(
            _EXEC,
            "send the cells through the vendor's batch API (OpenAI, Anthropic, Gemini: half price, answers "
            "within 24 h); the batches are recorded in the run directory, so a rerun resumes polling and "
            "never submits a cell twice",
        ),
    ] = Field(False)
    batch_poll: Annotated[float, Flag(_EXEC, "--batch: seconds between status polls (default 30)")] = Field(
        30.0, gt=0
    )
    shard: Annotated[
        str | None,
        Flag(
            _EXEC,
            "'i/n': run the i-th of n shards of the cells (balanced by prompt tokens; each shard in its "
            "own run directory; evals.report over the shard directories merges them)",
        ),
    ] = Field(None)
    order: Annotated[
        Order,
        Flag(
            _EXEC,
            "request order: shared = prompts sharing a prefix back to back (prompt caching; default), grid "
            "= for each length every depth (the classic nested loops), depth_major = for each depth every "
            "length",
        ),
    ] = "shared"
    out: Annotated[
        Path | None,
        Flag(_EXEC, "run directory (default results/<model>-<tasks>-<config hash>)", ("--out", "-o")),
    ] = None
    max_cost: Annotated[
        float | None,
        Flag(
            _EXEC,
            "budget in USD for the run directory: refuse to start when the estimate (without caching) "
            "exceeds it, stop cleanly when the actual spend reaches it",
        ),
    ] = Field(None, ge=0.0)
    context_window: Annotated[
        int | None,
        Flag(
            _EXEC,
            "the model's window in tokens, for a model the registry lacks (e.g. openai:<id>) or to "
            "override the registry's",
        ),
    ] = Field(None, gt=0)
    price_input: Annotated[
        float | None,
        Flag(_EXEC, "USD per 1M input tokens, overriding the registry (give with --price-output)"),
    ] = Field(None, ge=0.0)
    price_output: Annotated[
        float | None,
        Flag(_EXEC, "USD per 1M output tokens, overriding the registry (give with --price-input)"),
    ] = Field(None, ge=0.0)
    judge: Annotated[
        str | None,
        Flag(
            _EXEC,
            "also grade answers with this LLM (pinned, not the model under test; classic 1-10 rubric); the "
            "deterministic score stays the score, agreement is reported",
        ),
    ] = None
    # adaptive sampling and comparisons
    adaptive: Annotated[
        bool,
        Flag(
            _ADAPT,
            "treat the grid as candidates and sample it in rounds until the effective context length of "
            "the full grid is known at --confidence (assumes recall does not rise with length, checked on "
            "the data; docs/adaptive.md); stops early at --max-cost; with --batch each round is one batch",
        ),
    ] = Field(False)
    adaptive_strict: Annotated[
        bool,
        Flag(
            _ADAPT,
            "--adaptive without the monotonicity inference: every length up to the boundary is decided on "
            "its own data (more calls)",
        ),
    ] = Field(False)
    confidence: Annotated[float, Flag(_ADAPT, "confidence of the adaptive answer (default 0.95)")] = Field(
        0.95, gt=0.0, lt=1.0
    )
    threshold: Annotated[
        float,
        Flag(
            _ADAPT, "recall threshold of the effective context length, for --adaptive and the reports (0.85)"
        ),
    ] = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    compare_with: Annotated[
        Path | None,
        Flag(
            _ADAPT,
            "with --dry-run: a finished run of another model on the same task; prints the seeds "
            "(--repeats) this grid needs to detect recall differences of 5, 10 and 20 points against it",
            metavar="RUN_DIR",
        ),
    ] = Field(None)
    dry_run: Annotated[
        bool,
        Flag(
            _ADAPT,
            "print the plan (cells, prompt tokens, estimated cost with and without caching); call nothing",
        ),
    ] = False
    force: Annotated[
        bool,
        Flag(
            _ADAPT,
            "the run directory holds a different run: move its results aside (superseded-<time>/) and "
            "start over",
        ),
    ] = False
    no_report: Annotated[bool, Flag(_ADAPT, "do not build reports at the end")] = False
    # no flag: needles
    needles: tuple[tuple[str, str, str], ...] = Field(())

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
        by :func:`evals.planning.identity.plan_identity`)."""
        d = self.model_dump(mode="json")
        return {k: d[k] for k in IDENTITY_KEYS}


def _flag(name: str) -> Flag | None:
    return next((m for m in RunConfig.model_fields[name].metadata if isinstance(m, Flag)), None)


def _value_type(annotation: Any) -> Any:
    """``int``/``float`` for a numeric field, None (text) otherwise."""
    parts = set(typing.get_args(annotation) or (annotation,)) - {type(None)}
    return next(iter(parts)) if len(parts) == 1 and parts <= {int, float} else None


def _choices(annotation: Any) -> list[Any] | None:
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    found = [c for part in typing.get_args(annotation) for c in (_choices(part) or ())]
    return found or None


def add_run_options(
    parser: argparse.ArgumentParser, after: dict[str, Callable[[Any], None]] | None = None
) -> None:
    """Add every :class:`RunConfig` field that has a :class:`Flag` to ``parser``, in field order, each
    section an argument group; every default is None (only given options override the config).

    Args:
        parser: The parser.
        after: Field name → a function adding further (non-config) options to that field's group after it.
    """
    groups: dict[str, Any] = {}
    for name, field in RunConfig.model_fields.items():
        flag = _flag(name)
        if flag is None:
            continue
        if flag.group not in groups:
            groups[flag.group] = parser.add_argument_group(flag.group)
        group = groups[flag.group]
        kwargs: dict[str, Any] = {
            "dest": name,
            "default": None,
            "help": flag.help() if callable(flag.help) else flag.help,
        }
        parts = set(typing.get_args(field.annotation) or (field.annotation,)) - {type(None)}
        if parts == {bool}:
            kwargs.update(action="store_const", const=flag.const)
        elif (choices := _choices(field.annotation)) is not None:
            kwargs["choices"] = choices
        elif (kind := _value_type(field.annotation)) is not None:
            kwargs["type"] = kind
        if flag.metavar is not None:
            kwargs["metavar"] = flag.metavar
        group.add_argument(*(flag.names or ("--" + name.replace("_", "-"),)), **kwargs)
        if after and name in after:
            after[name](group)


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
