"""The in-process model's weights: a GGUF on the Hugging Face Hub, fetched once, verified, cached.

`[model] gguf = "REPO/FILE@REVISION"` names the file, `[model] gguf_sha256` its bytes (the
default's sha256 is pinned in bot.config beside its revision). The file is downloaded with
huggingface_hub (resumable, into the standard cache, honouring HF_HOME / HF_HUB_CACHE,
HF_HUB_OFFLINE and HF_ENDPOINT from the environment the bot was given).

Every file that is loaded is hashed and compared with a value that does not come from the
file or its cache: the pinned sha256 when there is one (at a cache hit too, with the Hub never
asked), else the sha256 the Hub states for it now (an LFS file's ETag). A cache entry names its
blob after a sha256, but whoever can write the cache (a poisoned `actions/cache` entry) writes
that name too, so it proves nothing. An unpinned cached file the Hub cannot be asked about is
not used. A file whose bytes do not match is removed from the cache and the run stops with one
line saying what was compared. Nothing here runs at import or in a constructor.
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

from bot.config import DEFAULT_GGUF, DEFAULT_GGUF_SHA256, GgufSpec, parse_gguf_spec
from bot.errors import ConfigError, ModelError
from bot.logsafe import one_line

# What an offline run can say about a file it has never seen (the Hub's figure for the default).
KNOWN_SIZES = {DEFAULT_GGUF: "1.89 GB"}
HUB = "https://huggingface.co"
INSTALL_HINT = ("fetching a model needs huggingface_hub: pip install 'starcoder-review-bot[local]' "
                "(in a clone: pip install '.[local]')")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_STAMPS = ".review-bot-verified"  # beside the repo's blobs/ and snapshots/; `hf cache` ignores it
PINNED = {DEFAULT_GGUF: DEFAULT_GGUF_SHA256}  # the files whose sha256 this build knows


@dataclass(frozen=True)
class Pin:
    """The sha256 a file must have, and where that value came from (said in every mismatch)."""

    sha256: str
    source: str  # "[model] gguf_sha256", "the pin of the default model", "what <hub> states"


def pin_for(gguf: str, gguf_sha256: str | None) -> Pin | None:
    """The configured or built-in pin of the Hub file `gguf`; None: only the Hub can say."""
    if gguf_sha256:
        return Pin(gguf_sha256, "[model] gguf_sha256")
    known = PINNED.get(gguf.strip())
    return Pin(known, "the sha256 pinned for the default model") if known else None


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
    # ctime cannot be set from user space and changes whenever the file is written or restored
    # (a cache restore included): a stamp copied along with a swapped file does not match it.
    stat = os.stat(path)
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns,
            "ino": stat.st_ino, "dev": stat.st_dev}


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


def _verify(hub: HubEnv, spec: GgufSpec, path: str, pin: Pin, fresh: bool) -> str:
    if _is_verified(hub, spec, path, pin.sha256):
        return path
    got = sha256_of(path)
    if got != pin.sha256:
        _purge(hub, spec, path)
        where = "downloaded" if fresh else "cached"
        raise ModelError(f"{where} {spec.filename} has sha256 {got[:12]}..., but {pin.source} is "
                         f"{pin.sha256[:12]}... for {spec}; removed it from the cache: run again to download it "
                         "afresh, or pass --model-path FILE")
    _mark_verified(hub, spec, path, pin.sha256)
    return path


def _network_errors() -> tuple[type[BaseException], ...]:
    from huggingface_hub import errors as hub_errors

    found: tuple[type[BaseException], ...] = (OSError, hub_errors.HfHubHTTPError)
    try:
        import httpx2

        found += (httpx2.HTTPError,)
    except ImportError:  # pragma: no cover - huggingface_hub 2 depends on httpx2
        pass
    return found


def _hub_pin(hub_lib: Any, hub: HubEnv, spec: GgufSpec, why: str) -> tuple[Pin, int | None]:
    """The sha256 the Hub states for `spec` now (its ETag), and the size; `why` says what it is for."""
    from huggingface_hub import errors as hub_errors

    url = hub_lib.hf_hub_url(spec.repo_id, spec.filename, revision=spec.revision, endpoint=hub.endpoint)
    try:
        meta = hub_lib.get_hf_file_metadata(url, token=hub.token, endpoint=hub.endpoint)
    except (hub_errors.RepositoryNotFoundError, hub_errors.RevisionNotFoundError,
            hub_errors.RemoteEntryNotFoundError) as err:
        what = {hub_errors.RevisionNotFoundError: "revision", hub_errors.RemoteEntryNotFoundError: "file"}.get(
            type(err), "repository")
        raise ConfigError(f"[model] gguf {spec}: {hub.endpoint} has no such {what}; check the name") from None
    except _network_errors() as err:
        ways_out = _ways_out(spec) if why == "fetch" else (
            "set [model] gguf_sha256 to the sha256 the Hub lists for it (then the Hub is not needed), "
            "or pass --model-path FILE")
        raise ModelError(f"cannot reach {hub.endpoint} to {why} {spec.filename} ({describe_size(None, spec)}): "
                         f"{one_line(err, limit=160)}; {ways_out}") from None
    stated = (meta.etag or "").lower()
    if not _SHA256.fullmatch(stated):
        raise ModelError(f"{hub.endpoint} states no sha256 for {spec} (ETag {meta.etag!r}), so it cannot be "
                         "verified; set [model] gguf_sha256, or pass --model-path FILE")
    return Pin(stated, f"what {hub.endpoint} states"), meta.size


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


def fetch_gguf(spec: GgufSpec, env: Mapping[str, str], show_progress: bool = True,
               pin: Pin | None = None) -> str:
    """The verified local path of `spec`, downloading it once if needed. ModelError/ConfigError otherwise.

    `pin`: the sha256 the file must have (pin_for); without one the Hub is asked, at a cache hit too.
    """
    hub_lib = _import_hub()
    hub = hub_env(env)
    cached = _in_cache(hub_lib, hub, spec)
    if cached is not None:
        if pin is not None:
            return _verify(hub, spec, cached, pin, fresh=False)
        if hub.offline:
            raise ModelError(f"the cached {spec.filename} cannot be verified: no sha256 is pinned for {spec} and "
                             "HF_HUB_OFFLINE=1 forbids asking the Hub; set [model] gguf_sha256 to the sha256 the "
                             "Hub lists for it, or pass --model-path FILE")
        stated, _ = _hub_pin(hub_lib, hub, spec, "verify the cached")
        return _verify(hub, spec, cached, stated, fresh=False)
    if hub.offline:
        raise ModelError(f"the model {spec.filename} ({describe_size(None, spec)}) is not in the Hugging Face "
                         f"cache {hub.cache_dir} and HF_HUB_OFFLINE=1 forbids downloading it: {_ways_out(spec)}")
    stated, size = _hub_pin(hub_lib, hub, spec, "fetch")
    if pin is not None and stated.sha256 != pin.sha256:
        raise ConfigError(f"{stated.source} sha256 {stated.sha256[:12]}... for {spec}, but {pin.source} is "
                          f"{pin.sha256[:12]}...; nothing was downloaded: check the pin and the revision")
    if show_progress:
        sys.stderr.write(f"review-bot: downloading {spec.filename} ({describe_size(size, spec)}) from "
                         f"{spec.repo_id}@{spec.revision[:12]} into {hub.cache_dir} (once; later runs use the "
                         "cache)\n")
        sys.stderr.flush()
    try:
        path = hub_lib.hf_hub_download(spec.repo_id, spec.filename, revision=spec.revision,
                                       cache_dir=hub.cache_dir, endpoint=hub.endpoint, token=hub.token,
                                       tqdm_class=_progress_class(show_progress, spec.filename))
    except _network_errors() as err:
        raise ModelError(f"downloading {spec.filename} from {hub.endpoint} failed ({one_line(err, limit=160)}); "
                         f"run again to resume, or {_ways_out(spec)}") from None
    return _verify(hub, spec, str(path), pin or stated, fresh=True)


def verify_model_file(path: str, sha256: str) -> str:
    """A GGUF given by path (--model-path) with `[model] gguf_sha256` set: its bytes must match.
    The user's own file is never removed."""
    got = sha256_of(path)
    if got != sha256:
        raise ModelError(f"--model-path {path} has sha256 {got[:12]}..., but [model] gguf_sha256 is {sha256[:12]}...; "
                         "pass the file that was pinned, or fix the pin")
    return path


def cached_model_path(model_path: str | None, gguf: str, env: Mapping[str, str],
                      sha256: str | None = None) -> str | None:
    """The GGUF a run would load, if it is on disk already and, for a Hub file, matches its pin
    (never downloads, never asks the Hub: an unpinned cached file is not offered)."""
    if model_path:
        return model_path if sha256 is None or sha256_of(model_path) == sha256 else None
    try:
        hub_lib = _import_hub()
    except ConfigError:
        return None
    hub, spec, pin = hub_env(env), parse_gguf_spec(gguf), pin_for(gguf, sha256)
    cached = _in_cache(hub_lib, hub, spec)
    if cached is None or pin is None:
        return None
    if _is_verified(hub, spec, cached, pin.sha256) or sha256_of(cached) == pin.sha256:
        return cached
    return None


def resolve_model_path(model_path: str | None, gguf: str, env: Mapping[str, str], show_progress: bool,
                       sha256: str | None = None) -> str:
    """The GGUF the in-process backend loads: `model_path` when given (checked against `sha256`
    when set), else the Hub file `gguf` names, checked against its pin."""
    if model_path:
        return verify_model_file(model_path, sha256) if sha256 else model_path
    return fetch_gguf(parse_gguf_spec(gguf), env, show_progress, pin_for(gguf, sha256))
