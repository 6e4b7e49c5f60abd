from __future__ import annotations

from typing import get_args

from bot.config import OutputFormat
from bot.sinks import FORMATTERS
from tests.sinks import sample_result


def test_every_cli_format_has_a_formatter_named_after_it() -> None:
    assert set(FORMATTERS) == set(get_args(OutputFormat))
    for name, cls in FORMATTERS.items():
        formatter = cls()
        assert formatter.name == name
        assert isinstance(formatter.render(sample_result()), str)
