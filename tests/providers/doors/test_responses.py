"""issue 18: OpenAI's Responses API door, against the fake's ``/v1/responses`` (bodies checked against the
SDK's ``ResponseCreateParamsNonStreaming``; answers parsed by the SDK's ``Response`` model)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from openai.types.responses import Response

from evals.run import main
from providers.base import GenerateRequest, Message, StopReason
from providers.batch import BatchRequest
from providers.doors import batch_client
from providers.doors.openai.adapter import OpenAIProvider
from providers.doors.openai.responses import OpenAIResponsesProvider, responses_only_models, uses_responses
from providers.doors.openai.responses_fake import ResponsesWire
from providers.mock_server import MockReply, MockServer
from providers.registry import apply_overrides, create_provider, resolve_model
from tests.evals.execution.test_run_mock import perfect_model, read_records
from tests.providers.conftest import FAKE_KEY

Factory = Callable[..., MockServer]
CHAT = GenerateRequest(
    messages=(Message("user", "上海的神秘数字是多少？"),),
    system="Answer briefly.",
    max_tokens=16,
    stop=("\n\n",),
)


def _provider(srv: MockServer, name: str = "openai:o3-pro", **kwargs: object) -> OpenAIResponsesProvider:
    info = apply_overrides(resolve_model(name), context_window=200_000)
    p = create_provider(info, base_url=srv.url + "/v1", api_key=FAKE_KEY, **kwargs)  # type: ignore[arg-type]
    assert isinstance(p, OpenAIResponsesProvider)
    return p


def test_responses_only_models_come_from_the_sdk() -> None:
    only = responses_only_models()
    assert {"o3-pro", "gpt-5-pro", "o1-pro"} <= only
    assert "gpt-4o" not in only and "gpt-5" not in only
    assert uses_responses("", "o3-pro") and not uses_responses("", "gpt-4o")
    assert uses_responses("responses", "gpt-4o") and not uses_responses("chat", "o3-pro")


def test_registry_picks_the_adapter(mock_server: Factory) -> None:
    srv = mock_server()
    chat = create_provider(resolve_model("gpt-4o-mini"), base_url=srv.url + "/v1", api_key=FAKE_KEY)
    assert type(chat) is OpenAIProvider
    _provider(srv)  # asserts the Responses adapter


async def test_body_fields_and_parse(mock_server: Factory) -> None:
    srv = mock_server(answer=MockReply("4729183\n\nmore", reasoning_tokens=5))
    async with _provider(srv) as p:
        res = await p.generate(CHAT)
    rec = srv.api_requests("openai-responses")[0]
    assert rec.path == "/v1/responses"
    body = rec.body
    assert ResponsesWire().check_body("openai-responses", body) is None
    assert body["instructions"] == "Answer briefly."
    assert body["input"] == [{"role": "user", "content": "上海的神秘数字是多少？"}]
    assert body["store"] is False
    assert "stop" not in body and "seed" not in body and "temperature" not in body
    assert body["max_output_tokens"] == 16 + p.info.reasoning_budget
    assert res.text == "4729183"  # cut at the stop sequence here (the API has none)
    assert res.stop_reason is StopReason.STOP
    assert res.usage.input_tokens == 13
    assert res.usage.reasoning_tokens == 5
    assert res.usage.output_tokens == 2 + 5  # "4729183", "more" + reasoning
    assert res.model == "o3-pro"
    Response.model_validate(res.raw_response)  # the fake's answer is what the SDK parses


async def test_reasoning_effort_and_cached_tokens(mock_server: Factory) -> None:
    srv = mock_server(answer="x")
    info = apply_overrides(resolve_model("openai:o3-pro"), context_window=200_000)
    info = info.model_copy(update={"reasoning_effort": "high"})
    async with create_provider(info, base_url=srv.url + "/v1", api_key=FAKE_KEY) as p:
        req = GenerateRequest(messages=(Message("user", "同一个前缀 " * 20),), max_tokens=4)
        await p.generate(req)
        res = await p.generate(req)
    assert srv.api_requests("openai-responses")[0].body["reasoning"] == {"effort": "high"}
    assert res.usage.cached_input_tokens == res.usage.input_tokens


async def test_incomplete_max_output_tokens_is_truncated(mock_server: Factory) -> None:
    srv = mock_server(answer="one two three four five")
    info = apply_overrides(resolve_model("openai:o3-pro"), context_window=200_000)
    info = info.model_copy(update={"reasoning": False, "reasoning_budget": 0})
    async with create_provider(info, base_url=srv.url + "/v1", api_key=FAKE_KEY) as p:
        res = await p.generate(GenerateRequest(messages=(Message("user", "count"),), max_tokens=2))
    assert res.raw_response["status"] == "incomplete"
    assert res.raw_response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert res.text == "one two"
    assert res.stop_reason is StopReason.TRUNCATED


async def test_refusal_is_content_filter(mock_server: Factory) -> None:
    srv = mock_server(answer=MockReply("I can't help with that.", finish="refusal"))
    async with _provider(srv) as p:
        res = await p.generate(CHAT)
    assert res.stop_reason is StopReason.CONTENT_FILTER and res.text == ""


async def test_completion_mode_sends_a_string_input(mock_server: Factory) -> None:
    srv = mock_server(answer="42")
    async with _provider(srv) as p:
        res = await p.generate(GenerateRequest(prompt="The number is", max_tokens=4))
    assert srv.api_requests("openai-responses")[0].body["input"] == "The number is"
    assert res.text == "42"


async def test_context_overflow_is_model_length(mock_server: Factory) -> None:
    srv = mock_server(context_window=5)
    async with _provider(srv) as p:
        res = await p.generate(CHAT)
    assert res.stop_reason is StopReason.MODEL_LENGTH


async def test_fake_rejects_unknown_fields_and_chat_for_responses_only(mock_server: Factory) -> None:
    import httpx

    srv = mock_server()
    async with httpx.AsyncClient(base_url=srv.url) as c:
        bad = await c.post("/v1/responses", json={"model": "o3-pro", "input": "x", "max_tokens": 5})
        chat = await c.post(
            "/v1/chat/completions", json={"model": "o3-pro", "messages": [{"role": "user", "content": "x"}]}
        )
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "Unrecognized request argument supplied: max_tokens"
    assert chat.status_code == 404  # as OpenAI answers it
    assert "only supported in v1/responses" in chat.json()["error"]["message"]


async def test_batch_goes_through_v1_responses(mock_server: Factory) -> None:
    srv = mock_server(answer="7")
    async with _provider(srv) as p:
        client = batch_client(p)
        reqs = [BatchRequest(f"c{i}", CHAT) for i in range(3)]
        handles = await client.submit(reqs)
        assert len(handles) == 1 and handles[0].endpoint == "/v1/responses"
        await client.wait(handles[0], poll_s=0.01)
        out = await client.results(handles[0], {r.custom_id: r.request for r in reqs})
    assert sorted(out) == ["c0", "c1", "c2"]
    assert all(r.text == "7" and r.stop_reason is StopReason.STOP for r in out.values())  # type: ignore[union-attr]


def test_cli_runs_a_responses_only_model_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NIAH_MODELS_FILE", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    out = tmp_path / "run"
    with MockServer(answer=perfect_model, api_key=FAKE_KEY) as srv:
        argv = ["--model", "openai:o3-pro", "--context-window", "200000", "--base-url", f"{srv.url}/v1"]
        argv += ["--lengths", "300,600", "--depths", "0,100", "--out", str(out), "--no-report"]
        assert main(argv) == 0
        assert srv.api_requests("openai-responses") and not srv.api_requests("openai-chat")
    records = read_records(out / "results.jsonl")
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    assert {r["model_id"] for r in records} == {"o3-pro"}
    text = (out / "results.jsonl").read_text() + capsys.readouterr().err
    assert FAKE_KEY not in text


async def test_registered_responses_only_entry(mock_server: Factory) -> None:
    srv = mock_server(answer="x")
    async with create_provider(resolve_model("gpt-5-pro"), base_url=srv.url + "/v1", api_key=FAKE_KEY) as p:
        assert isinstance(p, OpenAIResponsesProvider)
        await p.generate(CHAT)
    body = srv.api_requests("openai-responses")[0].body
    assert body["reasoning"] == {"effort": "high"} and body["model"] == "gpt-5-pro"


async def test_api_field_sends_a_chat_model_through_responses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_server: Factory
) -> None:
    from providers.registry import _cached_registry

    reg = tmp_path / "models.toml"
    reg.write_text(
        '[models."mini-responses"]\nprovider = "openai"\nmodel_id = "gpt-4o-mini"\ncontext_window = 128000\n'
        'tokenizer = "o200k_base"\nkey_env = "OPENAI_API_KEY"\napi = "responses"\n'
    )
    monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
    _cached_registry.cache_clear()
    srv = mock_server(answer="x")
    try:
        async with create_provider(
            resolve_model("mini-responses"), base_url=srv.url + "/v1", api_key=FAKE_KEY
        ) as p:
            assert isinstance(p, OpenAIResponsesProvider)
            await p.generate(CHAT)
    finally:
        _cached_registry.cache_clear()
    assert srv.api_requests("openai-responses") and not srv.api_requests("openai-chat")


def test_cli_batch_through_v1_responses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIAH_MODELS_FILE", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    out = tmp_path / "run"
    with MockServer(answer=perfect_model, api_key=FAKE_KEY) as srv:
        argv = ["--model", "openai:o3-pro", "--context-window", "200000", "--base-url", f"{srv.url}/v1"]
        argv += ["--lengths", "300,600", "--depths", "0,100", "--out", str(out), "--no-report"]
        assert main([*argv, "--batch", "--batch-poll", "0.01"]) == 0
        assert srv.batch.count("openai", "create") == 1
        assert not srv.api_requests("openai-responses")  # every cell went through the batch
        assert {b.endpoint for b in srv.batch.batches.values()} == {"/v1/responses"}
    records = read_records(out / "results.jsonl")
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
