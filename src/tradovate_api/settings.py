"""The settings file: one TOML document decoded into typed, frozen sections.

Every section forbids unknown keys, so a typo is an error rather than a silently ignored
default. Errors are :class:`~tradovate_api.errors.ConfigError` naming the file and the key path
(``risk.max_position: expected int, got str``). Secrets never live here: keys that look like
credentials are rejected with a pointer to the environment variable to use instead.
Relative paths in the file are resolved against the file's own directory.

Numbers are checked for sense: ``inf`` and ``nan`` (which TOML allows) are refused anywhere in
the file, ``[strategy]`` included — ``max_daily_loss = inf`` is not "no limit" but a limit that
never trips, and every comparison with ``nan`` is false — and every amount, duration and rate
is positive (or, where 0 is documented to mean something, non-negative). A UTF-8 byte order
mark at the start of the file is accepted.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from .errors import ConfigError
from .errors.config_validation import describe_validation_error, key_text, reject_non_finite
from .tls import require_tls

Environment = Literal["sim", "demo", "live"]
Channel = Literal["sms", "email", "webhook", "log"]
CHANNELS: tuple[str, ...] = ("sms", "email", "webhook", "log")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]


CONTRACT_NAME = re.compile(r"[A-Z0-9]{0,5}[A-Z][FGHJKMNQUVXZ][0-9]{1,2}")
"""A Tradovate futures contract name: the product code, the month code and the year's last
digit (``ESZ6``, ``MESH7``, ``6EZ6``). Checked with the settings, so a typo is reported by
``config check`` and before a run spends a login to look the contract up."""


class Endpoints(msgspec.Struct, frozen=True):
    """Resolved server addresses: REST base, trading websocket, market-data websocket."""

    rest: str
    trading_ws: str
    md_ws: str


DEFAULT_ENDPOINTS: Mapping[str, Endpoints] = {
    "demo": Endpoints("https://demo.tradovateapi.com/v1",
                      "wss://demo.tradovateapi.com/v1/websocket",
                      "wss://md.tradovateapi.com/v1/websocket"),
    "live": Endpoints("https://live.tradovateapi.com/v1",
                      "wss://live.tradovateapi.com/v1/websocket",
                      "wss://md.tradovateapi.com/v1/websocket"),
}


def websocket_url_for(rest: str) -> str:
    """Tradovate's websocket URL is its REST base with ``http``→``ws`` and ``/websocket``."""
    base = rest.rstrip("/")
    if base.startswith("https:"):
        base = "wss:" + base[len("https:"):]
    elif base.startswith("http:"):
        base = "ws:" + base[len("http:"):]
    return base + "/websocket"


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every settings section: immutable, keyword-only, unknown keys rejected."""


def _parse_clock(key: str, value: str) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key}: expected a time as \"HH:MM\", got {value!r}") from None
    if parsed.tzinfo is not None:
        raise ValueError(f"{key}: give the time zone in `timezone`, not in the time")
    return parsed


class TimeWindow(_Section, frozen=True):
    """A daily window in local exchange time; ``end`` before ``start`` wraps past midnight."""

    start: str
    end: str
    timezone: str = "America/Chicago"

    def __post_init__(self) -> None:
        _parse_clock("start", self.start)
        _parse_clock("end", self.end)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: e.g. name too long
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from None

    def contains(self, at: datetime) -> bool:
        """Whether the aware datetime ``at`` falls inside the window."""
        local = at.astimezone(ZoneInfo(self.timezone)).time().replace(tzinfo=None)
        start, end = _parse_clock("start", self.start), _parse_clock("end", self.end)
        if start <= end:
            return start <= local < end
        return local >= start or local < end


class Urls(_Section, frozen=True):
    """Overrides of the environment's default addresses (a websocket URL not given is derived
    from ``rest`` when ``rest`` is overridden)."""

    rest: str | None = None
    trading_ws: str | None = None
    md_ws: str | None = None

    def __post_init__(self) -> None:
        for key, value, plain, secure in (("rest", self.rest, "http", "https"),
                                          ("trading_ws", self.trading_ws, "ws", "wss"),
                                          ("md_ws", self.md_ws, "ws", "wss")):
            if value is None:
                continue
            if not value.startswith((f"{plain}://", f"{secure}://")):
                raise ValueError(f"{key}: expected a URL starting with {plain}:// or "
                                 f"{secure}://, got {value!r}")
            try:
                require_tls(value, key, secure=secure, plain=plain)
            except ConfigError:
                raise ValueError(f"{key}: {value!r} must be {secure}:// (plain {plain}:// "
                                 f"only to a loopback address such as the local "
                                 f"simulator)") from None


EXCHANGE_TIMEZONE = "America/Chicago"
"""The exchange's time zone (CME Globex): ``flat_by`` and the session close are in it."""
GLOBEX_CLOSE = time(16, 0)
GLOBEX_OPEN = time(17, 0)
"""The Globex daily close and reopen (exchange time): between them there is no session."""
_PRESET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PRODUCT_NAME = re.compile(r"[A-Z0-9]{1,6}")


class RulePreset(_Section, frozen=True):
    """An account's rules as data (``[risk.preset.NAME]`` or a ``[preset.NAME]`` table of
    ``risk.preset_file``; docs/risk-presets.md). Every rule is optional; a limit it gives
    replaces the ``[risk]`` one of the same meaning for the accounts using the preset."""

    daily_loss: PositiveFloat | None = None
    """Replaces ``risk.max_daily_loss``."""
    trailing_drawdown: PositiveFloat | None = None
    """Money below the high-water balance at which the account is halted and flattened."""
    trailing_mode: Literal["intraday", "eod"] | None = None
    """``intraday``: the high-water is the highest balance including open P&L, at any time;
    ``eod``: the highest end-of-day balance (updated at the trade-date roll)."""
    drawdown_floor: PositiveFloat | None = None
    """The balance at which the trailing level stops rising (then it stays there)."""
    starting_balance: PositiveFloat | None = None
    """The account's starting balance: the first high-water (the balance seen at the start
    counts when it is higher)."""
    max_position: PositiveInt | None = None
    """Replaces ``risk.max_position`` (per contract)."""
    max_contracts: PositiveInt | None = None
    """Contracts across every instrument, counting working orders."""
    max_contracts_per_product: dict[str, int] = msgspec.field(default_factory=dict)
    """Product (``"ES"``) → contracts across its contracts, counting working orders."""
    max_order_qty: PositiveInt | None = None
    """Replaces ``risk.max_order_qty``."""
    max_orders_per_second: PositiveFloat | None = None
    """Replaces ``risk.max_orders_per_second``."""
    flat_by: str | None = None
    """``"HH:MM"`` in the exchange's time zone: from then until the next session opens
    (17:00) entries are refused, working orders cancelled and positions flattened."""
    no_new_positions_last_minutes: PositiveInt | None = None
    """No entries in the last this many minutes before the session closes (exits pass)."""
    exchange_margin: Fraction = 0.1
    """Entries stop once the account is within this fraction of a limit the exchange holds
    for it (``userAccountAutoLiq``) from that limit: 0.1 = within 10 % of the daily loss
    auto-liquidation or of the trailing max drawdown."""

    def __post_init__(self) -> None:
        if self.trailing_mode is not None and self.trailing_drawdown is None:
            raise ValueError("trailing_mode: given without trailing_drawdown")
        if self.trailing_drawdown is not None and self.trailing_mode is None:
            raise ValueError("trailing_mode: required with trailing_drawdown (\"intraday\" "
                             "or \"eod\")")
        if self.drawdown_floor is not None:
            if self.trailing_drawdown is None:
                raise ValueError("drawdown_floor: given without trailing_drawdown")
            start = self.starting_balance
            if start is not None and self.drawdown_floor < start - self.trailing_drawdown:
                raise ValueError(f"drawdown_floor: {self.drawdown_floor:g} is below the first "
                                 f"trailing level (starting_balance {start:g} - "
                                 f"trailing_drawdown {self.trailing_drawdown:g}): the level "
                                 f"could never reach it")
        for product, limit in self.max_contracts_per_product.items():
            if not _PRODUCT_NAME.fullmatch(product):
                raise ValueError(f"max_contracts_per_product: {product!r} is not a product "
                                 f"code (ES, MES, 6E)")
            if limit < 1:  # checked here so that the error names the product
                raise ValueError(f"max_contracts_per_product.{product}: expected int >= 1")
        if self.flat_by is not None:
            at = _parse_clock("flat_by", self.flat_by)
            if GLOBEX_CLOSE < at <= GLOBEX_OPEN:
                raise ValueError(f"flat_by: {self.flat_by} is outside the session (the "
                                 f"exchange is closed from {GLOBEX_CLOSE:%H:%M} to "
                                 f"{GLOBEX_OPEN:%H:%M} {EXCHANGE_TIMEZONE})")

    def flat_by_time(self) -> time | None:
        """``flat_by`` as a time of day (exchange time)."""
        return None if self.flat_by is None else _parse_clock("flat_by", self.flat_by)


NO_RULES = RulePreset()
"""The rules of an account without a preset: only the exchange margin applies."""


class Risk(_Section, frozen=True):
    """Hard limits the order path enforces before anything is sent."""

    max_position: PositiveInt = 1
    """Largest absolute net position per contract."""
    max_order_qty: PositiveInt = 1
    max_orders_per_second: PositiveFloat = 2.0
    max_orders_per_hour: PositiveInt = 3000
    """New orders (placements, modifications) in any sliding hour. Tradovate allows 5,000
    requests an hour per user and warns (423) at 90 % before locking the user out for an hour
    (reference §7.1): the budget leaves room for cancels, exits, protective stops and the
    rest, which it never refuses."""
    max_daily_loss: PositiveFloat = 500.0
    """Realised plus open loss (account currency) at which trading stops for the day."""
    trading_hours: TimeWindow | None = None
    """New orders only inside this window; ``None`` means whenever the market is open."""
    kill_switch_file: str | None = None
    """If this file exists, trading halts: orders are cancelled, positions flattened."""
    protective_stop: Literal["off", "place", "flatten"] = "place"
    """Every open position has working stops on its closing side covering it, never more.
    ``place``: a protective stop tracks the position (sized to what the strategy's own stops
    leave uncovered, resized and cancelled with it; placed ``protective_stop_points`` beyond
    the position's price once a position is uncovered past the grace time). ``flatten``: an
    uncovered position is closed instead. ``off``: nothing is done."""
    protective_stop_points: PositiveFloat | None = None
    """Distance (price points) of a protective stop from the position's price; when not set,
    the distance at which the position alone would lose ``max_daily_loss``
    (``max_daily_loss / (|position| × value per point)``)."""
    protective_stop_grace_seconds: NonNegativeFloat = 2.0
    """How long a position may be without a stop first (the strategy placing its own)."""
    unknown_order_grace_seconds: NonNegativeFloat = 10.0
    """How long after sending a request whose answer was lost the exchange may still execute
    it: only a list of the server's orders read after this proves it was not executed."""
    unknown_order_alert_seconds: PositiveFloat = 60.0
    """A request whose outcome is still unknown after this long raises an urgent alert."""
    preset: dict[str, RulePreset] = msgspec.field(default_factory=dict)
    """Rule presets by name (``[risk.preset.NAME]``), with those of ``preset_file``."""
    preset_file: str | None = None
    """A TOML file of ``[preset.NAME]`` tables, added to ``preset``."""
    use_preset: str | None = None
    """The preset whose rules hold for the run's account."""

    def __post_init__(self) -> None:
        for name in self.preset:
            if not _PRESET_NAME.fullmatch(name):
                raise ValueError(f"preset: {name!r} is not a preset name (letters, digits, "
                                 f"_ . -)")
        if self.use_preset is not None:
            self._preset_named("use_preset", self.use_preset)

    def _preset_named(self, key: str, name: str) -> RulePreset:
        preset = self.preset.get(name)
        if preset is None:
            raise ValueError(f"{key}: {self._undefined(name)}")
        return preset

    def _undefined(self, name: str) -> str:
        defined = ", ".join(sorted(self.preset)) or "none"
        return f"preset {name!r} is not defined (defined: {defined})"

    def rules(self) -> RulePreset:
        """The account rules in force: those of ``use_preset``, else :data:`NO_RULES`."""
        return NO_RULES if self.use_preset is None else self.preset[self.use_preset]

    def for_preset(self, name: str | None) -> Risk:
        """The effective limits of an account using preset ``name`` (``None``: none): these
        limits with the preset selected and its ``daily_loss``, ``max_position``,
        ``max_order_qty`` and ``max_orders_per_second`` in place of theirs. Build each
        account's :class:`~tradovate_api.orders.risk.RiskManager` with it. Raises
        :class:`~tradovate_api.errors.ConfigError` for a preset not defined."""
        if name is None:
            return msgspec.structs.replace(self, use_preset=None)
        rules = self.preset.get(name)
        if rules is None:
            raise ConfigError(self._undefined(name))
        return msgspec.structs.replace(
            self, use_preset=name,
            max_daily_loss=rules.daily_loss or self.max_daily_loss,
            max_position=rules.max_position or self.max_position,
            max_order_qty=rules.max_order_qty or self.max_order_qty,
            max_orders_per_second=rules.max_orders_per_second or self.max_orders_per_second)

    def effective(self) -> Risk:
        """These limits with ``use_preset``'s in place (idempotent)."""
        return self.for_preset(self.use_preset)


class Notifications(_Section, frozen=True):
    """Where alerts go: by alert key first, else by severity."""

    urgent: tuple[Channel, ...] = ("sms", "email")
    routine: tuple[Channel, ...] = ("email",)
    routes: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    """Alert key (e.g. ``auth.renewal_failed``) → channels, overriding the severity default."""
    quiet_hours: TimeWindow | None = None
    """Routine alerts inside this window are only logged."""
    max_per_key_per_hour: PositiveInt = 6
    dedupe_seconds: NonNegativeFloat = 600.0
    """An alert identical to one sent this recently (same key, title and body) is only
    counted; 0 turns de-duplication off."""
    queue_size: PositiveInt = 1000
    """Notifications waiting for delivery per channel; beyond this they are dropped and
    counted (delivery must never hold up trading)."""
    send_timeout_seconds: PositiveFloat = 15.0
    """Time allowed for one delivery attempt on one channel."""
    retries: NonNegativeInt = 3
    """Further attempts after a failed delivery, with exponential backoff."""
    retry_backoff_seconds: PositiveFloat = 2.0
    retry_max_backoff_seconds: PositiveFloat = 60.0
    email_security: Literal["starttls", "ssl", "plain"] = "starttls"
    """How to reach the SMTP server; certificates are always verified."""
    webhook_format: Literal["json", "slack", "discord", "ntfy"] = "json"
    """Shape of the webhook's JSON body."""

    def __post_init__(self) -> None:
        if self.retry_max_backoff_seconds < self.retry_backoff_seconds:
            raise ValueError("retry_max_backoff_seconds: must not be less than "
                             "retry_backoff_seconds")
        # Checked here rather than typed as Channel so the error can name the alert key.
        for key, channels in self.routes.items():
            for index, channel in enumerate(channels):
                if channel not in CHANNELS:
                    raise ValueError(f"routes.{key}[{index}]: unknown channel {channel!r} "
                                     f"(expected one of {', '.join(CHANNELS)})")

    def channels_for(self, key: str, urgent: bool) -> tuple[str, ...]:
        if key in self.routes:
            return self.routes[key]
        return self.urgent if urgent else self.routine

    def channels_in_use(self) -> set[str]:
        used: set[str] = {*self.urgent, *self.routine}
        for channels in self.routes.values():
            used.update(channels)
        return used


class AuthSettings(_Section, frozen=True):
    """Token handling; credentials themselves come from the environment."""

    renewal_margin_seconds: PositiveFloat = 900.0
    """Renew this long before the server's ``expirationTime``."""
    renewal_retries: NonNegativeInt = 3
    renewal_retry_delay_seconds: PositiveFloat = 20.0
    penalty_retries: NonNegativeInt = 2
    """How often a login answered with a (non-captcha) penalty ticket is resent."""
    max_logins_per_hour: PositiveInt = 3
    """Local guard: each login opens a server session and Tradovate keeps only two."""
    request_timeout_seconds: PositiveFloat = 15.0
    token_cache: str = "state/token.json"


class LogSettings(_Section, frozen=True):
    path: str = "logs/tradovate-api.jsonl"
    level: LogLevel = "INFO"
    max_bytes: PositiveInt = 20_000_000
    """Rotate when the current file would exceed this size."""
    backup_count: NonNegativeInt = 5
    queue_size: PositiveInt = 10_000
    """Records waiting for the writer thread; beyond this new records are dropped and counted."""


class Connection(_Section, frozen=True):
    """Websocket liveness and request time-outs."""

    heartbeat_seconds: PositiveFloat = 2.5
    silence_timeout_seconds: PositiveFloat = 10.0
    """No frame of any kind for this long means the socket is dead."""
    request_timeout_seconds: PositiveFloat = 10.0
    busy_poll: bool = False
    """Keep the event loop polling the sockets instead of sleeping between frames: lower
    tick-to-order latency at the cost of one CPU core at 100% (see ``runtime/busy_poll.py``)."""


class Reconnect(_Section, frozen=True):
    """Exponential backoff with jitter, and the circuit breaker that stops a run whose server
    cannot be reached. The breaker counts failed connection attempts only (never ready): with
    these defaults about four minutes of an unreachable server trip it, an outage shorter
    than a couple of minutes never does, and a socket that is dropped but reconnects never
    does (ADR 0003)."""

    initial_backoff_seconds: PositiveFloat = 0.5
    max_backoff_seconds: PositiveFloat = 30.0
    multiplier: Annotated[float, msgspec.Meta(ge=1)] = 2.0
    jitter: Fraction = 0.2
    breaker_failures: PositiveInt = 15
    """Failed connection attempts of one socket within the window that trip the breaker."""
    breaker_window_seconds: PositiveFloat = 600.0
    healthy_after_seconds: PositiveFloat = 10.0
    """A connection that stayed ready this long clears the breaker and restarts the backoff
    from the initial delay; one that ended sooner lets the backoff grow."""

    def __post_init__(self) -> None:
        if self.max_backoff_seconds < self.initial_backoff_seconds:
            raise ValueError("max_backoff_seconds: must not be less than "
                             "initial_backoff_seconds")


class Shutdown(_Section, frozen=True):
    """What the shutdown sequence does with orders and positions (see docs/operations.md).

    By default only *entries* are cancelled — orders that could open or increase a position
    — and every position keeps its protective stops (a position without one gets one placed
    first); ``flatten`` closes the positions instead. ``cancel_working_orders``, the old
    name of ``cancel_entries``, is still read (it never cancels protective stops now)."""

    cancel_entries: bool = True
    """Cancel the orders that could open or increase a position; protective stops (and the
    targets the server links to them as OCO) stay working."""
    flatten: bool = False
    """Close every open position and cancel every order."""
    timeout_seconds: PositiveFloat = 10.0


class Market(_Section, frozen=True):
    calendar: str = "CME_Equity"
    wait_for_open: bool | None = None
    """``None``: wait on demo and live, not on the simulator."""


class Reports(_Section, frozen=True):
    """Periodic trading reports (e-mailed as routine notifications) and where they are kept."""

    enabled: bool = True
    first_after_minutes: NonNegativeFloat = 30.0
    """The first periodic report comes this long after the start."""
    every_minutes: Annotated[float, msgspec.Meta(ge=1)] = 120.0
    """Then one report every this many minutes (at least one minute apart)."""
    end_of_session: bool = True
    """Also report when the run ends."""
    directory: str = "reports"
    """Each report's JSON is saved here (``tradovate-api report`` renders the latest)."""
    sample_seconds: Annotated[float, msgspec.Meta(ge=1)] = 60.0
    """How often marks are sampled for the report's price chart and P&L curve."""

    def __post_init__(self) -> None:
        if not self.directory.strip():
            raise ValueError("directory: empty (give a path, e.g. \"reports\")")


class JournalSettings(_Section, frozen=True):
    """The trading journal (SQLite): orders, responses, account events, alerts, reconnects."""

    enabled: bool = True
    path: str = "state/journal.db"
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """``NORMAL``: a committed batch survives the process being killed; ``FULL`` also a
    power cut (an fsync per batch)."""
    queue_size: PositiveInt = 100_000
    """Records waiting for the writer thread; beyond this they are dropped, a gap is
    recorded and new orders are halted until it is (urgent alert)."""
    cancel_previous_orders: bool = True
    """At start, cancel the orders earlier runs of this app left working on the server
    (matched by the client order ids in the journal); protective stops still covering an
    open position are kept. Orders placed by anyone else are never touched."""

    def __post_init__(self) -> None:
        if not self.path.strip():
            raise ValueError("path: empty (give a file, e.g. \"state/journal.db\")")


class RecordingSettings(_Section, frozen=True):
    """Raw market-data recording (zstd files, one per trading session) for replay."""

    enabled: bool = False
    directory: str = "recordings"
    flush_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 0.25
    """A crash loses at most this much of the recording."""
    level: Annotated[int, msgspec.Meta(ge=1, le=22)] = 3
    """zstd compression level."""
    max_pending_frames: PositiveInt = 1_000_000
    """Frames waiting for the writer thread; beyond this they are dropped and counted."""
    rotate_megabytes: Annotated[float, msgspec.Meta(gt=0)] | None = None
    """Also start a new file past this size (``None``: only at a new session)."""

    def __post_init__(self) -> None:
        if not self.directory.strip():
            raise ValueError("directory: empty (give a path, e.g. \"recordings\")")


class DashboardSettings(_Section, frozen=True):
    """The local web dashboard of ``tradovate-api run --dashboard`` (docs/dashboard.md).

    Its access token is a secret, so it is never set here: a random one is made for each run,
    or ``DASHBOARD_TOKEN`` in the environment (or ``.env``) fixes it. Serving beyond this
    machine (``host`` not a loopback address) needs that fixed token and TLS."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 0
    """0: any free port (the address file and the start line say which)."""
    cert_file: str | None = None
    """TLS certificate chain (PEM); with ``key_file`` the page is served over https."""
    key_file: str | None = None
    address_file: str = "state/dashboard.json"
    """Where the running app writes the page's address and token (mode 0600) for
    ``tradovate-api dashboard``."""

    def __post_init__(self) -> None:
        if not self.host.strip():
            raise ValueError("host: empty (give an address, e.g. \"127.0.0.1\")")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file, key_file: give both (TLS) or neither")
        if not self.address_file.strip():
            raise ValueError("address_file: empty (give a file, e.g. "
                             "\"state/dashboard.json\")")


FIRST_INSTRUMENT = "(first instrument)"
"""Stands for the contract a strategy that lists no ``symbols`` trades (the first
instrument), where the instruments come from the simulator at start."""

_STRATEGY_REF = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


class Trading(_Section, frozen=True):
    """What ``tradovate-api run`` trades: which strategy, on which account and contract."""

    strategy: str = "tradovate_api.strategies.reference:ReferenceStrategy"
    """The strategy class as ``"module:Class"`` (the module must be importable)."""
    account: str | None = None
    """Name of the account to trade; ``None``: the login's only account."""
    symbol: str | None = None
    """The contract orders go to; must be one of ``instruments``. ``None``: the first."""
    commission_per_side: dict[str, NonNegativeFloat] = msgspec.field(default_factory=dict)
    """Product (``"ES"``) → money charged per contract per fill side, for P&L. Products not
    listed cost 0, except on the embedded simulator, which supplies its own fees."""
    pause_on_error: bool = True
    """A strategy hook that raises pauses the strategy (orders, risk and stores carry on);
    ``false``: log, alert and keep calling it."""
    measure_hooks: bool = False
    """Time every strategy hook call (two clock reads each, on the md reader's path) and list
    the hooks' mean and worst times in the final summary."""

    def __post_init__(self) -> None:
        if not _STRATEGY_REF.match(self.strategy):
            raise ValueError(f"strategy: expected \"package.module:ClassName\", got "
                             f"{self.strategy!r}")
        for key, value in (("account", self.account), ("symbol", self.symbol)):
            if value is not None and not value.strip():
                raise ValueError(f"{key}: empty")


class CopierFollower(_Section, frozen=True):
    """One follower of the trade copier: an account of the login and how its orders are
    sized from the leader's — ``ratio`` times the leader's quantity (rounded half up, at
    least 1) or a ``fixed`` quantity per copied order. Neither given: ratio 1. ``preset``:
    the risk preset holding this follower's own limits (``None``: the ``[risk]`` limits)."""

    account: str
    ratio: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    fixed: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    preset: str | None = None

    @property
    def account_settings(self) -> AccountSettings:
        """The follower as an account of the run (its own risk and order manager)."""
        return AccountSettings(name=self.account, preset=self.preset)

    def __post_init__(self) -> None:
        if not self.account.strip():
            raise ValueError("account: empty")
        if self.ratio is not None and self.fixed is not None:
            raise ValueError(f"fixed: give ratio or fixed for {self.account!r}, not both")


class Copier(_Section, frozen=True):
    """The trade copier (docs/copier.md): every order of the ``leader`` account mirrored on
    each follower account, through that follower's own order manager and risk limits."""

    leader: str
    """Name of the account whose trades are copied."""
    followers: tuple[CopierFollower, ...]
    copy: Literal["orders", "fills"] = "orders"
    """``orders``: the leader's orders (type, price, modifications, cancels, brackets);
    ``fills``: a Market order per leader fill."""
    source: Literal["account", "strategy"] = "account"
    """``account``: every order on the leader, whoever placed it; ``strategy``: only the
    orders this run's strategy placed (the leader must be ``trading.account``)."""
    on_follower_drift: Literal["alert", "flatten", "adopt"] = "alert"
    """A fill on a follower the copier did not cause: alert only, alert and close it with
    an opposite Market order, or keep it without alerting (logged)."""

    def __post_init__(self) -> None:
        if not self.leader.strip():
            raise ValueError("leader: empty")
        if not self.followers:
            raise ValueError("followers: list at least one follower account")
        names = [f.account for f in self.followers]
        if self.leader in names:
            raise ValueError(f"followers: the leader {self.leader!r} cannot follow itself")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"followers: listed more than once: {', '.join(repeated)}")


LOGIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
"""A login's name: it names the variables of its credentials and its token cache file."""


class LoginSettings(_Section, frozen=True):
    """Another Tradovate login of the run (``[[logins]]``), beside the primary one (the
    ``TRADOVATE_*`` credentials). Its credentials are read, like the primary's, from the
    environment or the env file, from the variables ``env_prefix`` + ``NAME``,
    ``PASSWORD``, ``CID``, ``SEC``, ``APP_ID``, ``APP_VERSION``, ``DEVICE_ID`` (default
    prefix: ``TRADOVATE_<NAME>_``); never from this file. Accounts name it with
    ``login = "NAME"``."""

    name: str
    env_prefix: str | None = None

    def __post_init__(self) -> None:
        if not LOGIN_NAME.fullmatch(self.name):
            raise ValueError(f"name: {self.name!r} is not a login name (a letter, then "
                             f"letters, digits or _; at most 32)")
        if self.env_prefix is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]*_",
                                                            self.env_prefix):
            raise ValueError(f"env_prefix: {self.env_prefix!r} is not a variable name prefix "
                             f"(capitals, digits and _, ending with _)")
        if self.variables_prefix == "TRADOVATE_":
            raise ValueError("env_prefix: the prefix TRADOVATE_ is the primary login's")

    @property
    def variables_prefix(self) -> str:
        """The prefix of its credentials' variable names."""
        return self.env_prefix or f"TRADOVATE_{self.name.upper()}_"


class AccountSettings(_Section, frozen=True):
    """One account to trade (``[[accounts]]``), by its name or its id as Tradovate shows them.

    An entry naming neither is the login's only active account (what ``[trading]`` means
    without ``account``). Whether the account exists is checked against the login's account
    list at start, before any order."""

    name: str | None = None
    id: PositiveInt | None = None
    preset: str | None = None
    """A risk preset (``[risk.preset.NAME]``) holding this account's limits; ``None``: the
    ``[risk]`` limits."""
    login: str | None = None
    """The ``[[logins]]`` entry the account is under; ``None``: the primary login."""

    def __post_init__(self) -> None:
        if self.name is not None and not self.name.strip():
            raise ValueError("name: empty")
        if self.preset is not None and not self.preset.strip():
            raise ValueError("preset: empty")

    @property
    def key(self) -> str:
        """How strategies refer to the account: its name, else its id ("" for the only
        account of the login)."""
        if self.name is not None:
            return self.name
        return "" if self.id is None else str(self.id)


class StrategySettings(_Section, frozen=True):
    """One strategy of the run (``[[strategies]]``): its class, the accounts it trades (one
    instance of the strategy per account, each with its own context), the contracts it
    trades (the first is its ``ctx.trading_symbol``) and its parameters."""

    name: str
    class_: str = msgspec.field(name="class")
    """``"package.module:Class"``."""
    accounts: tuple[str, ...]
    """Keys of ``[[accounts]]`` entries (their ``name``, or their ``id`` as a string)."""
    symbols: tuple[str, ...] = ()
    """Contracts it trades, each one of ``instruments``; empty: the first instrument."""
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    """Its parameters, checked against the strategy's ``Params`` (as ``[strategy]`` is)."""
    allow_shared: bool = False
    """Let it trade an account and contract another strategy trades too (that one must allow
    it as well): the two may then trade in opposite directions on the same position."""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name: empty")
        if not _STRATEGY_REF.match(self.class_):
            raise ValueError(f"class: expected \"package.module:ClassName\", got "
                             f"{self.class_!r}")
        if not self.accounts:
            raise ValueError("accounts: list the accounts it trades")
        if len(set(self.accounts)) != len(self.accounts):
            raise ValueError("accounts: an account listed more than once")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("symbols: a contract listed more than once")


class Settings(_Section, frozen=True):
    """The whole settings file."""

    environment: Environment = "sim"
    urls: Urls = msgspec.field(default_factory=Urls)
    instruments: tuple[str, ...] = ()
    strategy: dict[str, Any] = msgspec.field(default_factory=dict)
    """Free-form parameters handed to the strategy as they are."""
    risk: Risk = msgspec.field(default_factory=Risk)
    notifications: Notifications = msgspec.field(default_factory=Notifications)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    log: LogSettings = msgspec.field(default_factory=LogSettings)
    connection: Connection = msgspec.field(default_factory=Connection)
    reconnect: Reconnect = msgspec.field(default_factory=Reconnect)
    shutdown: Shutdown = msgspec.field(default_factory=Shutdown)
    market: Market = msgspec.field(default_factory=Market)
    trading: Trading = msgspec.field(default_factory=Trading)
    reports: Reports = msgspec.field(default_factory=Reports)
    journal: JournalSettings = msgspec.field(default_factory=JournalSettings)
    recording: RecordingSettings = msgspec.field(default_factory=RecordingSettings)
    dashboard: DashboardSettings = msgspec.field(default_factory=DashboardSettings)
    logins: tuple[LoginSettings, ...] = ()
    """Logins beside the primary one (``[[logins]]``); empty: the primary login alone."""
    accounts: tuple[AccountSettings, ...] = ()
    """The accounts to trade (``[[accounts]]``); empty: ``trading.account`` alone."""
    strategies: tuple[StrategySettings, ...] = ()
    """The strategies to run (``[[strategies]]``); empty: ``trading.strategy`` alone."""
    copier: Copier | None = None
    """The trade copier; ``None`` (no ``[copier]`` table): off."""

    def __post_init__(self) -> None:
        for index, symbol in enumerate(self.instruments):
            if not symbol.strip():
                raise ValueError(f"instruments[{index}]: empty symbol")
            if not CONTRACT_NAME.fullmatch(symbol):
                raise ValueError(f"instruments[{index}]: {symbol!r} is not a futures contract "
                                 f"name (product, month code, year digit: ESZ6, MESH7)")
        if len(set(self.instruments)) != len(self.instruments):
            raise ValueError("instruments: listed more than once")
        traded = self.trading.symbol
        if traded is not None and self.instruments and traded not in self.instruments:
            raise ValueError(f"trading.symbol: {traded!r} is not one of instruments "
                             f"({', '.join(self.instruments)})")
        self._check_accounts_and_strategies()
        self._check_logins()
        self._check_copier()

    def _check_logins(self) -> None:
        """Login names and credential prefixes are unique, every account's ``login`` is
        listed, each login trades an account, and the copier stays within the primary
        login."""
        names: set[str] = set()
        prefixes: set[str] = set()
        for index, login in enumerate(self.logins):
            if login.name in names:
                raise ValueError(f"logins[{index}].name: login {login.name!r} listed twice")
            if login.variables_prefix in prefixes:
                raise ValueError(f"logins[{index}].env_prefix: {login.variables_prefix!r} "
                                 f"is another login's")
            names.add(login.name)
            prefixes.add(login.variables_prefix)
        if self.logins and not self.accounts:
            raise ValueError("logins: [[logins]] trade the [[accounts]] that name them; list "
                             "the accounts (with login = \"NAME\") and the strategies")
        for index, account in enumerate(self.accounts):
            if account.login is not None and account.login not in names:
                listed = ", ".join(sorted(names)) or "none"
                raise ValueError(f"accounts[{index}].login: {account.login!r} is not in "
                                 f"[[logins]] ({listed})")
        used = {account.login for account in self.accounts}
        for index, login in enumerate(self.logins):
            if login.name not in used:
                raise ValueError(f"logins[{index}]: login {login.name!r} has no account in "
                                 f"[[accounts]]")
        copier = self.copier
        if copier is not None:
            elsewhere = [a for a in self.accounts if a.login is not None
                         and a.key in (copier.leader, *(f.account for f in copier.followers))]
            if elsewhere:
                raise ValueError(f"copier: account {elsewhere[0].key!r} is under login "
                                 f"{elsewhere[0].login!r}; the copier's leader and followers "
                                 f"are accounts of the primary login")

    def login_of(self, account: AccountSettings) -> LoginSettings | None:
        """The ``[[logins]]`` entry ``account`` is under (``None``: the primary login)."""
        return next((login for login in self.logins if login.name == account.login), None)

    def _check_copier(self) -> None:
        """The copier's followers are not traded by a strategy (their orders would be taken
        for drift); copying a strategy's orders needs the leader to be a traded account."""
        copier = self.copier
        if copier is None:
            return
        traded = {account.key for account in self.account_list()}
        for index, follower in enumerate(copier.followers):
            if follower.account in traded:
                raise ValueError(f"copier.followers: {follower.account!r} is traded by a "
                                 f"strategy; its orders there would be taken for drift")
            try:
                account_limits(self, follower.account_settings)
            except ConfigError as exc:
                raise ValueError(f"copier.followers[{index}].preset: {exc}") from None
        if copier.source == "strategy" and copier.leader not in traded:
            raise ValueError("copier.source: \"strategy\" copies this run's strategies' "
                             "orders: the leader must be an account they trade")

    def _check_accounts_and_strategies(self) -> None:
        """``[[accounts]]`` and ``[[strategies]]`` come together and replace ``[trading]``'s
        strategy and account; names are unique, strategies trade listed accounts and listed
        instruments, and no two strategies share an account and contract unless both allow
        it."""
        if not self.accounts and not self.strategies:
            return
        if not self.accounts or not self.strategies:
            missing = "accounts" if not self.accounts else "strategies"
            raise ValueError(f"{missing}: [[accounts]] and [[strategies]] go together; list "
                             f"the {missing} too")
        replaced = [key for key, given in (
            ("trading.account", self.trading.account is not None),
            ("trading.symbol", self.trading.symbol is not None),
            ("trading.strategy", self.trading.strategy != Trading().strategy),
            ("strategy", bool(self.strategy))) if given]
        if replaced:
            raise ValueError(f"{', '.join(replaced)}: not used with [[strategies]] (give each "
                             f"strategy's class, accounts, symbols and params there)")
        keys: set[str] = set()
        ids: set[int] = set()
        for index, account in enumerate(self.accounts):
            if account.name is None and account.id is None:
                raise ValueError(f"accounts[{index}]: give the account's name or id")
            if account.key in keys or (account.id is not None and account.id in ids):
                raise ValueError(f"accounts[{index}]: account {account.key!r} listed twice")
            keys.add(account.key)
            if account.id is not None:
                ids.add(account.id)
        for index, account in enumerate(self.accounts):
            try:
                account_limits(self, account)
            except ConfigError as exc:
                raise ValueError(f"accounts[{index}].preset: {exc}") from None
        names: set[str] = set()
        traded: dict[tuple[str, str], StrategySettings] = {}
        for index, strategy in enumerate(self.strategies):
            where = f"strategies[{index}]"
            if strategy.name in names:
                raise ValueError(f"{where}.name: strategy name {strategy.name!r} used twice")
            names.add(strategy.name)
            for key in strategy.accounts:
                if key not in keys:
                    raise ValueError(f"{where}.accounts: {key!r} is not in [[accounts]] "
                                     f"({', '.join(sorted(keys))})")
            for symbol in strategy.symbols:
                if self.instruments and symbol not in self.instruments:
                    raise ValueError(f"{where}.symbols: {symbol!r} is not one of instruments "
                                     f"({', '.join(self.instruments)})")
                if not CONTRACT_NAME.fullmatch(symbol):
                    raise ValueError(f"{where}.symbols: {symbol!r} is not a futures "
                                     f"contract name")
            for key in strategy.accounts:
                for symbol in strategy.symbols or self.instruments[:1] or (FIRST_INSTRUMENT,):
                    other = traded.setdefault((key, symbol), strategy)
                    if other is not strategy and not (other.allow_shared
                                                      and strategy.allow_shared):
                        raise ValueError(
                            f"{where}: strategy {strategy.name!r} trades {symbol} on account "
                            f"{key!r} like strategy "
                            f"{other.name!r}; two strategies on one account and contract may "
                            f"trade against each other: set allow_shared = true on both to "
                            f"allow it")

    def account_list(self) -> tuple[AccountSettings, ...]:
        """The accounts of the run: ``[[accounts]]``, else the one ``[trading]`` names (or
        the login's only account) — the single case is the list of one."""
        if self.accounts:
            return self.accounts
        return (AccountSettings(name=self.trading.account),)

    def strategy_list(self) -> tuple[StrategySettings, ...]:
        """The strategies of the run: ``[[strategies]]``, else ``[trading]``'s strategy with
        the ``[strategy]`` table, on the one account, trading ``trading.symbol``."""
        if self.strategies:
            return self.strategies
        traded = self.traded_symbol
        return (StrategySettings(name=self.trading.strategy.rpartition(":")[2],
                                 class_=self.trading.strategy,
                                 accounts=(self.account_list()[0].key,),
                                 symbols=() if traded is None else (traded,),
                                 params=self.strategy),)

    @property
    def traded_symbol(self) -> str | None:
        """The contract orders go to: ``trading.symbol``, else the first instrument."""
        return self.trading.symbol or (self.instruments[0] if self.instruments else None)

    def endpoints(self) -> Endpoints | None:
        """The addresses to use; ``None`` on ``sim`` without overrides, meaning the
        embedded simulator supplies its own."""
        default = DEFAULT_ENDPOINTS.get(self.environment)
        rest = self.urls.rest or (default.rest if default else None)
        if rest is None:
            return None
        trading_ws = self.urls.trading_ws or (
            default.trading_ws if default and not self.urls.rest else websocket_url_for(rest))
        md_ws = self.urls.md_ws or (
            default.md_ws if default and not self.urls.rest else trading_ws)
        return Endpoints(rest, trading_ws, md_ws)

    @property
    def waits_for_open(self) -> bool:
        if self.market.wait_for_open is None:
            return self.environment != "sim"
        return self.market.wait_for_open


def account_limits(settings: Settings, account: AccountSettings) -> Risk:
    """The risk limits of one account: those of its preset, else the ``[risk]`` limits (with
    ``risk.use_preset``'s rules). :class:`ConfigError` for a preset that is not defined."""
    if account.preset is None:
        return settings.risk.effective()
    return settings.risk.for_preset(account.preset)


# Keys that hold credentials, and where each belongs instead.
_SECRET_KEY_HINTS: Mapping[str, str] = {
    "password": "TRADOVATE_PASSWORD", "sec": "TRADOVATE_SEC", "cid": "TRADOVATE_CID",
    "api_secret": "TRADOVATE_SEC", "secret": "TRADOVATE_SEC", "api_key": "TRADOVATE_SEC",
    "apikey": "TRADOVATE_SEC", "access_token": "nothing (tokens are obtained at run time)",
    "md_access_token": "nothing (tokens are obtained at run time)",
    "token": "nothing (tokens are obtained at run time)",
    "auth_token": "TWILIO_AUTH_TOKEN", "account_sid": "TWILIO_ACCOUNT_SID",
    "sid": "TWILIO_ACCOUNT_SID", "smtp_password": "SMTP_PASSWORD",
}
_SECRET_SUFFIXES = ("password", "passwd", "_secret", "_token", "_apikey", "_api_key")


def _secret_key_hint(key: str) -> str | None:
    lowered = key.lower()
    if lowered in _SECRET_KEY_HINTS:
        return _SECRET_KEY_HINTS[lowered]
    if lowered.endswith(_SECRET_SUFFIXES):
        return "the matching environment variable (see docs/configuration.md)"
    return None


def _reject_secrets(table: Mapping[str, Any], prefix: str = "") -> None:
    for key, value in table.items():
        path = f"{prefix}{key}"
        hint = _secret_key_hint(key)
        if hint is not None:
            raise ConfigError(f"{path}: looks like a secret; secrets are never read from the "
                              f"settings file: remove it and set {hint} in the environment "
                              f"or the .env file")
        if isinstance(value, Mapping):
            _reject_secrets(value, f"{path}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    _reject_secrets(item, f"{path}[{index}].")


def _resolve_path(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path))


_RENAMED: Mapping[tuple[str, str], str] = {("shutdown", "cancel_working_orders"): "cancel_entries"}
"""Old keys still read, by (section, key) → their new name."""


def _renamed_keys(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """``raw`` with old key names replaced by their new ones; both given differently is a
    :class:`ConfigError` naming them."""
    result = dict(raw)
    for (section, old), new in _RENAMED.items():
        table = result.get(section)
        if not isinstance(table, Mapping) or old not in table:
            continue
        table = dict(table)
        value = table.pop(old)
        if new in table and table[new] != value:
            raise ConfigError(f"{section}.{old}: old name of {section}.{new}, which is set "
                              f"differently; keep only {section}.{new}")
        table[new] = value
        result[section] = table
    return result


def _check_presets(presets: Any, where: str) -> None:
    """Each ``[NAME]`` table of ``presets`` converted on its own, so that an error names the
    preset (``risk.preset.eval-50k.trailing_mode: ...``); not a table: left to the
    conversion of the whole file to report."""
    if not isinstance(presets, Mapping):
        return
    for name, table in presets.items():
        try:
            msgspec.convert(table, RulePreset, strict=True)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{where}.{key_text(name)}."
                              f"{describe_validation_error(exc)}") from None


def _with_presets(raw: Mapping[str, Any], base_dir: Path | None) -> Mapping[str, Any]:
    """``raw`` with its presets checked and those of ``risk.preset_file`` added to
    ``risk.preset``; :class:`ConfigError` for a file missing, unreadable, not TOML, holding
    anything but ``[preset.NAME]`` tables or a bad preset, or a name defined twice."""
    risk = raw.get("risk")
    if not isinstance(risk, Mapping):
        return raw
    _check_presets(risk.get("preset"), "risk.preset")
    if not isinstance(risk.get("preset_file"), str):
        return raw
    path = Path(_resolve_path(base_dir or Path.cwd(), risk["preset_file"]))
    where = f"risk.preset_file: {path}"
    try:
        table = tomllib.loads(path.read_bytes().removeprefix(UTF8_BOM).decode())
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the preset file: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    try:
        _reject_secrets(table)
        reject_non_finite(table)
        unknown = sorted(key_text(key) for key in table if key != "preset")
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown key (the file holds only "
                              f"[preset.NAME] tables)")
        file_presets = table.get("preset", {})
        if not isinstance(file_presets, Mapping):
            raise ConfigError("preset: expected [preset.NAME] tables")
        _check_presets(file_presets, "preset")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    presets = dict(risk.get("preset") or {})
    for name, rules in file_presets.items():
        if name in presets:
            raise ConfigError(f"risk.preset.{key_text(name)}: defined both here and in "
                              f"risk.preset_file ({path}); keep one")
        presets[name] = rules
    return {**raw, "risk": {**risk, "preset": presets, "preset_file": str(path)}}


def settings_from_mapping(raw: Mapping[str, Any], base_dir: Path | None = None) -> Settings:
    """Validate an already-parsed TOML table (errors name the key but not a file); a
    ``risk.preset_file`` relative path is resolved against ``base_dir`` (else the working
    directory)."""
    _reject_secrets(raw)
    reject_non_finite(raw)
    raw = _renamed_keys(raw)
    raw = _with_presets(raw, base_dir)
    try:
        settings = msgspec.convert(raw, Settings, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    if base_dir is None:
        return settings
    risk = settings.risk
    if risk.kill_switch_file is not None:
        risk = msgspec.structs.replace(
            risk, kill_switch_file=_resolve_path(base_dir, risk.kill_switch_file))
    return msgspec.structs.replace(
        settings,
        risk=risk,
        log=msgspec.structs.replace(settings.log,
                                    path=_resolve_path(base_dir, settings.log.path)),
        auth=msgspec.structs.replace(settings.auth, token_cache=_resolve_path(
            base_dir, settings.auth.token_cache)),
        reports=msgspec.structs.replace(settings.reports, directory=_resolve_path(
            base_dir, settings.reports.directory)),
        journal=msgspec.structs.replace(settings.journal, path=_resolve_path(
            base_dir, settings.journal.path)),
        recording=msgspec.structs.replace(settings.recording, directory=_resolve_path(
            base_dir, settings.recording.directory)),
        dashboard=_resolve_dashboard(base_dir, settings.dashboard),
    )


def _resolve_dashboard(base: Path, dashboard: DashboardSettings) -> DashboardSettings:
    def resolve(value: str | None) -> str | None:
        return None if value is None else _resolve_path(base, value)

    return msgspec.structs.replace(
        dashboard, cert_file=resolve(dashboard.cert_file), key_file=resolve(dashboard.key_file),
        address_file=_resolve_path(base, dashboard.address_file))


UTF8_BOM = b"\xef\xbb\xbf"
"""What some Windows editors put at the start of a UTF-8 file."""


def load_settings(path: str | Path) -> Settings:
    """Read and validate the settings file; :class:`ConfigError` names the file and key."""
    file = Path(path)
    try:
        data = file.read_bytes()
        raw = tomllib.loads(data.removeprefix(UTF8_BOM).decode())
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the settings file: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        return settings_from_mapping(raw, file.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None


def settings_as_dict(settings: Settings) -> dict[str, Any]:
    """Plain builtins of the effective settings (for printing)."""
    result: dict[str, Any] = msgspec.to_builtins(settings)
    return result
