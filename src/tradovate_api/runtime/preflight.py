"""What a run checks before it connects, checked the same way by ``config check``.

The two commands used to disagree: ``config check`` refused a demo setup whose alert channels
had no credentials while ``run`` traded it (logging the alerts), and ``run`` accepted a live
run without a working alert channel. A check made by one command only either spends a start
(and a login) on a mistake the other said nothing about, or refuses a setup the other accepts.
Both call :func:`preflight`, so whatever one accepts, the other accepts, with the same words.

The rule for alert channels follows the money at stake: on the simulator and on demo a routed
channel without its variables is a warning (its alerts are logged); live, an urgent event that
nobody hears about can cost real money, so it is an error until the channel is configured or
routed elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError, StartupError
from ..notify.channels import unconfigured_channel_warnings
from ..secrets import Secrets
from ..settings import Settings
from ..strategy import Strategy, strategy_params
from ..strategy.loading import load_strategy


@dataclass(frozen=True)
class Preflight:
    """A setup that may start: its strategy, the strategy's parameters, the warnings."""

    strategy: Strategy
    params: object
    warnings: tuple[str, ...]


def preflight(settings: Settings, secrets: Secrets) -> Preflight:
    """The strategy loaded and its parameters checked, the secrets the environment and the
    alert routing need; raises :class:`~tradovate_api.errors.ConfigError` (one line)."""
    live = settings.environment == "live"
    channels = settings.notifications.channels_in_use() if live else ()
    missing = secrets.missing_for(settings.environment, channels)
    if missing:
        needs = "the Tradovate credentials" + (" and the alert channels in use" if live else "")
        raise ConfigError(f"not set but required for environment {settings.environment!r} "
                          f"({needs}): {', '.join(missing)} (see docs/configuration.md)")
    try:
        strategy = load_strategy(settings.trading.strategy)
    except StartupError as exc:
        raise ConfigError(str(exc)) from None
    params = strategy_params(strategy, settings.strategy)
    warnings = unconfigured_channel_warnings(settings, secrets)
    return Preflight(strategy, params, tuple(warnings))
