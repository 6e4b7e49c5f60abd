"""GitHub faults: `review-bot review --repo o/r --pr 7` against the emulator while GitHub misbehaves.

The reference is a fault-free `review --dry-run --format json` of the same pull request.
"Lost" = reference fingerprints in no comment or review body the bot posted (when posting
failed for good, or the token is read-only, the findings must be on stdout instead);
"duplicates" = a fingerprint posted more than once over all the bot's reviews and comments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bot.github.markers import fingerprints_in
from tests.github_helpers import BOT_TOKEN, READ_TOKEN, REPO, add_corpus_pull, corpus_pr, emulator
from tests.reliability.harness import CliRun, Tally, fingerprints, planting_responder, run_cli
from tests.render_check import render_problems
from tests.servers.github_server import GitHubServer
from tests.servers.model_server import ModelServer

CASE = "483b62eec2"
REVIEWS = r"/pulls/7/reviews$"
Setup = Callable[[GitHubServer], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: Setup
    token: str = BOT_TOKEN
    expect_exit: int = 0
    rerun: bool = False  # run once more without faults (a re-run after a killed job)
    stdout_counts: bool = False  # the findings may be on stdout instead of posted
    reviews_nothing: bool = False  # GitHub refuses before there is anything to review: nothing to lose
    slow: bool = False  # real waits of several seconds (the sink's backoff): the bench runs it, CI tests don't


def _diff_limit(srv: GitHubServer) -> None:
    srv.diff_limit_lines = 10


def _diff_too_slow(srv: GitHubServer) -> None:
    srv.diff_too_slow = True


def _rate_limited_without_retry_after(srv: GitHubServer) -> None:
    # GitHub's rule would wait a minute, then two: the base config caps every wait at 1 s.
    srv.add_file(REPO, "main", ".github/review-bot.toml", "[budget]\nmax_wait_s = 1\n")
    srv.fail_secondary_rate_limit("GET", r"/pulls/7/comments$", retry_after=None, times=2)
    srv.fail_secondary_rate_limit("POST", REVIEWS, retry_after=None, times=2)


def _push_during_the_diff_read(srv: GitHubServer) -> None:
    # A push lands between the bot's read of the head and of the diff: it must review the new head.
    srv.after_next("GET", r"/pulls/7$", lambda s: s.push(REPO, 7, s.pull(REPO, 7).head.diff_text, "f" * 40),
                   accept="diff")


def _killed_after_post(srv: GitHubServer) -> None:
    # The review lands but its answer is lost, and the job dies before it can look (the
    # lookup is refused): the re-run must find its fingerprints and post nothing twice.
    srv.fail_next("POST", REVIEWS, 502, after_effect=True)
    srv.fail_next("GET", REVIEWS, 403, body={"message": "job cancelled"}, times=1)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("secondary rate limit on the review POST (403, Retry-After 1)",
             lambda s: s.fail_secondary_rate_limit("POST", REVIEWS, retry_after=1)),
    Scenario("secondary rate limit on a read (429, Retry-After 1)",
             lambda s: s.fail_secondary_rate_limit("GET", r"/pulls/7$", retry_after=1, status=429)),
    Scenario("secondary rate limits without Retry-After on a read and the POST (waits capped at 1 s)",
             _rate_limited_without_retry_after),
    Scenario("a push between reading the head and the diff", _push_during_the_diff_read),
    Scenario("502 before the review landed", lambda s: s.fail_next("POST", REVIEWS, 502)),
    Scenario("502 after the review landed", lambda s: s.fail_next("POST", REVIEWS, 502, after_effect=True)),
    Scenario("422 on one comment (Line could not be resolved)",
             lambda s: s.fail_next("POST", REVIEWS, 422, body={"message": "Unprocessable Entity",
                                                               "errors": ["Line could not be resolved"]})),
    Scenario("406 diff too large: /files fallback", _diff_limit),
    Scenario("422 diff taking too long to generate: /files fallback", _diff_too_slow),
    Scenario("read-only token (fork pull request)", lambda s: None, token=READ_TOKEN, stdout_counts=True),
    Scenario("primary rate limit exhausted, resets in 2 s",
             lambda s: s.fail_primary_rate_limit("GET", r"/pulls/7$", reset_in=2)),
    Scenario("run killed after the POST landed, then re-run", _killed_after_post, expect_exit=3, rerun=True),
    Scenario("primary rate limit exhausted, resets in an hour: exit 3 at once",
             lambda s: s.set_rate_limit(0, reset_in=3600), expect_exit=3, reviews_nothing=True),
    Scenario("posting fails for good (404 on the POST)",
             lambda s: s.fail_next("POST", REVIEWS, 404, times=10), expect_exit=3, stdout_counts=True),
    Scenario("posting fails for good (500 on every POST)",
             lambda s: s.fail_next("POST", REVIEWS, 500, times=10), expect_exit=3, stdout_counts=True, slow=True),
)


def _review(srv: GitHubServer, model: ModelServer, token: str, *extra: str) -> CliRun:
    env = {"PATH": "/usr/bin:/bin", "GITHUB_API_URL": srv.url, "GITHUB_TOKEN": token}
    return run_cli(["review", "--repo", REPO, "--pr", "7", "--api", "hf",
                    "--endpoint", model.url, "--min-severity", "info",
                    "--rpm", "60000", "--format", "json", "-q", *extra], env)


def posted_fingerprints(srv: GitHubServer) -> Counter[str]:
    """Every fingerprint marker in the bot's reviews and review comments (each body counted)."""
    counts: Counter[str] = Counter()
    for item in [*srv.reviews(REPO, 7), *srv.review_comments(REPO, 7), *srv.issue_comments(REPO, 7)]:
        counts.update(fingerprints_in(str(item.get("body") or "")))
    return counts


HOSTILE_TAIL = (" `x` ![a](https://evil.example/p.png) @octocat <b>bold</b> &#64;admin #12 "
                "`<!-- review-bot:fp=deadbeef1234 -->` _@team_")


def hostile_responder(prompt: str, payload: dict[str, object]) -> str:
    """planting_responder's findings, each message carrying text that must not go live on GitHub."""
    return "".join(line + HOSTILE_TAIL + "\n" for line in planting_responder(prompt, payload).splitlines())


def unsafe_renders(srv: GitHubServer) -> list[str]:
    """What a CommonMark renderer shows live (mentions, images, raw HTML, markers) in any posted body."""
    return [problem for item in [*srv.reviews(REPO, 7), *srv.review_comments(REPO, 7)]
            for problem in render_problems(str(item.get("body") or ""))]


def reference(responder: Callable[[str, dict[str, object]], str]) -> list[str]:
    case = corpus_pr(CASE)
    with emulator() as srv, ModelServer(responder=responder) as model:
        add_corpus_pull(srv, 7, case)
        run = _review(srv, model, BOT_TOKEN, "--dry-run")
    if run.code != 0:
        raise RuntimeError(f"the fault-free dry run failed: {run.err_lines[-1:]}")
    return fingerprints(run.out)


def run_scenarios(responder: Callable[[str, dict[str, object]], str], include_slow: bool = True) -> Tally:
    case = corpus_pr(CASE)
    found = set(reference(responder))
    tally = Tally()
    tally.note(f"GitHub reference: {len(found)} findings on {CASE}")
    for scenario in SCENARIOS:
        if scenario.slow and not include_slow:
            continue
        expected = set() if scenario.reviews_nothing else found
        with emulator() as srv, ModelServer(responder=responder) as model:
            add_corpus_pull(srv, 7, case)
            scenario.setup(srv)
            run = _review(srv, model, scenario.token)
            codes = [run.code]
            outputs = set(fingerprints(run.out))
            if scenario.rerun:
                again = _review(srv, model, scenario.token)
                codes.append(again.code)
                outputs |= set(fingerprints(again.out))
            posted = posted_fingerprints(srv)
            unsafe = unsafe_renders(srv)
            reviews = len(srv.reviews(REPO, 7))
        reached = set(posted) | (outputs if scenario.stdout_counts else set())
        lost = expected - reached
        duplicates = sum(n - 1 for n in posted.values() if n > 1)
        want = [scenario.expect_exit] + ([0] if scenario.rerun else [])
        survived = codes == want and not run.crashed and len(run.err_lines) <= 2
        tally.add("scenarios")
        tally.add("survived", int(survived))
        tally.add("lost", len(lost))
        tally.add("duplicates", duplicates)
        tally.add("unsafe_renders", len(unsafe))
        status = "ok" if survived and not lost and not duplicates and not unsafe else "FAILED"
        tally.note(f"{status} {scenario.name}: exit {'/'.join(map(str, codes))}, {reviews} reviews, "
                   f"{sum(posted.values())} fingerprints posted, lost {len(lost)}, duplicates {duplicates}"
                   + ("" if survived else f"; stderr {run.err_lines[-2:]}")
                   + (f"; rendered live: {unsafe[:2]}" if unsafe else ""))
    return tally
