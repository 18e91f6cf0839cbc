"""A fake Amazon Bedrock runtime, strict about what Bedrock checks (tests and benchmarks only).

* ``POST /model/{model id}/invoke`` and ``POST /model/{model id}/count-tokens`` only;
* authentication: ``Authorization: Bearer <Bedrock API key>``, or a SigV4 signature that this fake
  recomputes with botocore from the access key's secret (service ``bedrock``, the fake's region, the
  ``x-amz-date`` and signed headers of the request; a session token must be sent as
  ``x-amz-security-token``); anything else is Bedrock's 403 (``MissingAuthenticationTokenException``,
  ``UnrecognizedClientException``, ``InvalidSignatureException``);
* the InvokeModel body must carry ``anthropic_version: "bedrock-2023-05-31"``, no ``model`` (it is in the
  path), and otherwise only fields of the anthropic SDK's ``MessageCreateParamsNonStreaming`` (checked with
  :mod:`providers.fakes.wire_schema`); an extra key is Bedrock's ``extraneous key [k] is not permitted``;
* CountTokens takes ``{"input": {"invokeModel": {"body": <base64 InvokeModel body>}}}`` (the body checked as
  above) on a foundation-model id only (an inference profile: "The provided model doesn't support counting
  tokens") and answers ``{"inputTokens": n}``;
* errors are Bedrock's: ``{"message": ...}`` with ``x-amzn-ErrorType`` (``ValidationException`` 400 —
  also "Input is too long for requested model." over ``context_window`` —, ``ThrottlingException`` 429,
  ``ServiceUnavailableException`` 503, ``InternalServerException`` 500, ``ResourceNotFoundException`` 404);
* answers are Messages API JSON naming Anthropic's model id, with the ``x-amzn-bedrock-input-token-count``
  and ``-output-token-count`` headers.

Answers (the Anthropic wire's Messages JSON), scripted faults (``429``, ``500``, ``503``, ``drop``, ``slow``,
``malformed``), latency and the cache are the shared harness's (:mod:`providers.fakes.harness`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
from typing import Any

from aiohttp import web

from providers.doors.anthropic.fake import AnthropicWire
from providers.doors.bedrock.settings import BEDROCK_VERSION, PROFILE_PREFIXES
from providers.fakes.harness import FakeServer, drop_connection, json_response

__all__ = ["BedrockFake"]

_PATH = re.compile(r"^/model/([^/]+)/(invoke|count-tokens)$")
_CRED = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$"
)
_FAULT_ERRORS = {
    "429": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "500": (500, "InternalServerException", "The server encountered an internal error."),
    "503": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    "529": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    "400": (400, "ValidationException", "Malformed input request (fake fault)."),
    "404": (
        404,
        "ResourceNotFoundException",
        "Could not resolve the foundation model from the model identifier.",
    ),
}


def _error(status: int, kind: str, message: str) -> web.Response:
    headers = {"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    return json_response(status, {"message": message}, headers)


class _BedrockWire(AnthropicWire):
    """Anthropic's bodies and answers; no first-party batch routes (Bedrock batch inference reads S3)."""

    batch_routes = None  # Bedrock batch inference reads S3: not part of this fake


class BedrockFake(FakeServer):
    """The fake runtime.

    Args:
        models: ``{Bedrock model id: Anthropic model id answered}`` (inference profiles included).
        region: The region whose signatures are accepted.
        access_keys: ``{access key id: secret access key}`` accepted for SigV4.
        bearer_token: A Bedrock API key accepted as a bearer token (None: none).
        **kwargs: :class:`FakeServer` options (not ``api_key``).
    """

    def __init__(
        self,
        *,
        models: dict[str, str],
        region: str = "us-east-1",
        access_keys: dict[str, str] | None = None,
        bearer_token: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(wires=[_BedrockWire()], **kwargs)
        self.models = dict(models)
        self.region = region
        self.access_keys = dict(access_keys or {})
        self.bearer_token = bearer_token

    async def _recorded(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        m = _PATH.match(request.path)
        if request.method != "POST" or m is None:
            return _error(404, "UnknownOperationException", "Unknown operation")
        denied = self._authenticate(request, headers, raw)
        if denied is not None:
            return denied
        model_id, op = m.group(1), m.group(2)
        api = "anthropic" if op == "invoke" else "anthropic-count"
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, "ValidationException", "Malformed input request, please reformat your input.")
        return await self._record(
            request, api, body, headers, lambda fault: self._serve(request, op, model_id, fault, body)
        )

    def _authenticate(self, request: web.Request, headers: dict[str, str], raw: bytes) -> web.Response | None:
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer "):
            if self.bearer_token is not None and hmac.compare_digest(auth[7:], self.bearer_token):
                return None
            return _error(
                403,
                "UnrecognizedClientException",
                "Invalid API Key format: Must start with pre-defined prefix",
            )
        cred = _CRED.match(auth)
        if cred is None or "x-amz-date" not in headers:
            return _error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        akid, _date, region, service, signed, signature = cred.groups()
        secret = self.access_keys.get(akid)
        if secret is None:
            return _error(
                403, "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        if region != self.region or service != "bedrock":
            return _error(
                403,
                "InvalidSignatureException",
                "Credential should be scoped to a valid region. Credential should be scoped to correct "
                f"service: 'bedrock'. (got {region}/{service})",
            )
        expected = _sigv4(request, headers, raw, signed.split(";"), akid, secret, region)
        if not hmac.compare_digest(expected, signature):
            return _error(
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your "
                "AWS Secret Access Key and signing method. Consult the service documentation for details.",
            )
        return None

    async def _serve(
        self, request: web.Request, op: str, model_id: str, fault: str, body: Any
    ) -> web.Response:
        if fault == "drop":
            return drop_connection(request)
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
        if fault in _FAULT_ERRORS:
            await asyncio.sleep(self.latency_s)
            return _error(*_FAULT_ERRORS[fault])
        answered = self.models.get(model_id)
        if answered is None:
            return _error(400, "ValidationException", "The provided model identifier is invalid.")
        if op == "count-tokens":
            if model_id.split(".")[0] in PROFILE_PREFIXES:
                return _error(
                    400, "ValidationException", "The provided model doesn't support counting tokens."
                )
            body, problem = _invoke_body_of_count(body)
            if problem is not None:
                return _error(400, "ValidationException", problem)
        problem = _check_invoke(body, model_id)
        if problem is not None:
            return _error(400, "ValidationException", problem)
        wire = self.wires[0]
        req = self.parse(wire, "anthropic", answered, body, {})
        prompt_tokens = self.count_prompt(req.prompt)
        if self.context_window is not None and prompt_tokens > self.context_window:
            return _error(400, "ValidationException", "Input is too long for requested model.")
        if op == "count-tokens":
            return json_response(200, {"inputTokens": prompt_tokens})
        await asyncio.sleep(self.latency_s)
        if fault == "malformed":
            return json_response(200, b'{"id": "msg_broken", "content": [{"type": "text", "text": "tru')
        data = wire.answer(self, "anthropic", req, prompt_tokens)
        usage = data.get("usage", {})
        counts = {
            "x-amzn-bedrock-input-token-count": str(usage.get("input_tokens", 0)),
            "x-amzn-bedrock-output-token-count": str(usage.get("output_tokens", 0)),
        }
        return json_response(200, data, counts)


def _invoke_body_of_count(body: Any) -> tuple[Any, str | None]:
    """The InvokeModel body inside a CountTokens request, or a ValidationException message."""
    if not isinstance(body, dict) or set(body) != {"input"} or not isinstance(body["input"], dict):
        return (
            None,
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            "Member must not be null",
        )
    inner = body["input"]
    if set(inner) != {"invokeModel"} or not isinstance(inner["invokeModel"], dict):
        return None, "Exactly one of invokeModel or converse must be set in input"
    blob = inner["invokeModel"].get("body")
    if set(inner["invokeModel"]) != {"body"} or not isinstance(blob, str):
        return (
            None,
            "1 validation error detected: Value at 'input.invokeModel.body' failed to satisfy constraint",
        )
    try:
        return json.loads(base64.b64decode(blob, validate=True)), None
    except (binascii.Error, ValueError):
        return None, "Malformed input request: input.invokeModel.body is not base64-encoded JSON"


def _check_invoke(body: Any, model_id: str) -> str | None:
    """Bedrock's check of a Claude InvokeModel body (None: valid)."""
    if not isinstance(body, dict):
        return "Malformed input request, please reformat your input and try again."
    if body.get("anthropic_version") != BEDROCK_VERSION:
        got = body.get("anthropic_version")
        return f"anthropic_version: Invalid value {got!r}; expected {BEDROCK_VERSION!r}"
    if "model" in body:
        return "extraneous key [model] is not permitted"
    typed = {k: v for k, v in body.items() if k not in ("anthropic_version", "anthropic_beta")}
    problem = AnthropicWire().check_body("anthropic", {**typed, "model": model_id})
    if problem is None:
        return None
    param, message = problem
    if message == "Extra inputs are not permitted":
        return f"extraneous key [{param}] is not permitted"
    return f"{param}: {message}"


def _sigv4(
    request: web.Request,
    headers: dict[str, str],
    raw: bytes,
    signed: list[str],
    akid: str,
    secret: str,
    region: str,
) -> str:
    """The SigV4 signature of this request as botocore computes it (service ``bedrock``)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"http://{headers.get('host', '')}{request.raw_path}"
    aws = AWSRequest(
        method=request.method, url=url, headers={h: headers.get(h, "") for h in signed}, data=raw
    )
    aws.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(akid, secret, headers.get("x-amz-security-token")), "bedrock", region)
    canonical = signer.canonical_request(aws)
    return signer.signature(signer.string_to_sign(aws, canonical), aws)
