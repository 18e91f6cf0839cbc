"""Sizing: the context length that makes a cell's whole prompt exactly ``cell.length`` tokens.

A cell's ``length`` is the whole prompt in the model's tokens. The context gets ``length - overhead -
special`` tokens, where ``overhead`` is the template around it (:func:`haystacks.prompts.prompt_overhead`) and
``special`` the tokens the server adds (llama.cpp's BOS, a chat template's markers), measured once with a
probe. Template and text can merge at their boundary, so the first build can land a token or two off; the
sizer then *fits*: it counts the real prompt — with the server's own ``/apply-template`` + ``/tokenize``
when it is llama.cpp, else with the model's tokenizer — and rebuilds with the context moved by the
difference until the prompt is exact. A cell it cannot fit says so (``tokens_exact: false`` and why).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evals.errors import PlanError

if TYPE_CHECKING:
    from evals.planning.cost import CacheSlot
    from evals.planning.grid import Cell
    from evals.planning.prepare import PreparedRun
    from haystacks.builder import CellSpec, Haystack
    from haystacks.prompts import Prompt
    from haystacks.tasks import AnswerKey
    from providers.base import GenerateRequest, Provider
    from providers.door import CacheRules

__all__ = ["FIT_NEIGHBOURS", "FIT_PADS", "MAX_FIT_ROUNDS", "Built", "Sizer"]

#: Rebuilds a cell may take to land on its exact length.
MAX_FIT_ROUNDS = 4
#: Then context lengths this close to the best one are tried, one each side in turn.
FIT_NEIGHBOURS = 3
#: Then the context ends with one of these instead (see :meth:`Sizer.build`).
FIT_PADS = ("\n", " ")
_PROBE = "采访者：你好。\n"


@dataclass(frozen=True)
class Built:
    """A cell ready to send.

    Attributes:
        cell: The cell.
        spec: What was built (its ``length`` is the context's).
        haystack: The haystack (None for a closed-book control).
        prompt: The rendered prompt.
        request: The request to send.
        key: What the task grades the answer against.
        counted: Prompt tokens as counted before sending (server count, or tokenizer + special tokens).
        target: The planned prompt tokens (None: no target, a closed-book control).
        exact: Whether the prompt is known to be exactly ``target`` tokens.
        note: Why not, when it is not.
    """

    cell: Cell
    spec: CellSpec
    haystack: Haystack | None
    prompt: Prompt
    request: GenerateRequest
    key: AnswerKey
    counted: int
    target: int | None
    exact: bool
    note: str | None = None


class Sizer:
    """Builds cells at their exact prompt length for one run's model (see the module docstring)."""

    def __init__(self, provider: Provider, prep: PreparedRun, tokenizer: Any, exact: bool) -> None:
        self.provider = provider
        self.prep = prep
        self.tokenizer = tokenizer
        self.exact = exact
        self.special_tokens = 0
        self.count_api = False
        self.frame_source: str | None = None
        self.frame_measures: dict[tuple[str, str, int, str, str, str], int] = {}
        self.frames_by_count: set[tuple[str, str, int]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.counter: Any = None
        self.overheads: dict[tuple[str, str, int], int] = {}
        self.tokenizer_name = tokenizer.name
        #: Explicit caching: each planned cell's part (:func:`evals.planning.cost.cache_layout`), and where
        #: each
        #: built cell that writes a breakpoint put it: (offset in its user message, sha256 of the prefix).
        self.cache_slots: dict[str, CacheSlot] = {}
        self.cache_marks: dict[str, tuple[int, str]] = {}

    @classmethod
    async def create(cls, provider: Provider, prep: PreparedRun, *, use_count_api: bool = True) -> Sizer:
        """The sizer of a started provider: its tokenizer (or count API), its server counter, its probe."""
        from haystacks.tokenizers import get_tokenizer

        served = provider.info
        tokenizer = await asyncio.to_thread(get_tokenizer, served.tokenizer)
        exact = bool(served.tokenizer_exact)
        sizer = cls(provider, prep, tokenizer, exact)
        sizer.loop = asyncio.get_running_loop()
        if not exact and served.count_api and use_count_api:
            sizer.tokenizer = await sizer._counting_tokenizer(tokenizer)
            sizer.exact = True
            sizer.tokenizer_name = f"count-api:{served.alias}"
        if getattr(provider, "is_llamacpp", False) and sizer.exact:
            from providers.doors.openai_compat.counting import LlamaCppCounter

            sizer.counter = LlamaCppCounter(getattr(provider, "base_url", None) or served.base_url or "")
            sizer.tokenizer_name = _llamacpp_name(provider)
        sizer.special_tokens = await sizer._special_tokens()
        return sizer

    async def _counting_tokenizer(self, proxy: Any) -> Any:
        """Exact lengths for a model whose tokenizer is not public, through its provider's count API.

        The count endpoints (Anthropic, Gemini) count a text as one user message, framing included; a text's
        own tokens are the difference of two counts (:data:`haystacks.tokenizers.COUNT_PREFIX`), so the
        framing cancels and nothing is measured up front. The builder then sizes every cell from counts of
        the filler stream shared by all cells (:mod:`haystacks.filler_counts`), and :meth:`_frame` measures
        the prompt around the context once per question.
        """
        from haystacks.tokenizers import CountingTokenizer

        provider = self.provider
        self.count_api = True
        return CountingTokenizer(
            f"count:{provider.info.alias}",
            provider.count_tokens,
            proxy,
            loop=asyncio.get_running_loop(),
            framed=True,
        )

    def _frame(self, cell: Cell) -> _Frame:
        """The builder's view of a count-API model's prompt around a cell's context (:class:`_Frame`)."""
        return _Frame(self, cell)

    async def _special_tokens(self) -> int:
        """Tokens the server adds around a prompt's text, measured once with a one-token probe; 0 when the
        tokenizer is only a proxy or the provider reports no usage."""
        from providers.errors import ProviderError

        if not self.exact or self.count_api:
            return 0  # a count API's frame is measured per question (:meth:`_frame`)
        probe = self._request(_PROBE, None, max_tokens=1)
        if self.counter is not None:
            n = await self.counter.count(probe)
            if n is not None:
                return max(0, n - await asyncio.to_thread(self._own_count, _PROBE))
        try:
            res = await self.provider.generate(probe)
        except ProviderError:
            return 0
        reported = res.usage.input_tokens
        if reported is None or res.stop_reason.value == "model_length":
            return 0
        return max(0, reported - await asyncio.to_thread(self.tokenizer.count, _PROBE))

    def _layout_tok(self) -> Any:
        return getattr(self.tokenizer, "layout_tokenizer", None) or self.tokenizer

    def _own_count(self, text: str) -> int:
        # a count API is paid per call: our own counts use its layout proxy
        return self._layout_tok().count(text)

    # -- planning

    def spec(self, cell: Cell, context_length: int) -> CellSpec:
        """The builder's spec of a cell with ``context_length`` tokens of context."""
        from haystacks.builder import CellSpec
        from haystacks.tasks import get_task

        t = get_task(cell.task)
        return CellSpec(
            task=cell.task,
            length=context_length,
            depth=cell.depth,
            seed=cell.seed,
            language=cell.language,
            shuffle=self.prep.cfg.shuffle,
            **t.cell_params(self.prep.cfg.task_options()),
        )

    def overhead(self, cell: Cell) -> int:
        """Template tokens around a cell's context (per task, language, seed: the question differs)."""
        from haystacks.prompts import prompt_overhead

        key = (cell.task, cell.language, cell.seed)
        if key not in self.overheads:
            spec = self.spec(cell, cell.length)
            if self.count_api:
                # until :meth:`_frame` has measured it: the layout proxy's estimate (no count call)
                return prompt_overhead(self._layout_tok(), spec, self.prep.style)
            self.overheads[key] = prompt_overhead(self.tokenizer, spec, self.prep.style)
        return self.overheads[key]

    def context_length(self, cell: Cell) -> int:
        """The first estimate: context tokens that make the whole prompt ``cell.length`` tokens long."""
        return cell.length - self.overhead(cell) - self.special_tokens

    def validate_lengths(self, cells: list[Cell]) -> None:
        """Refuse (before anything is written) lengths too short for the prompt template and needles."""
        for cell in cells:
            if cell.kind != "cell":
                continue
            ctx = self.context_length(cell)
            if ctx < 64:
                fixed = self.overhead(cell) + self.special_tokens
                raise PlanError(
                    f"length {cell.length} is too short for task {cell.task}: the prompt template alone "
                    f"takes {fixed} tokens; use lengths of at least {fixed + 200}"
                )

    async def prewarm(self, cells: list[Cell]) -> None:
        """A count-API model: size one cell of each length, shortest first, before the run.

        The run's order (needle position descending, for prefix caching) would start with the longest
        cells, whose first count then extrapolates a proxy ratio over the whole context; shortest first,
        every length's first count starts from the last one's counts and ratio.
        """
        if not self.count_api:
            return
        firsts: dict[tuple[str, str, int, int], Cell] = {}
        for cell in cells:
            if cell.kind == "cell":
                firsts.setdefault((cell.task, cell.language, cell.seed, cell.length), cell)
        for key in sorted(firsts, key=lambda k: (k[3], k[:3])):
            await asyncio.to_thread(self.build, firsts[key])

    def header_facts(self) -> dict[str, Any]:
        """Sizing facts for the run header."""
        return {
            "special_tokens": self.special_tokens,
            "count_api_frame": self.frame_source,
            "prompt_overhead": {f"{t}:{lang}:{s}": n for (t, lang, s), n in self.overheads.items()},
            "exact_fit": "server"
            if self.counter is not None
            else ("count-api" if self.count_api else ("tokenizer" if self.exact else None)),
        }

    # -- building

    def _request(
        self,
        text: str,
        prompt: Prompt | None,
        max_tokens: int,
        cell: Cell | None = None,
        hay: Haystack | None = None,
    ) -> GenerateRequest:
        from providers.base import GenerateRequest, Message

        cfg, info = self.prep.cfg, self.prep.info
        if self.prep.style == "completion":
            return GenerateRequest(
                prompt=text if prompt is None else prompt.completion,
                max_tokens=max_tokens,
                temperature=cfg.temperature,
            )
        prefill = prompt.answer_prefix if prompt is not None and info.supports_prefill else None
        return GenerateRequest(
            messages=(Message("user", text if prompt is None else prompt.user),),
            system=None if prompt is None else prompt.system,
            max_tokens=max_tokens,
            temperature=cfg.temperature,
            prefill=prefill or None,
            **self._cache_fields(cell, prompt, hay),
        )

    def plan_cache(self, cells: list[Cell], concurrency: int, *, batch: bool = False) -> None:
        """Lay out the explicit cache breakpoints of ``cells`` (in execution order; a door with
        breakpoints only, see :func:`evals.planning.cost.cache_layout`, with the lifetime
        :func:`evals.planning.cost.long_ttl`
        picks); cells planned before keep their marks."""
        from evals.planning.cost import cache_layout, long_ttl

        rules = self._cache_rules
        if not rules.explicit or (batch and not rules.in_batch):
            return
        long = long_ttl(cells, rules, self.prep.info.prices, concurrency=concurrency, batch=batch)
        layout = cache_layout(cells, rules, concurrency=concurrency, long=long)
        for cell, slot in zip(cells, layout, strict=True):
            self.cache_slots[cell.cell_id] = slot

    def cache_breakpoints(self, cell: Cell, prompt: Prompt | None, hay: Haystack | None) -> tuple[int, ...]:
        """Character offsets into ``prompt.user`` where the cell's cacheable prefixes end (Anthropic).

        The cell's slot (:meth:`plan_cache`) names the earlier cells whose prefixes it reads: each such
        cell's breakpoint is repeated where it lies in this prompt (checked: the same text up to it, by
        hash), and, when the slot says so, one more goes at the cell's own first needle
        (:attr:`Prompt.cache_split`) if the prefix there reaches the minimum cacheable length. Empty when
        there is no slot or nothing to read or write (no breakpoint at all: caching what nobody reads is
        pure cost).
        """
        slot = self.cache_slots.get(cell.cell_id)
        if slot is None or prompt is None or prompt.cache_split is None:
            return ()
        user, split = prompt.user, prompt.cache_split
        offsets: set[int] = set()
        for rid in slot.reads:
            mark = self.cache_marks.get(rid)
            if mark is not None and 0 < mark[0] <= split and _digest(user[: mark[0]]) == mark[1]:
                offsets.add(mark[0])
        if slot.write and split > 0 and self._prefix_cacheable(user, split, hay):
            offsets.add(split)
        keep = sorted(offsets)
        limit = self._cache_rules.max_breakpoints
        if len(keep) > limit:  # the longest ones: a read of a longer prefix makes shorter ones moot
            keep = keep[-limit:]
        return tuple(keep)

    def _prefix_cacheable(self, user: str, split: int, hay: Haystack | None) -> bool:
        minimum = self._cache_rules.min_prefix_tokens
        first = hay.needles[0].token_offset if hay is not None and hay.needles else 0
        if first >= minimum + 16:  # the context before the needle alone is long enough
            return True
        return self._own_count(user[:split]) >= minimum

    def _mark(self, built: Built) -> Built:
        """Remember where a cell that writes a breakpoint put it (the one sent: the fitted build)."""
        req, prompt = built.request, built.prompt
        split = prompt.cache_split
        if req.cache_breakpoints and split is not None and req.cache_breakpoints[-1] == split:
            slot = self.cache_slots.get(built.cell.cell_id)
            if slot is not None and slot.write:
                self.cache_marks[built.cell.cell_id] = (split, _digest(prompt.user[:split]))
        return built

    @functools.cached_property
    def _cache_rules(self) -> CacheRules:
        """The model's prompt-cache rules, from its door."""
        from providers.doors import door_for

        info = self.prep.info
        return door_for(info).capabilities(info).cache

    def _cache_fields(self, cell: Cell | None, prompt: Prompt | None, hay: Haystack | None) -> dict[str, Any]:
        if not self._cache_rules.explicit:
            return {}
        cuts = self.cache_breakpoints(cell, prompt, hay) if cell is not None else ()
        if not cuts:
            # nothing to read or write: no breakpoint at all (caching what no other cell reads is pure cost)
            return {"cache_prefix": False}
        slot = self.cache_slots.get(cell.cell_id) if cell is not None else None
        return {"cache_breakpoints": cuts, "cache_ttl": "1h" if slot is not None and slot.long else None}

    def build(self, cell: Cell, context_length: int | None = None, pad: str = "") -> Built:
        """Build a cell (CPU/tokenizer work; run it in a thread).

        ``pad`` ends the context with one more character (a newline or a space) when no cut of the text
        lands on the target: in a tokenizer whose every character of this text is two tokens (Chinese in a
        byte-level BPE), cuts reach only every other count.
        """
        from haystacks.builder import build_haystack
        from haystacks.prompts import render_closed_book, render_prompt
        from haystacks.tasks import get_task

        if cell.kind == "closed_book":
            spec = self.spec(cell, 1)
            plan = get_task(spec.task).plan(spec)
            prompt = render_closed_book(plan.question, cell.language)
            req = self._request("", prompt, cell.max_tokens)
            key = plan.answer_key(cell.task, cell.language)
            counted = self._own_count(req.text) + self.special_tokens
            return Built(cell, spec, None, prompt, req, key, counted, None, False, "closed-book control")
        if self.count_api and context_length is None and not pad:
            # sized as a whole prompt: the frame is measured by the model's server
            hay = build_haystack(
                self.spec(cell, cell.length), self.tokenizer, self.prep.corpus, frame=self._frame(cell)
            )
            spec = hay.spec
            self.overheads[(cell.task, cell.language, cell.seed)] = cell.length - spec.length
        else:
            spec = self.spec(
                cell, context_length if context_length is not None else self.context_length(cell)
            )
            hay = build_haystack(spec, self.tokenizer, self.prep.corpus)
        if pad:
            context = hay.context.rstrip("\n") + pad
            hay = dataclasses.replace(hay, context=context, context_tokens=self.tokenizer.count(context))
        prompt = render_prompt(hay, self.prep.style)
        req = self._request("", prompt, cell.max_tokens, cell, hay)
        assert hay.answer_key is not None
        exact = bool(hay.tokens_counted and self.exact)  # fit() then hits the target
        note = None if exact else "lengths measured with a stand-in tokenizer (the model's is not public)"
        if self.count_api and exact:
            # the frame measured by the model's server plus the context's share, from shared counts
            counted = cell.length - spec.length + hay.context_tokens
            if counted != cell.length:
                exact = False
                note = f"no cut of the filler gives exactly {cell.length} prompt tokens (closest {counted})"
        else:
            counted = self._own_count(req.text) + self.special_tokens
        return Built(cell, spec, hay, prompt, req, hay.answer_key, counted, cell.length, exact, note)

    async def fit(self, cell: Cell) -> Built:
        """Build a cell and move its context until the whole prompt is exactly ``cell.length`` tokens.

        The prompt is counted by the server (llama.cpp) or by the model's own tokenizer; a count-API model is
        not recounted per cell (its generation call reports the count, and the record says when it is off).
        """
        return self._mark(await self._fit(cell))

    async def _fit(self, cell: Cell) -> Built:
        built = await asyncio.to_thread(self.build, cell)
        if cell.kind != "cell" or not built.exact:
            return built
        uses_count_api = getattr(self.tokenizer, "layout_tokenizer", None) is not None
        if self.counter is None and uses_count_api:
            return built
        target = cell.length
        ctx = built.spec.length
        tried: dict[tuple[int, str], tuple[int, Built]] = {}

        def closest() -> tuple[int, Built]:
            return min(tried.values(), key=lambda v: (abs(v[0] - target), v[0] > target))

        plan: list[tuple[int, str]] = []
        pad = ""
        for _ in range(MAX_FIT_ROUNDS + 2 * FIT_NEIGHBOURS + len(FIT_PADS)):
            n = await self._count(built)
            if n is None:
                note = "the server could not count the prompt; sized by the template's measured overhead"
                return dataclasses.replace(built, exact=False, note=note)
            built = dataclasses.replace(built, counted=n)
            if n == target:
                return built
            tried[(ctx, pad)] = (n, built)
            step = (ctx + (target - n), pad)
            if not plan and len(tried) < MAX_FIT_ROUNDS and step not in tried and step[0] >= 1:
                ctx, pad = step
            else:
                if not plan:
                    # proportional steps stalled: the closest's neighbours, then each with a one-character end
                    best = min(tried, key=lambda k: (abs(tried[k][0] - target), tried[k][0] > target))[0]
                    around = [best + d for k in range(1, FIT_NEIGHBOURS + 1) for d in (-k, k)]
                    plan = [(c, "") for c in around] + [(best + d, p) for p in FIT_PADS for d in (0, -1)]
                    plan = [k for k in plan if k[0] >= 1 and k not in tried]
                if not plan:
                    break
                ctx, pad = plan.pop(0)
            built = await asyncio.to_thread(self.build, cell, ctx, pad)
        n, built = closest()
        note = f"no context length gives exactly {target} prompt tokens through the template (closest {n})"
        return dataclasses.replace(built, exact=False, note=note)

    async def _count(self, built: Built) -> int | None:
        if self.counter is not None:
            return await self.counter.count(built.request)
        return built.counted  # build() counted the request in the model's tokenizer, special tokens added

    async def aclose(self) -> None:
        if self.counter is not None:
            await self.counter.aclose()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _llamacpp_name(provider: Provider) -> str:
    """A stable name of a llama.cpp model's tokenizer: the model id and, for the embedded model, its GGUF's
    sha256 (the server's URL means nothing after the run)."""
    info = provider.info
    sha = getattr(getattr(provider, "server", None), "model_sha256", None)
    digest = sha() if callable(sha) else None
    return f"llamacpp:{info.model_id or info.alias}" + (f"@sha256:{digest}" if digest else "")


class _Frame:
    """A count-API model's prompt around one cell's context, measured by its own server (the builder's
    :class:`haystacks.builder.Frame`).

    :meth:`measure` sends a prompt whose context is a short counted piece of filler (with a needle text
    before it or after it) as a one-token generation and reads the prompt tokens it reports: the count the
    cell itself will be checked against (a count endpoint's absolute counts may differ from it by a
    constant; the filler only uses differences of its counts). It falls back to the count endpoint when the
    generation fails (e.g. a thinking model refusing ``max_tokens=1``). Measures are kept per question.
    """

    def __init__(self, sizer: Sizer, cell: Cell) -> None:
        self.sizer = sizer
        self.cell = cell

    def estimate(self) -> int:
        return self.sizer.overhead(self.cell) + self.sizer.special_tokens

    def measure(self, lead: str, end: str, piece: str) -> int:
        from haystacks.prompts import Prompt, prompt_frame
        from providers.errors import ProviderError

        sizer, cell = self.sizer, self.cell
        question = (cell.task, cell.language, cell.seed)
        key = (*question, lead, end, piece)
        got = sizer.frame_measures.get(key)
        if got is not None:
            return got
        before, after, prefix = prompt_frame(sizer.spec(cell, cell.length), sizer.prep.style)
        user = before + lead + piece + "\n" + (end + "\n" if end else "") + after
        prompt = Prompt(system=None, user=user, completion=f"{user}\n{prefix}", answer_prefix=prefix)
        req = sizer._request("", prompt, max_tokens=1)
        reported: int | None = None
        if question not in sizer.frames_by_count:
            try:
                res = asyncio.run_coroutine_threadsafe(sizer.provider.generate(req), sizer.loop).result()
                if res.stop_reason.value != "model_length":
                    reported = res.usage.input_tokens
            except ProviderError:
                reported = None
            if reported is None:
                # one source per question: earlier measures of it are taken again from the count endpoint
                sizer.frames_by_count.add(question)
                for k in [k for k in sizer.frame_measures if k[:3] == question]:
                    del sizer.frame_measures[k]
        if reported is None:
            reported = sizer.tokenizer.raw(req.text)
            sizer.frame_source = sizer.frame_source or "count"
            if reported is None:
                raise _no_count(sizer.tokenizer.name)
        else:
            sizer.frame_source = "generation"
        sizer.frame_measures[key] = reported
        return reported


def _no_count(name: str) -> Exception:
    from haystacks.tokenizers import NoCountError

    return NoCountError(f"{name} gave no count for the prompt frame")
