"""The model registry: aliases, suggestions, keys, validation of broken files, prices, create_provider."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from providers import registry as reg
from providers.base import Usage
from providers.errors import ConfigError, MissingKeyError, RegistryError, UnknownModelError
from providers.registry import (
    Prices,
    create_provider,
    default_model,
    list_models,
    load_registry,
    resolve_api_key,
    resolve_model,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("typed", "alias", "model_id"),
    [
        ("gemini-1.5", "gemini-1.5-pro", "gemini-1.5-pro-002"),
        ("GEMINI-1.5", "gemini-1.5-pro", "gemini-1.5-pro-002"),
        ("  gemini-1.5-pro ", "gemini-1.5-pro", "gemini-1.5-pro-002"),
        ("gemini-1.5-flash", "gemini-1.5-flash", "gemini-1.5-flash-002"),
        ("gemini-2.5-pro", "gemini-2.5-pro", "gemini-2.5-pro"),
        ("gemini-2.0-flash", "gemini-2.0-flash", "gemini-2.0-flash-001"),
        ("gpt-4o", "gpt-4o", "gpt-4o-2024-08-06"),
        ("gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("gpt-4.1", "gpt-4.1", "gpt-4.1-2025-04-14"),
        ("o3-mini", "o3-mini", "o3-mini-2025-01-31"),
        ("o4-mini", "o4-mini", "o4-mini-2025-04-16"),
        ("claude-3-5-sonnet", "claude-3-5-sonnet", "claude-3-5-sonnet-20241022"),
        ("claude-3.5-sonnet", "claude-3-5-sonnet", "claude-3-5-sonnet-20241022"),
        ("claude-sonnet-4", "claude-sonnet-4", "claude-sonnet-4-20250514"),
        ("claude-opus-4", "claude-opus-4", "claude-opus-4-20250514"),
        ("gemma-3-270m", "gemma-3-270m", "gemma-3-270m-q4_k_m"),
        ("vllm", "vllm", ""),
    ],
)
def test_aliases_resolve(typed: str, alias: str, model_id: str) -> None:
    info = resolve_model(typed)
    assert info.alias == alias
    assert info.model_id == model_id


def test_default_model_is_the_local_one() -> None:
    for info in (resolve_model(None), resolve_model(""), default_model()):
        assert info.alias == "gemma-3-270m"
        assert info.provider == "local"
        assert info.mode == "completion"
        assert info.key_env is None and not info.key_required
        assert info.tokenizer.startswith("llamacpp:")


def test_every_entry_is_complete() -> None:
    infos = list_models()
    assert len(infos) >= 25
    for info in infos:
        assert info.tokenizer
        if info.prices is None:  # only where the vendor publishes no plain price; the entry says so
            assert info.status == "active" and "price" in info.notes.lower(), info.alias
        else:
            assert isinstance(info.prices.as_of, dt.date) and info.prices.source
        if info.provider in ("openai", "anthropic", "gemini"):
            assert info.context_window > 0 and info.key_env
            assert info.prices is None or info.prices.input > 0
        if info.provider == "openai":
            assert info.tokenizer in ("cl100k_base", "o200k_base")
            # GPT-5+ tokenizers are not published: o200k_base stands in, marked approximate.
            assert info.tokenizer_exact or info.model_id.startswith(("gpt-5", "gpt-6"))
        if info.provider in ("anthropic", "gemini"):
            assert not info.tokenizer_exact and info.count_api
    gemini = resolve_model("gemini-1.5")
    assert gemini.key_envs == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert resolve_model("o3-mini").reasoning and not resolve_model("o3-mini").supports_temperature
    assert resolve_model("gemma-3-270m").served_context == 8192


def test_compatible_entry_with_model_id() -> None:
    info = resolve_model("vllm:Qwen/Qwen2.5-7B-Instruct")
    assert (info.alias, info.provider, info.model_id) == (
        "vllm:Qwen/Qwen2.5-7B-Instruct",  # the name carries the id: two served models never share it
        "openai-compatible",
        "Qwen/Qwen2.5-7B-Instruct",
    )
    with pytest.raises(UnknownModelError):
        resolve_model("gpt-4o:some-other-id")  # only compatible entries take a model id


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("gemini-1.6-pro", "gemini-1.5-pro"),
        ("gpt4o", None),  # an alias; resolves (checked below)
        ("gpt-4-o", "gpt-4o"),
        ("claude-3-opus", "claude-opus-4"),
        ("sonet", "claude-sonnet-5-5"),
        ("gemma", "gemma-3-270m"),
    ],
)
def test_unknown_names_suggest_close_ones(typed: str, expected: str | None) -> None:
    if expected is None:
        assert resolve_model(typed).alias == "gpt-4o"
        return
    with pytest.raises(UnknownModelError) as info:
        resolve_model(typed)
    err = info.value
    assert expected in err.suggestions
    message = str(err)
    assert "\n" not in message and repr(typed) in message and expected in message


def test_unknown_name_with_nothing_close() -> None:
    with pytest.raises(UnknownModelError) as info:
        resolve_model("zzzzqqqq")
    assert info.value.suggestions == ()
    assert "unknown model 'zzzzqqqq'" in str(info.value)


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(MissingKeyError) as info:
        create_provider(resolve_model("gemini-4-argon"))
    message = str(info.value)
    assert "GEMINI_API_KEY" in message and "GOOGLE_API_KEY" in message and "\n" not in message
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        create_provider(resolve_model("gpt-4o"))
    with pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY"):
        create_provider(resolve_model("claude-sonnet-5-5"))
    monkeypatch.setenv("GEMINI_API_KEY", "   ")  # blank counts as missing
    with pytest.raises(MissingKeyError):
        resolve_api_key(resolve_model("gemini-1.5"))


def test_key_lookup_order_and_fallback() -> None:
    info = resolve_model("gemini-1.5")
    assert resolve_api_key(info, {"GOOGLE_API_KEY": "g"}) == "g"
    assert resolve_api_key(info, {"GOOGLE_API_KEY": "g", "GEMINI_API_KEY": "m"}) == "m"
    assert resolve_api_key(resolve_model("vllm"), {}) is None  # optional key
    assert resolve_api_key(resolve_model("gemma-3-270m"), {}) is None


def test_create_provider_option_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    with pytest.raises(ConfigError, match="base-url"):
        create_provider(resolve_model("openai-compatible"))
    with pytest.raises(ConfigError, match="base-url"):
        create_provider(resolve_model("gpt-4o"), base_url="not a url")
    with pytest.raises(ConfigError, match="n_ctx"):
        create_provider(resolve_model("gpt-4o"), n_ctx=4096)
    with pytest.raises(ConfigError, match="concurrency"):
        create_provider(resolve_model("gpt-4o"), concurrency=0)
    with pytest.raises(ConfigError, match="rpm"):
        create_provider(resolve_model("gpt-4o"), rpm=0)
    with pytest.raises(ConfigError, match="timeout"):
        create_provider(resolve_model("gpt-4o"), timeout_s=0)
    with pytest.raises(ConfigError, match="cannot query"):  # nothing listens on port 9
        create_provider(resolve_model("vllm"), base_url="http://127.0.0.1:9/v1")


def test_model_info_to_dict_has_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value-xyz")
    d = resolve_model("claude-sonnet-4-1m").to_dict()
    assert "sk-ant-secret-value-xyz" not in repr(d)
    assert d["extra_headers"] == {"anthropic-beta": "context-1m-2025-08-07"}
    assert d["prices"]["as_of"] == "2025-08-12"


# ------------------------------------------------------------------------------------------ prices


def test_prices_flat_and_cached() -> None:
    p = resolve_model("gpt-4o").prices
    assert p is not None
    assert p.estimate(1_000_000, 0) == pytest.approx(2.50)
    assert p.estimate(0, 1_000_000) == pytest.approx(10.0)
    # 600K prompt tokens of which 400K cached at half price.
    assert p.estimate(600_000, 0, cached_input_tokens=400_000) == pytest.approx(0.2 * 2.5 + 0.4 * 1.25)
    assert p.cost(Usage(input_tokens=None, output_tokens=3)) is None
    assert p.cost(Usage(input_tokens=1000, output_tokens=100)) == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)


def test_prices_long_context_tier_and_cache_write() -> None:
    p = resolve_model("gemini-1.5-pro").prices
    assert p is not None and p.long_context_threshold == 128000
    assert p.estimate(128_000, 0) == pytest.approx(0.128 * 1.25)
    assert p.estimate(200_000, 1000) == pytest.approx(0.2 * 2.5 + 0.001 * 10.0)
    claude = resolve_model("claude-sonnet-4").prices
    assert claude is not None
    usage = Usage(input_tokens=10_000, output_tokens=0, cached_input_tokens=0, cache_write_tokens=10_000)
    assert claude.cost(usage) == pytest.approx(0.01 * 3.75)
    zero = Prices(input=0.0, output=0.0, as_of=dt.date(2026, 1, 1), source="x")
    assert zero.estimate(10**6, 10**6) == 0.0


# ---------------------------------------------------------------------------------- broken files


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


GOOD_ENTRY = """
[models.m]
provider = "openai"
model_id = "m-1"
context_window = 1000
tokenizer = "cl100k_base"
key_env = "OPENAI_API_KEY"
[models.m.prices]
input = 1.0
output = 2.0
as_of = 2025-01-01
source = "test"
"""


SECOND_ENTRY = GOOD_ENTRY.replace("[models.m", "[models.n").replace("m-1", "n-1")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("schema_version = 1\n[models.m\n", "not valid TOML"),
        (GOOD_ENTRY.replace("context_window = 1000", "context_window = -5"), "models.m.context_window"),
        (GOOD_ENTRY.replace('provider = "openai"', 'provider = "nope"'), "models.m.provider"),
        (GOOD_ENTRY.replace('model_id = "m-1"', 'model_id = "m-1"\nbogus = 1'), "models.m.bogus"),
        (GOOD_ENTRY.replace("input = 1.0", "input = -1.0"), "models.m.prices.input"),
        (
            GOOD_ENTRY.replace('source = "test"', 'source = "test"\ninput_long = 2.0'),
            "long_context_threshold",
        ),
        (GOOD_ENTRY.replace('key_env = "OPENAI_API_KEY"\n', ""), "needs key_env"),
        (GOOD_ENTRY + "[models.m.extra_headers]\nAuthorization = 'x'\n", "credentials"),
        (GOOD_ENTRY + SECOND_ENTRY, None),
        ("schema_version = 1\n", "has no models"),
        (GOOD_ENTRY + 'default_model = "m"\n', "prices.default_model"),  # a key that landed in a table
        ('default_model = "nope"\n' + GOOD_ENTRY, "default_model 'nope'"),
        (SECOND_ENTRY.replace("[models.n]", "[models.n]\naliases = ['m']") + GOOD_ENTRY, "used by both"),
    ],
)
def test_broken_registry_gives_one_clear_line(tmp_path: Path, text: str, needle: str | None) -> None:
    path = _write(tmp_path, text)
    if needle is None:
        assert set(load_registry(path, user_file="").entries) == {"m", "n"}
        return
    with pytest.raises(RegistryError) as info:
        load_registry(path, user_file="")
    message = str(info.value)
    assert needle in message
    assert "\n" not in message


def test_missing_registry_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="not found"):
        load_registry(tmp_path / "nope.toml", user_file="")


def test_user_file_adds_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = _write(tmp_path, GOOD_ENTRY.replace("[models.m", "[models.my-model"))
    monkeypatch.setenv(reg.USER_MODELS_ENV, str(user))
    info = resolve_model("my-model")
    assert info.model_id == "m-1"
    assert resolve_model("gemini-1.5").alias == "gemini-1.5-pro"  # built-in entries stay
    monkeypatch.setenv(reg.USER_MODELS_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(RegistryError, match="not found"):
        resolve_model("gpt-4o")


def test_sdks_are_imported_only_when_used() -> None:
    code = (
        "import sys, providers\n"
        "from providers import resolve_model, list_models\n"
        "list_models(); resolve_model('gemini-1.5'); resolve_model('gpt-4o')\n"
        "loaded = [m for m in ('openai', 'anthropic', 'google.genai', 'xllamacpp') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
