"""Batch APIs through the real SDKs against the mock server's batch endpoints (offline, fast)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from providers.base import GenerateRequest, GenerateResult, Message, StopReason
from providers.batch import (
    BatchHandle,
    BatchLimits,
    BatchRequest,
    BatchUnsupportedError,
)
from providers.doors import batch_client, supports_batch
from providers.errors import ConfigError, ProviderError, ServerError
from tests.providers.conftest import FAKE_KEY, make_provider

VENDORS = ("openai", "anthropic", "gemini")


def _requests(n: int, *, prefix: str = "cell", size: int = 1) -> list[BatchRequest]:
    return [
        BatchRequest(
            f"{prefix}-{i}",
            GenerateRequest(
                messages=(Message("user", "上海的神秘数字是4729183。" * size + f" 问题 {i}"),),
                system="Answer briefly.",
                max_tokens=16,
                seed=7,
            ),
        )
        for i in range(n)
    ]


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _submit_wait_collect(adapter: str, server: Any, reqs: list[BatchRequest], **kwargs: Any) -> Any:
    provider = make_provider(adapter, server)
    try:
        client = batch_client(provider, **kwargs)
        handles = await client.submit(reqs)
        by_id = {r.custom_id: r.request for r in reqs}
        results: dict[str, Any] = {}
        statuses = []
        for h in handles:
            statuses.append(await client.wait(h, poll_s=0.0))
            results.update(await client.results(h, by_id))
        return provider, handles, statuses, results
    finally:
        await provider.aclose()


@pytest.mark.parametrize("adapter", VENDORS)
def test_submit_poll_results(adapter: str, mock_server: Any) -> None:
    server = mock_server(answer="4729183", api_key=FAKE_KEY)
    server.batch.polls_to_complete = 2
    reqs = _requests(3)
    _, handles, statuses, results = _run(_submit_wait_collect(adapter, server, reqs))
    assert len(handles) == 1
    h = handles[0]
    assert h.vendor == adapter and h.custom_ids == ("cell-0", "cell-1", "cell-2")
    assert statuses[0].state == "ended" and statuses[0].counts["succeeded"] == 3
    assert statuses[0].counts["processing"] == 0
    # In progress for two polls, ended on the third.
    assert server.batch.count(adapter, "poll") >= 3
    assert set(results) == {"cell-0", "cell-1", "cell-2"}
    for cid, res in results.items():
        assert isinstance(res, GenerateResult), res
        assert res.text == "4729183" and res.stop_reason is StopReason.STOP
        assert res.usage.input_tokens and res.usage.input_tokens > 10
        assert res.usage.output_tokens == 1
        assert res.raw_request["custom_id"] == cid and res.raw_request["batch_id"] == h.batch_id
        assert FAKE_KEY not in json.dumps(res.raw_request) + json.dumps(res.raw_response)
    # The handle is plain data.
    assert BatchHandle.from_dict(json.loads(json.dumps(h.to_dict()))) == h


@pytest.mark.parametrize("adapter", VENDORS)
def test_batched_body_is_the_synchronous_body(adapter: str, mock_server: Any) -> None:
    server = mock_server(answer="OK", api_key=FAKE_KEY)
    reqs = _requests(2)

    async def go() -> None:
        provider = make_provider(adapter, server)
        try:
            await provider.generate(reqs[0].request)
            await batch_client(provider).submit(reqs)
        finally:
            await provider.aclose()

    _run(go())
    sync_body = server.api_requests()[-1].body
    (batch,) = server.batch.batches.values()
    batched = dict(batch.bodies["cell-0"])
    if adapter == "gemini":  # the model is named by the batch's URL, as by generateContent's
        assert batched.pop("model", "models/" + batch.model) == "models/" + batch.model
    assert batched == sync_body


@pytest.mark.parametrize("adapter", VENDORS)
def test_failed_items_and_overflow(adapter: str, mock_server: Any) -> None:
    server = mock_server(answer="OK", api_key=FAKE_KEY, context_window=60)
    server.batch.fail_ids = {"cell-1"}
    reqs = _requests(2) + _requests(1, prefix="long", size=10)
    _, _, statuses, results = _run(_submit_wait_collect(adapter, server, reqs))
    assert isinstance(results["cell-0"], GenerateResult)
    assert isinstance(results["cell-1"], ServerError) and results["cell-1"].retryable
    long = results["long-0"]
    assert isinstance(long, GenerateResult) and long.stop_reason is StopReason.MODEL_LENGTH
    assert statuses[0].counts["succeeded"] == 1 and statuses[0].counts["errored"] == 2


@pytest.mark.parametrize("adapter", VENDORS)
def test_split_only_at_the_limits(adapter: str, mock_server: Any) -> None:
    server = mock_server(answer="OK", api_key=FAKE_KEY)
    reqs = _requests(5)
    # Count limit: 5 requests, 2 per batch -> 3 batches.
    _, handles, _, results = _run(_submit_wait_collect(adapter, server, reqs, limits=BatchLimits(2, 10**9)))
    assert [len(h.custom_ids) for h in handles] == [2, 2, 1]
    assert server.batch.count(adapter, "create") == 3
    assert all(isinstance(r, GenerateResult) for r in results.values()) and len(results) == 5
    # Byte limit: room for two requests per batch.
    provider = make_provider(adapter, server)
    try:
        client = batch_client(provider)
        one = max(
            len(json.dumps(client.item(r), ensure_ascii=False, separators=(",", ":")).encode()) for r in reqs
        )
        tight = batch_client(provider, limits=BatchLimits(1000, 2 * (one + 1)))
        assert [len(c) for c in tight.split(reqs)] == [2, 2, 1]
        # Within the limits: one batch, however many requests.
        assert len(client.split(reqs)) == 1
        with pytest.raises(ConfigError, match=r"over the .* batch limit"):
            batch_client(provider, limits=BatchLimits(1000, one // 2)).split(reqs)
        with pytest.raises(ConfigError, match="duplicate custom_id"):
            client.split(reqs + reqs[:1])
    finally:
        _run(provider.aclose())


def test_openai_uploads_once_and_creates_one_batch(mock_server: Any) -> None:
    server = mock_server(answer="OK", api_key=FAKE_KEY)
    reqs = _requests(20)
    _, handles, _, results = _run(_submit_wait_collect("openai", server, reqs))
    assert len(handles) == 1 and len(results) == 20
    assert server.batch.count("openai", "upload") == 1
    assert server.batch.count("openai", "create") == 1
    h = handles[0]
    assert h.input_file_id in server.batch.files and h.endpoint == "/v1/chat/completions"
    lines = [json.loads(x) for x in server.batch.files[h.input_file_id].decode().splitlines()]
    assert [x["custom_id"] for x in lines] == list(h.custom_ids)
    assert {x["url"] for x in lines} == {"/v1/chat/completions"} and {x["method"] for x in lines} == {"POST"}
    # No synchronous call was made.
    assert server.api_requests() == []


def test_anthropic_and_gemini_create_one_batch(mock_server: Any) -> None:
    server = mock_server(answer="OK", api_key=FAKE_KEY)
    for adapter in ("anthropic", "gemini"):
        _run(_submit_wait_collect(adapter, server, _requests(20)))
        assert server.batch.count(adapter, "create") == 1
    assert server.api_requests() == []


def test_results_without_requests_and_missing_items(mock_server: Any) -> None:
    server = mock_server(answer="OK", api_key=FAKE_KEY)

    async def go() -> dict[str, Any]:
        provider = make_provider("anthropic", server)
        try:
            client = batch_client(provider)
            (h,) = await client.submit(_requests(2))
            await client.wait(h, poll_s=0.0)
            # A handle that claims one more request than the vendor ran.
            bigger = BatchHandle.from_dict({**h.to_dict(), "custom_ids": [*h.custom_ids, "ghost"]})
            return await client.results(bigger)
        finally:
            await provider.aclose()

    results = _run(go())
    assert isinstance(results["cell-0"], GenerateResult)
    assert "messages" not in results["cell-0"].raw_request  # no requests given: ids only
    ghost = results["ghost"]
    assert isinstance(ghost, ProviderError) and ghost.retryable


@pytest.mark.parametrize("adapter", VENDORS)
def test_cancel(adapter: str, mock_server: Any) -> None:
    server = mock_server(answer="OK", api_key=FAKE_KEY)
    server.batch.polls_to_complete = 100

    async def go() -> Any:
        provider = make_provider(adapter, server)
        try:
            client = batch_client(provider)
            (h,) = await client.submit(_requests(2))
            assert not (await client.status(h)).done
            await client.cancel(h)
            return await client.status(h)
        finally:
            await provider.aclose()

    status = _run(go())
    assert status.state in ("canceled", "ended") and status.done


def test_unsupported_providers_refuse(mock_server: Any) -> None:
    server = mock_server(answer="OK")
    provider = make_provider("compat", server)
    try:
        assert not supports_batch(provider)
        with pytest.raises(BatchUnsupportedError) as info:
            batch_client(provider)
        assert isinstance(info.value, ConfigError)
        assert "\n" not in str(info.value) and "no batch API" in str(info.value)
    finally:
        _run(provider.aclose())


def test_wrong_key_is_a_classified_error(mock_server: Any) -> None:
    server = mock_server(answer="OK", api_key="the-right-key")

    async def go() -> None:
        provider = make_provider("openai", server)
        try:
            await batch_client(provider).submit(_requests(1))
        finally:
            await provider.aclose()

    with pytest.raises(ProviderError) as info:
        _run(go())
    assert info.value.status == 401 and FAKE_KEY not in str(info.value)


def test_openai_chat_and_completion_requests_go_to_separate_batches(mock_server: Any) -> None:
    server = mock_server(answer="OK", api_key=FAKE_KEY)
    reqs = [*_requests(2), BatchRequest("base-0", GenerateRequest(prompt="Answer: ", max_tokens=4))]
    _, handles, _, results = _run(_submit_wait_collect("openai", server, reqs))
    assert sorted((h.endpoint, len(h.custom_ids)) for h in handles) == [
        ("/v1/chat/completions", 2),
        ("/v1/completions", 1),
    ]
    assert all(isinstance(r, GenerateResult) and r.text == "OK" for r in results.values())


def test_gemini_thinking_model_batched_body_is_the_synchronous_body(mock_server: Any) -> None:
    from providers.registry import resolve_model

    info = resolve_model("gemini-3.8-flash")
    assert info.reasoning  # the case with a thinking_config
    server = mock_server(answer="OK", api_key=FAKE_KEY)
    reqs = _requests(1)

    async def go() -> dict[str, Any]:
        provider = make_provider("gemini", server, info=info)
        try:
            await provider.generate(reqs[0].request)
            client = batch_client(provider)
            (h,) = await client.submit(reqs)
            await client.wait(h, poll_s=0.0)
            return await client.results(h)
        finally:
            await provider.aclose()

    results = _run(go())
    (batch,) = server.batch.batches.values()
    assert batch.bodies["cell-0"] == server.api_requests()[-1].body
    assert "thinkingConfig" in batch.bodies["cell-0"]["generationConfig"], batch.bodies["cell-0"]
    assert isinstance(results["cell-0"], GenerateResult)


def test_batched_requests_meet_the_synchronous_contract(mock_server: Any) -> None:
    """The strict mock validates a batch's items as it validates synchronous bodies (the vendor's 400)."""
    from providers.doors.anthropic.fake import AnthropicWire

    server = mock_server(answer="OK", api_key=FAKE_KEY)
    body = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    wire = AnthropicWire()
    ok, _ = server.batch.answer_one(wire, "anthropic", None, body, "a")
    assert ok == 200
    status, err = server.batch.answer_one(wire, "anthropic", None, {**body, "temperature": 0.0}, "b")
    assert status == 400 and err["error"]["type"] == "invalid_request_error"
    assert "temperature" in err["error"]["message"]


@pytest.mark.parametrize("adapter", VENDORS)
def test_a_submission_is_found_by_its_token(adapter: str, mock_server: Any) -> None:
    """What a resumed run asks after a kill between the vendor accepting a batch and the run recording it:
    the vendor's list has the batch (by its tag: OpenAI metadata, Gemini display name; Anthropic: the
    request count and creation time), and a token that never reached the vendor finds nothing."""
    import time

    server = mock_server(answer="OK", api_key=FAKE_KEY)

    async def go() -> tuple[Any, Any, Any]:
        provider = make_provider(adapter, server)
        try:
            client = batch_client(provider)
            other = _requests(3, prefix="other")
            await client.submit(other, token="someone-else")
            since = time.time()
            reqs = _requests(5)
            (h,) = await client.submit(reqs, token="tok-1")
            found = await client.find("tok-1", [r.custom_id for r in reqs], since)
            missing = await client.find("tok-2", ["cell-x"] * 7, since)
            return h, found, missing
        finally:
            await provider.aclose()

    h, found, missing = _run(go())
    assert found is not None and found.batch_id == h.batch_id and found.custom_ids == h.custom_ids
    assert missing is None
    assert server.batch.count(adapter, "create") == 2 and server.batch.count(adapter, "list") == 2
    if adapter == "openai":
        assert found.input_file_id == h.input_file_id and found.endpoint == h.endpoint


def test_a_retried_create_finds_the_batch_its_first_attempt_made(mock_server: Any) -> None:
    """A create that times out after the vendor accepted it is retried by the provider's retry loop; the
    retry looks for the tagged batch first and submits nothing twice."""
    server = mock_server(answer="OK", api_key=FAKE_KEY)

    async def go() -> Any:
        provider = make_provider("openai", server)
        try:
            client = batch_client(provider)
            real = client._submit
            calls = 0

            async def flaky(*args: Any) -> Any:
                nonlocal calls
                calls += 1
                handle = await real(*args)
                if calls == 1:
                    raise ServerError("read timed out after the batch was created", provider=provider.name)
                return handle

            client._submit = flaky  # type: ignore[method-assign]
            return await client.submit(_requests(4), token="tok-r")
        finally:
            await provider.aclose()

    (handle,) = _run(go())
    assert server.batch.count("openai", "create") == 1 and handle.batch_id in server.batch.batches


def test_gemini_batch_larger_than_inline_goes_through_a_file(mock_server: Any) -> None:
    """Above 20 MB of requests Gemini takes a batch as a JSONL input file (Files API, resumable upload) and
    returns the results as a file; the outcomes are the inline path's, request by request."""
    server = mock_server(answer="OK", api_key=FAKE_KEY)

    async def go(inline_bytes: int) -> Any:
        provider = make_provider("gemini", server)
        try:
            client = batch_client(provider)
            client.inline_bytes = inline_bytes  # type: ignore[attr-defined]
            reqs = _requests(6)
            server.batch.fail_ids = {"cell-3"}
            (h,) = await client.submit(reqs)
            st = await client.wait(h, poll_s=0.0)
            return st, await client.results(h, {r.custom_id: r.request for r in reqs})
        finally:
            await provider.aclose()

    st_file, via_file = _run(go(100))
    assert server.batch.count("gemini", "upload") == 1 and server.batch.count("gemini", "download") >= 1
    st_inline, inline = _run(go(10**9))
    assert server.batch.count("gemini", "upload") == 1  # the small one went inline
    assert (
        st_file.counts == st_inline.counts
        and st_file.counts["succeeded"] == 5
        and st_file.counts["errored"] == 1
    )
    assert set(via_file) == set(inline) == {f"cell-{i}" for i in range(6)}
    for cid, got in via_file.items():
        want = inline[cid]
        if isinstance(want, GenerateResult):
            assert isinstance(got, GenerateResult)
            assert (got.text, got.usage.input_tokens, got.stop_reason) == (
                want.text,
                want.usage.input_tokens,
                want.stop_reason,
            )
        else:
            assert isinstance(got, ProviderError) and type(got) is type(want)
