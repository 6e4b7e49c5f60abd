"""`[model] gguf` from the Hub: fetched once, verified, cached; against a loopback stand-in for the Hub.

HF_ENDPOINT points huggingface_hub at tests/servers/hub_server.py and HF_HOME at a temp dir, so
nothing here reaches huggingface.co or touches the user's cache.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub.constants import DOWNLOAD_CHUNK_SIZE

from bot.backends.model_fetch import (
    Pin,
    cached_model_path,
    fetch_gguf,
    hub_env,
    pin_for,
    resolve_model_path,
    sha256_of,
)
from bot.config import DEFAULT_GGUF, DEFAULT_GGUF_SHA256, parse_gguf_spec
from bot.errors import ConfigError, ModelError
from tests.cli_runner import run_main
from tests.servers.hub_server import HubServer, gguf_bytes_under

SPEC = parse_gguf_spec(DEFAULT_GGUF)
SMOLLM2 = "smollm2-135m-instruct-q4_1.gguf"


@pytest.fixture(scope="module")
def small_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 MB that start like a GGUF: more than two of huggingface_hub's 10 MB chunks, cheap to hash."""
    path = tmp_path_factory.mktemp("model") / "small.gguf"
    path.write_bytes(b"GGUF" + os.urandom(24 * 1024 * 1024 - 4))
    return path


@pytest.fixture()
def hub(small_gguf: Path) -> Iterator[HubServer]:
    with HubServer({DEFAULT_GGUF: small_gguf}) as server:
        yield server


def hub_env_for(server: HubServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HF_ENDPOINT": server.url, "HF_HOME": str(tmp_path / "hf"), **extra}


def pin_of(path: Path) -> Pin:
    """The stand-in serves another file than the real StarCoder2: a test pins what it serves."""
    return Pin(sha256_of(str(path)), "[model] gguf_sha256")


def smollm2() -> Path:
    explicit = os.environ.get("REVIEW_BOT_TEST_MODEL")
    cache = Path(os.environ.get("REVIEW_BOT_MODEL_CACHE") or Path.home() / ".cache" / "review-bot")
    path = Path(explicit) if explicit else cache / SMOLLM2
    if not path.is_file():
        if os.environ.get("REVIEW_BOT_REQUIRE_E2E") == "1":
            pytest.fail(f"test model not found at {path}: run scripts/fetch_test_model.sh")
        pytest.skip(f"test model not found at {path}: run scripts/fetch_test_model.sh")
    return path


def test_the_spec_names_repo_file_and_revision() -> None:
    assert (SPEC.repo_id, SPEC.filename) == ("QuantFactory/starcoder2-3b-GGUF", "starcoder2-3b.Q4_K_M.gguf")
    assert SPEC.revision == "f1d94bb41d6559d2b340396fcadcfab80627ac49"
    assert parse_gguf_spec("a/b/sub/m.gguf").revision == "main"
    assert parse_gguf_spec("a/b/sub/m.gguf@v1").filename == "sub/m.gguf"
    for bad in ("a/m.gguf", "a/b/m.gguf@", "a/b/model.bin@main", "a//m.gguf"):
        with pytest.raises(ConfigError, match="expected REPO/FILE.gguf@REVISION"):
            parse_gguf_spec(bad)


def test_hub_env_follows_hf_home_cache_offline_and_endpoint() -> None:
    env = hub_env({"HF_HOME": "/x/hf", "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9/"})
    assert (env.cache_dir, env.offline, env.endpoint) == ("/x/hf/hub", True, "http://127.0.0.1:9")
    assert hub_env({"HF_HOME": "/x", "HF_HUB_CACHE": "/y"}).cache_dir == "/y"
    assert not hub_env({}).offline and hub_env({}).endpoint == "https://huggingface.co"


def test_first_run_downloads_the_smollm2_gguf_with_progress_then_the_cache_serves(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = smollm2()
    with HubServer({DEFAULT_GGUF: model}) as server:
        env = hub_env_for(server, tmp_path)
        path = fetch_gguf(SPEC, env)
        err = capsys.readouterr().err
        assert path.startswith(str(tmp_path / "hf" / "hub" / "models--QuantFactory--starcoder2-3b-GGUF"))
        assert sha256_of(path) == sha256_of(str(model))
        assert f"downloading {SPEC.filename} (" in err and "once; later runs use the cache" in err
        assert "100%" in err and "MB" in err, err  # the progress bar, on stderr
        assert len(server.downloads) == 1
        seen = len(server.requests)
        pin = pin_of(model)
        assert fetch_gguf(SPEC, env, pin=pin) == path  # second run, pinned: no request at all
        assert len(server.requests) == seen and capsys.readouterr().err == ""
        offline = {**env, "HF_HUB_OFFLINE": "1"}
        assert fetch_gguf(SPEC, offline, pin=pin) == path and len(server.requests) == seen
        assert fetch_gguf(SPEC, env) == path  # unpinned: the Hub is asked (no download)
        assert len(server.requests) == seen + 1 and len(server.downloads) == 1


def test_offline_with_an_empty_cache_says_what_is_missing_and_the_two_ways_out(tmp_path: Path,
                                                                               hub: HubServer) -> None:
    with pytest.raises(ModelError) as caught:
        fetch_gguf(SPEC, hub_env_for(hub, tmp_path, HF_HUB_OFFLINE="1"))
    line = str(caught.value)
    assert "\n" not in line and caught.value.exit_code == 3
    assert SPEC.filename in line and "1.89 GB" in line
    assert "--model-path FILE" in line and "run once with network" in line and "HF_HUB_OFFLINE=1" in line
    assert hub.requests == []


def test_wrong_bytes_are_one_line_and_leave_nothing_in_the_cache(tmp_path: Path, small_gguf: Path) -> None:
    with HubServer({DEFAULT_GGUF: small_gguf}, corrupt=True) as server:
        env = hub_env_for(server, tmp_path)
        with pytest.raises(ModelError) as caught:
            fetch_gguf(SPEC, env, show_progress=False)
    line = str(caught.value)
    assert "\n" not in line and "sha256" in line and "removed it from the cache" in line
    assert gguf_bytes_under(tmp_path / "hf") == []
    assert not list((tmp_path / "hf" / "hub").glob("*/blobs/*"))
    assert not list((tmp_path / "hf" / "hub").glob("*/snapshots/*/*"))


def test_a_download_cut_halfway_resumes_where_it_stopped(tmp_path: Path, small_gguf: Path) -> None:
    half = small_gguf.stat().st_size // 2
    with HubServer({DEFAULT_GGUF: small_gguf}, cut_once_at=half) as server:
        path = fetch_gguf(SPEC, hub_env_for(server, tmp_path), show_progress=False)
        gets = server.downloads
    assert sha256_of(path) == sha256_of(str(small_gguf))
    # huggingface_hub writes whole chunks: the second GET asks for the rest after the last one kept.
    kept = half // DOWNLOAD_CHUNK_SIZE * DOWNLOAD_CHUNK_SIZE
    assert 0 < kept < half
    assert [g.range for g in gets] == [None, f"bytes={kept}-"]


def test_cached_bytes_changed_after_verification_are_caught_before_use(tmp_path: Path, hub: HubServer) -> None:
    env = hub_env_for(hub, tmp_path)
    path = fetch_gguf(SPEC, env, show_progress=False)
    with open(path, "r+b") as handle:  # bit rot, or a half-written copy put in place by hand
        handle.seek(100)
        handle.write(b"\0\0\0\0")
    with pytest.raises(ModelError, match=r"cached .* has sha256 .*, but \[model\] gguf_sha256 is .* removed it"):
        fetch_gguf(SPEC, {**env, "HF_HUB_OFFLINE": "1"}, pin=pin_of(hub.files[0].path))
    assert gguf_bytes_under(tmp_path / "hf") == []
    assert sha256_of(fetch_gguf(SPEC, env, show_progress=False)) == sha256_of(str(hub.files[0].path))


def test_an_unknown_file_or_revision_is_a_config_error(tmp_path: Path, hub: HubServer) -> None:
    env = hub_env_for(hub, tmp_path)
    with pytest.raises(ConfigError, match="has no such file"):
        fetch_gguf(parse_gguf_spec(f"{SPEC.repo_id}/other.gguf@{SPEC.revision}"), env)
    with pytest.raises(ConfigError, match="has no such revision"):
        fetch_gguf(parse_gguf_spec(f"{SPEC.repo_id}/{SPEC.filename}@{'0' * 40}"), env)
    with pytest.raises(ConfigError, match="has no such repository"):
        fetch_gguf(parse_gguf_spec(f"someone/else/{SPEC.filename}@{SPEC.revision}"), env)


def test_an_unreachable_hub_is_exit_3_with_the_ways_out(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HOME": str(tmp_path / "hf")}
    with pytest.raises(ModelError) as caught:
        fetch_gguf(SPEC, env)
    line = str(caught.value)
    assert "\n" not in line and f"cannot reach http://127.0.0.1:{port}" in line and "--model-path FILE" in line


def test_a_model_path_wins_and_needs_no_hub(tmp_path: Path) -> None:
    assert resolve_model_path("/some/model.gguf", DEFAULT_GGUF, {"HF_HUB_OFFLINE": "1"}, False) == "/some/model.gguf"


# -- issue 16, defect 6: a cached file is checked against a pin, never against its own name -----

def _poison(tmp_path: Path, spec_path: str, evil: bytes) -> str:
    """What a poisoned cache holds: a blob named after the sha256 of its own (other) bytes,
    linked from snapshots/<pinned revision>/ in place of the real file."""
    blobs = Path(os.path.realpath(spec_path)).parent
    digest = hashlib.sha256(evil).hexdigest()
    (blobs / digest).write_bytes(evil)
    os.unlink(spec_path)
    os.symlink(os.path.relpath(blobs / digest, Path(spec_path).parent), spec_path)
    return digest


def test_a_blob_named_after_its_own_sha_is_refused_with_the_hub_unreachable(tmp_path: Path,
                                                                             small_gguf: Path) -> None:
    pin = pin_of(small_gguf)
    gone = {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9"}  # the Hub is unreachable
    for env_now in (gone, {**gone, "HF_HUB_OFFLINE": "1"}):
        with HubServer({DEFAULT_GGUF: small_gguf}) as server:
            path = fetch_gguf(SPEC, hub_env_for(server, tmp_path), show_progress=False, pin=pin)
        evil = _poison(tmp_path, path, b"GGUF" + os.urandom(4096))
        assert cached_model_path(None, DEFAULT_GGUF, env_now, sha256=pin.sha256) is None  # `prompts` won't load it
        with pytest.raises(ModelError) as caught:
            fetch_gguf(SPEC, env_now, pin=pin)
        line = str(caught.value)
        assert "\n" not in line and f"cached {SPEC.filename} has sha256 {evil[:12]}" in line
        assert f"[model] gguf_sha256 is {pin.sha256[:12]}" in line and "states" not in line  # the Hub was not asked
        assert not list((tmp_path / "hf").glob(f"hub/*/blobs/{evil}")) and not os.path.lexists(path)  # removed


def test_an_unpinned_cached_file_is_checked_with_the_hub_or_not_used(tmp_path: Path, small_gguf: Path) -> None:
    with HubServer({DEFAULT_GGUF: small_gguf}) as server:
        env = hub_env_for(server, tmp_path)
        path = fetch_gguf(SPEC, env, show_progress=False)
        _poison(tmp_path, path, b"GGUF" + b"\x01" * 4096)
        with pytest.raises(ModelError, match=f"but what {server.url} states is {sha256_of(str(small_gguf))[:12]}"):
            fetch_gguf(SPEC, env)  # the Hub is reachable: it is asked, and the bytes disagree
        path = fetch_gguf(SPEC, env, show_progress=False)
    with pytest.raises(ModelError) as caught:
        fetch_gguf(SPEC, {**env, "HF_HUB_OFFLINE": "1"})
    assert "cannot be verified" in str(caught.value) and "gguf_sha256" in str(caught.value)
    with pytest.raises(ModelError, match="cannot reach .* to verify the cached .* set \\[model\\] gguf_sha256"):
        fetch_gguf(SPEC, {"HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert os.path.exists(path)  # not known to be bad: left in place


def test_a_pin_the_hub_disagrees_with_downloads_nothing(tmp_path: Path, hub: HubServer) -> None:
    with pytest.raises(ConfigError, match="states sha256 .* but \\[model\\] gguf_sha256 is 000000000000"):
        fetch_gguf(SPEC, hub_env_for(hub, tmp_path), pin=Pin("0" * 64, "[model] gguf_sha256"))
    assert hub.downloads == []


def test_the_default_is_pinned_beside_its_revision_and_a_user_pin_wins() -> None:
    assert pin_for(DEFAULT_GGUF, "a" * 64) == Pin("a" * 64, "[model] gguf_sha256")
    assert pin_for("me/mine/m.gguf@v1", None) is None  # a user's own file: its pin or the Hub's word
    built_in = Pin(DEFAULT_GGUF_SHA256, "the sha256 pinned for the default model") if DEFAULT_GGUF_SHA256 else None
    assert pin_for(DEFAULT_GGUF, None) == built_in


def test_a_model_path_is_checked_when_a_sha_is_given(tmp_path: Path, small_gguf: Path) -> None:
    good = sha256_of(str(small_gguf))
    assert resolve_model_path(str(small_gguf), DEFAULT_GGUF, {}, False, sha256=good) == str(small_gguf)
    with pytest.raises(ModelError, match="--model-path .* has sha256 .*, but \\[model\\] gguf_sha256 is 111111111111"):
        resolve_model_path(str(small_gguf), DEFAULT_GGUF, {}, False, sha256="1" * 64)
    assert small_gguf.exists()  # the user's own file is never removed


@pytest.mark.parametrize("value", ["'abc'", "'" + "A" * 64 + "'", "64"])
def test_a_bad_gguf_sha256_is_one_config_error_line(tmp_path: Path, value: str) -> None:
    config = tmp_path / "review-bot.toml"
    config.write_text(f"[model]\ngguf_sha256 = {value}\n")
    diff = tmp_path / "a.diff"
    diff.write_text("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n")
    code, out, err = run_main(["prompts", "--diff", str(diff), "--config", str(config)], {"PATH": "/usr/bin:/bin"})
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == "" and len(lines) == 1, err
    assert "gguf_sha256" in lines[0] and str(config) in lines[0]
