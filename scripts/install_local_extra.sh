#!/usr/bin/env bash
# Install the optional local-model extra (llama-cpp-python, plus its OpenAI-compatible server)
# into a given Python environment.
#
# llama-cpp-python is built from source. A native build (-march=native) dies with
# "illegal instruction" on CI machines whose build and run CPUs differ, so build portable
# code. pip keeps the built wheel in its cache: only the first run pays the build
# (about 4 minutes on 2 cores).
#
#   scripts/install_local_extra.sh .venv/bin/python
set -euo pipefail

PYTHON="${1:-${PYTHON:-python3}}"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"

export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
# Use both cores (or more) for the C++ build; the default is serial.
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"

"$PYTHON" -m pip install --quiet "llama-cpp-python[server]==$VERSION"
"$PYTHON" -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)"
