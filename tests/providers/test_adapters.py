"""Each adapter's wire format against the fake server, through its official SDK: what is sent (fields,
budgets, caching, prefill), what is parsed (text, stop reasons, usage), token counting."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from providers.base import GenerateRequest, Message, StopReason
from providers.fakes.server import MockReply, MockRequest, MockServer
from providers.registry import resolve_model
from tests.providers.conftest import make_provider

Factory = Callable[..., MockServer]
CHAT = GenerateRequest(
    messages=(Message("user", "上海的神秘数字是多少？"),),
    system="Answer briefly.",
    max_tokens=16,
    seed=7,
    stop=("\n\n",),
)


async def test_results_are_json_serialisable(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(answer="4729183")
    async with make_provider(adapter, srv) as p:
        res = await p.generate(CHAT)
    assert res.text == "4729183"
    assert res.stop_reason is StopReason.STOP
    assert res.usage.input_tokens == 13  # system 3 + question 10 mock tokens
    assert res.usage.output_tokens == 1
    assert res.latency_s > 0 and res.total_s is not None and res.total_s >= res.latency_s
    json.dumps({"req": res.raw_request, "resp": res.raw_response, "usage": res.usage.to_dict()})
    assert res.raw_request["max_tokens" if adapter in ("compat", "anthropic") else "model"]


async def test_max_tokens_cut_reports_truncated(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(answer="one two three four five")
    async with make_provider(adapter, srv) as p:
        res = await p.generate(GenerateRequest(messages=(Message("user", "count"),), max_tokens=2))
    assert res.text == "one two"
    assert res.stop_reason is StopReason.TRUNCATED


async def test_content_filter(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(answer=MockReply("", finish="content_filter"))
    async with make_provider(adapter, srv) as p:
        res = await p.generate(CHAT)
    assert res.stop_reason is StopReason.CONTENT_FILTER
    assert res.text == ""


async def test_openai_chat_body(mock_server: Factory) -> None:
    srv = mock_server(answer="x")
    async with make_provider("openai", srv) as p:
        await p.generate(CHAT)
    body = srv.api_requests("openai-chat")[0].body
    assert body["model"] == "gpt-4o-mini-2024-07-18"
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "上海的神秘数字是多少？"},
    ]
    assert body["max_completion_tokens"] == 16 and "max_tokens" not in body
    assert body["temperature"] == 0.0 and body["seed"] == 7 and body["stop"] == ["\n\n"]
    assert len(body["prompt_cache_key"]) == 32


async def test_openai_reasoning_model_budget(mock_server: Factory) -> None:
    srv = mock_server(answer=MockReply("4729183", reasoning_tokens=120))
    async with make_provider("openai", srv, info=resolve_model("gpt-6.1-terra")) as p:
        res = await p.generate(CHAT)
        res2 = await p.generate(GenerateRequest(messages=CHAT.messages, max_tokens=16, reasoning_budget=1000))
    first, second = (r.body for r in srv.api_requests("openai-chat"))
    assert first["max_completion_tokens"] == 16 + 8192  # registry budget on top of the answer
    assert second["max_completion_tokens"] == 1016
    assert first["reasoning_effort"] == "medium"
    assert "temperature" not in first
    assert res.usage.reasoning_tokens == 120
    assert res.usage.output_tokens == 121  # reasoning is billed output
    assert res2.text == "4729183"


async def test_compat_body_completion_mode_and_discovery(mock_server: Factory) -> None:
    srv = mock_server(answer=" 4729183", context_window=1234, model="served/model-7b")
    async with make_provider("compat", srv) as p:
        assert p.info.model_id == "served/model-7b"
        assert p.info.context_window == 1234
        res = await p.generate(GenerateRequest(prompt="问题：数字？\n答案：", max_tokens=5))
        await p.generate(CHAT)
        assert await p.count_tokens("你好 world") == 3  # vLLM-style /tokenize
    assert res.text == " 4729183"
    comp = srv.api_requests("openai-completions")[0].body
    assert comp["prompt"] == "问题：数字？\n答案：" and comp["max_tokens"] == 5
    chat = srv.api_requests("openai-chat")[0].body
    assert chat["max_tokens"] == 16 and "max_completion_tokens" not in chat
    assert "prompt_cache_key" not in chat and "cache_prompt" not in chat
    tok = srv.api_requests("tokenize")[0].body
    assert tok == {"model": "served/model-7b", "prompt": "你好 world", "add_special_tokens": False}


async def test_compat_prefix_cache_usage(mock_server: Factory) -> None:
    srv = mock_server(answer="x")
    long = "同一段上下文。" * 50
    async with make_provider("compat", srv) as p:
        a = await p.generate(GenerateRequest(prompt=long + "问题一", max_tokens=2))
        b = await p.generate(GenerateRequest(prompt=long + "问题二", max_tokens=2))
    assert a.usage.cached_input_tokens == 0
    assert b.usage.cached_input_tokens == 352  # the shared 350 tokens + "问题" = 352


async def test_anthropic_body_caching_and_prefill(mock_server: Factory) -> None:
    srv = mock_server(answer="4729183")
    req = GenerateRequest(
        messages=(Message("user", "长长的上下文。" * 200 + "问题：数字？"),),
        system="sys",
        max_tokens=8,
        prefill="答案： ",
    )
    async with make_provider("anthropic", srv) as p:
        first = await p.generate(req)
        second = await p.generate(req)
        uncached = await p.generate(GenerateRequest(messages=req.messages, max_tokens=8, cache_prefix=False))
    body = srv.api_requests("anthropic")[0].body
    assert body["system"] == [{"type": "text", "text": "sys"}]
    user, prefill = body["messages"]
    assert user["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert prefill == {"role": "assistant", "content": [{"type": "text", "text": "答案："}]}
    # anthropic 2.x's typed create() has no temperature: none is sent.
    assert "temperature" not in body and body["max_tokens"] == 8
    total = first.usage.input_tokens
    assert first.usage.cache_write_tokens and not first.usage.cached_input_tokens
    assert second.usage.cached_input_tokens == first.usage.cache_write_tokens
    assert second.usage.input_tokens == total  # the sum of the three counters
    assert first.text == "4729183"
    assert "cache_control" not in json.dumps(srv.api_requests("anthropic")[2].body)
    assert not uncached.usage.cache_write_tokens


async def test_anthropic_count_tokens(mock_server: Factory) -> None:
    srv = mock_server()
    async with make_provider("anthropic", srv) as p:
        assert await p.count_tokens("你好 world") == 3
    assert srv.api_requests("anthropic-count")[0].body["messages"] == [
        {"role": "user", "content": "你好 world"}
    ]


async def test_gemini_body_and_usage(mock_server: Factory) -> None:
    srv = mock_server(answer=MockReply("4729183", reasoning_tokens=50))
    async with make_provider("gemini", srv, info=resolve_model("gemini-3.8-flash")) as p:
        res = await p.generate(CHAT)
    rec = srv.api_requests("gemini")[0]
    assert rec.path == "/v1beta/models/gemini-3.8-flash:generateContent"
    body = rec.body
    assert body["contents"] == [{"role": "user", "parts": [{"text": "上海的神秘数字是多少？"}]}]
    assert body["systemInstruction"]["parts"][0]["text"] == "Answer briefly."
    gen = body["generationConfig"]
    assert gen["maxOutputTokens"] == 16 + 4096
    # Gemini 3+: thinking_level (thinking_budget is rejected); google-genai may send the nested field in
    # proto snake_case, which the API accepts like camelCase.
    assert list(gen["thinkingConfig"].values()) == ["LOW"]
    # Gemini 3+ keep their default temperature.
    assert gen["seed"] == 7 and "temperature" not in gen and gen["stopSequences"] == ["\n\n"]
    assert rec.headers["x-goog-api-key"]
    assert res.usage.reasoning_tokens == 50 and res.usage.output_tokens == 51
    assert res.model == "gemini-3.8-flash"  # the vendor-reported modelVersion


async def test_gemini_no_thinking_config_for_other_models(mock_server: Factory) -> None:
    srv = mock_server(answer="x")
    async with make_provider("gemini", srv) as p:
        await p.generate(
            GenerateRequest(messages=(Message("user", "a"), Message("assistant", "b"), Message("user", "c")))
        )
    body = srv.api_requests("gemini")[0].body
    assert "thinkingConfig" not in body["generationConfig"]
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]


async def test_gemini_blocked_prompt_and_cached_tokens(mock_server: Factory) -> None:
    def answer(req: MockRequest) -> MockReply:
        return MockReply("", finish="blocked") if "blocked" in req.prompt else MockReply("ok")

    srv = mock_server(answer=answer)
    long = "同一段上下文。" * 30
    async with make_provider("gemini", srv) as p:
        blocked = await p.generate(GenerateRequest(prompt="this is blocked"))
        await p.generate(GenerateRequest(prompt=long + "一"))
        cached = await p.generate(GenerateRequest(prompt=long + "二"))
        assert await p.count_tokens("你好 world") == 3
    assert blocked.stop_reason is StopReason.CONTENT_FILTER and blocked.text == ""
    assert cached.usage.cached_input_tokens == 210


@pytest.mark.parametrize("adapter_name", ["openai", "compat"])
async def test_openai_style_count_tokens(adapter_name: str, mock_server: Factory) -> None:
    srv = mock_server()
    async with make_provider(adapter_name, srv) as p:
        count = await p.count_tokens("abc")
    assert count == (None if adapter_name == "openai" else 1)


async def test_describe_request_matches_what_is_sent(adapter: str, mock_server: Factory) -> None:
    srv = mock_server(answer="x")
    async with make_provider(adapter, srv) as p:
        res = await p.generate(CHAT)
        described = p.describe_request(CHAT)
    sent = srv.api_requests()[0].body
    assert res.raw_request == described
    if adapter != "gemini":  # genai renames fields on the wire (camelCase)
        assert {k: v for k, v in described.items() if k != "endpoint"} == sent
