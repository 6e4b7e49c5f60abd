"""Output formatters for stdout or --output, chosen by `--format` from one registry."""

from __future__ import annotations

from bot.sinks.annotations import AnnotationsFormatter
from bot.sinks.base import Formatter
from bot.sinks.json import JsonFormatter
from bot.sinks.markdown import MarkdownFormatter
from bot.sinks.sarif import SarifFormatter
from bot.sinks.terminal import TextFormatter

FORMATTERS: dict[str, type[Formatter]] = {
    "text": TextFormatter,
    "json": JsonFormatter,
    "markdown": MarkdownFormatter,
    "sarif": SarifFormatter,
    "github": AnnotationsFormatter,
}

__all__ = ["FORMATTERS", "Formatter"]
