"""Credentials that used to reach the prompt (issue 16, defect 7): a token in a file's name, a value
split over literals or lines, `'ghp_' + '<rest>'`, a Docker registry login in base64.

Through the real `review-bot prompts` (as a user runs it), and the redactor's own cases. The
same shapes are planted in tests/reliability/planted_secrets.py (every output format, the
posted review, logs) and labelled in tests/fixtures/secrets/issue16.jsonl (bench.reliability).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.diff.parse import parse_diff
from bot.redact.line import redact_path
from bot.redact.scrub import KEY, PASSWORD, redact_input
from bot.sources import ReviewInput
from bot.types import SourceInfo
from tests.conftest import REPO_ROOT
from tests.reliability.hostile_lines import diff_text

# Built from pieces so no scanner flags this file; none of these is a real credential.
GHP = "ghp_" + "Rm7Lq2Zx9Kp4Wv8Nt3Bc6Hd1Fg5Js0Ya2Ue"
GHO = "gho_" + "Pq3Mx8Lz2Kv7Wn4Rt9Bc1Hd6Fg0Js5Ya3Ue"
PASSWORD_VALUE = "Tz8!qR2#mW5vK9pL"
REGISTRY_AUTH = base64.b64encode(b"deploy:" + GHO.encode()).decode()
DOCKER_CONFIG = base64.b64encode(json.dumps({"auths": {"registry.example.com": {"auth": REGISTRY_AUTH}}})
                                 .encode()).decode()

FILES = {
    f"notes/{GHP}.txt": "remember to rotate",
    "app/split.py": f"tok = ('{GHP[:18]}'\n       '{GHP[18:]}')",
    "app/concat.py": f"tok = 'ghp_' + '{GHP[4:]}'",
    "app/settings.py": f"DATABASES = {{\n    'password':\n        '{PASSWORD_VALUE}',\n}}",
    "app/client.js": f"const token = \"{GHO[:12]}\" +\n  \"{GHO[12:]}\";",
    "deploy/pull-secret.yaml": ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n"
                                f"type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {DOCKER_CONFIG}"),
}
# What must not be in any output: the whole values and each piece of the split ones.
PIECES = [GHP, GHP[:18], GHP[18:], GHP[4:], PASSWORD_VALUE, GHO[:12] + "x", GHO[12:], DOCKER_CONFIG, REGISTRY_AUTH]


def _windows(text: str, secret: str, width: int = 10) -> list[str]:
    return [secret[i:i + width] for i in range(len(secret) - width + 1) if secret[i:i + width] in text]


def test_split_values_and_token_paths_never_reach_the_prompt(tmp_path: Path) -> None:
    """Before the fix, `prompts` printed the file name, both halves of the split tokens, the rest
    after `'ghp_' +`, the dict's password and the registry login; now none of them."""
    diff = tmp_path / "pr.diff"
    diff.write_text(diff_text(FILES), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot", "prompts", "--diff", str(diff)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "notes/<KEY>.txt" in out  # the file is still reviewed, under its shown name
    assert "remember to rotate" in out
    for secret in (GHP, GHO, PASSWORD_VALUE, DOCKER_CONFIG, REGISTRY_AUTH):
        assert not _windows(out, secret), secret[:6]
    for shown in (f"tok = ('{KEY}'", f"tok = '{KEY}' + '{KEY}'", f"'{PASSWORD}',", f'const token = "{KEY}" +',
                  f".dockerconfigjson: {KEY}"):
        assert shown in out


def _redacted(path: str, text: str) -> tuple[str, list[str], int]:
    result = redact_input(ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(diff_text({path: text}))), True)
    file = result.review_input.diff.files[0]
    return file.path, [line.text for h in file.hunks for line in h.lines], result.count


@pytest.mark.parametrize(("path", "text", "expected"), [
    ("a.py", f"x = (\"{GHP[:10]}\"\n     \"{GHP[10:25]}\"\n     \"{GHP[25:]}\")",
     ['x = ("<KEY>"', '     "<KEY>"', '     "<KEY>")']),
    ("a.py", f"x = '{GHP[:20]}' \\\n    '{GHP[20:]}'", ["x = '<KEY>' \\", "    '<KEY>'"]),
    ("a.py", f"call(\"{GHP[:9]}\" + \"{GHP[9:]}\")", ['call("<KEY>" + "<KEY>")']),
    ("a.go", f"t := \"{GHP[:9]}\" +\n\t\"{GHP[9:]}\"", ['t := "<KEY>" +', '\t"<KEY>"']),
    ("a.py", f"CONFIG = {{'api_key':\n  '{PASSWORD_VALUE}'}}", ["CONFIG = {'api_key':", "  '<KEY>'}"]),
    ("a.rb", f"secret =\n  '{PASSWORD_VALUE}'", ["secret =", "  '<KEY>'"]),
    ("run.sh", f"TOKEN='{GHP[:10]}'\"{GHP[10:]}\"", ["TOKEN='<KEY>'\"<KEY>\""]),  # shell: quotes side by side
    ("a.c", f"char *t = \"{GHP[:10]}\"\"{GHP[10:]}\";", ['char *t = "<KEY>""<KEY>";']),
    ("k.yml", f"data:\n  .dockercfg: {DOCKER_CONFIG}", ["data:", "  .dockercfg: <KEY>"]),
    ("k.yml", f"data:\n  config.json: {DOCKER_CONFIG}", ["data:", "  config.json: <KEY>"]),
])
def test_joined_and_registry_values_are_replaced_whole(path: str, text: str, expected: list[str]) -> None:
    _, lines, count = _redacted(path, text)
    assert lines == expected
    assert count == 1


@pytest.mark.parametrize("text", [
    "greeting = ('Hello, '\n            'world')",
    "msg = 'Dear ' + name + ', welcome'",
    "SQL = ('SELECT id, name '\n       'FROM users WHERE id = %s')",
    "x = {'title':\n     'A plain sentence here'}",
    "url = 'https://example.com/' + 'docs/index.html'",
    "parts = 'abc' 'def'",
])
def test_ordinary_concatenations_stay(text: str) -> None:
    _, lines, count = _redacted("a.py", text)
    assert "\n".join(lines) == text and count == 0


@pytest.mark.parametrize(("path", "shown"), [
    (f"notes/{GHP}.txt", "notes/<KEY>.txt"),
    (GHP, "<KEY>"),
    (f"dir/{GHP}/file.py", "dir/<KEY>/file.py"),
    (f"backup_{GHP}.md", "backup_<KEY>.md"),
    (f"token-{GHO}.json", "token-<KEY>.json"),
    ("src/auth/token_service.py", "src/auth/token_service.py"),
    ("docs/api_keys.md", "docs/api_keys.md"),
    ("a/b.py", "a/b.py"),
])
def test_paths_show_no_credential(path: str, shown: str) -> None:
    assert redact_path(path) == shown
    got, lines, _ = _redacted(path, "x = 1")
    assert got == shown and lines == ["x = 1"]


def _finding_on_every_file(prompt: str, payload: dict[str, object]) -> str:
    """A model that finds something on line 1 of every file it was shown (under the shown path)."""
    paths = [line[len("+++ b/"):] for line in prompt.splitlines() if line.startswith("+++ b/")]
    return "".join(f"{path}:1: warning: look at this file again\n" for path in paths)


def test_a_finding_on_a_file_named_after_a_token_is_posted_under_its_shown_name() -> None:
    """`review-bot review` against the emulator: one review, the finding on `notes/<KEY>.txt` in its
    body (GitHub is never told a path it would need the credential for), and no request to GitHub
    holds the token. Before the fix the comment went inline with the token as its path."""
    from tests.github_helpers import BOT_TOKEN, REPO, emulator
    from tests.reliability.harness import run_cli
    from tests.servers.model_server import ModelServer

    files = {f"notes/{GHP}.txt": "remember to rotate", "app/ok.py": "x = 1"}
    with emulator() as gh, ModelServer(responder=_finding_on_every_file) as srv:
        gh.add_pull(REPO, 3, diff_text(files), base_sha="b" * 40, head_sha="c" * 40)
        run = run_cli(["review", "--repo", REPO, "--pr", "3", "--api", "hf", "--endpoint", srv.url,
                       "--min-severity", "info"],
                      {"PATH": "/usr/bin:/bin", "GITHUB_API_URL": gh.url, "GITHUB_TOKEN": BOT_TOKEN})
        assert run.code == 0, run.err
        reviews, comments = gh.reviews(REPO, 3), gh.review_comments(REPO, 3)
        sent = "\n".join(json.dumps(call.json) for call in gh.calls if call.json is not None)
        prompts = "\n".join(record.prompt for record in srv.requests)
    assert len(reviews) == 1
    body = str(reviews[0]["body"])  # (the sanitiser may escape `<KEY>` as markup: undo what it may add)
    for escaped, plain in (("\u200b", ""), ("&lt;", "<"), ("&gt;", ">"), ("\\<", "<"), ("\\>", ">")):
        body = body.replace(escaped, plain)
    assert "notes/<KEY>.txt:1" in body
    assert [c["path"] for c in comments] == ["app/ok.py"]
    for text in (sent, prompts, run.out, run.err):
        assert not _windows(text, GHP)
