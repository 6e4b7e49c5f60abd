"""Planted credentials: none may reach the model, stdout, stderr, an output file or GitHub.

The model here is the worst case: it repeats every line it was shown inside a finding, so a
credential that slipped through redaction would come straight back out in every format.
Diffs go through `dry-run --diff`; PR titles and descriptions through `review` against the
GitHub emulator (posted reviews, comments, every request body, the job summary). A diff
that is not a diff at all (a `.env` file passed by mistake) must not be quoted into the
error line either.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from bot.redact.scrub import SECRET_NOTE
from tests.github_helpers import BOT_TOKEN, REPO, emulator
from tests.reliability.harness import Tally, findings_of, run_cli, write_config
from tests.servers.model_server import ModelServer

# Built from pieces so no scanner takes this file for a leak; none is a real credential.
SECRETS: dict[str, str] = {
    "github": "ghp_" + "Xk29LmQp7RtVw3ZaB8nYc4DeF6gH1jK0sU5o",
    "github_old": "gho_" + "Zz81LmQp7RtVw3ZaB8nYc4DeF6gH1jK0sU5p",
    "github_pat": "github_pat_" + "11ABCDEFG0x9Lm3Qp7Rt_Vw3ZaB8nYc4DeF6gH1jK0sU5oPq2",
    "huggingface": "hf_" + "AbXkLmQpRtVwZaBnYcDeFgHjKsUoPqWxYz",
    "aws_id": "AKIA" + "Q3ZT7PLM7JK2LMN4",
    "aws_secret": "w9alrXUtnFEMI/K7MDENG/" + "bPxRfiCYq8Zk2Lm9Xp4R",
    "slack": "xoxb-" + "281937465012-4829163750123-AbXkLmQpRtVwZaBnYcDeFgHj",
    "slack_webhook": "T0AB1CD2E/B0FG3HI4J/" + "Qw8Er7Ty6Ui5Op4As3Df2Gh1",
    "jwt": ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
            + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    "password": "S3cr3t-Pa55w0rd!x",
    "url_password": "Zx9qL2mP7wK4",
    "header_password": "H3ad3r-Pw-99!k",
    "yaml_api_key": "q8Zk2Lm9Xp4Rt7WvN3",
    "context_secret": "c0nt3xt-S3cr3t-77Qa",
    "key_body_1": "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi7xQ4W5ZKf5Jd6YXN3c2VyAbCd",
    "key_body_2": "bGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0hJSktMTU5PUFFSU1RV",
    # Issue 16, defect 7: a token in a file's name; values split over literals (each piece is
    # planted: none may come out); a value on the line below its name; a registry login in base64.
    "path_token": "ghp_" + "Nq4Wz8Lm2Xk7Rv3Tb9Hc5Jd1Fg6Ks0Ya8Pe",
    "split_head": "ghp_" + "Vb2Lx9Qm4Tk",
    "split_tail": "Wr7Zn3Hc8Jd5Fg1Ks6Ya0Pe",
    "concat_rest": "Hj6Tq1Lz9Wm4Xr8Kv2Bn7Cd3Fs5Gy0Pa",
    "below_password": "Lq7!vR3#zW9m",
    "docker_config": base64.b64encode(json.dumps({"auths": {"registry.example.com": {
        "auth": base64.b64encode(b"deploy:" + ("gho_" + "Mw3Rt8Lq2Zx7Kv4Nb9Hc5Jd1Fg6Ks0Ya8P").encode()).decode()}}})
        .encode()).decode(),
}
S = SECRETS
BEGIN, END = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"


def _file(path: str, header: str, lines: list[str], section: str = "") -> str:
    old = sum(1 for ln in lines if ln[0] in " -")
    new = sum(1 for ln in lines if ln[0] in " +")
    start = "0,0" if old == 0 else f"1,{old}"
    return (f"diff --git a/{path} b/{path}\n{header}--- {'/dev/null' if old == 0 else 'a/' + path}\n"
            f"+++ b/{path}\n@@ -{start} +1,{new} @@{section}\n" + "\n".join(lines) + "\n")


def secret_diff() -> str:
    settings = _file("app/settings.py", "index 1111111..2222222 100644\n", [
        " import os",
        f'-OLD_TOKEN = "{S["github_old"]}"',
        f'+GITHUB_TOKEN = "{S["github"]}"',
        f'+HF_TOKEN = "{S["huggingface"]}"',
        f'+aws_access_key_id = "{S["aws_id"]}"',
        f'+aws_secret_access_key = "{S["aws_secret"]}"',
        f'+SLACK_BOT = "{S["slack"]}"',
        f'+WEBHOOK = "https://hooks.slack.com/services/{S["slack_webhook"]}"',
        f'+SESSION = "{S["jwt"]}"',
        f'+DB_URL = "postgresql://app:{S["url_password"]}@db:5432/app"',
        f'+password = "{S["password"]}"',
        " DEBUG = True",
    ], section=f' def connect(password="{S["header_password"]}"):')
    key = _file("deploy/server.pem", "new file mode 100644\n", [
        f"+{BEGIN}", f"+{S['key_body_1']}", f"+{S['key_body_2']}", "+VldYWVo0KzEy", f"+{END}"])
    yaml = _file("config/app.yml", "index 3333333..4444444 100644\n", [
        f" secret: {S['context_secret']}", "-api_key: old", f"+api_key: {S['yaml_api_key']}", " debug: true"])
    env = _file(".env", "index 5555555..6666666 100644\n", [f"+GH_PAT={S['github_pat']}"])
    named = _file(f"notes/{S['path_token']}.txt", "new file mode 100644\n", ["+rotate this token"])
    split = _file("app/tokens.py", "new file mode 100644\n", [
        f"+SPLIT = ('{S['split_head']}'", f"+         '{S['split_tail']}')",
        f"+JOINED = 'ghp_' + '{S['concat_rest']}'",
        "+DATABASES = {", "+    'password':", f"+        '{S['below_password']}',", "+}"])
    pull = _file("deploy/pull-secret.yaml", "new file mode 100644\n", [
        "+apiVersion: v1", "+kind: Secret", "+type: kubernetes.io/dockerconfigjson", "+data:",
        f"+  .dockerconfigjson: {S['docker_config']}"])
    return settings + key + yaml + env + named + split + pull


_NUMBERED = re.compile(r"^\s*(\d+) [+ ] (.*)$", re.MULTILINE)


def echoing_responder(prompt: str, payload: Mapping[str, object]) -> str:
    """The worst model: it repeats every numbered line and the whole prompt head in findings."""
    out = []
    for section in re.split(r"^(?=\+\+\+ b/)", prompt, flags=re.MULTILINE)[1:]:
        path = section.split("\n", 1)[0][len("+++ b/"):]
        for number, text in _NUMBERED.findall(section):
            out.append(f"{path}:{number}: warning: this line says {text}")
        out.append(f"{path}:1: info: the hunk header reads {section.split(chr(10))[1:2]}")
    out.append(f"{path}:1: info: the description reads {prompt[:3000]!r}" if out else "")
    return "\n".join(out) + "\n"


def leaks(texts: Mapping[str, str], secrets: Iterable[str]) -> list[str]:
    """`channel: secret name` for each secret found in each channel (raw or JSON-escaped)."""
    found = []
    for name, value in {k: v for k, v in SECRETS.items() if v in set(secrets)}.items():
        forms = {value, json.dumps(value)[1:-1]}
        for channel, text in texts.items():
            if any(form in text for form in forms):
                found.append(f"{channel}: {name}")
    return found


def _model_texts(srv: ModelServer) -> dict[str, str]:
    return {f"model request {r.index}": r.body.decode("utf-8", "replace") + "\n" + r.prompt for r in srv.requests}


def diff_scenarios(folder: Path, redact: bool = True) -> Tally:
    """The planted diff through dry-run in every format, to a file, and with -v.

    `redact=False` turns redaction off in the config: then every planted value must be found,
    which shows the check can see a leak.
    """
    tally = Tally()
    diff = folder / "secrets.diff"
    diff.write_text(secret_diff(), encoding="utf-8")
    config = write_config(folder, {"review": {"min_severity": "info", "max_comments": 1000,
                                              "max_comments_per_file": 1000, "redact_secrets": redact},
                                   "budget": {"requests_per_minute": 60000}})
    planted = list(SECRETS.values())
    runs: dict[str, str] = {}
    with ModelServer(responder=echoing_responder) as srv:
        for fmt in ("text", "json", "markdown", "sarif", "github"):
            run = run_cli(["dry-run", "--diff", str(diff), "--config", str(config), "--api", "hf",
                           "--endpoint", srv.url,
                           "--format", fmt, "-v"])
            runs[f"stdout ({fmt})"], runs[f"stderr ({fmt})"] = run.out, run.err
            if fmt == "json":
                noted = sum(1 for f in findings_of(run.out) if f["message"].endswith(SECRET_NOTE))
                tally.note(f"diff: {len(findings_of(run.out))} findings, {noted} marked as on a redacted line")
        output = folder / "out.md"
        run = run_cli(["dry-run", "--diff", str(diff), "--config", str(config), "--api", "hf", "--endpoint", srv.url,
                       "--format", "markdown", "--output", str(output)])
        runs["--output file"], runs["stderr (--output)"] = output.read_text(encoding="utf-8"), run.err
        prompts = run_cli(["prompts", "--diff", str(diff), "--config", str(config), "--format", "json"])
        runs["prompts stdout"], runs["prompts stderr"] = prompts.out, prompts.err
        runs.update(_model_texts(srv))
    _count(tally, "diff", planted, runs)
    return tally


def _count(tally: Tally, scenario: str, planted: list[str], texts: Mapping[str, str]) -> None:
    tally.add("planted", len(planted))
    found = leaks(texts, planted)
    tally.add("leaked", len({f.split(": ", 1)[1] for f in found}))
    for leak in found:
        tally.note(f"LEAK {scenario}: {leak}")


def not_a_diff(folder: Path) -> Tally:
    """A credentials file given as --diff, and a broken hunk holding a token: the error line stays clean."""
    tally = Tally()
    env_file = folder / "prod.env"
    env_file.write_text(f"GITHUB_TOKEN={S['github']}\nHF_TOKEN={S['huggingface']}\n", encoding="utf-8")
    broken = folder / "broken.diff"
    broken.write_text("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n x = 1\n"
                      f"TOKEN = '{S['slack']}'\n", encoding="utf-8")
    texts = {}
    for path in (env_file, broken):
        run = run_cli(["prompts", "--diff", str(path)])
        texts[f"stderr ({path.name})"] = run.err
        texts[f"stdout ({path.name})"] = run.out
    _count(tally, "not a diff", [S["github"], S["huggingface"], S["slack"]], texts)
    return tally


def pull_request_scenario(folder: Path) -> Tally:
    """Secrets in the PR title, description and diff, through `review` (posted) and `review --dry-run`."""
    tally = Tally()
    title = f"Rotate the deploy token {S['github']}"
    body = (f"New credentials for staging:\n\n    AWS_ACCESS_KEY_ID={S['aws_id']}\n    password: {S['password']}\n"
            f"\n{BEGIN}\n{S['key_body_1']}\n{S['key_body_2']}\n{END}\n\nSlack: {S['slack']}\nJWT {S['jwt']}\n"
            f"\n    SPLIT = ('{S['split_head']}'\n             '{S['split_tail']}')\n")
    summary = folder / "summary.md"
    texts: dict[str, str] = {}
    with emulator() as gh, ModelServer(responder=echoing_responder) as srv:
        gh.add_pull(REPO, 7, secret_diff(), base_sha="b" * 40, head_sha="c" * 40, title=title, body=body)
        env = {"PATH": "/usr/bin:/bin", "GITHUB_API_URL": gh.url, "GITHUB_TOKEN": BOT_TOKEN,
               "GITHUB_STEP_SUMMARY": str(summary)}
        for extra in (["--dry-run", "--format", "json"], ["--format", "markdown"], ["-v"]):
            run = run_cli(["review", "--repo", REPO, "--pr", "7", "--api", "hf",
                           "--endpoint", srv.url, "--min-severity", "info",
                           "--rpm", "60000", *extra], env)
            texts[f"stdout (review {' '.join(extra)})"] = run.out
            texts[f"stderr (review {' '.join(extra)})"] = run.err
            if run.code != 0:
                tally.note(f"review {' '.join(extra)} exited {run.code}: {run.err_lines[-1:]}")
        texts.update(_model_texts(srv))
        texts["GitHub request bodies"] = "\n".join(json.dumps(c.json) for c in gh.calls if c.json is not None)
        # Bodies only: a comment's `diff_hunk` is GitHub's own copy of the PR's diff, not ours.
        for what, items in (("reviews", gh.reviews(REPO, 7)), ("review comments", gh.review_comments(REPO, 7)),
                            ("issue comments", gh.issue_comments(REPO, 7))):
            texts[f"GitHub {what}"] = "\n".join(str(item.get("body")) for item in items)
        posted = len(gh.reviews(REPO, 7))
    texts["job summary"] = summary.read_text(encoding="utf-8") if summary.exists() else ""
    tally.note(f"pull request: {posted} review posted, {len(texts)} channels checked")
    _count(tally, "pull request", list(SECRETS.values()), texts)
    return tally


def run_all(folder: Path) -> Tally:
    tally = Tally()
    for part, name in ((diff_scenarios, "diff"), (not_a_diff, "not-a-diff"), (pull_request_scenario, "pr")):
        sub = folder / name
        sub.mkdir(parents=True, exist_ok=True)
        tally.merge(part(sub))
    return tally
