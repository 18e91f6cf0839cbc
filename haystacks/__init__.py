"""Haystack construction: corpus cleaning, tokenizers, needles and the token-exact context builder.

Pure, deterministic functions; no network (except a tokenizer explicitly pointed at a local server URL).

Modules: :mod:`haystacks.corpus` (load, clean, split), :mod:`haystacks.tokenizers` (offline tokenizers
and the count-API hook), :mod:`haystacks.needles` (needle families as data, seeded plans),
:mod:`haystacks.stream` (the shared filler stream), :mod:`haystacks.builder` (``build_haystack``,
``build_grid``), :mod:`haystacks.prompts`, :mod:`haystacks.grids`, :mod:`haystacks.export` (Hugging Face
dataset) and the CLI ``python -m haystacks.build``.
"""
