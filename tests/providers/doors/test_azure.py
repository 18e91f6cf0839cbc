"""issue 18: the Azure OpenAI door against the fake resource (Azure paths, api-version, api-key / Entra ID
bearer, error bodies; request bodies checked against the openai SDK's types)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evals.run import main
from providers.base import GenerateRequest, Message, RetryPolicy, StopReason, set_default_retry_policy
from providers.doors.azure.adapter import AzureOpenAIProvider, AzureResponsesProvider
from providers.doors.azure.fake import AzureFake
from providers.errors import AuthError, ConfigError, NotFoundError
from providers.mock_server import MockReply
from providers.registry import apply_overrides, create_provider, resolve_api_key, resolve_model
from tests.evals.execution.test_run_mock import perfect_model, read_records

KEY = "azure-key-DO-NOT-LEAK-0123456789abcdef"
VERSION = "2024-10-21"
CHAT = GenerateRequest(
    messages=(Message("user", "上海的神秘数字是多少？"),), system="Answer briefly.", max_tokens=16
)


@pytest.fixture(autouse=True)
def azure_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in (
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_AD_TOKEN",
        "OPENAI_API_VERSION",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("NIAH_MODELS_FILE", raising=False)
    old = set_default_retry_policy(RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05))
    yield
    set_default_retry_policy(old)


@pytest.fixture
def fake() -> Iterator[AzureFake]:
    deployments = {"prod-chat": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
    with AzureFake(deployments=deployments, api_key=KEY, ad_token="entra-token-xyz", answer="4729183") as srv:
        yield srv


def _env(monkeypatch: pytest.MonkeyPatch, fake: AzureFake, *, key: bool = True) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    monkeypatch.setenv("OPENAI_API_VERSION", VERSION)
    if key:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)


def test_a_deployment_named_after_a_model_borrows_its_entry() -> None:
    info = resolve_model("azure:gpt-4o-mini")
    openai_entry = resolve_model("gpt-4o-mini")
    assert info.provider == "azure" and info.model_id == "gpt-4o-mini" and info.alias == "azure:gpt-4o-mini"
    assert info.context_window == openai_entry.context_window
    assert info.tokenizer == openai_entry.tokenizer and info.prices == openai_entry.prices
    bare = resolve_model("azure:prod-chat")
    assert bare.context_window == 0 and bare.prices is None and bare.discover


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "AZURE_OPENAI_ENDPOINT"),
        ({"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com"}, "OPENAI_API_VERSION"),
        ({"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "OPENAI_API_VERSION": "v1"}, "YYYY-MM-DD"),
        (
            {"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "OPENAI_API_VERSION": VERSION},
            "AZURE_OPENAI_API_KEY",
        ),
    ],
)
def test_missing_settings_name_what_to_set(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_api_key(resolve_model("azure:gpt-4o-mini"), env)
    assert named in str(info.value) and "\n" not in str(info.value)


def test_base_url_stands_in_for_the_endpoint() -> None:
    env = {"OPENAI_API_VERSION": VERSION, "AZURE_OPENAI_API_KEY": KEY}
    assert (
        resolve_api_key(resolve_model("azure:gpt-4o-mini"), env, base_url="https://r.openai.azure.com") == KEY
    )


async def test_chat_through_the_deployment_path(fake: AzureFake, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, fake)
    async with create_provider(resolve_model("azure:gpt-4o-mini")) as p:
        assert isinstance(p, AzureOpenAIProvider)
        res = await p.generate(CHAT)
    rec = fake.api_requests("openai-chat")[0]
    assert rec.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert rec.headers["api-key"] == KEY and "authorization" not in rec.headers
    assert "prompt_cache_key" not in rec.body
    assert res.text == "4729183" and res.stop_reason is StopReason.STOP
    assert res.model == "gpt-4o-mini-2024-07-18"  # the deployment's model, from the response
    assert KEY not in repr(res.raw_request) + repr(res.raw_response)


async def test_bare_deployment_is_probed_for_its_model(
    fake: AzureFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, fake)
    info = apply_overrides(resolve_model("azure:prod-chat"), context_window=100_000)
    async with create_provider(info) as p:
        assert p.info.tokenizer == resolve_model("gpt-4o").tokenizer and p.info.tokenizer_exact
        assert p.info.prices == resolve_model("gpt-4o").prices
        assert p.info.context_window == 100_000  # the given window stays
        res = await p.generate(CHAT)
    probe, _call = fake.api_requests("openai-chat")
    assert probe.body["max_completion_tokens"] == 1
    assert res.model == "gpt-4o-2024-08-06"


async def test_entra_id_token(fake: AzureFake, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, fake, key=False)
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", "entra-token-xyz")
    async with create_provider(resolve_model("azure:gpt-4o-mini")) as p:
        await p.generate(CHAT)
    rec = fake.api_requests("openai-chat")[0]
    assert rec.headers["authorization"] == "Bearer entra-token-xyz" and "api-key" not in rec.headers


async def test_wrong_key_and_unknown_deployment(fake: AzureFake, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, fake)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "wrong-key")
    async with create_provider(resolve_model("azure:gpt-4o-mini")) as p:
        with pytest.raises(AuthError):
            await p.generate(CHAT)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    info = apply_overrides(resolve_model("azure:gpt-4o"), context_window=1000)  # no such deployment
    async with create_provider(info) as p:
        with pytest.raises(NotFoundError):
            await p.generate(CHAT)


async def test_content_filter_is_an_outcome(fake: AzureFake, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, fake)
    async with create_provider(resolve_model("azure:gpt-4o-mini")) as p:
        res = await p.generate(GenerateRequest(messages=(Message("user", "FILTER-ME now"),), max_tokens=4))
    assert res.stop_reason is StopReason.CONTENT_FILTER and res.text == ""
    assert res.raw_response["error"]["innererror"]["code"] == "ResponsibleAIPolicyViolation"


async def test_429_retry_after_ms_is_honoured(fake: AzureFake, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, fake)
    fake.retry_after = 0.05
    fake.reset(script=["429"])
    async with create_provider(resolve_model("azure:gpt-4o-mini")) as p:
        res = await p.generate(CHAT)
    assert res.attempts == 2 and res.text == "4729183"


async def test_completion_cut_and_responses_api(fake: AzureFake, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, fake)
    fake.answer = MockReply("one two three")
    info = resolve_model("azure:gpt-4o-mini")
    async with create_provider(info) as p:
        res = await p.generate(GenerateRequest(messages=(Message("user", "count"),), max_tokens=2))
    assert res.stop_reason is StopReason.TRUNCATED and res.text == "one two"
    info = info.model_copy(update={"api": "responses"})
    async with create_provider(info) as p:
        assert isinstance(p, AzureResponsesProvider)
        res = await p.generate(GenerateRequest(messages=(Message("user", "count"),), max_tokens=2))
    rec = fake.api_requests("openai-responses")[0]
    assert rec.path == "/openai/responses" and rec.body["model"] == "gpt-4o-mini"
    assert res.stop_reason is StopReason.TRUNCATED and res.model == "gpt-4o-mini-2024-07-18"


async def test_fake_is_strict(fake: AzureFake) -> None:
    url = "/openai/deployments/gpt-4o-mini/chat/completions"
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
    async with httpx.AsyncClient(base_url=fake.url, headers={"api-key": KEY}) as c:
        missing = await c.post(url, json=body)
        unknown = await c.post(url, params={"api-version": "2023-01-01"}, json=body)
        extra = await c.post(url, params={"api-version": VERSION}, json={**body, "cache_prompt": True})
        v1_path = await c.post("/v1/chat/completions", params={"api-version": VERSION}, json=body)
    assert missing.status_code == 404 and missing.json() == {
        "error": {"code": "404", "message": "Resource not found"}
    }
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "BadRequest"
    assert extra.status_code == 400 and "cache_prompt" in extra.json()["error"]["message"]
    assert v1_path.status_code == 404


def test_cli_end_to_end(
    fake: AzureFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_VERSION", VERSION)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    fake.answer = perfect_model
    out = tmp_path / "run"
    argv = ["--model", "azure:prod-chat", "--context-window", "100000", "--base-url", fake.url]
    argv += ["--lengths", "300,600", "--depths", "0,100", "--out", str(out), "--no-report"]
    assert main(argv) == 0
    records = read_records(out / "results.jsonl")
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    assert {r["model_id"] for r in records} == {"gpt-4o-2024-08-06"}
    text = (out / "results.jsonl").read_text() + capsys.readouterr().err
    assert KEY not in text


def test_cli_missing_api_version_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    out = tmp_path / "run"
    argv = ["--model", "azure:gpt-4o-mini", "--base-url", "https://r.openai.azure.com", "--out", str(out)]
    assert main([*argv, "--lengths", "300", "--depths", "0", "--no-report"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "OPENAI_API_VERSION" in err[0]
    assert not out.exists()
