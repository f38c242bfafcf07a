"""Simulator configuration: users, accounts, extra instruments, timings and wire style.

Everything has a default, so ``SimulatorConfig()`` is the documented out-of-the-box server (one
user ``sim``/``sim`` with one funded demo account, the ES/NQ/MES/MNQ front months). A TOML file
(``tradovate-api sim --config FILE``) overrides any of it; unknown keys are errors that name
the key, as in the settings file.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from ..errors import ConfigError
from ..errors.config_validation import describe_validation_error, reject_non_finite
from ..protocol.models import Contract, ContractMaturity, Product, UserAccountAutoLiq
from .fault_catalog import fault_params, spec_of
from .instruments import (
    CME_ID,
    EQUITY_INDEX_GROUP_ID,
    USD_ID,
    Instrument,
    contract_name,
    default_instruments,
    front_expiry,
    third_friday,
)

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]

DEFAULT_TOKEN_LIFETIME_S = 90 * 60.0
"""90 minutes: the most-cited lifetime (the newest partner page says 80; reference §2.2)."""


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class PositionConfig(_Section, frozen=True):
    """A position carried from the previous trade date (reference §5.2 ``Position.prevPos``,
    ``prevPrice``): ``prev_pos`` contracts (negative: short) valued at ``prev_price``."""

    symbol: str
    prev_pos: int
    prev_price: PositiveFloat


class AutoLiqConfig(_Section, frozen=True):
    """An account's auto-liquidation settings: the ``userAccountAutoLiq`` entity (reference
    §5.2) in snake_case, amounts in USD. An absent limit is not applied; the exchange enforces
    the ones given (see :mod:`.risk_guard`)."""

    daily_loss_alert: PositiveFloat | None = None
    """Shown in the entity only (Tradovate alerts in its own platform)."""
    daily_loss_liq_only: PositiveFloat | None = None
    """A day's loss (net liquidation value below the day's start) that puts the account in
    liquidate-only mode."""
    daily_loss_auto_liq: PositiveFloat | None = None
    """A day's loss that liquidates and locks the account until the next trade date."""
    trailing_max_drawdown: PositiveFloat | None = None
    """Distance of the liquidation level below the high-water mark of the net liquidation
    value."""
    trailing_max_drawdown_limit: PositiveFloat | None = None
    """Net liquidation value the trailing liquidation level stops rising at (the floor)."""
    trailing_max_drawdown_mode: Literal["EOD", "RealTime"] = "RealTime"
    """``RealTime``: the high-water mark follows the net liquidation value (open P&L
    included) intraday; ``EOD``: it moves only at the session close."""
    flatten_timestamp: str | None = None
    """ISO time (``2026-11-24T20:00:00Z``) the account is flattened and its orders canceled,
    once; trading stays allowed."""
    do_not_unlock: bool = False
    """A lock does not end at the next trade date."""
    changes_locked: bool = False
    """``userAccountAutoLiq/update`` is refused for this account."""

    def __post_init__(self) -> None:
        if self.flatten_timestamp is not None:
            try:
                stamp = dt.datetime.fromisoformat(self.flatten_timestamp)
            except ValueError:
                raise ValueError(f"flatten_timestamp: not an ISO date-time: "
                                 f"{self.flatten_timestamp!r}") from None
            if stamp.tzinfo is None:
                raise ValueError("flatten_timestamp: give a time zone (e.g. Z)")
        liq_only, auto_liq = self.daily_loss_liq_only, self.daily_loss_auto_liq
        if liq_only is not None and auto_liq is not None and liq_only > auto_liq:
            raise ValueError("daily_loss_liq_only must not exceed daily_loss_auto_liq (the "
                             "account would be liquidated before it became liquidate-only)")
        if self.trailing_max_drawdown_limit is not None and self.trailing_max_drawdown is None:
            raise ValueError("trailing_max_drawdown_limit needs trailing_max_drawdown")


class AccountConfig(_Section, frozen=True):
    """A funded demo account (``Customer`` type), optionally with overnight positions and
    auto-liquidation settings."""

    name: str
    balance: NonNegativeFloat = 50_000.0
    positions: list[PositionConfig] = msgspec.field(default_factory=list)
    auto_liq: AutoLiqConfig | None = None
    """``None``: no limits (the entity carries only ``changesLocked: false``)."""


class FaultConfig(_Section, frozen=True):
    """A fault armed from the start (see ``tradovate-api sim --list-faults``)."""

    name: str
    probability: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0
    count: PositiveInt | None = None
    endpoints: list[str] | None = None
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class UserConfig(_Section, frozen=True):
    """A login. The password is compared exactly (passwords are case-sensitive)."""

    name: str
    password: str
    email: str | None = None
    accounts: list[AccountConfig] | None = None
    """``None``: one account ``DEMO<n>`` with 50,000 USD."""

    def __repr__(self) -> str:
        return f"UserConfig(name={self.name!r}, password='***', accounts={self.accounts!r})"


class WindowLimits(_Section, frozen=True):
    """Requests allowed in the sliding hour, minute and second (one tier of the user-level
    limits, reference §7.1)."""

    per_hour: PositiveInt
    per_minute: PositiveInt
    per_second: PositiveInt


class EndpointLimit(_Section, frozen=True):
    """One row of the endpoint-level table (per IP, sliding hour, reference §7.1): over
    ``per_hour`` counted requests a request gets a penalty ticket whose ``p-time`` is
    ``back_off`` (doubled for each further violation within the hour)."""

    endpoint: str
    per_hour: PositiveInt
    back_off: PositiveFloat
    count_success: bool
    """True: every request counts; False: only failed ones (and penalized ones)."""
    captcha: bool = False
    """The penalty carries ``p-captcha: true`` (never honoured: wait out the hour)."""


DEFAULT_ENDPOINT_LIMITS = (
    EndpointLimit(endpoint="auth/accesstokenrequest", per_hour=5, back_off=15.0,
                  count_success=False, captcha=True),
    EndpointLimit(endpoint="auth/renewaccesstoken", per_hour=15, back_off=15.0,
                  count_success=True),
    EndpointLimit(endpoint="auth/me", per_hour=10, back_off=30.0, count_success=False),
    EndpointLimit(endpoint="user/syncrequest", per_hour=300, back_off=3.0, count_success=True),
)
"""The partner rate-limits table (reference §7.1); the login's penalty always carries
``p-captcha`` (§2.1, §7.2)."""


class RateLimits(_Section, frozen=True):
    """Request limits, enforced by default at Tradovate's documented values (§7.1, §7.2)."""

    enabled: bool = True
    authenticated: WindowLimits = WindowLimits(per_hour=5000, per_minute=5000,
                                               per_second=5000)
    """Per user id."""
    anonymous: WindowLimits = WindowLimits(per_hour=1000, per_minute=1000, per_second=100)
    """Per IP: requests without a valid token (the login, ``authorize``, refused ones)."""
    warning_fraction: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.9
    """Past this share of a user-level limit requests are answered 423 (the documented
    warning before 429) and not handled; 1.0 = no warning band."""
    lockout: PositiveFloat = 3600.0
    """After a 429 every request is refused until this long after the last one."""
    endpoints: list[EndpointLimit] = msgspec.field(
        default_factory=lambda: list(DEFAULT_ENDPOINT_LIMITS))
    auth_per_minute: NonNegativeInt = 10
    """``auth/*`` requests per IP in the sliding minute, every request counted (the older
    partner page's "Authentication: 10 requests/minute"); 0 = no such limit."""


DEFAULT_COMMISSION = 2.09
"""Fee per contract per side of an instrument the simulator has no figure for."""


class InstrumentConfig(_Section, frozen=True):
    """An extra quarterly futures product; its front contract is listed like the defaults."""

    root: str
    product_id: PositiveInt
    description: str
    tick_size: PositiveFloat
    value_per_point: PositiveFloat
    start_price: PositiveFloat
    commission_per_side: NonNegativeFloat = DEFAULT_COMMISSION
    is_micro: bool = False


class SimulatorConfig(_Section, frozen=True):
    """Everything a simulator run can be told. Times are in seconds."""

    users: list[UserConfig] = msgspec.field(
        default_factory=lambda: [UserConfig(name="sim", password="sim")])
    instruments: list[InstrumentConfig] = msgspec.field(default_factory=list)
    default_instruments: bool = True
    seed: int = 1
    token_lifetime: PositiveFloat = DEFAULT_TOKEN_LIFETIME_S
    max_sessions: PositiveInt = 2
    """Concurrent sessions per user; each token request opens one and the oldest is closed."""
    max_connections: NonNegativeInt = 50
    """Websocket connections per user (0 = unlimited); over it the oldest is closed."""
    heartbeat_interval: PositiveFloat = 2.5
    idle_timeout: PositiveFloat = 15.0
    """A socket that sends nothing (not even ``[]``) for this long is closed."""
    authorize_timeout: PositiveFloat = 10.0
    """A socket not authorized this long after ``o`` is closed."""
    tick_interval: NonNegativeFloat = 0.1
    """Seconds between market generator steps (0 = as fast as the loop allows)."""
    steps_per_tick: PositiveInt = 1
    large_print_probability: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    """Chance per step and contract of one large print (a block traded against hidden,
    iceberg-like liquidity at the best price: the displayed book is not consumed). 0 = none,
    which keeps the seeded market identical to earlier versions."""
    large_print_size: PositiveInt = 500
    """Contracts in one large print."""
    warm_up: NonNegativeFloat = 3600.0
    """Seconds of market history generated before start, so charts have history."""
    awkward_wire: bool = True
    """Batched frames, ``props`` entity arrays, reordered account events and tick packets.
    False = one message per frame, one entity per event, engine order."""
    failed_login_status: Literal[200, 401] = 200
    """200 = HTTP 200 with ``errorText`` (what real logs show), 401 = HTTP 401."""
    replay_file: str | None = None
    """Serve this md recording (a file or a directory of them) instead of the generated
    market; its instruments replace the configured ones."""
    replay_speed: PositiveFloat = 1.0
    """How fast the recording plays (2.0: twice its recorded pace)."""
    limits: RateLimits = msgspec.field(default_factory=RateLimits)
    """User-level and endpoint-level request limits (on by default)."""
    market_hours: bool = True
    """Outside CME trading hours (by the simulator's clock) the market does not move and
    orders are refused ``SessionClosed``; false = a market that never closes."""
    maintenance: bool = True
    """Tradovate's maintenance windows: sockets get ``shutdown`` and close, requests and
    websocket upgrades are answered 503 until the window ends."""
    chart_history_id: Literal["realtime", "historical"] = "realtime"
    """Which id of an ``md/getChart`` subscription its history packets carry."""
    fault_seed: int = 0
    """Second seed of every fault's random source (the first is ``seed``)."""
    faults: list[FaultConfig] = msgspec.field(default_factory=list)
    """Faults armed when the simulator starts."""

    def __repr__(self) -> str:
        return (f"SimulatorConfig(users={[u.name for u in self.users]!r}, "
                f"instruments={[i.root for i in self.instruments]!r}, seed={self.seed})")


def auto_liq_entity(spec: AutoLiqConfig | None) -> UserAccountAutoLiq | None:
    """The ``userAccountAutoLiq`` entity of an account's settings (its id is set when the
    account is created); ``None`` without settings."""
    if spec is None:
        return None
    return UserAccountAutoLiq(
        id=0, changes_locked=spec.changes_locked, daily_loss_alert=spec.daily_loss_alert,
        daily_loss_liq_only=spec.daily_loss_liq_only,
        daily_loss_auto_liq=spec.daily_loss_auto_liq,
        flatten_timestamp=spec.flatten_timestamp,
        trailing_max_drawdown=spec.trailing_max_drawdown,
        trailing_max_drawdown_limit=spec.trailing_max_drawdown_limit,
        trailing_max_drawdown_mode=(spec.trailing_max_drawdown_mode
                                    if spec.trailing_max_drawdown is not None else None),
        do_not_unlock=spec.do_not_unlock)


def config_from_mapping(raw: Mapping[str, Any]) -> SimulatorConfig:
    """Validate a parsed TOML table; :class:`ConfigError` names the bad key. ``inf`` and
    ``nan`` (which TOML allows) are refused anywhere, as in the settings."""
    reject_non_finite(raw)
    try:
        config = msgspec.convert(raw, SimulatorConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    names = [u.name for u in config.users]
    if len(set(names)) != len(names):
        raise ConfigError("users: user names must be unique")
    accounts = [a.name for u in config.users for a in u.accounts or ()]
    if len(set(accounts)) != len(accounts):
        raise ConfigError("users: account names must be unique")
    if not config.users:
        raise ConfigError("users: at least one user is required")
    for index, fault in enumerate(config.faults):
        try:
            spec = spec_of(fault.name)
            fault_params(spec, fault.params)
        except ValueError as exc:
            raise ConfigError(f"faults[{index}]: {exc}") from None
    return config


def with_overrides(config: SimulatorConfig, overrides: Mapping[str, Any]) -> SimulatorConfig:
    """``config`` with some fields replaced (command-line options), validated as a config file
    is — every constraint, which ``msgspec.structs.replace`` would skip; :class:`ConfigError`
    names the bad key."""
    raw = msgspec.to_builtins(config)
    raw.update(overrides)
    return config_from_mapping(raw)


def load_config(path: str | Path) -> SimulatorConfig:
    """Read a simulator TOML file; errors name the file and the key."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the simulator config: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        return config_from_mapping(raw)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None


def _extra_instrument(spec: InstrumentConfig, today: dt.date) -> Instrument:
    year, month = front_expiry(today)
    yymm = (year % 100) * 100 + month
    product = Product(
        id=spec.product_id, name=spec.root.upper(), currency_id=USD_ID, product_type="Futures",
        description=spec.description, exchange_id=CME_ID,
        contract_group_id=EQUITY_INDEX_GROUP_ID, status="Verified",
        value_per_point=spec.value_per_point, price_format_type="Decimal", price_format=-2,
        tick_size=spec.tick_size, months="HMUZ", is_micro=spec.is_micro,
        market_data_source="Auto")
    expiry = dt.datetime.combine(third_friday(year, month), dt.time(8, 30),
                                 tzinfo=ZoneInfo("America/Chicago")).astimezone(dt.UTC)
    maturity = ContractMaturity(
        id=spec.product_id * 10_000 + yymm, product_id=spec.product_id,
        expiration_month=year * 100 + month,
        expiration_date=expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z"), is_front=True, archived=False)
    contract = Contract(
        id=spec.product_id * 100_000 + yymm, name=contract_name(spec.root.upper(), year, month),
        contract_maturity_id=maturity.id, status="DefinitionChecked",
        provider_tick_size=spec.tick_size)
    return Instrument(product, maturity, contract, spec.commission_per_side, spec.start_price)


def build_instruments(config: SimulatorConfig, today: dt.date) -> list[Instrument]:
    """The defaults (unless disabled) plus the configured products' front months."""
    instruments = default_instruments(today) if config.default_instruments else []
    taken = {inst.product.id for inst in instruments} | {inst.product.name for inst in
                                                          instruments}
    for index, spec in enumerate(config.instruments):
        if spec.product_id in taken or spec.root.upper() in taken:
            raise ConfigError(f"instruments[{index}]: product {spec.root!r} "
                              f"(id {spec.product_id}) is already listed")
        taken |= {spec.product_id, spec.root.upper()}
        instruments.append(_extra_instrument(spec, today))
    if not instruments:
        raise ConfigError("instruments: no instruments (default_instruments is false and "
                          "none are configured)")
    return instruments
