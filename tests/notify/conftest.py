"""Fixtures for the notifier tests: loopback Twilio, SMTP and webhook servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from notify_helpers import SmtpServer, TwilioServer, WebhookServer


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioServer]:
    server = TwilioServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookServer]:
    server = WebhookServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
