"""Planning: token estimates, packing, splitting, run budget; checked by rendering real prompts."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import BudgetSettings, ModelSettings, Settings
from bot.diff.hunk_text import hunk_listing
from bot.diff.parse import parse_diff
from bot.errors import ConfigError
from bot.plan.packing import file_priority, make_plan, request_cap, split_batch, split_hunk
from bot.plan.tokens import CharEstimator, TokenizerEstimator, make_estimator
from bot.prompts.render import TemplateCost, render_request, template_overhead
from bot.prompts.templates import load_template
from bot.types import Batch, FileDiff, Hunk, Plan
from tests.conftest import JINJA_CASES
from tests.test_prompts import SOURCE, corpus, hunk

ESTIMATOR = CharEstimator(2.5)
TEMPLATES = ("review", "review-instruct", "starcoder2-pr")
REF = re.compile(r"^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$")
ADDED = re.compile(r"^ *(\d+) \+ (.*)$", re.M)  # an added line of a numbered listing


def plan_settings(context_window: int = 16384, max_requests: int = 100_000,
                  max_prompt_tokens: int = 10**9, max_request_tokens: int | None = 0) -> Settings:
    """No per-request cap unless asked (0): these tests are about the window and the run budget."""
    return Settings(model=ModelSettings(context_window=context_window),
                    budget=BudgetSettings(max_requests=max_requests, max_prompt_tokens=max_prompt_tokens,
                                          max_request_tokens=max_request_tokens))


def file_of(*hunks: Hunk) -> FileDiff:
    return FileDiff(path=hunks[0].path, old_path=hunks[0].path, status="modified", hunks=hunks)


def lines_body(n: int, kinds: str = "+ -", width: int = 30) -> list[tuple[str, str]]:
    return [(kinds[i % len(kinds)], f"line {i} " + "x" * (i * 7 % width)) for i in range(n)]


def reparse(part: Hunk) -> Hunk:
    """The part as a unified diff, parsed back by bot.diff.parse: its header must match its lines."""
    body = "".join(f"{ln.kind}{ln.text}\n" for ln in part.lines)
    text = f"diff --git a/{part.path} b/{part.path}\n--- a/{part.path}\n+++ b/{part.path}\n{part.header}\n{body}"
    parsed = parse_diff(text)
    assert not parsed.skipped, parsed.skipped
    (again,) = parsed.files[0].hunks
    return again


def covered(plan: Plan) -> dict[str, set[tuple[str, int | None]]]:
    """Per path, ("+", new_no) / ("-", old_no) of changed lines in some batch or in a skipped range."""
    seen: dict[str, set[tuple[str, int | None]]] = {}
    for batch in plan.batches:
        for h in batch.hunks:
            seen.setdefault(h.path, set()).update(
                ("+", ln.new_no) if ln.kind == "+" else ("-", ln.old_no)
                for ln in h.lines if ln.kind != " ")
    for skip in plan.skipped:
        match = REF.match(skip.hunk or "")
        assert match, skip
        old_start, old_len, new_start, new_len = map(int, match.groups())
        seen.setdefault(skip.path, set()).update(
            {("+", n) for n in range(new_start, new_start + new_len)}
            | {("-", n) for n in range(old_start, old_start + old_len)})
    return seen


def assert_nothing_lost(files: tuple[FileDiff, ...], plan: Plan) -> None:
    seen = covered(plan)
    for f in files:
        for h in f.hunks:
            for ln in h.lines:
                if ln.kind != " ":
                    key = ("+", ln.new_no) if ln.kind == "+" else ("-", ln.old_no)
                    assert key in seen.get(f.path, set()), (f.path, h.ref, ln)


# ---------------------------------------------------------------- estimators

def test_char_estimator_rounds_up() -> None:
    assert [CharEstimator(2.5).count(t) for t in ("", "a", "abcde", "abcdef")] == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="chars_per_token"):
        CharEstimator(0)


def test_make_estimator_counts_characters_unless_a_tokenizer_file_is_set() -> None:
    assert make_estimator(ModelSettings(chars_per_token=4.0)).count("x" * 9) == 3


@pytest.mark.skipif(importlib.util.find_spec("tokenizers") is not None, reason="tokenizers is installed")
def test_tokenizer_file_without_the_package_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("pip install 'starcoder-review-bot[tokenizer]'")):
        make_estimator(ModelSettings(tokenizer_file=str(tmp_path / "tokenizer.json")))


@pytest.mark.skipif(importlib.util.find_spec("tokenizers") is None, reason="tokenizers is not installed")
def test_tokenizer_estimator_counts_with_the_tokenizer(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "t.json"))
    estimator = TokenizerEstimator(str(tmp_path / "t.json"))
    assert estimator.count("a b zz") == 3 and estimator.count_many(["a", "a b"]) == [1, 2]
    with pytest.raises(ConfigError, match="no such file"):
        TokenizerEstimator(str(tmp_path / "missing.json"))


@pytest.mark.skipif(importlib.util.find_spec("tokenizers") is None, reason="tokenizers is not installed")
@pytest.mark.parametrize("name", TEMPLATES)
def test_estimates_bound_a_real_bpe_tokenizer(tmp_path: Path, name: str) -> None:
    """A byte-level BPE (StarCoder2's kind) trained on the corpus: merges across the seams
    between the pieces the planner counts must not push a prompt past its estimate."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    cases = JINJA_CASES[:: max(len(JINJA_CASES) // 8, 1)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator([(c / "pr.diff").read_text("utf-8", "replace") for c in cases],
                            trainers.BpeTrainer(vocab_size=4000, special_tokens=["<|endoftext|>", "<pr>"]))
    tok.save(str(tmp_path / "bpe.json"))
    estimator = TokenizerEstimator(str(tmp_path / "bpe.json"))
    template = load_template(name, None)
    cost = template_overhead(template, SOURCE, estimator)
    for case in cases:
        plan = make_plan(corpus(str(case)).files, plan_settings(2048), cost, estimator)
        for batch in plan.batches:
            assert render_request(template, batch, SOURCE, estimator).est_tokens <= cost.base + batch.est_tokens


# ---------------------------------------------------------------- the request budget holds on real diffs

@pytest.mark.parametrize("context_window", [16384, 2048])
@pytest.mark.parametrize("name", TEMPLATES)
def test_no_rendered_request_exceeds_the_window_on_any_corpus_case(name: str, context_window: int) -> None:
    template = load_template(name, None)
    cost = template_overhead(template, SOURCE, ESTIMATOR)
    settings = plan_settings(context_window)
    window = context_window - settings.model.max_new_tokens
    for case in JINJA_CASES:
        parsed = corpus(str(case))
        plan = make_plan(parsed.files, settings, cost, ESTIMATOR)
        assert plan.request_budget == window - cost.base - settings.budget.safety_margin_tokens
        for batch in plan.batches:
            request = render_request(template, batch, SOURCE, ESTIMATOR)
            assert request.est_tokens == ESTIMATOR.count(request.prompt)
            # The planner's estimate bounds the real prompt, and stays within the window.
            assert request.est_tokens <= cost.base + batch.est_tokens <= window - settings.budget.safety_margin_tokens
        assert all(s.reason == "too_large" for s in plan.skipped)
        assert_nothing_lost(parsed.files, plan)


@pytest.mark.parametrize("context_window", [16384, 2048])
def test_with_budgets_lifted_every_added_line_is_in_a_prompt_with_its_number(context_window: int) -> None:
    template = load_template("review", None)
    cost = template_overhead(template, SOURCE, ESTIMATOR)
    for case in JINJA_CASES:
        parsed = corpus(str(case))
        plan = make_plan(parsed.files, plan_settings(context_window), cost, ESTIMATOR)
        too_large = {(s.path, s.hunk) for s in plan.skipped}
        for path, ref in too_large:  # only lines that alone outgrow a request (a huge deleted SVG line)
            (line,) = [ln for f in parsed.files if f.path == path for h in f.hunks for ln in h.lines
                       if ref == f"@@ -{ln.old_no},1 +{(ln.new_no or 1) - 1},0 @@" and ln.kind == "-"]
            assert ESTIMATOR.count(line.text) > plan.request_budget
        shown: dict[str, set[tuple[int, str]]] = {}
        for batch in plan.batches:
            prompt = render_request(template, batch, SOURCE, ESTIMATOR).prompt
            added = {(int(m[1]), m[2]) for m in ADDED.finditer(prompt)}
            for path in batch.files:
                shown.setdefault(path, set()).update(added)
        for f in parsed.files:
            for h in f.hunks:
                for ln in h.added:
                    assert (ln.new_no, ln.text) in shown[f.path], (f.path, ln)


def test_a_small_window_forces_splits_with_headers_matching_their_lines() -> None:
    case = max(JINJA_CASES, key=lambda p: (p / "pr.diff").stat().st_size)
    parsed = corpus(str(case))
    plan = make_plan(parsed.files, plan_settings(2048), TemplateCost(base=300), ESTIMATOR)
    originals = {(h.path, h.ref) for f in parsed.files for h in f.hunks}
    parts = [h for b in plan.batches for h in b.hunks if (h.path, h.ref) not in originals]
    assert parts, "expected some hunks to be split"
    for part in parts:
        assert reparse(part).lines == part.lines


# ---------------------------------------------------------------- run budget

@pytest.mark.parametrize(("max_requests", "max_prompt_tokens"), [(0, 10**9), (1, 10**9), (3, 10**9), (50, 5000)])
def test_run_budget_skips_for_budget_and_loses_nothing(max_requests: int, max_prompt_tokens: int) -> None:
    template = load_template("review", None)
    cost = template_overhead(template, SOURCE, ESTIMATOR)
    lifted_total = None
    for case in JINJA_CASES:
        parsed = corpus(str(case))
        settings = plan_settings(4096, max_requests, max_prompt_tokens)
        plan = make_plan(parsed.files, settings, cost, ESTIMATOR)
        assert len(plan.batches) <= max_requests
        prompts = [render_request(template, b, SOURCE, ESTIMATOR) for b in plan.batches]
        assert sum(r.est_tokens for r in prompts) <= max_prompt_tokens
        assert {s.reason for s in plan.skipped} <= {"budget", "too_large"}
        assert_nothing_lost(parsed.files, plan)
        lifted_total = make_plan(parsed.files, plan_settings(4096), cost, ESTIMATOR).total_tokens
        assert plan.total_tokens == lifted_total  # planned + skipped for budget: the same work
    assert lifted_total is not None


def test_max_requests_zero_plans_nothing() -> None:
    h = hunk("a.py", 1, 1, [("+", "x")])
    plan = make_plan([file_of(h)], plan_settings(max_requests=0), TemplateCost(base=100), ESTIMATOR)
    assert plan.batches == () and [(s.path, s.hunk, s.reason) for s in plan.skipped] == [("a.py", h.ref, "budget")]


def test_source_comes_before_tests_before_docs() -> None:
    big = lines_body(120, "+", 60)
    files = [file_of(hunk(p, 1, 1, big)) for p in ("docs/guide.md", "tests/test_a.py", "src/a.py", "setup.cfg")]
    plan = make_plan(files, plan_settings(4096, max_requests=2), TemplateCost(base=300), ESTIMATOR)
    assert [b.files for b in plan.batches] == [("src/a.py",), ("tests/test_a.py",)]
    assert {s.path for s in plan.skipped} == {"docs/guide.md", "setup.cfg"}


def test_file_priority() -> None:
    assert [file_priority(p) for p in ("src/jinja2/lexer.py", "tests/test_lexer.py", "pkg/a_test.go",
                                       "web/a.spec.ts", "README.md", ".github/workflows/ci.yml",
                                       "Makefile", "docs/conf.py")] == [0, 1, 1, 1, 2, 2, 2, 2]


def test_small_files_share_requests_and_a_files_hunks_stay_together_in_order() -> None:
    files = [file_of(hunk(f"src/m{i}.py", 10, 10, lines_body(5)), hunk(f"src/m{i}.py", 50, 50, lines_body(4)))
             for i in range(30)]
    plan = make_plan(files, plan_settings(4096), TemplateCost(base=300), ESTIMATOR)
    assert 1 < len(plan.batches) < 10
    for batch in plan.batches:
        for path in batch.files:
            starts = [h.new_start for h in batch.hunks if h.path == path]
            assert starts == [10, 50]
        # one file's hunks are adjacent
        paths = [h.path for h in batch.hunks]
        assert paths == sorted(paths, key=paths.index)


def test_larger_changes_go_first_within_a_priority() -> None:
    files = [file_of(hunk("src/small.py", 1, 1, lines_body(3))), file_of(hunk("src/big.py", 1, 1, lines_body(60)))]
    plan = make_plan(files, plan_settings(16384), TemplateCost(base=300), ESTIMATOR)
    assert plan.batches[0].files == ("src/big.py", "src/small.py")


def test_deletion_only_hunks_are_reviewed_too() -> None:
    h = hunk("src/a.py", 3, 3, [(" ", "keep"), ("-", "gone"), ("-", "gone too"), (" ", "keep")])
    plan = make_plan([file_of(h)], plan_settings(), TemplateCost(base=100), ESTIMATOR)
    assert plan.batches[0].hunks == (h,)


def test_a_line_larger_than_any_request_is_skipped_as_too_large() -> None:
    h = hunk("src/min.js", 1, 1, [("+", "a"), ("+", "x" * 20_000), ("+", "b")])
    plan = make_plan([file_of(h)], plan_settings(4096), TemplateCost(base=300), ESTIMATOR)
    assert [s.reason for s in plan.skipped] == ["too_large"]
    assert {ln.text for b in plan.batches for part in b.hunks for ln in part.lines} == {"a", "b"}


def test_a_window_too_small_for_the_template_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="context_window 1024 leaves no room"):
        make_plan([], plan_settings(1024), TemplateCost(base=400), ESTIMATOR)


# ---------------------------------------------------------------- splitting

def check_parts(original: Hunk, parts: list[tuple[Hunk, int]], limit: int) -> None:
    index = 0
    previous_end = 0
    for part, part_cost in parts:
        assert reparse(part).lines == part.lines  # header numbers agree with the lines
        n = len(part.lines)
        # each part is a contiguous slice of the original, overlapping the previous by <= 3 lines
        start = next(i for i in range(max(previous_end - 3, 0), previous_end + 1)
                     if original.lines[i:i + n] == part.lines)
        assert start >= index and start + n > previous_end
        index, previous_end = start, start + n
        assert part_cost <= limit or n == 1
        assert ESTIMATOR.count(hunk_listing(part)) <= part_cost
    assert previous_end == len(original.lines)


def test_split_hunk_parts_keep_their_line_numbers() -> None:
    original = hunk("a.py", 100, 98, lines_body(200, "+ - +-"), " def f():")
    parts = split_hunk(original, 300, ESTIMATOR)
    assert len(parts) > 3
    check_parts(original, parts, 300)
    for (before, _), (after, _) in zip(parts, parts[1:], strict=False):
        assert before.lines[-3:] == after.lines[:3]  # three lines of context carried over
    assert all(p.header.endswith(" def f():") for p, _ in parts)


def test_split_of_pure_additions_uses_the_line_before_for_the_empty_side() -> None:
    original = hunk("new.py", 0, 1, lines_body(100, "+"))
    parts = split_hunk(original, 200, ESTIMATOR)
    check_parts(original, parts, 200)
    assert all(p.old_len == 0 and p.old_start == 0 for p, _ in parts)


@settings(max_examples=150, deadline=None)
@given(kinds=st.lists(st.sampled_from("+- "), min_size=1, max_size=80),
       widths=st.lists(st.integers(0, 120), min_size=1, max_size=80),
       old_start=st.integers(1, 5000), limit=st.integers(20, 400))
def test_split_hunk_property(kinds: list[str], widths: list[int], old_start: int, limit: int) -> None:
    body = [(k, "y" * widths[i % len(widths)]) for i, k in enumerate(kinds)]
    original = hunk("p.c", old_start, old_start + 7, body)
    check_parts(original, split_hunk(original, limit, ESTIMATOR), limit)


def test_split_batch_halves_and_keeps_order() -> None:
    hunks = tuple(hunk(f"src/f{i % 3}.py", 10 * i + 1, 10 * i + 1, lines_body(8)) for i in range(9))
    batch = Batch(id=7, hunks=hunks, est_tokens=10_000)
    parts = split_batch(batch, ESTIMATOR, 10_000)
    assert len(parts) >= 2 and all(p.id == 7 for p in parts)
    assert [h for p in parts for h in p.hunks] == list(hunks)
    whole = split_batch(batch, ESTIMATOR, 10**9)  # never more than half, whatever the budget says
    assert len(whole) >= 2 and max(p.est_tokens for p in whole) <= sum(p.est_tokens for p in whole) // 2 + 60


def test_split_batch_splits_a_single_large_hunk_and_respects_the_budget() -> None:
    big = hunk("src/a.py", 1, 1, lines_body(300))
    request_tokens = ESTIMATOR.count(hunk_listing(big))
    parts = split_batch(Batch(1, (big,), request_tokens), ESTIMATOR, request_tokens // 4)
    assert len(parts) >= 4 and all(p.est_tokens <= request_tokens // 4 for p in parts)
    for part in parts:
        for h in part.hunks:
            assert reparse(h).lines == h.lines


def test_split_batch_gives_back_a_batch_it_cannot_cut() -> None:
    batch = Batch(1, (hunk("a.py", 1, 1, [("+", "x" * 500)]),), 200)
    assert split_batch(batch, ESTIMATOR, 10) == (batch,)


def test_split_parts_render_within_their_estimate() -> None:
    template = load_template("starcoder2-pr", None)
    cost = template_overhead(template, SOURCE, ESTIMATOR)
    hunks = tuple(hunk(f"src/f{i}.py", 1, 1, lines_body(40)) for i in range(6))
    for part in split_batch(Batch(3, hunks, 0), ESTIMATOR, 800, cost):
        assert render_request(template, part, SOURCE, ESTIMATOR).est_tokens <= cost.base + part.est_tokens <= (
            cost.base + 800)


def test_plan_is_deterministic() -> None:
    parsed = corpus(str(JINJA_CASES[-1]))
    a = make_plan(parsed.files, plan_settings(2048), TemplateCost(base=300), ESTIMATOR)
    b = make_plan(tuple(replace(f) for f in parsed.files), plan_settings(2048), TemplateCost(base=300), ESTIMATOR)
    assert a == b


# ---------------------------------------------------------------- the per-request cap ([budget] max_request_tokens)

@pytest.mark.parametrize(("api", "cap"), [("llama-cpp", 2048), ("hf", 4096), ("openai", 4096), ("openai-chat", 4096)])
def test_the_request_cap_defaults_by_backend_and_no_prompt_exceeds_it(api: str, cap: int) -> None:
    template = load_template("review", None)
    cost = template_overhead(template, SOURCE, ESTIMATOR)
    settings = Settings(model=ModelSettings(api=api, context_window=32768),  # type: ignore[arg-type]
                        budget=BudgetSettings(max_requests=10**5, max_prompt_tokens=10**9))
    assert request_cap(settings) == cap
    several = 0
    for case in JINJA_CASES:
        parsed = corpus(str(case))
        plan = make_plan(parsed.files, settings, cost, ESTIMATOR)
        assert plan.request_budget == cap - cost.base
        for batch in plan.batches:
            assert render_request(template, batch, SOURCE, ESTIMATOR).est_tokens <= cap
        assert all(s.reason == "too_large" for s in plan.skipped)
        assert_nothing_lost(parsed.files, plan)
        several += len(plan.batches) > 1
    assert several  # the cap binds on some case: it would plan one request under the window alone


def test_a_given_cap_wins_and_zero_leaves_only_the_window() -> None:
    cost = TemplateCost(base=300)
    case = max(JINJA_CASES, key=lambda p: (p / "pr.diff").stat().st_size)
    files = corpus(str(case)).files
    sizes = {}
    for cap in (0, 8000, 1000):
        plan = make_plan(files, plan_settings(16384, max_request_tokens=cap), cost, ESTIMATOR)
        sizes[cap] = len(plan.batches)
        assert plan.request_budget == (16384 - 512 - 300 - 256 if cap == 0 else cap - 300)
        assert all(cost.base + b.est_tokens <= (cap or 16384) for b in plan.batches)
    assert sizes[0] < sizes[8000] < sizes[1000]
    # A cap above the window: the window decides.
    assert make_plan(files, plan_settings(4096, max_request_tokens=10**6), cost, ESTIMATOR).request_budget == \
        4096 - 512 - 300 - 256


def test_a_cap_that_leaves_no_room_after_the_template_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_request_tokens 300 leaves no room"):
        make_plan(corpus(str(JINJA_CASES[0])).files, plan_settings(max_request_tokens=300), TemplateCost(base=300),
                  ESTIMATOR)


def test_prompts_and_a_run_plan_the_same_requests_under_a_configured_cap(tmp_path: Path) -> None:
    """As a user runs it: `prompts` prints exactly the prompts `dry-run` then sends, all within the cap."""
    import json
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT, corpus_case
    from tests.servers.model_server import ModelServer

    config = tmp_path / "review-bot.toml"
    config.write_text("[budget]\nmax_request_tokens = 1500\n", encoding="utf-8")
    diff = corpus_case("20477c6357-R") / "pr.diff"  # 10 files, ~9k tokens

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *argv, "--diff", str(diff), "--config", str(config),
                               "--api", "hf"], capture_output=True, text=True, cwd=REPO_ROOT,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=300)

    planned = cli("prompts", "--format", "json")
    assert planned.returncode == 0, planned.stderr
    requests = json.loads(planned.stdout)["requests"]
    assert len(requests) > 1 and all(r["est_tokens"] <= 1500 for r in requests)
    with ModelServer(lambda prompt, payload: "No findings.") as server:
        ran = cli("dry-run", "--endpoint", server.url)
        sent = [r.prompt for r in server.requests]
    assert ran.returncode == 0, ran.stderr
    assert sorted(sent) == sorted(r["prompt"] for r in requests)
    config.write_text("[budget]\nmax_request_tokens = -1\n", encoding="utf-8")
    bad = cli("prompts")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "max_request_tokens must not be negative" in bad.stderr
