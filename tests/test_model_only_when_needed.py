"""Plan first, then make, fetch or load a model only when a request will be sent (issue 17, item 3).

As a user runs it (a subprocess) with the default in-process api and no model anywhere: an
empty Hugging Face cache, offline, or a Hub stand-in that records every request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.servers.hub_server import HubServer

LOCK_ONLY = """diff --git a/package-lock.json b/package-lock.json
index 1111111..2222222 100644
--- a/package-lock.json
+++ b/package-lock.json
@@ -1,3 +1,3 @@
 {
-  "version": "1.0.0"
+  "version": "1.0.1"
 }
"""
BINARY_ONLY = """diff --git a/logo.png b/logo.png
index 3333333..4444444 100644
Binary files a/logo.png and b/logo.png differ
diff --git a/font.woff2 b/font.woff2
new file mode 100644
index 0000000..5555555
Binary files /dev/null and b/font.woff2 differ
"""
CASES = {"lock file only": (LOCK_ONLY, {"package-lock.json": "generated"}),
         "binary only": (BINARY_ONLY, {"logo.png": "binary", "font.woff2": "binary"})}


def run_cli(argv: list[str], env: Mapping[str, str]) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "bot", *argv], capture_output=True, cwd=REPO_ROOT,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **env}, timeout=120)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("hub", ["offline", "stand-in"])
def test_nothing_to_review_needs_no_model(tmp_path: Path, case: str, hub: str) -> None:
    text, expected = CASES[case]
    diff = tmp_path / "change.diff"
    diff.write_text(text)
    cache = tmp_path / "hf"
    cache.mkdir()
    with HubServer({}) as stand_in:
        where = {"HF_HUB_OFFLINE": "1"} if hub == "offline" else {"HF_ENDPOINT": stand_in.url}
        env = {"HF_HOME": str(cache), **where}
        for command in ("dry-run", "prompts"):
            code, out, err = run_cli([command, "--diff", str(diff), "--format", "json"], env)
            assert code == 0, err
            data = json.loads(out)
            assert {s["path"]: s["reason"] for s in data["skipped"]} == expected
            if command == "dry-run":
                assert data["stats"]["requests"] == 0 and data["findings"] == []
                assert "no model is loaded" in err
            else:
                assert data["requests"] == []
        assert stand_in.requests == []
    assert list(cache.iterdir()) == []  # nothing fetched, nothing cached


def test_a_wrong_model_path_is_still_named_when_nothing_is_sent(tmp_path: Path) -> None:
    diff = tmp_path / "lock.diff"
    diff.write_text(LOCK_ONLY)
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_text("not a model")
    for path, expected in ((tmp_path / "missing.gguf", "no such file"), (not_gguf, "not a GGUF file")):
        code, out, err = run_cli(["dry-run", "--diff", str(diff), "--model-path", str(path)], {"HF_HUB_OFFLINE": "1"})
        assert code == 2 and out == "" and expected in err, err
    code, out, err = run_cli(["dry-run", "--diff", str(diff), "--model-path", str(not_gguf), "--api", "hf",
                              "--endpoint", "http://127.0.0.1:9"], {})
    assert code == 0, err  # a model path is not this api's business
