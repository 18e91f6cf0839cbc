"""End to end against the real local model: llama.cpp's server (xllamacpp) running Gemma 3 270M.
The OpenAI and Anthropic adapters go through their official SDKs over real HTTP; the default model
starts and stops cleanly. Prompts are kept short (2 CPU cores)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from providers.base import GenerateRequest, Message, StopReason
from providers.doors.local.server import LocalServer
from providers.errors import LocalModelError
from providers.registry import create_provider, resolve_model
from tests.conftest import LOCAL_TEST_N_CTX
from tests.providers.conftest import FAKE_KEY

ROOT = Path(__file__).resolve().parents[2]
TOO_LONG = "word " * (LOCAL_TEST_N_CTX + 500)


@pytest.mark.slow
async def test_openai_adapter_through_sdk(local_server: LocalServer) -> None:
    p = create_provider(resolve_model("gpt-4o-mini"), base_url=local_server.url + "/v1", api_key=FAKE_KEY)
    async with p:
        res = await p.generate(
            GenerateRequest(messages=(Message("user", "Say hello."),), system="Be brief.", max_tokens=4)
        )
        over = await p.generate(GenerateRequest(messages=(Message("user", TOO_LONG),), max_tokens=4))
    assert res.stop_reason in (StopReason.STOP, StopReason.TRUNCATED)
    assert isinstance(res.text, str) and res.usage.output_tokens is not None and res.usage.output_tokens <= 4
    assert res.usage.input_tokens is not None and res.usage.input_tokens > 5
    assert res.model == "gemma-3-270m-q4_k_m"
    assert res.server_timings is not None and "prompt_n" in res.server_timings
    assert over.stop_reason is StopReason.MODEL_LENGTH
    assert over.usage.input_tokens is not None and over.usage.input_tokens > LOCAL_TEST_N_CTX
    assert over.attempts == 1


@pytest.mark.slow
async def test_anthropic_adapter_through_sdk(local_server: LocalServer) -> None:
    p = create_provider(resolve_model("claude-haiku-4-5"), base_url=local_server.url, api_key=FAKE_KEY)
    async with p:
        res = await p.generate(
            GenerateRequest(messages=(Message("user", "Say hello."),), system="Be brief.", max_tokens=4)
        )
        counted = await p.count_tokens("Say hello.")
        over = await p.generate(GenerateRequest(messages=(Message("user", TOO_LONG),), max_tokens=4))
    assert res.stop_reason in (StopReason.STOP, StopReason.TRUNCATED)
    assert res.usage.output_tokens is not None and 0 < res.usage.output_tokens <= 4
    assert res.usage.input_tokens is not None and res.usage.input_tokens > 5
    assert counted is not None and counted > 3
    assert over.stop_reason is StopReason.MODEL_LENGTH
    assert over.usage.input_tokens is not None and over.usage.input_tokens > LOCAL_TEST_N_CTX


@pytest.mark.slow
async def test_completion_mode_exact_counts_and_prefix_cache(local_server: LocalServer) -> None:
    # The registry's local model, pointed at an already running server: window discovered from it.
    p = create_provider(resolve_model("gemma-3-270m"), base_url=local_server.url + "/v1")
    assert p.info.context_window == LOCAL_TEST_N_CTX
    assert p.info.tokenizer == f"llamacpp:{local_server.url}"
    prefix = "The quick brown fox jumps over the lazy dog. " * 12
    async with p:
        shared = await p.count_tokens(prefix)
        first_prompt = prefix + "Question: what jumps? Answer:"
        first = await p.generate(GenerateRequest(prompt=first_prompt, max_tokens=3))
        second = await p.generate(
            GenerateRequest(prompt=prefix + "Question: what is lazy? Answer:", max_tokens=3)
        )
        counted = await p.count_tokens(first_prompt)
    assert shared is not None and shared > 100
    assert counted is not None and first.usage.input_tokens == counted + 1  # + BOS
    assert second.server_timings is not None
    assert second.server_timings["cache_n"] >= shared - 2  # the shared prefix was not recomputed
    assert second.usage.cached_input_tokens == second.server_timings["cache_n"]
    assert second.server_timings["prompt_n"] < 20


@pytest.mark.slow
async def test_local_model_finds_a_needle(local_server: LocalServer) -> None:
    p = create_provider(resolve_model("gemma-3-270m"), base_url=local_server.url + "/v1")
    filler = "这是一段采访记录，我们聊了很多关于城市生活的问题。" * 8
    prompt = filler + "上海的神秘数字是4729183。" + filler + "\n问题：上海的神秘数字是多少？\n答案："
    async with p:
        res = await p.generate(GenerateRequest(prompt=prompt, max_tokens=8))
    assert "4729183" in res.text


@pytest.mark.slow
async def test_default_model_starts_and_stops() -> None:
    p = create_provider(resolve_model(None), n_ctx=1024)
    url = p.info.tokenizer.removeprefix("llamacpp:")
    assert p.info.context_window == 1024
    assert p.base_url == url + "/v1" and url.startswith("http://127.0.0.1:")
    async with p:
        res = await p.generate(GenerateRequest(prompt="The capital of France is", max_tokens=3))
        assert res.usage.input_tokens == 6
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/health", timeout=2)


@pytest.mark.slow
def test_interpreter_exit_with_a_running_server_is_clean_and_quiet() -> None:
    code = (
        "from providers import create_provider, resolve_model\n"
        "p = create_provider(resolve_model('gemma-3-270m'), n_ctx=512)\n"
        "print(p.info.tokenizer)\n"  # never closed: the atexit hook must stop it
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("llamacpp:http://127.0.0.1:")
    assert out.stderr == ""  # llama.cpp is silent unless verbose


def test_bad_local_settings_fail_clearly() -> None:
    with pytest.raises(LocalModelError, match="between 256 and 32768"):
        LocalServer(n_ctx=100)
    with pytest.raises(LocalModelError, match="between 256 and 32768"):
        create_provider(resolve_model("gemma-3-270m"), n_ctx=40000)
    with pytest.raises(LocalModelError, match="failed to start"):
        LocalServer(model_path="/nonexistent/model.gguf", n_ctx=512).start()
    with pytest.raises(LocalModelError, match="not running"):
        _ = LocalServer().url


@pytest.mark.slow
async def test_faults_in_front_of_the_real_server(local_server: LocalServer) -> None:
    from providers.fakes.server import MockServer

    with MockServer(upstream=local_server.url, script=["429", "500", "drop"]) as front:
        p = create_provider(resolve_model("gemma-3-270m"), base_url=front.url + "/v1")
        assert p.info.context_window == LOCAL_TEST_N_CTX  # discovered through the proxy
        async with p:
            res = await p.generate(GenerateRequest(prompt="The capital of France is", max_tokens=3))
            assert await p.count_tokens("The capital of France is") == 5
    assert res.attempts == 4
    assert res.usage.input_tokens == 6 and res.server_timings is not None
    assert [r.fault for r in front.api_requests("openai-completions")] == ["429", "500", "drop", "ok"]


def test_thread_count_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    from providers.doors.local import server as local_server

    monkeypatch.delenv("NIAH_LOCAL_THREADS", raising=False)
    # The default is one thread per measured free core (test_local_threads.py covers the measure).
    monkeypatch.setattr(local_server, "free_cores", lambda: 1.0)
    assert LocalServer().n_threads == 1
    monkeypatch.setattr(local_server, "free_cores", lambda: 2.0)
    monkeypatch.setattr(local_server, "_cpu_count", lambda: 4)
    assert LocalServer().n_threads == 2
    assert LocalServer(n_threads=5).n_threads == 5
    monkeypatch.setenv("NIAH_LOCAL_THREADS", "3")
    assert LocalServer().n_threads == 3
    monkeypatch.setenv("NIAH_LOCAL_THREADS", "0")
    with pytest.raises(LocalModelError, match=">= 1"):
        LocalServer()


def test_host_prompt_cache_off_by_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIAH_LOCAL_CACHE_RAM_MIB", raising=False)
    assert LocalServer().cache_ram_mib == 0
    assert LocalServer(cache_ram_mib=512).cache_ram_mib == 512
    monkeypatch.setenv("NIAH_LOCAL_CACHE_RAM_MIB", "8192")
    assert LocalServer().cache_ram_mib == 8192
    monkeypatch.setenv("NIAH_LOCAL_CACHE_RAM_MIB", "lots")
    with pytest.raises(LocalModelError, match="whole number"):
        LocalServer()
