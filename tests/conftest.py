"""Shared fixtures for the whole test suite.

* ``_fast_retries`` (autouse): the providers' default retry policy without backoff, so tests that hit
  retryable faults run in milliseconds. Tests that measure waits pass their own ``RetryPolicy``.
* ``local_server`` (session): the embedded llama.cpp server with Gemma 3 270M, started once,
  ``n_ctx`` 4096; ``local_server.url`` is its base URL (``+ "/v1"`` for OpenAI clients).
* ``mock_server``: a factory for :class:`providers.fakes.server.MockServer` (fake wire-format server with
  fault injection); every server it made is stopped at teardown.

Determinism: every property test draws its examples from a fixed seed per test (hypothesis profile ``ci``,
the default: ``derandomize=True``, no example database), so a run is the same on every machine and every
time. ``HYPOTHESIS_PROFILE=explore`` draws fresh examples (random, with the local database) to look for new
failures by hand, e.g. ``HYPOTHESIS_PROFILE=explore python -m pytest tests/haystacks --hypothesis-seed=7``;
anything it finds becomes an ``@example`` of the test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings

from providers.base import RetryPolicy, set_default_retry_policy
from providers.doors.local.server import LocalServer
from providers.fakes.server import MockServer

#: The default policy with backoff switched off (same number of attempts and total cap).
FAST_RETRY = RetryPolicy(initial_backoff_s=0.0, max_backoff_s=0.0, max_retry_after_s=0.0, jitter_s=0.0)

LOCAL_TEST_N_CTX = 4096

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[RetryPolicy]:
    previous = set_default_retry_policy(FAST_RETRY)
    try:
        yield FAST_RETRY
    finally:
        set_default_retry_policy(previous)


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """The embedded llama.cpp server (Gemma 3 270M), shared by the whole session."""
    server = LocalServer(n_ctx=LOCAL_TEST_N_CTX, model_alias="gemma-3-270m-q4_k_m")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mock_server() -> Iterator[Callable[..., MockServer]]:
    """Factory: ``mock_server(**kwargs)`` starts a :class:`MockServer`; all are stopped at teardown."""
    started: list[MockServer] = []

    def make(**kwargs: Any) -> MockServer:
        server = MockServer(**kwargs)
        server.start()
        started.append(server)
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()
