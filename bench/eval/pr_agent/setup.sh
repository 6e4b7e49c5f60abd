#!/usr/bin/env bash
# The virtualenv pr-agent 0.49.0 needs (Python >= 3.12; Debian bookworm has 3.11), outside CI:
# CI never runs pr-agent, it only re-scores the stored answers (bench/eval/pr_agent/score.py).
#
#   bash bench/eval/pr_agent/setup.sh            # makes /opt/pragent-venv (VENV=... to change)
#
# A Python 3.12+ already on the machine is used (pyenv's, or PYTHON312=/path/to/python3.12);
# otherwise Python 3.13 is built from Debian trixie's source package into /opt/py313.
set -euo pipefail
VENV="${VENV:-/opt/pragent-venv}"
PY="${PYTHON312:-}"
if [ -z "$PY" ]; then
    for candidate in python3.13 python3.12 /root/.pyenv/versions/3.13.*/bin/python3.13 /root/.pyenv/versions/3.12.*/bin/python3.12; do
        if command -v "$candidate" > /dev/null 2>&1 && "$candidate" -c 'import sys, ssl, sqlite3; assert sys.version_info >= (3, 12)' 2>/dev/null; then
            PY="$(command -v "$candidate")"; break
        fi
    done
fi
if [ -z "$PY" ]; then  # not tested here (pyenv had 3.12.1): the recipe of issue 18's note
    VERSION="${PY313_VERSION:?set PY313_VERSION to the python3.13 orig tarball version in http://deb.debian.org/debian/pool/main/p/python3.13/}"
    apt-get install -y build-essential libssl-dev zlib1g-dev libffi-dev libsqlite3-dev libbz2-dev liblzma-dev libreadline-dev
    work="$(mktemp -d)"
    curl -fsSL "http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_${VERSION}.orig.tar.xz" | tar xJ -C "$work"
    (cd "$work"/Python-* && ./configure --prefix=/opt/py313 && nice -n 10 make -j2 && make install)
    PY=/opt/py313/bin/python3.13
fi
echo "using $PY ($("$PY" --version))"
"$PY" -m venv "$VENV"
# quicktok-v1: the o200k_base vocabulary pr-agent counts tokens with, which tiktoken would download
# (no route here); review_one.py hands it to tiktoken's registry.
"$VENV/bin/pip" install pr-agent==0.49.0 quicktok-v1==0.4.0
"$VENV/bin/python" -c 'import pr_agent, quicktok; quicktok.get_encoding("o200k_base")' && echo "pr-agent ready in $VENV"
