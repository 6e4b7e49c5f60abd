"""A batch rendered into the Request sent to the model, and what a template costs in tokens.

The cost is measured, not guessed: the template is rendered with probe batches and the
differences counted (`template_overhead`); the planner (bot.plan.packing) packs hunks with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.diff.hunk_text import TARGET_TAIL_LINES, hunk_listing
from bot.plan.tokens import TokenEstimator, count_joined_many, listing_of
from bot.prompts.context import DEFAULT_OPTIONS, PromptOptions, file_language, probe_hunk, template_context
from bot.prompts.enclosing import no_context
from bot.prompts.templates import CHAT_ROLES, Template, join_messages
from bot.types import Batch, ChatMessage, Hunk, Line, Request, SourceInfo


def render_request(template: Template, batch: Batch, source: SourceInfo,
                   estimator: TokenEstimator, options: PromptOptions = DEFAULT_OPTIONS) -> Request:
    """Render one batch into the prompt sent to the model; est_tokens counts the whole prompt.

    Through the planner's MemoCounter (bot.pipeline.prepare) the hunk listings the prompt
    prints are not counted again: only the template's text around them is (count_joined).
    """
    return render_requests(template, (batch,), source, estimator, options)[0]


def render_requests(template: Template, batches: Sequence[Batch], source: SourceInfo,
                    estimator: TokenEstimator, options: PromptOptions = DEFAULT_OPTIONS) -> tuple[Request, ...]:
    """render_request of each batch, the template's own text of all the prompts counted together."""
    listing = listing_of(estimator)
    rendered: list[tuple[Batch, str, tuple[ChatMessage, ...], list[str]]] = []
    for batch in batches:
        context = template_context(batch.hunks, source, file_language, template.reads, options, listing)
        messages = template.render_messages(**context) if template.is_chat else ()
        prompt = join_messages(messages) if template.is_chat else template.render(**context)
        rendered.append((batch, prompt, messages, _printed_listings(context)))
    counts = count_joined_many(estimator, [(prompt, printed) for _, prompt, _, printed in rendered])
    return tuple(Request(id=batch.id, hunks=batch.hunks, prompt=prompt, messages=messages,
                         est_tokens=count + (chat_overhead(len(messages)) if template.is_chat else 0))
                 for (batch, prompt, messages, _), count in zip(rendered, counts, strict=True))


def _printed_listings(context: dict[str, Any]) -> list[str]:
    """The hunk listings (and contexts, printed before them) the template read while rendering (a view
    makes its text when read), in the order a template prints them."""
    return [text for file in context["files"] for hunk in file.hunks
            for text in (hunk.__dict__.get("context"), hunk.__dict__.get("text")) if text]


CHAT_TOKENS_PER_MESSAGE = 8  # role markers a chat template wraps each message in (<|im_start|>user\n...)
CHAT_TOKENS_REPLY = 8  # the assistant turn it opens, and a default system line some templates add


def chat_overhead(messages: int) -> int:
    """Tokens a model's chat template adds around `messages` messages (an upper bound)."""
    return messages * CHAT_TOKENS_PER_MESSAGE + CHAT_TOKENS_REPLY


# ---------------------------------------------------------------- token cost of a template

@dataclass(frozen=True)
class TemplateCost:
    """What a template adds around the hunk listings, in tokens (see bot.plan.packing for the sum).

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
    context: int = 0  # what the template prints around a hunk's context ([review] context), when it has one
    context_repeats: int = 0  # times it prints a hunk's context

    def context_cost(self, context_tokens: int) -> int:
        """Tokens a hunk's context adds, from the tokens of its text (0: the hunk has none)."""
        return self.context + self.context_repeats * context_tokens if context_tokens else 0

    def __int__(self) -> int:
        return self.base


_PROBE_PATHS = ("qzxqp/qzxqp.qzxq", "qzxqr/qzxqr.qzxq")
_PROBE_LANGUAGE = "qzxqlang"
_PROBE_CONTEXT = "qzxqctxa"
_SLACK = 2  # differences of rounded counts, and merges at the seams, are off by one or two


def _longprobe_hunk(path: str, start: int) -> Hunk:
    texts = ["qzxqheadc", *["qzxqlinec"] * TARGET_TAIL_LINES]
    lines = tuple(Line(kind="+", old_no=None, new_no=start + i, text=t) for i, t in enumerate(texts))
    return Hunk(path=path, old_start=start - 1, old_len=0, new_start=start, new_len=len(lines),
                header=f"@@ -{start - 1},0 +{start},{len(lines)} @@", lines=lines)


def template_overhead(template: Template, source: SourceInfo, estimator: TokenEstimator,
                      options: PromptOptions = DEFAULT_OPTIONS) -> TemplateCost:
    """Measure `template`'s token cost for this PR's text by rendering five probe batches.

    Probes: no files; one hunk; two hunks of one file; two files; one hunk longer than
    TARGET_TAIL_LINES, whose first line shows whether the target is printed whole or shortened
    (comment_target.diff is target_hunk, see bot.prompts.views). Differences between them
    give the per-file and per-hunk costs; what a non-empty batch prints once (a primer, the
    comment block of starcoder2-pr) is `target`. Probe hunks sit at line ~10^6 so numbers the
    template prints are counted at least as wide as real ones. Pass the result to make_plan.
    """
    p, q = _PROBE_PATHS
    first = probe_hunk(p, 999_990, "qzxqlinea")
    same_file = probe_hunk(p, 999_995, "qzxqlineb")
    other_file = probe_hunk(q, 999_995, "qzxqlineb")

    def render(hunks: Sequence[Hunk]) -> tuple[int, str]:
        text = template.render(**template_context(hunks, source, lambda path: _PROBE_LANGUAGE, options=options))
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
        _, text_long = render((_longprobe_hunk(p, 999_980),))
        target_repeats = min(max(text_long.count("qzxqheadc") - text_files.count("qzxqlineb"), 0), repeats)
    target_path_repeats = max(text_one.count(p) - path_repeats, 0)
    once = (one - empty - per_file - per_hunk - text_one.count(p) * path_tokens
            - text_one.count(_PROBE_LANGUAGE) * language_tokens - text_one.count("qzxqlinea") * first_tokens)
    context = context_repeats = 0
    if options.context is not no_context:  # measured only when hunks may have one: else nothing changes
        probe_options = replace(options, context=lambda hunk: _PROBE_CONTEXT if hunk is first else "")
        text = template.render(**template_context((first,), source, lambda path: _PROBE_LANGUAGE,
                                                  options=probe_options))
        context_repeats = text.count(_PROBE_CONTEXT)
        if context_repeats:
            extra = count(text) - one - context_repeats * count(_PROBE_CONTEXT)
            context = max(extra, 0) + _SLACK
    return TemplateCost(
        base=empty + (chat_overhead(len(CHAT_ROLES)) if template.is_chat else 0),
        per_file=max(per_file, 0) + _SLACK, path_repeats=path_repeats,
        language_repeats=max(language_repeats, 0), per_hunk=max(per_hunk, 0) + _SLACK,
        target=max(once, 0) + _SLACK, target_repeats=target_repeats, target_tail_repeats=repeats - target_repeats,
        target_path_repeats=target_path_repeats, context=context, context_repeats=context_repeats)
