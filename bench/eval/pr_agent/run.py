"""Send each held-out case's pull request to pr-agent `/review`; store its answer per case.

    PYTHONPATH=. /work/main/.venv/bin/python -m bench.eval.pr_agent.run --set requests --limit 10

Runs in our virtualenv (it builds the cases with bot.eval: the same pull request, decoys included,
that `review-bot eval --set tests/fixtures/eval/SET --haystack tests/fixtures/corpus/SET` reviews)
and calls review_one.py in pr-agent's (Python 3.12, setup.sh) once per case. A case whose answer
is stored (bench/eval/answers-pragent/SET/CASE.json) is skipped, so a stopped run resumes. Needs
`python -m llama_cpp.server` listening (run.sh starts it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.eval.pr_agent.cases import heldout_cases, pr_diff_text

REPO_ROOT = Path(__file__).resolve().parents[3]
ANSWERS = REPO_ROOT / "bench" / "eval" / "answers-pragent"
REVIEW_ONE = Path(__file__).resolve().parent / "review_one.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval.pr_agent.run", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--set", required=True, help="werkzeug or requests (tests/fixtures/eval/SET)")
    parser.add_argument("--limit", type=int, default=10, help="the first N cases by name")
    parser.add_argument("--python", default="/opt/pragent-venv/bin/python", help="pr-agent's virtualenv")
    parser.add_argument("--api-base", default="http://127.0.0.1:8765/v1")
    args = parser.parse_args(argv)
    eval_set, corpus = f"tests/fixtures/eval/{args.set}", f"tests/fixtures/corpus/{args.set}"
    out = ANSWERS / args.set
    out.mkdir(parents=True, exist_ok=True)
    for number, case in enumerate(heldout_cases(str(REPO_ROOT / eval_set), str(REPO_ROOT / corpus), args.limit), 1):
        stored = out / f"{case.name}.json"
        if stored.is_file():
            print(f"{number}/{args.limit} {case.name}: stored", file=sys.stderr)
            continue
        text = pr_diff_text(case)
        with tempfile.TemporaryDirectory() as work:
            diff, answer = Path(work) / "pr.diff", Path(work) / "answer.json"
            diff.write_text(text, encoding="utf-8")
            done = subprocess.run([args.python, str(REVIEW_ONE), "--diff", str(diff), "--out", str(answer),
                                   "--api-base", args.api_base], cwd=work, capture_output=True, text=True)
            if not answer.is_file():
                print(f"{number}/{args.limit} {case.name}: pr-agent wrote nothing (exit {done.returncode}): "
                      f"{done.stderr[-1500:]}", file=sys.stderr)
                continue
            data = json.loads(answer.read_text(encoding="utf-8"))
        record = {"set": args.set, "case": case.name, "pr_diff_sha256": hashlib.sha256(text.encode()).hexdigest(),
                  "files": [f.path for f in case.diff.files], **data}
        stored.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        issues = ((data.get("review") or {}).get("review") or {}).get("key_issues_to_review")
        print(f"{number}/{args.limit} {case.name}: {data.get('seconds')} s, exit {data.get('exit')}, "
              f"{len(issues) if isinstance(issues, list) else 0} key issues", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
