"""Helpers for provider tests: build any adapter against a fake server."""

from __future__ import annotations

from typing import Any

import pytest

from providers.base import Provider
from providers.fakes.server import MockServer
from providers.registry import create_provider, resolve_model

#: A fake key shaped like no real vendor key, so only exact-match redaction can remove it.
FAKE_KEY = "test-key-DO-NOT-LEAK-0123456789abcdef"

#: adapter -> (registry name, base URL suffix on the fake server)
ADAPTERS: dict[str, tuple[str, str]] = {
    "openai": ("gpt-4o-mini", "/v1"),
    "compat": ("openai-compatible", "/v1"),
    "anthropic": ("claude-haiku-4-5", ""),
    "gemini": ("gemini-2.5-flash-lite", ""),
}


def make_provider(adapter: str, server: MockServer, **kwargs: Any) -> Provider:
    """The provider of ``adapter`` pointed at ``server`` with :data:`FAKE_KEY`."""
    name, suffix = ADAPTERS[adapter]
    info = kwargs.pop("info", None) or resolve_model(name)
    kwargs.setdefault("api_key", FAKE_KEY)
    return create_provider(info, base_url=server.url + suffix, **kwargs)


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(request: pytest.FixtureRequest) -> str:
    """Each adapter in turn."""
    return str(request.param)
