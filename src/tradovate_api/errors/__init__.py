"""One exception hierarchy for everything the framework reports.

The sans-I/O protocol core *returns* these as values (a reader task must never die on bad
input); the I/O layer raises them to callers. Messages never contain secrets: credentials and
tokens are not passed into any of these classes. How a :class:`ConfigError` words a bad
key of a configuration table is in :mod:`.config_validation`.
"""

from __future__ import annotations


class TradovateError(Exception):
    """Base class of every error raised by tradovate_api."""


class ProtocolError(TradovateError):
    """The peer sent something that is not valid Tradovate protocol."""


class RequestError(TradovateError):
    """A request reached the server and did not succeed. ``endpoint`` names the request."""

    endpoint: str = ""

    def with_endpoint(self, endpoint: str) -> RequestError:
        self.endpoint = endpoint
        return self


class ErrorResponse(RequestError):
    """A non-2xx status (HTTP status, or ``s`` on the websocket); ``text`` is the server's."""

    def __init__(self, status: int, text: str = "") -> None:
        super().__init__(f"status {status}: {text}" if text else f"status {status}")
        self.status = status
        self.text = text


class Unauthorized(ErrorResponse):
    """401/403: the token is missing, expired or not allowed to do this."""


class NotFound(ErrorResponse):
    """404: unknown endpoint or entity."""


class RateLimited(ErrorResponse):
    """429 (or its 423 warning): stop sending; Tradovate says wait about an hour."""


class BusinessError(RequestError):
    """A success status whose body carries a non-empty ``errorText``."""

    def __init__(self, error_text: str) -> None:
        super().__init__(error_text)
        self.error_text = error_text


class OrderRejected(RequestError):
    """An order request answered with ``failureReason`` other than ``Success``."""

    def __init__(self, failure_reason: str, failure_text: str | None = None) -> None:
        super().__init__(f"{failure_reason}: {failure_text}" if failure_text else failure_reason)
        self.failure_reason = failure_reason
        self.failure_text = failure_text


class PenaltyTicket(RequestError):
    """The server asks to wait ``seconds`` and resend the same body with ``p-ticket`` added.

    With ``captcha`` set, no program can clear it: wait (about an hour) and alert a human.
    """

    def __init__(self, ticket: str, seconds: float, captcha: bool = False) -> None:
        super().__init__(f"penalty: retry in {seconds:g}s" + (" (captcha required)" if captcha
                                                                else ""))
        self.ticket = ticket
        self.seconds = seconds
        self.captcha = captcha


class ConnectionLost(TradovateError):
    """The connection closed before a request was answered; its outcome is unknown."""


class ConfigError(TradovateError):
    """The settings file or environment is invalid; the message names the bad key."""


class StartupError(TradovateError):
    """The run cannot start: no such account, unknown contract, bad strategy reference."""


class NotifyError(TradovateError):
    """A notifier could not deliver (server down, refused, bad answer). The message names the
    channel and the cause, never an address that embeds a credential."""
