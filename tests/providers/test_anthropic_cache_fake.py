"""The Anthropic fake bills prompt caching as the API documents it: the longest cached prefix at a
breakpoint is read, the rest up to the last breakpoint written (split by ttl in ``usage.cache_creation``),
the rest is input; entries expire ``ttl`` after their last use; prefixes under the minimum are not cached;
more than 4 breakpoints, or a 1-hour one after a 5-minute one, are refused as the API refuses them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from providers.fakes.harness import count_tokens
from providers.fakes.server import MockServer

A = "甲" * 1500
B = "乙" * 1000
C = "丙" * 700
REST = "问题？"


def _send(srv: MockServer, *parts: tuple[str, str | None]) -> tuple[int, dict[str, Any]]:
    """One message of text blocks; each ``(text, ttl)`` with ttl None (no breakpoint), "5m" or "1h"."""
    blocks: list[dict[str, Any]] = []
    for text, ttl in parts:
        block: dict[str, Any] = {"type": "text", "text": text}
        if ttl is not None:
            block["cache_control"] = {"type": "ephemeral", **({"ttl": ttl} if ttl == "1h" else {})}
        blocks.append(block)
    body = {"model": "mock-claude", "max_tokens": 8, "messages": [{"role": "user", "content": blocks}]}
    req = urllib.request.Request(
        f"{srv.url}/v1/messages",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "k"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _split(usage: dict[str, Any]) -> tuple[int, int, int]:
    return usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"], usage["input_tokens"]


def test_read_the_longest_cached_breakpoint_write_the_rest_to_the_last() -> None:
    a, b, c, q = (count_tokens(x) for x in (A, B, C, REST))
    with MockServer(cache_min_tokens=1024) as srv:
        _, first = _send(srv, (A, "5m"), (B, "5m"), (REST, None))
        _, second = _send(srv, (A, "5m"), (B, "5m"), (C, "5m"), (REST, None))
        _, third = _send(srv, (A, "5m"), (B + C, None), (REST, None))
        _, fourth = _send(srv, (A + B + C, "5m"), (REST, None))
    assert _split(first["usage"]) == (0, a + b, q)
    assert _split(second["usage"]) == (a + b, c, q)
    assert _split(third["usage"]) == (a, 0, b + c + q)
    assert _split(fourth["usage"]) == (a + b + c, 0, q)  # the same text up to a breakpoint reads it
    assert second["usage"]["cache_creation"] == {
        "ephemeral_5m_input_tokens": c,
        "ephemeral_1h_input_tokens": 0,
    }


def test_entries_expire_ttl_after_their_last_use() -> None:
    a, q = count_tokens(A), count_tokens(REST)
    with MockServer(cache_ttl_s=0.3, cache_ttl_long_s=30.0) as srv:
        writes = [_split(_send(srv, (A, "5m"), (REST, None))[1]["usage"]) for _ in range(2)]
        time.sleep(0.4)
        late = _split(_send(srv, (A, "5m"), (REST, None))[1]["usage"])
        _send(srv, (B + A, "1h"), (REST, None))
        time.sleep(0.4)
        long = _split(_send(srv, (B + A, "1h"), (REST, None))[1]["usage"])
    assert writes == [(0, a, q), (a, 0, q)]
    assert late == (0, a, q)  # expired: written again
    assert long == (a + count_tokens(B), 0, q)  # the 1-hour entry outlives the 5-minute lifetime


def test_ttls_split_in_cache_creation_and_short_prefixes_not_cached() -> None:
    a, b, q = count_tokens(A), count_tokens(B), count_tokens(REST)
    with MockServer(cache_min_tokens=1024) as srv:
        _, short = _send(srv, (A[:900], "5m"), (REST, None))
        _, mixed = _send(srv, (A[:900], "1h"), (A[900:], "1h"), (B, "5m"), (REST, None))
    assert _split(short["usage"]) == (0, 0, 900 + q)
    # the 900-token breakpoint is under the minimum: the first write runs to the 1,500-token one
    assert _split(mixed["usage"]) == (0, a + b, q)
    assert mixed["usage"]["cache_creation"] == {
        "ephemeral_5m_input_tokens": b,
        "ephemeral_1h_input_tokens": a,
    }


def test_more_than_four_breakpoints_or_1h_after_5m_refused() -> None:
    with MockServer() as srv:
        status, five = _send(srv, *[(x * 300, "5m") for x in "一二三四五"], (REST, None))
        status2, order = _send(srv, (A, "5m"), (B, "1h"), (REST, None))
        assert not [r for r in srv.api_requests("anthropic") if r.status == 200]
    assert status == 400 and five["type"] == "error" and five["error"]["type"] == "invalid_request_error"
    assert "A maximum of 4 blocks with cache_control may be provided. Found 5." in five["error"]["message"]
    assert status2 == 400 and "1h" in order["error"]["message"]
