"""OpenAI-compatible servers (vLLM, llama.cpp, Ollama, SGLang): a thin subclass of the OpenAI adapter.

Differences from OpenAI proper: a ``base_url`` is required, the key is optional, the output cap is sent
as ``max_tokens``, the served model id and window can be discovered from ``/v1/models`` (and llama.cpp's
``/props``), and ``count_tokens`` uses the server's ``/tokenize`` where it has one (llama.cpp, vLLM).
Bodies hold only fields of the openai SDK's typed ``create()`` (no ``extra_body``): llama.cpp reuses a
shared prompt prefix with its default ``cache_prompt: true`` and reports ``timings``. A discovered model
is named ``<entry>:<id>`` (``vllm:Qwen/Qwen3-8B``), so two served models never share a name.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import httpx

from providers.doors.openai.adapter import OpenAIProvider
from providers.errors import ConfigError, ProviderError, classify_status, classify_transport

if TYPE_CHECKING:
    from providers.registry import ModelInfo

__all__ = ["OpenAICompatibleProvider", "server_root"]


def server_root(base_url: str) -> str:
    """The server root of an OpenAI-style base URL (``http://h:p/v1`` -> ``http://h:p``)."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def discover(
    info: ModelInfo, base_url: str, api_key: str | None = None, *, is_llamacpp: bool = False
) -> tuple[ModelInfo, bool]:
    """Ask an OpenAI-compatible server for its model id and window (vLLM ``max_model_len``, llama.cpp
    ``/props``); the discovered id joins the entry's name (``vllm:<id>``), so two served models never share
    a run directory or a leaderboard row.

    Returns:
        The entry filled in, and whether the server is llama.cpp.

    Raises:
        ConfigError: The server cannot be reached or serves no model.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(timeout=10.0, headers=headers) as client:
            resp = client.get(f"{base_url}/models")
            resp.raise_for_status()
            models = resp.json().get("data") or []
            props: dict[str, Any] = {}
            first = models[0] if models else {}
            if first.get("owned_by") == "llamacpp":
                is_llamacpp = True
                p = client.get(f"{server_root(base_url)}/props")
                props = p.json() if p.status_code == 200 else {}
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        reason = type(exc).__name__ if not str(exc) else str(exc).splitlines()[0]
        raise ConfigError(f"cannot query the server at {base_url}/models: {reason}") from None
    model_id = info.model_id or first.get("id") or ""
    if not model_id:
        raise ConfigError(f"the server at {base_url} lists no model; name one as '{info.alias}:<model id>'")
    window = info.context_window
    if not window:
        settings = props.get("default_generation_settings") or {}
        window = int(
            settings.get("n_ctx")
            or first.get("max_model_len")
            or (first.get("meta") or {}).get("n_ctx")
            or (first.get("meta") or {}).get("n_ctx_train")
            or 0
        )
    tokenizer = "llamacpp:{server_url}" if is_llamacpp else info.tokenizer
    exact = True if is_llamacpp else info.tokenizer_exact
    alias = info.alias
    if not info.model_id and ":" not in alias:
        alias = f"{alias}:{model_id}"  # the discovered id names the model (records, run names)
    filled = info.model_copy(
        update={
            "alias": alias,
            "model_id": model_id,
            "context_window": window,
            "tokenizer": tokenizer,
            "tokenizer_exact": exact,
            "window_source": "models endpoint" if not info.context_window else info.window_source,
        }
    )
    return filled, is_llamacpp


class OpenAICompatibleProvider(OpenAIProvider):
    """Any server speaking OpenAI's ``/v1/chat/completions`` (and ``/v1/completions``)."""

    kind = "openai-compatible"
    max_tokens_field = "max_tokens"

    def __init__(self, info: ModelInfo, *, base_url: str | None = None, **kwargs: Any) -> None:
        if not base_url:
            raise ConfigError(f"model {info.alias!r} is an OpenAI-compatible server: give its --base-url")
        base_url = base_url.rstrip("/")
        self.is_llamacpp = info.tokenizer.startswith("llamacpp:")
        if info.discover and (not info.model_id or not info.context_window):
            info = self._discover(info, base_url, kwargs.get("api_key"))
        if "{server_url}" in info.tokenizer:
            info = info.model_copy(
                update={"tokenizer": info.tokenizer.format(server_url=server_root(base_url))}
            )
        super().__init__(info, base_url=base_url, **kwargs)
        self._http = httpx.AsyncClient(timeout=self.timeout_s, headers=self._auth_headers())

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _discover(self, info: ModelInfo, base_url: str, api_key: str | None) -> ModelInfo:
        info, self.is_llamacpp = discover(info, base_url, api_key, is_llamacpp=self.is_llamacpp)
        return info

    async def count_tokens(self, text: str) -> int | None:
        """Tokens of ``text`` (no special tokens) from the server's ``/tokenize``; None if it has none."""
        root = server_root(self.base_url or "")
        if self.is_llamacpp:
            payload: dict[str, Any] = {"content": text, "add_special": False}
        else:  # vLLM
            payload = {"model": self.info.model_id, "prompt": text, "add_special_tokens": False}

        async def once() -> int | None:
            try:
                resp = await self._http.post(f"{root}/tokenize", json=payload)
            except httpx.HTTPError as exc:
                err = classify_transport(exc, provider=self.name, secrets=self._secrets())
                raise err or ProviderError(str(exc), provider=self.name) from None
            if resp.status_code in (404, 405, 501):
                return None
            if resp.status_code >= 400:
                body: Any = resp.text
                with contextlib.suppress(ValueError):
                    body = resp.json()
                raise classify_status(
                    resp.status_code, body, resp.headers, provider=self.name, secrets=self._secrets()
                )
            try:
                data = resp.json()
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("count"), int):
                return data["count"]
            if isinstance(data, dict) and isinstance(data.get("tokens"), list):
                return len(data["tokens"])
            raise classify_status(200, resp.text[:200], provider=self.name)

        value, _ = await self._retrying(once, limited=False)
        return value

    async def _close(self) -> None:
        await self._http.aclose()
        await super()._close()
