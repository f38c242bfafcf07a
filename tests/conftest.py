"""Tests write only into temporary directories. A test run that leaves a new file in the
checkout's ``reports/``, ``logs/``, ``state/`` or ``recordings/`` — the user's own directories,
where a run started from the checkout writes by default — fails, so ``tradovate-api report``
never shows a test's or a benchmark's session as the user's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
USER_DIRECTORIES = ("reports", "logs", "state", "recordings")


def _user_files() -> set[Path]:
    found: set[Path] = set()
    for base in {Path.cwd().resolve(), ROOT}:
        for name in USER_DIRECTORIES:
            if (base / name).is_dir():
                found.update((base / name).rglob("*"))
    return found


@pytest.fixture(scope="session", autouse=True)
def nothing_written_into_the_users_directories() -> Iterator[None]:
    before = _user_files()
    yield
    written = sorted(str(path) for path in _user_files() - before)
    assert not written, f"the tests wrote into the user's directories: {written[:5]}"
