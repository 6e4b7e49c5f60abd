"""One frozen `Settings`: defaults < .github/review-bot.toml < environment < command-line flags.

The TOML schema is the dataclasses below: a key the dataclass does not have, or a value of
the wrong type, is a ConfigError naming the file, the key and what was expected.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from bot.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_CONFIG_PATH = Path(".github/review-bot.toml")
DEFAULT_MODEL = "bigcode/starcoder2-15b"
DEFAULT_CONTEXT_WINDOW = 16384  # StarCoder2's, when neither the settings nor the model say
HF_ROUTER_ENDPOINT = "https://router.huggingface.co/hf-inference/models/{model}"
OPENAI_LOCAL_ENDPOINT = "http://127.0.0.1:8080"
# The in-process default: StarCoder2-3B, 4-bit (Q4_K_M), on the Hugging Face Hub, pinned to a revision.
DEFAULT_GGUF = ("QuantFactory/starcoder2-3b-GGUF/starcoder2-3b.Q4_K_M.gguf"
                "@f1d94bb41d6559d2b340396fcadcfab80627ac49")
# The sha256 of the default's bytes (the Hub's LFS oid, also its X-Linked-Etag), pinned beside the
# revision so that a cached copy is checked against this, not against its own file name. None:
# not known to this build (it could not be looked up offline); then `gguf_sha256` must carry it
# for a cached copy to be used without asking the Hub (bot.backends.model_fetch).
DEFAULT_GGUF_SHA256: str | None = None
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

@dataclass(frozen=True)
class GgufSpec:
    repo_id: str
    filename: str
    revision: str

    def __str__(self) -> str:
        return f"{self.repo_id}/{self.filename}@{self.revision}"


def parse_gguf_spec(text: str) -> GgufSpec:
    """`OWNER/REPO/FILE[@REVISION]` ([model] gguf) (FILE may sit in folders); the revision defaults to main."""
    spec, at, revision = text.strip().partition("@")
    parts = spec.split("/")
    if len(parts) < 3 or not all(parts) or (at and not revision) or not parts[-1].endswith(".gguf"):
        raise ConfigError(f"[model] gguf {text!r}: expected REPO/FILE.gguf@REVISION, for example {DEFAULT_GGUF!r}")
    return GgufSpec(repo_id="/".join(parts[:2]), filename="/".join(parts[2:]), revision=revision or "main")


Api = Literal["hf", "openai", "openai-chat", "llama-cpp"]
SeverityName = Literal["info", "warning", "error"]
FailOn = Literal["never", "info", "warning", "error"]
PromptContext = Literal["diff", "function"]
RankBy = Literal["list", "surprise"]
OutputFormat = Literal["text", "json", "markdown", "sarif", "github"]


@dataclass(frozen=True)
class ModelSettings:
    api: Api = "llama-cpp"  # in process: no account, no server
    endpoint: str | None = None  # None: derived from `api` (see Settings.endpoint_url)
    model: str = DEFAULT_MODEL
    token_env: str = "HF_TOKEN"
    max_new_tokens: int = 512
    temperature: float = 0.2
    top_p: float = 0.95
    # None: the model's own limit (the GGUF's trained context; what a server advertises), else 16384.
    context_window: int | None = None
    timeout_s: float = 120.0
    connect_timeout_s: float = 10.0
    max_retries: int = 5
    # None: count by the text's shapes (bot.plan.tokens.ShapeEstimator, an upper bound); a number:
    # characters per token, which undercounts hashes and overcounts plain code.
    chars_per_token: float | None = None
    tokenizer_file: str | None = None  # a local StarCoder2 tokenizer.json for exact counts
    model_path: str | None = None  # GGUF file on disk for api = "llama-cpp"; wins over `gguf`
    gguf: str = DEFAULT_GGUF  # REPO/FILE@REVISION on the Hub for api = "llama-cpp", fetched once and cached
    gguf_sha256: str | None = None  # sha256 of the GGUF loaded (`gguf` or `model_path`); None: the default's pin


@dataclass(frozen=True)
class BudgetSettings:
    max_requests: int = 40
    max_prompt_tokens: int = 400_000
    requests_per_minute: float = 60.0
    concurrency: int = 2
    max_wait_s: float = 120.0  # cap on any single wait the server asks for
    safety_margin_tokens: int = 256
    # Wall-clock minutes for the whole run, from the command's start: no request starts that the
    # measured speed says cannot end in time; the rest is skipped (time_budget) and what was found
    # is posted. 45 fits a job with `timeout-minutes: 60` (setup from the caches, posting, and one
    # request running past its estimate).
    max_minutes: float = 45.0
    # Largest prompt of one request, in tokens; unset: by backend (in process 2048, a server 4096), 0: no cap.
    max_request_tokens: int | None = None


@dataclass(frozen=True)
class ReviewSettings:
    # unset: by the model, review-chat for a chat model (api openai-chat, a GGUF with a chat template), else review
    template: str | None = None
    prompts_dir: str | None = ".github/review-bot"
    # review-chat tells the model a deleted line can be the bug (held-out sets, 10 cases each: no bug more
    # found, more findings on werkzeug: off)
    point_at_removals: bool = False
    # drop findings that claim nothing ("`x` should be `x`", only code, "None"); off: on the held-out
    # sets' 30 cases each it cost one found bug on werkzeug and two on requests (jinja dev set: 2 of 25
    # hits) for fewer findings
    drop_vacuous: bool = False
    # one short yes/no request per finding; a finding the model does not stand by is dropped (off: on the held-out
    # sets Qwen2.5-Coder-1.5B's probability of yes was lower for the findings near a bug, AUC 0.34 on both)
    confirm_findings: bool = False
    # with confirm_findings, in process: the least probability of "yes" (against "no") as the answer's first
    # token that keeps a finding; a backend that tells no probabilities drops on an answer beginning "no"
    confirm_min_yes: float = 0.5
    # 0: off; k: where a run has more than k findings, two more requests show the model all of them (up to 9) as a
    # list, in order and reversed, and ask which is most likely real; the k it ranks highest stay (off: 1 kept
    # none of the 30 bugs of jinja with whole-file decoys, the development set; docs/quality.md)
    keep_best: int = 0
    # how keep_best ranks: list (the model asked which finding of a list is most likely real) or surprise (the
    # model's surprise at the added code near each finding, read without asking; in process only); surprise with
    # keep_best 1, chosen on jinja (6 of 30 bugs at one finding a case), found 1 and 2 of 20 held out: chance
    rank_by: RankBy = "list"
    # what the prompt shows beside each hunk: the diff alone, or also (function) the enclosing def or class of a
    # Python hunk from the head file, read-only, at most 60 lines; needs head files (a git range, a pull
    # request: at most 20 files read at the head commit, or the eval; a diff file has none); off (diff): on the
    # held-out sets it found more on one set and less on the other, at up to 5.8 findings a case
    context: PromptContext = "diff"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_severity: SeverityName = "warning"
    max_comments: int = 30
    max_comments_per_file: int = 5
    max_file_lines: int = 5000  # changed lines per file; larger files are skipped as too_large
    review_drafts: bool = False
    incremental: bool = True
    fail_on: FailOn = "never"
    redact_secrets: bool = True
    post_empty_review: bool = False


@dataclass(frozen=True)
class OutputSettings:
    format: OutputFormat = "text"
    path: str | None = None  # None: stdout
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose


@dataclass(frozen=True)
class Settings:
    model: ModelSettings = field(default_factory=ModelSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    review: ReviewSettings = field(default_factory=ReviewSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    config_path: str | None = None  # where the TOML came from, for messages

    @property
    def endpoint_url(self) -> str:
        """The endpoint with `{model}` filled in, or the default for the api."""
        endpoint = self.model.endpoint
        if endpoint is None:
            endpoint = HF_ROUTER_ENDPOINT if self.model.api == "hf" else OPENAI_LOCAL_ENDPOINT
        return endpoint.replace("{model}", self.model.model)

    @property
    def model_label(self) -> str:
        """What the model is called in logs and summaries: a local GGUF by its file name."""
        if self.model.api == "llama-cpp":
            return Path(self.model.model_path or self.model.gguf.partition("@")[0]).name
        return self.model.model

    @property
    def window(self) -> int:
        """The context window the planner packs for: the configured or discovered one, else 16384."""
        return self.model.context_window or DEFAULT_CONTEXT_WINDOW

    def token(self, env: Mapping[str, str]) -> str | None:
        value = env.get(self.model.token_env, "").strip()
        return value or None


SECTIONS: dict[str, type] = {"model": ModelSettings, "budget": BudgetSettings, "review": ReviewSettings}

ENV_OVERRIDES = {
    "REVIEW_BOT_API": ("model", "api"),
    "REVIEW_BOT_ENDPOINT": ("model", "endpoint"),
    "REVIEW_BOT_GGUF": ("model", "gguf"),
    "REVIEW_BOT_GGUF_SHA256": ("model", "gguf_sha256"),
    "REVIEW_BOT_MODEL": ("model", "model"),
    "REVIEW_BOT_TEMPLATE": ("review", "template"),
}


def _describe(expected: Any) -> str:
    origin = get_origin(expected)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(expected))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(expected) if a is not type(None))
    if origin is tuple:
        return "a list of strings"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        expected, str(expected))


def _coerce(value: Any, expected: Any, where: str) -> Any:
    """Check `value` against a dataclass field type; return it in the field's own form."""
    origin = get_origin(expected)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(expected) if a is not type(None)]
        if value is None and type(None) in get_args(expected):
            return None
        for option in options:
            try:
                return _coerce(value, option, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {_describe(expected)}, got {value!r}")
    if origin is Literal:
        if value in get_args(expected):
            return value
        raise ConfigError(f"{where}: expected {_describe(expected)}, got {value!r}")
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    if expected is bool:
        if isinstance(value, bool):
            return value
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif expected is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif expected is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"{where}: expected {_describe(expected)}, got {value!r}")


def _check_ranges(settings: Settings, origin: str) -> None:
    positive = {
        ("model", "max_new_tokens"), ("model", "context_window"), ("model", "timeout_s"),
        ("model", "chars_per_token"), ("budget", "concurrency"), ("budget", "requests_per_minute"),
        ("budget", "max_minutes"),
        ("review", "max_comments_per_file"), ("review", "max_file_lines"),
    }
    for section, key in positive:
        value = getattr(getattr(settings, section), key)
        if value is not None and value <= 0:
            raise ConfigError(f"{origin}: [{section}] {key} must be greater than 0, got {value!r}")
    for section, key in (("budget", "max_requests"), ("budget", "max_prompt_tokens"),
                         ("budget", "max_request_tokens"), ("review", "max_comments"), ("review", "keep_best"),
                         ("model", "max_retries")):
        value = getattr(getattr(settings, section), key)
        if value is not None and value < 0:
            raise ConfigError(f"{origin}: [{section}] {key} must not be negative, got {value!r}")
    if not 0.0 <= settings.review.confirm_min_yes <= 1.0:
        raise ConfigError(f"{origin}: [review] confirm_min_yes must be between 0 and 1, "
                          f"got {settings.review.confirm_min_yes!r}")
    if settings.review.rank_by == "surprise" and settings.model.api != "llama-cpp":
        raise ConfigError(f"{origin}: [review] rank_by = 'surprise' reads the model's probabilities of the code's "
                          f"tokens, which only api 'llama-cpp' (in process) gives, not {settings.model.api!r}; "
                          "use rank_by = 'list'")
    if settings.model.api == "llama-cpp" and settings.model.endpoint:
        raise ConfigError(f"{origin}: [model] endpoint {settings.model.endpoint!r} is for a model server, but api is "
                          "'llama-cpp' (the default: in process); set api = 'hf', 'openai' or 'openai-chat' (--api) "
                          "to use it")
    if settings.model.api == "llama-cpp" and not settings.model.model_path:
        try:
            parse_gguf_spec(settings.model.gguf)
        except ConfigError as err:
            raise ConfigError(f"{origin}: {err}") from None
    pin = settings.model.gguf_sha256
    if pin is not None and not _SHA256_HEX.fullmatch(pin):
        raise ConfigError(f"{origin}: [model] gguf_sha256 {pin[:80]!r}: expected 64 lowercase hex digits "
                          "(the sha256 the Hub lists for the file)")
    if settings.model.max_new_tokens >= settings.window:
        raise ConfigError(f"{origin}: [model] max_new_tokens must be smaller than context_window")


def apply_section_values(settings: Settings, values: Mapping[str, Mapping[str, Any]], origin: str) -> Settings:
    """Overlay `{section: {key: value}}` on `settings`, validating every key and type."""
    updated = settings
    for section, section_values in values.items():
        if section not in SECTIONS:
            raise ConfigError(f"{origin}: unknown section [{section}]; expected one of "
                              + ", ".join(f"[{s}]" for s in SECTIONS))
        if not isinstance(section_values, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table of keys")
        current = getattr(updated, section)
        hints = get_type_hints(type(current))
        known = {f.name for f in fields(current)}
        changes = {}
        for key, value in section_values.items():
            if key not in known:
                raise ConfigError(f"{origin}: unknown key '{key}' in [{section}]; expected one of "
                                  + ", ".join(sorted(known)))
            changes[key] = _coerce(value, hints[key], f"{origin}: [{section}] {key}")
        updated = replace(updated, **{section: replace(current, **changes)})
    return updated


def parse_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{origin}: not valid TOML ({err}); fix the syntax or remove the file") from None


def load_settings(
    config_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    output: OutputSettings | None = None,
    config_text: str | None = None,
    config_origin: str | None = None,
) -> Settings:
    """Build Settings: defaults, then the TOML (a path, or text fetched elsewhere), env, flags.

    An explicit `config_path` that does not exist is an error; the default path may be absent.
    """
    env = env if env is not None else {}
    settings = Settings()
    origin = config_origin or "config"
    if config_text is None:
        path = Path(config_path) if config_path is not None else DEFAULT_CONFIG_PATH
        origin = str(path)
        if path.is_file():
            try:
                config_text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigError(f"{path}: cannot read the config file ({err})") from None
        elif config_path is not None:
            raise ConfigError(f"{path}: config file not found; pass an existing file to --config")
    if config_text is not None:
        settings = apply_section_values(settings, parse_toml(config_text, origin), origin)
        settings = replace(settings, config_path=origin)
    env_values: dict[str, dict[str, Any]] = {}
    for name, (section, key) in ENV_OVERRIDES.items():
        if env.get(name):
            env_values.setdefault(section, {})[key] = env[name]
    settings = apply_section_values(settings, env_values, "environment")
    if overrides:
        settings = apply_section_values(settings, overrides, "command line")
    if output is not None:
        settings = replace(settings, output=output)
    _check_ranges(settings, settings.config_path or "settings")
    return settings
