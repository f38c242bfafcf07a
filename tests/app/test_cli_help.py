"""Every ``--help`` of the command line reads as plain text: no reStructuredText markup
(double backticks, ``:class:`` roles) leaking from docstrings into what a newcomer sees first."""

from __future__ import annotations

import argparse
import re

import pytest

from bench.__main__ import parse_args as bench_parse_args
from tradovate_api.cli import build_parser

_MARKUP = re.compile(r"``|:(?:class|meth|func|mod|attr):`")


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _parsers(child)
    return found


def test_every_help_of_the_command_line_is_plain_text() -> None:
    parsers = _parsers(build_parser())
    assert len(parsers) > 8  # the walk reaches the subcommands
    for parser in parsers:
        text = parser.format_help()
        assert not _MARKUP.search(text), f"{parser.prog}: {text}"


def test_the_bench_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench_parse_args(["--help"])
    text = capsys.readouterr().out
    assert "tick-to-order" in text.lower()
    assert not _MARKUP.search(text)
