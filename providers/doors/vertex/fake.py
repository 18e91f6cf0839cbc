"""A fake Vertex AI endpoint, strict about what Vertex checks (tests and benchmarks only).

The shared harness (:class:`providers.fakes.harness.FakeServer`) speaking the Gemini wire
(:class:`providers.doors.gemini.fake.GeminiWire`: faults, window, body validation against the google-genai
models, Google error bodies with ``RetryInfo``) behind Vertex's routing and auth:

* project mode: ``POST /{v1,v1beta1}/projects/{project}/locations/{location}/publishers/google/models/
  {model}:generateContent`` (and ``:countTokens``) with ``Authorization: Bearer <token>``; the token must be
  one this fake issued from its OAuth endpoint ``POST /token``: a service-account JWT grant whose assertion
  is signed by the key of :meth:`VertexFake.credentials_file` (a service-account file whose ``token_uri``
  points here, found by application default credentials through ``GOOGLE_APPLICATION_CREDENTIALS``); the
  project must be the fake's (else 403 ``PERMISSION_DENIED``), the location a known one (else 400
  ``INVALID_ARGUMENT``);
* express mode: ``POST /{v1,v1beta1}/publishers/google/models/{model}:...`` with ``x-goog-api-key`` (a wrong
  key: 400 ``API_KEY_INVALID``; a bearer token here: 401 ``UNAUTHENTICATED``);
* no credentials: 401 ``UNAUTHENTICATED``; a model not in ``models``: 404 ``NOT_FOUND`` "Publisher Model ...";
* ``countTokens`` answers carry ``totalBillableCharacters`` as Vertex's do.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from providers.doors.gemini.fake import GeminiWire, gemini_error
from providers.fakes.harness import FakeServer, MockRequest, json_response, read_request

__all__ = ["LOCATIONS", "VertexFake"]

#: Locations the fake serves (a few of Vertex AI's).
LOCATIONS = frozenset({"global", "us-central1", "us-east5", "europe-west4", "asia-northeast1"})
_PROJECT_PATH = re.compile(
    r"^/(v1|v1beta1)/projects/([^/]+)/locations/([^/]+)/publishers/google/models/([^/:]+):"
    r"(generateContent|countTokens)$"
)
_EXPRESS_PATH = re.compile(r"^/(v1|v1beta1)/publishers/google/models/([^/:]+):(generateContent|countTokens)$")


def _google(code: int, status: str, message: str, details: list[Any] | None = None) -> web.Response:
    return json_response(code, gemini_error(code, status, message, details))


class _VertexWire(GeminiWire):
    """Gemini's bodies and answers (counts with ``totalBillableCharacters``); no Gemini batch routes."""

    batch_routes = None  # Vertex batch prediction (Cloud Storage / BigQuery) is not part of this fake

    def answer(self, server: FakeServer, api: str, req: MockRequest, prompt_tokens: int) -> Any:
        """Gemini's answer; Vertex's count also reports billable characters."""
        data = super().answer(server, api, req, prompt_tokens)
        if api == "gemini-count" and isinstance(data, dict):
            data["totalBillableCharacters"] = len("".join(req.prompt.split()))
        return data


class VertexFake(FakeServer):
    """The fake endpoint.

    Args:
        project: The project that exists.
        api_key: The express-mode key (None: express mode refused).
        refresh_token: The refresh token the OAuth endpoint accepts.
        models: Model ids served (None: any).
        **kwargs: :class:`FakeServer` options (not ``api_key``).
    """

    def __init__(
        self,
        *,
        project: str,
        api_key: str | None = None,
        refresh_token: str = "fake-refresh-token",
        models: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(wires=[_VertexWire()], **kwargs)
        self.project = project
        self.express_key = api_key
        self.refresh_token = refresh_token
        self.models = frozenset(models) if models is not None else None
        self.issued: set[str] = set()
        self._tokens = itertools.count(1)
        self._private_pem: str | None = None
        self._public_pem: str | None = None

    def credentials_file(self) -> dict[str, str]:
        """A service-account key file (application default credentials) whose token endpoint is this fake."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        if self._private_pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._private_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            self._public_pem = (
                key.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            )
        return {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": "fake-key-1",
            "private_key": self._private_pem,
            "client_email": f"niah@{self.project}.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": f"{self.url}/token",
        }

    async def _recorded(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST" and request.path == "/token":
            return await self._token(request)
        raw, headers, body = await read_request(request)
        project_m, express_m = _PROJECT_PATH.match(request.path), _EXPRESS_PATH.match(request.path)
        if request.method != "POST" or (project_m is None and express_m is None):
            missing = f"The requested URL {request.path} was not found on this server."
            return _google(404, "NOT_FOUND", missing)
        bearer = headers.get("authorization", "")
        key = headers.get("x-goog-api-key") or request.query.get("key")
        if project_m is not None:
            _, project, location, model, method = project_m.groups()
            if not bearer and not key:
                return _unauthenticated()
            if key and not bearer:
                return _google(
                    401,
                    "UNAUTHENTICATED",
                    "API keys are not supported by this API. Expected OAuth2 access token or other "
                    "authentication credentials that assert a principal.",
                )
            if bearer.removeprefix("Bearer ") not in self.issued:
                return _unauthenticated("Request had invalid authentication credentials.")
            if project != self.project:
                return _google(
                    403,
                    "PERMISSION_DENIED",
                    f"Permission denied on resource project {project} (or it may not exist).",
                )
            if location not in LOCATIONS:
                return _google(400, "INVALID_ARGUMENT", f"Location {location} is not supported.")
            resource = f"projects/{project}/locations/{location}/publishers/google/models/{model}"
        else:
            assert express_m is not None
            _, model, method = express_m.groups()
            if bearer and not key:
                return _unauthenticated("Express mode takes an API key, not an OAuth token.")
            if not key:
                return _unauthenticated()
            if self.express_key is None or key != self.express_key:
                return _google(
                    400,
                    "INVALID_ARGUMENT",
                    "API key not valid. Please pass a valid API key.",
                    [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com",
                        }
                    ],
                )
            resource = f"publishers/google/models/{model}"
        if self.models is not None and model not in self.models:
            return _google(
                404,
                "NOT_FOUND",
                f"Publisher Model `{resource}` was not found or your project does not have access to it.",
            )
        api = "gemini" if method == "generateContent" else "gemini-count"
        wire = self.wires[0]
        return await self._record(
            request,
            api,
            body,
            headers,
            lambda fault: self._dispatch(request, wire, api, model, fault, raw, body, headers),
        )

    async def _token(self, request: web.Request) -> web.Response:
        """Google's OAuth token endpoint for a service-account JWT grant (RFC 7523)."""
        from google.auth import jwt

        form = await request.post()
        bad = json_response(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if (
            form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer"
            or self._public_pem is None
        ):
            return json_response(
                400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
            )
        try:
            # The assertion names Google's token endpoint as its audience, wherever it is sent.
            audience = "https://oauth2.googleapis.com/token"
            claims = jwt.decode(str(form.get("assertion", "")), certs=self._public_pem, audience=audience)
        except ValueError:
            return bad
        if "https://www.googleapis.com/auth/cloud-platform" not in str(claims.get("scope", "")).split():
            return json_response(400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope."})
        token = f"ya29.fake-{next(self._tokens)}"
        self.issued.add(token)
        return json_response(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})


def _unauthenticated(message: str | None = None) -> web.Response:
    return _google(
        401,
        "UNAUTHENTICATED",
        message
        or "Request is missing required authentication credential. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential.",
    )
