"""What a credential looks like: placeholders, patterns, and the tests of names and values.

`bot.redact.scrub` applies these to diffs and PR text; `bot.redact.token_shapes` has the credentials known
by their shape, and `bot.redact.screens` the cheap necessary conditions of all of them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from bot.redact.prefilter import prefiltered

KEY = "<KEY>"
PASSWORD = "<PASSWORD>"
EMAIL = "<EMAIL>"
MIN_SECRET_LEN = 8
MAX_ENTROPY_THRESHOLD = 3.0  # bits per character, reached at 16 characters (see entropy_threshold)
# Linear time (issue 16). A pull request's author writes the text these patterns read, so none of
# them may take more than linear time in it. Two rules, checked on every pattern of bot.redact by
# tests/test_redact_linear.py: every quantifier has an upper bound (so a match tried at one place
# reads a bounded stretch of text: `re` then does a bounded amount of work per place, and a
# search, a `sub` or a `finditer` over n characters is O(n)), and neighbouring quantifiers do not
# compete for the same characters (so that bound is the length read, not a power of it). A run
# that would need more than LONGEST characters (no credential is that long) is not matched, or
# matched up to there; spaces around an operator count up to GAP.
LONGEST = 8192
GAP = 256


def bounded(pattern: str) -> str:
    """`pattern` with its `{m,GAP}` and `{m,LONGEST}` quantifiers written out."""
    return pattern.replace(",GAP}", f",{GAP}}}").replace(",LONGEST}", f",{LONGEST}}}")


# ---------------------------------------------------------------- fixed-format credentials

KEY_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]{1,32} ){0,8}PRIVATE KEY(?: BLOCK)?-----")
KEY_END = re.compile(r"-----END (?:[A-Z0-9]{1,32} ){0,8}PRIVATE KEY(?: BLOCK)?-----")
# What stays around key material in a line: indentation, quotes and `\\n` escapes before it
# (MASK_LEAD), and after it (MASK_TRAIL, read backwards from the end of the segment: the
# reversed text of `(?:\\[nr])*(?:[\s"'`]+[\s"'`,+;)]*)?`, the longest such end). Punctuation
# after the material counts as syntax only behind a quote or a space (`"...\\n" +`), since `+`
# and `/` are base64 characters too.
MASK_LEAD = re.compile(bounded(r"""[\s"'`(]{0,GAP}(?:\\[nr]){0,GAP}"""))
MASK_TRAIL = re.compile(bounded(r"""(?:[\s"'`,+;)]{0,GAP}(?<=[\s"'`]))?(?:[nr]\\){0,GAP}"""))
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16}")  # (matched at a place: 16 is as good as more)
# A line of a PEM body (or its Proc-Type / DEK-Info headers), maybe quoted, maybe ending in \n.
# What may end such a line: quotes, spaces, `,;)` and `+` (not first: it is base64 too).
_PEM_END = r"""(?:\\n)?(?:[\s"'`,;)][\s"'`,+;)]{0,GAP})?$"""
PEM_BODY = re.compile(bounded(r"""^[\s"'`]{0,GAP}(?:[A-Za-z0-9+/]{4,LONGEST}={0,2}""" + _PEM_END
                              + r"""|(?:Proc-Type|DEK-Info):.{0,LONGEST}$)"""))  # (`.` takes what _PEM_END would)
PEM_WIDE = re.compile(bounded(r"""^(?=[^a-z]{0,LONGEST}[a-z])(?=[^A-Z]{0,LONGEST}[A-Z])[\s"'`]{0,GAP}"""
                              r"""[A-Za-z0-9+/]{60,80}={0,2}""" + _PEM_END))
PEM_LONG = re.compile(r"[A-Za-z0-9+/]{40}")  # (searched for: 40 is as good as more)
# Two full-width base64 lines in a row: the cheap test for a key body with neither marker in the hunk.
# Anchored at line starts (`re.M`): `re` then tries far fewer places than with a leading class.
# Spaces here are those of one line (`\\s` would run on over line ends, and `^` is tried at each).
PEM_PAIR = re.compile(bounded(r"""^[ \t\r\f\v"'`]{0,GAP}[A-Za-z0-9+/]{60,80}={0,2}(?:\\n)?"""
                              r"""(?:[ \t\r\f\v"'`,;)][ \t\r\f\v"'`,+;)]{0,GAP})?"""
                              r"""\n[ \t\r\f\v"'`]{0,GAP}[A-Za-z0-9+/]{60}"""),
                      re.M)
# PEM_PAIR's second line (a line end, what may stand before key material, 60 of it): a cheap
# necessary condition of a match, searched for first (bot.redact.keys.pem_pair).
_PEM_SECOND_LINE = bounded(r"""\n[ \t\r\f\v"'`]{0,GAP}[A-Za-z0-9+/]{60}""")
# RE2 scans for it first (bot.redact.prefilter): no lookaround, so the pattern is its own superset,
# and every hunk is searched (`re` tries the class at each line's start).
PEM_SECOND_LINE = prefiltered(re.compile(_PEM_SECOND_LINE), _PEM_SECOND_LINE, 0)
MIN_BARE_PEM_LINES = 2
PUBLIC_PEM_STARTS = ("mQ", "hQ")  # base64 of OpenPGP public-key and encrypted-message packets
KEY_FILE_SUFFIXES = (".key", ".p8", ".pk8", ".ppk", "_rsa", "_dsa", "_ecdsa", "_ed25519", ".pem.key")
KEY_FILE_PREFIXES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "private", "privkey")

# An AWS secret access key is 40 base64 characters after a name mentioning aws and secret (its
# words checked by a lookahead, then the name taken whole: see LONGEST). Its first `:` or `=` is at
# most AWS_BEFORE characters from its start, and it ends at most AWS_AFTER after that (the last
# lookahead's character included): bot.redact.line tries it only near the line's operators.
AWS_SECRET = re.compile(bounded(r"(?i)(aws(?=[\w.-]{0,30}?(?:secret|sk))(?=(?P<aws_name>[\w.-]{0,66}))(?P=aws_name)"
                                r"[\"']?\s{0,GAP}(?::=|=>|=|:)\s{0,GAP}[\"']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"))
AWS_BEFORE = 3 + 66 + 1 + GAP + 2
AWS_AFTER = 2 + GAP + 1 + 40 + 1 + 2
# (pattern, replacement, needles): a pattern can match only where one of its needles is in the
# lowered text, so the pattern runs only then.
TOKENS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    # Slack incoming webhooks: keep the host so the model still sees what the URL is.
    (re.compile(bounded(r"(https?://hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9_/+-]{8,LONGEST}")),
     r"\1" + KEY, ("hooks.slack.com/",)),
    (re.compile(bounded(r"(https?://[A-Za-z0-9-]{1,63}\.webhook\.office\.com/webhookb2/)[A-Za-z0-9_/@.+-]{8,LONGEST}")),
     r"\1" + KEY, (".webhook.office.com/",)),
    (re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"), KEY,
     ("akia", "asia", "abia", "acca")),
    (re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,251}|github_pat_[A-Za-z0-9_]{22,244})"
                r"(?![A-Za-z0-9_])"), KEY, ("gh", "github_pat_")),
    (re.compile(bounded(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,LONGEST}\.eyJ[A-Za-z0-9_-]{8,LONGEST}"
                        r"\.[A-Za-z0-9_-]{0,LONGEST}")), KEY, ("eyj",)),
    (AWS_SECRET, r"\1" + KEY, ("aws", "aw\u017f")),  # (?i) s matches ſ
)
# (The scheme starts a run of scheme characters, not at every word boundary inside one: `a.b.c…`.)
# Each pattern that starts with lookbehinds has a lookahead for its first character before them:
# `re` cannot skip to where such a pattern may start, but it fails there at one test (a line of
# `=` cost 100 ns a character in ASSIGNMENT's lookbehinds and groups, 10 with it: issue 16).
URL_CREDENTIALS = re.compile(r"(?i)(?=[a-z])(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{1,20}://[^\s/:@\"'<>,]{1,100}):([^\s/:@\"'<>,]{1,200})@")
EMAIL_ADDRESS = re.compile(
    r"(?=[A-Za-z0-9._%+-])(?<![\w.+%-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,16}\.[A-Za-z]{2,24}(?![\w-])")
NOT_EMAIL_USERS = frozenset({"git"})  # git@github.com:owner/repo is an SSH remote, not a person

# ---------------------------------------------------------------- name = value assignments

# `name = "value"` in any language: = := => : (JSON, YAML, PHP, Go, Ruby, shell, TOML, INI).
# The name starts a word (or follows `--`: a flag), and is taken whole by a lookahead; so is a type
# annotation, its trailing spaces with it (see LONGEST): neither is read again from each of its
# prefixes. Neither name nor annotation can hold the operator, so nothing else could match.
ASSIGNMENT = re.compile(bounded(
    r"""(?=["'A-Za-z_$@])(?<![\w.$])(?<![\w.$]-)(?P<nq>["']?)(?=(?P<name>[A-Za-z_$@][\w.$-]{0,80}))(?P=name)(?P=nq)\]?
        (?:\s{0,GAP}:\s{0,GAP}[A-Za-z_](?=(?P<annotation>[\w.\[\]|, ]{0,40}))(?P=annotation)
           (?=\s{0,GAP}(?:(?<=\s)=[^=]|=\s)))?  # a type annotation (`a: b=c` is a value)
        \s{0,GAP}(?::=|=>|(?<![=!<>:])=(?![=>~])|:(?![:=]))\s{0,GAP}
        (?:(?P<q>["'`])(?P<value>[^"'`\n]{1,LONGEST})(?P=q)|(?P<bare>[^\s"'`,;]{1,LONGEST}))"""),
    re.VERBOSE)
_PASSWORD_WORDS = ("password", "passwd", "passphrase")
_PASSWORD_EXACT = frozenset({"pwd", "pass", "pw"})
_KEY_WORDS = ("secret", "token", "apikey", "accesskey", "secretkey", "privatekey", "credentials",
              "credential", "dockerconfigjson", "dockercfg")  # (the last two: a registry login, base64)
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
_WORD_SPLIT = re.compile(r"[A-Z]{1,128}(?![a-z])|[A-Z]?[a-z]{1,128}|\d{1,128}")  # (names: at most 81 characters)

_PLACEHOLDER_WORDS = ("changeme", "change_me", "change-me", "example", "placeholder", "your_", "your-",
                      "yourtoken", "yourkey", "yourpassword", "dummy", "redacted", "xxxx", "****", "...",
                      "<", ">", "${", "$(", "{{", "{%", "%(", "%s", "{}", "{0}", "getenv", "environ",
                      "process.env", "env[", "env.", "secrets.", "vault:", "os.", "enc[")  # enc[: SOPS ciphertext
# Placeholders in any token's place: xxxx, EXAMPLE, stars, ellipses, <name>, counting and the
# alphabet, one character ten times over or three repeated four times.
PLACEHOLDER = re.compile(
    r"(?i)x{4}|example|\*{3}|\.{3}|<[a-z_]{1,64}>|abc123|123456789|abcdefgh|klmnopq|(.)\1{9}|(...)\2{3}")
_REFERENCE = re.compile(r"^(?:\$|%|@|&|\*|#|arn:|[a-z][a-z0-9+.-]{0,32}://|\.{0,2}/"
                        r"|[A-Z][A-Z0-9]{0,127}(?:_[A-Z0-9]{1,128}){1,64}$)")
FORMAT_FIELD = re.compile(r"\{[\w.\[\]'\"()!:<>^ -]{0,256}\}")  # f-string / str.format fields
# Words of at most 24 characters (see _is_wordish), at most 64 of them.
_WORDISH = re.compile(r"^[-_.:/]{0,16}[A-Za-z]{1,24}\d{0,24}(?:[-_.:/]{1,16}[A-Za-z]{1,24}\d{0,24}){0,64}"
                      r"[-_.:/]{0,16}$")
_SEPARATORS = re.compile(r"[-_.:/]{1,16}")
_CHUNK = re.compile(r"[A-Z]{1,24}(?![a-z])|[A-Z]?[a-z]{1,24}")
_TRAILING_DIGITS = re.compile(r"\d{1,24}$")
_HEX = re.compile(bounded(r"^[0-9a-f]{8,LONGEST}(?::[0-9a-f]{8,LONGEST})?$"
                          r"|^[0-9A-F]{8,LONGEST}(?::[0-9A-F]{8,LONGEST})?$"))
PROSE_SUFFIXES = frozenset({".md", ".markdown", ".rst", ".adoc", ".txt", ".html", ".htm"})
CONFIG_SUFFIXES = frozenset({".env", ".yml", ".yaml", ".ini", ".cfg", ".conf", ".properties", ".sh",
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
    segments = [s for s in _SEPARATORS.split(value) if s]
    if len(segments) == 1 and _TRAILING_DIGITS.search(segments[0]):
        return False
    return all(len(s) <= 24 and _is_word_segment(_TRAILING_DIGITS.sub("", s)) for s in segments)


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


def is_placeholder(value: str) -> bool:
    """A placeholder, a reference to a value kept elsewhere (`$X`, `os.environ`), or a template field."""
    lowered = value.lower()
    return any(word in lowered for word in _PLACEHOLDER_WORDS) or _REFERENCE.match(value) is not None \
        or FORMAT_FIELD.search(value) is not None


@lru_cache(maxsize=1024)  # a hostile line repeats one value thousands of times (`password = password = …`)
def looks_secret(value: str, min_len: int = MIN_SECRET_LEN) -> bool:
    """Whether a literal assigned to a secret-like name looks like a real credential."""
    if len(value) < min_len or any(c.isspace() for c in value) or is_placeholder(value):
        return False
    if _HEX.match(value):  # hex keys (`deadbeef`, `cafebabe:deadbeef`): few symbols, so little entropy
        return len(set(value)) >= 5
    if len(set(value)) <= 2 or _is_wordish(value):
        return False
    if value.isdigit():  # a numeric client id or secret: digits carry at most 3.3 bits each
        return len(value) >= 12 and len(set(value)) >= 6
    return shannon_entropy(value) >= entropy_threshold(len(value))


@lru_cache(maxsize=4096)  # a hostile line repeats one name thousands of times (`a: a: a: …`)
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


PRIVATE_KEY_MARK = "PRIVATE KEY"  # in both block markers (KEY_BEGIN, KEY_END)
