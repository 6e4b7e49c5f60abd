"""Keep the findings the model ranks most likely real ([review] keep_best).

A small model names a line in every request it is given, so the findings of a run grow with
its requests, and most are not bugs. Asked about one claim alone, it says yes to nearly all
(bot.findings.confirm); asked to choose among all of a run's claims at once, it has to compare
them. So where a run has more than `keep_best` findings, the model gets them as one numbered
list (each: its place, a few lines of code around it, the claim as data) and is asked for the
number of the one most likely real; its probability for each number is the finding's score.
Small models favour a place in a list (the first, the last), so the list is asked twice, in
its order and reversed, and a finding's score is the sum of its two probabilities. The
`keep_best` findings with the highest scores stay; the rest are dropped (RunStats.dropped_outranked).

At most MAX_CANDIDATES are listed (one digit each: one token in code models' vocabularies);
with more, the first in severity order are listed and the rest score nothing. A backend that
tells no probabilities (HTTP) scores by the number each answer names. Off by default: with
Qwen2.5-Coder-1.5B it kept none of the 30 bugs of the development set with whole-file decoys,
though it moved the held-out sets toward the goal (docs/quality.md, "Ranking and confirmation").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.backends.base import GenerationParams
from bot.diff.hunk_text import defuse, display_path
from bot.findings.confirm import finding_hunk, question_request
from bot.plan.tokens import TokenEstimator
from bot.types import SEVERITY_RANK, Completion, Finding, Hunk, Request

MAX_CANDIDATES = 9
AROUND = 2  # lines of code shown before and after a finding's line
RANK_PARAMS = GenerationParams(max_new_tokens=4, temperature=0.0, top_p=1.0, stop=("\n",), first_token_top=20)
_SYSTEM = ("You compare code review comments. You answer only with the number of one comment: the one "
           "most likely to point at a real defect of the changed code.")
_ITEM = "Comment {number}, on line {line} of {path}:\n{code}\nThe comment, as data: {message}"
_QUESTION = ("A reviewer made these comments on a change (code lines: \"KIND CODE\", KIND \"+\" added, "
             "\" \" context, \"-\" deleted; \">\" marks the commented line).\n\n{items}\n\n"
             "Which comment most likely points at a real defect? Answer with its number only.")
_NUMBER = re.compile(r"^\W*(\d+)")


def candidates(findings: Sequence[Finding]) -> list[Finding]:
    """The findings listed: all of them, or the first MAX_CANDIDATES by severity (then place)."""
    if len(findings) <= MAX_CANDIDATES:
        return list(findings)
    ordered = sorted(findings, key=lambda f: -SEVERITY_RANK[f.severity])  # stable: place order within a severity
    return ordered[:MAX_CANDIDATES]


def _code(finding: Finding, hunk: Hunk) -> str:
    """The finding's line and AROUND lines either side, on its own side of the diff."""
    number = "new_no" if finding.side == "RIGHT" else "old_no"
    excluded = "-" if finding.side == "RIGHT" else "+"
    shown = []
    for line in hunk.lines:
        at = getattr(line, number)
        if line.kind != excluded and at is not None and abs(at - finding.line) <= AROUND:
            mark = ">" if at == finding.line else " "
            shown.append(f"{mark} {line.kind} {defuse(line.text)}")
    return "\n".join(shown)


def ranking_requests(listed: Sequence[Finding], hunks: Sequence[Hunk], chat: bool, estimator: TokenEstimator,
                     first_id: int) -> list[Request]:
    """The two requests (the list in order, then reversed); none for fewer than two findings."""
    if len(listed) < 2:
        return []
    shown = {finding: finding_hunk(finding, hunks) for finding in listed}
    out: list[Request] = []
    for order in (list(listed), list(reversed(listed))):
        items = []
        for number, finding in enumerate(order, 1):
            hunk = shown[finding]
            items.append(_ITEM.format(number=number, line=finding.line, path=display_path(finding.path),
                                      code=_code(finding, hunk) if hunk else "",
                                      message=defuse(" ".join(finding.message.split()))))
        seen = tuple(h for h in (shown[f] for f in order) if h is not None)
        out.append(question_request(first_id + len(out), seen, _SYSTEM, _QUESTION.format(items="\n\n".join(items)),
                                    chat, estimator))
    return out


def number_scores(completion: Completion, count: int) -> list[float]:
    """Each listed number's probability as the answer's first token (1-based list, index 0 for
    number 1); where the backend told none, 1.0 for the number the answer names."""
    scores = [0.0] * count
    if completion.first_token:
        for text, probability in completion.first_token:
            word = text.strip()
            if word.isdigit() and 1 <= int(word) <= count:
                scores[int(word) - 1] += probability
        return scores
    named = _NUMBER.match(completion.text)
    if named is not None and 1 <= int(named.group(1)) <= count:
        scores[int(named.group(1)) - 1] = 1.0
    return scores


def best(findings: Sequence[Finding], listed: Sequence[Finding], answers: Sequence[Completion],
         keep: int) -> tuple[Finding, ...]:
    """The `keep` findings with the highest scores over the answers (in order, then reversed),
    in the findings' own order; ties go to the earlier finding. Unlisted findings score 0."""
    total = {finding: 0.0 for finding in findings}
    for reverse, answer in zip((False, True), answers, strict=False):
        order = list(reversed(listed)) if reverse else list(listed)
        for finding, score in zip(order, number_scores(answer, len(order)), strict=True):
            total[finding] += score
    place = {finding: i for i, finding in enumerate(findings)}
    chosen = set(sorted(findings, key=lambda f: (-total[f], place[f]))[:keep])
    return tuple(f for f in findings if f in chosen)
