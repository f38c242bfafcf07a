"""The local web dashboard: one page showing a running app and holding its kill switch.

``tradovate-api run --dashboard`` serves it from the trading process (aiohttp, on the same
event loop) and ``tradovate-api dashboard`` opens the page of a running app. It sits above the
runtime: it reads the app's read-only views and calls the app's existing kill-switch entry
points, and the runtime knows nothing of it (docs/dashboard.md).
"""

from __future__ import annotations

from .access import Access, check_bind, make_access
from .address_file import DashboardAddress, read_address, remove_address, write_address
from .recent_alerts import RecentAlerts
from .server import DashboardServer

__all__ = [
    "Access",
    "DashboardAddress",
    "DashboardServer",
    "RecentAlerts",
    "check_bind",
    "make_access",
    "read_address",
    "remove_address",
    "write_address",
]
