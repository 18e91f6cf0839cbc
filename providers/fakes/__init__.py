"""Fake model servers for tests and benchmarks (the product never imports this package at run time).

* :mod:`providers.fakes.harness` — the shared server: lifecycle on a background loop, programmable faults,
  recording, upstream forwarding, batch state; it knows no vendor.
* :mod:`providers.fakes.wire_schema` — request bodies checked against an installed SDK's typed params.
* Each door's ``fake.py`` (``providers/doors/<door>/fake.py``) — that door's wire format: paths, auth, request
  checks, answers, error bodies and batch endpoints, as a :class:`providers.fakes.harness.Wire`.
* :mod:`providers.fakes.server` — :class:`~providers.fakes.server.MockServer`, the harness speaking every
  built-in door's wire at once (``python -m providers.fakes.server``).
"""
