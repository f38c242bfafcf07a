"""The reliability tests reuse the notifier tests' loopback Twilio, SMTP and webhook servers
(``tests/notify/notify_helpers.py``) rather than keeping a second copy of them."""

from __future__ import annotations

import sys
from pathlib import Path

_NOTIFY = str(Path(__file__).resolve().parent.parent / "notify")
if _NOTIFY not in sys.path:
    sys.path.append(_NOTIFY)
