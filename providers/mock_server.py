"""Old name of :mod:`providers.fakes.server`, kept for ``python -m providers.mock_server`` and old imports."""

from providers.fakes.server import (
    FAULTS,
    MockReply,
    MockRequest,
    MockServer,
    RecordedRequest,
    main,
    mock_tokens,
)

__all__ = ["FAULTS", "MockReply", "MockRequest", "MockServer", "RecordedRequest", "mock_tokens"]

if __name__ == "__main__":
    raise SystemExit(main())
