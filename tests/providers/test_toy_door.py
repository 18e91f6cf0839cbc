"""A new door through the documented recipe (docs/ARCHITECTURE.md, "Adding a door"): one folder in a package
of its own plus one registry entry, and a cell runs through ``python -m evals.run``'s entry against the door's
fake, with no file of the suite edited.

The toy door speaks a made-up JSON API (``POST /toy/v1/generate``, a ``Toy-Key`` header, errors as
``{"fault": {"reason", "detail"}}``); its folder holds ``__init__.py`` (the door and its capabilities),
``adapter.py`` (the provider) and ``fake.py`` (its wire for the shared fake-server harness).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from providers.fakes.harness import FakeServer, MockRequest

DOOR_INIT = '''
"""The toy door: a made-up vendor API (a test of the door recipe)."""

from __future__ import annotations

from providers.door import CacheRules, Capabilities, Door


class ToyDoor(Door):
    name = "toy"
    prefixes = ("toy",)
    key_env = ("TOY_API_KEY",)
    default_tokenizer = "cl100k_base"

    def capabilities(self, info):
        return Capabilities(cache=CacheRules(mode="automatic", min_prefix_tokens=64), count_api=False)

    def adapter(self):
        from toydoors.toy.adapter import ToyProvider

        return ToyProvider

    def answering_model(self, raw_model_id):
        return raw_model_id.removeprefix("toy/")


DOOR = ToyDoor()
'''

DOOR_ADAPTER = '''
"""The toy door's adapter: one POST per attempt; errors classified, the base retries."""

from __future__ import annotations

import time

import httpx

from providers.base import GenerateRequest, GenerateResult, Provider, StopReason, Usage
from providers.errors import MalformedResponse, classify_status


class ToyProvider(Provider):
    kind = "toy"

    def __init__(self, info, **kwargs):
        super().__init__(info, **kwargs)
        base = self.base_url or "https://toy.invalid"
        self._http = httpx.AsyncClient(base_url=base, timeout=self.timeout_s)

    def describe_request(self, req: GenerateRequest) -> dict:
        text = req.prompt if req.prompt is not None else "".join(m.content for m in req.messages)
        model, limit = self.info.model_id, req.max_tokens
        return {"endpoint": "/toy/v1/generate", "model": model, "text": text, "limit": limit}

    async def _generate(self, req: GenerateRequest) -> GenerateResult:
        body = self.describe_request(req)
        started = time.monotonic()
        headers = {"Toy-Key": self._api_key or ""}
        resp = await self._http.post(body.pop("endpoint"), json=body, headers=headers)
        data = resp.json() if resp.content else None
        if resp.status_code != 200:
            secrets = self._secrets()
            raise classify_status(resp.status_code, data, resp.headers, provider=self.name, secrets=secrets)
        if not isinstance(data, dict) or "text" not in data:
            raise MalformedResponse("no text in the toy answer", provider=self.name)
        from toydoors.toy import DOOR

        return GenerateResult(
            text=data["text"],
            stop_reason=StopReason.TRUNCATED if data.get("cut") else StopReason.STOP,
            usage=Usage(input_tokens=data["used_in"], output_tokens=data["used_out"]),
            latency_s=time.monotonic() - started,
            model=DOOR.answering_model(data["model"]),
            raw_request=self._redact(body),
            raw_response=self._redact(data),
        )

    async def _close(self) -> None:
        await self._http.aclose()
'''

DOOR_FAKE = '''
"""The toy API's wire format for the shared fake-server harness."""

from __future__ import annotations

from providers.fakes.harness import Wire, count_tokens, truncate


class ToyWire(Wire):
    vendor = "toy"
    fault_apis = frozenset({"toy"})

    def route(self, method, path):
        return ("toy", None) if path == "/toy/v1/generate" else None

    def parse(self, api, path_model, body):
        return str(body.get("text", "")), body.get("limit")

    def check_body(self, api, body):
        unknown = sorted(set(body) - {"model", "text", "limit"})
        if unknown:
            return unknown[0], "unknown field"
        if not isinstance(body.get("limit"), int):
            return "limit", "an integer is required"
        return None

    def error_body(self, api, status, message, retry_after=None):
        return {"fault": {"reason": status, "detail": message}}

    def answer(self, server, api, req, prompt_tokens):
        text, cut = truncate(server.reply(req).text, req.max_tokens or 0)
        model = "toy/" + (req.model or server.model)
        used = {"used_in": prompt_tokens, "used_out": count_tokens(text)}
        return {"text": text, "cut": cut, "model": model, **used}

    def presented_key(self, headers, query_key):
        return headers.get("toy-key")
'''

ENTRY = """
[models."toy-1"]
door = "toydoors.toy"
provider = "toy"
model_id = "toy-1"
context_window = 8192
tokenizer = "cl100k_base"
tokenizer_exact = false
key_env = "TOY_API_KEY"
base_url = "{url}"
[models."toy-1".prices]
input = 1.0
output = 2.0
as_of = 2026-12-01
source = "test"
"""


def _answer(req: MockRequest) -> str:
    import re

    return " ".join(re.findall(r"(?<!\d)\d{7}(?!\d)", req.prompt)) or "The text does not say"


@pytest.fixture
def toy_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The door's folder, in a package of its own on sys.path."""
    folder = tmp_path / "pkgs" / "toydoors" / "toy"
    folder.mkdir(parents=True)
    (folder.parent / "__init__.py").write_text("")
    for name, text in (("__init__.py", DOOR_INIT), ("adapter.py", DOOR_ADAPTER), ("fake.py", DOOR_FAKE)):
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    monkeypatch.setattr("providers.doors._registered", {})  # the toy door is forgotten afterwards
    yield folder
    for mod in [m for m in sys.modules if m == "toydoors" or m.startswith("toydoors.")]:
        del sys.modules[mod]


def test_a_toy_door_runs_a_cell_with_one_folder_and_one_entry(
    toy_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toydoors.toy.fake import ToyWire

    from evals.run import main
    from providers.doors import all_doors, door_for
    from providers.registry import resolve_model

    with FakeServer(wires=[ToyWire()], answer=_answer, api_key="toy-secret-123456") as srv:
        registry = tmp_path / "models.toml"
        registry.write_text(ENTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(registry))
        monkeypatch.setenv("TOY_API_KEY", "toy-secret-123456")
        info = resolve_model("toy-1")
        door = door_for(info)
        assert door.name == "toy" and "toy" in all_doors()
        assert resolve_model("toy:another-model").provider == "toy"  # the prefix, from the door
        out = tmp_path / "run"
        args = ["--model", "toy-1", "--lengths", "600,900", "--depths", "0,100", "--task", "single"]
        assert main([*args, "--language", "en", "--out", str(out), "--no-report"]) == 0
        calls = srv.api_requests("toy")
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 4 and {r["status"] for r in records} == {"ok"}
    assert {r["provider"] for r in records} == {"toy"} and {r["model_id"] for r in records} == {"toy-1"}
    assert all(r["score"] == 1.0 for r in records)  # the fake's answer names the needle's value
    assert all(r["cost_usd"] is not None and r["cost_usd"] > 0 for r in records)
    assert calls and all(c.headers.get("toy-key") == "toy-secret-123456" for c in calls)
    header = json.loads((out / "header.json").read_text())
    assert header["model"]["door"] == "toydoors.toy" and "toy-secret" not in json.dumps(header)


def test_the_toy_fake_is_strict(toy_package: Path) -> None:
    """A body the toy API would reject gets its own error format (the harness asks the wire)."""
    import httpx
    from toydoors.toy.fake import ToyWire

    with FakeServer(wires=[ToyWire()]) as srv:
        r = httpx.post(srv.url + "/toy/v1/generate", json={"model": "m", "text": "hi", "limit": 3, "temp": 1})
    assert r.status_code == 400 and r.json() == {"fault": {"reason": 400, "detail": "temp: unknown field"}}


def test_finding_the_doors_imports_no_sdk() -> None:
    """Discovery imports each door's ``__init__`` only; an SDK is imported when a door's adapter is asked."""
    import subprocess

    code = (
        "import sys\n"
        "from providers.doors import all_doors\n"
        "doors = all_doors()\n"
        "assert {'openai', 'anthropic', 'gemini', 'openai-compatible', 'local'} <= set(doors), doors\n"
        "sdks = ('openai', 'anthropic', 'google.genai', 'xllamacpp', 'httpx')\n"
        "print(','.join(m for m in sdks if m in sys.modules))\n"
        "doors['anthropic'].adapter()\n"
        "print('anthropic' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"]  # nothing loaded by discovery, then the SDK on demand
