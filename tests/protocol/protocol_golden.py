"""Loads the golden protocol examples in ``tests/fixtures/protocol`` (see its README)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "protocol"


def golden(name: str) -> bytes:
    """The exact bytes of one fixture file (no trailing newline is ever added)."""
    return (FIXTURES / name).read_bytes()


def event_frame(name: str) -> bytes:
    """An ``a`` frame carrying the single message stored in ``name``."""
    return b"a[" + golden(name) + b"]"


def chart_frame(name: str) -> bytes:
    """An ``a`` frame carrying a ``chart`` event whose ``d`` is stored in ``name``."""
    return b'a[{"e":"chart","d":' + golden(name) + b"}]"
