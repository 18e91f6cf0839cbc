"""The fake server speaking every built-in door's wire format at once (tests and benchmarks only).

It answers, in each vendor's exact JSON shapes (enough for the official SDKs to parse):

* OpenAI (:mod:`providers.doors.openai.fake`): ``POST /v1/chat/completions``, ``POST /v1/completions``,
  ``GET /v1/models``, the Batch API;
* Anthropic (:mod:`providers.doors.anthropic.fake`): ``POST /v1/messages``, ``/v1/messages/count_tokens``,
  ``GET /v1/models/{id}``, Message Batches;
* Gemini (:mod:`providers.doors.gemini.fake`): ``:generateContent``, ``:countTokens``, ``models.get``,
  batch mode and the Files API;
* llama.cpp (:mod:`providers.doors.openai_compat.fake`): ``POST /tokenize``, ``GET /health``.

Faults, recording, the upstream and the batch state are the harness's (:mod:`providers.fakes.harness`).
Run it in-process (``with MockServer(...) as srv``) or as a process::

    python -m providers.fakes.server --latency 0.2 --fault-rate 0.2 --faults 429,500,slow --upstream URL
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from providers.doors.anthropic.fake import AnthropicWire
from providers.doors.gemini.fake import GeminiWire
from providers.doors.openai.responses_fake import ResponsesWire
from providers.doors.openai_compat.fake import LlamaCppWire
from providers.fakes.harness import (
    FAULTS,
    FakeServer,
    MockReply,
    MockRequest,
    RecordedRequest,
    Wire,
    mock_tokens,
)

__all__ = [
    "FAULTS",
    "MockReply",
    "MockRequest",
    "MockServer",
    "RecordedRequest",
    "builtin_wires",
    "main",
    "mock_tokens",
]


def builtin_wires() -> list[Wire]:
    """The wire formats of the built-in doors (the order decides who answers an ambiguous GET)."""
    return [ResponsesWire(), AnthropicWire(), GeminiWire(), LlamaCppWire()]


class MockServer(FakeServer):
    """:class:`providers.fakes.harness.FakeServer` speaking :func:`builtin_wires` (or the ``wires`` given)."""

    def __init__(self, *, wires: Sequence[Wire] | None = None, **kwargs: Any) -> None:
        super().__init__(wires=builtin_wires() if wires is None else wires, **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a fake server until interrupted; prints its URL on the first line of stdout."""
    ap = argparse.ArgumentParser(prog="python -m providers.fakes.server", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds per answered request")
    ap.add_argument("--answer", default="OK", help="answer text")
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--faults", default="429,500,malformed,drop", help=f"comma list of {','.join(FAULTS)}")
    ap.add_argument("--script", default="", help="comma list of faults for the first requests")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--retry-after", type=float, default=1.0)
    ap.add_argument("--slow", type=float, default=30.0, help="seconds a 'slow' fault stalls")
    ap.add_argument("--context-window", type=int, default=None)
    ap.add_argument("--upstream", default=None, help="forward clean requests to this base URL")
    args = ap.parse_args(argv)
    try:
        server = MockServer(
            answer=args.answer,
            latency_s=args.latency,
            fault_rate=args.fault_rate,
            faults=[f for f in args.faults.split(",") if f],
            script=[f for f in args.script.split(",") if f],
            seed=args.seed,
            retry_after=args.retry_after,
            slow_s=args.slow,
            context_window=args.context_window,
            upstream=args.upstream,
            port=args.port,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
