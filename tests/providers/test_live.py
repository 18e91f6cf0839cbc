"""Live calls to the real clouds: opt-in, each skipped unless its key is set (never the only test of a
path: every adapter is also tested offline against wire-format servers). Costs a few tokens."""

from __future__ import annotations

import os

import pytest

from providers.base import GenerateRequest, Message, StopReason
from providers.errors import AuthError
from providers.registry import create_provider, resolve_model

pytestmark = pytest.mark.live

CASES = [
    ("gpt-5.6-luna", False),
    ("gpt-6.1-terra", False),
    ("claude-haiku-4-5", True),
    ("claude-sonnet-5-5", True),
    ("gemini-3.8-flash", True),
]
QUESTION = GenerateRequest(
    messages=(Message("user", "Reply with the number 4729183 and nothing else."),), max_tokens=16
)


def _require_key(name: str) -> None:
    info = resolve_model(name)
    if not any(os.environ.get(v, "").strip() for v in info.key_envs):
        pytest.skip(f"{' or '.join(info.key_envs)} not set")


@pytest.mark.parametrize(("name", "counts"), CASES)
async def test_live_generate_and_count(name: str, counts: bool) -> None:
    _require_key(name)
    async with create_provider(resolve_model(name), concurrency=1) as p:
        res = await p.generate(QUESTION)
        count = await p.count_tokens("Hello, world.")
    assert "4729183" in res.text
    assert res.stop_reason is StopReason.STOP
    assert res.usage.input_tokens and res.usage.output_tokens
    assert (count is not None and count > 0) if counts else count is None


@pytest.mark.parametrize("name", ["gpt-5.6-luna", "claude-haiku-4-5", "gemini-3.8-flash"])
async def test_live_bad_key_fails_fast_without_leaking(name: str) -> None:
    _require_key(name)
    bad = "bad-key-0000000000000000000000000000"
    async with create_provider(resolve_model(name), api_key=bad) as p:
        with pytest.raises(AuthError) as info:
            await p.generate(QUESTION)
    assert info.value.attempts == 1
    assert bad not in str(info.value)
