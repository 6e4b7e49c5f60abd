#!/usr/bin/env bash
# pr-agent 0.49.0 `/review` on the first LIMIT cases of a held-out set, with Qwen2.5-Coder-1.5B-Instruct
# served by llama-cpp-python's OpenAI-compatible server (the GGUF's own chat template: no
# --chat_format). Stored answers are skipped, so it resumes. Needs setup.sh done once.
#
#   MODEL=/root/.cache/review-bot/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf bash bench/eval/pr_agent/run.sh requests 10
set -uo pipefail
cd "$(dirname "$0")/../../.."
SET="${1:?give a set: requests or werkzeug}"
LIMIT="${2:-10}"
PY="${PYTHON:-/work/main/.venv/bin/python}"
MODEL="${MODEL:?set MODEL to the Qwen GGUF (scripts/fetch_qwen_model.sh prints it)}"
PORT="${PORT:-8765}"
LOG="${LOG:-/tmp/pragent-llama-server.log}"
SERVER=""
if ! curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null; then
    # n_ctx 32768: Qwen2.5's trained context, so pr-agent never clips a pull request to fit.
    "$PY" -m llama_cpp.server --model "$MODEL" --model_alias qwen2.5-coder-1.5b-instruct --n_ctx 32768 \
        --n_threads 2 --n_threads_batch 2 --host 127.0.0.1 --port "$PORT" > "$LOG" 2>&1 &
    SERVER=$!
    # The server finishes a request in flight before it honours SIGTERM: stop it for good.
    trap 'kill "$SERVER" 2> /dev/null; sleep 5; kill -9 "$SERVER" 2> /dev/null' EXIT
    for _ in $(seq 120); do curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null && break; sleep 1; done
fi
PYTHONPATH=. "$PY" -m bench.eval.pr_agent.run --set "$SET" --limit "$LIMIT" --api-base "http://127.0.0.1:$PORT/v1"
