"""Prompt templates: lookup, declarations, hunk listings, rendering and their token cost.

Templates are Jinja files (`prompts/*.j2`, overridable from the repository's prompts_dir).
Each one declares how its output is parsed and where generation stops, in a leading comment:

    {#- review-bot
    parser: diagnostics
    stop: ["\\n\\n", "\\n$ "]
    -#}

`parser` is `diagnostics` or `pr-comment`; `stop` is a JSON list of at most 4 strings (TGI's
limit); an optional `about:` line describes the template. Nothing in the comment is executed.
`mode: chat` makes a chat template: it gives its messages as `{% block system %}` (optional)
and `{% block user %}`, sent as chat messages (`api = "openai-chat"`, or in process with the
model's own chat template); the default, `mode: completion`, renders one prompt.

Hunk text reaches templates pre-rendered by `hunk_listing` / `hunk_diff` (bot.hunk_text), the
same functions the planner counts, so the planner's estimate bounds what the template prints.
The views that carry it (bot.prompt_views) make it when a template first reads it. PR text is
truncated the way StarCoder2's training data was, and only ever printed as data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.errors import ConfigError
from bot.hunk_text import MIN_NUMBER_WIDTH as MIN_NUMBER_WIDTH
from bot.hunk_text import TARGET_TAIL_LINES
from bot.hunk_text import defuse as defuse
from bot.hunk_text import display_path as display_path
from bot.hunk_text import hunk_diff as hunk_diff
from bot.hunk_text import hunk_listing as hunk_listing
from bot.hunk_text import hunk_section as hunk_section
from bot.hunk_text import number_width as number_width
from bot.hunk_text import render_line as render_line
from bot.languages import language_for
from bot.prompt_views import VIEW_DATA
from bot.prompt_views import FileView as FileView
from bot.prompt_views import HunkView as HunkView
from bot.prompt_views import TargetView as TargetView
from bot.prompt_views import comment_target as comment_target
from bot.prompt_views import group_files as group_files
from bot.prompt_views import target_hunk as target_hunk
from bot.prompt_views import target_view as _target_view
from bot.tokens import TokenEstimator
from bot.types import Batch, ChatMessage, Hunk, Line, Request, SourceInfo

PACKAGE = "bot.prompts_pkg"
SUFFIX = ".j2"
PARSERS = ("diagnostics", "pr-comment")
MAX_STOPS = 4  # TGI refuses more stop sequences
MAX_TITLE_CHARS = 500
MAX_DESCRIPTION_CHARS = 1000
DESCRIPTION_HEAD_LINES = 60
DESCRIPTION_TAIL_LINES = 20
TRUNCATED = "[TRUNCATED]"  # the marker StarCoder2's PR data used

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_DECLARATION = re.compile(r"\A\{#-?[ \t]*review-bot[ \t]*\n(.*?)-?#\}", re.S)
_KEYS = ("parser", "stop", "about", "mode")
MODES = ("completion", "chat")
# The blocks a chat template may define, in the order they are sent.
CHAT_ROLES: tuple[Literal["system", "user"], ...] = ("system", "user")

# ---------------------------------------------------------------- untrusted PR text

def one_line(text: str) -> str:
    return " ".join(text.split())


def truncate_title(title: str) -> str:
    """One line, at most 500 characters, special tokens defused."""
    return defuse(one_line(title))[:MAX_TITLE_CHARS]


def truncate_description(text: str) -> str:
    """HTML comments dropped; past 80 lines the first 60 and last 20; at most 1,000 characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # PR templates are mostly <!-- hints -->; StarCoder2's data dropped them the same way.
    text = "".join(part.rsplit("-->", 1)[-1] for part in text.split("<!--"))
    lines = text.strip().split("\n")
    if len(lines) > DESCRIPTION_HEAD_LINES + DESCRIPTION_TAIL_LINES:
        lines = [*lines[:DESCRIPTION_HEAD_LINES], TRUNCATED, *lines[-DESCRIPTION_TAIL_LINES:]]
    return defuse("\n".join(lines))[:MAX_DESCRIPTION_CHARS].strip()


# ---------------------------------------------------------------- loading

@dataclass(frozen=True)
class Template:
    name: str
    parser: str  # "diagnostics" | "pr-comment"
    stop: tuple[str, ...]
    origin: str  # the file it came from, for messages
    about: str = ""
    jinja: jinja2.Template | None = field(default=None, compare=False, repr=False)
    # The variables the template reads (None: unknown, all of them): the others are not computed.
    reads: frozenset[str] | None = field(default=None, compare=False, repr=False)
    mode: str = "completion"  # or "chat"

    @property
    def is_chat(self) -> bool:
        return self.mode == "chat"

    def render(self, **context: Any) -> str:
        """The prompt; for a chat template, its messages' texts one after another."""
        if self.is_chat:
            return join_messages(self.render_messages(**context))
        return self._guarded(lambda jinja: jinja.render(**context), context)

    def render_messages(self, **context: Any) -> tuple[ChatMessage, ...]:
        """A chat template's messages: its `system` block (if any), then its `user` block."""

        def blocks(jinja: jinja2.Template) -> tuple[ChatMessage, ...]:
            made = jinja.new_context(context)
            return tuple(ChatMessage(role, "".join(jinja.blocks[role](made)).strip("\n"))
                         for role in CHAT_ROLES if role in jinja.blocks)

        return self._guarded(blocks, context)

    def _guarded(self, render: Callable[[jinja2.Template], Any], context: dict[str, Any]) -> Any:
        if self.jinja is None:
            raise ConfigError(f"{self.origin}: template was not loaded; use load_template()")
        try:
            return render(self.jinja)
        # A repository's template can fail at run time in these ways too (a filter on the wrong type).
        except (jinja2.TemplateError, TypeError, ValueError, LookupError, ArithmeticError) as err:
            raise ConfigError(f"{self.origin}: {err}; fix the template (variables: "
                              + ", ".join(sorted(context)) + ")") from None


def join_messages(messages: Sequence[ChatMessage]) -> str:
    """Chat messages as one text, for logs, token counts and the primer check."""
    return "\n\n".join(m.content for m in messages)


def _packaged_source(name: str) -> tuple[str, str, Callable[[], bool]] | None:
    resource = resources.files(PACKAGE).joinpath(name)
    if not _NAME.match(name) or not resource.is_file():
        return None
    return resource.read_text(encoding="utf-8"), f"packaged {name}", lambda: True


def packaged_templates() -> tuple[str, ...]:
    """Names of the prompt templates shipped with the bot."""
    return tuple(sorted(r.name[: -len(SUFFIX)] for r in resources.files(PACKAGE).iterdir()
                        if r.name.endswith(SUFFIX) and not r.name.endswith(".md" + SUFFIX)))


def make_environment(prompts_dir: str | None) -> jinja2.Environment:
    """Repository templates first (if the directory exists), then the packaged ones."""
    loaders: list[jinja2.BaseLoader] = []
    if prompts_dir and Path(prompts_dir).is_dir():
        loaders.append(jinja2.FileSystemLoader(prompts_dir))
    loaders.append(jinja2.FunctionLoader(_packaged_source))
    # Sandboxed: a repository's template may be edited by contributors; it gets data, not Python.
    return _Sandbox(
        loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined, autoescape=False,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, reading the data attributes of our own view types directly.

    For them the sandbox's checks (per attribute read: is it private, a function's internals,
    a method that mutates?) always pass, so they are skipped: a prompt reads a few per hunk.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute in VIEW_DATA.get(type(obj), ()):
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)


def find_template(env: jinja2.Environment, name: str, prompts_dir: str | None) -> tuple[jinja2.Template, str, str]:
    filename = name + SUFFIX
    looked = ([f"{prompts_dir}/{filename}"] if prompts_dir else []) + [f"the packaged templates ({PACKAGE})"]
    if not _NAME.match(name):
        raise ConfigError(f"template name {name!r} is not a plain name; use one of "
                          + ", ".join(packaged_templates()) + " or a file name in prompts_dir")
    if env.loader is None:
        raise ConfigError(f"{filename}: no template loader; build the environment with make_environment()")
    try:
        source, origin, _ = env.loader.get_source(env, filename)
        return env.get_template(filename), source, origin or filename
    except jinja2.TemplateNotFound:
        raise ConfigError(f"template '{name}' not found: looked in " + " and ".join(looked)
                          + "; set [review] template to one of " + ", ".join(packaged_templates())
                          + f" or add {filename} to prompts_dir") from None
    except jinja2.TemplateSyntaxError as err:
        raise ConfigError(f"{err.filename or filename}:{err.lineno}: template syntax error: {err.message}; "
                          "fix the template") from None


def parse_declaration(source: str, origin: str) -> tuple[str, tuple[str, ...], str]:
    """(parser, stop, about) from the leading `{#- review-bot ... -#}` comment of a template."""
    values = _declaration_values(source, origin)
    parser = values.get("parser", "").strip('"')
    if parser not in PARSERS:
        raise ConfigError(f"{origin}: declaration 'parser' must be one of {', '.join(PARSERS)}, "
                          f"got {parser or 'nothing'!r}")
    if "stop" not in values:
        raise ConfigError(f"{origin}: declaration needs a 'stop' line, a JSON list like [\"\\n\\n\"] (or [])")
    try:
        stop = json.loads(values["stop"])
    except json.JSONDecodeError:
        stop = None
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise ConfigError(f"{origin}: declaration 'stop' must be a JSON list of non-empty strings, "
                          f"got {values['stop']!r}")
    if len(stop) > MAX_STOPS:
        raise ConfigError(f"{origin}: declaration lists {len(stop)} stop strings; TGI accepts at most "
                          f"{MAX_STOPS}, keep the {MAX_STOPS} that matter")
    return parser, tuple(stop), values.get("about", "")


def declared_mode(source: str, origin: str) -> str:
    """`completion` or `chat`, from the declaration's optional `mode:` line."""
    mode = _declaration_values(source, origin).get("mode", "completion").strip('"')
    if mode not in MODES:
        raise ConfigError(f"{origin}: declaration 'mode' must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def _declaration_values(source: str, origin: str) -> dict[str, str]:
    example = '{#- review-bot / parser: diagnostics / stop: ["\\n\\n"] / -#} (one key a line)'
    match = _DECLARATION.match(source)
    if match is None:
        raise ConfigError(f"{origin}: no review-bot declaration; start the template with {example}")
    values: dict[str, str] = {}
    for raw in match.group(1).splitlines():
        if not raw.strip():
            continue
        key, sep, value = raw.partition(":")
        key = key.strip()
        if not sep or key not in _KEYS:
            raise ConfigError(f"{origin}: declaration line {raw.strip()!r} is not one of "
                              + ", ".join(f"'{k}: ...'" for k in _KEYS))
        values[key] = value.strip()
    return values


def load_template(name: str, prompts_dir: str | None) -> Template:
    """Load `name` (file `name.j2`) from prompts_dir, else from the packaged templates.

    The template is rendered with a small probe batch and with no files, so a typo'd variable
    fails here (StrictUndefined) rather than after the first model request.
    """
    env = make_environment(prompts_dir)
    jinja, source, origin = find_template(env, name, prompts_dir)
    parser, stop, about = parse_declaration(source, origin)
    mode = declared_mode(source, origin)
    if mode == "chat" and "user" not in jinja.blocks:
        raise ConfigError(f"{origin}: a chat template gives its messages as blocks; add "
                          "{% block user %}...{% endblock %} (and optionally {% block system %})")
    template = Template(name=name, parser=parser, stop=stop, origin=origin, about=about, jinja=jinja,
                        reads=_variables_read(env, source), mode=mode)
    probe_source = SourceInfo(kind="diff", title="t", body="d")
    _render(template, [_probe_hunk("src/probe.py", 10, "x")], probe_source)
    _render(template, [], probe_source)
    return template


def _variables_read(env: jinja2.Environment, source: str) -> frozenset[str] | None:
    """The context variables a template's source reads; None when another template it includes,
    imports or extends may read more."""
    tree = env.parse(source)
    if any(True for _ in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends))):
        return None
    return frozenset(meta.find_undeclared_variables(tree))


# ---------------------------------------------------------------- rendering

def _context(hunks: Sequence[Hunk], source: SourceInfo, languages: Callable[[str], str | None],
             reads: frozenset[str] | None = None) -> dict[str, Any]:
    # Only comment_target costs a pass over the lines; a template that never reads it gets None.
    target = _target_view(hunks) if reads is None or "comment_target" in reads else None
    return {"files": group_files(hunks, languages), "title": truncate_title(source.title),
            "description": truncate_description(source.body), "repo": source.repo,
            "comment_target": target}


def file_language(path: str) -> str | None:
    """The language templates are told for `path` (plan.py prices the same name)."""
    return language_for(path)


def _render(template: Template, hunks: Sequence[Hunk], source: SourceInfo,
            languages: Callable[[str], str | None] = file_language) -> str:
    return template.render(**_context(hunks, source, languages, template.reads))


def render_request(template: Template, batch: Batch, source: SourceInfo,
                   estimator: TokenEstimator) -> Request:
    """Render one batch into the prompt sent to the model; est_tokens counts the whole prompt."""
    if template.is_chat:
        context = _context(batch.hunks, source, file_language, template.reads)
        messages = template.render_messages(**context)
        prompt = join_messages(messages)
        return Request(id=batch.id, hunks=batch.hunks, prompt=prompt, messages=messages,
                       est_tokens=estimator.count(prompt) + chat_overhead(len(messages)))
    prompt = _render(template, batch.hunks, source)
    return Request(id=batch.id, hunks=batch.hunks, prompt=prompt, est_tokens=estimator.count(prompt))


CHAT_TOKENS_PER_MESSAGE = 8  # role markers a chat template wraps each message in (<|im_start|>user\n...)
CHAT_TOKENS_REPLY = 8  # the assistant turn it opens, and a default system line some templates add


def chat_overhead(messages: int) -> int:
    """Tokens a model's chat template adds around `messages` messages (an upper bound)."""
    return messages * CHAT_TOKENS_PER_MESSAGE + CHAT_TOKENS_REPLY


# ---------------------------------------------------------------- token cost of a template

@dataclass(frozen=True)
class TemplateCost:
    """What a template adds around the hunk listings, in tokens (see plan.py for the sum).

    request tokens <= base + sum over files (per_file + path_repeats * tokens(path)
    + language_repeats * tokens(language)) + sum over hunks (per_hunk + tokens(hunk_listing))
    + target + target_repeats * (largest hunk) + target_tail_repeats * (largest target_hunk)
    + target_path_repeats * (longest path).
    """

    base: int  # the template with no files, PR title and description included
    per_file: int = 16
    path_repeats: int = 2
    language_repeats: int = 1
    per_hunk: int = 4
    target: int = 0  # printed once by a non-empty batch (a primer, a comment block)
    target_repeats: int = 0  # times the comment_target hunk is printed again, whole
    target_tail_repeats: int = 0  # times it is printed shortened, as target_hunk (comment_target.diff)
    target_path_repeats: int = 0  # times a path is printed again once per batch

    def __int__(self) -> int:
        return self.base


_PROBE_PATHS = ("qzxqp/qzxqp.qzxq", "qzxqr/qzxqr.qzxq")
_PROBE_LANGUAGE = "qzxqlang"
_SLACK = 2  # differences of rounded counts, and merges at the seams, are off by one or two


def _probe_hunk(path: str, start: int, text: str) -> Hunk:
    line = Line(kind="+", old_no=None, new_no=start, text=text)
    return Hunk(path=path, old_start=start - 1, old_len=0, new_start=start, new_len=1,
                header=f"@@ -{start - 1},0 +{start},1 @@", lines=(line,))


def _long_probe_hunk(path: str, start: int) -> Hunk:
    texts = ["qzxqheadc", *["qzxqlinec"] * TARGET_TAIL_LINES]
    lines = tuple(Line(kind="+", old_no=None, new_no=start + i, text=t) for i, t in enumerate(texts))
    return Hunk(path=path, old_start=start - 1, old_len=0, new_start=start, new_len=len(lines),
                header=f"@@ -{start - 1},0 +{start},{len(lines)} @@", lines=lines)


def template_overhead(template: Template, source: SourceInfo, estimator: TokenEstimator) -> TemplateCost:
    """Measure `template`'s token cost for this PR's text by rendering five probe batches.

    Probes: no files; one hunk; two hunks of one file; two files; one hunk longer than
    TARGET_TAIL_LINES, whose first line shows whether the target is printed whole or shortened
    (comment_target.diff is target_hunk, see prompt_views). Differences between them
    give the per-file and per-hunk costs; what a non-empty batch prints once (a primer, the
    comment block of starcoder2-pr) is `target`. Probe hunks sit at line ~10^6 so numbers the
    template prints are counted at least as wide as real ones. Pass the result to make_plan.
    """
    p, q = _PROBE_PATHS
    first = _probe_hunk(p, 999_990, "qzxqlinea")
    same_file = _probe_hunk(p, 999_995, "qzxqlineb")
    other_file = _probe_hunk(q, 999_995, "qzxqlineb")

    def render(hunks: Sequence[Hunk]) -> tuple[int, str]:
        text = template.render(**_context(hunks, source, lambda path: _PROBE_LANGUAGE))
        return estimator.count(text), text

    count = estimator.count
    path_tokens, language_tokens = count(p), count(_PROBE_LANGUAGE)
    first_tokens, second_tokens = count(hunk_listing(first)), count(hunk_listing(same_file))
    empty, _ = render(())
    one, text_one = render((first,))
    two, text_two = render((first, same_file))
    files, text_files = render((first, other_file))
    # The second hunk is never the comment target (ties go to the first): it shows the plain cost.
    per_hunk = (two - one - max(text_two.count("qzxqlineb"), 1) * second_tokens
                - (text_two.count(p) - text_one.count(p)) * path_tokens)
    path_repeats = text_files.count(q)
    language_repeats = text_files.count(_PROBE_LANGUAGE) - text_two.count(_PROBE_LANGUAGE)
    per_file = (files - two - path_repeats * path_tokens - language_repeats * language_tokens
                - (text_files.count("qzxqlineb") - text_two.count("qzxqlineb")) * second_tokens)
    repeats = max(text_one.count("qzxqlinea") - text_files.count("qzxqlineb"), 0)
    target_repeats = repeats
    if template.reads is None or "comment_target" in template.reads:
        # Only a whole print of the long probe shows its first line; a shortened one stops before it.
        _, text_long = render((_long_probe_hunk(p, 999_980),))
        target_repeats = min(max(text_long.count("qzxqheadc") - text_files.count("qzxqlineb"), 0), repeats)
    target_path_repeats = max(text_one.count(p) - path_repeats, 0)
    once = (one - empty - per_file - per_hunk - text_one.count(p) * path_tokens
            - text_one.count(_PROBE_LANGUAGE) * language_tokens - text_one.count("qzxqlinea") * first_tokens)
    return TemplateCost(
        base=empty + (chat_overhead(len(CHAT_ROLES)) if template.is_chat else 0),
        per_file=max(per_file, 0) + _SLACK, path_repeats=path_repeats,
        language_repeats=max(language_repeats, 0), per_hunk=max(per_hunk, 0) + _SLACK,
        target=max(once, 0) + _SLACK, target_repeats=target_repeats, target_tail_repeats=repeats - target_repeats,
        target_path_repeats=target_path_repeats)
