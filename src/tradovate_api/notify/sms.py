"""SMS through Twilio's Messages API, using the official ``twilio`` package's async client.

The request is ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with form
fields ``To``, ``From`` and ``Body`` and HTTP basic auth ``AccountSid:AuthToken``. ``base_url``
replaces ``https://api.twilio.com`` (tests point it at a loopback server).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aiohttp

from ..errors import ConfigError, NotifyError
from ..logwriter import redact
from ..secrets import Secret
from ..tls import require_tls
from .message import Notification, clip

if TYPE_CHECKING:  # the twilio package (~90 ms of imports) loads when the first SMS goes out
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
SMS_LIMIT = 1600
"""Twilio's maximum body length."""
_PROGRESS_MEMORY = 64

# The twilio client logs every request URL at INFO, and that URL contains the Account SID,
# which is secret here: give it a logger that discards everything.
_SILENT = logging.Logger("tradovate_api.notify.twilio-http")
_SILENT.disabled = True


def sms_body(notification: Notification) -> str:
    prefix = "URGENT: " if notification.urgent else ""
    return clip(f"{prefix}{notification.title}\n{notification.text}", SMS_LIMIT)


class SmsNotifier:
    """Texts every recipient; a retried notification skips recipients already texted."""

    def __init__(self, account_sid: Secret, auth_token: Secret, from_number: str,
                 to_numbers: Sequence[str], *, base_url: str = TWILIO_API) -> None:
        if not account_sid or not auth_token or not from_number or not to_numbers:
            raise ConfigError("sms: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER "
                              "and TWILIO_TO_NUMBERS are all required")
        self._sid = account_sid
        self._token = auth_token
        self._from = from_number
        self._to = tuple(to_numbers)
        self._base_url = require_tls(base_url, "Twilio base URL")
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None
        self._texted: OrderedDict[Notification, set[str]] = OrderedDict()

    def _twilio(self) -> Client:
        # Created on first use, inside the running loop (it owns an aiohttp session).
        if self._client is None:
            from twilio.http.async_http_client import AsyncTwilioHttpClient
            from twilio.rest import Client

            self._http = AsyncTwilioHttpClient(logger=_SILENT)
            # ``environment`` non-empty so the library reads nothing (region, edge, other
            # credentials) from the process environment behind our back.
            client = Client(self._sid.reveal(), self._token.reveal(), http_client=self._http,
                            environment={"TRADOVATE_API": "1"})
            client.api.base_url = self._base_url
            self._client = client
        return self._client

    async def send(self, notification: Notification) -> None:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        messages = self._twilio().api.account.messages
        body = sms_body(notification)
        texted = self._texted.setdefault(notification, set())
        self._texted.move_to_end(notification)
        while len(self._texted) > _PROGRESS_MEMORY:
            self._texted.popitem(last=False)
        for to in self._to:
            if to in texted:
                continue
            try:
                await messages.create_async(to=to, from_=self._from, body=body)
            except TwilioRestException as exc:
                raise NotifyError(redact(f"sms to {to}: Twilio answered status {exc.status}"
                                         f" (code {exc.code}): {exc.msg}")) from None
            except (TwilioException, aiohttp.ClientError, OSError, ValueError) as exc:
                raise NotifyError(redact(f"sms to {to}: {type(exc).__name__}: {exc}")) from None
            texted.add(to)
        del self._texted[notification]

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._client = self._http = None
