"""Start-up: `review-bot --help` (goal under 0.3 s) and, in the full setting, `pip install .`.

`--help` is timed as `python -m bot --help` in a fresh process, best of N, next to the bare
interpreter (`python -c pass`) measured the same way; the console script, when installed next
to this Python, is timed too. `pip install .` goes into a clean virtualenv (dependencies from
PyPI or the configured index), against installing only the dependencies into another one.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import REPO_ROOT, BenchConfig, Row

HELP_BOUND_S = 0.3
PIP_TIMEOUT_S = 900


def best_process_time(argv: list[str], runs: int) -> float:
    """Minimum wall time of `runs` fresh processes (each must exit 0)."""
    best = float("inf")
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: "
                               f"{done.stderr.decode(errors='replace').strip()[-300:]}")
        best = min(best, elapsed)
    return best


def help_rows(config: BenchConfig) -> list[Row]:
    runs = config.startup_runs
    best_process_time([sys.executable, "-m", "bot", "--help"], 1)  # warm the file cache and .pyc files
    bare = best_process_time([sys.executable, "-c", "pass"], runs)
    rows = []
    commands = [("python -m bot --help", [sys.executable, "-m", "bot", "--help"])]
    script = Path(sys.executable).with_name("review-bot")
    if script.is_file():
        commands.append(("review-bot --help", [str(script), "--help"]))
    for label, argv in commands:
        seconds = best_process_time(argv, runs)
        rows.append(Row(
            family="startup", name=f"{label} (best of {runs})", value=seconds, baseline=HELP_BOUND_S,
            baseline_name="goal", goal=1.0,
            note=f"{label}: {seconds * 1000:.0f} ms; the bare interpreter (python -c pass) takes "
                 f"{bare * 1000:.0f} ms, so the bot adds {(seconds - bare) * 1000:.0f} ms "
                 f"({seconds / bare:.1f}x the interpreter)",
            detail={"interpreter_s": round(bare, 6), "runs": runs}))
    return rows


def _dependencies() -> list[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - 3.10
        import tomli as tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project.get("dependencies", []))


def _timed_pip(venv: Path, args: list[str]) -> float:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True,
                   timeout=PIP_TIMEOUT_S)
    python = venv / "bin" / "python"
    start = time.perf_counter()
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *args], capture_output=True,
                          timeout=PIP_TIMEOUT_S, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["pip failed"])
    return elapsed


def pip_rows(config: BenchConfig) -> list[Row]:
    name = "pip install . into a clean virtualenv"
    if not config.pip_install:
        return [Row(family="startup", name=name, value=0.0, baseline=0.0,
                    baseline_name="skipped in the short setting", skipped=True,
                    note="pip install: full setting only (it needs the package index and takes tens of "
                         "seconds); run `python -m bench --only startup`")]
    try:
        with tempfile.TemporaryDirectory(prefix="review-bot-bench-") as folder:
            ours = _timed_pip(Path(folder, "ours"), [str(REPO_ROOT)])
            deps = _timed_pip(Path(folder, "deps"), _dependencies())
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        return [Row(family="startup", name=name, value=0.0, baseline=0.0, baseline_name="could not run",
                    skipped=True, note=f"pip install could not run: {err}")]
    return [Row(family="startup", name=name, value=ours, baseline=deps,
                baseline_name="pip install of the dependencies alone",
                note=f"pip install: ours {ours:.1f} s (build, dependencies first-come from the index or "
                     f"cache), the dependencies alone {deps:.1f} s afterwards (cache warm)")]


def run(config: BenchConfig) -> list[Row]:
    return help_rows(config) + pip_rows(config)
