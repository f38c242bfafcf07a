"""Fixtures: a fresh scripted-session harness, and one that has played the scripted session."""

from __future__ import annotations

import pytest
from report_session import Session, scripted


@pytest.fixture
def session() -> Session:
    return Session()


@pytest.fixture
def played(session: Session) -> Session:
    scripted(session)
    return session
