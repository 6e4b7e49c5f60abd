"""Replace credentials in diffs and PR text before any of it is rendered into a prompt.

The placeholders are StarCoder2's own PII tokens (`<KEY>`, `<PASSWORD>`, `<EMAIL>`): its
training data had secrets replaced by exactly these, so the model reads them as "a secret
was here" rather than as odd text. Redaction runs first in the pipeline, so prompts,
findings (messages and fingerprints derive from the redacted hunks), logs and every output
format only ever see the placeholders.

Detection is deliberately conservative on ordinary code: fixed-format tokens (AWS, GitHub,
Hugging Face, Slack, JWT, private-key blocks) are matched by shape; a free-form value needs
a secret-like name (`password`, `token`, `api_key` ...) *and* a value that looks random
(no spaces, not a placeholder or reference, not plain words, Shannon entropy over a
length-dependent threshold). A missed secret that is plain words is the accepted cost.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from bot.sources import ReviewInput
from bot.types import FileDiff, Finding, Hunk, Line

KEY = "<KEY>"
PASSWORD = "<PASSWORD>"
EMAIL = "<EMAIL>"
SECRET_NOTE = " (this line contains a credential; it was redacted before review)"
MIN_SECRET_LEN = 8
MAX_ENTROPY_THRESHOLD = 3.0  # bits per character, reached at 16 characters (see entropy_threshold)

SecretLine = tuple[str, str, int]  # (path, side, line)


@dataclass(frozen=True)
class RedactedInput:
    review_input: ReviewInput  # Line.text, hunk headers, title and body with placeholders
    secret_lines: frozenset[SecretLine]  # (path, "LEFT"|"RIGHT", line) that held a credential
    count: int  # credentials replaced (a private-key block counts once)
    emails: int = 0  # e-mail addresses replaced (personal data, not credentials)


# ---------------------------------------------------------------- fixed-format credentials

_KEY_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
# Punctuation after the material counts as syntax only behind a quote or a space (`"...\\n" +`),
# since `+` and `/` are base64 characters too.
_MASK_PARTS = re.compile(
    r"""^(?P<lead>[\s"'`(]*(?:\\[nr])*)(?P<core>.*?)(?P<trail>(?:\\[nr])*(?:[\s"'`]+[\s"'`,+;)]*)?)$""")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}")
# A line of a PEM body (or its Proc-Type / DEK-Info headers), maybe quoted, maybe ending in \n.
_PEM_BODY = re.compile(r"""^[\s"'`]*(?:[A-Za-z0-9+/]{4,}={0,2}|(?:Proc-Type|DEK-Info):.*)(?:\\n)?[\s"'`,+;)]*$""")
_PEM_WIDE = re.compile(r"""^(?=.*[a-z])(?=.*[A-Z])[\s"'`]*[A-Za-z0-9+/]{60,80}={0,2}(?:\\n)?[\s"'`,+;)]*$""")
_PEM_LONG = re.compile(r"[A-Za-z0-9+/]{40,}")
MIN_BARE_PEM_LINES = 2
_KEY_FILE_SUFFIXES = (".key", ".p8", ".pk8", ".ppk", "_rsa", "_dsa", "_ecdsa", "_ed25519", ".pem.key")
_KEY_FILE_PREFIXES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "private", "privkey")

_TOKENS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack incoming webhooks: keep the host so the model still sees what the URL is.
    (re.compile(r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9_/+-]{8,}"),
     r"\1" + KEY),
    (re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"), KEY),
    (re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,251}|github_pat_[A-Za-z0-9_]{22,244})"
                r"(?![A-Za-z0-9_])"), KEY),
    # Hugging Face tokens are mixed case; the lookaheads keep long snake_case names out.
    (re.compile(r"(?<![A-Za-z0-9_])hf_(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])[A-Za-z0-9]{30,}"
                r"(?![A-Za-z0-9_])"), KEY),
    (re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"), KEY),
    (re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), KEY),
    # An AWS secret access key is 40 base64 characters after a name mentioning aws and secret.
    (re.compile(r"(?i)(aws[\w.-]{0,30}?(?:secret|sk)[\w.-]{0,30}[\"']?\s*(?::=|=>|=|:)\s*[\"']?)"
                r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"), r"\1" + KEY),
)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}://[^\s/:@\"'<>,]{1,100}):([^\s/:@\"'<>,]{1,200})@")
_EMAIL = re.compile(r"(?<![\w.+%-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}"
                    r"(?![\w-])")
_NOT_EMAIL_USERS = frozenset({"git"})  # git@github.com:owner/repo is an SSH remote, not a person

# ---------------------------------------------------------------- name = value assignments

# `name = "value"` in any language: = := => : (JSON, YAML, PHP, Go, Ruby, shell, TOML, INI).
_ASSIGNMENT = re.compile(
    r"""(?<![\w.$])(?P<nq>["']?)(?P<name>[A-Za-z_$@][\w.$-]{0,80}?)(?P=nq)\]?
        (?:\s*:\s*[A-Za-z_][\w.\[\]|, ]{0,40}?(?=\s*=[^=]))?       # a type annotation
        \s*(?::=|=>|(?<![=!<>:])=(?![=>~])|:(?![:=]))\s*
        (?:(?P<q>["'`])(?P<value>[^"'`\n]{1,500}?)(?P=q)|(?P<bare>[^\s"'`,;]{1,500}))""",
    re.VERBOSE)
_PASSWORD_WORDS = ("password", "passwd", "passphrase")
_PASSWORD_EXACT = frozenset({"pwd", "pass", "pw"})
_KEY_WORDS = ("secret", "token", "apikey", "accesskey", "secretkey", "privatekey", "credentials",
              "credential")
_KEY_EXACT = frozenset({"auth"})
_KEY_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("signing", "key"),
                        ("session", "key"), ("encryption", "key"), ("master", "key"), ("secret", "key")})
# A name ending in one of these names *about* a secret (its URL, env variable, type ...).
_ABOUT_WORDS = frozenset({
    "url", "uri", "urls", "endpoint", "path", "file", "filename", "dir", "name", "names", "type", "types",
    "field", "header", "env", "var", "variable", "length", "len", "count", "id", "prefix", "suffix",
    "format", "pattern", "regex", "re", "expires", "expiry", "expiration", "ttl", "timeout", "scope",
    "scopes", "kind", "label", "hint", "help", "message", "msg", "error", "class", "cls", "mode", "policy",
    "required", "enabled", "provider", "method", "location", "host", "user", "username", "server",
    "version", "lifetime", "age", "size", "index", "start", "end", "param", "placeholder", "text",
    "description", "cache", "store", "manager", "backend", "service", "min", "max", "rounds", "source",
    "command", "cmd", "option", "options", "flag", "arg", "input", "prompt", "template", "style",
})
_WORD_SPLIT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

_PLACEHOLDER_WORDS = ("changeme", "change_me", "change-me", "example", "placeholder", "your_", "your-",
                      "yourtoken", "yourkey", "yourpassword", "dummy", "redacted", "xxxx", "****", "...",
                      "<", ">", "${", "$(", "{{", "{%", "%(", "%s", "{}", "{0}", "getenv", "environ",
                      "process.env", "env[", "env.", "secrets.", "vault:", "os.")
_REFERENCE = re.compile(r"^(?:\$|%|@|&|\*|#|arn:|[a-z][a-z0-9+.-]*://|\.{0,2}/|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$)")
_FORMAT_FIELD = re.compile(r"\{[\w.\[\]'\"()!:<>^ -]*\}")  # f-string / str.format fields
_WORDISH = re.compile(r"^[-_.:/]*[A-Za-z]+\d*(?:[-_.:/]+[A-Za-z]+\d*)*[-_.:/]*$")
_CHUNK = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_TRAILING_DIGITS = re.compile(r"\d+$")
_CONFIG_SUFFIXES = frozenset({".env", ".yml", ".yaml", ".ini", ".cfg", ".conf", ".properties", ".sh",
                              ".bash", ".zsh", ".envrc", ".npmrc", ".pypirc", ".netrc", ".txt", ""})


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`'s own character distribution."""
    if not value:
        return 0.0
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


def entropy_threshold(length: int) -> float:
    """A random string of n characters has at most log2(n) bits each: ask for 3/4 of that, capped."""
    return min(MAX_ENTROPY_THRESHOLD, 0.75 * math.log2(max(length, 2)))


def _is_wordish(value: str) -> bool:
    """Plain words (`client_credentials`, `X-Auth-Token`, `serverAuth`): names, not random values.

    Digits may end a word only in a compound (`types-auth0-python`), so `Summer2023` stays a secret.
    """
    if not _WORDISH.match(value):
        return False
    segments = [s for s in re.split(r"[-_.:/]+", value) if s]
    if len(segments) == 1 and _TRAILING_DIGITS.search(segments[0]):
        return False
    return all(_is_word_segment(_TRAILING_DIGITS.sub("", s)) and len(s) <= 24 for s in segments)


def _is_word_segment(segment: str) -> bool:
    """lower, UPPER, Capitalized, camelCase, PascalCase with acronyms (`AWSAccessKeyId`).

    Random letters split into chunks of one or two (`qZkLmX`); words rarely do.
    """
    chunks = _CHUNK.findall(segment)
    if "".join(chunks) != segment:
        return False
    if len(chunks) == 1:
        return True
    return all(len(c) >= 2 for c in chunks) and len(segment) >= 3 * len(chunks)


def looks_secret(value: str, min_len: int = MIN_SECRET_LEN) -> bool:
    """Whether a literal assigned to a secret-like name looks like a real credential."""
    if len(value) < min_len or any(c.isspace() for c in value):
        return False
    lowered = value.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS) or _REFERENCE.match(value) \
            or _FORMAT_FIELD.search(value):
        return False
    if len(set(value)) <= 2 or _is_wordish(value):
        return False
    return shannon_entropy(value) >= entropy_threshold(len(value))


def secret_kind(name: str) -> str | None:
    """`<PASSWORD>`, `<KEY>` or None for an assigned name (`DB_PASSWORD`, `apiKey`, `token_url`)."""
    words = [w.lower() for w in _WORD_SPLIT.findall(name)]
    if not words or words[-1] in _ABOUT_WORDS or "public" in words:
        return None
    for word in words:
        if word in _PASSWORD_EXACT or any(word.endswith(w) for w in _PASSWORD_WORDS):
            return PASSWORD
    if any(word in _KEY_EXACT or any(word.endswith(w) for w in _KEY_WORDS) for word in words):
        return KEY
    if any(pair in _KEY_PAIRS for pair in zip(words, words[1:], strict=False)):
        return KEY
    return None


# ---------------------------------------------------------------- one line of text

@dataclass
class _Tally:
    secrets: int = 0
    emails: int = 0


def _replace_assignment(match: re.Match[str], bare_values: bool, tally: _Tally) -> str:
    value = match.group("value")
    if value is None:
        value = match.group("bare")
        if not bare_values or value is None:
            return match.group(0)
        value = value.rstrip(")]}")
    kind = secret_kind(match.group("name"))
    if kind is None or KEY in value or PASSWORD in value or not looks_secret(value):
        return match.group(0)
    tally.secrets += 1
    start = match.start("value") if match.group("value") is not None else match.start("bare")
    offset = start - match.start()
    text = match.group(0)
    return text[:offset] + kind + text[offset + len(value):]


def _replace_url_password(match: re.Match[str], tally: _Tally) -> str:
    if not looks_secret(match.group(2), min_len=6):
        return match.group(0)
    tally.secrets += 1
    return f"{match.group(1)}:{PASSWORD}@"


def _replace_email(match: re.Match[str], tally: _Tally) -> str:
    if match.group(0).split("@", 1)[0].lower() in _NOT_EMAIL_USERS:
        return match.group(0)
    tally.emails += 1
    return EMAIL


def _redact_line(text: str, bare_values: bool, tally: _Tally) -> str:
    for pattern, placeholder in _TOKENS:
        text, n = pattern.subn(placeholder, text)
        tally.secrets += n
    text = _URL_CREDENTIALS.sub(lambda m: _replace_url_password(m, tally), text)
    text = _ASSIGNMENT.sub(lambda m: _replace_assignment(m, bare_values, tally), text)
    if "@" in text:
        text = _EMAIL.sub(lambda m: _replace_email(m, tally), text)
    return text


def _mask(segment: str) -> str:
    """Key material in a segment -> `<KEY>`, keeping indentation, quotes and `\\n` escapes around it."""
    match = _MASK_PARTS.match(segment)
    if match is None or not match.group("core"):
        return segment
    return match.group("lead") + KEY + match.group("trail")


def _begin_of_key(text: str) -> re.Match[str] | None:
    """A BEGIN marker followed by key material (a string constant holding only the marker is not)."""
    begin = _KEY_BEGIN.search(text)
    if begin is None:
        return None
    rest = text[begin.end():]
    end = _KEY_END.search(rest)
    rest = (rest[:end.start()] if end else rest).strip()
    return begin if not rest or rest.startswith(("\\n", "\\r")) or _BASE64_RUN.match(rest) else None


def _redact_key_line(text: str) -> str:
    """A line inside a private-key block: BEGIN/END markers stay, everything between becomes `<KEY>`."""
    begin = _begin_of_key(text)
    end = _KEY_END.search(text, begin.end() if begin else 0)
    if begin and end:
        return text[:begin.end()] + _mask(text[begin.end():end.start()]) + text[end.start():]
    if begin:
        return text[:begin.end()] + _mask(text[begin.end():])
    if end:
        return _mask(text[:end.start()]) + text[end.start():]
    return _mask(text)


def _key_block_lines(texts: Sequence[str], bare_runs: bool = False) -> tuple[set[int], int]:
    """Indices of lines inside private-key blocks, and how many blocks.

    A block cut by the edge of the text (its BEGIN before a hunk, or its END after it) still
    covers every line from the edge. With `bare_runs` (a key file's own diff), a run of
    full-width base64 lines with neither marker (a hunk inside the key) counts as a block
    too; elsewhere such runs are certificates or data, which are not secret.
    """
    marked: set[int] = set()
    blocks = 0
    inside = False
    run: list[int] = []  # consecutive base64 lines outside any block

    def close_run(end_seen: bool) -> None:
        nonlocal blocks
        wide = sum(1 for j in run if _PEM_WIDE.match(texts[j]))
        long = any(_PEM_LONG.search(texts[j]) for j in run)
        if (end_seen and long) or (bare_runs and wide >= MIN_BARE_PEM_LINES):
            marked.update(run)
            blocks += 0 if end_seen else 1
        run.clear()

    for i, text in enumerate(texts):
        if inside:
            marked.add(i)
            inside = _KEY_END.search(text) is None
            continue
        begin = _begin_of_key(text)
        if begin:
            close_run(end_seen=False)
            marked.add(i)
            blocks += 1
            inside = _KEY_END.search(text, begin.end()) is None
        elif _KEY_END.search(text) and any(_PEM_LONG.search(texts[j]) for j in run):
            close_run(end_seen=True)  # the block's BEGIN lies before this text
            marked.add(i)
            blocks += 1
        elif _PEM_BODY.match(text):
            run.append(i)
        else:
            close_run(end_seen=False)
    close_run(end_seen=False)
    return marked, blocks


def redact_text(text: str, bare_values: bool = True) -> tuple[str, int, int]:
    """Free text (PR title or body) -> (redacted text, credentials replaced, e-mails replaced)."""
    tally = _Tally()
    lines = text.split("\n")
    in_block, tally.secrets = _key_block_lines(lines)
    out = [_redact_key_line(ln) if i in in_block else _redact_line(ln, bare_values, tally)
           for i, ln in enumerate(lines)]
    return "\n".join(out), tally.secrets, tally.emails


# ---------------------------------------------------------------- hunks and the whole input

def _allows_bare_values(path: str) -> bool:
    """Unquoted values are literals only in config-like files; in code they are expressions."""
    name = PurePosixPath(path).name
    return PurePosixPath(name).suffix.lower() in _CONFIG_SUFFIXES or name.startswith(".env") \
        or name == "Dockerfile"


def _is_key_file(path: str) -> bool:
    name = PurePosixPath(path).name.lower()
    return name.endswith(_KEY_FILE_SUFFIXES) or name.startswith(_KEY_FILE_PREFIXES)


def _side_blocks(lines: Sequence[Line], bare_runs: bool) -> tuple[set[int], int]:
    """Key-block lines of a hunk, found on each side's own sequence of lines."""
    marked: set[int] = set()
    blocks = 0
    for excluded in ("+", "-"):  # the old side (no '+') and the new side (no '-')
        indices = [i for i, ln in enumerate(lines) if ln.kind != excluded]
        found, count = _key_block_lines([lines[i].text for i in indices], bare_runs)
        marked.update(indices[j] for j in found)
        blocks = max(blocks, count)
    return marked, blocks


def _line_places(path: str, line: Line) -> Iterable[SecretLine]:
    if line.kind != "-" and line.new_no is not None:
        yield path, "RIGHT", line.new_no
    if line.kind != "+" and line.old_no is not None:
        yield path, "LEFT", line.old_no


def _redact_hunk(hunk: Hunk, secret_lines: set[SecretLine], tally: _Tally) -> Hunk:
    bare = _allows_bare_values(hunk.path)
    in_block, blocks = _side_blocks(hunk.lines, _is_key_file(hunk.path))
    tally.secrets += blocks
    lines: list[Line] = []
    for i, line in enumerate(hunk.lines):
        before = tally.secrets
        text = _redact_key_line(line.text) if i in in_block else _redact_line(line.text, bare, tally)
        if i in in_block or tally.secrets > before:
            secret_lines.update(_line_places(hunk.path, line))
        lines.append(line if text == line.text else replace(line, text=text))
    header = hunk.header
    parts = header.split("@@", 2)
    if len(parts) == 3 and not parts[0]:  # the section text after the header is file content
        header = "@@".join((parts[0], parts[1], _redact_line(parts[2], bare, tally)))
    if header == hunk.header and all(a is b for a, b in zip(lines, hunk.lines, strict=True)):
        return hunk
    return replace(hunk, lines=tuple(lines), header=header)


def _redact_file(file: FileDiff, secret_lines: set[SecretLine], tally: _Tally) -> FileDiff:
    hunks = tuple(_redact_hunk(h, secret_lines, tally) for h in file.hunks)
    if all(a is b for a, b in zip(hunks, file.hunks, strict=True)):
        return file
    return replace(file, hunks=hunks)


def redact_input(review_input: ReviewInput, enabled: bool) -> RedactedInput:
    """Credentials in hunks, hunk headers, PR title and body -> placeholders (no-op when disabled)."""
    if not enabled:
        return RedactedInput(review_input=review_input, secret_lines=frozenset(), count=0)
    tally = _Tally()
    secret_lines: set[SecretLine] = set()
    files = tuple(_redact_file(f, secret_lines, tally) for f in review_input.diff.files)
    info = review_input.info
    title, title_secrets, title_emails = redact_text(info.title)
    body, body_secrets, body_emails = redact_text(info.body)
    redacted = replace(review_input, info=replace(info, title=title, body=body),
                       diff=replace(review_input.diff, files=files))
    return RedactedInput(review_input=redacted, secret_lines=frozenset(secret_lines),
                         count=tally.secrets + title_secrets + body_secrets,
                         emails=tally.emails + title_emails + body_emails)


def mark_secret_findings(findings: Sequence[Finding], secret_lines: frozenset[SecretLine]) -> tuple[Finding, ...]:
    """Findings touching a redacted line say so (without the value); fingerprints stay as they were."""
    if not secret_lines:
        return tuple(findings)
    marked: list[Finding] = []
    for finding in findings:
        first = finding.start_line if finding.start_line is not None else finding.line
        touched = any((finding.path, finding.side, n) in secret_lines for n in range(first, finding.line + 1))
        if touched and SECRET_NOTE not in finding.message:
            finding = replace(finding, message=finding.message + SECRET_NOTE)
        marked.append(finding)
    return tuple(marked)
