"""The ``deviceId`` sent with every login: stable for this machine and user.

Tradovate ties sessions and penalties to the device; a new id on every start would look like
a new device each time. The id is derived, not stored, so it survives a lost cache file; the
cache keeps the one the logins used.
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import uuid
from pathlib import Path

_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def machine_device_id(user: str) -> str:
    """A deviceId stable for this machine and user: SHA-256 of the OS machine id (falling
    back to the MAC address and host name) and the user name."""
    machine = ""
    for candidate in _MACHINE_ID_FILES:
        with contextlib.suppress(OSError):
            machine = Path(candidate).read_text().strip()
        if machine:
            break
    if not machine:
        machine = f"{uuid.getnode():012x}-{platform.node()}"
    return hashlib.sha256(f"tradovate-api:{machine}:{user}".encode()).hexdigest()
