"""The logins of a run: what each Tradovate login holds apart from the others.

A run trades under one login (the ``TRADOVATE_*`` credentials) or several (settings
``[[logins]]``, each account naming its login). Tradovate gives each login its own token, its
own request budget and its own trading connection, whose ``user/syncrequest`` snapshot speaks
for that login's accounts only; so each login gets its own
:class:`~tradovate_api.auth.AuthManager`, REST client, trading session, gateway, resync guard
and account reader (a :class:`LoginRun`), and its snapshots replace only its own accounts in
the one account store (``scope``). The market-data connection is the primary login's, shared
by everything. With one login the list holds one entry and its scope is ``None``: the store
applies its snapshot as the whole picture, exactly as before there could be several.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..auth import AuthManager
from ..client import RestClient, TradingSession
from .accounts import AccountRun
from .readers import Readers
from .rest_exit import ShutdownGateway
from .resync import ResyncGuard


@dataclass(slots=True)
class LoginRun:
    """One login: its token, REST client, trading connection, the gateway its accounts'
    orders go through, the guard that resyncs it, its account reader and its accounts."""

    name: str
    """The ``[[logins]]`` name; ``""`` for the primary login."""
    auth: AuthManager
    rest: RestClient
    trading: TradingSession
    gateway: ShutdownGateway
    guard: ResyncGuard
    readers: Readers
    """The callbacks of its trading connection (the primary's also read market data)."""
    accounts: tuple[AccountRun, ...]
    """Its traded accounts (the primary's: then the trade copier's followers)."""
    scope: frozenset[int] | None
    """The ids of every account of the login, which its snapshots speak for; ``None``: the
    run's only login (a snapshot is the whole picture)."""

    @property
    def label(self) -> str:
        """How logs and alerts name it (``primary`` for the primary login)."""
        return self.name or "primary"
