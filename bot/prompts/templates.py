"""Prompt templates: lookup, declarations and loading (rendering and cost: bot.prompts.render).

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

Hunk text reaches templates pre-rendered by `hunk_listing` / `hunk_diff` (bot.diff.hunk_text), the
same functions the planner counts, so the planner's estimate bounds what the template prints.
The views that carry it (bot.prompts.views) make it when a template first reads it; the
variables a template gets are built in bot.prompts.context.
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
from bot.prompts.context import file_language, probe_hunk, template_context
from bot.prompts.views import VIEW_DATA
from bot.types import ChatMessage, SourceInfo

PACKAGE = "bot.prompts_pkg"
SUFFIX = ".j2"
PARSERS = ("diagnostics", "pr-comment")
MAX_STOPS = 4  # TGI refuses more stop sequences

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_DECLARATION = re.compile(r"\A\{#-?[ \t]*review-bot[ \t]*\n(.*?)-?#\}", re.S)
_KEYS = ("parser", "stop", "about", "mode")
MODES = ("completion", "chat")
# The blocks a chat template may define, in the order they are sent.
CHAT_ROLES: tuple[Literal["system", "user"], ...] = ("system", "user")


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
    for probe in ([probe_hunk("src/probe.py", 10, "x")], []):
        template.render(**template_context(probe, probe_source, file_language, template.reads))
    return template


def _variables_read(env: jinja2.Environment, source: str) -> frozenset[str] | None:
    """The context variables a template's source reads; None when another template it includes,
    imports or extends may read more."""
    tree = env.parse(source)
    if any(True for _ in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends))):
        return None
    return frozenset(meta.find_undeclared_variables(tree))


