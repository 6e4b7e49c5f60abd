"""`review-bot eval --set DIR`: review quality on a labelled set (bot/eval/), one row per template
plus two reviewers without a model; written as text/markdown or json. With `--agree-with CONFIG`,
each template also runs under CONFIG (a second sample) and an agreement row follows its two rows
(bot/eval/agreement.py)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from bot.cli.shared import dump_json, settings_from_args, write_output
from bot.config import Settings, parse_toml
from bot.errors import InputError
from bot.eval.agreement import agreement_row
from bot.eval.cases import TEMPLATES, load_cases, reference_rows, with_haystack
from bot.eval.report import render_markdown
from bot.eval.run import build_report, model_row
from bot.progress import Progress


def eval_settings(args: argparse.Namespace, env: Mapping[str, str], template: str) -> Settings:
    """The user's settings for one template; min_severity info unless a flag or the config sets it."""
    settings = settings_from_args(argparse.Namespace(**{**vars(args), "template": template}), env)
    if args.min_severity is None and not _config_sets_severity(settings):
        settings = replace(settings, review=replace(settings.review, min_severity="info"))
    return settings


def _config_sets_severity(settings: Settings) -> bool:
    if not settings.config_path:
        return False
    try:
        text = Path(settings.config_path).read_text(encoding="utf-8")
    except OSError:
        return False
    review = parse_toml(text, settings.config_path).get("review", {})
    return isinstance(review, dict) and "min_severity" in review


def eval_command(args: argparse.Namespace, env: Mapping[str, str], progress: Progress) -> int:
    names = _template_names(args, env)
    cases = load_cases(args.eval_set, args.limit, skip=args.skip)
    if args.haystack:
        cases = with_haystack(cases, args.haystack, args.haystack_hunks, args.haystack_files)
    settings_for: dict[str, Settings] = {name: eval_settings(args, env, name) for name in names}
    first = settings_for[names[0]]
    second_for: dict[str, Settings] = {}
    if args.agree_with:  # read now: a config error ends the eval before any model time is spent
        if not Path(args.agree_with).is_file():
            raise InputError(f"--agree-with {args.agree_with}: no such config file; give the config of the "
                             "second sample, e.g. bench/eval/qwen-r0.toml")
        second = argparse.Namespace(**{**vars(args), "config": args.agree_with})
        second_for = {name: eval_settings(second, env, name) for name in names}
    if first.output.format not in ("text", "markdown", "json"):
        raise InputError(f"--format {first.output.format}: eval writes text, markdown or json")
    where = "" if first.model.api == "llama-cpp" else f" at {first.endpoint_url}"
    decoys = "hunks" if args.haystack_hunks is not None else "file diffs"
    mixed = f", each inside unrelated {decoys} of {args.haystack}" if args.haystack else ""
    progress.info(f"eval: {len(cases)} cases from {args.eval_set}, templates {', '.join(names)}, "
                  f"model {first.model_label}{where}{mixed}")
    if args.cache_only and not args.cache:
        raise InputError("--cache-only needs --cache DIR: the folder of stored answers to score")
    rows = []
    for name in names:
        row = model_row(name, cases, settings_for[name], env, progress, args.cache, args.cache_only)
        rows.append(row)
        if args.agree_with:
            other = Path(args.agree_with).name
            sample = replace(model_row(name, cases, second_for[name], env, progress, args.cache, args.cache_only),
                             name=f"{row.name}, {other}")
            rows += [sample, agreement_row(f"{row.name}, agreement with {other}", row, sample, cases)]
    rows += reference_rows(cases)
    report = build_report(str(args.eval_set), cases, rows, first)
    write_output(dump_json(report) if first.output.format == "json" else render_markdown(report), first)
    return 0


def _template_names(args: argparse.Namespace, env: Mapping[str, str]) -> list[str]:
    if args.templates:
        names = list(dict.fromkeys(n.strip() for n in args.templates.split(",") if n.strip()))
        if not names:
            raise InputError("--templates: give at least one template name, e.g. review,starcoder2-pr")
        return names
    if getattr(args, "template", None):
        return [args.template]
    # By default every packaged template the chosen api can send: chat ones need a chat api.
    from bot.backends import API_MODES
    from bot.prompts.templates import load_template

    modes = API_MODES.get(eval_settings(args, env, TEMPLATES[0]).model.api, frozenset())
    return [name for name in TEMPLATES if load_template(name, None).mode in modes]
