"""issue 18: the Amazon Bedrock door against the fake runtime: SigV4 (recomputed by the fake with botocore)
or a Bedrock API key, ``anthropic_version: bedrock-2023-05-31``, Bedrock's error format, CountTokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evals.run import main
from providers.base import GenerateRequest, Message, RetryPolicy, StopReason, set_default_retry_policy
from providers.doors.bedrock import anthropic_id, foundation_id
from providers.doors.bedrock.adapter import BedrockProvider
from providers.doors.bedrock.fake import BedrockFake
from providers.errors import AuthError, ConfigError, ProviderError
from providers.mock_server import MockReply
from providers.registry import apply_overrides, create_provider, resolve_api_key, resolve_model
from tests.evals.execution.test_run_mock import perfect_model, read_records

AKID, SECRET = "AKIAFAKEFAKEFAKE0000", "fake/secret/DO-NOT-LEAK/0123456789abcdefgh"
TOKEN = "ABSKfake-bedrock-api-key-DO-NOT-LEAK"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
CHAT = GenerateRequest(
    messages=(Message("user", "上海的神秘数字是多少？"),), system="Answer briefly.", max_tokens=16
)
ENV = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_BEARER_TOKEN_BEDROCK",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "NIAH_MODELS_FILE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    # No shared config/credentials files of this machine, no instance metadata lookups.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # The SDK keeps one boto3 session per (keys, region, profile) for the process; tests change the env.
    from anthropic.lib.aws._auth import _get_session

    _get_session.cache_clear()
    old = set_default_retry_policy(RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05))
    yield
    set_default_retry_policy(old)


@pytest.fixture
def fake() -> Iterator[BedrockFake]:
    models = {HAIKU: "claude-haiku-4-5-20251001", PROFILE: "claude-haiku-4-5-20251001"}
    with BedrockFake(models=models, access_keys={AKID: SECRET}, bearer_token=TOKEN, answer="4729183") as srv:
        yield srv


def _sigv4_env(monkeypatch: pytest.MonkeyPatch, region: str = "us-east-1") -> None:
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


def test_ids() -> None:
    assert foundation_id(PROFILE) == HAIKU and foundation_id(HAIKU) == HAIKU
    assert anthropic_id(PROFILE) == "claude-haiku-4-5-20251001"
    info = resolve_model(f"bedrock:{PROFILE}")
    claude = resolve_model("claude-haiku-4-5")
    assert info.provider == "bedrock" and info.model_id == PROFILE
    assert (info.context_window, info.prices, info.thinking) == (
        claude.context_window,
        claude.prices,
        claude.thinking,
    )
    assert info.count_api


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "AWS_REGION"),
        ({"AWS_REGION": "us-east-1"}, "AWS_ACCESS_KEY_ID"),
    ],
)
def test_missing_settings_name_what_to_set(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_api_key(resolve_model(f"bedrock:{HAIKU}"), env)
    assert named in str(info.value) and "\n" not in str(info.value)


async def test_sigv4_invoke_and_count(fake: BedrockFake, monkeypatch: pytest.MonkeyPatch) -> None:
    _sigv4_env(monkeypatch)
    async with create_provider(resolve_model(f"bedrock:{PROFILE}"), base_url=fake.url) as p:
        assert isinstance(p, BedrockProvider)
        res = await p.generate(CHAT)
        count = await p.count_tokens("上海的神秘数字")
    gen, cnt = fake.api_requests("anthropic")[0], fake.api_requests("anthropic-count")[0]
    assert gen.path == f"/model/{PROFILE}/invoke"
    assert gen.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={AKID}/")
    assert gen.body["anthropic_version"] == "bedrock-2023-05-31" and "model" not in gen.body
    assert cnt.path == f"/model/{HAIKU}/count-tokens"  # counting takes the foundation-model id
    assert res.text == "4729183" and res.stop_reason is StopReason.STOP
    assert res.model == "claude-haiku-4-5-20251001"
    assert count == 7
    assert SECRET not in repr(res.raw_request) + repr(res.raw_response)


async def test_bearer_token(fake: BedrockFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", TOKEN)
    async with create_provider(resolve_model(f"bedrock:{HAIKU}"), base_url=fake.url) as p:
        res = await p.generate(CHAT)
    assert fake.api_requests("anthropic")[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(res.raw_request) + repr(res.raw_response)


async def test_wrong_secret_and_region_are_refused(
    fake: BedrockFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sigv4_env(monkeypatch)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    async with create_provider(resolve_model(f"bedrock:{HAIKU}"), base_url=fake.url) as p:
        with pytest.raises(AuthError) as err:
            await p.generate(CHAT)
    assert "signature we calculated does not match" in str(err.value)
    _sigv4_env(monkeypatch, region="eu-west-1")
    async with create_provider(resolve_model(f"bedrock:{HAIKU}"), base_url=fake.url) as p:
        with pytest.raises(AuthError):
            await p.generate(CHAT)


async def test_bedrock_errors(fake: BedrockFake, monkeypatch: pytest.MonkeyPatch) -> None:
    _sigv4_env(monkeypatch)
    fake.reset(script=["429", "503"])
    async with create_provider(resolve_model(f"bedrock:{HAIKU}"), base_url=fake.url) as p:
        res = await p.generate(CHAT)
        assert res.attempts == 3
        fake.context_window = 5
        over = await p.generate(CHAT)
        assert over.stop_reason is StopReason.MODEL_LENGTH
        fake.context_window = None
        with pytest.raises(ProviderError) as err:
            info = apply_overrides(
                resolve_model("bedrock:anthropic.claude-nonexistent-v1:0"), context_window=1000
            )
            async with create_provider(info, base_url=fake.url) as q:
                await q.generate(CHAT)
    assert "model identifier is invalid" in str(err.value)


async def test_truncation(fake: BedrockFake, monkeypatch: pytest.MonkeyPatch) -> None:
    _sigv4_env(monkeypatch)
    fake.answer = MockReply("one two three")
    async with create_provider(resolve_model(f"bedrock:{HAIKU}"), base_url=fake.url) as p:
        res = await p.generate(
            GenerateRequest(messages=(Message("user", "count"),), max_tokens=2, reasoning_budget=0)
        )
    assert res.stop_reason is StopReason.TRUNCATED and res.text == "one two"


async def test_fake_is_strict(fake: BedrockFake) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
    }
    auth = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=fake.url) as c:
        unsigned = await c.post(f"/model/{HAIKU}/invoke", json=body)
        wrong_version = await c.post(
            f"/model/{HAIKU}/invoke", json={**body, "anthropic_version": "2023-06-01"}, headers=auth
        )
        extra = await c.post(f"/model/{HAIKU}/invoke", json={**body, "temperature2": 1}, headers=auth)
        with_model = await c.post(f"/model/{HAIKU}/invoke", json={**body, "model": HAIKU}, headers=auth)
        profile_count = await c.post(f"/model/{PROFILE}/count-tokens", json={"input": {}}, headers=auth)
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException")
    assert wrong_version.status_code == 400 and wrong_version.headers["x-amzn-ErrorType"].startswith(
        "ValidationException"
    )
    assert extra.json() == {"message": "extraneous key [temperature2] is not permitted"}
    assert with_model.json() == {"message": "extraneous key [model] is not permitted"}
    assert profile_count.json() == {"message": "The provided model doesn't support counting tokens."}


def test_cli_end_to_end(
    fake: BedrockFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _sigv4_env(monkeypatch)
    fake.answer = perfect_model
    out = tmp_path / "run"
    argv = [
        "--model",
        f"bedrock:{PROFILE}",
        "--base-url",
        fake.url,
        "--lengths",
        "300,600",
        "--depths",
        "0,100",
    ]
    assert main([*argv, "--out", str(out), "--no-report"]) == 0
    records = read_records(out / "results.jsonl")
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    assert {r["model_id"] for r in records} == {"claude-haiku-4-5-20251001"}
    assert fake.api_requests("anthropic-count")  # lengths through CountTokens
    assert SECRET not in (out / "results.jsonl").read_text() + capsys.readouterr().err


def test_cli_missing_region_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    argv = ["--model", f"bedrock:{HAIKU}", "--out", str(out), "--lengths", "300", "--depths", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "AWS_REGION" in err[0]
    assert not out.exists()
