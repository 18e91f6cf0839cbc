"""The ``python -m evals.run`` parser and :class:`evals.config.RunConfig` agree: every option that sets the
config names a field, every field has an option (or is listed here with why not), the choices are the field's
``Literal`` values, the types match, and no option has a default of its own (the config's defaults rule).

A run option is declared once: a :class:`RunConfig` field annotated with its :class:`evals.config.Flag`
(section, help text, names); :func:`evals.config.add_run_options` builds the parser from those. These tests
hold the parser to the config (and to the options that are deliberately not config: ``_NOT_CONFIG``)."""

from __future__ import annotations

import argparse
import typing

from evals.config import RunConfig
from evals.run import _NOT_CONFIG, build_parser

#: Fields with no flag of their own, and why.
NO_FLAG = {"needles": "built from --needle/--question/--answer/--needles-file"}


def _actions() -> dict[str, argparse.Action]:
    return {a.dest: a for a in build_parser()._actions if a.dest != "help"}


def _args(annotation: object) -> set[type]:
    """The non-None types of a field annotation (unions flattened)."""
    parts = typing.get_args(annotation) or (annotation,)
    return {t for t in parts if t is not type(None)}  # type: ignore[misc]


def _literals(annotation: object) -> set[object]:
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    return {v for part in typing.get_args(annotation) for v in _literals(part)}


def test_every_option_is_a_field_and_every_field_an_option() -> None:
    actions = _actions()
    fields = RunConfig.model_fields
    assert sorted(d for d in actions if d not in _NOT_CONFIG and d not in fields) == []
    assert sorted(k for k in fields if k not in actions) == sorted(NO_FLAG)
    assert not set(NO_FLAG) & set(actions)
    assert {"config", "verbose"} <= _NOT_CONFIG  # options about the invocation, not the run


def test_choices_types_and_defaults_agree() -> None:
    fields = RunConfig.model_fields
    for dest, action in _actions().items():
        if dest in _NOT_CONFIG:
            continue
        ann = fields[dest].annotation
        assert action.default is None, f"--{dest}: its default must come from RunConfig"
        if action.choices is not None:
            assert set(action.choices) == _literals(ann), dest
        if isinstance(action, argparse._StoreConstAction):
            assert _args(ann) == {bool} and action.const is not fields[dest].default, dest
        elif action.type in (int, float):
            assert action.type in _args(ann), f"--{dest}: {action.type} vs {ann}"


def test_every_option_is_declared_with_its_field() -> None:
    from evals.config import Flag

    declared = {
        name for name, f in RunConfig.model_fields.items() if any(isinstance(m, Flag) for m in f.metadata)
    }
    assert declared == set(RunConfig.model_fields) - set(NO_FLAG)
    actions = _actions()
    for name in declared:  # the help the parser shows is the one declared with the field
        flag = next(m for m in RunConfig.model_fields[name].metadata if isinstance(m, Flag))
        assert actions[name].help == (flag.help() if callable(flag.help) else flag.help)


def test_every_flag_reaches_the_config() -> None:
    """Each value option, given on the command line, is the value the config holds."""
    from evals.run import config_from_args

    samples = {
        "--max-tokens": ("max_tokens", "7", 7),
        "--temperature": ("temperature", "0.5", 0.5),
        "--concurrency": ("concurrency", "3", 3),
        "--batch-poll": ("batch_poll", "2", 2.0),
        "--threshold": ("threshold", "0.7", 0.7),
        "--no-count-api": ("count_api", None, False),
        "--shuffle": ("shuffle", None, True),
        "--order": ("order", "grid", "grid"),
    }
    for flag, (field, text, want) in samples.items():
        cfg, _ = config_from_args([flag] if text is None else [flag, text])
        assert getattr(cfg, field) == want, flag
