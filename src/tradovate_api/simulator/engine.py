"""The simulator's matching engine and account ledger.

:class:`Exchange` is pure and synchronous: the server calls it with decoded request bodies and
with each :class:`MarketUpdate`, and sends the returned results and :class:`EntityChange` lists
(already in wire order) to the users' sockets. It never writes the books; its fills do not
deplete them (the market generator owns the liquidity), but one order or one market update
never takes the same displayed size twice.

Orders are modelled as Tradovate models them: an ``order`` (identity and status), one
``orderVersion`` per New/Modify ``command`` (same id as the command), ``commandReport``s,
``executionReport``s, ``fill``s, ``fillPair``s and one ``position`` per account and contract.
Cash moves by realized P&L (FIFO pairing, see :mod:`.ledger`) minus commissions.

Order strategies (``orderStrategy/startorderstrategy``, type 2 "multibracket", reference §6.7):
an ``orderStrategy`` with ``orderStrategyLink``s to its orders; each fill of the entry creates,
per bracket it is allotted to, a target Limit and a Stop (or TrailingStop) at the fill price
plus the signed offsets, linked as an OCO pair and sized to that fill's share.

The trade date follows the clock (CME session change at 17:00 CT, §5.4): when it changes,
positions carry ``prevPos``/``prevPrice`` (the settlement), the day's totals and realized P&L
restart, open P&L against the settlement is settled into cash, and earlier fills, reports and
finished orders leave the lists (see :meth:`Exchange.roll_trade_date`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from ..protocol.models import (
    Account,
    AccountRiskStatus,
    CancelOrder,
    CashBalance,
    CashBalanceSnapshot,
    Command,
    CommandReport,
    CommandResult,
    Contract,
    ContractGroup,
    ContractMaturity,
    Currency,
    ExecutionReport,
    Fill,
    FillPair,
    InterruptOrderStrategy,
    LiquidatePosition,
    MarginSnapshot,
    ModifyOrder,
    Order,
    OrderStrategy,
    OrderStrategyLink,
    OrderStrategyStatusResponse,
    OrderStrategyType,
    OrderVersion,
    PlaceOCO,
    PlaceOcoResult,
    PlaceOrder,
    PlaceOrderResult,
    PlaceOSO,
    PlaceOsoResult,
    Position,
    PriceLevel,
    Product,
    RestrainedOrderVersion,
    StartOrderStrategy,
    SyncMessage,
    TradeDate,
    User,
    UserAccountAutoLiq,
    WireModel,
)
from ..protocol.models import Exchange as ExchangeEntity
from .book import Book, MarketUpdate
from .changes import EntityChange
from .engine_store import DEPS_FIELD, USER_DATA_TYPES, EntityStore, entity_id
from .engine_time import cme_trade_date, iso_timestamp
from .instruments import Instrument, InstrumentCatalog
from .ledger import Pair, PositionLedger
from .risk_guard import AccountGuard, Breach, Standing
from .strategy_params import Bracket, StrategyPlan, parse_params

_FIRST_ID = 1_000_001
_SUPPORTED_TYPES = frozenset({"Market", "Limit", "Stop", "StopLimit", "TrailingStop"})
_NEEDS_PRICE = frozenset({"Limit", "StopLimit"})
_NEEDS_STOP = frozenset({"Stop", "StopLimit"})
_STOP_TYPES = frozenset({"Stop", "StopLimit", "TrailingStop"})
_INITIAL_MARGIN_RATE = 0.055
"""Initial margin as a share of notional (ES at 5000 → about 13,750 USD per contract)."""
_MAINTENANCE_RATIO = 0.9
_REORDER_PROBABILITY = 0.3
MULTIBRACKET = OrderStrategyType(id=2, name="multibracket", enabled=True)
"""The one order strategy type (reference §6.7: 2 = multibracket)."""
_STRATEGY_DONE = frozenset({"ExecutionFailed", "ExecutionFinished", "ExecutionInterrupted",
                            "StoppedByUser"})

Failure = tuple[str, str]
"""(failureReason, failureText) of a refused request."""
RejectionSource = Callable[[str, str], "tuple[str, str, bool] | None"]
"""Asked, once a request to an endpoint for an account (its name) passed validation, whether
to reject it: ``(reason, text, after_accept)``."""


@dataclass(frozen=True, slots=True)
class _Fault:
    reason: str
    text: str
    after_accept: bool


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a validated new order goes."""

    account: Account
    inst: Instrument


@dataclass(slots=True)
class _Cash:
    id: int
    amount: float
    realized: float = 0.0
    """Today's realized P&L (reset at the trade-date roll)."""
    week_realized: float = 0.0
    start_of_day: float = 0.0
    """The amount when the trade date began (``amountSOD``, current spec)."""


@dataclass(slots=True)
class _Pace:
    """An order that fills in parts (``partial_fills_across_reconnect``): at most ``part``
    contracts per fill, ``interval`` seconds apart."""

    part: int
    interval: float
    next_at: float = 0.0
    parts_done: int = 0


@dataclass(slots=True, eq=False)
class _Strategy:
    """A running multibracket strategy: its entity, plan and orders."""

    entity: OrderStrategy
    user_id: int
    plan: StrategyPlan
    entry_id: int
    custom_tag50: str | None
    is_automated: bool | None
    order_ids: list[int] = field(default_factory=list)
    allotted: list[int] = field(default_factory=list)
    """Contracts of each bracket already protected by its target/stop pair."""
    interrupted: bool = False


@dataclass(slots=True, eq=False)
class _Live:
    """An order that can still trade (working or held as an OSO bracket)."""

    order: Order
    version: OrderVersion
    command: Command
    user_id: int
    inst: Instrument
    cum_qty: int = 0
    filled_value: float = 0.0
    held: bool = False
    triggered: bool = False
    brackets: list[int] = field(default_factory=list)
    oco_sibling: int | None = None
    strategy_id: int | None = None
    pace: _Pace | None = None

    @property
    def is_buy(self) -> bool:
        return self.order.action == "Buy"

    @property
    def remaining(self) -> int:
        return self.version.order_qty - self.cum_qty

    @property
    def account_id(self) -> int:
        return self.order.account_id

    @property
    def avg_px(self) -> float | None:
        return self.filled_value / self.cum_qty if self.cum_qty else None


def _fail(reason: str, text: str) -> PlaceOrderResult:
    return PlaceOrderResult(failure_reason=reason, failure_text=text)


class Exchange:
    """Users, accounts, orders and their executions against the simulated books."""

    def __init__(self, catalog: InstrumentCatalog, books: Mapping[int, Book],
                 clock: Callable[[], float], *, rng: random.Random | None = None,
                 reference: Iterable[Currency | ExchangeEntity | ContractGroup] = (),
                 session_open: Callable[[], bool] | None = None) -> None:
        """``reference`` names currencies/exchanges/contract groups; any the catalog's products
        point at and that are not given are derived (USD, CME, "Futures"). ``session_open``
        says whether the market trades now (``None``: always); when it does not, placements
        and modifications are refused ``SessionClosed`` (cancels still work)."""
        self._catalog = catalog
        self._books = books
        self._clock = clock
        self._session_open = session_open
        self._rng = rng
        self._next_id = _FIRST_ID
        self._store = EntityStore()
        self._users: dict[int, User] = {}
        self._accounts: dict[int, Account] = {}
        self._cash: dict[int, _Cash] = {}
        self._ledgers: dict[tuple[int, int], PositionLedger] = {}
        self._position_ids: dict[tuple[int, int], int] = {}
        self._live: dict[int, _Live] = {}
        self._faults: deque[_Fault] = deque()
        self._rejections: RejectionSource | None = None
        self._strategies: dict[int, _Strategy] = {}
        self._trade_date = cme_trade_date(clock())
        self._unrouted: list[EntityChange] = []
        """Changes made outside a call that returns changes (a roll seen by a query)."""
        self._next_pace: tuple[int, float] | None = None
        self._split_users: list[int] = []
        self._guards: dict[int, AccountGuard] = {}
        """Every account's auto-liquidation settings, risk status and standing."""
        self._init_reference(reference)

    # ----------------------------------------------------------------- reference data

    def _init_reference(self, reference: Iterable[WireModel]) -> None:
        given = list(reference)
        products: dict[int, Product] = {}
        self._maturities: dict[int, ContractMaturity] = {}
        self._contracts: dict[int, Contract] = {}
        for inst in self._catalog:
            products[inst.product.id] = inst.product
            self._maturities[inst.maturity.id] = inst.maturity
            self._contracts[inst.contract.id] = inst.contract
        self._products = products
        self._currencies = {c.id: c for c in given if isinstance(c, Currency)}
        self._exchanges = {e.id: e for e in given if isinstance(e, ExchangeEntity)}
        self._groups = {g.id: g for g in given if isinstance(g, ContractGroup)}
        for product in products.values():
            self._currencies.setdefault(product.currency_id,
                                        Currency(id=product.currency_id, name="USD", symbol="$"))
            self._exchanges.setdefault(product.exchange_id,
                                       ExchangeEntity(id=product.exchange_id, name="CME"))
            self._groups.setdefault(product.contract_group_id,
                                    ContractGroup(id=product.contract_group_id, name="Futures"))
        usd = [c.id for c in self._currencies.values() if c.name == "USD"]
        self._usd_id = usd[0] if usd else 1

    def _catalog_entities(self, entity_type: str) -> list[WireModel] | None:
        tables: dict[str, Mapping[int, WireModel]] = {
            "product": self._products, "contractMaturity": self._maturities,
            "contract": self._contracts, "currency": self._currencies,
            "exchange": self._exchanges, "contractGroup": self._groups,
            "orderStrategyType": {MULTIBRACKET.id: MULTIBRACKET},
        }
        table = tables.get(entity_type)
        return None if table is None else list(table.values())

    # ----------------------------------------------------------------- helpers

    def _new_id(self) -> int:
        ident = self._next_id
        self._next_id += 1
        return ident

    def _stamp(self) -> tuple[str, TradeDate]:
        """Now as a wire timestamp, and the exchange's current trade date."""
        return iso_timestamp(self._clock()), self._trade_date

    def _emit(self, out: list[EntityChange], user_id: int, account_id: int, entity_type: str,
              event_type: str, entity: WireModel) -> None:
        self._store.put(entity_type, entity, user_id, account_id)
        out.append(EntityChange(user_id, entity_type, event_type, entity))

    def _begin(self) -> list[EntityChange]:
        """The change list of a call that returns changes: starts with a due trade-date roll
        and whatever a query could not return."""
        self._roll_due()
        out, self._unrouted = self._unrouted, []
        return out

    def _roll_due(self) -> None:
        """Roll when the clock reached a later trade date (a roll made at once by
        :meth:`roll_trade_date` stays until the clock catches up)."""
        today = cme_trade_date(self._clock())
        current = self._trade_date
        if (today.year, today.month, today.day) > (current.year, current.month, current.day):
            self._unrouted.extend(self._roll(today))

    def _reorder(self, changes: list[EntityChange]) -> list[EntityChange]:
        """With ``rng``: sometimes move a fill or position ahead of the order update before it,
        as real account traffic sometimes arrives."""
        if self._rng is None or self._rng.random() >= _REORDER_PROBABILITY:
            return changes
        for i, change in enumerate(changes):
            if change.entity_type == "order" and change.event_type == "Updated":
                for j in range(i + 1, len(changes)):
                    if changes[j].entity_type in ("fill", "position"):
                        moved = changes.pop(j)
                        changes.insert(i, moved)
                        return changes
        return changes

    def _ticks(self, price: float, inst: Instrument) -> int:
        return round(price / inst.tick_size)

    def _on_grid(self, price: float, inst: Instrument) -> bool:
        return abs(price / inst.tick_size - round(price / inst.tick_size)) < 1e-6

    # ----------------------------------------------------------------- users and accounts

    def add_user(self, name: str, email: str | None = None) -> User:
        stamp, _ = self._stamp()
        user = User(id=self._new_id(), name=name, timestamp=stamp,
                    email=email if email is not None else f"{name}@example.com",
                    status="Active", professional=False)
        self._users[user.id] = user
        return user

    def add_account(self, user_id: int, name: str, balance: float,
                    auto_liq: UserAccountAutoLiq | None = None) -> Account:
        """A funded demo account of ``user_id`` with its cash balance and risk entities;
        ``auto_liq`` (its ``id`` is replaced by the account's) holds the limits the exchange
        enforces (none by default)."""
        if user_id not in self._users:
            raise KeyError(f"unknown user {user_id}")
        stamp, trade_date = self._stamp()
        account = Account(id=self._new_id(), name=name, user_id=user_id, account_type="Customer",
                          active=True, clearing_house_id=2, risk_category_id=2,
                          auto_liq_profile_id=2, margin_account_type="Speculator",
                          legal_status="Individual", timestamp=stamp, readonly=False)
        self._accounts[account.id] = account
        ignored: list[EntityChange] = []
        aid = account.id
        self._emit(ignored, user_id, aid, "account", "Created", account)
        cash = _Cash(id=self._new_id(), amount=balance, start_of_day=balance)
        self._cash[aid] = cash
        self._emit(ignored, user_id, aid, "cashBalance", "Created",
                   self._cash_entity(aid, stamp, trade_date))
        self._emit(ignored, user_id, aid, "marginSnapshot", "Created", self._margin_entity(aid))
        status = AccountRiskStatus(id=aid, admin_action="Normal", user_triggered_liq_only=False)
        settings = (UserAccountAutoLiq(id=aid, changes_locked=False) if auto_liq is None
                    else msgspec.structs.replace(auto_liq, id=aid))
        self._guards[aid] = AccountGuard(settings, status, high_water=balance)
        self._emit(ignored, user_id, aid, "accountRiskStatus", "Created", status)
        self._emit(ignored, user_id, aid, "userAccountAutoLiq", "Created", settings)
        return account

    def carry_position(self, account_id: int, symbol: str, prev_pos: int,
                       prev_price: float) -> Position:
        """Start an account with a position carried from the previous trade date
        (``prevPos``/``prevPrice``); ``KeyError`` for an unknown account or contract."""
        account = self._accounts[account_id]
        inst = self._catalog.resolve(symbol)
        if inst is None:
            raise KeyError(f"unknown contract {symbol!r}")
        key = (account_id, inst.contract_id)
        ledger = self._ledgers.setdefault(key, PositionLedger())
        ledger.carry(self._new_id(), prev_pos, prev_price)
        new = key not in self._position_ids
        if new:
            self._position_ids[key] = self._new_id()
        position_id = self._position_ids[key]
        stamp, trade_date = self._stamp()
        position = self._position_entity(position_id, key, ledger, stamp, trade_date)
        ignored: list[EntityChange] = []
        self._emit(ignored, account.user_id, account_id, "position",
                   "Created" if new else "Updated", position)
        return position

    def set_rejection_source(self, source: RejectionSource | None) -> None:
        """Where valid order requests learn whether a fault rejects them (after the queue
        of :meth:`reject_next`)."""
        self._rejections = source

    def pace_next_order(self, parts: int, interval: float) -> None:
        """The next entry order created fills in up to ``parts`` parts, ``interval``
        seconds apart (``partial_fills_across_reconnect``)."""
        self._next_pace = (parts, interval)

    def clear_pace(self) -> None:
        """Forget a pacing no order took up (the request was refused)."""
        self._next_pace = None

    def take_split_fills(self) -> list[int]:
        """Users whose paced order just filled its first part (their trading sockets are
        to be cut now), once each."""
        users, self._split_users = self._split_users, []
        return users

    @property
    def trade_date(self) -> TradeDate:
        return self._trade_date

    @property
    def has_live_orders(self) -> bool:
        """Whether any order can still trade (a replay skips matching work without one)."""
        return bool(self._live)

    def working_orders(self, account_id: int) -> list[tuple[Order, OrderVersion, int]]:
        """The account's orders that can trade now (OSO brackets still held by their entry
        excluded), each with its current version and unfilled quantity. Read-only: for tools
        watching the exchange (the chaos soak's check that every position has its stop)."""
        return [(live.order, live.version, live.remaining) for live in self._live.values()
                if live.account_id == account_id and not live.held]

    def users(self) -> list[User]:
        return list(self._users.values())

    def user(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    def account(self, account_id: int) -> Account | None:
        return self._accounts.get(account_id)

    def accounts_of(self, user_id: int) -> list[Account]:
        return [a for a in self._accounts.values() if a.user_id == user_id]

    # ----------------------------------------------------------------- queries

    def sync(self, user_id: int, account_ids: Sequence[int] | None = None) -> SyncMessage:
        """The ``user/syncrequest`` snapshot of a user (optionally only some accounts)."""
        user = self._users.get(user_id)
        if user is None:
            return SyncMessage(contract_groups=list(self._groups.values()))
        self._roll_due()
        own = {a.id for a in self.accounts_of(user_id)}
        accounts = frozenset(own if account_ids is None else own.intersection(account_ids))
        s = self._store
        return SyncMessage(
            users=[user],
            contract_groups=list(self._groups.values()),
            accounts=s.typed("account", Account, user_id, accounts),
            account_risk_statuses=s.typed("accountRiskStatus", AccountRiskStatus, user_id,
                                          accounts),
            margin_snapshots=s.typed("marginSnapshot", MarginSnapshot, user_id, accounts),
            user_account_auto_liqs=s.typed("userAccountAutoLiq", UserAccountAutoLiq, user_id,
                                           accounts),
            cash_balances=s.typed("cashBalance", CashBalance, user_id, accounts),
            currencies=list(self._currencies.values()),
            positions=s.typed("position", Position, user_id, accounts),
            fill_pairs=s.typed("fillPair", FillPair, user_id, accounts),
            orders=s.typed("order", Order, user_id, accounts),
            contracts=list(self._contracts.values()),
            contract_maturities=list(self._maturities.values()),
            products=list(self._products.values()),
            exchanges=list(self._exchanges.values()),
            commands=s.typed("command", Command, user_id, accounts),
            command_reports=s.typed("commandReport", CommandReport, user_id, accounts),
            execution_reports=s.typed("executionReport", ExecutionReport, user_id, accounts),
            order_versions=s.typed("orderVersion", OrderVersion, user_id, accounts),
            fills=s.typed("fill", Fill, user_id, accounts),
            order_strategies=s.typed("orderStrategy", OrderStrategy, user_id, accounts),
            order_strategy_links=s.typed("orderStrategyLink", OrderStrategyLink, user_id,
                                         accounts),
            order_strategy_types=[MULTIBRACKET],
        )

    def entities(self, entity_type: str, user_id: int) -> list[WireModel]:
        """``<entity>/list``: the user's entities of that wire type (catalog types: all)."""
        self._roll_due()
        if entity_type == "user":
            user = self._users.get(user_id)
            return [] if user is None else [user]
        if entity_type in USER_DATA_TYPES:
            return self._store.of_user(entity_type, user_id)
        return self._catalog_entities(entity_type) or []

    def item(self, entity_type: str, ident: int, user_id: int) -> WireModel | None:
        """``<entity>/item?id=N``; ``None`` if absent or not the user's."""
        if entity_type in USER_DATA_TYPES:
            return self._store.get(entity_type, ident, user_id)
        for entity in self.entities(entity_type, user_id):
            if entity_id(entity) == ident:
                return entity
        return None

    def deps(self, entity_type: str, master_id: int, user_id: int) -> list[WireModel]:
        """``<entity>/deps?masterid=N``: details of a master (reference §1.3)."""
        key = DEPS_FIELD.get(entity_type)
        if key is None:
            return []
        return [e for e in self.entities(entity_type, user_id) if getattr(e, key) == master_id]

    def cash_balance_snapshot(self, user_id: int, account_id: int) -> CashBalanceSnapshot:
        account = self._accounts.get(account_id)
        if account is None or account.user_id != user_id:
            return CashBalanceSnapshot(error_text=f"Access is denied to account {account_id}")
        cash = self._cash[account_id]
        open_pnl = self._open_pnl(account_id)
        initial, maintenance = self._margins(account_id)
        return CashBalanceSnapshot(
            total_cash_value=cash.amount, total_pnl=cash.realized + open_pnl,
            initial_margin=initial, maintenance_margin=maintenance,
            net_liq=cash.amount + open_pnl, open_pnl=open_pnl, realized_pnl=cash.realized,
            week_realized_pnl=cash.week_realized)

    # ----------------------------------------------------------------- valuation

    def _mark(self, inst: Instrument) -> float | None:
        book = self._books.get(inst.contract_id)
        if book is None:
            return None
        if book.best_bid is not None and book.best_offer is not None:
            return (book.best_bid + book.best_offer) / 2
        return book.last_price

    def _open_pnl(self, account_id: int) -> float:
        total = 0.0
        for (aid, contract_id), ledger in self._ledgers.items():
            inst = self._catalog.by_id(contract_id)
            if aid != account_id or inst is None or ledger.net_pos == 0:
                continue
            mark = self._mark(inst)
            if mark is not None:
                total += ledger.open_points(mark) * inst.value_per_point
        return total

    def _margins(self, account_id: int) -> tuple[float, float]:
        initial = 0.0
        for (aid, contract_id), ledger in self._ledgers.items():
            inst = self._catalog.by_id(contract_id)
            if aid != account_id or inst is None or ledger.net_pos == 0:
                continue
            price = self._mark(inst) or ledger.net_price or inst.start_price
            initial += abs(ledger.net_pos) * price * inst.value_per_point * _INITIAL_MARGIN_RATE
        initial = round(initial, 2)
        return initial, round(initial * _MAINTENANCE_RATIO, 2)

    def _cash_entity(self, account_id: int, stamp: str, trade_date: TradeDate) -> CashBalance:
        cash = self._cash[account_id]
        return CashBalance(id=cash.id, account_id=account_id, timestamp=stamp,
                           trade_date=trade_date, currency_id=self._usd_id,
                           amount=round(cash.amount, 2), realized_pnl=round(cash.realized, 2),
                           week_realized_pnl=round(cash.week_realized, 2),
                           amount_sod=round(cash.start_of_day, 2))

    def _position_entity(self, position_id: int, key: tuple[int, int], ledger: PositionLedger,
                         stamp: str, trade_date: TradeDate) -> Position:
        return Position(id=position_id, account_id=key[0], contract_id=key[1], timestamp=stamp,
                        trade_date=trade_date, net_pos=ledger.net_pos, bought=ledger.bought,
                        bought_value=round(ledger.bought_value, 10), sold=ledger.sold,
                        sold_value=round(ledger.sold_value, 10), prev_pos=ledger.prev_pos,
                        net_price=ledger.net_price, prev_price=ledger.prev_price)

    # ----------------------------------------------------------------- trade date

    def roll_trade_date(self) -> list[EntityChange]:
        """Start the next trade date now (at 17:00 CT this happens by the clock): positions
        get ``prevPos`` = their net position and ``prevPrice`` = the settlement (the last
        price), ``bought``/``sold`` and their values restart; open P&L against the
        settlement goes into cash; cash balances get the new ``tradeDate`` and today's
        realized P&L restarts. Fills, fill pairs, reports and finished orders (with their
        commands and versions) of earlier dates leave every list; working orders stay.
        Returns the ``Updated`` events."""
        out = self._begin()
        day = dt.date(self._trade_date.year, self._trade_date.month, self._trade_date.day)
        day += dt.timedelta(days=1)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        out += self._roll(TradeDate(year=day.year, month=day.month, day=day.day))
        return out

    def _roll(self, trade_date: TradeDate) -> list[EntityChange]:
        out: list[EntityChange] = []
        old = self._trade_date
        self._trade_date = trade_date
        stamp = iso_timestamp(self._clock())
        for key, ledger in self._ledgers.items():
            account = self._accounts[key[0]]
            inst = self._catalog.by_id(key[1])
            value_per_point = inst.value_per_point if inst is not None else 0.0
            settlement = self._settlement(inst, ledger)
            self._cash[key[0]].amount += ledger.roll(settlement) * value_per_point
            position = self._position_entity(self._position_ids[key], key, ledger, stamp,
                                              trade_date)
            self._emit(out, account.user_id, key[0], "position", "Updated", position)
        new_week = (dt.date(trade_date.year, trade_date.month, trade_date.day).isocalendar()[:2]
                    != dt.date(old.year, old.month, old.day).isocalendar()[:2])
        for account_id, cash in self._cash.items():
            cash.realized = 0.0
            cash.start_of_day = cash.amount
            if new_week:
                cash.week_realized = 0.0
            account = self._accounts[account_id]
            self._emit(out, account.user_id, account_id, "cashBalance", "Updated",
                       self._cash_entity(account_id, stamp, trade_date))
            guard = self._guards[account_id]
            if guard.settle(cash.amount):
                self._set_risk_status(out, account, guard, "Normal", stamp,
                                      liquidate_only=None)
        self._archive_finished()
        return out

    def _settlement(self, inst: Instrument | None, ledger: PositionLedger) -> float:
        """The price a position is settled at: the last trade, else the mark, else its own
        average price."""
        if inst is not None:
            book = self._books.get(inst.contract_id)
            if book is not None and book.last_price is not None:
                return book.last_price
            mark = self._mark(inst)
            if mark is not None:
                return mark
        return ledger.net_price or ledger.prev_price or (inst.start_price if inst else 0.0)

    def _archive_finished(self) -> None:
        """Leave the earlier day's history out of the lists; working orders (with their
        commands and versions) and running strategies stay."""
        store = self._store
        for entity_type in ("fill", "fillPair", "executionReport", "commandReport"):
            for entity in store.listed(entity_type):
                store.archive(entity_type, entity_id(entity))
        finished = {entity_id(o) for o in store.listed("order")} - set(self._live)
        for entity_type in ("order", "command", "orderVersion"):
            key = "id" if entity_type == "order" else "order_id"
            for entity in store.listed(entity_type):
                if getattr(entity, key) in finished:
                    store.archive(entity_type, entity_id(entity))
        done = {ident for ident, strategy in self._strategies.items()
                if strategy.entity.status in _STRATEGY_DONE}
        for ident in done:
            store.archive("orderStrategy", ident)
            del self._strategies[ident]
        for link in store.listed("orderStrategyLink"):
            if getattr(link, "order_strategy_id", None) in done:
                store.archive("orderStrategyLink", entity_id(link))

    def _margin_entity(self, account_id: int) -> MarginSnapshot:
        stamp, _ = self._stamp()
        initial, maintenance = self._margins(account_id)
        return MarginSnapshot(id=account_id, timestamp=stamp, risk_time_period_id=2,
                              initial_margin=initial, maintenance_margin=maintenance,
                              total_used_margin=initial, full_initial_margin=initial)

    # ----------------------------------------------------------------- faults

    def reject_next(self, count: int = 1, reason: str = "UnknownReason", *,
                    text: str | None = None, after_accept: bool = False) -> None:
        """Reject the next ``count`` order requests (place, OSO, OCO, modify, cancel,
        liquidate). Default: refused outright (result carries failureReason/failureText);
        ``after_accept``: accepted, then a ``RiskRejected`` commandReport and a ``Rejected``
        executionReport follow, as a risk check failing after submission looks."""
        message = text if text is not None else f"Order rejected by simulator fault ({reason})"
        for _ in range(count):
            self._faults.append(_Fault(reason, message, after_accept))

    # ----------------------------------------------------------------- auto-liquidation

    def risk_standing(self, account_id: int) -> Standing:
        """What the exchange lets the account do now (read-only, for tools and tests)."""
        return self._guards[account_id].standing

    def high_water_mark(self, account_id: int) -> float:
        """The high-water mark the account's trailing drawdown trails (read-only)."""
        return self._guards[account_id].high_water

    def net_liquidation_value(self, account_id: int) -> float:
        """Cash plus open P&L at the simulator's marks (what the limits measure)."""
        return self._cash[account_id].amount + self._open_pnl(account_id)

    def update_auto_liq(self, user_id: int, fields: Mapping[str, object]
                        ) -> tuple[UserAccountAutoLiq | str, list[EntityChange]]:
        """``userAccountAutoLiq/update``: the given fields (wire names; ``id`` = the
        account) replace the account's, the others stay. Refused (a text) for an account
        that is not the user's or whose settings are ``changesLocked``."""
        out = self._begin()
        ident = fields.get("id")
        account = self._accounts.get(ident) if isinstance(ident, int) else None
        if account is None or account.user_id != user_id:
            return f"Access is denied to userAccountAutoLiq {ident}", out
        guard = self._guards[account.id]
        if guard.settings.changes_locked:
            return f"Changes to the auto-liquidation settings of account {account.id} are " \
                   f"locked", out
        current = msgspec.to_builtins(guard.settings)
        merged = {**current, **{k: v for k, v in fields.items() if k != "id"},
                  "id": account.id}
        try:
            settings = msgspec.convert(merged, UserAccountAutoLiq, strict=False)
        except msgspec.ValidationError as exc:
            return f"Invalid userAccountAutoLiq: {exc}", out
        guard.replace_settings(settings)
        self._emit(out, user_id, account.id, "userAccountAutoLiq", "Updated", settings)
        self._enforce(out)
        return settings, out

    def _standing_refusal(self, account_id: int, inst: Instrument, is_buy: bool,
                          qty: int) -> Failure | None:
        guard = self._guards.get(account_id)
        if guard is None or guard.standing is Standing.NORMAL:
            return None
        ledger = self._ledgers.get((account_id, inst.contract_id))
        return guard.refusal(0 if ledger is None else ledger.net_pos, is_buy, qty)

    def _enforce(self, out: list[EntityChange]) -> None:
        """Measure every account that has limits and act on what it crossed: liquidate-only
        mode, or liquidation (and a lock) by the exchange. One account's breach touches
        only that account."""
        now = self._clock()
        for account_id, guard in self._guards.items():
            if not guard.watched:
                continue
            cash = self._cash[account_id]
            breach = guard.check(cash.amount + self._open_pnl(account_id), cash.start_of_day,
                                 now)
            if breach is not None:
                self._act(out, account_id, guard, breach)

    def _act(self, out: list[EntityChange], account_id: int, guard: AccountGuard,
             breach: Breach) -> None:
        account = self._accounts[account_id]
        stamp, _ = self._stamp()
        if breach is Breach.FLATTEN_TIME:
            guard.flatten_at = None
            self._flatten(out, account, f"Flatten time {guard.settings.flatten_timestamp}")
            return
        if breach is Breach.DAILY_LOSS_LIQ_ONLY:
            guard.standing = Standing.LIQUIDATE_ONLY
            self._set_risk_status(out, account, guard, "AgreedOnLiqOnlyModeByAutoLiq", stamp,
                                  liquidate_only=stamp)
            return
        guard.standing = Standing.LOCKED
        guard.permanent = guard.permanent or breach is Breach.TRAILING_DRAWDOWN
        self._set_risk_status(out, account, guard, "AgreedOnLiquidationByAutoLiq", stamp,
                              liquidate_only=stamp)
        self._flatten(out, account, f"Auto-liquidation: {breach.value} reached")
        self._set_risk_status(out, account, guard, "LockTradingImmediately", stamp,
                              liquidate_only=stamp)

    def _set_risk_status(self, out: list[EntityChange], account: Account,
                         guard: AccountGuard, action: str, stamp: str, *,
                         liquidate_only: str | None) -> None:
        guard.status = msgspec.structs.replace(guard.status, admin_action=action,
                                               admin_timestamp=stamp,
                                               liquidate_only=liquidate_only)
        self._emit(out, account.user_id, account.id, "accountRiskStatus", "Updated",
                   guard.status)

    def _flatten(self, out: list[EntityChange], account: Account, text: str) -> None:
        """The exchange cancels the account's orders and closes its positions with its own
        market orders (``admin: true``, no sender)."""
        for _ in range(2):  # a canceled entry may release its bracket: cancel that too
            for live in [lv for lv in self._live.values() if lv.account_id == account.id]:
                if live.order.id in self._live:
                    self._cancel(out, live, text=text)
        for (aid, contract_id), ledger in list(self._ledgers.items()):
            inst = self._catalog.by_id(contract_id)
            if aid != account.id or ledger.net_pos == 0 or inst is None:
                continue
            live = self._create(out, account.user_id, account, inst,
                                "Sell" if ledger.net_pos > 0 else "Buy", abs(ledger.net_pos),
                                "Market", text=text[:64], admin=True)
            self._accept(out, live, held=False)
            self._execute_new(out, live)

    # ----------------------------------------------------------------- validation

    def _account_for(self, user_id: int, account_id: int | None) -> Account | Failure:
        """The order's account. ``accountId`` is optional in the schema but "in practice
        this is a required field" (reference §6.1): ``accountSpec`` alone is refused."""
        if user_id not in self._users:
            return ("Unauthorized", f"Unknown user {user_id}")
        if account_id is None:
            return ("UnknownReason", "accountId is required (accountSpec alone does not "
                                     "select an account)")
        account = self._accounts.get(account_id)
        if account is None or account.user_id != user_id:
            return ("Unauthorized", f"Account {account_id} is not accessible")
        if not account.active:
            return ("AccountClosed", f"Account {account_id} is not active")
        return account

    def _check_version(self, inst: Instrument, action: str, order_type: str,
                       price: float | None, stop_price: float | None,
                       peg_difference: float | None, time_in_force: str | None = None,
                       expire_time: str | None = None) -> Failure | None:
        if action not in ("Buy", "Sell"):
            return ("UnknownReason", f"Invalid action {action!r}: expected Buy or Sell")
        if order_type not in _SUPPORTED_TYPES:
            return ("Unsupported", f"Order type {order_type!r} is not supported")
        if order_type in _NEEDS_PRICE and price is None:
            return ("InvalidPrice", f"{order_type} order requires price")
        if order_type in _NEEDS_STOP and stop_price is None:
            return ("InvalidPrice", f"{order_type} order requires stopPrice")
        if order_type == "TrailingStop" and not peg_difference:
            return ("InvalidPrice", "TrailingStop order requires pegDifference")
        if time_in_force == "GTD" and not expire_time:
            return ("UnknownReason", "A GTD order requires expireTime")
        for label, value in (("price", price), ("stopPrice", stop_price)):
            if value is None:
                continue
            if value <= 0 or not self._on_grid(value, inst):
                return ("InvalidPrice", f"{label} {value} is not a positive multiple of the "
                        f"tick size {inst.tick_size} of {inst.name}")
        return None

    def _check_stop_side(self, inst: Instrument, is_buy: bool, order_type: str,
                         stop_price: float | None) -> Failure | None:
        """A new stop must be on the far side of the market (CME refuses it otherwise)."""
        if order_type not in _NEEDS_STOP or stop_price is None:
            return None
        book = self._books.get(inst.contract_id)
        if book is None:
            return None
        ref = book.last_price
        if ref is None:
            ref = book.best_offer if is_buy else book.best_bid
        if ref is None:
            return None
        stop, market = self._ticks(stop_price, inst), self._ticks(ref, inst)
        if is_buy and stop <= market:
            return ("InvalidPrice", f"Buy stop price {stop_price} must be above the market {ref}")
        if not is_buy and stop >= market:
            return ("InvalidPrice", f"Sell stop price {stop_price} must be below the market {ref}")
        return None

    def _session_closed(self) -> Failure | None:
        if self._session_open is None or self._session_open():
            return None
        return ("SessionClosed", "The trading session is closed")

    def _check_new(self, user_id: int, body: PlaceOrder) -> _Target | Failure:
        account = self._account_for(user_id, body.account_id)
        if isinstance(account, tuple):
            return account
        closed = self._session_closed()
        if closed is not None:
            return closed
        inst = self._catalog.resolve(body.symbol)
        if inst is None:
            return ("InvalidContract", f"Unknown contract {body.symbol!r}")
        if body.order_qty <= 0:
            return ("UnknownReason", f"orderQty must be positive, got {body.order_qty}")
        failure = self._standing_refusal(account.id, inst, body.action == "Buy",
                                         body.order_qty)
        if failure is None:
            failure = self._check_version(inst, body.action, body.order_type, body.price,
                                          body.stop_price, body.peg_difference,
                                          body.time_in_force, body.expire_time)
        if failure is None:
            failure = self._check_stop_side(inst, body.action == "Buy", body.order_type,
                                            body.stop_price)
        if failure is None and body.order_type == "Market":
            book = self._books.get(inst.contract_id)
            side = None if book is None else (book.offers if body.action == "Buy" else book.bids)
            if not side:
                failure = ("NoQuote", f"No {'offers' if body.action == 'Buy' else 'bids'} in "
                           f"{inst.name} to fill a market order")
        if (failure is None and body.order_type == "TrailingStop" and body.stop_price is None
                and self._trail_reference(inst) is None):
            failure = ("NoQuote", f"No market in {inst.name} to anchor a trailing stop")
        return failure if failure is not None else _Target(account, inst)

    def _check_leg(self, inst: Instrument, leg: RestrainedOrderVersion) -> Failure | None:
        failure = self._check_version(inst, leg.action, leg.order_type, leg.price,
                                      leg.stop_price, leg.peg_difference, leg.time_in_force,
                                      leg.expire_time)
        if failure is None and leg.order_type == "Market":
            failure = ("Unsupported", "A bracket or OCO leg cannot be a Market order")
        return failure

    def _trail_reference(self, inst: Instrument) -> float | None:
        book = self._books.get(inst.contract_id)
        return None if book is None else (book.last_price or self._mark(inst))

    # ----------------------------------------------------------------- order creation

    def _create(self, out: list[EntityChange], user_id: int, account: Account,
                inst: Instrument, action: str, qty: int, order_type: str, *,
                price: float | None = None, stop_price: float | None = None,
                max_show: int | None = None, peg_difference: float | None = None,
                time_in_force: str | None = None, expire_time: str | None = None,
                text: str | None = None, cl_ord_id: str | None = None,
                activation_time: str | None = None, custom_tag50: str | None = None,
                is_automated: bool | None = None, parent_id: int | None = None,
                admin: bool = False) -> _Live:
        """Command Created, orderVersion Created, order Created (PendingNew); ``admin``: an
        order the exchange makes itself (``admin: true``, the command has no sender)."""
        stamp, _ = self._stamp()
        order_id, command_id = self._new_id(), self._new_id()
        if order_type == "TrailingStop" and stop_price is None and peg_difference is not None:
            ref = self._trail_reference(inst)
            if ref is not None:
                offset = abs(peg_difference)
                stop_price = self._round(ref + offset if action == "Buy" else ref - offset, inst)
        command = Command(id=command_id, order_id=order_id, timestamp=stamp, cl_ord_id=cl_ord_id,
                          command_type="New", command_status="Pending",
                          sender_id=None if admin else user_id,
                          user_session_id=0, activation_time=activation_time,
                          custom_tag50=custom_tag50, is_automated=is_automated)
        version = OrderVersion(id=command_id, order_id=order_id, order_qty=qty,
                               order_type=order_type, price=price, stop_price=stop_price,
                               max_show=max_show, peg_difference=peg_difference,
                               time_in_force=time_in_force, expire_time=expire_time, text=text)
        order = Order(id=order_id, account_id=account.id, contract_id=inst.contract_id,
                      timestamp=stamp, action=action, ord_status="PendingNew", admin=admin,
                      parent_id=parent_id)
        aid = account.id
        self._emit(out, user_id, aid, "command", "Created", command)
        self._emit(out, user_id, aid, "orderVersion", "Created", version)
        self._emit(out, user_id, aid, "order", "Created", order)
        return _Live(order=order, version=version, command=command, user_id=user_id, inst=inst)

    def _round(self, price: float, inst: Instrument) -> float:
        return round(round(price / inst.tick_size) * inst.tick_size, 10)

    def _exec_report(self, out: list[EntityChange], live: _Live, command_id: int,
                     exec_type: str, ord_status: str, *, last_qty: int | None = None,
                     last_px: float | None = None, reject_reason: str | None = None,
                     text: str | None = None) -> None:
        stamp, trade_date = self._stamp()
        ident = self._new_id()
        report = ExecutionReport(
            id=ident, command_id=command_id, name=str(ident), account_id=live.account_id,
            contract_id=live.inst.contract_id, timestamp=stamp, trade_date=trade_date,
            order_id=live.order.id, exec_type=exec_type, ord_status=ord_status,
            action=live.order.action, cum_qty=live.cum_qty, avg_px=live.avg_px,
            last_qty=last_qty, last_px=last_px, reject_reason=reject_reason, text=text)
        self._emit(out, live.user_id, live.account_id, "executionReport", "Created", report)

    def _command_report(self, out: list[EntityChange], live: _Live, command: Command,
                        status: str, ord_status: str, *, reject_reason: str | None = None,
                        text: str | None = None) -> Command:
        stamp, _ = self._stamp()
        report = CommandReport(id=self._new_id(), command_id=command.id, timestamp=stamp,
                               command_status=status, reject_reason=reject_reason, text=text,
                               ord_status=ord_status)
        self._emit(out, live.user_id, live.account_id, "commandReport", "Created", report)
        updated = msgspec.structs.replace(command, command_status=status)
        self._emit(out, live.user_id, live.account_id, "command", "Updated", updated)
        return updated

    def _set_status(self, out: list[EntityChange], live: _Live, ord_status: str) -> None:
        if live.order.ord_status == ord_status:
            return
        live.order = msgspec.structs.replace(live.order, ord_status=ord_status)
        self._emit(out, live.user_id, live.account_id, "order", "Updated", live.order)

    def _accept(self, out: list[EntityChange], live: _Live, *, held: bool) -> None:
        """Risk passed: the order works (or, as an OSO bracket, waits for its entry)."""
        live.held = held
        if held:
            live.command = self._command_report(out, live, live.command, "OnHold", "Suspended")
            self._exec_report(out, live, live.command.id, "Suspended", "Suspended")
            self._set_status(out, live, "Suspended")
        else:
            live.command = self._command_report(out, live, live.command, "AtExecution",
                                                "Working")
            self._exec_report(out, live, live.command.id, "New", "Working")
            self._set_status(out, live, "Working")
        self._live[live.order.id] = live

    def _risk_reject(self, out: list[EntityChange], live: _Live, reason: str, text: str) -> None:
        """Accepted then rejected: RiskRejected commandReport, Rejected executionReport."""
        live.command = self._command_report(out, live, live.command, "RiskRejected", "Rejected",
                                            reject_reason=reason, text=text)
        self._exec_report(out, live, live.command.id, "Rejected", "Rejected",
                          reject_reason=reason, text=text)
        self._set_status(out, live, "Rejected")
        self._live.pop(live.order.id, None)
        self._strategy_settle(out, live)

    def _take_fault(self, endpoint: str, account_id: int) -> _Fault | None:
        """A rejection for a valid request: queued ones first, then the fault source."""
        if self._faults:
            return self._faults.popleft()
        drawn = (self._rejections(endpoint, self._accounts[account_id].name)
                 if self._rejections is not None else None)
        return None if drawn is None else _Fault(*drawn)

    # ----------------------------------------------------------------- order endpoints

    def place_order(self, user_id: int,
                    body: PlaceOrder) -> tuple[PlaceOrderResult, list[EntityChange]]:
        """``order/placeorder``."""
        out = self._begin()
        result = self._place(out, user_id, body, "order/placeorder")
        self._enforce(out)
        return result, self._reorder(out)

    def _place(self, out: list[EntityChange], user_id: int, body: PlaceOrder,
               endpoint: str) -> PlaceOrderResult:
        checked = self._check_new(user_id, body)
        if isinstance(checked, tuple):
            return _fail(*checked)
        fault = self._take_fault(endpoint, checked.account.id)
        if fault is not None and not fault.after_accept:
            return _fail(fault.reason, fault.text)
        live = self._create_from(out, user_id, checked.account, checked.inst, body)
        if fault is not None:
            self._risk_reject(out, live, fault.reason, fault.text)
        else:
            self._accept(out, live, held=False)
            self._execute_new(out, live)
        return PlaceOrderResult(order_id=live.order.id)

    def _create_from(self, out: list[EntityChange], user_id: int, account: Account,
                     inst: Instrument, body: PlaceOrder) -> _Live:
        """An entry order (place, OSO/OCO first order, strategy entry); it takes up a
        pending :meth:`pace_next_order`."""
        live = self._create(
            out, user_id, account, inst, body.action, body.order_qty, body.order_type,
            price=body.price, stop_price=body.stop_price, max_show=body.max_show,
            peg_difference=body.peg_difference, time_in_force=body.time_in_force,
            expire_time=body.expire_time, text=body.text, cl_ord_id=body.cl_ord_id,
            activation_time=body.activation_time, custom_tag50=body.custom_tag50,
            is_automated=body.is_automated)
        if self._next_pace is not None and body.order_qty >= 2:
            parts, interval = self._next_pace
            live.pace = _Pace(part=-(-body.order_qty // min(parts, body.order_qty)),
                              interval=interval)
        self._next_pace = None
        return live

    def _create_leg(self, out: list[EntityChange], entry: _Live, account: Account,
                    leg: RestrainedOrderVersion, qty: int, body: PlaceOrder,
                    parent_id: int | None) -> _Live:
        return self._create(
            out, entry.user_id, account, entry.inst, leg.action, qty, leg.order_type,
            price=leg.price, stop_price=leg.stop_price, max_show=leg.max_show,
            peg_difference=leg.peg_difference, time_in_force=leg.time_in_force,
            expire_time=leg.expire_time, text=leg.text, cl_ord_id=leg.cl_ord_id,
            custom_tag50=body.custom_tag50, is_automated=body.is_automated, parent_id=parent_id)

    def _link_oco(self, out: list[EntityChange], first: _Live, second: _Live) -> None:
        """Tie two orders so a fill of one cancels (or shrinks) the other; ``ocoId`` of each
        order names the other order."""
        first.oco_sibling, second.oco_sibling = second.order.id, first.order.id
        for live, other in ((first, second), (second, first)):
            live.order = msgspec.structs.replace(live.order, oco_id=other.order.id)
            self._store.put("order", live.order, live.user_id, live.account_id)

    def place_oso(self, user_id: int,
                  body: PlaceOSO) -> tuple[PlaceOsoResult, list[EntityChange]]:
        """``order/placeoso``: entry plus one or two brackets held until the entry fills."""
        out = self._begin()
        checked = self._check_new(user_id, body)
        if isinstance(checked, tuple):
            return PlaceOsoResult(failure_reason=checked[0], failure_text=checked[1]), out
        account, inst = checked.account, checked.inst
        legs = [body.bracket1] + ([body.bracket2] if body.bracket2 is not None else [])
        for leg in legs:
            failure = self._check_leg(inst, leg)
            if failure is not None:
                return PlaceOsoResult(failure_reason=failure[0], failure_text=failure[1]), out
        fault = self._take_fault("order/placeoso", account.id)
        if fault is not None and not fault.after_accept:
            return PlaceOsoResult(failure_reason=fault.reason, failure_text=fault.text), out
        entry = self._create_from(out, user_id, account, inst, body)
        brackets = [self._create_leg(out, entry, account, leg, body.order_qty, body,
                                     entry.order.id) for leg in legs]
        entry.brackets = [b.order.id for b in brackets]
        if len(brackets) == 2:
            self._link_oco(out, brackets[0], brackets[1])
        if fault is not None:
            self._risk_reject(out, entry, fault.reason, fault.text)
            for bracket in brackets:
                self._risk_reject(out, bracket, "ParentRejected",
                                  f"Parent order {entry.order.id} was rejected")
        else:
            self._accept(out, entry, held=False)
            for bracket in brackets:
                self._accept(out, bracket, held=True)
            self._execute_new(out, entry)
        result = PlaceOsoResult(order_id=entry.order.id, oso1_id=brackets[0].order.id,
                                oso2_id=brackets[1].order.id if len(brackets) == 2 else None)
        self._enforce(out)
        return result, self._reorder(out)

    def place_oco(self, user_id: int,
                  body: PlaceOCO) -> tuple[PlaceOcoResult, list[EntityChange]]:
        """``order/placeoco``: two working orders; a fill of one cancels the other."""
        out = self._begin()
        checked = self._check_new(user_id, body)
        if isinstance(checked, tuple):
            return PlaceOcoResult(failure_reason=checked[0], failure_text=checked[1]), out
        account, inst = checked.account, checked.inst
        failure = self._check_leg(inst, body.other)
        if failure is None:
            failure = self._standing_refusal(account.id, inst, body.other.action == "Buy",
                                             body.order_qty)
        if failure is not None:
            return PlaceOcoResult(failure_reason=failure[0], failure_text=failure[1]), out
        fault = self._take_fault("order/placeoco", account.id)
        if fault is not None and not fault.after_accept:
            return PlaceOcoResult(failure_reason=fault.reason, failure_text=fault.text), out
        first = self._create_from(out, user_id, account, inst, body)
        second = self._create_leg(out, first, account, body.other, body.order_qty, body, None)
        self._link_oco(out, first, second)
        if fault is not None:
            self._risk_reject(out, first, fault.reason, fault.text)
            self._risk_reject(out, second, fault.reason, fault.text)
        else:
            self._accept(out, first, held=False)
            self._accept(out, second, held=False)
            self._execute_new(out, first)
            if second.order.id in self._live:
                self._execute_new(out, second)
        result = PlaceOcoResult(order_id=first.order.id, oco_id=second.order.id)
        self._enforce(out)
        return result, self._reorder(out)

    def _find_live(self, user_id: int, order_id: int) -> _Live | Failure:
        order = self._store.get("order", order_id, user_id)
        if order is None:
            return ("UnknownReason", f"Order {order_id} not found")
        live = self._live.get(order_id)
        if live is None:
            status = order.ord_status if isinstance(order, Order) else "finished"
            return ("TooLate", f"Order {order_id} is already {status}")
        return live

    def modify_order(self, user_id: int,
                     body: ModifyOrder) -> tuple[CommandResult, list[EntityChange]]:
        """``order/modifyorder``: a Modify command and a new order version."""
        out = self._begin()
        live = self._find_live(user_id, body.order_id)
        if isinstance(live, tuple):
            return CommandResult(failure_reason=live[0], failure_text=live[1]), out
        closed = self._session_closed()
        if closed is not None:
            return CommandResult(failure_reason=closed[0], failure_text=closed[1]), out
        if live.version.order_type == "TrailingStop":
            failure = self._check_trailing_modify(live.version, body)
            if failure is not None:
                return CommandResult(failure_reason=failure[0], failure_text=failure[1]), out
            body = msgspec.structs.replace(body, peg_difference=live.version.peg_difference,
                                           stop_price=live.version.stop_price)
        failure = self._check_version(live.inst, live.order.action, body.order_type, body.price,
                                      body.stop_price, body.peg_difference, body.time_in_force,
                                      body.expire_time)
        if failure is None and body.order_qty <= live.cum_qty:
            failure = ("UnknownReason", f"orderQty {body.order_qty} must exceed the filled "
                       f"quantity {live.cum_qty}")
        if failure is None:
            failure = self._standing_refusal(live.account_id, live.inst, live.is_buy,
                                             body.order_qty - live.cum_qty)
        fault = None if failure is not None else self._take_fault("order/modifyorder",
                                                                         live.account_id)
        if fault is not None and not fault.after_accept:
            failure = (fault.reason, fault.text)
        if failure is not None:
            return CommandResult(failure_reason=failure[0], failure_text=failure[1]), out
        stamp, _ = self._stamp()
        command_id = self._new_id()
        command = Command(id=command_id, order_id=live.order.id, timestamp=stamp,
                          cl_ord_id=body.cl_ord_id, command_type="Modify",
                          command_status="Pending", sender_id=user_id, user_session_id=0,
                          activation_time=body.activation_time,
                          custom_tag50=body.custom_tag50, is_automated=body.is_automated)
        version = OrderVersion(id=command_id, order_id=live.order.id, order_qty=body.order_qty,
                               order_type=body.order_type, price=body.price,
                               stop_price=body.stop_price, max_show=body.max_show,
                               peg_difference=body.peg_difference,
                               time_in_force=body.time_in_force, expire_time=body.expire_time,
                               text=body.text)
        self._emit(out, user_id, live.account_id, "command", "Created", command)
        self._emit(out, user_id, live.account_id, "orderVersion", "Created", version)
        if fault is not None:
            self._command_report(out, live, command, "RiskRejected", live.order.ord_status,
                                 reject_reason=fault.reason, text=fault.text)
            return CommandResult(command_id=command_id), self._reorder(out)
        if body.order_type != live.version.order_type or body.order_type not in _STOP_TYPES:
            live.triggered = False
        live.version, live.command = version, command
        status = live.order.ord_status
        live.command = self._command_report(out, live, command,
                                            "OnHold" if live.held else "AtExecution", status)
        self._exec_report(out, live, command_id, "Replaced", status)
        if not live.held:
            self._execute_new(out, live)
        self._enforce(out)
        return CommandResult(command_id=command_id), self._reorder(out)

    @staticmethod
    def _check_trailing_modify(version: OrderVersion, body: ModifyOrder) -> Failure | None:
        """Only the quantity of a trailing stop may change (its stop follows the market)."""
        changed = (body.order_type != "TrailingStop"
                   or body.peg_difference not in (None, version.peg_difference)
                   or body.stop_price not in (None, version.stop_price)
                   or body.price is not None)
        if changed:
            return ("TrailingStopNonOrderQtyModify",
                    "Only orderQty of a trailing stop can be modified; cancel and replace it")
        return None

    def cancel_order(self, user_id: int,
                     body: CancelOrder) -> tuple[CommandResult, list[EntityChange]]:
        """``order/cancelorder``."""
        out = self._begin()
        live = self._find_live(user_id, body.order_id)
        if isinstance(live, tuple):
            return CommandResult(failure_reason=live[0], failure_text=live[1]), out
        fault = self._take_fault("order/cancelorder", live.account_id)
        if fault is not None and not fault.after_accept:
            return CommandResult(failure_reason=fault.reason, failure_text=fault.text), out
        command_id = self._cancel(out, live, cl_ord_id=body.cl_ord_id,
                                  custom_tag50=body.custom_tag50,
                                  is_automated=body.is_automated, fault=fault)
        return CommandResult(command_id=command_id), self._reorder(out)

    def _cancel(self, out: list[EntityChange], live: _Live, *, cl_ord_id: str | None = None,
                custom_tag50: str | None = None, is_automated: bool | None = None,
                fault: _Fault | None = None, text: str | None = None) -> int:
        """A Cancel command; cancels held brackets with their entry, unlinks an OCO sibling."""
        stamp, _ = self._stamp()
        command = Command(id=self._new_id(), order_id=live.order.id, timestamp=stamp,
                          cl_ord_id=cl_ord_id, command_type="Cancel", command_status="Pending",
                          sender_id=live.user_id, user_session_id=0, custom_tag50=custom_tag50,
                          is_automated=is_automated)
        self._emit(out, live.user_id, live.account_id, "command", "Created", command)
        if fault is not None:
            self._command_report(out, live, command, "RiskRejected", live.order.ord_status,
                                 reject_reason=fault.reason, text=fault.text)
            return command.id
        self._command_report(out, live, command, "AtExecution", "Canceled", text=text)
        self._exec_report(out, live, command.id, "Canceled", "Canceled", text=text)
        self._set_status(out, live, "Canceled")
        self._live.pop(live.order.id, None)
        self._unlink(live)
        for bracket_id in live.brackets:
            bracket = self._live.get(bracket_id)
            if bracket is None or not bracket.held:
                continue
            if live.cum_qty > 0:
                self._resize(out, bracket, live.cum_qty)
                self._activate(out, bracket)
            else:
                self._cancel(out, bracket, text=f"Parent order {live.order.id} was canceled")
        self._strategy_settle(out, live)
        return command.id

    def _unlink(self, live: _Live) -> None:
        sibling = self._live.get(live.oco_sibling) if live.oco_sibling is not None else None
        if sibling is not None:
            sibling.oco_sibling = None
        live.oco_sibling = None

    def liquidate_position(self, user_id: int,
                           body: LiquidatePosition) -> tuple[PlaceOrderResult, list[EntityChange]]:
        """``order/liquidateposition``: cancel the contract's orders, flatten with a market
        order. ``customTag50`` and ``isAutomated`` go onto every command it creates (the
        cancels and the closing order's New command)."""
        out = self._begin()
        account = self._account_for(user_id, body.account_id)
        if isinstance(account, tuple):
            return _fail(*account), out
        inst = self._catalog.by_id(body.contract_id)
        if inst is None:
            return _fail("InvalidContract", f"Unknown contract id {body.contract_id}"), out
        for live in list(self._live.values()):
            if (live.account_id == account.id and live.inst.contract_id == inst.contract_id
                    and live.order.id in self._live):
                self._cancel(out, live, custom_tag50=body.custom_tag50,
                             is_automated=body.is_automated)
        ledger = self._ledgers.get((account.id, inst.contract_id))
        net = 0 if ledger is None else ledger.net_pos
        if net == 0:
            return _fail("UnknownReason", f"No open position in {inst.name} to liquidate"), out
        closing = PlaceOrder(action="Sell" if net > 0 else "Buy", symbol=inst.name,
                             order_qty=abs(net), order_type="Market", account_id=account.id,
                             custom_tag50=body.custom_tag50, is_automated=body.is_automated)
        result = self._place(out, user_id, closing, "order/liquidateposition")
        self._enforce(out)
        return result, self._reorder(out)

    # ----------------------------------------------------------------- order strategies

    def start_order_strategy(self, user_id: int, body: StartOrderStrategy
                             ) -> tuple[OrderStrategyStatusResponse, list[EntityChange]]:
        """``orderStrategy/startorderstrategy`` (reference §6.7): type 2 (multibracket) only.
        Creates the ``orderStrategy`` (ActiveStrategy), the entry order and its
        ``orderStrategyLink`` ("Entry"); the entry's fills create the brackets."""
        out = self._begin()

        def refuse(reason: str, text: str) -> tuple[OrderStrategyStatusResponse,
                                                    list[EntityChange]]:
            return OrderStrategyStatusResponse(error_text=text, failure_reason=reason), out

        if body.order_strategy_type_id != MULTIBRACKET.id:
            return refuse("Unsupported", f"Order strategy type {body.order_strategy_type_id} "
                          f"is not supported (2 = {MULTIBRACKET.name})")
        plan = parse_params(body.params, body.action)
        if isinstance(plan, tuple):
            return refuse(*plan)
        entry = plan.entry
        order = PlaceOrder(action=body.action, symbol=body.symbol, order_qty=entry.order_qty,
                           order_type=entry.order_type, account_id=body.account_id,
                           account_spec=body.account_spec, price=entry.price,
                           stop_price=entry.stop_price, time_in_force=entry.time_in_force,
                           expire_time=entry.expire_time, custom_tag50=body.custom_tag50,
                           is_automated=body.is_automated)
        checked = self._check_new(user_id, order)
        if isinstance(checked, tuple):
            return refuse(*checked)
        for bracket in plan.brackets:
            failure = self._check_bracket(checked.inst, bracket)
            if failure is not None:
                return refuse(*failure)
        fault = self._take_fault("orderstrategy/startorderstrategy", checked.account.id)
        if fault is not None and not fault.after_accept:
            return refuse(fault.reason, fault.text)
        stamp, _ = self._stamp()
        entity = OrderStrategy(
            id=self._new_id(), account_id=checked.account.id, timestamp=stamp,
            contract_id=checked.inst.contract_id, order_strategy_type_id=MULTIBRACKET.id,
            initiator_id=user_id, action=body.action, params=body.params, uuid=body.uuid,
            status="ActiveStrategy", sender_id=user_id, custom_tag50=body.custom_tag50,
            user_session_id=0)
        self._emit(out, user_id, entity.account_id, "orderStrategy", "Created", entity)
        live = self._create_from(out, user_id, checked.account, checked.inst, order)
        strategy = _Strategy(entity, user_id, plan, live.order.id, body.custom_tag50,
                             body.is_automated, allotted=[0] * len(plan.brackets))
        self._strategies[entity.id] = strategy
        self._link(out, strategy, live, "Entry")
        if fault is not None:
            self._risk_reject(out, live, fault.reason, fault.text)
        else:
            self._accept(out, live, held=False)
            self._execute_new(out, live)
        self._enforce(out)
        return OrderStrategyStatusResponse(order_strategy=strategy.entity), self._reorder(out)

    def interrupt_order_strategy(self, user_id: int, body: InterruptOrderStrategy
                                 ) -> tuple[OrderStrategyStatusResponse, list[EntityChange]]:
        """``orderStrategy/interruptorderstrategy``: cancel the strategy's remaining orders
        (entry and brackets; a position it opened stays) and end it (StoppedByUser)."""
        out = self._begin()
        strategy = self._strategies.get(body.order_strategy_id)
        if strategy is None or strategy.user_id != user_id:
            found = self._store.get("orderStrategy", body.order_strategy_id, user_id)
            if isinstance(found, OrderStrategy):
                return OrderStrategyStatusResponse(
                    error_text=f"Order strategy {found.id} is already {found.status}",
                    failure_reason="TooLate", order_strategy=found), out
            return OrderStrategyStatusResponse(
                error_text=f"Order strategy {body.order_strategy_id} not found",
                failure_reason="UnknownReason"), out
        if strategy.entity.status in _STRATEGY_DONE:
            return OrderStrategyStatusResponse(
                error_text=f"Order strategy {strategy.entity.id} is already "
                           f"{strategy.entity.status}",
                failure_reason="TooLate", order_strategy=strategy.entity), out
        strategy.interrupted = True
        for order_id in list(strategy.order_ids):
            live = self._live.get(order_id)
            if live is not None:
                self._cancel(out, live, custom_tag50=strategy.custom_tag50,
                             is_automated=strategy.is_automated,
                             text=f"Order strategy {strategy.entity.id} interrupted")
        self._strategy_settle_all(out, strategy)
        return OrderStrategyStatusResponse(order_strategy=strategy.entity), self._reorder(out)

    def _check_bracket(self, inst: Instrument, bracket: Bracket) -> Failure | None:
        for label, offset in (("profitTarget", bracket.profit_target),
                              ("stopLoss", bracket.stop_loss)):
            if offset is not None and abs(offset) < inst.tick_size / 2:
                return ("InvalidPrice", f"{label} {offset} is less than half a tick "
                        f"({inst.tick_size}) of {inst.name}")
        return None

    def _link(self, out: list[EntityChange], strategy: _Strategy, live: _Live,
              label: str) -> None:
        live.strategy_id = strategy.entity.id
        strategy.order_ids.append(live.order.id)
        link = OrderStrategyLink(id=self._new_id(), order_strategy_id=strategy.entity.id,
                                 order_id=live.order.id, label=label)
        self._emit(out, strategy.user_id, live.account_id, "orderStrategyLink", "Created", link)

    def _strategy_fill(self, out: list[EntityChange], live: _Live, qty: int,
                       price: float) -> None:
        """A fill of a strategy's entry: the brackets it is allotted to get a target/stop
        pair each, at the fill price plus the offsets, sized to their share of the fill."""
        strategy = self._strategies.get(live.strategy_id or 0)
        if strategy is None:
            return
        if live.order.id == strategy.entry_id and not strategy.interrupted:
            left = qty
            for index, bracket in enumerate(strategy.plan.brackets):
                share = min(left, bracket.qty - strategy.allotted[index])
                if share <= 0:
                    continue
                strategy.allotted[index] += share
                left -= share
                self._bracket_orders(out, strategy, live, bracket, share, price)
                if left == 0:
                    break
        self._strategy_settle(out, live)

    def _bracket_orders(self, out: list[EntityChange], strategy: _Strategy, entry: _Live,
                        bracket: Bracket, qty: int, fill_price: float) -> None:
        account = self._accounts[entry.account_id]
        inst = entry.inst
        exit_action = "Sell" if entry.is_buy else "Buy"
        legs: list[tuple[_Live, str]] = []
        if bracket.profit_target is not None:
            target = self._create(
                out, strategy.user_id, account, inst, exit_action, qty, "Limit",
                price=self._round(fill_price + bracket.profit_target, inst),
                custom_tag50=strategy.custom_tag50, is_automated=strategy.is_automated,
                parent_id=entry.order.id)
            legs.append((target, "Target"))
        if bracket.stop_loss is not None:
            stop_price = self._round(fill_price + bracket.stop_loss, inst)
            stop = self._create(
                out, strategy.user_id, account, inst, exit_action, qty,
                "TrailingStop" if bracket.trailing_stop else "Stop", stop_price=stop_price,
                peg_difference=bracket.stop_loss if bracket.trailing_stop else None,
                custom_tag50=strategy.custom_tag50, is_automated=strategy.is_automated,
                parent_id=entry.order.id)
            legs.append((stop, "Stop"))
        for leg, label in legs:
            self._link(out, strategy, leg, label)
        if len(legs) == 2:
            self._link_oco(out, legs[0][0], legs[1][0])
        for leg, _ in legs:
            self._accept(out, leg, held=False)
        for leg, _ in legs:
            if leg.order.id in self._live:
                self._execute_new(out, leg)

    def _strategy_settle(self, out: list[EntityChange], live: _Live) -> None:
        strategy = self._strategies.get(live.strategy_id or 0)
        if strategy is not None:
            self._strategy_settle_all(out, strategy)

    def _strategy_settle_all(self, out: list[EntityChange], strategy: _Strategy) -> None:
        """End the strategy once none of its orders can trade: StoppedByUser (interrupted),
        ExecutionFailed (entry rejected), ExecutionInterrupted (entry ended unfilled),
        ExecutionFinished (entry filled, brackets done)."""
        if strategy.entity.status in _STRATEGY_DONE:
            return
        if any(order_id in self._live for order_id in strategy.order_ids):
            return
        entry = self._store.get("order", strategy.entry_id, strategy.user_id)
        entry_status = entry.ord_status if isinstance(entry, Order) else "Unknown"
        if strategy.interrupted:
            status = "StoppedByUser"
        elif entry_status == "Rejected":
            status = "ExecutionFailed"
        elif sum(strategy.allotted) == 0:
            status = "ExecutionInterrupted"
        else:
            status = "ExecutionFinished"
        stamp, _ = self._stamp()
        strategy.entity = msgspec.structs.replace(strategy.entity, status=status,
                                                  timestamp=stamp)
        self._emit(out, strategy.user_id, strategy.entity.account_id, "orderStrategy",
                   "Updated", strategy.entity)

    # ----------------------------------------------------------------- matching

    def _opposite(self, live: _Live) -> list[PriceLevel]:
        book = self._books.get(live.inst.contract_id)
        if book is None:
            return []
        return book.offers if live.is_buy else book.bids

    def _limit_ticks(self, live: _Live) -> int | None:
        """The worst price (in ticks) the order may trade at; ``None`` = any price."""
        order_type = live.version.order_type
        if order_type == "Limit" or (order_type == "StopLimit" and live.triggered):
            assert live.version.price is not None
            return self._ticks(live.version.price, live.inst)
        return None

    def _can_trade(self, live: _Live) -> bool:
        if live.held:
            return False
        if live.version.order_type in _STOP_TYPES:
            return live.triggered
        return True

    def _walk(self, live: _Live, consumed: dict[tuple[int, bool, int], int],
              qty: int) -> list[tuple[int, float]]:
        """Take displayed size from the opposite side, best level first, up to the limit."""
        limit = self._limit_ticks(live)
        fills: list[tuple[int, float]] = []
        remaining = qty
        for level in self._opposite(live):
            ticks = self._ticks(level.price, live.inst)
            if limit is not None and (ticks > limit if live.is_buy else ticks < limit):
                break
            key = (live.inst.contract_id, live.is_buy, ticks)
            available = int(level.size) - consumed.get(key, 0)
            if available <= 0:
                continue
            take = min(remaining, available)
            consumed[key] = consumed.get(key, 0) + take
            fills.append((take, level.price))
            remaining -= take
            if remaining == 0:
                break
        return fills

    def _stop_hit(self, live: _Live, trade_price: float | None) -> bool:
        stop = live.version.stop_price
        if stop is None:
            return False
        stop_ticks = self._ticks(stop, live.inst)
        book = self._books.get(live.inst.contract_id)
        probes = [trade_price]
        if book is not None:
            probes.append(book.best_bid if live.is_buy else book.best_offer)
        for probe in probes:
            if probe is None:
                continue
            ticks = self._ticks(probe, live.inst)
            if (ticks >= stop_ticks) if live.is_buy else (ticks <= stop_ticks):
                return True
        return False

    def _execute_new(self, out: list[EntityChange], live: _Live) -> None:
        """Trade an order that just started working (or was modified) against the book:
        marketable orders fill at the book's prices; IOC/FOK leftovers are canceled."""
        if live.version.order_type in _STOP_TYPES and not live.triggered:
            live.triggered = self._stop_hit(live, None)
        if not self._can_trade(live):
            return
        consumed: dict[tuple[int, bool, int], int] = {}
        fills = self._walk(live, consumed, live.remaining)
        tif = live.version.time_in_force
        if tif == "FOK" and sum(q for q, _ in fills) < live.remaining:
            self._cancel(out, live, text="Fill-or-kill order could not be filled in full")
            return
        self._apply_fills(out, live, fills)
        if tif in ("IOC", "FOK") and live.order.id in self._live:
            self._cancel(out, live, text="Immediate-or-cancel remainder canceled")

    def _apply_fills(self, out: list[EntityChange], live: _Live,
                     fills: list[tuple[int, float]]) -> None:
        pace = live.pace
        if pace is not None:
            fills = self._paced(live, pace, fills)
        for qty, price in fills:
            if live.order.id not in self._live or live.remaining <= 0:
                return
            self._fill(out, live, min(qty, live.remaining), price)

    def _paced(self, live: _Live, pace: _Pace,
               fills: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """At most one part of a paced order, not before its time; the first part marks its
        user for a cut connection."""
        now = self._clock()
        if now < pace.next_at or not fills:
            return []
        capped: list[tuple[int, float]] = []
        left = min(pace.part, live.remaining)
        for qty, price in fills:
            take = min(qty, left)
            if take > 0:
                capped.append((take, price))
                left -= take
        pace.parts_done += 1
        pace.next_at = now + pace.interval
        if pace.parts_done == 1 and sum(q for q, _ in capped) < live.remaining:
            self._split_users.append(live.user_id)
        return capped

    def on_market(self, update: MarketUpdate) -> list[EntityChange]:
        """Fill resting orders after the books moved and trades printed: trades at or through
        a limit fill it at its price up to the traded size; a book crossing a limit fills it
        up to the crossing size; stops trigger on trades or quotes through the stop."""
        out = self._begin()
        if not self._live:
            self._enforce(out)
            return out
        consumed: dict[tuple[int, bool, int], int] = {}
        resting: dict[int, list[_Live]] = {}
        for contract_id, tick in update.trades:
            available = int(tick.size)
            if contract_id not in resting:
                resting[contract_id] = self._resting(contract_id)
            for live in resting[contract_id]:
                if live.order.id not in self._live:
                    continue
                self._trail(out, live, tick.price)
                if live.version.order_type in _STOP_TYPES and not live.triggered:
                    if not self._stop_hit(live, tick.price):
                        continue
                    live.triggered = True
                    self._apply_fills(out, live, self._walk(live, consumed, live.remaining))
                    continue
                limit = self._limit_ticks(live)
                if limit is None or available <= 0 or live.held:
                    continue
                ticks = self._ticks(tick.price, live.inst)
                if (ticks <= limit) if live.is_buy else (ticks >= limit):
                    take = min(live.remaining, available)
                    available -= take
                    assert live.version.price is not None
                    self._apply_fills(out, live, [(take, live.version.price)])
        contracts = sorted({live.inst.contract_id for live in self._live.values()})
        for contract_id in contracts:
            for live in self._resting(contract_id):
                if live.order.id not in self._live:
                    continue
                if live.version.order_type in _STOP_TYPES and not live.triggered:
                    live.triggered = self._stop_hit(live, None)
                if not self._can_trade(live):
                    continue
                fills = self._walk(live, consumed, live.remaining)
                limit_price = live.version.price if self._limit_ticks(live) is not None else None
                if limit_price is not None and fills:
                    fills = [(sum(qty for qty, _ in fills), limit_price)]
                self._apply_fills(out, live, fills)
        self._enforce(out)
        return self._reorder(out)

    def _resting(self, contract_id: int) -> list[_Live]:
        """Tradable orders of a contract in time priority (oldest order first)."""
        return sorted((live for live in self._live.values()
                       if live.inst.contract_id == contract_id and not live.held),
                      key=lambda live: live.order.id)

    def _trail(self, out: list[EntityChange], live: _Live, trade_price: float) -> None:
        """Move a trailing stop after a trade in the order's favour (an orderVersion update)."""
        version = live.version
        if version.order_type != "TrailingStop" or live.triggered or live.held:
            return
        if version.peg_difference is None or version.stop_price is None:
            return
        offset = abs(version.peg_difference)
        candidate = self._round(trade_price + offset if live.is_buy else trade_price - offset,
                                live.inst)
        better = candidate < version.stop_price if live.is_buy else candidate > version.stop_price
        if better:
            live.version = msgspec.structs.replace(version, stop_price=candidate)
            self._emit(out, live.user_id, live.account_id, "orderVersion", "Updated",
                       live.version)

    # ----------------------------------------------------------------- fills and ledger

    def _fill(self, out: list[EntityChange], live: _Live, qty: int, price: float) -> None:
        """One execution: executionReport Trade, order Updated (if its status changed), fill
        Created, fill pairs, position, cash balance, margin; then OCO/OSO consequences."""
        stamp, trade_date = self._stamp()
        live.cum_qty += qty
        live.filled_value += qty * price
        done = live.remaining == 0
        status = "Filled" if done else "Working"
        self._exec_report(out, live, live.command.id, "Trade", status, last_qty=qty,
                          last_px=price)
        self._set_status(out, live, status)
        uid, aid, cid = live.user_id, live.account_id, live.inst.contract_id
        fill_id = self._new_id()
        key = (aid, cid)
        ledger = self._ledgers.setdefault(key, PositionLedger())
        pairs = ledger.apply(fill_id, live.is_buy, qty, price)
        paired_now = sum(p.qty for p in pairs)
        fill = Fill(id=fill_id, order_id=live.order.id, contract_id=cid, timestamp=stamp,
                    trade_date=trade_date, action=live.order.action, qty=qty, price=price,
                    active=True, finally_paired=paired_now, external=False)
        self._emit(out, uid, aid, "fill", "Created", fill)
        position_id = self._position_ids.get(key)
        new_position = position_id is None
        if position_id is None:
            position_id = self._new_id()
            self._position_ids[key] = position_id
        self._record_pairs(out, live, position_id, fill_id, pairs)
        position = self._position_entity(position_id, key, ledger, stamp, trade_date)
        self._emit(out, uid, aid, "position", "Created" if new_position else "Updated", position)
        cash = self._cash[aid]
        realized = sum(p.points for p in pairs) * live.inst.value_per_point
        cash.realized += realized
        cash.week_realized += realized
        cash.amount += realized - qty * live.inst.commission_per_side
        self._emit(out, uid, aid, "cashBalance", "Updated",
                   self._cash_entity(aid, stamp, trade_date))
        self._emit(out, uid, aid, "marginSnapshot", "Updated", self._margin_entity(aid))
        if done:
            self._live.pop(live.order.id, None)
        self._after_fill(out, live, done)
        if live.strategy_id is not None:
            self._strategy_fill(out, live, qty, price)

    def _record_pairs(self, out: list[EntityChange], live: _Live, position_id: int,
                      fill_id: int, pairs: list[Pair]) -> None:
        uid, aid = live.user_id, live.account_id
        for pair in pairs:
            fill_pair = FillPair(id=self._new_id(), position_id=position_id,
                                 buy_fill_id=pair.buy_fill_id, sell_fill_id=pair.sell_fill_id,
                                 qty=pair.qty, buy_price=pair.buy_price,
                                 sell_price=pair.sell_price, active=True)
            self._emit(out, uid, aid, "fillPair", "Created", fill_pair)
            older_id = pair.sell_fill_id if pair.buy_fill_id == fill_id else pair.buy_fill_id
            older = self._store.get("fill", older_id, uid)
            if isinstance(older, Fill) and not self._store.archived("fill", older_id):
                paired = (older.finally_paired or 0) + pair.qty
                older = msgspec.structs.replace(older, finally_paired=paired)
                self._emit(out, uid, aid, "fill", "Updated", older)

    def _after_fill(self, out: list[EntityChange], live: _Live, done: bool) -> None:
        """OSO: a filled entry activates its brackets. OCO: a filled leg cancels its sibling; a
        partly filled leg shrinks the sibling to what is left."""
        sibling = self._live.get(live.oco_sibling) if live.oco_sibling is not None else None
        if sibling is not None:
            if done:
                self._unlink(live)
                self._cancel(out, sibling, text=f"OCO order {live.order.id} was filled")
            else:
                self._resize(out, sibling, sibling.cum_qty + live.remaining)
        if done:
            for bracket_id in live.brackets:
                bracket = self._live.get(bracket_id)
                if bracket is not None and bracket.held:
                    self._activate(out, bracket)

    def _activate(self, out: list[EntityChange], live: _Live) -> None:
        live.held = False
        live.command = self._command_report(out, live, live.command, "AtExecution", "Working")
        self._exec_report(out, live, live.command.id, "New", "Working")
        self._set_status(out, live, "Working")
        if live.order.id in self._live:
            self._execute_new(out, live)

    def _resize(self, out: list[EntityChange], live: _Live, qty: int) -> None:
        """A system Modify command that sets an OCO sibling's quantity."""
        if qty == live.version.order_qty or qty <= live.cum_qty or qty <= 0:
            return
        stamp, _ = self._stamp()
        command = Command(id=self._new_id(), order_id=live.order.id, timestamp=stamp,
                          command_type="Modify", command_status="Pending",
                          sender_id=live.user_id, user_session_id=0)
        version = msgspec.structs.replace(live.version, id=command.id, order_qty=qty)
        self._emit(out, live.user_id, live.account_id, "command", "Created", command)
        self._emit(out, live.user_id, live.account_id, "orderVersion", "Created", version)
        live.version = version
        status = live.order.ord_status
        live.command = self._command_report(out, live, command,
                                            "OnHold" if live.held else "AtExecution", status)
        self._exec_report(out, live, command.id, "Replaced", status)
