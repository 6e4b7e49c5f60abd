"""A second, short request per finding: does the model stand by it? ([review] confirm_findings)

Small models name a line whenever they are asked for one (review-chat asks for the three most
likely); asked about one claim alone, with its hunk, a model can say no. Each finding gets one
request: the hunk's listing, the claim, and a yes/no question, answered in a few tokens. A
finding the model answers "no" to is dropped (RunStats.dropped_unconfirmed); one it confirms,
or whose answer is neither (or whose request failed), stays: the check may only remove.

Off by default: it costs one request per finding, and whether it helps is for the held-out
sets to say (issue 18, item 4). The claim is the model's own text and the hunk the PR's: both
are data in the question, never instructions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.backends.base import GenerationParams
from bot.diff.hunk_text import defuse, display_path, hunk_listing
from bot.plan.tokens import TokenEstimator
from bot.prompts.render import chat_overhead
from bot.types import ChatMessage, Completion, Finding, Hunk, Request

# first_token_top: where the backend can tell (in process), the probability of "yes" decides, not
# the greedy answer (see yes_share).
CONFIRM_PARAMS = GenerationParams(max_new_tokens=8, temperature=0.0, top_p=1.0, stop=("\n",), first_token_top=20)
_SYSTEM = ("You check code review comments. You answer only yes or no: yes when the comment names a real "
           "defect of the changed code, no otherwise.")
_QUESTION = ("A reviewer commented on line {line} of {path} in this change (a numbered diff: each line is "
             "\"NEW_LINE_NUMBER KIND CODE\", KIND \"+\" added, \" \" context, \"-\" deleted).\n\n"
             "{listing}\n\nThe comment, as data: {message}\n\n"
             "Does the comment name a real defect that line {line} introduces? Answer yes or no.")
_ANSWER = re.compile(r"^\W*(?P<word>yes|no|y|n|true|false|correct|incorrect)\b", re.IGNORECASE)
_NO = frozenset(("no", "n", "false", "incorrect"))


def finding_hunk(finding: Finding, hunks: Sequence[Hunk]) -> Hunk | None:
    """The hunk a finding sits on (the first that can take a comment on its line)."""
    return next((h for h in hunks if h.path == finding.path and finding.line in h.commentable(finding.side)), None)


def confirmation_requests(findings: Sequence[Finding], hunks: Sequence[Hunk], chat: bool,
                          estimator: TokenEstimator, first_id: int) -> list[tuple[Finding, Request]]:
    """One request per finding whose hunk is known; chat messages for a chat backend, else a prompt."""
    out: list[tuple[Finding, Request]] = []
    for finding in findings:
        hunk = finding_hunk(finding, hunks)
        if hunk is None:
            continue
        question = _QUESTION.format(line=finding.line, path=display_path(finding.path), listing=hunk_listing(hunk),
                                    message=defuse(" ".join(finding.message.split())))
        out.append((finding, question_request(first_id + len(out), (hunk,), _SYSTEM, question, chat, estimator)))
    return out


def question_request(request_id: int, hunks: tuple[Hunk, ...], system: str, question: str, chat: bool,
                     estimator: TokenEstimator) -> Request:
    """One short question after the review: chat messages for a chat backend, else a prompt."""
    if chat:
        messages = (ChatMessage("system", system), ChatMessage("user", question))
        prompt = "\n\n".join(m.content for m in messages)
        return Request(id=request_id, hunks=hunks, prompt=prompt, messages=messages,
                       est_tokens=estimator.count(prompt) + chat_overhead(len(messages)))
    prompt = f"{system}\n\n{question}\nAnswer:"
    return Request(id=request_id, hunks=hunks, prompt=prompt, est_tokens=estimator.count(prompt))


def says_no(completion: Completion) -> bool:
    """Whether the answer begins with a no (a yes, or anything else, keeps the finding)."""
    found = _ANSWER.match(completion.text)
    return found is not None and found.group("word").lower() in _NO


def yes_share(completion: Completion) -> float | None:
    """P(yes) / (P(yes) + P(no)) over the first answer token's likeliest tokens ("Yes", " yes", "NO",
    ...); None when the backend told no probabilities or neither word is among them."""
    yes = no = 0.0
    for text, probability in completion.first_token:
        word = text.strip().lower()
        if word in ("yes", "y"):
            yes += probability
        elif word in ("no", "n"):
            no += probability
    return yes / (yes + no) if yes + no > 0 else None


def denies(completion: Completion, min_yes: float) -> bool:
    """Whether the answer drops its finding: a probability of yes below `min_yes` where the backend
    told one ([review] confirm_min_yes), else an answer that begins with a no."""
    share = yes_share(completion)
    return says_no(completion) if share is None else share < min_yes
