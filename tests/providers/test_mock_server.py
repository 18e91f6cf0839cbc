"""The fake server itself: deterministic fault draws, scripts, upstream forwarding, clean shutdown, CLI."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from providers.fakes.server import FAULTS, MockServer, mock_tokens

Factory = Callable[..., MockServer]
ROOT = Path(__file__).resolve().parents[2]
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


def _faults(srv: MockServer, n: int) -> list[str]:
    with httpx.Client(base_url=srv.url) as c:
        for _ in range(n):
            with contextlib.suppress(httpx.HTTPError):
                c.post("/v1/chat/completions", json=CHAT)
    return [r.fault for r in srv.api_requests()]


def test_fault_draws_are_deterministic_per_seed(mock_server: Factory) -> None:
    kwargs = {"fault_rate": 0.5, "faults": ["429", "500", "malformed"]}
    a = _faults(mock_server(seed=3, **kwargs), 30)
    b = _faults(mock_server(seed=3, **kwargs), 30)
    c = _faults(mock_server(seed=4, **kwargs), 30)
    assert a == b
    assert a != c
    assert 5 < sum(f != "ok" for f in a) < 25


def test_script_comes_first_then_rate(mock_server: Factory) -> None:
    srv = mock_server(script=["500", "ok", "429"], fault_rate=1.0, faults=["503"])
    assert _faults(srv, 5) == ["500", "ok", "429", "503", "503"]
    srv.reset(script=["404"], fault_rate=0.0)
    assert _faults(srv, 2) == ["404", "ok"]
    assert srv.fault_counts == {"404": 1, "ok": 1}


def test_unknown_fault_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        MockServer(faults=["teapot"])
    with pytest.raises(ValueError, match="fault_rate"):
        MockServer(fault_rate=2)
    assert "drop" in FAULTS and "slow" in FAULTS


def test_non_api_paths_get_no_faults(mock_server: Factory) -> None:
    srv = mock_server(fault_rate=1.0, faults=["500"], context_window=77, model="mm")
    with httpx.Client(base_url=srv.url) as c:
        assert c.get("/health").json() == {"status": "ok"}
        models = c.get("/v1/models").json()["data"][0]
        assert (models["id"], models["max_model_len"]) == ("mm", 77)
        assert c.post("/tokenize", json={"content": "你好 a"}).json()["count"] == 3
        assert c.get("/nope").status_code == 404


def test_wire_shapes(mock_server: Factory) -> None:
    srv = mock_server(answer="好的 ok")
    with httpx.Client(base_url=srv.url) as c:
        chat = c.post("/v1/chat/completions", json=CHAT).json()
        assert chat["object"] == "chat.completion" and chat["choices"][0]["message"]["content"] == "好的 ok"
        assert chat["usage"]["prompt_tokens"] == 1 and chat["usage"]["completion_tokens"] == 3
        msg = c.post("/v1/messages", json=CHAT).json()
        assert msg["type"] == "message" and msg["stop_reason"] == "end_turn"
        gem = c.post(
            "/v1beta/models/gemini-x:generateContent",
            json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        ).json()
        assert (
            gem["candidates"][0]["finishReason"] == "STOP" and gem["usageMetadata"]["promptTokenCount"] == 1
        )
        assert gem["modelVersion"] == "gemini-x"
        count_body = {k: v for k, v in CHAT.items() if k != "max_tokens"}
        assert c.post("/v1/messages/count_tokens", json=count_body).json() == {"input_tokens": 1}
        # Strict: count_tokens takes no max_tokens (anthropic's MessageCountTokensParams).
        rejected = c.post("/v1/messages/count_tokens", json=CHAT)
        assert rejected.status_code == 400 and "max_tokens" in rejected.json()["error"]["message"]
        err = c.post("/v1/messages", content=b"not json")
        assert err.status_code == 400 and err.json()["type"] == "error"


def test_429_carries_retry_after(mock_server: Factory) -> None:
    srv = mock_server(script=["429", "429"], retry_after=2.5)
    with httpx.Client(base_url=srv.url) as c:
        r = c.post("/v1/chat/completions", json=CHAT)
        assert r.status_code == 429 and r.headers["retry-after"] == "2.5"
        g = c.post("/v1beta/models/g:generateContent", json={"contents": []})
        assert g.json()["error"]["details"][0]["retryDelay"] == "2.5s"
        assert "retry-after" not in g.headers  # Google: the wait is in the body only


def test_upstream_forwarding_with_faults_in_front(mock_server: Factory) -> None:
    upstream = mock_server(answer="from upstream", model="up")
    front = mock_server(upstream=upstream.url, script=["500"])
    with httpx.Client(base_url=front.url) as c:
        assert c.post("/v1/chat/completions", json=CHAT).status_code == 500
        ok = c.post("/v1/chat/completions", json=CHAT).json()
        assert ok["choices"][0]["message"]["content"] == "from upstream"
        assert c.get("/v1/models").json()["data"][0]["id"] == "up"  # forwarded
        assert c.post("/tokenize", json={"content": "a b"}).json()["count"] == 2
    assert len(upstream.api_requests("openai-chat")) == 1  # the faulted call never reached it


def test_stop_does_not_hang_on_a_stalled_request() -> None:
    srv = MockServer(fault_rate=1.0, faults=["slow"], slow_s=60)
    srv.start()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.post(srv.url + "/v1/chat/completions", json=CHAT, timeout=30)
        except BaseException as exc:  # the connection is cut by stop()
            errors.append(exc)

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    srv.stop()
    t.join(timeout=10)
    assert time.monotonic() - t0 < 5
    assert not t.is_alive() and errors
    srv.stop()  # idempotent


def test_mock_tokens() -> None:
    assert mock_tokens("你好，world 42") == ["你", "好", "，", "world", "42"]


def test_cli_serves_until_terminated() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "providers.fakes.server", "--answer", "cli-ok", "--latency", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        r = httpx.post(url + "/v1/chat/completions", json=CHAT)
        assert r.json()["choices"][0]["message"]["content"] == "cli-ok"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_cli_bad_fault_is_one_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "providers.fakes.server", "--faults", "teapot"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "unknown fault" in out.stderr
