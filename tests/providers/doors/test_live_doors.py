"""issue 18: live calls through the four new doors: opt-in, each skipped unless its platform is configured
(every path is also tested offline against its strict fake). Costs a few tokens.

* Responses API: ``OPENAI_API_KEY`` (``NIAH_LIVE_RESPONSES_MODEL``, default ``gpt-5-pro``: expensive, so
  set it to a cheaper Responses model, or ``openai:<id>`` with ``api = "responses"`` in your models file);
* Azure: ``AZURE_OPENAI_ENDPOINT``, ``OPENAI_API_VERSION``, a key or Entra ID, and
  ``NIAH_LIVE_AZURE_DEPLOYMENT`` (with ``NIAH_LIVE_AZURE_WINDOW`` if the name is not a model's);
* Vertex: ``GOOGLE_CLOUD_PROJECT`` (ADC) or ``GOOGLE_API_KEY``, and ``NIAH_LIVE_VERTEX_MODEL``;
* Bedrock: ``AWS_REGION`` with credentials or ``AWS_BEARER_TOKEN_BEDROCK``, and ``NIAH_LIVE_BEDROCK_MODEL``.
"""

from __future__ import annotations

import os

import pytest

from providers.base import GenerateRequest, Message, StopReason
from providers.errors import ConfigError
from providers.registry import apply_overrides, create_provider, resolve_api_key, resolve_model

pytestmark = pytest.mark.live

QUESTION = GenerateRequest(
    messages=(Message("user", "Reply with the number 4729183 and nothing else."),), max_tokens=16
)


def _name(door: str) -> str:
    env = {
        "responses": ("NIAH_LIVE_RESPONSES_MODEL", "gpt-5-pro"),
        "azure": ("NIAH_LIVE_AZURE_DEPLOYMENT", ""),
        "vertex": ("NIAH_LIVE_VERTEX_MODEL", ""),
        "bedrock": ("NIAH_LIVE_BEDROCK_MODEL", ""),
    }[door]
    value = os.environ.get(env[0], env[1]).strip()
    if not value:
        pytest.skip(f"{env[0]} not set")
    if door == "responses" or (":" in value and value.split(":")[0] in ("azure", "vertex", "bedrock")):
        return value
    return f"{door}:{value}"


@pytest.mark.parametrize("door", ["responses", "azure", "vertex", "bedrock"])
async def test_live_door(door: str) -> None:
    name = _name(door)
    info = resolve_model(name)
    window = os.environ.get("NIAH_LIVE_AZURE_WINDOW")
    if door == "azure" and not info.context_window and window:
        info = apply_overrides(info, context_window=int(window))
    try:
        resolve_api_key(info)
    except ConfigError as exc:
        pytest.skip(str(exc))
    if door == "responses" and not os.environ.get("OPENAI_API_KEY"):
        pytest.skip("OPENAI_API_KEY not set")
    async with create_provider(info, concurrency=1) as p:
        res = await p.generate(QUESTION)
        count = await p.count_tokens("Hello, world.")
    assert "4729183" in res.text
    assert res.stop_reason is StopReason.STOP
    assert res.usage.input_tokens and res.usage.output_tokens
    assert res.model  # the model that answered (Azure: the deployment's model)
    if door in ("vertex", "bedrock"):
        assert count is not None and count > 0
