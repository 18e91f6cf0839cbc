"""Haystack construction: corpus cleaning, tokenizers, needles and the token-exact context builder.

Pure, deterministic functions; no network (except a tokenizer explicitly pointed at a local server URL).
"""
