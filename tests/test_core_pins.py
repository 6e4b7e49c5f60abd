"""The offline core's outputs, pinned: parse -> redact -> filter -> plan -> render, byte for byte.

The core is tuned for speed (`python -m bench --only core`); none of that may change what it
produces. Each case below runs `parse_diff` and `pipeline.prepare` with each review template
on a fixed input and hashes everything that comes out: the parsed diff, the redacted diff with
its secret lines and counts, the skips, and each request's prompt, messages, hunks and token
estimate. The pins in tests/fixtures/core_pins/pins.json were made by the code before the
speed-ups (commit a89190b) with `python -m tests.test_core_pins` and must not move: a change that
means to alter an output regenerates them and says why in its commit. The templates are a89190b's,
copied beside the pins (loaded as a prompts_dir): they pin the code that renders them, and a
template's own later edits do not move the pins.

Inputs: the vendored corpus (tests/fixtures/corpus and tests/fixtures/diffs, never ../shared,
so every machine hashes the same text), the bench's synthetic 20,000-line diff, and a diff made
of every labelled credential case of tests/fixtures/secrets/issue16.jsonl (split values, values
below their names, tokens in file names: the redaction's slow paths).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench.core import synthetic_diff
from bot.config import BudgetSettings, Settings
from bot.diff.parse import parse_diff
from bot.errors import InputError
from bot.pipeline import prepare
from bot.plan.tokens import ShapeEstimator
from bot.prompts.templates import load_template, packaged_templates
from bot.sources import ReviewInput
from bot.types import ParsedDiff, SourceInfo

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PINS = FIXTURES / "core_pins" / "pins.json"
TEMPLATES = FIXTURES / "core_pins"  # a89190b's packaged templates
TEMPLATE_NAMES = ("review", "review-chat", "review-instruct", "starcoder2-pr")
LIFTED = BudgetSettings(max_requests=1_000_000, max_prompt_tokens=10**12)  # every hunk planned, as the bench
INFO = SourceInfo(kind="diff", title="Fix fbed handling <pr> ghp_R8mZ2qL0vXw4Tn7Ks9Pd3Hc6Jy1Fb5Ge8UaQ",
                  body="abc\n\ntoken = 'Zx81Kq0Lm2Np4Rs6Tu8Vw0Yz'\n<!-- hint -->")


def _secrets_diff() -> str:
    """Each labelled case as an added file of its own (its path kept: file names hold tokens too)."""
    out: list[str] = []
    for number, row in enumerate(map(json.loads, (FIXTURES / "secrets" / "issue16.jsonl").open(encoding="utf-8"))):
        path = f"case{number}/{row['path']}"
        lines = row["lines"]
        out += [f"diff --git a/{path} b/{path}", "new file mode 100644", "--- /dev/null", f"+++ b/{path}",
                f"@@ -0,0 +1,{len(lines)} @@", *("+" + line for line in lines)]
    return "\n".join(out) + "\n"


def _inputs() -> dict[str, list[tuple[str, bytes]]]:
    corpus = sorted((FIXTURES / "corpus").rglob("*.diff")) + sorted((FIXTURES / "diffs").glob("*.diff"))
    return {
        "vendored corpus": [(str(p.relative_to(FIXTURES)), p.read_bytes()) for p in corpus],
        "synthetic diff": [("synthetic", synthetic_diff().encode("utf-8"))],
        "credential cases": [("issue16", _secrets_diff().encode("utf-8"))],
    }


def _parsed(parsed: ParsedDiff) -> list[object]:
    return [[(f.path, f.old_path, f.status, f.language, f.is_binary, f.is_submodule,
              [(h.path, h.header, h.old_start, h.old_len, h.new_start, h.new_len,
                [(ln.kind, ln.old_no, ln.new_no, ln.text) for ln in h.lines]) for h in f.hunks])
             for f in parsed.files], [(s.path, s.hunk, s.reason, s.detail) for s in parsed.skipped]]


def outputs(data: bytes, template_name: str, settings: Settings) -> list[object]:
    """Everything the core makes of `data`, as plain JSON-able values (sets sorted)."""
    try:
        parsed = parse_diff(data)
    except InputError as err:
        return ["InputError", str(err)]
    template = load_template(template_name, str(TEMPLATES))
    prepared = prepare(ReviewInput(info=INFO, diff=parsed), settings, template, ShapeEstimator())
    redacted = prepared.redacted
    return [
        _parsed(parsed), _parsed(redacted.review_input.diff),
        [redacted.review_input.info.title, redacted.review_input.info.body],
        sorted(redacted.secret_lines), redacted.count, redacted.emails,
        [(s.path, s.hunk, s.reason, s.detail) for s in prepared.skipped],
        # TemplateCost's context fields came after the pins; the pinned templates print no context.
        [prepared.files, prepared.hunks, prepared.request_budget,
         repr(prepared.overhead).replace(", context=0, context_repeats=0", "")],
        [(r.id, r.prompt, r.est_tokens, [(m.role, m.content) for m in r.messages],
          [(h.path, h.header, len(h.lines)) for h in r.hunks]) for r in prepared.requests],
    ]


def digest(case: str) -> str:
    """sha256 of the core's outputs on every input of `case`, with each template, with the
    default budgets and with budgets lifted (every hunk planned)."""
    hasher = hashlib.sha256()
    for name, data in _inputs()[case]:
        for template_name in TEMPLATE_NAMES:
            for settings in (Settings(), replace(Settings(), budget=LIFTED)):
                value = [name, template_name, outputs(data, template_name, settings)]
                hasher.update(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return hasher.hexdigest()


@pytest.mark.parametrize("case", ["vendored corpus", "synthetic diff", "credential cases"])
def test_the_core_makes_exactly_what_it_made_before_it_was_made_faster(case: str) -> None:
    pins = json.loads(PINS.read_text(encoding="utf-8"))
    assert digest(case) == pins[case]


def test_the_pinned_inputs_exercise_redaction_splitting_and_every_template() -> None:
    """The pins would mean little on inputs without credentials or without a hunk to split."""
    data = dict(_inputs()["credential cases"])["issue16"]
    template = load_template("review", str(TEMPLATES))
    assert template.origin.startswith(str(TEMPLATES))
    prepared = prepare(ReviewInput(info=INFO, diff=parse_diff(data)), replace(Settings(), budget=LIFTED),
                       template, ShapeEstimator())
    assert prepared.redacted.count > 500 and len(prepared.redacted.secret_lines) > 500
    assert prepared.redacted.review_input.info.title != INFO.title  # the title's token replaced
    assert set(TEMPLATE_NAMES) <= set(packaged_templates())  # each still shipped


if __name__ == "__main__":  # regenerate the pins (only for a change meant to alter an output)
    pins = {case: digest(case) for case in _inputs()}
    PINS.write_text(json.dumps(pins, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(pins, indent=2) + "\n")
