"""The shutdown's way to the account when the trading socket is down (a tripped circuit
breaker, a Ctrl+C during an outage): orders over REST, and the account state read over REST.

Only the shutdown uses REST for orders. While trading, a request the socket cannot carry is
refused, never queued or re-routed (ADR 0004); once the shutdown has begun,
:class:`ShutdownGateway` sends cancels, liquidations and protective stops over REST when the
socket cannot. :func:`read_account` fetches what a ``user/syncrequest`` snapshot holds with
the entity ``list`` endpoints (reference §6.8), decoded leniently; it gives ``None`` when any
of it cannot be had, so a partial picture is never taken for the account.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec

from ..client import RestClient
from ..errors import TradovateError
from ..orders import LiveGateway, RestGateway
from ..protocol import MONEY_ENTITY_TYPES, BadEntity, decode_entities
from ..protocol.messages import DECODE_ERRORS, UnknownEntity
from ..protocol.models import SyncMessage

_log = logging.getLogger("tradovate_api.runtime.rest_exit")

ACCOUNT_LISTS: tuple[tuple[str, str], ...] = (
    ("account", "accounts"), ("order", "orders"), ("orderVersion", "order_versions"),
    ("command", "commands"), ("commandReport", "command_reports"),
    ("executionReport", "execution_reports"), ("fill", "fills"), ("fillPair", "fill_pairs"),
    ("position", "positions"), ("cashBalance", "cash_balances"),
)
"""(entity type, ``SyncMessage`` field) of everything the account store is made of."""


class ShutdownGateway:
    """The order manager's gateway: the trading socket, and — once :attr:`rest_allowed` is
    set by the shutdown — REST when the socket cannot send."""

    __slots__ = ("_live", "_rest", "rest_allowed", "rest_sent")

    def __init__(self, live: LiveGateway, rest: RestGateway) -> None:
        self._live = live
        self._rest = rest
        self.rest_allowed = False
        self.rest_sent = 0
        """Requests sent over REST."""

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]:
        try:
            return self._live.send(endpoint, body, result_type)
        except TradovateError:
            if not self.rest_allowed:
                raise
        self.rest_sent += 1
        _log.warning("the trading socket is down: %s sent over REST", endpoint)
        return self._rest.send(endpoint, body, result_type)


async def read_account(rest: RestClient) -> SyncMessage | None:
    """The account state over REST, or ``None`` when a list could not be fetched or an
    entity of it could not be read (logged)."""
    answers = await asyncio.gather(*(rest.request(f"{entity}/list", result_type=msgspec.Raw)
                                     for entity, _ in ACCOUNT_LISTS), return_exceptions=True)
    failure = next((a for a in answers if isinstance(a, BaseException)), None)
    if failure is not None:
        if not isinstance(failure, TradovateError):
            raise failure
        _log.warning("cannot read the account over REST: %s", failure)
        return None
    groups: dict[str, list[Any]] = {}
    for (entity_type, field), body in zip(ACCOUNT_LISTS, answers, strict=True):
        assert isinstance(body, msgspec.Raw)
        try:
            entities = decode_entities(entity_type, body)
        except DECODE_ERRORS as exc:
            _log.warning("%s/list over REST is unreadable: %s", entity_type, exc)
            return None
        bad = [e for e in entities if isinstance(e, BadEntity)]
        if bad and entity_type in MONEY_ENTITY_TYPES:
            _log.warning("%s/list over REST has %d unreadable entities: %s", entity_type,
                         len(bad), bad[0].reason)
            return None
        groups[field] = [e for e in entities if not isinstance(e, UnknownEntity)]
    return SyncMessage(**groups)
