"""Bad inputs: mutated diffs, broken configs, broken event payloads, and one huge pull request.

Every bad input must end in one of two ways: accepted (exit 0; broken files are listed as
skipped) or a clear error (exit 2, exactly one `review-bot: error:` line on stderr). Any
traceback, any "internal error", any other exit code counts as a crash. `parse_diff` on its
own must return or raise InputError, never another exception.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.diff.parse import parse_diff
from bot.errors import InputError
from tests.conftest import JINJA_CASES, UNIDIFF_SAMPLES
from tests.reliability.harness import CliRun, Tally, run_cli, write_config
from tests.servers.model_server import ModelServer

OPS = ("drop", "duplicate", "swap", "flip", "truncate", "hunk_count", "garbage", "header", "crlf", "nul")
Op = tuple[str, int, int]
_COUNTS = re.compile(rb"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@", re.MULTILINE)
BIG_FILES, BIG_CHANGED_LINES = 3000, 50_000
MEMORY_LIMIT_MB = 500


def seed_diffs() -> list[bytes]:
    """Small real diffs to mutate: the smaller corpus cases and unidiff's samples."""
    paths = sorted((c / "pr.diff" for c in JINJA_CASES), key=lambda p: p.stat().st_size)[:8]
    return [p.read_bytes() for p in [*paths, *UNIDIFF_SAMPLES]]


def mutate(data: bytes, ops: Sequence[Op]) -> bytes:
    """Apply line- and byte-level damage; positions are taken modulo the current size."""
    for name, a, b in ops:
        lines = data.split(b"\n")
        i, j = a % max(len(lines), 1), b % max(len(lines), 1)
        if name == "drop" and len(lines) > 1:
            del lines[i]
        elif name == "duplicate":
            lines.insert(i, lines[i])
        elif name == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif name == "flip" and data:
            k = a % len(data)
            data = data[:k] + bytes([data[k] ^ (1 << (b % 8))]) + data[k + 1:]
            continue
        elif name == "truncate":
            data = data[: a % (len(data) + 1)]
            continue
        elif name == "hunk_count":
            headers = list(_COUNTS.finditer(data))
            if headers:
                m = headers[a % len(headers)]
                group = 2 + 2 * (b % 2)  # the old or the new count
                count = b"," + str(b % 50).encode()
                start, end = (m.start(group), m.end(group)) if m.group(group) else (m.end(group - 1),) * 2
                data = data[:start] + count + data[end:]
            continue
        elif name == "garbage":
            lines.insert(i, b"this line is not part of any diff format %d" % b)
        elif name == "header":
            heads = [k for k, ln in enumerate(lines) if ln.startswith((b"diff ", b"--- ", b"+++ ", b"@@ "))]
            if heads:
                k = heads[a % len(heads)]
                lines[k] = lines[k][: b % (len(lines[k]) + 1)]
        elif name == "crlf":
            lines = [ln + b"\r" for ln in lines]
        elif name == "nul":
            lines[i] = lines[i][: b % (len(lines[i]) + 1)] + b"\0" + lines[i][b % (len(lines[i]) + 1):]
        data = b"\n".join(lines)
    return data


def random_ops(rng: random.Random) -> list[Op]:
    return [(rng.choice(OPS), rng.randrange(1 << 20), rng.randrange(1 << 20)) for _ in range(rng.randint(1, 4))]


def classify_parse(data: bytes) -> str:
    """"ok", "error" (InputError) or "crash: <type>" for parse_diff on `data`."""
    try:
        parse_diff(data)
    except InputError:
        return "error"
    except Exception as err:  # noqa: BLE001 - exactly what this check looks for
        return f"crash: {type(err).__name__}: {err}"
    return "ok"


def classify_cli(run: CliRun) -> str:
    """"accepted", "clear" (exit 2, one error line) or "crash: ..." for a finished CLI run."""
    if run.crashed:
        return "crash: traceback or internal error: " + " | ".join(run.err_lines[-2:])
    if run.code == 0:
        return "accepted"
    lines = run.err_lines
    if run.code == 2 and len(lines) == 1 and lines[0].startswith("review-bot: error: "):
        return "clear"
    return f"crash: exit {run.code}, stderr {lines[-3:]!r}"


def _record(tally: Tally, what: str, result: str) -> None:
    tally.add("tried")
    key = {"ok": "accepted", "accepted": "accepted", "error": "clear", "clear": "clear"}.get(result, "crash")
    tally.add(key)
    if key == "crash":
        tally.note(f"CRASH {what}: {result}")


def fuzz_diffs(folder: Path, count: int, cli_every: int = 5, seed: int = 2024) -> Tally:
    """`count` mutated diffs through parse_diff; every `cli_every`-th also through `dry-run`."""
    rng = random.Random(seed)
    seeds = seed_diffs()
    tally = Tally()
    config = write_config(folder, {"budget": {"requests_per_minute": 60000}})
    with ModelServer(responder=lambda prompt, payload: "") as srv:
        for n in range(count):
            ops = random_ops(rng)
            data = mutate(seeds[n % len(seeds)], ops)
            _record(tally, f"parse_diff #{n} {ops}", classify_parse(data))
            if n % cli_every == 0:
                _record(tally, f"dry-run #{n} {ops}", classify_cli(dry_run_bytes(folder, data, config, srv.url)))
    return tally


def dry_run_bytes(folder: Path, data: bytes, config: Path, endpoint: str) -> CliRun:
    path = folder / "mutated.diff"
    path.write_bytes(data)
    return run_cli(["dry-run", "--diff", str(path), "--config", str(config), "--api", "hf",
                    "--endpoint", endpoint, "-q"])


BAD_CONFIGS: tuple[tuple[str, str], ...] = (
    ("[model\n", "TOML"),
    ("[model]\ntimeout_s = 'fast'\n", "timeout_s"),
    ("[model]\nmax_new_tokens = 1.5\n", "max_new_tokens"),
    ("[budget]\nmax_requests = -1\n", "max_requests"),
    ("[budget]\nconcurrency = 0\n", "concurrency"),
    ("[budget]\nrequests_per_minute = true\n", "requests_per_minute"),
    ("[review]\ninclude = 3\n", "include"),
    ("[review]\nmin_severity = 'fatal'\n", "min_severity"),
    ("[review]\nredact_secrets = 'yes'\n", "redact_secrets"),
    ("[review]\nbogus_key = 1\n", "bogus_key"),
    ("[bogus_section]\nx = 1\n", "bogus_section"),
    ("model = 3\n", "model"),
    ("[model]\napi = 'grpc'\n", "api"),
    ("\xff\xfe not utf-8", "review-bot.toml"),
)


def bad_configs(folder: Path, diff: Path) -> Tally:
    """Each broken config: exit 2 and one line naming the file and the key."""
    tally = Tally()
    for n, (text, key) in enumerate(BAD_CONFIGS):
        path = folder / f"bad-{n}" / "review-bot.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
        run = run_cli(["prompts", "--diff", str(diff), "--config", str(path)])
        result = classify_cli(run)
        if result == "clear" and not (str(path) in run.err and key in run.err):
            result = f"unclear: the line does not name {path.name} and {key!r}: {run.err.strip()!r}"
        elif result == "accepted":
            result = f"accepted a broken config: {text!r}"
        _record(tally, f"config {text!r}", "clear" if result == "clear" else f"crash: {result}")
    return tally


def _event_cases() -> list[tuple[str, str | None, str]]:
    """(event name, payload text or None for a missing file, what it is)."""
    pr = {"action": "opened", "number": 7, "pull_request": {"number": 7, "draft": False,
                                                           "head": {"sha": "a" * 40, "repo": {"full_name": "o/r"}},
                                                           "base": {"sha": "b" * 40, "repo": {"full_name": "o/r"}}},
          "repository": {"full_name": "o/r"}}
    wrong_number = json.loads(json.dumps(pr))
    wrong_number["number"] = wrong_number["pull_request"]["number"] = "seven"
    bad_sha = json.loads(json.dumps(pr))
    bad_sha["pull_request"]["head"]["sha"] = "not-a-sha"
    return [
        ("pull_request", None, "missing payload file"),
        ("pull_request", "", "empty payload"),
        ("pull_request", "{not json", "malformed JSON"),
        ("pull_request", "[1, 2, 3]", "a JSON list"),
        ("pull_request", json.dumps({"action": "opened"}), "no pull_request object"),
        ("pull_request", json.dumps(wrong_number), "number is a string"),
        ("pull_request", json.dumps(bad_sha), "head sha is not a sha"),
        ("push", json.dumps(pr), "unknown event push"),
        ("issues", json.dumps(pr), "unknown event issues"),
        ("schedule", "{}", "unknown event schedule"),
        ("workflow_dispatch", json.dumps({"inputs": {}}), "dispatch without a pr input"),
        ("workflow_dispatch", json.dumps({"inputs": {"pr": "abc"}}), "dispatch with pr=abc"),
        ("pull_request_target", "\xff\xfe", "payload not UTF-8"),
    ]


def bad_events(folder: Path) -> Tally:
    """`review-bot review` inside "Actions" with a broken event: exit 2 and one line."""
    tally = Tally()
    for n, (name, payload, what) in enumerate(_event_cases()):
        path = folder / f"event-{n}.json"
        if payload is not None:
            path.write_bytes(payload.encode("latin-1") if payload.startswith("\xff") else payload.encode())
        env = {"PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": name,
               "GITHUB_EVENT_PATH": str(path), "GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "ghs_dummy_token",
               "GITHUB_API_URL": "http://127.0.0.1:9"}
        run = run_cli(["review", "-q"], env)
        result = classify_cli(run)
        if result == "accepted":
            result = f"crash: exit 0 for {what}"
        _record(tally, f"event {what}", result)
    return tally


def bad_cli_inputs(folder: Path) -> Tally:
    """Missing, empty, binary and directory diff files; impossible budgets; unwritable output."""
    tally = Tally()
    empty, binary = folder / "empty.diff", folder / "binary.diff"
    empty.write_bytes(b"")
    binary.write_bytes(bytes(range(256)) * 40)
    diff = str(seed_paths()[0])
    cases = [
        ["prompts", "--diff", str(folder / "missing.diff")],
        ["prompts", "--diff", str(empty)],
        ["prompts", "--diff", str(binary)],
        ["prompts", "--diff", str(folder)],
        ["prompts", "--diff", "/dev/null"],
        ["prompts", "--diff", diff, "--max-requests", "-1"],
        ["prompts", "--diff", diff, "--concurrency", "0"],
        ["prompts", "--diff", diff, "--output", str(folder / "no" / "such" / "dir" / "out.txt")],
        ["prompts", "--diff", diff, "--template", "no-such-template"],
        ["prompts", "--diff", diff, "--git", "HEAD~1..HEAD"],
    ]
    for argv in cases:
        _record(tally, " ".join(argv[:1] + argv[3:]), classify_cli(run_cli([*argv, "-q"])))
    return tally


def seed_paths() -> list[Path]:
    return sorted((c / "pr.diff" for c in JINJA_CASES), key=lambda p: p.stat().st_size)


def big_diff(files: int = BIG_FILES, changed: int = BIG_CHANGED_LINES) -> str:
    """`files` modified Python files, one hunk each, `changed` added lines in all."""
    out: list[str] = []
    per, extra = divmod(changed, files)
    for n in range(files):
        added = per + (1 if n < extra else 0)
        path = f"pkg{n % 50}/module_{n:05d}.py"
        out += [f"diff --git a/{path} b/{path}", f"index {n:07x}..{n + 1:07x} 100644", f"--- a/{path}",
                f"+++ b/{path}", f"@@ -10,6 +10,{6 + added} @@ def function_{n}():"]
        out += [f"     context_{k} = {k}" for k in range(3)]
        out += [f"+    value_{n}_{k} = compute({k}, {n})  # new line {k}" for k in range(added)]
        out += [f"     tail_{k} = {k}" for k in range(3)]
    return "\n".join(out) + "\n"


_MEASURE = ("import json, resource, subprocess, sys\n"
            "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "print(json.dumps({'code': done.returncode, 'err': done.stderr[-2000:],"
            " 'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n")


def big_pull_request(folder: Path) -> Tally:
    """3,000 files and 50,000 changed lines: under 500 MB, 40 requests, the rest budget skips."""
    tally = Tally()
    diff = folder / "big.diff"
    diff.write_text(big_diff(), encoding="utf-8")
    output = folder / "big.json"
    config = write_config(folder, {"budget": {"requests_per_minute": 60000}}, name="big.toml")
    with ModelServer(responder=lambda prompt, payload: "") as srv:
        # A wrapper process whose only child is the bot, so RUSAGE_CHILDREN is the bot's own peak.
        argv = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "bot", "dry-run", "--diff", str(diff),
                "--format", "json", "--output", str(output), "--config", str(config), "--api", "hf",
                "--endpoint", srv.url, "-q"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    measured = json.loads(done.stdout)
    peak_mb = measured["maxrss_kb"] / 1024
    tally.add("tried")
    problems = []
    if measured["code"] != 0:
        problems.append(f"exit {measured['code']}: {measured['err']!r}")
    if peak_mb >= MEMORY_LIMIT_MB:
        problems.append(f"peak memory {peak_mb:.0f} MB")
    if not problems:
        result = json.loads(output.read_text(encoding="utf-8"))
        stats, skipped = result["stats"], result["skipped"]
        budget = [s for s in skipped if s["reason"] == "budget"]
        if stats["requests"] > 40 or not budget:
            problems.append(f"{stats['requests']} requests, {len(budget)} budget skips")
        if stats["hunks_reviewed"] + len(budget) != stats["hunks"] or stats["hunks"] != BIG_FILES:
            problems.append(f"hunks {stats['hunks']}: reviewed {stats['hunks_reviewed']} + budget {len(budget)}")
        tally.note(f"big PR ({BIG_FILES} files, {BIG_CHANGED_LINES} changed lines): peak {peak_mb:.0f} MB, "
                   f"{stats['requests']} requests, {stats['hunks_reviewed']} hunks reviewed, "
                   f"{len(budget)} listed as budget skips")
    tally.add("crash" if problems else "accepted")
    for problem in problems:
        tally.note(f"CRASH big PR: {problem}")
    return tally
