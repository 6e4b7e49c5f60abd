"""`python -m bench [--short] [--only FAMILY,...] [--json [PATH]]`: run the benchmarks, print one table.

Run it from the repository root (benchmarks import the loopback servers from `tests.servers`).
`--json` alone prints JSON instead of the table; `--json PATH` prints the table and writes the
JSON to PATH. Exit 0 whatever the timings say; 1 only when a benchmark crashed; 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

from bench import FULL, SHORT, BenchConfig, Row, show

# quietest first: start-up times are touchy
FAMILIES = ("startup", "core", "redaction", "packing", "github", "model", "real_model", "inproc")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--short", action="store_true", help="the CI setting (< ~60 s on 2 cores)")
    parser.add_argument("--only", metavar="A,B", help=f"families to run (default all: {','.join(FAMILIES)})")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="JSON on stdout instead of the table, or the table and JSON written to PATH")
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks of crashed benchmarks")
    return parser


def run_families(families: Sequence[str], config: BenchConfig, verbose: bool
                 ) -> tuple[list[Row], dict[str, str], dict[str, float]]:
    rows: list[Row] = []
    crashed: dict[str, str] = {}
    took: dict[str, float] = {}
    for family in families:
        started = time.perf_counter()
        print(f"bench: {family} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{family}")
            rows.extend(module.run(config))
        except Exception as err:  # noqa: BLE001 - one crashed family is reported; the others still run
            crashed[family] = f"{type(err).__name__}: {err}".replace("\n", " ")[:300]
            if verbose:
                traceback.print_exc()
        took[family] = time.perf_counter() - started
    return rows, crashed, took


def render_table(rows: Sequence[Row], crashed: dict[str, str], config: BenchConfig,
                 extra: Sequence[str] = ()) -> str:
    head = ("family", "figure", "measured", "bound / baseline", "ratio", "goal", "result")
    body: list[tuple[str, ...]] = []
    notes: list[str] = []
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        goal = "-" if row.goal is None else f"<= {row.goal:g}x"
        baseline = (row.baseline_name if row.skipped or not row.baseline  # an info figure has none
                    else f"{show(row.baseline, row.unit)} ({row.baseline_name})")
        result: str = row.status
        if row.note:
            notes.append(row.note)
            result += f" [{len(notes)}]"
        body.append((row.family, row.name, "-" if row.skipped else show(row.value, row.unit), baseline,
                     ratio, goal, result))
    for family, message in crashed.items():
        body.append((family, "(crashed)", "-", "-", "-", "-", "crashed"))
        notes.append(f"{family} crashed: {message}")
    widths = [max(len(str(r[i])) for r in (head, *body)) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [f"review-bot benchmarks ({config.name} setting; Python {platform.python_version()}, "
           f"{platform.machine()})", "", line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in body]
    if notes:
        out += ["", *[f"[{i}] {note}" for i, note in enumerate(notes, 1)]]
    out += [*extra]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = SHORT if args.short else FULL
    families = FAMILIES if not args.only else tuple(f.strip() for f in args.only.split(",") if f.strip())
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        print(f"bench: unknown family {', '.join(unknown)}; choose from {', '.join(FAMILIES)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    rows, crashed, took = run_families(families, config, args.verbose)
    extra: list[str] = []
    if any(r.family == "packing" for r in rows):
        from bench.packing import cases_table

        extra = ["", *cases_table(rows)]
    total = time.perf_counter() - started
    data: dict[str, Any] = {
        "version": 1, "setting": config.name, "python": platform.python_version(),
        "rows": [r.to_json() for r in rows], "crashed": crashed,
        "seconds": {**{k: round(v, 3) for k, v in took.items()}, "total": round(total, 3)},
        "config": config.__dict__,
    }
    table = render_table(rows, crashed, config, extra) + f"\n({total:.1f} s in all)\n"
    if args.json == "-":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(table)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(data, indent=2) + "\n")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
