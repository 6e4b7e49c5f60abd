#!/usr/bin/env bash
# Install llama-cpp-python (the in-process model, plus its OpenAI-compatible server) into a given
# Python environment, the fastest honest way:
#
#   1. llama-cpp-python's own prebuilt CPU wheels (LLAMA_CPP_WHEEL_INDEX, default its CPU wheel
#      index): seconds, where that index is reachable and has a wheel for this platform. Tried with
#      --only-binary and a short timeout, so an unreachable index costs seconds, not a build.
#   2. Otherwise a portable source build (CMAKE_ARGS=-DGGML_NATIVE=OFF; a -march=native build dies
#      with "illegal instruction" on a machine other than the one that built it: CI runners,
#      containers, shared caches). Measured on a 2-core machine: about 8.5 minutes of CPU, 10.5 to
#      20 minutes of wall time depending on what else runs. pip keeps the built wheel in its cache
#      (the Action caches it too), so only the first install pays.
#
#   scripts/install_local_extra.sh .venv/bin/python
#   REVIEW_BOT_BUILD_FROM_SOURCE=1 scripts/install_local_extra.sh .venv/bin/python   # skip step 1
set -euo pipefail

PYTHON="${1:-${PYTHON:-python3}}"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
WHEEL_INDEX="${LLAMA_CPP_WHEEL_INDEX:-https://abetlen.github.io/llama-cpp-python/whl/cpu}"
PACKAGE="llama-cpp-python[server]==$VERSION"
PIP=("$PYTHON" -m pip install --quiet --disable-pip-version-check)
started=$SECONDS

if "$PYTHON" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$VERSION')" 2>/dev/null; then
    echo "install_local_extra: llama-cpp-python $VERSION is already installed" >&2
    exit 0
fi

installed=""
if [ "${REVIEW_BOT_BUILD_FROM_SOURCE:-0}" != "1" ]; then
    echo "install_local_extra: trying the prebuilt CPU wheel from $WHEEL_INDEX" >&2
    log="$(mktemp)"
    if "${PIP[@]}" --only-binary llama-cpp-python --extra-index-url "$WHEEL_INDEX" --timeout 10 --retries 0 \
            "$PACKAGE" 2>"$log"; then
        installed="the prebuilt wheel"
    else
        echo "install_local_extra: no prebuilt wheel ($(grep -m1 -o 'No matching distribution.*\|Could not fetch URL[^:]*' "$log" \
            || echo 'see pip'))" >&2
    fi
    rm -f "$log"
fi

if [ -z "$installed" ]; then
    export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
    # Use every core for the C++ build; the default is serial.
    export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
    echo "install_local_extra: building llama-cpp-python $VERSION from source, portable ($CMAKE_ARGS):" \
         "about 10-20 minutes on 2 cores, once (pip caches the wheel)" >&2
    "${PIP[@]}" "$PACKAGE"
    installed="a portable source build (or pip's cached wheel of one)"
fi

"$PYTHON" -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)"
echo "install_local_extra: installed $installed in $((SECONDS - started)) s" >&2
