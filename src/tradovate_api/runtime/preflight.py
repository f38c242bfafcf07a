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
from ..settings import Settings, StrategySettings
from ..strategy import Strategy, strategy_params
from ..strategy.loading import load_strategy


@dataclass(frozen=True)
class CheckedStrategy:
    """One strategy of the run, loaded, with its parameters checked."""

    settings: StrategySettings
    strategy: Strategy
    params: object


@dataclass(frozen=True)
class Preflight:
    """A setup that may start: its strategies (the single-strategy case is a list of one)
    with their parameters, the warnings."""

    strategies: tuple[CheckedStrategy, ...]
    warnings: tuple[str, ...]

    @property
    def strategy(self) -> Strategy:
        """The first strategy (the only one without ``[[strategies]]``)."""
        return self.strategies[0].strategy

    @property
    def params(self) -> object:
        """The first strategy's parameters."""
        return self.strategies[0].params


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
    checked = []
    listed = bool(settings.strategies)
    for index, entry in enumerate(settings.strategy_list()):
        try:
            strategy = load_strategy(entry.class_)
        except StartupError as exc:
            message = str(exc)
            raise ConfigError(message.replace("trading.strategy", f"strategies[{index}].class")
                              if listed else message) from None
        try:
            params = strategy_params(strategy, entry.params)
        except ConfigError as exc:
            if not listed:
                raise
            raise ConfigError(f"strategies[{index}].params.{str(exc).removeprefix('strategy.')}"
                              ) from None
        checked.append(CheckedStrategy(entry, strategy, params))
    warnings = unconfigured_channel_warnings(settings, secrets)
    return Preflight(tuple(checked), tuple(warnings))
