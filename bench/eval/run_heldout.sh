#!/usr/bin/env bash
# The held-out model runs of docs/quality.md, in the order model time is worth spending:
# the shipped default (review-chat, in-process request cap) on set A (werkzeug) and set B
# (requests), then the request-size curve (no cap = one packed request, 4096, 1024) on the
# first cases of each. Every answer goes to bench/eval/answers-heldout (--cache), so a run
# stopped anywhere resumes where it was, and the tables are re-scored from the stored answers.
#
#   MODEL=/path/to/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf OUT=/tmp/quality_runs bash bench/eval/run_heldout.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-/work/main/.venv/bin/python}"
MODEL="${MODEL:?set MODEL to the Qwen GGUF (scripts/fetch_qwen_model.sh prints it)}"
OUT="${OUT:-/tmp/quality_runs}"
DEFAULT_CASES="${DEFAULT_CASES:-30}"
CURVE_CASES="${CURVE_CASES:-10}"
mkdir -p "$OUT"

step() {  # set, config, cases
    local set=$1 config=$2 cases=$3
    local name="$set-$(basename "$config" .toml)-$cases"
    # --prompts-dir: the templates of this checkout (an editable install may map the packaged
    # ones, bot.prompts_pkg, to another checkout's prompts/ folder, whatever PYTHONPATH says).
    echo "== $(date +%H:%M:%S) $name" >&2
    PYTHONPATH=. "$PY" -m bot eval --set "tests/fixtures/eval/$set" --haystack "tests/fixtures/corpus/$set" \
        --templates review-chat --limit "$cases" --config "$config" --model-path "$MODEL" \
        --prompts-dir "$PWD/prompts" \
        --cache bench/eval/answers-heldout --format json > "$OUT/$name.json"
    local code=$?
    echo "== $(date +%H:%M:%S) $name done (exit $code)" >&2
}

# The agreement rows of docs/quality.md need no run of their own: `review-bot eval --agree-with`
# combines the default's stored answers with those of the no-cap and 4096 runs below.
step werkzeug bench/eval/qwen.toml "$DEFAULT_CASES"
step requests bench/eval/qwen.toml "$DEFAULT_CASES"
# The finding-quality measures (docs/quality.md), each on the first cases of both sets; the
# confirmation and the empty-claim filter reuse the default's stored review answers.
for config in bench/eval/qwen-vacuous.toml bench/eval/qwen-confirm.toml bench/eval/qwen-removals.toml bench/eval/qwen-context.toml \
              bench/eval/qwen-r0.toml bench/eval/qwen-r4096.toml bench/eval/qwen-r1024.toml; do
    step werkzeug "$config" "$CURVE_CASES"
    step requests "$config" "$CURVE_CASES"
done
# 4096 on as many cases as the default: the request-size default is chosen between them (docs/quality.md).
step werkzeug bench/eval/qwen-r4096.toml "$DEFAULT_CASES"
step requests bench/eval/qwen-r4096.toml "$DEFAULT_CASES"
# The measures that read the model's probabilities, on as many cases as the default (docs/quality.md,
# "Ranking and confirmation"): the confirmation answers serve both confirm rows, the ranking answers both
# keep_best rows. First on jinja with whole-file decoys (the development rows their settings were chosen on).
echo "== $(date +%H:%M:%S) jinja (development, whole-file decoys)" >&2
PYTHONPATH=. "$PY" -m bot eval --set "${SHARED:-../shared}/eval/jinja" --haystack "${SHARED:-../shared}/corpus/jinja" \
    --templates review-chat --limit "$DEFAULT_CASES" --config bench/eval/qwen-confirm.toml --model-path "$MODEL" \
    --prompts-dir "$PWD/prompts" --cache bench/eval/answers --format json > "$OUT/jinja-real-confirm.json"
PYTHONPATH=. "$PY" -m bot eval --set "${SHARED:-../shared}/eval/jinja" --haystack "${SHARED:-../shared}/corpus/jinja" \
    --templates review-chat --limit "$DEFAULT_CASES" --config bench/eval/qwen-best1.toml --model-path "$MODEL" \
    --prompts-dir "$PWD/prompts" --cache bench/eval/answers --format json > "$OUT/jinja-real-best1.json"
for config in bench/eval/qwen-confirm.toml bench/eval/qwen-best1.toml; do
    step werkzeug "$config" "$DEFAULT_CASES"
    step requests "$config" "$DEFAULT_CASES"
done
# keep_best on requests capped at 1024 tokens ("keep_best on requests capped at 1024 tokens" in docs/quality.md):
# chosen on jinja with whole-file decoys first, then its ranking answers on the cases the 1024 run has (the
# review answers are stored already). The ranking answers of keep_best 2 serve keep_best 1 too.
echo "== $(date +%H:%M:%S) jinja (development, whole-file decoys), 1024 and keep_best" >&2
for best in 2 1; do
    PYTHONPATH=. "$PY" -m bot eval --set "${SHARED:-../shared}/eval/jinja" --haystack "${SHARED:-../shared}/corpus/jinja" \
        --templates review-chat --limit "$DEFAULT_CASES" --config "bench/eval/qwen-r1024-best$best.toml" \
        --model-path "$MODEL" --prompts-dir "$PWD/prompts" --cache bench/eval/answers --format json \
        > "$OUT/jinja-real-r1024-best$best.json"
done
step werkzeug bench/eval/qwen-r1024-best2.toml "$CURVE_CASES"
step requests bench/eval/qwen-r1024-best2.toml "$CURVE_CASES"
# keep_best 1 ranks runs of exactly 2 findings too (keep_best 2 leaves them as they are).
step werkzeug bench/eval/qwen-r1024-best1.toml "$CURVE_CASES"
step requests bench/eval/qwen-r1024-best1.toml "$CURVE_CASES"
# keep_best by the model's surprise ("Ranking by the model's surprise" in docs/quality.md): chosen on jinja with
# whole-file decoys from a first reading of every added line's surprise, then checked on the first 20 held-out
# cases against the default. The 1024 review answers of cases 11-20 first, then the surprisal reads (keep_best 2
# reads the same hunks as keep_best 1), then jinja's development rows through the same code.
step werkzeug bench/eval/qwen-r1024.toml 20
step requests bench/eval/qwen-r1024.toml 20
step werkzeug bench/eval/qwen-r1024-surprise1.toml 20
step requests bench/eval/qwen-r1024-surprise1.toml 20
echo "== $(date +%H:%M:%S) jinja (development, whole-file decoys), keep_best by surprise" >&2
PYTHONPATH=. "$PY" -m bot eval --set "${SHARED:-../shared}/eval/jinja" --haystack "${SHARED:-../shared}/corpus/jinja" \
    --templates review-chat --limit "$DEFAULT_CASES" --config bench/eval/qwen-r1024-surprise1.toml \
    --model-path "$MODEL" --prompts-dir "$PWD/prompts" --cache bench/eval/answers --format json \
    > "$OUT/jinja-real-r1024-surprise1.json"
# Then on to all 30 cases (reported only): 1024 beside 2048 and 4096 in the *-default tables, and the
# surprise ranking's reads of cases 21-30.
for config in bench/eval/qwen-r1024.toml bench/eval/qwen-r1024-surprise1.toml; do
    step werkzeug "$config" "$DEFAULT_CASES"
    step requests "$config" "$DEFAULT_CASES"
done
