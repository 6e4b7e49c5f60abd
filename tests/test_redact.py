"""Credential redaction: every pattern, key blocks across lines, no false positives on real code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.diff.parse import parse_diff
from bot.errors import InputError
from bot.pipeline import prepare
from bot.plan.tokens import make_estimator
from bot.prompts.templates import load_template
from bot.redact.scrub import (
    EMAIL,
    KEY,
    PASSWORD,
    SECRET_NOTE,
    entropy_threshold,
    looks_secret,
    mark_secret_findings,
    redact_input,
    redact_text,
    secret_kind,
    shannon_entropy,
)
from bot.sources import ReviewInput
from bot.types import Finding, SourceInfo
from tests.conftest import JINJA_CASES, UNIDIFF_SAMPLES

# Built from pieces so no scanner flags this file; none of these is a real credential.
GHP = "ghp_" + "Xk29LmQp7RtVw3ZaB8nYc4DeF6gH1jK0sU5o"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0" + "x9Lm3Qp7Rt_Vw3ZaB8nYc4DeF6gH1jK0sU5oPq2"
HF = "hf_" + "AbXkLmQpRtVwZaBnYcDeFgHjKsUoPqWxYz"
AWS_ID = "AKIA" + "Q3ZT7PLM7JK2LMN4"
AWS_SECRET = "w9alrXUtnFEMI/K7MDENG/" + "bPxRfiCYq8Zk2Lm9Xp"
SLACK = "xoxb-" + "281937465012-4829163750123-AbXkLmQpRtVwZaBnYcDeFgHj"
WEBHOOK_TAIL = "T0AB1CD2E/B0FG3HI4J/" + "Qw8Er7Ty6Ui5Op4As3Df2Gh1"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
       + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PASSWORD_VALUE = "S3cr3t-Pa55w0rd!"
KEY_BODY = ("MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi7xQ4W5ZKf5Jd6YXN3c2VyAbCd",
            "bGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0hJSktMTU5PUFFSU1RV",
            "VldYWVo0KzEy")
BEGIN, END = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"


def diff_of(path: str, added: Sequence[str], context_before: Sequence[str] = (), removed: Sequence[str] = (),
            header_section: str = "") -> ReviewInput:
    """A one-hunk git diff of `path`: context, then removed, then added lines."""
    old = len(context_before) + len(removed)
    new = len(context_before) + len(added)
    body = [f" {t}" for t in context_before] + [f"-{t}" for t in removed] + [f"+{t}" for t in added]
    text = (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            f"@@ -1,{old} +1,{new} @@{header_section}\n" + "\n".join(body) + "\n")
    return ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(text))


def texts(review_input: ReviewInput) -> list[str]:
    return [ln.text for f in review_input.diff.files for h in f.hunks for ln in h.lines]


@pytest.mark.parametrize(("line", "secret", "placeholder"), [
    (f'token = "{GHP}"', GHP, KEY),
    (f"GH_PAT={GITHUB_PAT}", GITHUB_PAT, KEY),
    (f"login(token='{HF}')", HF, KEY),
    (f'aws_access_key_id = "{AWS_ID}"', AWS_ID, KEY),
    (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, KEY),
    (f'"AwsSecretKey": "{AWS_SECRET}"', AWS_SECRET, KEY),
    (f'slack = "{SLACK}"', SLACK, KEY),
    (f'url = "https://hooks.slack.com/services/{WEBHOOK_TAIL}"', WEBHOOK_TAIL, KEY),
    (f"headers = {{'Authorization': 'Bearer {JWT}'}}", JWT, KEY),
    (f'password = "{PASSWORD_VALUE}"', PASSWORD_VALUE, PASSWORD),
    (f'db_passwd: str = "{PASSWORD_VALUE}"', PASSWORD_VALUE, PASSWORD),
    (f'"api_key": "{"a8f7d6e5c4b3a2918273"}"', "a8f7d6e5c4b3a2918273", KEY),
    (f"'client_secret' => '{'q8Zk2Lm9Xp4Rt7Wv'}',", "q8Zk2Lm9Xp4Rt7Wv", KEY),
    (f'apiKey := "{"q8Zk2Lm9Xp4Rt7Wv"}"', "q8Zk2Lm9Xp4Rt7Wv", KEY),
    (f'const accessKey: string = "{"q8Zk2Lm9Xp4Rt7Wv"}";', "q8Zk2Lm9Xp4Rt7Wv", KEY),
    (f'auth = "{"Zm9vOmJhcjEyMzQ1Njc4OQ=="}"', "Zm9vOmJhcjEyMzQ1Njc4OQ==", KEY),
    (f"config['secret'] = '{'x9Lm3Qp7RtVw3ZaB'}'", "x9Lm3Qp7RtVw3ZaB", KEY),
    (f'engine = create_engine("postgresql://app:{"Zx9qL2mP7w"}@db:5432/app")', "Zx9qL2mP7w", PASSWORD),
])
def test_each_pattern_is_replaced_by_its_placeholder(line: str, secret: str, placeholder: str) -> None:
    out, count, _ = redact_text(line, bare_values=False)
    assert secret not in out
    assert placeholder in out
    assert count == 1


@pytest.mark.parametrize(("path", "line", "secret"), [
    (".env", "API_TOKEN=q8Zk2Lm9Xp4Rt7Wv", "q8Zk2Lm9Xp4Rt7Wv"),
    ("config/app.yml", "  password: Xk92mLq0vB77", "Xk92mLq0vB77"),
    ("deploy.sh", "export SECRET_KEY=Xk92mLq0vB77zz", "Xk92mLq0vB77zz"),
])
def test_unquoted_values_count_in_config_files(path: str, line: str, secret: str) -> None:
    redacted = redact_input(diff_of(path, [line]), enabled=True)
    assert secret not in texts(redacted.review_input)[0]
    assert redacted.count == 1


def test_unquoted_values_in_code_are_expressions_not_secrets() -> None:
    redacted = redact_input(diff_of("app.py", ["token = make_token9x(Seed7)", "password = hashed_pw_v2"]),
                            enabled=True)
    assert redacted.count == 0


@pytest.mark.parametrize("line", [
    'password = "changeme"', 'api_key = "xxxxxxxxxxxxxxxx"', 'token = "${GITHUB_TOKEN}"',
    'secret = "<your-secret-here>"', 'token = os.environ["API_TOKEN"]', 'token = getenv("TOKEN")',
    'token_env = "HF_TOKEN"', 'password: "{{ vault_password }}"', 'token = f"{self.client_request_token}"',
    'token_url = "https://oauth2.googleapis.com/token"', 'token_type = "Bearer"', 'auth_header = "X-Auth-Token"',
    'grant = {"token": "client_credentials"}', 'if password == "Xk92mLq0vB"', 'tokenizer = "abc123XYZ987"',
    'publicKeyToken="1fc8b3b9a1e18e3b"', 'ACCESS_KEY = "AWSAccessKeyId"', 'password = "short1"',
    'secret: "${{ secrets.DEPLOY_KEY }}"', "token = '#ansigreen'", 'password = "*************"',
    '"CloudWatchAPIKeyAccess": "arn:aws:iam::aws:policy/CloudWatchAPIKeyAccess"',
    'engine = create_engine("postgresql://scott:tiger@localhost/test")',
    '_SK_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"',
    'secret = "the value is not a credential"', "author = 'Armin Ronacher'",
])
def test_placeholders_references_and_names_are_left_alone(line: str) -> None:
    out, count, _ = redact_text(line, bare_values=True)
    assert (out, count) == (line, 0)


def test_entropy_and_its_threshold() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaaaaaa") == 0.0
    assert shannon_entropy("abcdefgh") == pytest.approx(3.0)
    assert shannon_entropy("aabb") == pytest.approx(1.0)
    assert entropy_threshold(8) == pytest.approx(2.25)
    assert entropy_threshold(16) == pytest.approx(3.0)
    assert entropy_threshold(400) == pytest.approx(3.0)  # capped: long hex digests still count


def test_entropy_threshold_decides_between_similar_values() -> None:
    low = "a1a1a1a1b2b2b2b2"  # 16 characters, 4 symbols: 2 bits each, under the 3.0 threshold
    high = "a1b2c3d4e5f6g7h8"  # 16 distinct symbols: 4 bits each
    assert shannon_entropy(low) < entropy_threshold(len(low)) < shannon_entropy(high)
    assert not looks_secret(low)
    assert looks_secret(high)
    assert redact_text(f'secret = "{low}"')[1] == 0
    assert redact_text(f'secret = "{high}"')[1] == 1
    assert not looks_secret("q8Zk2Lm")  # shorter than 8 characters
    assert looks_secret("q8Zk2Lm9")


@pytest.mark.parametrize(("name", "kind"), [
    ("DB_PASSWORD", PASSWORD), ("passwd", PASSWORD), ("adminPassword", PASSWORD), ("pwd", PASSWORD),
    ("apiKey", KEY), ("API_KEY", KEY), ("x-api-key", KEY), ("client_secret", KEY), ("authToken", KEY),
    ("auth", KEY), ("AWS_SECRET_ACCESS_KEY", KEY), ("self.token", KEY),
    ("token_url", None), ("password_field", None), ("tokenizer", None), ("author", None),
    ("oauth_scope", None), ("publicKeyToken", None), ("keyword", None), ("max_tokens", None),
])
def test_secret_names(name: str, kind: str | None) -> None:
    assert secret_kind(name) == kind


def test_private_key_block_in_added_lines_keeps_markers_and_hides_every_line() -> None:
    lines = ['KEY = """' + BEGIN, *KEY_BODY, END + '"""', "print('after')"]
    redacted = redact_input(diff_of("keys.py", lines), enabled=True)
    out = texts(redacted.review_input)
    assert out == ['KEY = """' + BEGIN, KEY, KEY, KEY, END + '"""', "print('after')"]
    assert redacted.count == 1
    assert redacted.secret_lines == frozenset(("keys.py", "RIGHT", n) for n in range(1, 6))


def test_key_block_cut_by_the_start_of_the_hunk() -> None:
    # The BEGIN line is outside the hunk: the body lines before END are still redacted.
    redacted = redact_input(diff_of("deploy/id_key.txt", [*KEY_BODY[1:], END, "other = 1"]), enabled=True)
    assert texts(redacted.review_input) == [KEY, KEY, END, "other = 1"]
    assert ("deploy/id_key.txt", "RIGHT", 4) not in redacted.secret_lines


def test_key_block_cut_by_the_end_of_the_hunk() -> None:
    redacted = redact_input(diff_of("a.pem", ["# key", BEGIN, KEY_BODY[0], "Proc-Type: 4,ENCRYPTED"]),
                            enabled=True)
    assert texts(redacted.review_input) == ["# key", BEGIN, KEY, KEY]
    assert redacted.count == 1


def test_key_block_on_both_sides_of_a_change() -> None:
    # A rotated key: the old body deleted, the new one added, the markers as context.
    review_input = diff_of("secrets/server.key", [*KEY_BODY, END], context_before=[BEGIN], removed=list(KEY_BODY))
    redacted = redact_input(review_input, enabled=True)
    assert all(t in (BEGIN, END, KEY) for t in texts(redacted.review_input))
    assert ("secrets/server.key", "LEFT", 2) in redacted.secret_lines
    assert ("secrets/server.key", "RIGHT", 2) in redacted.secret_lines
    assert ("secrets/server.key", "LEFT", 1) in redacted.secret_lines  # the context BEGIN line


@pytest.mark.parametrize("path", ["certs/server.pem", "app/keys.py", "deploy/values.yaml", "web/keys.js",
                                  "ssh/id_ed25519"])
def test_key_body_without_markers_is_redacted_in_any_file(path: str) -> None:
    # A hunk inside a key holds neither BEGIN nor END: its full-width base64 lines still go.
    body = [KEY_BODY[0], KEY_BODY[1], KEY_BODY[0]]
    redacted = redact_input(diff_of(path, body), enabled=True)
    assert texts(redacted.review_input) == [KEY, KEY, KEY]
    assert redacted.count == 1


def test_armoured_pgp_public_keys_and_short_examples_are_not_keys() -> None:
    public = ["mQENBFOrMNcBCAC+gLI4s3bUkobS5NpOQbWfjWXbqC0Ixpc5bZYDOvsmfstmswna",
              "UWUXkRH9RONabzrAu4TGvW0f5DkC2fuWWHJhZWEccn+VE83+avMZN4/mzldSXPNX"]
    assert redact_input(diff_of("keys/signing.asc", public), enabled=True).count == 0
    example = ["-----BEGIN PRIVATE KEY-----", "anything", "-----END PRIVATE KEY-----"]
    assert redact_input(diff_of("docs/keys.md", example), enabled=True).count == 0


def test_one_line_key_in_a_string_and_concatenated_key_lines() -> None:
    one = f'pem = "{BEGIN}\\n{KEY_BODY[0]}\\n{END}\\n"'
    out, count, _ = redact_text(one)
    assert out == f'pem = "{BEGIN}\\n{KEY}\\n{END}\\n"' and count == 1
    js = [f'"{BEGIN}\\n" +', f'  "{KEY_BODY[0]}\\n" +', f'  "{KEY_BODY[1]}\\n" +', f'  "{END}\\n"']
    out, count, _ = redact_text("\n".join(js))
    assert out.split("\n")[1:3] == [f'  "{KEY}\\n" +'] * 2 and count == 1


def test_hunk_header_section_is_redacted() -> None:
    redacted = redact_input(diff_of("db.py", ["x = 1"], header_section=f' def connect(password="{PASSWORD_VALUE}"):'),
                            enabled=True)
    header = redacted.review_input.diff.files[0].hunks[0].header
    assert PASSWORD_VALUE not in header and PASSWORD in header


def test_title_and_body_are_redacted() -> None:
    review_input = replace(diff_of("a.py", ["x = 1"]), info=SourceInfo(
        kind="pull_request", title=f"Rotate {GHP}", body=f"New key:\n{BEGIN}\n{KEY_BODY[0]}\n{END}\nmail me@corp.io"))
    redacted = redact_input(review_input, enabled=True)
    info = redacted.review_input.info
    assert GHP not in info.title and KEY in info.title
    assert KEY_BODY[0] not in info.body and "me@corp.io" not in info.body and EMAIL in info.body
    assert (redacted.count, redacted.emails) == (2, 1)
    assert redacted.secret_lines == frozenset()  # PR text has no diff lines


def test_emails_are_replaced_but_are_not_credentials() -> None:
    redacted = redact_input(diff_of("setup.py", ['    author_email="jane.doe@example.org",',
                                                 "remote = git@github.com:o/r.git"]), enabled=True)
    assert texts(redacted.review_input) == [f'    author_email="{EMAIL}",', "remote = git@github.com:o/r.git"]
    assert (redacted.count, redacted.emails, redacted.secret_lines) == (0, 1, frozenset())


def test_disabled_redaction_changes_nothing() -> None:
    review_input = diff_of("a.py", [f'token = "{GHP}"'])
    redacted = redact_input(review_input, enabled=False)
    assert redacted.review_input is review_input and redacted.count == 0


def test_unchanged_input_keeps_its_objects() -> None:
    review_input = diff_of("a.py", ["x = 1", "y = 2"])
    assert redact_input(review_input, enabled=True).review_input.diff.files[0] is review_input.diff.files[0]


def finding(line: int, side: str = "RIGHT", start: int | None = None, path: str = "a.py") -> Finding:
    return Finding(path=path, line=line, side=side, start_line=start, severity="warning",  # type: ignore[arg-type]
                   message="hard-coded credential", suggestion=None, fingerprint=f"fp{line}{side}")


def test_findings_on_secret_lines_say_so_and_keep_their_fingerprint() -> None:
    secret_lines = frozenset({("a.py", "RIGHT", 5), ("a.py", "LEFT", 9)})
    found = (finding(5), finding(6), finding(7, start=4), finding(9, "LEFT"), finding(9), finding(5, path="b.py"))
    marked = mark_secret_findings(found, secret_lines)
    noted = [f.message.endswith(SECRET_NOTE) for f in marked]
    assert noted == [True, False, True, True, False, False]
    assert [f.fingerprint for f in marked] == [f.fingerprint for f in found]
    assert mark_secret_findings(marked, secret_lines) == marked  # the note is added once
    assert mark_secret_findings(found, frozenset()) == found


def test_prepare_renders_prompts_without_the_secrets() -> None:
    review_input = replace(
        diff_of("app/settings.py", [f'GITHUB_TOKEN = "{GHP}"', f'password = "{PASSWORD_VALUE}"', "DEBUG = True"]),
        info=SourceInfo(kind="pull_request", title=f"use {HF}", body=f"aws {AWS_ID} / {SLACK}"))
    settings = Settings()
    template = load_template(settings.review.template or "review", None)
    prepared = prepare(review_input, settings, template, make_estimator(settings.model))
    prompts = "\n".join(r.prompt for r in prepared.requests)
    for secret in (GHP, PASSWORD_VALUE, HF, AWS_ID, SLACK):
        assert secret not in prompts
    assert prepared.redacted.count == 5
    assert prepared.redacted.secret_lines == {("app/settings.py", "RIGHT", 1), ("app/settings.py", "RIGHT", 2)}
    plain = replace(settings, review=replace(settings.review, redact_secrets=False))
    assert GHP in "\n".join(r.prompt for r in prepare(review_input, plain, template,
                                                          make_estimator(settings.model)).requests)


def _redactions(diff_path: Path) -> tuple[int, int]:
    redacted = redact_input(ReviewInput(info=SourceInfo(kind="diff"), diff=parse_diff(diff_path.read_bytes())),
                            enabled=True)
    return redacted.count, redacted.emails


def test_no_credentials_found_in_ordinary_code() -> None:
    """The jinja corpus (about 29,000 diff lines) and unidiff's samples hold no credential.

    13 project contact addresses in the jinja corpus (setup.py, pyproject.toml, the code of
    conduct) become <EMAIL>: personal data, replaced on purpose, never marked as a credential.
    """
    assert JINJA_CASES and UNIDIFF_SAMPLES
    credentials = emails = 0
    for diff_path in [c / "pr.diff" for c in JINJA_CASES] + list(UNIDIFF_SAMPLES):
        try:
            count, found = _redactions(diff_path)
        except InputError:  # a sample the parser refuses holds no hunk to redact
            continue
        credentials += count
        emails += found
    assert credentials == 0
    assert emails <= 20
