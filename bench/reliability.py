"""`python -m bench.reliability [--quick] [--fuzz N] [--credentials]`: faults, bad inputs, secrets, injection.

Run from the repository root (the scenarios live in `tests/reliability/` and use the loopback
servers of `tests/servers/`). Details come first, then exactly five summary lines:

    faults: N scenarios, N survived, findings lost 0, duplicates 0, unsafe renders 0
    bad inputs: N tried, N clear errors, 0 tracebacks
    secrets: N planted, 0 leaked
    injection: N attempts, 0 effects
    credentials: named N%, bare N% (tuned/held out), fp N/374, jinja corpus 0 flagged, N lines/s (N x 50,000)

"credentials" scores the redactor on the labelled cases of ../shared/secrets/cases.jsonl
(issue 12: at least 98% of named and 90% of bare secrets never reach a prompt, at most 48 of
gitleaks' 374 negatives flagged, none of the jinja corpus, 50,000 diff lines a CPU second
parsed and redacted: printed as a ratio to that bound, and not part of the exit status, being a
timing); `--credentials` prints only that.

"faults" covers the model (every fault kind at the first, a middle and the last request, and
combined) and GitHub (rate limits, 5xx before and after the review landed, 422, 406, a
read-only token, a killed run re-run). Bad inputs that are not errors (a damaged diff that is
still a diff, or whose broken files are skipped and listed) count as tried, not as errors.
Exit 0 when every target is met, 1 otherwise. `--quick` runs what the CI tests run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.reliability import bad_inputs, faults_github, faults_model, injection, planted_secrets, secret_cases
from tests.reliability.harness import Tally, corpus_diff


def model_faults(folder: Path, quick: bool) -> Tally:
    scenarios = faults_model.sample() if quick else faults_model.matrix()
    tally, outcomes = faults_model.run_scenarios(folder, scenarios)
    changed = [o for o in outcomes if o.expected_lost or o.altered]
    tally.note(f"model faults: {tally['scenarios']} scenarios ({len(faults_model.KINDS)} kinds"
               f"{'' if quick else ' x first/middle/last'} + {len(faults_model.combined())} combined), "
               f"{tally['survived']} survived, lost {tally['lost']}, duplicates {tally['duplicates']}")
    tally.note(f"  answers changed by empty/length faults in {len(changed)} scenarios: {tally['expected_lost']} "
               f"findings of those requests missing (expected), {tally['altered']} kept with a message cut "
               "mid-sentence by `length`")
    return tally


def github_faults(quick: bool) -> Tally:
    tally = faults_github.run_scenarios(faults_github.hostile_responder, include_slow=not quick)
    tally.details = [f"  {line}" for line in tally.details]
    tally.note(f"GitHub faults: {tally['scenarios']} scenarios, {tally['survived']} survived, "
               f"lost {tally['lost']}, duplicates {tally['duplicates']}, "
               f"posted bodies rendering anything live {tally['unsafe_renders']}")
    return tally


def bad(folder: Path, fuzz: int) -> Tally:
    tally = Tally()
    parts = (("damaged diffs", lambda d: bad_inputs.fuzz_diffs(d, fuzz, cli_every=4)),
             ("broken configs", lambda d: bad_inputs.bad_configs(d, corpus_diff())),
             ("broken event payloads", bad_inputs.bad_events),
             ("bad files and flags", bad_inputs.bad_cli_inputs),
             ("a 3,000-file pull request", bad_inputs.big_pull_request))
    for name, part in parts:
        sub = folder / name.replace(" ", "-").replace(",", "")
        sub.mkdir(parents=True, exist_ok=True)
        got = part(sub)
        tally.merge(got)
        tally.note(f"bad inputs, {name}: {got['tried']} tried, {got['clear']} clear errors, "
                   f"{got['accepted']} accepted, {got['crash']} crashes")
    return tally


def credentials() -> tuple[list[str], str, bool]:
    """(detail lines, summary line, targets met) for the labelled credential cases."""
    if not secret_cases.CASES_FILE.is_file():
        return [], f"credentials: not measured, {secret_cases.CASES_FILE} not found", True
    tuned, held_out = secret_cases.split(secret_cases.load_cases())
    parts = {"tuned": secret_cases.score(tuned), "held out": secret_cases.score(held_out)}
    flagged, _ = secret_cases.corpus_flagged()
    rate, lines = secret_cases.throughput()
    fp = sum(p.caught["fp"] for p in parts.values())
    fp_total = sum(p.total["fp"] for p in parts.values())
    details = [f"  credentials, {name} split: " + p.line(name).split(": ", 1)[1] for name, p in parts.items()]
    details.append(f"  credentials: {sum(p.unscored for p in parts.values())} true positives have no value "
                   f"to look for; throughput over {lines:,} jinja diff lines, parsing included")
    recall = ", ".join(f"{group} {parts['tuned'].rate(group):.1%}/{parts['held out'].rate(group):.1%}"
                       for group in ("named", "bare"))
    summary = (f"credentials: {recall} (tuned/held out), fp {fp}/{fp_total}, jinja corpus {flagged} flagged, "
               f"{rate:,.0f} lines/s ({rate / secret_cases.MIN_LINES_PER_S:.2f} x {secret_cases.MIN_LINES_PER_S:,})")
    # Throughput is printed against its bound, not part of the exit status: it is a timing, and the
    # machines that run this share their cores (as `python -m bench` prints its goals).
    met = all(p.meets() for p in parts.values()) and fp <= secret_cases.MAX_FP and flagged == 0
    summary += ", goal met" if rate >= secret_cases.MIN_LINES_PER_S else ", throughput goal missed"
    return details, summary, met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="only what the CI tests run")
    parser.add_argument("--fuzz", type=int, default=400, metavar="N", help="damaged diffs to try (default 400)")
    parser.add_argument("--credentials", action="store_true", help="only the labelled credential cases")
    args = parser.parse_args(argv)
    if args.credentials:
        details, summary, met = credentials()
        print("\n".join([*details, summary]))
        return 0 if met else 1
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="review-bot-reliability-") as tmp:
        root = Path(tmp)
        parts: dict[str, Tally] = {}
        for name, make in (("model", lambda: model_faults(root / "model", args.quick)),
                           ("github", lambda: github_faults(args.quick)),
                           ("bad", lambda: bad(root / "bad", args.fuzz)),
                           ("secrets", lambda: planted_secrets.run_all(root / "secrets")),
                           ("injection", lambda: injection.run_all(root / "injection"))):
            (root / name).mkdir(parents=True, exist_ok=True)
            print(f"reliability: {name} ...", file=sys.stderr, flush=True)
            parts[name] = make()
    faults = Tally()
    faults.merge(parts["model"])
    faults.merge(parts["github"])
    for name in ("model", "github", "bad", "secrets", "injection"):
        for line in parts[name].details:
            print(line)
    print("reliability: credentials ...", file=sys.stderr, flush=True)
    details, summary, credentials_met = credentials()
    print("\n".join(details))
    print(f"({time.perf_counter() - started:.0f} s)")
    bad_t, secrets, inj = parts["bad"], parts["secrets"], parts["injection"]
    print(f"faults: {faults['scenarios']} scenarios, {faults['survived']} survived, "
          f"findings lost {faults['lost']}, duplicates {faults['duplicates']}, "
          f"unsafe renders {faults['unsafe_renders']}")
    print(f"bad inputs: {bad_t['tried']} tried, {bad_t['clear']} clear errors, {bad_t['crash']} tracebacks")
    print(f"secrets: {secrets['planted']} planted, {secrets['leaked']} leaked")
    print(f"injection: {inj['attempts']} attempts, {inj['effects']} effects")
    print(summary)
    met = (faults["survived"] == faults["scenarios"] and not faults["lost"] and not faults["duplicates"]
           and not faults["unsafe_renders"]
           and not bad_t["crash"] and not secrets["leaked"] and not inj["effects"] and credentials_met)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
