"""issue 18: the Vertex AI door against the fake endpoint: project mode with application default
credentials (an ``authorized_user`` file whose token endpoint is the fake) and express mode (an API key, no
project); bodies validated against google-genai's models; Google error bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.run import main
from providers.base import GenerateRequest, Message, RetryPolicy, StopReason, set_default_retry_policy
from providers.doors.vertex.adapter import VertexProvider
from providers.doors.vertex.fake import VertexFake
from providers.errors import AuthError, ConfigError, NotFoundError
from providers.mock_server import MockReply
from providers.registry import apply_overrides, create_provider, resolve_api_key, resolve_model
from tests.evals.execution.test_run_mock import perfect_model, read_records

KEY = "fake-vertex-key-DO-NOT-LEAK-0123456789"
PROJECT = "niah-test-project"
CHAT = GenerateRequest(
    messages=(Message("user", "上海的神秘数字是多少？"),), system="Answer briefly.", max_tokens=16
)
ENV = (
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_API_VERSION",
    "NIAH_MODELS_FILE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud ADC of this machine
    old = set_default_retry_policy(RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05))
    yield
    set_default_retry_policy(old)


@pytest.fixture
def fake() -> Iterator[VertexFake]:
    with VertexFake(project=PROJECT, api_key=KEY, models=["gemini-2.5-flash"], answer="4729183") as srv:
        yield srv


def _adc(
    monkeypatch: pytest.MonkeyPatch, fake: VertexFake, tmp_path: Path, location: str = "us-central1"
) -> None:
    creds = tmp_path / "adc.json"
    creds.write_text(json.dumps(fake.credentials_file()))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(creds))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", location)


def test_vertex_names_borrow_the_gemini_entry() -> None:
    info = resolve_model("vertex:gemini-2.5-flash")
    gemini = resolve_model("gemini:gemini-2.5-flash")
    assert info.provider == "vertex" and info.model_id == "gemini-2.5-flash"
    assert (info.context_window, info.prices, info.thinking) == (
        gemini.context_window,
        gemini.prices,
        gemini.thinking,
    )
    assert info.count_api


def test_nothing_set_names_both_ways() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_api_key(resolve_model("vertex:gemini-2.5-flash"), {})
    assert "GOOGLE_CLOUD_PROJECT" in str(info.value) and "GOOGLE_API_KEY" in str(info.value)


async def test_project_mode_with_adc(
    fake: VertexFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _adc(monkeypatch, fake, tmp_path)
    async with create_provider(resolve_model("vertex:gemini-2.5-flash"), base_url=fake.url) as p:
        assert isinstance(p, VertexProvider)
        res = await p.generate(CHAT)
        count = await p.count_tokens("上海的神秘数字")
    gen, cnt = fake.api_requests("gemini")[0], fake.api_requests("gemini-count")[0]
    prefix = f"/v1beta1/projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-2.5-flash"
    assert gen.path == prefix + ":generateContent" and cnt.path == prefix + ":countTokens"
    assert (
        gen.headers["authorization"].startswith("Bearer ya29.fake-") and "x-goog-api-key" not in gen.headers
    )
    assert gen.body["systemInstruction"]["parts"][0]["text"] == "Answer briefly."
    assert res.text == "4729183" and res.stop_reason is StopReason.STOP
    assert count == 7
    assert res.raw_request["endpoint"] == prefix + ":generateContent"


async def test_express_mode(fake: VertexFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", KEY)
    async with create_provider(resolve_model("vertex:gemini-2.5-flash"), base_url=fake.url) as p:
        res = await p.generate(CHAT)
    rec = fake.api_requests("gemini")[0]
    assert rec.path == "/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert rec.headers["x-goog-api-key"] == KEY and "authorization" not in rec.headers
    assert res.text == "4729183"
    assert KEY not in repr(res.raw_request) + repr(res.raw_response)


async def test_errors(fake: VertexFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-wrong")
    async with create_provider(resolve_model("vertex:gemini-2.5-flash"), base_url=fake.url) as p:
        with pytest.raises(AuthError) as err:
            await p.generate(CHAT)
    assert "AIza-wrong" not in str(err.value)
    monkeypatch.delenv("GOOGLE_API_KEY")
    _adc(monkeypatch, fake, tmp_path)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "someone-elses")
    async with create_provider(resolve_model("vertex:gemini-2.5-flash"), base_url=fake.url) as p:
        with pytest.raises(AuthError) as denied:
            await p.generate(CHAT)
    assert "Permission denied on resource project someone-elses" in str(denied.value)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    info = apply_overrides(resolve_model("vertex:gemini-9-imaginary"), context_window=1000)
    async with create_provider(info, base_url=fake.url) as p:
        with pytest.raises(NotFoundError):
            await p.generate(CHAT)


async def test_429_retry_info_and_truncation(
    fake: VertexFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _adc(monkeypatch, fake, tmp_path, location="global")
    fake.retry_after = 0.05
    fake.reset(script=["429"])
    fake.answer = MockReply("one two three")
    async with create_provider(resolve_model("vertex:gemini-2.5-flash"), base_url=fake.url) as p:
        res = await p.generate(
            GenerateRequest(messages=(Message("user", "count"),), max_tokens=2, reasoning_budget=0)
        )
    assert fake.api_requests("gemini")[-1].body["generationConfig"]["maxOutputTokens"] == 2
    assert res.attempts == 2
    assert res.stop_reason is StopReason.TRUNCATED


def test_cli_end_to_end_project_and_express(
    fake: VertexFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.answer = perfect_model
    grid = ["--lengths", "300,600", "--depths", "0,100", "--no-report", "--base-url", fake.url]
    _adc(monkeypatch, fake, tmp_path)
    assert main(["--model", "vertex:gemini-2.5-flash", "--out", str(tmp_path / "adc"), *grid]) == 0
    for var in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("GOOGLE_API_KEY", KEY)
    assert main(["--model", "vertex:gemini-2.5-flash", "--out", str(tmp_path / "express"), *grid]) == 0
    for run in ("adc", "express"):
        records = read_records(tmp_path / run / "results.jsonl")
        assert len(records) == 4 and all(r["status"] == "ok" for r in records)
        assert KEY not in (tmp_path / run / "results.jsonl").read_text()
    assert fake.api_requests("gemini-count")  # lengths sized through Vertex's countTokens
    assert KEY not in capsys.readouterr().err


def test_cli_without_project_or_key_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    argv = ["--model", "vertex:gemini-2.5-flash", "--out", str(out), "--lengths", "300", "--depths", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "GOOGLE_CLOUD_PROJECT" in err[0]
    assert not out.exists()


def test_cli_project_without_credentials_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")  # no metadata server: the ping fails at once
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    out = tmp_path / "run"
    argv = ["--model", "vertex:gemini-2.5-flash", "--out", str(out), "--lengths", "300", "--depths", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "application default credentials" in err[0] and "GOOGLE_API_KEY" in err[0]
    assert not out.exists()
