"""Today's models through today's SDKs: the registry against the installed SDKs' model lists, the strict
mock (bodies validated against the SDKs' request types), thinking/reasoning bodies per family, vendor-prefixed
ids with window discovery, retired-model refusal, billing errors, ``python -m evals.models``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import typing
from collections.abc import Callable
from pathlib import Path

import pytest

from providers.base import GenerateRequest, Message, RetryPolicy, StopReason
from providers.doors.anthropic import REASONING_EFFORTS as ANTHROPIC_EFFORTS
from providers.doors.gemini import THINKING_LEVELS
from providers.doors.openai import REASONING_EFFORTS as OPENAI_EFFORTS
from providers.errors import (
    ConfigError,
    ContextLengthExceeded,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    RetiredModelError,
    classify_status,
)
from providers.fakes.server import MockReply, MockServer
from providers.registry import (
    apply_overrides,
    check_usable,
    create_provider,
    list_models,
    resolve_model,
)
from tests.providers.conftest import FAKE_KEY, make_provider

Factory = Callable[..., MockServer]
ROOT = Path(__file__).resolve().parents[2]
CHAT = GenerateRequest(messages=(Message("user", "上海的神秘数字是多少？"),), max_tokens=16)


def _active(kind: str) -> list:
    return [i for i in list_models() if i.provider == kind and i.status == "active"]


# ------------------------------------------------------------------- registry vs. the installed SDKs


def _openai_deprecated() -> dict[str, str]:
    """model id -> announced shutdown date, parsed from the openai SDK's ChatModel docstring."""
    import openai

    path = Path(openai.__file__).parent / "types" / "shared" / "chat_model.py"
    text = path.read_text()
    notes = text[text.index('"""Deprecated values:') :]
    out: dict[str, str] = {}
    for item in re.split(r"\n- ", notes):
        ids = re.findall(r'"([^"]+)"', item.split(":")[0])
        date = re.search(r"shutdown\s+date:\s+(\d{4}-\d{2}-\d{2})", item.replace("\n", " "))
        for i in ids:
            out[i] = date.group(1) if date else "unsupported"
    return out


def test_no_active_entry_is_in_an_sdk_deprecated_list() -> None:
    from anthropic._data import DEPRECATED_MODELS, MODELS_TO_WARN_WITH_THINKING_ENABLED

    for info in _active("anthropic"):
        for name in (info.model_id, info.alias, *info.aliases):
            assert name not in DEPRECATED_MODELS, (
                f"{info.alias}: the anthropic SDK lists {name} as deprecated"
            )
        if info.model_id in MODELS_TO_WARN_WITH_THINKING_ENABLED:
            assert info.thinking != "budget", f"{info.alias}: the SDK says use adaptive thinking"
    deprecated = _openai_deprecated()
    assert "gpt-4o" in deprecated and "o3-mini" in deprecated  # the parser found the list
    for info in _active("openai"):
        for name in (info.model_id, info.alias, *info.aliases):
            assert name not in deprecated, f"{info.alias}: the openai SDK lists {name} for shutdown"


def test_deprecated_and_retired_entries_agree_with_the_sdks() -> None:
    from anthropic._data import DEPRECATED_MODELS

    deprecated = _openai_deprecated()
    for info in list_models():
        if info.provider == "openai" and info.model_id in deprecated and info.status != "active":
            shutdown = deprecated[info.model_id]
            date = info.status_since if info.status == "retired" else info.retires
            assert str(date) == shutdown, (info.alias, date, shutdown)
        if info.provider == "anthropic" and (
            info.model_id in DEPRECATED_MODELS or info.alias in DEPRECATED_MODELS
        ):
            assert info.status in ("deprecated", "retired"), info.alias


def test_active_entries_are_in_the_sdks_model_lists() -> None:
    from anthropic.types import Model as AnthropicModel
    from google.genai._gaos.types.interactions import model as gemini_models
    from openai.types.shared import ChatModel

    from providers.doors.openai.responses import responses_only_models

    def literal_values(tp: object) -> set[str]:
        out: set[str] = set()
        for a in typing.get_args(tp):
            out |= set(typing.get_args(a)) if typing.get_origin(a) is typing.Literal else set()
        return out | (set(typing.get_args(tp)) if typing.get_origin(tp) is typing.Literal else set())

    lists = {
        "anthropic": literal_values(AnthropicModel),
        # issue 18: Responses-only models (ResponsesModel beyond ChatModel) are served through /v1/responses.
        "openai": literal_values(ChatModel) | responses_only_models(),
        "gemini": literal_values(gemini_models.Model),
    }
    for kind, known in lists.items():
        assert known, kind
        for info in _active(kind):
            assert info.model_id in known, (
                f"{info.alias}: {info.model_id} is not in the {kind} SDK's model list"
            )


def test_reasoning_values_are_the_sdks() -> None:
    from anthropic.types import OutputConfigParam
    from google.genai import types
    from openai.types.shared import ReasoningEffort

    openai_values = set(typing.get_args(typing.get_args(ReasoningEffort)[0]))
    assert set(OPENAI_EFFORTS) == openai_values
    effort = typing.get_type_hints(OutputConfigParam)["effort"]
    anthropic_values = {v for a in typing.get_args(effort) for v in typing.get_args(a)}
    assert set(ANTHROPIC_EFFORTS) == anthropic_values
    assert set(THINKING_LEVELS) <= {e.value for e in types.ThinkingLevel}


# --------------------------------------------------------------------------------- retired models


def test_retired_model_is_refused_before_any_request() -> None:
    info = resolve_model("gemini-1.5")  # the name still resolves
    assert info.alias == "gemini-1.5-pro" and info.status == "retired"
    with pytest.raises(RetiredModelError) as err:
        check_usable(info)
    msg = str(err.value)
    assert "\n" not in msg and "gemini-1.5-pro" in msg and "2025-09-24" in msg and "gemini-4-argon" in msg
    assert isinstance(err.value, ConfigError)
    # create_provider refuses too, before asking for a key or opening a connection.
    with pytest.raises(RetiredModelError):
        create_provider(resolve_model("o3-mini"), api_key=FAKE_KEY, base_url="http://127.0.0.1:9/v1")
    for name in ("claude-3-5-sonnet", "claude-3-7-sonnet", "claude-sonnet-4", "o4-mini", "gemini-2.0-flash"):
        assert resolve_model(name).status == "retired", name


def test_cli_refuses_a_retired_model_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(GEMINI_API_KEY="x", PYTHONPATH=str(ROOT))
    t0 = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "evals.run", "--model", "gemini-1.5"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - t0 < 20
    assert p.returncode == 2, p.stderr
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "retired" in lines[0] and "2025-09-24" in lines[0], p.stderr
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- strict mock via the SDKs


def test_strict_mock_rejects_unknown_fields_in_each_vendors_format(mock_server: Factory) -> None:
    import anthropic
    import openai
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types

    srv = mock_server(answer="ok")
    a = anthropic.Anthropic(api_key=FAKE_KEY, base_url=srv.url, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as ea:
        a.messages.create(
            model="claude-sonnet-5-5",
            max_tokens=8,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"temperature": 0.0},
        )
    assert ea.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "temperature: Extra inputs are not permitted"},
        "request_id": "req_mock",
    }
    # The same body without the smuggled field passes.
    ok = a.messages.create(
        model="claude-sonnet-5-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    assert ok.content[0].text == "ok"

    o = openai.OpenAI(api_key=FAKE_KEY, base_url=srv.url + "/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError) as eo:
        o.chat.completions.create(
            model="gpt-6.1-terra",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"cache_prompt": True},
        )
    err = eo.value.response.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == "cache_prompt" and "code" in err
    with pytest.raises(openai.BadRequestError):
        o.chat.completions.create(
            model="gpt-6.1-terra",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"reasoning_effort": "extreme"},  # not a ReasoningEffort value
        )

    g = genai.Client(
        api_key=FAKE_KEY,
        http_options=types.HttpOptions(
            base_url=srv.url, extra_body={"generationConfig": {"temperatura": 1}}, retry_options=None
        ),
    )
    with pytest.raises(genai_errors.ClientError) as eg:
        g.models.generate_content(model="gemini-3.8-flash", contents="hi")
    assert eg.value.code == 400 and eg.value.status == "INVALID_ARGUMENT"
    assert "temperatura" in (eg.value.message or "")


async def test_every_adapter_body_passes_the_strict_mock(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(answer="4729183")
    async with make_provider(adapter, srv) as p:
        res = await p.generate(CHAT)
    assert res.text == "4729183" and res.stop_reason is StopReason.STOP
    assert all(r.status == 200 for r in srv.api_requests())


# ---------------------------------------------------------------------- thinking / reasoning bodies


async def test_anthropic_adaptive_thinking_body(mock_server: Factory) -> None:
    srv = mock_server(answer="4729183")
    req = GenerateRequest(messages=CHAT.messages, max_tokens=16, prefill="答案：", temperature=0.7)
    async with make_provider("anthropic", srv, info=resolve_model("claude-sonnet-5-5")) as p:
        res = await p.generate(req)
    body = srv.api_requests("anthropic")[0].body
    assert body["thinking"] == {"type": "adaptive"}
    assert body["max_tokens"] == 16 + 4096  # room for thinking on top of the answer
    assert "temperature" not in body and "top_p" not in body
    assert [m["role"] for m in body["messages"]] == ["user"]  # no prefill on a thinking model
    assert res.text == "4729183"


async def test_anthropic_budget_thinking_body_and_effort(mock_server: Factory) -> None:
    srv = mock_server(answer="4729183")
    info = resolve_model("claude-haiku-4-5").model_copy(
        update={"thinking": "budget", "reasoning": True, "reasoning_budget": 500}
    )
    async with make_provider("anthropic", srv, info=info) as p:
        await p.generate(CHAT)
    eff = resolve_model("claude-opus-5-5").model_copy(update={"reasoning_effort": "low"})
    async with make_provider("anthropic", srv, info=eff) as p:
        await p.generate(CHAT)
    budget, effort = (r.body for r in srv.api_requests("anthropic"))
    assert budget["thinking"] == {"type": "enabled", "budget_tokens": 1024}  # the API's minimum
    assert budget["max_tokens"] > budget["thinking"]["budget_tokens"]
    assert budget["max_tokens"] == 16 + 1024
    assert effort["output_config"] == {"effort": "low"} and effort["thinking"] == {"type": "adaptive"}


async def test_openai_reasoning_body(mock_server: Factory) -> None:
    srv = mock_server(answer=MockReply("4729183", reasoning_tokens=300))
    async with make_provider("openai", srv, info=resolve_model("gpt-5.6-luna")) as p:
        res = await p.generate(GenerateRequest(messages=CHAT.messages, max_tokens=16, temperature=0.5))
    body = srv.api_requests("openai-chat")[0].body
    assert body["reasoning_effort"] == "low" and body["max_completion_tokens"] == 16 + 4096
    assert "temperature" not in body and "max_tokens" not in body
    assert res.usage.reasoning_tokens == 300


async def test_gemini_thinking_level_and_budget_bodies(mock_server: Factory) -> None:
    srv = mock_server(answer="ok")
    async with make_provider("gemini", srv, info=resolve_model("gemini-4-argon")) as p:
        await p.generate(CHAT)
    legacy = resolve_model("gemini-2.5-flash-lite").model_copy(
        update={"thinking": "budget", "reasoning": True, "reasoning_budget": 1024}
    )
    async with make_provider("gemini", srv, info=legacy) as p:
        await p.generate(CHAT)
    level, budget = (r.body["generationConfig"] for r in srv.api_requests("gemini"))
    assert list(level["thinkingConfig"].values()) == ["MEDIUM"] and level["maxOutputTokens"] == 16 + 8192
    assert "temperature" not in level
    assert list(budget["thinkingConfig"].values()) == [1024] and budget["maxOutputTokens"] == 16 + 1024


async def test_answer_cut_or_emptied_by_the_budget_is_truncated(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(answer=MockReply("", finish="max_tokens", reasoning_tokens=64))
    async with make_provider(adapter, srv) as p:
        res = await p.generate(CHAT)
    assert res.stop_reason is StopReason.TRUNCATED and res.text == ""


async def test_openai_refusal_is_content_filter(mock_server: Factory) -> None:
    srv = mock_server(answer=MockReply("I can't help with that.", finish="refusal"))
    async with make_provider("openai", srv) as p:
        res = await p.generate(CHAT)
    assert res.stop_reason is StopReason.CONTENT_FILTER and res.text == ""
    assert res.raw_response["choices"][0]["message"]["refusal"]


# --------------------------------------------------------------------- vendor-prefixed ids, discovery


def test_prefixed_ids_resolve() -> None:
    assert resolve_model("anthropic:claude-sonnet-5-5").alias == "claude-sonnet-5-5"  # a registry entry
    assert resolve_model("gemini:gemini-1.5-pro-002").alias == "gemini-1.5-pro"
    new = resolve_model("anthropic:claude-next-1")
    assert (new.alias, new.provider, new.model_id, new.prices) == (
        "anthropic:claude-next-1",
        "anthropic",
        "claude-next-1",
        None,
    )
    assert new.context_window == 0 and new.discover
    assert resolve_model("google:gemini-9").provider == "gemini"
    with pytest.raises(ConfigError, match="--context-window"):
        check_usable(resolve_model("openai:gpt-7"))  # OpenAI's models endpoint reports no window
    info = apply_overrides(
        resolve_model("openai:gpt-7"), context_window=500_000, price_input=1, price_output=2
    )
    check_usable(info)
    assert info.context_window == 500_000 and info.window_source == "override"
    assert info.prices is not None and info.prices.estimate(1_000_000, 1_000_000) == pytest.approx(3.0)
    with pytest.raises(ConfigError, match="both"):
        apply_overrides(info, price_input=1)


async def test_anthropic_window_from_models_endpoint(mock_server: Factory) -> None:
    srv = mock_server(
        answer="ok",
        vendor_models={"claude-next-1": {"window": 750_000, "max_output": 64_000, "adaptive": True}},
    )
    p = create_provider(resolve_model("anthropic:claude-next-1"), base_url=srv.url, api_key=FAKE_KEY)
    async with p:
        assert p.name == "anthropic:claude-next-1"
        assert p.info.context_window == 750_000 and p.info.window_source == "models endpoint"
        assert p.info.max_output_tokens == 64_000 and p.info.thinking == "adaptive"
        res = await p.generate(CHAT)
    assert res.text == "ok"
    assert srv.api_requests("anthropic")[0].body["thinking"] == {"type": "adaptive"}
    with pytest.raises(NotFoundError):
        create_provider(resolve_model("anthropic:claude-missing"), base_url=srv.url, api_key=FAKE_KEY)
    # An explicit window skips the models endpoint.
    seen = len(srv.requests)
    q = create_provider(
        apply_overrides(resolve_model("anthropic:claude-other"), context_window=123_456),
        base_url=srv.url,
        api_key=FAKE_KEY,
    )
    await q.aclose()
    assert q.info.context_window == 123_456 and len(srv.requests) == seen


async def test_gemini_window_from_models_endpoint(mock_server: Factory) -> None:
    srv = mock_server(answer="ok", vendor_models={"gemini-next": {"window": 2_097_152, "max_output": 65_536}})
    async with create_provider(resolve_model("gemini:gemini-next"), base_url=srv.url, api_key=FAKE_KEY) as p:
        assert p.info.context_window == 2_097_152 and p.info.max_output_tokens == 65_536
        res = await p.generate(CHAT)
    assert res.text == "ok" and res.model == "gemini-next"
    body = srv.api_requests("gemini")[0].body
    assert body["generationConfig"]["maxOutputTokens"] == 16 + 4096  # room for default thinking


async def test_discovered_compatible_model_is_named_by_its_id(mock_server: Factory) -> None:
    srv = mock_server(answer="ok", context_window=4096, model="served/model-7b")
    async with make_provider("compat", srv) as p:
        assert p.name == p.info.alias == "openai-compatible:served/model-7b"
    vllm = resolve_model("vllm:Qwen/Qwen3-8B")
    async with create_provider(vllm, base_url=srv.url + "/v1") as p:
        assert p.name == "vllm:Qwen/Qwen3-8B" and p.info.context_window == 4096


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "input length and `max_tokens` exceed context limit: 190000 + 20000 > 200000, "
                    "decrease input length or `max_tokens` and try again",
                },
            },
            ContextLengthExceeded,
        ),
        (
            429,
            {
                "error": {
                    "message": "You exceeded your current quota",
                    "type": "insufficient_quota",
                    "param": None,
                    "code": "insufficient_quota",
                }
            },
            QuotaExceededError,
        ),
        (
            400,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "Your credit balance is too low to access the Anthropic API.",
                },
            },
            QuotaExceededError,
        ),
        (
            402,
            {"type": "error", "error": {"type": "billing_error", "message": "Payment required."}},
            QuotaExceededError,
        ),
        (
            429,
            {
                "type": "error",
                "error": {
                    "type": "rate_limit_error",
                    "message": "Spend limit reached.",
                    "details": {"error_code": "enforced_spend_limit_reached"},
                },
            },
            QuotaExceededError,
        ),
        (
            429,
            {
                "type": "error",
                "error": {
                    "type": "rate_limit_error",
                    "message": "Ramp limit.",
                    "details": {"error_code": "ramp_limit_exceeded"},
                },
            },
            RateLimitError,
        ),
        (
            429,
            {
                "error": {
                    "code": 429,
                    "status": "RESOURCE_EXHAUSTED",
                    "message": "Quota exceeded.",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                            "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}],
                        },
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "51000s"},
                    ],
                }
            },
            QuotaExceededError,
        ),
        (
            429,
            {
                "error": {
                    "code": 429,
                    "status": "RESOURCE_EXHAUSTED",
                    "message": "Quota exceeded.",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                            "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}],
                        },
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"},
                    ],
                }
            },
            RateLimitError,
        ),
    ],
)
def test_billing_and_context_errors(status: int, body: dict, expected: type) -> None:
    err = classify_status(status, body)
    assert type(err) is expected, (type(err), str(err))
    if expected is QuotaExceededError:
        assert not err.retryable
    if expected is RateLimitError and "RetryInfo" in json.dumps(body):
        assert err.retry_after == 17.0


async def test_quota_errors_are_fatal_through_each_sdk(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(script=["quota", "ok"])
    async with make_provider(adapter, srv) as p:
        with pytest.raises(QuotaExceededError) as err:
            await p.generate(CHAT)
    assert err.value.attempts == 1 and len(srv.api_requests()) == 1
    assert FAKE_KEY not in str(err.value)


async def test_gemini_429_wait_is_read_from_retry_info(mock_server: Factory) -> None:
    srv = mock_server(script=["429"], retry_after=0.4, answer="ok")
    policy = RetryPolicy(
        max_attempts=2, initial_backoff_s=0.0, max_backoff_s=0.0, jitter_s=0.0, max_retry_after_s=5.0
    )
    async with make_provider("gemini", srv, retry=policy) as p:
        res = await p.generate(CHAT)
    assert res.text == "ok" and res.attempts == 2 and res.total_s is not None and res.total_s >= 0.4
    srv.reset(script=["429"])
    async with make_provider("gemini", srv, retry=RetryPolicy(max_attempts=1)) as p:
        with pytest.raises(RateLimitError) as err:
            await p.generate(CHAT)
    assert err.value.retry_after == pytest.approx(0.4)


# -------------------------------------------------------------------------------- evals.models, CLI


def test_evals_models_lists_names_windows_prices_and_status(capsys: pytest.CaptureFixture) -> None:
    from evals.models import main

    assert main(["--provider", "openai", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by = {r["alias"]: r for r in rows}
    assert {r["provider"] for r in rows} == {"openai"}
    assert by["gpt-6.1-terra"]["context_window"] == 1_050_000 and by["gpt-6.1-terra"]["status"] == "active"
    assert by["o3-mini"]["status"] == "retired" and by["o3-mini"]["status_since"] == "2026-10-23"
    assert by["gpt-4o"]["status"] == "deprecated" and by["gpt-4o"]["retires"] == "2027-01-14"
    assert main(["--provider", "anthropic"]) == 0
    table = capsys.readouterr().out
    assert "claude-opus-5-5" in table and "1,000,000" in table and "retired 2026-06-15" in table
    assert main(["--active", "--json"]) == 0
    assert all(r["status"] == "active" for r in json.loads(capsys.readouterr().out))


def test_max_cost_needs_prices_unless_given(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(ROOT)
    base = [
        sys.executable,
        "-m",
        "evals.run",
        "--model",
        "claude-haiku-5-5",
        "--lengths",
        "1000",
        "--depths",
        "50",
        "--max-cost",
        "5",
        "--dry-run",
        "--no-count-api",
    ]
    p = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "--price-input" in p.stderr, p.stderr
    p = subprocess.run(
        [*base, "--price-input", "0.1", "--price-output", "0.5"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert list(tmp_path.iterdir()) == []
