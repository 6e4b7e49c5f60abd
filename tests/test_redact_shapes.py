"""Credentials in every shape (issue 12): bare tokens, headers, long values, split values, and the
false positives the outside check found. Each case here leaked or was wrongly replaced before.

Tokens are built by `fake` from a hash, so no scanner takes this file for a leak and none of
them is a real credential; each has its provider's published layout.
"""

from __future__ import annotations

import hashlib
import string

import pytest

from bot.redact.scrub import KEY, PASSWORD, redact_input, redact_text
from tests.test_redact import diff_of, texts

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


def fake(n: int, alphabet: str = ALNUM, seed: str = "") -> str:
    """`n` characters of `alphabet` drawn from sha256 of the seed: random-looking, reproducible."""
    out: list[str] = []
    block = 0
    while len(out) < n:
        digest = hashlib.sha256(f"{seed}/{n}/{alphabet}/{block}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        block += 1
    return "".join(out[:n])


def survives(secret: str, out: str) -> bool:
    """Whether some 8-character window of `secret` is still in `out` (the issue's measure)."""
    return any(secret[i:i + 8] in out for i in range(len(secret) - 7))


BARE_TOKENS = {
    "openai legacy": "sk-" + fake(20, seed="o1") + "T3BlbkFJ" + fake(20, seed="o2"),
    "openai project": "sk-proj-" + fake(74, ALNUM + "_-", "o3") + "T3BlbkFJ" + fake(74, ALNUM + "_-", "o4"),
    "anthropic": "sk-ant-api03-" + fake(93, ALNUM + "_-", "a1") + "AA",
    "stripe secret": "sk_live_" + fake(24, seed="s1"),
    "stripe restricted": "rk_live_" + fake(24, seed="s2"),
    "gitlab personal": "glpat-" + fake(20, ALNUM + "_-", "g1"),
    "gitlab deploy": "gldt-" + fake(20, seed="g2"),
    "gitlab runner": "glrt-" + fake(20, seed="g3"),
    "gitlab trigger": "glptt-" + fake(40, HEX, "g4"),
    "gitlab ci job": "glcbt-" + fake(5, seed="g5") + "_" + fake(20, seed="g6"),
    "gitlab oauth": "gloas-" + fake(64, seed="g7"),
    "gitlab runner registration": "GR1348941" + fake(20, seed="g8"),
    "google": "AIza" + fake(35, ALNUM + "_-", "gc"),
    "azure ad": fake(3, seed="az") + "8Q~" + fake(34, ALNUM + "_~.-", "az2"),
    "npm": "npm_" + fake(36, seed="np"),
    "pypi": "pypi-AgEIcHlwaS5vcmc" + fake(60, ALNUM + "_-", "py"),
    "slack app": ("xapp-1-A" + fake(10, string.ascii_uppercase + string.digits, "sa") + "-"
                  + fake(13, string.digits, "sb") + "-" + fake(64, HEX, "sc")),
    "slack refresh": "xoxe-1-" + fake(146, seed="se"),
    "sendgrid": "SG." + fake(22, ALNUM + "_-", "sg1") + "." + fake(43, ALNUM + "_-", "sg2"),
    "twilio": "SK" + fake(32, HEX, "tw"),
    "digitalocean": "dop_v1_" + fake(64, HEX, "do"),
    "shopify": "shpat_" + fake(32, HEX, "sh"),
    "databricks": "dapi" + fake(32, HEX, "db"),
    "vault service": "hvs." + fake(95, ALNUM + "_-", "vs"),
    "vault batch": "hvb." + fake(140, ALNUM + "_-", "vb"),
    "sentry user": "sntryu_" + fake(64, HEX, "se"),
    "1password service account": "ops_eyJ" + fake(260, ALNUM + "+/", "op"),
    "age": "AGE-SECRET-KEY-1" + fake(58, BECH32, "ag"),
    "hugging face organisation": "api_org_" + fake(34, string.ascii_letters, "hf"),
}


@pytest.mark.parametrize("token", BARE_TOKENS.values(), ids=BARE_TOKENS.keys())
def test_bare_tokens_are_redacted_where_no_name_says_what_they_are(token: str) -> None:
    for path, line in (("app/client.py", f'    client = Client("{token}")'),
                       ("scripts/deploy.sh", f"tool login {token} --region eu"),
                       ("README.md", f"the key {token} was rotated")):
        redacted = redact_input(diff_of(path, [line]), enabled=True)
        out = texts(redacted.review_input)[0]
        assert not survives(token, out), (path, out)
        assert KEY in out and redacted.count == 1
    out, count, _ = redact_text(f"Rotated {token} today")
    assert not survives(token, out) and count == 1


@pytest.mark.parametrize("line", [
    'headers = {"Authorization": "Bearer %s"}', "curl -H 'Authorization: Bearer %s' https://api.example.com",
    'req.setHeader("Authorization", "Basic %s");'])
def test_authorization_headers_lose_their_credential(line: str) -> None:
    token = fake(40, ALNUM + "-._~", "bearer")
    out, count, _ = redact_text(line % token)
    assert not survives(token, out) and count == 1
    assert ("Bearer " + KEY in out) or ("Basic " + KEY in out)


def test_values_longer_than_500_characters_go_whole() -> None:
    value = fake(900, ALNUM + "+/", "long")
    for path, line in (("app/settings.py", f'API_KEY = "{value}"'), (".env", f"API_KEY={value}")):
        out = texts(redact_input(diff_of(path, [line]), enabled=True).review_input)[0]
        assert not survives(value, out), out


@pytest.mark.parametrize(("path", "line"), [
    (".env", "SERVICE_TOKEN={v}"), ("config/app.yaml", "  api_token: {v}"), ("app/settings.py", 'API_KEY = "{v}"'),
    ("scripts/fetch.sh", 'curl -H "X-API-Key: {v}" https://api.example.com/v1/items')])
def test_values_containing_equals_signs_go_whole(path: str, line: str) -> None:
    value = fake(14, seed="eq1") + "=" + fake(17, seed="eq2") + "=="
    out = texts(redact_input(diff_of(path, [line.format(v=value)]), enabled=True).review_input)[0]
    assert not survives(value, out), out


@pytest.mark.parametrize(("path", "lines", "placeholder"), [
    ("config/app.yaml", ["db:", "  password: >-", "    {a}{b}", "  host: db"], PASSWORD),
    ("config/app.yaml", ["api_key: |", "  {a}", "  {b}", "debug: true"], KEY),
    ("app/settings.py", ["API_TOKEN = (", '    "{a}"', '    "{b}"', ")"], KEY),
    ("app/settings.py", ['SECRET_KEY = "{a}" \\', '    "{b}"', "DEBUG = True"], KEY),
    ("deploy.sh", ["export API_TOKEN=\\", "  {a}{b}", "echo done"], KEY),
])
def test_a_name_and_its_value_on_different_lines(path: str, lines: list[str], placeholder: str) -> None:
    a, b = fake(10, seed="ml1"), fake(12, seed="ml2")
    redacted = redact_input(diff_of(path, [ln.format(a=a, b=b) for ln in lines]), enabled=True)
    out = "\n".join(texts(redacted.review_input))
    assert not survives(a, out) and not survives(b, out), out
    assert placeholder in out and redacted.count == 1


def test_a_continued_command_is_not_a_continued_value() -> None:
    lines = ['curl -H "Authorization: token $GITHUB_TOKEN" \\', '     -H "Accept: $FORMAT" \\', '     "$API_URL/v1/x"']
    assert redact_input(diff_of("scripts/fetch.sh", lines), enabled=True).count == 0


@pytest.mark.parametrize(("path", "line"), [
    ("Sources/HomeKit.h", "- (id)hf_requiredCharacteristicTypesForDisplayMetadata;"),
    ("docs/links.md", "![party](https://indieweb.org/images/3/35/2018-250-xoxo-indieweb-1.jpg)"),
    ("secrets/app.enc.yaml", "    db-password: ENC[AES256_GCM,data:O+5l4g==,"
                             "iv:c/dS4BCBMbnKsXYuzBuCuVQt8RV9bOv5HgdpL+iwmns=,tag:KkQfh6OymvCt4uC13p318g==,type:str]"),
    (".env", "SUMO_ACCESS_KEY={SumoAccessKey}"),
    ("config/app.yaml", "sumo_access_key: {SumoAccessKey}"),
    ("docs/aws.md", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
    ("app/settings.py", 'TOKEN = "ghp_' + "x" * 36 + '"'),
])
def test_identifiers_urls_ciphertext_templates_and_examples_are_left_alone(path: str, line: str) -> None:
    redacted = redact_input(diff_of(path, [line]), enabled=True)
    assert (texts(redacted.review_input), redacted.count) == ([line], 0)


def test_a_call_in_pr_text_is_no_password() -> None:
    body = "Use a shared decorator:\n\n    pass_ns = click.make_pass_decorator(dict, ensure=True)\n"
    assert redact_text(body) == (body, 0, 0)
