"""The in-process model's weights: a GGUF on the Hugging Face Hub, fetched once, verified, cached.

`[model] gguf = "REPO/FILE@REVISION"` names the file. It is downloaded with huggingface_hub
(resumable, into the standard cache, honouring HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE and
HF_ENDPOINT from the environment the bot was given) and checked against the sha256 the Hub
states for it (an LFS file's ETag is its sha256) before it is used for the first time. A file
whose bytes do not match is removed from the cache and the run stops with one line. Nothing
here runs at import or in a constructor: `fetch_gguf` is called while the CLI wires the backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import DEFAULT_GGUF, GgufSpec, parse_gguf_spec
from bot.errors import ConfigError, ModelError
from bot.logsafe import one_line

# What an offline run can say about a file it has never seen (the Hub's figure for the default).
KNOWN_SIZES = {DEFAULT_GGUF: "1.89 GB"}
HUB = "https://huggingface.co"
INSTALL_HINT = ("fetching a model needs huggingface_hub: pip install 'starcoder-review-bot[local]' "
                "(in a clone: pip install '.[local]')")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_STAMPS = ".review-bot-verified"  # beside the repo's blobs/ and snapshots/; `hf cache` ignores it


@dataclass(frozen=True)
class HubEnv:
    """Where the Hub and its cache are, from the environment the bot was given."""

    endpoint: str
    cache_dir: str
    offline: bool
    token: str | None


def hub_env(env: Mapping[str, str]) -> HubEnv:
    home = env.get("HF_HOME") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    cache = env.get("HF_HUB_CACHE") or os.path.join(home, "hub")
    offline = env.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")
    return HubEnv(endpoint=(env.get("HF_ENDPOINT") or HUB).rstrip("/"), cache_dir=os.path.expanduser(cache),
                  offline=offline, token=env.get("HF_TOKEN") or None)


def describe_size(size: int | None, spec: GgufSpec | None = None) -> str:
    if size is not None:
        return f"{size / 1e9:.2f} GB" if size >= 1e8 else f"{size / 1e6:.1f} MB"
    return KNOWN_SIZES.get(str(spec), "size unknown") if spec is not None else "size unknown"


def _ways_out(spec: GgufSpec) -> str:
    return (f"pass --model-path FILE with a GGUF already on disk, or run once with network so "
            f"{spec.filename} is downloaded into the Hugging Face cache")


def _import_hub() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return huggingface_hub


def _in_cache(hub_lib: Any, hub: HubEnv, spec: GgufSpec) -> str | None:
    """The cached file of `spec` at its pinned revision, if the Hugging Face cache has it."""
    cached = hub_lib.try_to_load_from_cache(spec.repo_id, spec.filename, cache_dir=hub.cache_dir,
                                            revision=spec.revision)
    return cached if isinstance(cached, str) else None


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _storage_folder(hub: HubEnv, spec: GgufSpec) -> Path:
    return Path(hub.cache_dir) / ("models--" + spec.repo_id.replace("/", "--"))


def _fingerprint(path: str) -> dict[str, int]:
    stat = os.stat(path)
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ino": stat.st_ino}


def _stamp_path(hub: HubEnv, spec: GgufSpec, sha: str) -> Path:
    return _storage_folder(hub, spec) / _STAMPS / sha


def _is_verified(hub: HubEnv, spec: GgufSpec, path: str, sha: str) -> bool:
    try:
        return bool(json.loads(_stamp_path(hub, spec, sha).read_text()) == _fingerprint(path))
    except (OSError, ValueError):
        return False


def _mark_verified(hub: HubEnv, spec: GgufSpec, path: str, sha: str) -> None:
    stamp = _stamp_path(hub, spec, sha)
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(_fingerprint(path)))
    except OSError:
        pass  # a read-only cache: the file is verified again next time, nothing worse


def _purge(hub: HubEnv, spec: GgufSpec, pointer: str) -> None:
    """Remove a file with wrong bytes: its blob, its snapshot link, any partial download, empty folders."""
    blob = os.path.realpath(pointer)
    for path in (pointer, blob):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    folder = _storage_folder(hub, spec)
    for partial in folder.glob("blobs/*.incomplete"):
        partial.unlink(missing_ok=True)
    for root, dirs, files in sorted(os.walk(folder), key=lambda entry: -len(entry[0])):
        if not dirs and not files:
            try:
                os.rmdir(root)
            except OSError:
                pass
        dirs.clear()


def _cached_sha(pointer: str) -> str | None:
    """A cached snapshot file links to blobs/<sha256>: the sha256 the Hub stated when it was fetched."""
    name = os.path.basename(os.path.realpath(pointer))
    return name if _SHA256.fullmatch(name) else None


def _verify(hub: HubEnv, spec: GgufSpec, path: str, expected: str, fresh: bool) -> str:
    if _is_verified(hub, spec, path, expected):
        return path
    got = sha256_of(path)
    if got != expected:
        _purge(hub, spec, path)
        where = "downloaded" if fresh else "cached"
        raise ModelError(f"{where} {spec.filename} has sha256 {got[:12]}..., but the Hub states {expected[:12]}... "
                         f"for {spec}; removed it from the cache: run again to download it afresh, "
                         "or pass --model-path FILE")
    _mark_verified(hub, spec, path, expected)
    return path


def _progress_class(show: bool, label: str) -> Any:
    """A tqdm class that draws on stderr; one line per update (every 5 s) when stderr is not a terminal."""
    from tqdm import tqdm

    class _Lines:
        def __init__(self, stream: Any) -> None:
            self.stream = stream

        def write(self, text: str) -> None:
            line = text.replace("\r", "").strip()
            if line:
                self.stream.write(line + "\n")

        def flush(self) -> None:
            self.stream.flush()

    class Bar(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            kwargs["desc"] = label
            stream = sys.stderr
            tty = hasattr(stream, "isatty") and stream.isatty()
            kwargs.setdefault("file", stream if tty else _Lines(stream))
            kwargs.setdefault("mininterval", 0.5 if tty else 5.0)
            kwargs.setdefault("disable", not show)
            kwargs.setdefault("ascii", not tty)
            super().__init__(*args, **kwargs)

    return Bar


def fetch_gguf(spec: GgufSpec, env: Mapping[str, str], show_progress: bool = True) -> str:
    """The verified local path of `spec`, downloading it once if needed. ModelError/ConfigError otherwise."""
    hub_lib = _import_hub()
    from huggingface_hub import errors as hub_errors

    hub = hub_env(env)
    cached = _in_cache(hub_lib, hub, spec)
    if cached is not None:
        sha = _cached_sha(cached)
        if sha is not None:
            return _verify(hub, spec, cached, sha, fresh=False)
    if hub.offline:
        raise ModelError(f"the model {spec.filename} ({describe_size(None, spec)}) is not in the Hugging Face "
                         f"cache {hub.cache_dir} and HF_HUB_OFFLINE=1 forbids downloading it: {_ways_out(spec)}")
    network_errors: tuple[type[BaseException], ...] = (OSError, hub_errors.HfHubHTTPError)
    try:
        import httpx2

        network_errors += (httpx2.HTTPError,)
    except ImportError:  # pragma: no cover - huggingface_hub 2 depends on httpx2
        pass
    url = hub_lib.hf_hub_url(spec.repo_id, spec.filename, revision=spec.revision, endpoint=hub.endpoint)
    try:
        meta = hub_lib.get_hf_file_metadata(url, token=hub.token, endpoint=hub.endpoint)
    except (hub_errors.RepositoryNotFoundError, hub_errors.RevisionNotFoundError,
            hub_errors.RemoteEntryNotFoundError) as err:
        what = {hub_errors.RevisionNotFoundError: "revision", hub_errors.RemoteEntryNotFoundError: "file"}.get(
            type(err), "repository")
        raise ConfigError(f"[model] gguf {spec}: {hub.endpoint} has no such {what}; check the name") from None
    except network_errors as err:
        raise ModelError(f"cannot reach {hub.endpoint} to fetch {spec.filename} ({describe_size(None, spec)}): "
                         f"{one_line(err, limit=160)}; {_ways_out(spec)}") from None
    expected = (meta.etag or "").lower()
    if not _SHA256.fullmatch(expected):
        raise ModelError(f"{hub.endpoint} states no sha256 for {spec} (ETag {meta.etag!r}), so it cannot be "
                         "verified; pass --model-path FILE")
    if show_progress:
        sys.stderr.write(f"review-bot: downloading {spec.filename} ({describe_size(meta.size, spec)}) from "
                         f"{spec.repo_id}@{spec.revision[:12]} into {hub.cache_dir} (once; later runs use the "
                         "cache)\n")
        sys.stderr.flush()
    try:
        path = hub_lib.hf_hub_download(spec.repo_id, spec.filename, revision=spec.revision,
                                       cache_dir=hub.cache_dir, endpoint=hub.endpoint, token=hub.token,
                                       tqdm_class=_progress_class(show_progress, spec.filename))
    except network_errors as err:
        raise ModelError(f"downloading {spec.filename} from {hub.endpoint} failed ({one_line(err, limit=160)}); "
                         f"run again to resume, or {_ways_out(spec)}") from None
    return _verify(hub, spec, str(path), expected, fresh=True)


def cached_model_path(model_path: str | None, gguf: str, env: Mapping[str, str]) -> str | None:
    """The GGUF a run would load, if it is on disk already (never downloads; not verified here)."""
    if model_path:
        return model_path
    try:
        hub_lib = _import_hub()
    except ConfigError:
        return None
    return _in_cache(hub_lib, hub_env(env), parse_gguf_spec(gguf))


def resolve_model_path(model_path: str | None, gguf: str, env: Mapping[str, str], show_progress: bool) -> str:
    """The GGUF the in-process backend loads: `model_path` when given, else the Hub file `gguf` names."""
    if model_path:
        return model_path
    return fetch_gguf(parse_gguf_spec(gguf), env, show_progress)
