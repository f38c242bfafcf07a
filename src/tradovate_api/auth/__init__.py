"""Access tokens: obtained by a login, renewed, cached between runs, handed to the sessions.

``manager`` (the :class:`AuthManager`: the token's lifecycle), ``login`` (the login policy:
hourly budget, penalty tickets, refusals, back-off after server-side failures), ``endpoint``
(the two token REST calls), ``token`` (the :class:`TokenInfo` value), ``token_cache`` (the 0600
cache file) and ``device`` (the login's device id). The TLS rule for the REST URL is
``tradovate_api.tls``'s; what a session needs of a token is ``client.tokens``'.
"""

from .device import machine_device_id
from .login import LOGIN_RETRY_MAX_SECONDS, LOGIN_RETRY_SECONDS, LoginDeferred, is_transient
from .manager import AuthManager, TokenListener
from .token import TokenInfo
from .token_cache import write_private_file

__all__ = [
    "LOGIN_RETRY_MAX_SECONDS", "LOGIN_RETRY_SECONDS", "AuthManager", "LoginDeferred",
    "TokenInfo", "TokenListener", "is_transient", "machine_device_id", "write_private_file",
]
