"""The results schema in one place: the typed result record and run header.

Every line of ``results.jsonl`` is a :class:`ResultRecord`; ``header.json`` is a :class:`RunHeader`. The
runner writes them, and every reader — the store, the summary, the reports, the dataset export and the
DataFrame loader (:func:`evals.store.results.load`) — reads them through :func:`parse_record` and
:func:`parse_header`, so no reader guesses at fields.
Files of schema version 1 (the first release) are upgraded on read.

Adding a field: add it here (with a default, so older files still read), fill it in the runner, and it
reaches the export (in ``extra_json`` until :data:`evals.store.rows.COLUMNS` gives it a column of its own:
one line there puts it in the DataFrame, the reports' frame and the export).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    create_model,
    field_validator,
    model_serializer,
    model_validator,
)

from evals.config import RunConfig
from haystacks.answer_key import AnswerKey, ScoreDetail

__all__ = [
    "BATCHES_VERSION",
    "DONE_STATUSES",
    "SAMPLING_SCHEMA",
    "SCHEMA_VERSION",
    "STATUSES",
    "BatchEvent",
    "GridRecord",
    "IdentityInputs",
    "JudgeResult",
    "LengthStatus",
    "ModelRecord",
    "NeedleRecord",
    "RecordedConfig",
    "ResultRecord",
    "RunHeader",
    "SamplerStatus",
    "Sampling",
    "SamplingSettings",
    "Sparse",
    "UsageRecord",
    "parse_batch_event",
    "parse_header",
    "parse_record",
    "parse_sampling",
]

SCHEMA_VERSION = 2
#: ``ok``: graded. ``error``: failed after retries (retried on resume; never a miss). ``model_length``: the
#: prompt exceeded the model's window. ``truncated``: the answer was cut (or emptied by hidden reasoning) at
#: its token budget before it was complete; reported apart, never a miss.
STATUSES = ("ok", "error", "model_length", "truncated")
DONE_STATUSES = frozenset({"ok", "model_length", "truncated"})

Status = Literal["ok", "error", "model_length", "truncated"]


_M = TypeVar("_M", bound=BaseModel)


class _Model(BaseModel):
    # Readers ignore fields they do not know (a newer writer), and never mutate what they read.
    model_config = ConfigDict(extra="ignore", frozen=True, protected_namespaces=())


class NeedleRecord(_Model):
    """A placed needle, distractor or altered sentence, as recorded."""

    kind: str
    key: str
    answer: str
    depth: float
    actual_depth: float | None = None
    token_offset: int | None = None
    text: str = ""
    label: str = ""

    @classmethod
    def of(cls, needle: Any) -> NeedleRecord:
        """From a :class:`haystacks.builder.Needle` (the one needle → record conversion)."""
        return cls(
            kind=needle.kind,
            key=needle.key,
            answer=needle.answer,
            depth=needle.depth,
            actual_depth=round(needle.actual_depth, 3),
            token_offset=needle.token_offset,
            text=needle.text,
            label=getattr(needle, "label", "") or "",
        )


class UsageRecord(_Model):
    """Token usage as the provider reported it (see :class:`providers.base.Usage`)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None


class JudgeResult(_Model):
    """The optional LLM judge's verdict (the deterministic score stays the score of record)."""

    model: str
    model_id: str | None = None
    score: int | None = None
    raw: str | None = None
    cost_usd: float | None = None
    error: str | None = None


class ResultRecord(_Model):
    """One line of ``results.jsonl``: one call for one cell, and how it was graded.

    Identity: (model, task, language, length, depth, seed) hashed into ``cell_id``; ``kind`` is ``cell`` for
    a grid cell and ``closed_book`` for a task's no-context control (its question asked with no text).
    """

    schema_version: int = SCHEMA_VERSION
    cell_id: str
    run_identity: str | None = None
    kind: Literal["cell", "closed_book"] = "cell"
    model: str
    provider: str | None = None
    task: str
    language: str = "zh"
    length: int
    depth: float
    seed: int = 0
    needles: tuple[NeedleRecord, ...] = ()
    distractors: tuple[NeedleRecord, ...] = ()
    question: str | None = None
    expected: tuple[str, ...] = ()
    answer_key: AnswerKey | None = None
    task_params: dict[str, Any] = Field(default_factory=dict)
    target_tokens: int | None = None
    context_tokens: int | None = None
    prompt_tokens: int | None = None
    prompt_tokens_source: Literal["provider", "tokenizer"] | None = None
    prompt_tokens_counted: int | None = None
    tokens_exact: bool = False
    tokens_note: str | None = None
    input_sha256: str | None = None
    max_tokens: int | None = None
    status: Status = "error"
    stop_reason: str | None = None
    answer: str | None = None
    scored_answer: str | None = None
    score: float | None = None
    outcome: str | None = None
    score_detail: ScoreDetail | None = None
    judge: JudgeResult | None = None
    error: str | None = None
    error_type: str | None = None
    latency_s: float | None = None
    attempts: int | None = None
    usage: UsageRecord | None = None
    timings: dict[str, float | int] | None = None
    cost_usd: float | None = None
    model_id: str | None = None
    batch_id: str | None = None
    timestamp: str | None = None

    @field_validator("cell_id", "model", "task")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v:
            raise ValueError("must not be empty")
        return v

    @field_validator("length")
    @classmethod
    def _length(cls, v: int) -> int:
        if v <= 0 and v != 0:
            raise ValueError(f"bad length {v}")
        return v

    @field_validator("depth")
    @classmethod
    def _depth(cls, v: float) -> float:
        if not 0.0 <= v <= 100.0:
            raise ValueError(f"bad depth {v}")
        return v

    @model_validator(mode="after")
    def _graded(self) -> ResultRecord:
        if self.status == "ok" and (self.score is None or not 0.0 <= self.score <= 1.0):
            raise ValueError(f"ok record with bad score {self.score!r}")
        return self

    @property
    def done(self) -> bool:
        """Skipped on resume (``error`` cells are retried)."""
        return self.status in DONE_STATUSES

    @property
    def spend(self) -> float:
        """USD this record cost: the call plus its judge (unpriced counts as 0)."""
        judge = self.judge.cost_usd if self.judge is not None else None
        return float(self.cost_usd or 0.0) + float(judge or 0.0)

    @property
    def hallucinated(self) -> bool | None:
        """Whether a graded answer stated a value the text does not hold for the asked key."""
        if self.status != "ok" or self.score_detail is None:
            return None
        return bool(self.score_detail.hallucinated)

    def to_json(self) -> dict[str, Any]:
        """The JSON object written as one line."""
        return self.model_dump(mode="json")


def _outcome_v1(obj: dict[str, Any]) -> str | None:
    detail = obj.get("score_detail") if isinstance(obj.get("score_detail"), dict) else {}
    score = obj.get("score")
    if obj.get("status") != "ok" or not isinstance(score, (int, float)):
        return None
    if obj.get("task") == "no_needle":
        return (
            "abstained" if score >= 1 else ("hallucinated" if detail.get("hallucinated") else "wrong_format")
        )
    if score >= 1:
        return "found"
    if score > 0:
        return "partial"
    if detail.get("distractors_found"):
        return "decoy"
    return "abstained" if detail.get("abstained") else "wrong"


def _upgrade(obj: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 → 2: the outcome was not recorded (derived from the grade detail); no truncated status."""
    if obj.get("schema_version", 1) >= 2:
        return obj
    out = dict(obj)
    out.setdefault("outcome", _outcome_v1(obj))
    for k in ("needles", "distractors"):
        if out.get(k) is None:
            out[k] = ()
    if out.get("expected") is None:
        out["expected"] = ()
    return out


def _validate(model: type[_M], obj: Any, what: str) -> _M:
    """``model`` from one parsed JSON value; a ``ValueError`` naming the first bad field (else ``what``)."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    try:
        return model.model_validate(obj)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ())) or what
        raise ValueError(f"{where}: {err.get('msg')}") from None


def parse_record(obj: Any) -> ResultRecord:
    """A record from one parsed JSON line (schema 1 or 2).

    Raises:
        ValueError: Not a record (the message says which field is wrong).
    """
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return _validate(ResultRecord, _upgrade(obj), "record")


class Sparse(BaseModel):
    """A typed view of a JSON object that writes back exactly the keys it was given: fields not set are left
    out (not written as null) and keys it does not declare are kept, so older and newer files round-trip."""

    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=(), populate_by_name=True)

    @model_serializer(mode="wrap")
    def _given_keys(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        unset = {
            (f.alias or name)
            for name, f in type(self).model_fields.items()
            if name not in self.model_fields_set
        }
        return {k: v for k, v in out.items() if k not in unset}

    def to_json(self) -> dict[str, Any]:
        """The JSON object (the keys it was made with)."""
        return self.model_dump(mode="json", by_alias=True)


def _recorded_config() -> type[Sparse]:
    fields: dict[str, Any] = {name: (f.annotation | None, None) for name, f in RunConfig.model_fields.items()}
    return create_model(  # type: ignore[call-overload,no-any-return]
        "RecordedConfig",
        __base__=Sparse,
        __doc__="The header's ``config``: the run's RunConfig as written (see RecordedConfig).",
        **fields,
    )


#: The header's ``config``: the run's :class:`evals.config.RunConfig` (less ``dry_run``, ``force``,
#: ``no_report``, ``compare_with``), typed by RunConfig's own field declarations (one source): every field
#: optional and unconstrained (a recorded config is read as written, never re-validated), keys as given.
RecordedConfig = _recorded_config()


class ModelRecord(Sparse):
    """The header's ``model``: the registry entry the run used (the providers' ``ModelInfo.to_dict()``);
    the fields the reports read are typed, every other key is kept as written."""

    alias: str | None = None
    provider: str | None = None
    model_id: str | None = None
    context_window: int | None = None
    tokenizer: str | None = None
    tokenizer_exact: bool | None = None
    mode: str | None = None


class GridRecord(Sparse):
    """The header's ``grid``: the axes of the planned grid."""

    lengths: list[int] = Field(default_factory=list)
    depths: list[float] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)
    seeds: list[int] = Field(default_factory=list)
    language: str | None = None


#: ``sampling.json``'s schema and version (the header's ``sampling`` is the same object without statuses).
SAMPLING_SCHEMA = "niah-sampling/1"


class SamplingSettings(Sparse):
    """How the adaptive sampler was set."""

    threshold: float | None = None
    confidence: float | None = None
    assume_monotone: bool | None = None
    coarse_per_length: int | None = None
    verify_below: bool | None = None
    per: str | None = None
    max_cost: float | None = None


class LengthStatus(Sparse):
    """One length of a sampler's status."""

    length: int
    n_cells: int = 0
    n_observed: int = 0
    n_scored: int = 0
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    decision: str | None = None


class SamplerStatus(Sparse):
    """One sampler's status (per model, task and language) in ``sampling.json``."""

    model: str | None = None
    task: str | None = None
    language: str | None = None
    effective_length: int | None = None
    lower: int | None = None
    upper: int | None = None
    settled: bool = False
    reason: str = ""
    assumption_ok: bool | None = None
    assumption_note: str = ""
    n_observed: int = 0
    n_cells: int = 0
    by_length: list[LengthStatus] = Field(default_factory=list)


class Sampling(Sparse):
    """How a run sampled its grid: the header's ``sampling`` (method, settings, assumption) and
    ``sampling.json`` (the same, with ``schema`` = :data:`SAMPLING_SCHEMA`, the rounds, why it stopped and
    every sampler's status; ``previous`` when a full-grid run continued an adaptive one)."""

    schema_: str | None = Field(default=None, alias="schema")
    method: str = "full"
    settings: SamplingSettings | None = None
    assumption: str | None = None
    note: str | None = None
    rounds: int | None = None
    stopped: str | None = None
    groups: list[SamplerStatus] = Field(default_factory=list)
    previous: Sampling | None = None


def parse_sampling(obj: Any) -> Sampling:
    """``sampling.json`` (or a header's ``sampling``) from parsed JSON.

    Raises:
        ValueError: Not a sampling document, or one of a schema this code does not read.
    """
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if obj.get("schema", SAMPLING_SCHEMA) != SAMPLING_SCHEMA:
        raise ValueError(f"unknown sampling schema {obj.get('schema')!r} (this code reads {SAMPLING_SCHEMA})")
    return _validate(Sampling, obj, "sampling")


#: ``batches.jsonl``'s line version (``v``; lines of round 2 have none and are version 1).
BATCHES_VERSION = 1


class BatchEvent(Sparse):
    """One line of ``batches.jsonl`` (:mod:`evals.execution.batch`): ``submitting`` (token, cell_ids, time)
    before the vendor is asked, ``submitted`` (token, handle, cell_ids, time) once it answered, ``collected``
    (batch_id, time), ``abandoned`` (token, time). Kinds this code does not know are kept (a newer writer)."""

    v: int = BATCHES_VERSION
    event: str
    token: str | None = None
    cell_ids: list[str] | None = None
    handle: dict[str, Any] | None = None
    batch_id: str | None = None
    time: float | None = None


def parse_batch_event(obj: Any) -> BatchEvent:
    """One ``batches.jsonl`` line from parsed JSON.

    Raises:
        ValueError: Not an event, or one of a newer version than this code reads.
    """
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if isinstance(obj.get("v"), int) and obj["v"] > BATCHES_VERSION:
        raise ValueError(f"batches.jsonl line version {obj['v']} (this code reads {BATCHES_VERSION})")
    return _validate(BatchEvent, obj, "event")


class IdentityInputs(Sparse):
    """The header's ``identity_inputs``: every input that changes a prompt or a grade (made by
    :func:`evals.planning.identity.identity_inputs`); its sha256
    (:func:`evals.planning.identity.plan_identity`) is the run identity.
    Written with the keys it was made with, so an older header's inputs read and write back as they were.

    Attributes:
        settings: The config's settings that change a prompt or a grade (``RunConfig.identity()``: RunConfig
            field names, in ``IDENTITY_KEYS`` order, which a typed model would not keep, so a mapping).
        model_id: The model's id at the vendor.
        grid: The resolved grid.
        corpus_sha256: The cleaned haystack text's hash.
        tasks: Each task's identity (its version and grading parameters), by task name.
        prompt_template: ``haystacks.prompts.TEMPLATE_VERSION``.
        grading: ``haystacks.grading.GRADING_VERSION``.
    """

    settings: dict[str, Any] | None = None
    model_id: str | None = None
    grid: GridRecord | None = None
    corpus_sha256: str | None = None
    tasks: dict[str, dict[str, Any]] | None = None
    prompt_template: int | None = None
    grading: int | None = None


class RunHeader(_Model):
    """``header.json``: what a run was, written once before its first call.

    ``run_identity`` hashes every input that changes a prompt or a grade (model and id, corpus, tasks and
    their parameters and versions, prompt template, scorer); a run directory holds one identity.
    """

    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=())

    schema_version: int = SCHEMA_VERSION
    suite_version: str | None = None
    git_commit: str | None = None
    created: str | None = None
    run_identity: str | None = None
    identity_inputs: IdentityInputs | None = None
    config: RecordedConfig = Field(default_factory=lambda: RecordedConfig())
    order: str | None = None
    prompt_style: str | None = None
    model: ModelRecord = Field(default_factory=ModelRecord)
    judge: ModelRecord | None = None
    tokenizer: str | None = None
    tokens_exact: bool | None = None
    corpus_sha256: str | None = None
    corpus_files: list[str] | None = None
    corpus_seeds: list[str] | None = None
    packages: dict[str, str | None] = Field(default_factory=dict)
    grid: GridRecord = Field(default_factory=GridRecord)
    seeds: list[int] = Field(default_factory=list)
    n_cells: int | None = None
    sampling: Sampling | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def parse_header(obj: Any) -> RunHeader:
    """A header from parsed JSON (schema 1 or 2).

    Raises:
        ValueError: Not a header.
    """
    return _validate(RunHeader, obj, "header")
