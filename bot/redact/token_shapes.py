"""Credentials recognisable by their own shape, wherever they stand: a call argument, a header, prose.

The prefixes and lengths are the providers' published token formats (the facts gitleaks' rule
set also records); the patterns are written here. All of them form one alternation, SHAPED,
run on the lines where the screens of `bot.redact.screens` found one of its NEEDLES (the fixed
start of each rule). A match whose random part is plainly a placeholder (`xxxx`, `EXAMPLE`,
counting, repeated characters) or plain words (`hf_requiredCharacteristic...`) is left alone:
gitleaks' own negative tests are full of those.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.redact.patterns import PLACEHOLDER, bounded, looks_secret

# (first character, the rest): the lookbehind goes between them (see _alternation). Every run is
# bounded, at LONGEST (see bot.redact.patterns) where a format has no bound of its own: see LONGEST for why.
# `_B`: a character that may not come right before a token (it would be inside a longer word,
# a dotted name or a file name: `video_box.ico-7a38...png` is no Infracost token).
_B = r"[A-Za-z0-9_.-]"
_RULES: tuple[tuple[str, str], ...] = (
    # OpenAI: the legacy and project keys carry "T3BlbkFJ" (base64 of "OpenAI") in the middle.
    # (The marker is looked for ahead, then the key taken as one run: two runs around it would
    # compete for the same characters.)
    ("s", r"k-(?:(?:proj|svcacct|admin)-)?(?=[A-Za-z0-9_-]{16,LONGEST}T3BlbkFJ[A-Za-z0-9_-]{16})"
          r"[A-Za-z0-9_-]{40,LONGEST}"),
    ("s", r"k-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,LONGEST}"),
    ("s", r"k-ant-(?:api|admin|oat|ort)\d\d-[A-Za-z0-9_-]{93}AA(?![A-Za-z0-9_-])"),
    # Stripe secret and restricted keys, and other `sk_`/`rk_` live keys.
    ("s", r"k_(?:live|test|prod)_[A-Za-z0-9]{10,99}(?![A-Za-z0-9])"),
    ("r", r"k_(?:live|test|prod)_[A-Za-z0-9]{10,99}(?![A-Za-z0-9])"),
    # GitLab: personal, deploy, pipeline trigger, runner, CI job, feature flag, feed, mail, SCIM,
    # agent, OAuth application tokens; routable forms carry a `.` and a short suffix.
    ("g", r"l(?:pat|dt|ptt|rt|cbt|ffct|ft|imt|soat|agent|oas)-[A-Za-z0-9_-]{20,LONGEST}(?:\.[A-Za-z0-9]{2,LONGEST})?"),
    ("G", r"R1348941[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])"),
    ("_", r"gitlab_session=[0-9a-z]{32}"),
    # Grafana: cloud and service-account tokens, API keys (base64 of `{"k":"`).
    ("g", r"lc_[A-Za-z0-9+/]{32,400}={0,2}"),
    ("g", r"lsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
    ("e", r"yJrIjoi[A-Za-z0-9]{70,400}={0,2}"),
    # Google API keys and OAuth access tokens.
    ("A", r"Iza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])"),
    ("y", r"a29\.[A-Za-z0-9_-]{30,LONGEST}"),
    # npm, PyPI (a macaroon whose first bytes say "pypi.org"), RubyGems, Clojars, NuGet-like registries.
    ("n", r"pm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
    ("p", r"ypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,LONGEST}"),
    ("r", r"ubygems_[a-f0-9]{48}(?![a-f0-9])"),
    ("C", r"LOJARS_[a-z0-9]{60}(?![a-z0-9])"),
    # Slack: bot, user, legacy, workspace and refresh tokens start with digits after the prefix
    # (so `xoxo-indieweb` is no token); app and configuration tokens have their own layout.
    ("x", r"ox[bp]-\d{8,14}-[A-Za-z0-9-]{10,LONGEST}"),
    ("x", r"ox[os]-\d{1,64}-\d{1,64}-\d{1,64}-[A-Fa-f0-9]{1,LONGEST}"),
    ("x", r"ox[ar]-(?:\d-)?[A-Za-z0-9]{8,48}(?![A-Za-z0-9])"),
    ("x", r"oxe(?:\.xox[bp])?-\d-[A-Za-z0-9]{100,LONGEST}"),
    ("x", r"app-\d-[A-Z0-9]{1,64}-\d{1,64}-[a-z0-9]{1,LONGEST}"),
    # SendGrid, Twilio, Sendinblue, Mailgun, Mailchimp-like mail services.
    ("S", r"G\.[A-Za-z0-9=_.-]{66}(?![A-Za-z0-9=_.-])"),
    ("S", r"K[0-9a-fA-F]{32}(?![A-Za-z0-9])"),
    ("x", r"keysib-[a-f0-9]{64}-[A-Za-z0-9]{16}"),
    # DigitalOcean, Shopify, Databricks, Doppler, Dynatrace, Pulumi, Prefect, Postman, Linear.
    ("d", r"o(?:o|p|r)_v1_[a-f0-9]{64}(?![a-f0-9])"),
    ("s", r"hp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9])"),
    ("d", r"api[a-f0-9]{32}(?:-\d)?(?![A-Za-z0-9])"),
    ("d", r"p\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}"),
    ("d", r"t0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}"),
    ("p", r"ul-[a-f0-9]{40}(?![a-f0-9])"),
    ("p", r"nu_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
    ("P", r"MAK-[a-f0-9]{24}-[a-f0-9]{34}"),
    ("l", r"in_api_[A-Za-z0-9]{40}(?![A-Za-z0-9])"),
    # HashiCorp Vault service and batch tokens, Terraform Cloud tokens.
    ("h", r"vs\.[A-Za-z0-9_-]{90,120}"),
    ("h", r"vb\.[A-Za-z0-9_-]{138,300}"),
    ("a", r"(?<=[A-Za-z0-9]{14}\.a)tlasv1\.[A-Za-z0-9_=-]{60,70}"),  # its 14-character head: see ATLAS_HEAD
    # Sentry user and organisation tokens, 1Password service-account tokens and secret keys.
    ("s", r"ntryu_[a-f0-9]{64}(?![a-f0-9])"),
    ("s", r"ntrys_eyJ[A-Za-z0-9+/]{60,LONGEST}={0,2}_[A-Za-z0-9+/]{43}(?![A-Za-z0-9+/])"),
    ("o", r"ps_eyJ[A-Za-z0-9+/]{250,LONGEST}={0,3}"),
    ("A", r"3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}"),
    # Hugging Face user tokens (mixed case, so long snake_case names stay out) and organisation
    # tokens; age secret keys (bech32).
    ("h", r"f_(?=[A-Z0-9]{0,LONGEST}[a-z])(?=[a-z0-9]{0,LONGEST}[A-Z])[A-Za-z0-9]{30,LONGEST}(?![A-Za-z0-9_])"),
    ("A", r"GE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    ("a", r"pi_org_[A-Za-z]{34}(?![A-Za-z0-9])"),
    # A Docker registry config (`.dockerconfigjson`, `~/.docker/config.json`) in base64, as a
    # Kubernetes Secret holds it: the base64 of `{"auths":`, compact or indented. Its `auth`
    # entries are user:password or user:token.
    ("e", r"(?:yJhdXRocyI6|yAiYXV0aHMi|wogICJhdXRocyI6|wogICAgImF1dGhz|woJImF1dGhz|w0KICAiYXV0aHMi)"
          r"[A-Za-z0-9+/]{16,LONGEST}={0,2}"),
    # Azure AD client secrets: three characters, a digit, "Q~", then 31-34 more.
    ("Q", r"(?<=[A-Za-z0-9_~.]{3}\dQ)~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])"),
    # Others with a distinctive prefix: PlanetScale, Perplexity, Square, Notion, New Relic,
    # Heroku, EasyPost, Flutterwave, Fly.io, Readme, Shippo, SettleMint, Sourcegraph, Typeform,
    # Infracost, Duffel, Defined Networking, Frame.io, Scalingo, Octopus Deploy, Amazon Bedrock,
    # Artifactory, OpenShift, Cloudflare origin CA, Mapbox, Alibaba, Intra42, Authress, Mailgun.
    ("p", r"scale_(?:tkn|oauth|pw)_[A-Za-z0-9_=.-]{32,64}"),
    ("p", r"plx-[A-Za-z0-9]{48}(?![A-Za-z0-9])"),
    ("s", r"q0(?:atp|csp)-[A-Za-z0-9_-]{22,43}"),
    ("n", r"tn_[0-9]{11}[A-Za-z0-9]{35}(?![A-Za-z0-9])"),
    ("N", r"R(?:AK|II|JS)-[A-Za-z0-9]{19,32}(?![A-Za-z0-9])"),
    ("H", r"RKU-AA[A-Za-z0-9_-]{58}"),
    ("E", r"Z(?:AK|TK)[A-Za-z0-9]{54}(?![A-Za-z0-9])"),
    ("F", r"LW(?:SECK|PUBK)_TEST-[a-h0-9]{12,32}(?:-X)?"),
    ("f", r"o1_[A-Za-z0-9_]{43}(?![A-Za-z0-9_])"),
    ("r", r"dme_[a-z0-9]{70}(?![a-z0-9])"),
    ("s", r"hippo_(?:live|test)_[a-f0-9]{40}(?![a-f0-9])"),
    ("s", r"m_(?:aat|pat|sat)_[a-z0-9]{16}(?![a-z0-9])"),
    ("s", r"gp_(?:[a-fA-F0-9]{16}_)?[a-fA-F0-9]{40}(?![a-fA-F0-9])"),
    ("t", r"fp_[A-Za-z0-9_=.-]{59}(?![A-Za-z0-9_=.-])"),
    ("i", r"co-[A-Za-z0-9]{32}(?![A-Za-z0-9])"),
    ("d", r"uffel_(?:test|live)_[A-Za-z0-9_=-]{43}"),
    ("d", r"nkey-[A-Za-z0-9_=-]{26}-[A-Za-z0-9_=-]{52}"),
    ("f", r"io-u-[A-Za-z0-9_=-]{64}(?![A-Za-z0-9_=-])"),
    ("t", r"k-us-[A-Za-z0-9_-]{48}(?![A-Za-z0-9_-])"),
    ("A", r"PI-[A-Z0-9]{26}(?![A-Z0-9])"),
    ("A", r"BSK[A-Za-z0-9+/]{109,269}={0,2}"),
    ("b", r"edrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=]{0,LONGEST}"),
    ("A", r"KCp[A-Za-z0-9]{69}(?![A-Za-z0-9])"),
    ("c", r"mVmdGtu[A-Za-z0-9]{57}(?![A-Za-z0-9])"),
    ("s", r"ha256~[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
    ("v", r"1\.0-[a-f0-9]{24}-[a-f0-9]{146}"),
    ("p", r"k\.eyJ[A-Za-z0-9_-]{20,LONGEST}\.[A-Za-z0-9_-]{20,LONGEST}"),
    ("s", r"k\.eyJ[A-Za-z0-9_-]{20,LONGEST}\.[A-Za-z0-9_-]{20,LONGEST}"),
    ("L", r"TAI[A-Za-z0-9]{20}(?![A-Za-z0-9])"),
    ("s", r"-s4t2(?:ud|af)-[a-f0-9]{64}(?![a-f0-9])"),
    ("s", r"c_[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.acc[_-][a-z0-9-]{10,32}\.[A-Za-z0-9+/_=-]{30,120}"),
    ("k", r"ey-[a-f0-9]{32}(?![a-f0-9])"),
    ("p", r"ubkey-[a-f0-9]{32}(?![a-f0-9])"),
)
# An HTTP authorization scheme, then the credential itself: whatever follows `Bearer ` is one.
BEARER = re.compile(bounded(r"[Bb](?<![A-Za-z0-9_][Bb])(?:earer|asic)\s{1,GAP}"
                            r"(?P<value>[A-Za-z0-9._~+/=:-]{8,LONGEST})"))
# A string literal that is a call's argument (`Client("...")`, `f(a, '...')`): where no name says
# what a value is, a random-looking literal handed to a call is the likeliest credential.
# The quote comes first and the lookbehinds after it, for the same reason as in TOKENS.
# Its characters are those of tokens and passwords: no brackets, commas or spaces, which code has.
ARGUMENT_CHARACTER = r"[A-Za-z0-9_\-+/=.~:@!#$%&*^|]"  # (the screens of bot.redact.screens use it too)
LITERAL_ARG = re.compile(bounded(
    r"""(?P<q>["'])(?:(?<=[(,]["'])|(?<=[(,] ["']))(?P<value>""" + ARGUMENT_CHARACTER + r"""{12,LONGEST})(?P=q)"""
    r"""(?=\s{0,GAP}[),])"""))


def _alternation(rules: tuple[tuple[str, str], ...]) -> str:
    """One branch per first character, its lookbehind once, then that character's rules.

    `re` tries the branches of an alternation one by one at every place where one may start:
    grouped, a place tries only the rules of its own first character, and most places (an `s`
    inside a word) fail at the shared lookbehind. A rule whose rest starts with its own
    lookbehind (Azure: the character before "Q~" is a digit) keeps it instead.
    """
    groups: dict[str, list[str]] = {}
    own: list[str] = []
    for first, rest in rules:
        if rest.startswith("(?<"):
            own.append(re.escape(first) + rest)
        else:
            groups.setdefault(first, []).append(rest)
    shared = [f"{re.escape(first)}(?<!{_B}{re.escape(first)})(?:{'|'.join(rests)})" for first, rests in groups.items()]
    return "|".join(shared + own)


SHAPED = re.compile(bounded(_alternation(_RULES)))
# In code, a token shape counts at the start of a string literal only: unquoted, it would be an
# identifier or part of an expression (and scanning all code for shapes costs, see secret_screens).
QUOTED_SHAPED = re.compile(r"""(?<=["'`])(?:""" + SHAPED.pattern + ")")
_LITERAL_HEAD = re.compile(r"(?:[A-Za-z0-9_~ -]|\\\.)+")
_GROUP = re.compile(r"\(\?:([A-Za-z0-9_|-]+)\)")


def _needles(first: str, rest: str) -> list[str]:
    """The fixed start of a rule's token, lowered (a `(?:a|b)` of plain words expands to each)."""
    if rest.startswith("(?<"):  # its own lookbehind: skip to the end of it
        depth, end = 0, 0
        while end == 0 or depth:
            depth += (rest[end] == "(") - (rest[end] == ")")
            end += 1
        rest = rest[end:]
    head = _LITERAL_HEAD.match(rest)
    prefix = first + (head.group(0).replace("\\.", ".") if head else "")
    rest = rest[head.end():] if head else rest
    group = _GROUP.match(rest)
    if group is None:
        return [prefix.lower()]
    tail = _LITERAL_HEAD.match(rest, group.end())
    after = tail.group(0).replace("\\.", ".") if tail else ""
    return [(prefix + word + after).lower() for word in group.group(1).split("|")]


# What SHAPED's matches start with, lowered: the screens of bot.redact.screens look for these.
NEEDLES = tuple(sorted({n for first, rest in _RULES for n in _needles(first, rest)}))


def _needle_alternation(needles: tuple[str, ...]) -> str:
    """One branch per first character (so `re` skips, in C, the places where none can start)."""
    groups: dict[str, set[str]] = {}
    for needle in needles:
        groups.setdefault(needle[0], set()).add(re.escape(needle[1:]))
    return "|".join(re.escape(first) + "(?:" + "|".join(sorted(rests, key=len)) + ")"
                    for first, rests in sorted(groups.items()))


# The needles of the rules with a lookbehind of their own (looked for with `in`), and the others:
# those start where the character before is none of _B (or at the text's start), as SHAPED has it.
_OWN_NEEDLES = tuple(sorted({n for first, rest in _RULES if rest.startswith("(?<") for n in _needles(first, rest)}))
_BOUNDED_NEEDLES = tuple(n for n in NEEDLES if n not in _OWN_NEEDLES)
_NEEDLE_FIRSTS = "".join(sorted({re.escape(n[0]) for n in _BOUNDED_NEEDLES}))
SHAPED_NEEDLE = re.compile(_needle_alternation(NEEDLES))  # (anywhere: for text that is not ASCII)
_NEEDLE_AT_START = re.compile(_needle_alternation(_BOUNDED_NEEDLES))
# After a character that is none of _B: the class first, then a lookahead for the needles' first
# characters, so `re` skips in C to such places and most of them fail at once (a line of `a`s or
# `=`s cost 40-70 ns a character with the needles alone).
_NEEDLE_AFTER_BOUNDARY = re.compile(r"[^a-z0-9_.-](?=[" + _NEEDLE_FIRSTS + "])(?:"
                                    + _needle_alternation(_BOUNDED_NEEDLES) + ")")


def has_shaped_needle(text: str, lowered: str) -> bool:
    """Whether SHAPED (or QUOTED_SHAPED) can match `text` at all: one of its needles, lowered, at a
    place a rule may start. (`lowered` is `text.lower()`; where `text` is not ASCII, lowering can
    change what is a boundary, `K` being a `k`: there any needle anywhere counts.)"""
    if not text.isascii():
        return SHAPED_NEEDLE.search(lowered) is not None
    return any(needle in lowered for needle in _OWN_NEEDLES) or _NEEDLE_AT_START.match(lowered) is not None \
        or _NEEDLE_AFTER_BOUNDARY.search(lowered) is not None
ATLAS_HEAD = re.compile(r"[A-Za-z0-9]{14}\.(?=<KEY>)")  # Terraform's `<14 characters>.atlasv1.<rest>`
_WORD = re.compile(r"[A-Z]?[a-z]{2,256}")  # (joined again: a longer word is two)


@lru_cache(maxsize=1024)  # a hostile line repeats one token thousands of times
def plain_token(value: str) -> bool:
    """Whether a token-shaped match is a placeholder or words rather than a credential."""
    if PLACEHOLDER.search(value):
        return True
    body = value.split("_", 1)[-1] if value.startswith("hf_") else ""
    # `hf_requiredCharacteristicTypes...`: a camelCase identifier made of words, not a token.
    return bool(body) and "".join(_WORD.findall(body)) == body


_NOT_CREDENTIAL = re.compile(r"\.[A-Za-z]{1,4}$|%[0-9A-Fa-f]{2}|\*\.|\.\*")  # a file name, URL-encoded text, a glob


def literal_credential(value: str) -> bool:
    """A value after `Bearer ` or handed to a call: random-looking, not a file name, placeholder or words."""
    return not _NOT_CREDENTIAL.search(value) and not plain_token(value) and looks_secret(value)
