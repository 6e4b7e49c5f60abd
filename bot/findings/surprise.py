"""Keep the findings on the code the model least expected ([review] rank_by = "surprise").

A small model names a line in every request it is given, so most of a run's findings are not
bugs, and asked to choose among them it picks a place in the list (bot.findings.rank). A bug
is code that differs from what the surrounding code makes likely, and the model tells how
likely each token is without being asked anything: read as a text, the new side of a hunk
gives every token a surprise (its negative log-probability given the tokens before it). A
line's surprise is that of its most surprising token (one odd token, an operator or a name, is
what a one-line bug usually is). A finding scores the highest line surprise among the added
lines within RADIUS of its own; the `keep_best` findings with the highest scores stay.

The line measure, RADIUS and keep_best 1 at max_request_tokens 1024 were chosen on jinja with
whole-file decoys (the development set) by a rule fixed before any held-out run; docs/quality.md,
"Ranking by the model's surprise", says what each set showed.

The text scored is what the diff shows of the new side: a `# path` line, then the hunk's
context and added lines, each hunk read alone. A finding on no added line (a deleted line, a
context line far from any change) scores nothing. Cost: one read of each hunk that holds a
finding, no generation; in process only (an HTTP server tells no probabilities of a prompt).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from bot.findings.confirm import finding_hunk
from bot.types import Finding, Hunk

RADIUS = 1  # lines either side of a finding whose surprise counts for it

Surprisal = Callable[[str], Sequence[tuple[int, float]]]  # bot.backends.base.ScoresText.token_surprisal


def new_side(hunk: Hunk) -> tuple[str, list[tuple[int | None, bool]]]:
    """The text scored for a hunk, and per text line after the `# path` line: (new line number,
    whether the hunk adds it)."""
    rows = [(line.new_no, line.kind == "+", line.text) for line in hunk.lines if line.kind != "-"]
    text = f"# {hunk.path}\n" + "".join(t if t.endswith("\n") else t + "\n" for _, _, t in rows)
    return text, [(number, added) for number, added, _ in rows]


def line_surprise(hunk: Hunk, surprisal: Surprisal) -> dict[int, float]:
    """Each added, non-blank line's surprise, by its new line number."""
    text, rows = new_side(hunk)
    encoded = text.encode("utf-8")
    starts = [0] + [i + 1 for i, byte in enumerate(encoded) if byte == 0x0A]  # byte where each text line starts
    tokens: dict[int, list[float]] = {}
    for at, nats in surprisal(text):
        tokens.setdefault(bisect.bisect_right(starts, at) - 1, []).append(nats)
    scores: dict[int, float] = {}
    for index, (number, added) in enumerate(rows, 1):  # text line 0 is the `# path` line
        values = tokens.get(index)
        blank = not encoded[starts[index]:starts[index + 1]].strip()
        if added and number is not None and values and not blank:
            scores[number] = max(values)
    return scores


def finding_score(finding: Finding, scores: dict[int, float]) -> float | None:
    """The highest surprise of an added line within RADIUS of the finding (its range, for a range)."""
    if finding.side != "RIGHT":
        return None
    first = finding.line if finding.start_line is None else min(finding.start_line, finding.line)
    near = [scores[n] for n in range(first - RADIUS, max(first, finding.line) + RADIUS + 1) if n in scores]
    return max(near) if near else None


def most_surprising(findings: Sequence[Finding], hunks: Sequence[Hunk], surprisal: Surprisal,
                    keep: int) -> tuple[Finding, ...]:
    """The `keep` findings with the highest scores, in the findings' own order; ties (and findings
    that score nothing, last) go to the earlier finding. Each hunk holding a finding is read once."""
    scores: dict[tuple[str, int, int], dict[int, float]] = {}
    ranked: list[tuple[float, int, Finding]] = []
    for place, finding in enumerate(findings):
        # A deleted line has no new code to read: its hunk is not read for it.
        hunk = finding_hunk(finding, hunks) if finding.side == "RIGHT" else None
        score = None
        if hunk is not None:
            key = (hunk.path, hunk.new_start, hunk.old_start)
            if key not in scores:
                scores[key] = line_surprise(hunk, surprisal)
            score = finding_score(finding, scores[key])
        ranked.append((float("-inf") if score is None else score, place, finding))
    chosen = {finding for _, _, finding in sorted(ranked, key=lambda r: (-r[0], r[1]))[:keep]}
    return tuple(f for f in findings if f in chosen)
