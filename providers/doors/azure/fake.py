"""A fake Azure OpenAI resource, strict about what Azure checks (tests and benchmarks only).

It is the shared harness (:class:`providers.fakes.harness.FakeServer`: answers, faults, window, prefix cache)
speaking the OpenAI wire (:class:`providers.doors.openai.responses_fake.ResponsesWire`: bodies validated
against the openai SDK's own request types) behind Azure's routing and rules:

* paths ``/openai/deployments/{deployment}/chat/completions`` and ``.../completions``, and
  ``/openai/responses`` (the deployment named by the body's ``model``); anything else is a 404
  ``{"error": {"code": "404", "message": "Resource not found"}}``;
* ``api-version`` query required (missing: 404 ``Resource not found``, as Azure answers) and known
  (others: 400 ``BadRequest`` "API version not supported");
* an ``api-key`` header equal to the resource key, or ``Authorization: Bearer`` with the Entra ID token
  (else 401 ``{"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong
  API endpoint..."}}``);
* a deployment that does not exist: 404 ``DeploymentNotFound``;
* answers name the deployment's underlying model (``model`` in the body is the deployment);
* a prompt containing ``filter_marker``: 400 ``content_filter`` with ``innererror.content_filter_result``;
* 429 faults carry Azure's ``retry-after-ms`` and ``Retry-After`` headers and body.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from providers.doors.openai.responses_fake import ResponsesWire
from providers.fakes.harness import FakeServer, MockRequest, json_response, read_request

__all__ = ["API_VERSIONS", "AzureFake"]

#: api-versions the fake accepts (GA and preview data-plane versions of learn.microsoft.com's lifecycle page).
API_VERSIONS = frozenset(
    {
        "2024-06-01",
        "2024-10-21",
        "2024-12-01-preview",
        "2025-01-01-preview",
        "2025-03-01-preview",
        "2025-04-01-preview",
    }
)
_DEPLOYMENT_PATH = re.compile(r"^/openai/deployments/([^/]+)/(chat/completions|completions)$")
_RESPONSES_PATH = "/openai/responses"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


class _AzureWire(ResponsesWire):
    """OpenAI's bodies and answers, answering with the deployment's model; no OpenAI batch routes."""

    def __init__(self, deployments: dict[str, str]) -> None:
        self.deployments = deployments

    batch_routes = None  # Azure's batch API is not part of this fake

    def answer(self, server: FakeServer, api: str, req: MockRequest, prompt_tokens: int) -> Any:
        """The OpenAI answer, naming the deployment's underlying model as Azure does."""
        data = super().answer(server, api, req, prompt_tokens)
        data["model"] = self.deployments.get(req.model, data["model"])
        return data


class AzureFake(FakeServer):
    """The fake resource.

    Args:
        deployments: ``{deployment name: underlying model id}``.
        api_key: The resource key (``api-key`` header).
        ad_token: An Entra ID token accepted as ``Authorization: Bearer`` (None: none).
        filter_marker: Prompts containing it are refused by the content filter.
        **kwargs: :class:`FakeServer` options (answer, script, context_window, ...; not ``api_key``).
    """

    def __init__(
        self,
        *,
        deployments: dict[str, str],
        api_key: str,
        ad_token: str | None = None,
        filter_marker: str = "FILTER-ME",
        **kwargs: Any,
    ) -> None:
        self.deployments = dict(deployments)
        super().__init__(wires=[_AzureWire(self.deployments)], **kwargs)
        self.resource_key = api_key
        self.ad_token = ad_token
        self.filter_marker = filter_marker

    async def _recorded(self, request: web.Request) -> web.StreamResponse:
        raw, headers, body = await read_request(request)
        m = _DEPLOYMENT_PATH.match(request.path)
        if request.method != "POST" or (m is None and request.path != _RESPONSES_PATH):
            return _error(404, "404", "Resource not found")
        version = request.query.get("api-version")
        if not version:
            return _error(404, "404", "Resource not found")
        if version not in API_VERSIONS:
            return _error(400, "BadRequest", "API version not supported")
        bearer = headers.get("authorization", "")
        token_ok = self.ad_token is not None and bearer == f"Bearer {self.ad_token}"
        if headers.get("api-key") != self.resource_key and not token_ok:
            return _error(
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                "valid key for an active subscription and use a correct regional API endpoint for your "
                "resource.",
            )
        if m is not None:
            deployment, kind = m.group(1), m.group(2)
            api = "openai-chat" if kind == "chat/completions" else "openai-completions"
        else:
            deployment = str(body.get("model") or "") if isinstance(body, dict) else ""
            api = "openai-responses"
        model = self.deployments.get(deployment)
        if model is None:
            return _error(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the deployment within "
                "the last 5 minutes, please wait a moment and try again.",
            )
        return await self._record(
            request,
            api,
            body,
            headers,
            lambda fault: self._azure(request, api, deployment, fault, raw, body, headers),
        )

    async def _azure(
        self,
        request: web.Request,
        api: str,
        deployment: str,
        fault: str,
        raw: bytes,
        body: Any,
        headers: dict[str, str],
    ) -> web.Response:
        if fault == "429":
            wait = self.retry_after if self.retry_after is not None else 1.0
            return _error(
                429,
                "429",
                "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                f"{request.query['api-version']} have exceeded token rate limit of your current OpenAI S0 "
                f"pricing tier. Please retry after {wait:g} seconds.",
                {"retry-after": f"{max(1, round(wait))}", "retry-after-ms": f"{int(wait * 1000)}"},
            )
        wire = self.wires[0]
        if isinstance(body, dict) and fault == "ok":
            prompt = self.parse(wire, api, deployment, body, headers).prompt
            if self.filter_marker and self.filter_marker in prompt:
                return json_response(400, _filtered())
        return await self._dispatch(request, wire, api, deployment, fault, raw, body, headers)


def _filtered() -> dict[str, Any]:
    severity = {"filtered": False, "severity": "safe"}
    return {
        "error": {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
            "management policy. Please modify your prompt and retry. To learn more about our content "
            "filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {
                    "hate": severity,
                    "jailbreak": {"filtered": False, "detected": False},
                    "self_harm": severity,
                    "sexual": severity,
                    "violence": {"filtered": True, "severity": "medium"},
                },
            },
        }
    }
