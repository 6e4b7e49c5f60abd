"""[review] context = "function": the enclosing def or class of a Python hunk, from the head file, as
read-only context in the prompt (issue 18 item 4).

Checked: the prompt of a hunk inside a function shows that function's head text apart from the diff,
and a finding on a line only the context shows is still dropped (grounding reads the hunks); the
context is capped (MAX_CONTEXT_LINES), priced by the plan (max_request_tokens holds) and redacted
as the diff is; a diff file (no head text) plans byte for byte as without the key; the eval's case
loader and haystack read the stored head files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.eval.cases import load_cases, with_haystack
from bot.pipeline import prepare
from bot.plan.tokens import ShapeEstimator
from bot.prompts.enclosing import MAX_CONTEXT_LINES, HeadContext, wants_head_file
from bot.prompts.render import chat_overhead
from bot.prompts.templates import load_template
from bot.sources.git_range import read_git_range
from bot.types import FileDiff, Hunk, Line
from tests.cli_runner import run_main
from tests.conftest import FIXTURES, REPO_ROOT
from tests.github_helpers import BOT_TOKEN, REPO, emulator, git_diff, git_history
from tests.servers.model_server import ModelServer

PROMPTS = str(REPO_ROOT / "prompts")  # this tree's templates, not the installed package's
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
LABEL = "Context, read-only"
CHANGED = "    step10 = x - 10  # token = 'Zq8vR2mXw9LpT4kY7nB3cD6f'"  # the last commit's change


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.parent)}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True).stdout.decode()


def module(body_lines: int, changed: str = "") -> str:
    """A module: an import, a long function `compute` (line 3 on), a short one after it."""
    body = [f"    step{i} = x + {i}" for i in range(body_lines)]
    if changed:
        body[body_lines // 2] = changed
    return "\n".join(["import os", "", "def compute(x):", '    """Add things up."""', *body,
                      "    return step0", "", "", "def other(y):", "    return y", ""])


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository whose last commit changes one line in the middle of `compute` (20 body lines)."""
    repo = tmp_path / "demo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "calc.py").write_text(module(20), encoding="utf-8")
    git(repo, "add", "calc.py")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "calc.py").write_text(module(20, CHANGED), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "two")
    return repo


def config(tmp_path: Path, context: str, extra: str = "") -> str:
    path = tmp_path / f"review-bot-{context}.toml"
    path.write_text(f'[review]\ncontext = "{context}"\ntemplate = "review-chat"\nprompts_dir = "{PROMPTS}"\n'
                    + extra, encoding="utf-8")
    return str(path)


def prompts(repo: Path, tmp_path: Path, context: str, *source: str) -> str:
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        code, out, err = run_main(["prompts", *source, "--config", config(tmp_path, context)])
    finally:
        os.chdir(cwd)
    assert code == 0, err
    return out


def test_the_prompt_shows_the_enclosing_function_from_the_head_file(repo: Path, tmp_path: Path) -> None:
    """Before (no key): ConfigError on [review] context; after: the function's lines outside the hunk,
    under the read-only label, before the hunk; without the key, no context."""
    shown = prompts(repo, tmp_path, "function", "--git", "HEAD~1..HEAD")
    label, hunk = shown.index(LABEL), shown.index("@@ -")
    assert label < hunk
    context = shown[label:hunk]
    assert "   3 | def compute(x):" in context and '   4 |     """Add things up."""' in context
    assert "step9 = x + 9" not in context  # the hunk's own lines (10-16) are the diff's, not repeated
    assert "  25 |     return step0" in context and "def other" not in context  # the smallest def only
    assert "[lines 12-18: the change, shown below as a diff]" in context
    assert LABEL not in prompts(repo, tmp_path, "diff", "--git", "HEAD~1..HEAD")


def test_the_context_is_redacted_as_the_diff_is(repo: Path, tmp_path: Path) -> None:
    """The head file holds the same credential as the diff's line: the context of the other hunk,
    which shows that line, has the same placeholder."""
    (repo / "calc.py").write_text(module(20, "    step10 = x - 10").replace(
        "    step2 = x + 2", "    step2 = x + 2  # password = 'Zq8vR2mXw9LpT4kY7nB3cD6f'"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "three")
    shown = prompts(repo, tmp_path, "function", "--git", "HEAD~1..HEAD")
    assert "Zq8vR2mXw9LpT4kY7nB3cD6f" not in shown
    assert "   7 |     step2 = x + 2  # password = '<PASSWORD>'" in shown  # the second hunk's context


def test_a_finding_on_a_context_line_is_dropped(repo: Path, tmp_path: Path) -> None:
    """The model names line 3 (the def line, shown only as context) and line 15 (the changed line):
    only the changed line's finding is kept; the other is counted as ungrounded."""
    answer = "calc.py:3: error: `def compute(x)` takes no default\ncalc.py:15: error: `x - 10` subtracts"
    with ModelServer(lambda prompt, payload: answer) as srv:
        cwd = os.getcwd()
        os.chdir(repo)
        try:
            code, out, err = run_main(["dry-run", "--git", "HEAD~1..HEAD", "--api", "openai-chat", "--endpoint",
                                       srv.url, "--config", config(tmp_path, "function"), "--format", "json"])
        finally:
            os.chdir(cwd)
        sent = srv.requests[0].prompt
    assert code == 0, err
    assert "   3 | def compute(x):" in sent  # the model did see the def line, as context
    result = json.loads(out)
    assert [(f["path"], f["line"]) for f in result["findings"]] == [("calc.py", 15)]
    assert result["stats"]["dropped_ungrounded"] == 1


def test_the_context_is_capped_and_keeps_the_def_line_and_the_nearest_lines() -> None:
    """A hunk in a 300-line function: at most MAX_CONTEXT_LINES numbered rows, the def line first."""
    text = module(300, "    step150 = x - 150")
    old = module(300)
    head = {"calc.py": text}
    diff = _diff("calc.py", old, text)
    (hunk,) = diff.files[0].hunks
    context = HeadContext(head, [hunk])(hunk)
    numbered = [row for row in context.split("\n") if row.strip()[:1].isdigit()]
    assert len(numbered) == MAX_CONTEXT_LINES == 60
    assert numbered[0] == "   3 | def compute(x):"
    changed = next(ln.new_no for ln in hunk.lines if ln.kind == "+")
    kept = [int(row.split("|")[0]) for row in numbered[1:]]
    assert max(kept) - min(kept) <= 2 * MAX_CONTEXT_LINES  # the lines nearest the hunk, on both sides
    assert min(kept) < changed < max(kept)


def test_the_plan_counts_the_context_within_max_request_tokens(repo: Path) -> None:
    """Every prompt is within max_request_tokens, context included, and its estimate bounds what the
    template printed. At 2048 the hunk comes with its context; at a cap the hunk fits only alone,
    it comes without (not split); at a cap it does not fit, it is split, and parts have none."""
    template, shape = load_template("review-chat", PROMPTS), ShapeEstimator()
    review_input = read_git_range("HEAD~1..HEAD", cwd=str(repo), head_files=True)
    shown = {}
    for cap in (2048, 700, 600):
        settings = load_settings(env={}, overrides={"review": {"context": "function", "template": "review-chat"},
                                                    "budget": {"max_request_tokens": cap}})
        prepared = prepare(review_input, settings, template, shape)
        shown[cap] = [(LABEL in r.prompt, len(r.hunks[0].lines)) for r in prepared.requests]
        for request in prepared.requests:
            real = shape.count(request.prompt) + chat_overhead(len(request.messages))
            assert real <= request.est_tokens <= cap, cap
    assert shown[2048] == [(True, 8)] and shown[700] == [(False, 8)]
    assert len(shown[600]) > 1 and not any(label for label, _ in shown[600])


def test_a_diff_file_plans_as_before_with_the_key_on(tmp_path: Path, repo: Path) -> None:
    """No head text, no context, no error: the prompts are byte for byte those of context = "diff"."""
    diff = tmp_path / "change.diff"
    diff.write_text(git(repo, "diff", "HEAD~1", "HEAD"), encoding="utf-8")
    with_key = prompts(repo, tmp_path, "function", "--diff", str(diff))
    assert with_key == prompts(repo, tmp_path, "diff", "--diff", str(diff)) and LABEL not in with_key
    eval_case = FIXTURES / "eval" / "requests"
    first = load_cases(eval_case, limit=1)[0]
    (tmp_path / "eval.diff").write_bytes((eval_case / first.name / "pr.diff").read_bytes())
    assert prompts(repo, tmp_path, "function", "--diff", str(tmp_path / "eval.diff")) == \
        prompts(repo, tmp_path, "diff", "--diff", str(tmp_path / "eval.diff"))


def test_a_module_level_change_has_no_context_and_the_same_prompt(tmp_path: Path, repo: Path) -> None:
    (repo / "calc.py").write_text(module(20, CHANGED).replace("import os", "import sys"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "imports")
    assert prompts(repo, tmp_path, "function", "--git", "HEAD~1..HEAD") == \
        prompts(repo, tmp_path, "diff", "--git", "HEAD~1..HEAD")


def test_the_eval_loader_reads_the_head_files_of_cases_and_decoys() -> None:
    """Every held-out case stores its file's text at the fix's parent (the reversed change's new
    side); with a haystack the decoys' head files come along."""
    for name in ("werkzeug", "requests"):
        cases = load_cases(FIXTURES / "eval" / name, limit=3)
        for case in cases:
            (path,) = {f.path for f in case.diff.files}
            heads = dict(case.head_files)
            assert list(heads) == [path]
            labels = json.loads((FIXTURES / "eval" / name / case.name / "labels.json").read_text(encoding="utf-8"))
            parent = _head_commit(FIXTURES / "eval" / name / case.name)
            assert parent != labels["fix_commit"]
            lines = heads[path].split("\n")
            for hunk in case.diff.files[0].hunks:  # the head text is the diff's new side, line for line
                for ln in hunk.lines:
                    if ln.kind != "-":
                        assert lines[ln.new_no - 1] == ln.text
        mixed = with_haystack(cases, str(FIXTURES / "corpus" / name))
        for case in mixed:
            heads = dict(case.head_files)
            python = [f.path for f in case.diff.files if f.path.endswith(".py")]
            assert len(python) > 1 and set(python) <= set(heads), case.name
            for file in case.diff.files:
                lines = heads[file.path].split("\n")
                assert all(lines[ln.new_no - 1] == ln.text for h in file.hunks for ln in h.lines if ln.kind != "-")


def test_eval_with_context_sends_the_function(tmp_path: Path) -> None:
    """`review-bot eval` gives the head files to the pipeline: with the key, prompts carry context."""
    sent: list[str] = []

    def answer(prompt: str, payload: object) -> str:
        sent.append(prompt)
        return "No findings."

    with ModelServer(answer) as srv:
        for context in ("diff", "function"):
            code, out, err = run_main(["eval", "--set", str(FIXTURES / "eval" / "requests"), "--limit", "1",
                                       "--haystack", str(FIXTURES / "corpus" / "requests"), "--api",
                                       "openai-chat", "--endpoint", srv.url, "--templates", "review-chat",
                                       "--config", config(tmp_path, context), "-q", "--format", "json"])
            assert code == 0, err
            assert json.loads(out)["rows"][0]["failed"] == 0
            if context == "diff":
                plain, sent[:] = list(sent), []
    assert not any(LABEL in p for p in plain) and any(LABEL in p for p in sent)


def test_a_pull_request_reads_the_head_files_once_each_and_shows_the_context(tmp_path: Path) -> None:
    """`review-bot review --dry-run` against the emulator: one contents GET at the head per changed
    Python file (none for a file the filters leave out, none with context = "diff"), and the prompt
    shows the function. The template is the repository's own at the base (this tree's review-chat)."""
    repo = tmp_path / "repo"
    base, head = git_history(repo, [{"calc.py": module(20), "skip.py": "x = 1\n", "notes.md": "a\n"},
                                     {"calc.py": module(20, CHANGED), "skip.py": "x = 2\n", "notes.md": "b\n"}])
    template = (REPO_ROOT / "prompts" / "review-chat.j2").read_text(encoding="utf-8")
    seen: dict[str, list[str]] = {}
    for context in ("diff", "function"):
        with emulator() as srv, ModelServer(lambda prompt, payload: "No findings.") as model:
            srv.add_pull(REPO, 7, git_diff(repo, base, head), base_sha=base, head_sha=head)
            srv.add_file(REPO, base, ".github/review-bot.toml",
                         f'[review]\ncontext = "{context}"\ntemplate = "review-chat"\nexclude = ["skip.py"]\n')
            srv.add_file(REPO, base, ".github/review-bot/review-chat.j2", template)
            srv.add_file(REPO, head, "calc.py", module(20, CHANGED))
            code, _, err = run_main(["review", "--repo", REPO, "--pr", "7", "--dry-run", "--api", "openai-chat",
                                     "--endpoint", model.url, "--rpm", "6000"],
                                    {"GITHUB_API_URL": srv.url, "GITHUB_TOKEN": BOT_TOKEN, "PATH": "/usr/bin:/bin"})
            assert code == 0, err
            seen[context] = [r.prompt for r in model.requests]
            heads = [c for c in srv.calls_to("GET", r"/contents/") if c.query.get("ref") == head]
            assert [c.path.rsplit("/", 1)[-1] for c in heads] == ([] if context == "diff" else ["calc.py"])
    assert "   3 | def compute(x):" in seen["function"][0] and LABEL in seen["function"][0]
    assert not any(LABEL in p for p in seen["diff"])


def _head_commit(folder: Path) -> str:
    import gzip

    return str(json.loads(gzip.decompress((folder / "head.json.gz").read_bytes()))["commit"])


def _diff(path: str, old: str, new: str):  # type: ignore[no-untyped-def]
    import difflib

    from bot.diff.parse import parse_diff

    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"a/{path}", f"b/{path}", n=3)
    return parse_diff((f"diff --git a/{path} b/{path}\n" + "".join(lines)).encode())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


def test_one_rule_says_which_head_files_serve_context() -> None:
    """The GitHub source fetches, and the pipeline keeps, the head text of the same files: changed
    Python files that still exist (bot.prompts.enclosing.wants_head_file, used by both)."""
    hunk = Hunk(path="a.py", old_start=1, old_len=1, new_start=1, new_len=1, header="@@ -1 +1 @@",
                lines=(Line("-", 1, None, "x = 1"), Line("+", None, 1, "x = 2")))
    changed = FileDiff(path="a.py", old_path="a.py", status="modified", hunks=(hunk,))
    assert wants_head_file(changed)
    assert not wants_head_file(FileDiff(path="a.py", old_path="a.py", status="removed", hunks=(hunk,)))
    assert not wants_head_file(FileDiff(path="a.py", old_path="a.py", status="mode", hunks=()))
    assert not wants_head_file(FileDiff(path="a.md", old_path="a.md", status="modified", hunks=(hunk,)))
