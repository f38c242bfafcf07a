"""Where a running app's dashboard is: a small JSON file (mode 0600: it holds the token) that
``tradovate-api run --dashboard`` writes and ``tradovate-api dashboard`` reads."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec

from ..errors import ConfigError


class DashboardAddress(msgspec.Struct, frozen=True):
    """``url``: the page without its token; ``pid``: the serving process."""

    url: str
    token: str
    pid: int

    @property
    def open_url(self) -> str:
        """The URL that opens the page (the token in the query; the page then keeps it in a
        cookie and drops it from the address bar)."""
        return f"{self.url}?token={self.token}"

    def __repr__(self) -> str:  # the token is a secret: never in a traceback or a log
        return f"DashboardAddress(url={self.url!r}, token='***', pid={self.pid})"


def write_address(path: str | Path, address: DashboardAddress) -> None:
    """Write ``address`` to ``path`` atomically, readable by this user only."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    temp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an old temporary file keeps its mode through O_CREAT
        os.write(fd, msgspec.json.encode(address))
    finally:
        os.close(fd)
    os.replace(temp, file)


def read_address(path: str | Path) -> DashboardAddress:
    """The address a running app wrote; :class:`ConfigError` when there is none, it is
    unreadable, or its process has ended."""
    file = Path(path)
    try:
        address = msgspec.json.decode(file.read_bytes(), type=DashboardAddress)
    except FileNotFoundError:
        raise ConfigError(f"{file}: no dashboard is running (start one with "
                          f"tradovate-api run --dashboard)") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the dashboard address: {exc.strerror}") from None
    except msgspec.DecodeError:
        raise ConfigError(f"{file}: not a dashboard address file") from None
    if not _alive(address.pid):
        raise ConfigError(f"{file}: the app that served this dashboard (pid {address.pid}) "
                          f"has ended")
    return address


def remove_address(path: str | Path, address: DashboardAddress) -> None:
    """Remove ``path`` if it still names ``address`` (a newer run may have replaced it)."""
    file = Path(path)
    with contextlib.suppress(OSError, msgspec.DecodeError):
        if msgspec.json.decode(file.read_bytes(), type=DashboardAddress) == address:
            file.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
