"""Lines built to make a redaction pattern backtrack (issue 16, defect 2), by shape and size.

Each generator writes `size` bytes of added lines: mostly one line, a hunk of short lines for the
patterns that look across lines. The shapes are those an outside check tried (repeated secret
names, `a@`, unterminated quotes, `Bearer`, `ghp_`, PEM headers, `=` runs, URL credentials) and
ours: every prefix, scheme and separator the patterns of bot/redact key on, repeated. `diff_text`
puts one into a file of a diff. Used by `python -m bench` (family `redaction`), by the hypothesis
test and the regression test through `review-bot prompts` of tests/test_redact_linear.py.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

# A generator: size in bytes -> the text of the added lines (one string; "\n" separates lines).
Generator = Callable[[int], str]


def _repeat(unit: str, size: int, head: str = "", tail: str = "") -> str:
    count = max(1, (size - len(head) - len(tail)) // max(1, len(unit)))
    return head + unit * count + tail


def _lines(unit: str, size: int) -> str:
    """Many short lines (a hunk of them), for the patterns that look across lines."""
    return "\n".join([unit] * max(1, size // (len(unit) + 1)))


_B64 = base64.b64encode(bytes(range(256)) * 2).decode()
_PAT = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"

GENERATORS: dict[str, Generator] = {
    # The shapes of the issue: repeated secret names, `a@`, unterminated quotes, Bearer, ghp_, PEM
    # headers, `=` runs, URL credentials.
    "secret names (apikey)": lambda n: _repeat("apikey", n, "k = '"),
    "secret names (token)": lambda n: _repeat("token", n, "k = '"),
    "secret names, mixed": lambda n: _repeat("api_session.master-access$private_key", n, "k = "),
    "names then operators": lambda n: _repeat("password = ", n),
    "names then quotes": lambda n: _repeat("token'", n, "x = "),
    "a@": lambda n: _repeat("a@", n),
    "e-mail dots": lambda n: _repeat("a.", n, "", "@b"),
    "unterminated quote": lambda n: _repeat("a", n, "password = '"),
    "unterminated quotes": lambda n: _repeat("'a", n, "f("),
    "Bearer": lambda n: _repeat("Bearer ", n),
    "Bearer value": lambda n: _repeat("a", n, "Authorization: Bearer "),
    "ghp_": lambda n: _repeat("ghp_", n),
    "ghp_ tokens": lambda n: _repeat(_PAT + " ", n),
    "PEM headers": lambda n: _repeat("-----BEGIN RSA PRIVATE KEY-----", n),
    "PEM header words": lambda n: _repeat("-----BEGIN " + "RSA " * 8, n),
    "= runs": lambda n: _repeat("=", n, "token "),
    "= and spaces": lambda n: _repeat("= ", n, "secret"),
    "URL credentials": lambda n: _repeat("a:b", n, "https://"),
    "URL credentials, repeated": lambda n: _repeat("https://u:", n),
    # Our own: every other prefix, scheme and shape the patterns key on.
    "call arguments": lambda n: _repeat("('", n),
    "argument characters": lambda n: _repeat("a", n, "f('"),
    "JWT heads": lambda n: _repeat("eyJ", n),
    "JWT parts": lambda n: _repeat(".eyJabcdefgh", n),
    "AWS names": lambda n: _repeat("aws_secret", n, "", " = "),
    "AWS prefixes": lambda n: _repeat("AKIA", n),
    "token prefixes": lambda n: _repeat("sk-proj-", n),
    "OpenAI middle": lambda n: _repeat("T3BlbkFJ", n, "sk-"),
    "Slack": lambda n: _repeat("xoxb-1234567890-", n),
    "Slack webhooks": lambda n: _repeat("https://hooks.slack.com/services/", n),
    "hf_ mixed case": lambda n: _repeat("aB", n, "hf_"),
    "base64 run": lambda n: _repeat(_B64, n),
    "quotes and backslash-n": lambda n: _repeat("\\n'\" ", n, "key = "),
    "type annotations": lambda n: _repeat(": a", n, "token"),
    "dollar names": lambda n: _repeat("$token.", n),
    "spaces before =": lambda n: _repeat(" ", n, "password", "= 'q8Zk2Lm9Xp4Rt7Wv'"),
    "format fields": lambda n: _repeat("{a", n, "token = '", "'"),
    "placeholders": lambda n: _repeat("xxxx", n, "token = '"),
    "PEM body lines": lambda n: _lines(_B64[:64], n),
    "PEM blocks": lambda n: _lines("-----BEGIN PRIVATE KEY-----\n" + _B64[:64] + "\n-----END PRIVATE KEY-----", n),
    "continued values": lambda n: _lines("token = (\n 'a'", n),
    "YAML block values": lambda n: _lines("api_key: >-\n  abc", n),
    "backslash lines": lambda n: _lines("TOKEN=\\", n),
    "split literals": lambda n: _repeat("'ab' ", n, "tok = ("),
    "concatenations": lambda n: _repeat("'ab' + ", n, "tok = "),
    "escaped quote pairs": lambda n: _repeat('\\"" ', n),  # places two literals might meet, none a chain
    "key line of spaces": lambda n: "-----BEGIN PRIVATE KEY-----\n" + _repeat(" ", n, '"', 'x+"') + "\nx",
    "blank lines": lambda n: "\n" * max(1, n),
    "long name": lambda n: _repeat("a", n, "", " = 'q8Zk2Lm9Xp4Rt7Wv'"),
    "e-mail domain labels": lambda n: _repeat("b.", n, "a@"),
    "flags": lambda n: _repeat("--token-", n, "", "=\\"),
}
SUFFIXES = (".py", ".env", ".md")


def diff_text(files: dict[str, str]) -> str:
    """A git diff adding each file of `files` (path -> text, lines split at "\\n") in one hunk."""
    out = []
    for path, text in files.items():
        lines = text.split("\n")
        out.append(f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
                   f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{line}\n" for line in lines))
    return "".join(out)
