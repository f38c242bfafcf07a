"""The account store: accounts, orders and their versions, reports, fills, positions, cash, P&L,
order strategies.

Single writer. :func:`create_account_store` returns a ``(AccountView, AccountWriter)`` pair.
Only the writer has mutating methods, and it must be handed to exactly one task: the account
(trading socket) reader, which applies the ``user/syncrequest`` snapshot with
:meth:`AccountWriter.apply_snapshot` and every ``props`` event with :meth:`AccountWriter.apply`.
Every other task gets the view: its methods return frozen entities and records, tuples and
read-only mappings. Writes never ``await``, so readers never see half an update.

Rules the writer follows:

* The current version of an order is its newest ``orderVersion`` (id = the id of the command
  that made it) unless that command is a Modify not accepted (yet): pending or rejected
  modifications do not change what is working.
* Events may arrive out of order: a fill before its order is kept and linked (booked into P&L,
  delivered to the strategy) when the order arrives; versions and commands before their order
  are kept too.
* A client order id (``clOrdId``, or a ``New`` command's ``customTag50``) finds the order of
  the first command that carried it: the bracket orders of an order strategy carry its
  request's ``customTag50`` too, and the entry is the one the request created.
* Order strategies and their links (:mod:`.order_strategies`) are kept as they arrive, in any
  order.
* A ``props`` event older than what the store has — replayed after newer versions of its
  entity — is dropped (:mod:`.stale`: a done order never works again, a position never loses
  fills of its day...) and counted (:attr:`AccountView.stale_events`).
* Fills are deduplicated by id (updates of a fill never count twice); a fill updated to
  ``active: false`` is busted and leaves the P&L. Each fill is delivered once: the writer keeps
  the ids it has delivered, across reconnects.
* P&L per (account, contract) is the exchange's, for the account's current trade date (the
  protocol reference §5.2, §5.4): a FIFO ledger (:mod:`.pnl`) starts the trade date with the
  position's opening lot (``prevPos`` at ``prevPrice``) and books the day's fills, in money:
  points × the product's ``valuePerPoint``; commissions per contract per side are configured
  per product. Open P&L is marked at a price the caller gives (e.g.
  :meth:`MarketDataView.mark_price`).
* The account's trade date is the newest ``tradeDate`` the exchange put on its positions,
  cash balances and fills. When a newer one arrives (the roll at the CME session end) every
  ledger of the account starts the new day: yesterday's ledger is kept for reports, the new
  one opens with the carried position (unpriced until the position update brings its
  ``prevPrice``), and fills of an earlier trade date never count today.

:meth:`AccountWriter.apply` returns what changed so the dispatcher can call ``on_order``,
``on_fill`` and ``on_position`` directly: :class:`OrderState` records for every order the event
touched (already reflecting the whole event), then :class:`NewFill`/:class:`BustedFill`, then
the changed ``Position``/``CashBalance``/``Account``/``CommandReport``/``ExecutionReport``
entities and :class:`Removed` marks, in arrival order (a :class:`StrategyState` for each
order strategy whose entity or links the event changed comes right after the order states).
:meth:`AccountWriter.apply_snapshot` returns a :class:`SyncReport` of what differed from
memory (fills that happened while disconnected appear there exactly once) and replaces memory
with the snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeAlias

import msgspec

from ..errors import TradovateError
from ..protocol.messages import EntityEvent, UnknownEntity
from ..protocol.models import (
    Account,
    CashBalance,
    Command,
    CommandReport,
    Contract,
    ContractMaturity,
    ExecutionReport,
    Fill,
    FillPair,
    Order,
    OrderStrategy,
    OrderStrategyLink,
    OrderVersion,
    Position,
    Product,
    SyncMessage,
    TradeDate,
)
from ..readonly import SetOnce
from .order_strategies import StrategyState, StrategyTables
from .pnl import FifoLedger, PnL
from .stale import (
    ORDER_DONE,
    stale_cash,
    stale_command,
    stale_fill,
    stale_order,
    stale_position,
    stale_strategy,
)

_ACCEPTED = frozenset({"AtExecution", "OnHold", "ExecutionSuspended", "Replaced"})
"""Command statuses after which a Modify's version is the one working."""
_REJECTED = frozenset({"RiskRejected", "ExecutionRejected"})
_DONE = ORDER_DONE
_CASH_HISTORY = 8
"""Replaced versions of a cash balance remembered to recognise a replay of one."""


class PnLUnknown(TradovateError):
    """The P&L asked for cannot be computed: any figure would be a guess."""


class MissingContractSpec(PnLUnknown):
    """P&L was asked for a contract whose product (value per point) the store does not know."""


class UnpricedPosition(PnLUnknown):
    """A position carried into the trade date has no price (no ``prevPrice``), so the day's
    P&L in that contract is unknown."""


# ----------------------------------------------------------------------------- records


class OrderState(msgspec.Struct, frozen=True, gc=False):
    """An order with its current version and its active fills."""

    order: Order
    version: OrderVersion | None
    fills: tuple[Fill, ...]
    filled_qty: int
    avg_fill_price: float | None
    cl_ord_id: str | None = None
    reject_reason: str | None = None
    reject_text: str | None = None

    @property
    def id(self) -> int:
        return self.order.id

    @property
    def status(self) -> str:
        return self.order.ord_status

    @property
    def is_done(self) -> bool:
        """Filled, canceled, rejected, expired or completed: it will not trade any more."""
        return self.order.ord_status in _DONE

    @property
    def remaining(self) -> int | None:
        return None if self.version is None else self.version.order_qty - self.filled_qty

    @property
    def partially_filled(self) -> bool:
        return not self.is_done and self.filled_qty > 0


class NewFill(msgspec.Struct, frozen=True, gc=False):
    """A fill seen (and linked to its order) for the first time: deliver to ``on_fill``."""

    fill: Fill
    order: Order


class BustedFill(msgspec.Struct, frozen=True, gc=False):
    """A delivered fill that became inactive (busted); it no longer counts in P&L."""

    fill: Fill
    order: Order | None


class Removed(msgspec.Struct, frozen=True, gc=False):
    """An entity ``Deleted`` event."""

    entity_type: str
    entity_id: int


AccountChange: TypeAlias = (
    OrderState | NewFill | BustedFill | Position | CashBalance | Account | CommandReport
    | ExecutionReport | StrategyState | Removed
)


class OrderStatusChange(msgspec.Struct, frozen=True, gc=False):
    """An order whose status differs between memory and a snapshot (``None``: absent)."""

    order_id: int
    before: str | None
    after: str | None
    state: OrderState | None


class PositionDiff(msgspec.Struct, frozen=True, gc=False):
    """A position whose size, price or totals differ between memory and a snapshot."""

    account_id: int
    contract_id: int
    before: Position | None
    after: Position | None


class DayPnL(msgspec.Struct, frozen=True, gc=False):
    """The P&L of one (account, contract) on one trade date and the fills it counts.

    ``settled``: an earlier trade date than the account's current one; its open position is
    marked at that day's settlement (the next day's ``prevPrice``), ``None`` if not known."""

    pnl: PnL
    fill_ids: tuple[int, ...]
    settled: bool = False


class SyncReport(msgspec.Struct, frozen=True, gc=False):
    """What a ``user/syncrequest`` snapshot changed compared with memory.

    ``initial`` is true for the first snapshot of the process (everything in it is new)."""

    initial: bool
    new_fills: tuple[NewFill, ...]
    busted_fills: tuple[BustedFill, ...]
    orders: tuple[OrderStatusChange, ...]
    positions: tuple[PositionDiff, ...]

    @property
    def changed(self) -> bool:
        return bool(self.new_fills or self.busted_fills or self.orders or self.positions)


# ----------------------------------------------------------------------------- state


class _AccountState:
    """Every table the writer writes and the view reads."""

    def __init__(self, commissions: Mapping[str, float], default_commission: float,
                 value_per_point: Mapping[str, float]) -> None:
        self.commissions = dict(commissions)
        self.default_commission = default_commission
        self.value_per_point = dict(value_per_point)
        self.delivered: dict[int, None] = {}
        """Ids of the fills delivered (a dict used as an ordered set: the view reads it
        through a read-only mapping)."""
        self.counters: dict[str, int] = {"synced": 0, "stale_events": 0, "orders_forgotten": 0}
        """``synced``: 1 once a snapshot has been applied; ``stale_events``: entity versions
        dropped as older than what the store has (:mod:`.stale`); ``orders_forgotten``: see
        :attr:`AccountView.orders_forgotten`. A table, not attributes,
        so that the view reads them live through a read-only mapping."""
        self.products: dict[int, Product] = {}
        self.maturities: dict[int, ContractMaturity] = {}
        self.contracts: dict[int, Contract] = {}
        self.accounts: dict[int, Account] = {}
        self.orders: dict[int, Order] = {}
        self.states: dict[int, OrderState] = {}
        self.open_states: dict[int, OrderState] = {}
        """The states of orders not done yet: ``open_orders`` reads these instead of
        scanning every order of the day (risk checks call it before each order)."""
        self.open_by_account: dict[int, dict[int, OrderState]] = {}
        self.open_by_contract: dict[tuple[int, int | None], dict[int, OrderState]] = {}
        """The same states per account and per (account, contract), in the same order: the
        risk check and the protective stops ask for one account's orders in one contract on
        every order and account event, which must not cost a walk over every account's
        working orders (a copier's followers, other strategies' contracts)."""
        self.versions: dict[int, dict[int, OrderVersion]] = {}
        self.commands: dict[int, Command] = {}
        self.commands_by_order: dict[int, dict[int, Command]] = {}
        self.cl_ord_ids: dict[str, int] = {}
        self.command_ids: dict[str, int] = {}
        """Client order id → id of the command that carried it (any command type); the
        first (lowest id) command when several carry it: an order strategy's bracket orders
        carry the ``customTag50`` of its request, like its entry."""
        self.command_reports: dict[int, CommandReport] = {}
        self.reports_by_command: dict[int, dict[int, CommandReport]] = {}
        self.exec_reports: dict[int, ExecutionReport] = {}
        self.exec_by_order: dict[int, dict[int, ExecutionReport]] = {}
        self.fills: dict[int, Fill] = {}
        self.fills_by_order: dict[int, dict[int, Fill]] = {}
        self.booked: dict[int, FifoLedger] = {}
        """The ledger each booked fill is counted in."""
        self.ledgers: dict[tuple[int, int], FifoLedger] = {}
        """The current trade date's ledger per (account, contract)."""
        self.past_ledgers: dict[tuple[int, int], dict[dt.date, FifoLedger]] = {}
        """Ledgers of earlier trade dates seen by this process, for reports; kept across
        snapshots (the exchange lists only the current trade date's fills)."""
        self.trade_dates: dict[int, dt.date] = {}
        """Each account's current trade date."""
        self.fill_pairs: dict[int, FillPair] = {}
        self.positions: dict[int, Position] = {}
        self.position_keys: dict[tuple[int, int], int] = {}
        self.cash: dict[int, CashBalance] = {}
        self.cash_by_account: dict[int, int] = {}
        self.others: dict[str, dict[int, Any]] = {}
        self.order_strategies = StrategyTables()
        """``orderStrategy`` and ``orderStrategyLink`` entities (:mod:`.order_strategies`)."""
        self.worked: set[int] = set()
        """Orders seen ``Working`` (a bracket leg that worked is never held again)."""
        self.cash_history: dict[int, deque[CashBalance]] = {}
        """Recent versions of each cash balance that newer ones replaced."""

    def fresh(self) -> _AccountState:
        """An empty state with this one's configuration, reference data, delivered fill ids
        and earlier days' ledgers (copies), with this one's dated ledgers archived among the
        earlier days: a snapshot is built into it while this one stays as it is. A ledger of
        the same day made again from the snapshot replaces the archived one (the view shows
        only days before the account's current trade date); trade dates start empty (the
        snapshot sets them again)."""
        built = _AccountState(self.commissions, self.default_commission, self.value_per_point)
        built.products = dict(self.products)
        built.maturities = dict(self.maturities)
        built.contracts = dict(self.contracts)
        built.delivered = dict(self.delivered)
        built.counters["stale_events"] = self.counters["stale_events"]
        built.counters["orders_forgotten"] = self.counters["orders_forgotten"] + 1
        built.past_ledgers = {key: dict(days) for key, days in self.past_ledgers.items()}
        for key, ledger in self.ledgers.items():
            if ledger.trade_date is not None and not ledger.is_empty:
                built.past_ledgers.setdefault(key, {})[ledger.trade_date] = ledger
        return built

    def commit(self, built: _AccountState) -> None:
        """Take over every table of ``built``. Tables are replaced in place, so the view's
        read-only mappings stay bound to them; nothing here can fail half-way (plain dict
        operations on values already built)."""
        for name, value in vars(built).items():
            mine = getattr(self, name)
            if isinstance(mine, dict) and type(mine) is type(value):
                mine.clear()
                mine.update(value)
            elif isinstance(mine, StrategyTables):
                mine.take(value)
            else:
                setattr(self, name, value)

    def set_state(self, order_id: int, state: OrderState) -> None:
        self.states[order_id] = state
        if state.is_done:
            self.forget_open(order_id)
            return
        order = state.order
        before = self.open_states.get(order_id)
        if before is not None and (before.order.account_id != order.account_id
                                   or before.order.contract_id != order.contract_id):
            self.forget_open(order_id)  # a version that moved the order: filed anew
        self.open_states[order_id] = state
        self.open_by_account.setdefault(order.account_id, {})[order_id] = state
        self.open_by_contract.setdefault((order.account_id, order.contract_id),
                                         {})[order_id] = state

    def forget_open(self, order_id: int) -> None:
        """Take the order out of the open tables (done or deleted)."""
        state = self.open_states.pop(order_id, None)
        if state is None:
            return
        order = state.order
        _unfile(self.open_by_account, order.account_id, order_id)
        _unfile(self.open_by_contract, (order.account_id, order.contract_id), order_id)


def _unfile(index: dict[Any, dict[int, OrderState]], key: Any, order_id: int) -> None:
    filed = index.get(key)
    if filed is not None:
        filed.pop(order_id, None)
        if not filed:
            del index[key]


def _product_of(contracts: Mapping[int, Contract], maturities: Mapping[int, ContractMaturity],
                products: Mapping[int, Product], contract_id: int) -> Product | None:
    contract = contracts.get(contract_id)
    if contract is None:
        return None
    maturity = maturities.get(contract.contract_maturity_id)
    return None if maturity is None else products.get(maturity.product_id)


# ----------------------------------------------------------------------------- view


class AccountView(SetOnce):
    """Read-only access to the account store (any task may hold one).

    The view holds read-only mappings of the store's tables and nothing else: no attribute,
    private ones included, is the store's state or a writable table, so a view handed to a
    strategy cannot write the store."""

    __slots__ = ("_accounts", "_cash", "_cash_by_account", "_cl_ord_ids", "_command_ids",
                 "_commands", "_commissions", "_contracts", "_counters",
                 "_default_commission", "_delivered", "_exec_by_order", "_fill_pairs",
                 "_fills", "_fills_by_order", "_ledgers", "_maturities", "_open",
                 "_open_by_account", "_open_by_contract", "_orders",
                 "_others", "_past_ledgers", "_position_keys", "_positions", "_products",
                 "_reports_by_command", "_strategies", "_strategy_by_client_id",
                 "_strategy_of_order", "_trade_dates", "_value_per_point", "_versions")

    def __init__(self, state: _AccountState) -> None:
        s = state
        ro = MappingProxyType
        self._accounts = ro(s.accounts)
        self._orders = ro(s.states)
        self._open = ro(s.open_states)
        self._open_by_account = ro(s.open_by_account)
        self._open_by_contract = ro(s.open_by_contract)
        self._versions = ro(s.versions)
        self._commands = ro(s.commands)
        self._cl_ord_ids = ro(s.cl_ord_ids)
        self._command_ids = ro(s.command_ids)
        self._reports_by_command = ro(s.reports_by_command)
        self._exec_by_order = ro(s.exec_by_order)
        self._fills = ro(s.fills)
        self._fills_by_order = ro(s.fills_by_order)
        self._delivered = ro(s.delivered)
        self._fill_pairs = ro(s.fill_pairs)
        self._positions = ro(s.positions)
        self._position_keys = ro(s.position_keys)
        self._cash = ro(s.cash)
        self._cash_by_account = ro(s.cash_by_account)
        self._others = ro(s.others)
        self._contracts = ro(s.contracts)
        self._maturities = ro(s.maturities)
        self._products = ro(s.products)
        self._value_per_point = ro(s.value_per_point)
        self._commissions = ro(s.commissions)
        self._default_commission = s.default_commission
        self._trade_dates = ro(s.trade_dates)
        self._ledgers = ro(s.ledgers)
        self._past_ledgers = ro(s.past_ledgers)
        tables = s.order_strategies
        self._strategies = ro(tables.states)
        self._strategy_of_order = ro(tables.strategy_of_order)
        self._strategy_by_client_id = ro(tables.by_client_id)
        self._counters = ro(s.counters)

    @property
    def synced(self) -> bool:
        """True once a snapshot has been applied."""
        return self._counters["synced"] == 1

    @property
    def stale_events(self) -> int:
        """Entity versions from ``props`` events dropped because the store already had a
        newer one (an event replayed after newer ones; see :mod:`.stale`)."""
        return self._counters["stale_events"]

    @property
    def orders_forgotten(self) -> int:
        """How many times the store forgot orders it showed: an order ``Deleted``, or a
        snapshot that replaced memory. Whoever keeps a conclusion drawn from an order being
        shown (:meth:`order`) re-checks it when this number moves."""
        return self._counters["orders_forgotten"]

    @property
    def accounts(self) -> Mapping[int, Account]:
        return self._accounts

    def account(self, account_id: int) -> Account | None:
        return self._accounts.get(account_id)

    def account_by_name(self, name: str) -> Account | None:
        return next((a for a in self._accounts.values() if a.name == name), None)

    @property
    def orders(self) -> Mapping[int, OrderState]:
        """Every known order (whose ``order`` entity arrived) by id."""
        return self._orders

    def order(self, order_id: int) -> OrderState | None:
        return self._orders.get(order_id)

    def order_by_cl_ord_id(self, cl_ord_id: str) -> OrderState | None:
        """The order whose command carried this client order id (``clOrdId``, or the
        ``customTag50`` of a ``New`` command without one: ``order/liquidateposition`` has no
        ``clOrdId`` field, so the order manager sends its id there)."""
        order_id = self._cl_ord_ids.get(cl_ord_id)
        return None if order_id is None else self._orders.get(order_id)

    def command_by_cl_ord_id(self, cl_ord_id: str) -> Command | None:
        """The command that carried this client order id (as :meth:`order_by_cl_ord_id`);
        a modify's or a cancel's is how their outcome is found."""
        command_id = self._command_ids.get(cl_ord_id)
        return None if command_id is None else self._commands.get(command_id)

    def open_orders(self, account_id: int | None = None,
                    contract_id: int | None = None) -> tuple[OrderState, ...]:
        """Orders not yet done, optionally of one account and/or contract, in the order they
        were first seen open. One account's, or one account's in one contract, are read from
        their own table: no walk over other accounts' or contracts' orders."""
        if account_id is None:
            return tuple(st for st in self._open.values()
                         if contract_id is None or st.order.contract_id == contract_id)
        filed = (self._open_by_account.get(account_id) if contract_id is None
                 else self._open_by_contract.get((account_id, contract_id)))
        return () if filed is None else tuple(filed.values())

    def versions(self, order_id: int) -> tuple[OrderVersion, ...]:
        versions = self._versions.get(order_id, {})
        return tuple(versions[i] for i in sorted(versions))

    # ------------------------------------------------------------------ order strategies

    def order_strategy(self, strategy_id: int) -> StrategyState | None:
        """An order strategy (``orderStrategy/startorderstrategy``) with the links to its
        orders; its ``status`` says whether it still works."""
        return self._strategies.get(strategy_id)

    def order_strategy_by_client_id(self, client_id: str) -> StrategyState | None:
        """The order strategy whose request carried this ``customTag50`` or ``uuid``."""
        strategy_id = self._strategy_by_client_id.get(client_id)
        return None if strategy_id is None else self._strategies.get(strategy_id)

    def strategy_of_order(self, order_id: int) -> StrategyState | None:
        """The order strategy an order belongs to (entry, target or stop), if any."""
        strategy_id = self._strategy_of_order.get(order_id)
        return None if strategy_id is None else self._strategies.get(strategy_id)

    def strategy_orders(self, strategy_id: int, label: str | None = None
                        ) -> tuple[OrderState, ...]:
        """The orders of an order strategy whose ``order`` entity arrived (with ``label``
        only: ``Entry``, ``Target``, ``Stop``), oldest link first."""
        state = self._strategies.get(strategy_id)
        if state is None:
            return ()
        states = self._orders
        return tuple(states[i] for i in state.order_ids(label) if i in states)

    def order_strategies(self, account_id: int | None = None, *,
                         working: bool = False) -> tuple[StrategyState, ...]:
        """Every known order strategy by id (of one account; with ``working`` only those
        not done)."""
        return tuple(
            st for _, st in sorted(self._strategies.items())
            if (account_id is None or st.strategy.account_id == account_id)
            and not (working and st.is_done))

    def command(self, command_id: int) -> Command | None:
        return self._commands.get(command_id)

    def command_reports(self, command_id: int) -> tuple[CommandReport, ...]:
        reports = self._reports_by_command.get(command_id, {})
        return tuple(reports[i] for i in sorted(reports))

    def execution_reports(self, order_id: int) -> tuple[ExecutionReport, ...]:
        reports = self._exec_by_order.get(order_id, {})
        return tuple(reports[i] for i in sorted(reports))

    def fill(self, fill_id: int) -> Fill | None:
        return self._fills.get(fill_id)

    def fills(self, order_id: int | None = None) -> tuple[Fill, ...]:
        """Fills (busted ones included, ``active`` tells) by id, of one order if given."""
        fills = self._fills if order_id is None else self._fills_by_order.get(order_id, {})
        return tuple(fills[i] for i in sorted(fills))

    def is_delivered(self, fill_id: int) -> bool:
        return fill_id in self._delivered

    @property
    def fill_pairs(self) -> Mapping[int, FillPair]:
        return self._fill_pairs

    @property
    def positions(self) -> Mapping[int, Position]:
        """Positions as the server reports them, by position id."""
        return self._positions

    def position(self, account_id: int, contract_id: int) -> Position | None:
        ident = self._position_keys.get((account_id, contract_id))
        return None if ident is None else self._positions.get(ident)

    @property
    def cash_balances(self) -> Mapping[int, CashBalance]:
        return self._cash

    def cash_balance(self, account_id: int) -> CashBalance | None:
        ident = self._cash_by_account.get(account_id)
        return None if ident is None else self._cash.get(ident)

    def entity(self, entity_type: str, entity_id: int) -> Any:
        """Another entity kept as received (``marginSnapshot``, ``accountRiskStatus``…)."""
        return self._others.get(entity_type, {}).get(entity_id)

    def contract(self, contract_id: int) -> Contract | None:
        return self._contracts.get(contract_id)

    def product_of(self, contract_id: int) -> Product | None:
        return _product_of(self._contracts, self._maturities, self._products, contract_id)

    def value_per_point(self, contract_id: int) -> float:
        """Money per point of one contract (configured override, else its product's);
        :class:`MissingContractSpec` if neither is known."""
        name = self._product_name(contract_id)
        vpp = self._value_per_point.get(name) if name is not None else None
        if vpp is None:
            product = self.product_of(contract_id)
            if product is None:
                raise MissingContractSpec(f"no product (value per point) known for contract "
                                          f"{contract_id}")
            vpp = product.value_per_point
        return vpp

    def commission_per_side(self, contract_id: int) -> float:
        """Money charged per contract per fill side in this contract's product."""
        name = self._product_name(contract_id)
        default = self._default_commission
        return default if name is None else self._commissions.get(name, default)

    def trade_date(self, account_id: int) -> dt.date | None:
        """The account's current trade date: the newest ``tradeDate`` the exchange put on its
        positions, cash balances and fills (``None`` before any)."""
        return self._trade_dates.get(account_id)

    def pnl(self, account_id: int, contract_id: int, mark: float | None = None) -> PnL:
        """P&L of one account in one contract on the current trade date: the carried
        opening lot and the day's fills; open P&L at ``mark``."""
        ledger = self._ledgers.get((account_id, contract_id))
        if ledger is None:
            ledger = FifoLedger(self._trade_dates.get(account_id))
        return self._pnl_of(account_id, contract_id, ledger, mark)

    def _pnl_of(self, account_id: int, contract_id: int, ledger: FifoLedger,
                mark: float | None) -> PnL:
        vpp = self.value_per_point(contract_id)
        commission = self.commission_per_side(contract_id)
        net = ledger.net_pos
        if ledger.unpriced_open:
            open_pnl: float | None = None
        elif net == 0:
            open_pnl = 0.0
        else:
            open_pnl = None if mark is None else ledger.open_points(mark) * vpp
        return PnL(account_id, contract_id, net, ledger.avg_price,
                   ledger.realized_points * vpp, ledger.traded_qty * commission, open_pnl, mark,
                   ledger.trade_date, ledger.prev_pos, ledger.prev_price, ledger.unpriced)

    def net_pnl(self, account_id: int, mark: Callable[[int], float | None]) -> float:
        """One account's realized P&L after commissions plus open P&L at ``mark`` on its
        current trade date, over all its contracts: the sum of ``net_realized + open`` of its
        :meth:`pnls` (open P&L without a mark counts 0), without building them — the risk
        check reads it before every order. Raises :class:`MissingContractSpec` like
        :meth:`value_per_point` and :class:`UnpricedPosition` while a carried position has no
        price: the day's P&L is then unknown."""
        total = 0.0
        for (owner, contract_id), ledger in self._ledgers.items():
            if owner != account_id or ledger.is_empty:
                continue
            if ledger.unpriced:
                raise UnpricedPosition(
                    f"{ledger.prev_pos:+d} {self._name(contract_id)} carried into trade date "
                    f"{ledger.trade_date} without a price (no prevPrice)")
            vpp = self.value_per_point(contract_id)
            total += (ledger.realized_points * vpp
                      - ledger.traded_qty * self.commission_per_side(contract_id))
            if ledger.net_pos:
                price = mark(contract_id)
                if price is not None:
                    total += ledger.open_points(price) * vpp
        return total

    def open_pnl(self, account_id: int, mark: Callable[[int], float | None]) -> float:
        """One account's open P&L at ``mark`` over all its contracts (a position without a
        mark counts 0); raises like :meth:`net_pnl`. With the cash balance it makes the
        balance including open P&L that trailing drawdowns measure."""
        total = 0.0
        for (owner, contract_id), ledger in self._ledgers.items():
            if owner != account_id or not ledger.net_pos:
                continue
            if ledger.unpriced:
                raise UnpricedPosition(
                    f"{ledger.prev_pos:+d} {self._name(contract_id)} carried into trade date "
                    f"{ledger.trade_date} without a price (no prevPrice)")
            price = mark(contract_id)
            if price is not None:
                total += ledger.open_points(price) * self.value_per_point(contract_id)
        return total

    def pnls(self, mark: Callable[[int], float | None] | None = None) -> tuple[PnL, ...]:
        """P&L on the current trade date of every (account, contract) that carried a
        position in or has fills; ``mark(contract_id)`` prices the open positions."""
        return tuple(self.pnl(aid, cid, None if mark is None else mark(cid))
                     for (aid, cid), ledger in sorted(self._ledgers.items())
                     if not ledger.is_empty)

    def day_pnls(self, mark: Callable[[int], float | None]) -> tuple[DayPnL, ...]:
        """Every trade date this process saw, per (account, contract), oldest first: the
        earlier ones ``settled`` (marked at the settlement, the next day's ``prevPrice``),
        the current one marked at ``mark(contract_id)``. A contract whose product is unknown
        is left out."""
        ledgers, past_ledgers = self._ledgers, self._past_ledgers
        days: list[DayPnL] = []
        for key in sorted(set(ledgers) | set(past_ledgers)):
            account_id, contract_id = key
            current = self._trade_dates.get(account_id)
            ledger = ledgers.get(key)
            past = sorted((day, book) for day, book in past_ledgers.get(key, {}).items()
                          if current is not None and day < current)
            try:
                for index, (_day, book) in enumerate(past):
                    following = past[index + 1][1] if index + 1 < len(past) else ledger
                    settlement = None if following is None else following.prev_price
                    days.append(DayPnL(self._pnl_of(account_id, contract_id, book, settlement),
                                       book.fill_ids, settled=True))
                if ledger is not None and not ledger.is_empty:
                    days.append(DayPnL(self._pnl_of(account_id, contract_id, ledger,
                                                    mark(contract_id)), ledger.fill_ids))
            except MissingContractSpec:
                continue
        return tuple(days)

    def _name(self, contract_id: int) -> str:
        contract = self._contracts.get(contract_id)
        return contract.name if contract is not None else f"contract {contract_id}"

    def _product_name(self, contract_id: int) -> str | None:
        product = self.product_of(contract_id)
        if product is not None:
            return product.name
        contract = self._contracts.get(contract_id)
        # Tradovate contract names are the product root + month code + one-digit year.
        return None if contract is None else contract.name[:-2]


# ----------------------------------------------------------------------------- writer


class _Batch:
    """What one apply touched."""

    __slots__ = ("fills", "orders", "records", "strategies")

    def __init__(self) -> None:
        self.orders: dict[int, None] = {}
        self.fills: list[NewFill | BustedFill] = []
        self.records: list[AccountChange] = []
        self.strategies: dict[int, None] = {}
        """Order strategies whose entity or links arrived."""


class AccountWriter:
    """The only object that mutates the account store; give it to the account reader alone
    (with several logins, their account readers, each applying snapshots scoped to its
    login's accounts)."""

    __slots__ = ("_put", "_s", "_view")

    def __init__(self, state: _AccountState, view: AccountView) -> None:
        self._s = state
        self._view = view
        self._put: dict[str, Callable[[Any, _Batch], None]] = {
            "account": self._put_account, "order": self._put_order,
            "orderVersion": self._put_version, "command": self._put_command,
            "commandReport": self._put_command_report,
            "executionReport": self._put_exec_report, "fill": self._put_fill,
            "fillPair": self._put_fill_pair, "position": self._put_position,
            "cashBalance": self._put_cash, "product": self._put_reference,
            "contract": self._put_reference, "contractMaturity": self._put_reference,
            "orderStrategy": self._put_order_strategy,
            "orderStrategyLink": self._put_strategy_link,
        }

    @property
    def view(self) -> AccountView:
        return self._view

    def add_reference(self, entities: Iterable[Product | Contract | ContractMaturity]) -> None:
        """Teach the store contracts/products fetched over REST (for value per point)."""
        batch = _Batch()
        for entity in entities:
            self._put_reference(entity, batch)

    def apply(self, event: EntityEvent) -> list[AccountChange]:
        """Apply one ``props`` event (one entity or an array); return what changed."""
        batch = _Batch()
        if event.event_type == "Deleted":
            for entity in event.entities:
                if not isinstance(entity, UnknownEntity):
                    self._delete(event.entity_type, entity, batch)
        else:
            put = self._put.get(event.entity_type) or self._put_other(event.entity_type)
            for entity in event.entities:
                if not isinstance(entity, UnknownEntity):
                    put(entity, batch)
        return self._finish(batch)

    def apply_snapshot(self, sync: SyncMessage,
                       scope: Collection[int] | None = None) -> SyncReport:
        """Replace memory with a ``user/syncrequest`` snapshot and report what differed.

        ``scope``: the ids of the accounts the snapshot speaks for — one login's, when a run
        trades under several logins (each login's trading connection sends the snapshot of
        its own user). Every entity of the other accounts is kept as it is (built again
        into the new state, so the indexes hold it). ``None``: the snapshot is the whole
        picture (one login).

        Atomic: the new state is built apart and swapped in only once complete, so a snapshot
        that fails to apply (raises) leaves the previous state exactly as it was."""
        s = self._s
        if scope is not None:
            sync = _with_kept(sync, s, scope)
        initial = not s.counters["synced"]
        status_before = {i: o.ord_status for i, o in s.orders.items()}
        positions_before = {(p.account_id, p.contract_id): p for p in s.positions.values()}
        active_before = {i for i, f in s.fills.items() if f.active}
        built = s.fresh()
        builder = AccountWriter(built, self._view)
        batch = _Batch()
        for group in (sync.products, sync.contract_maturities, sync.contracts):
            for entity in group:
                builder._put_reference(entity, batch)
        puts: list[tuple[Callable[[Any, _Batch], None], Iterable[Any]]] = [
            (builder._put_account, sync.accounts), (builder._put_order, sync.orders),
            (builder._put_version, sync.order_versions), (builder._put_command, sync.commands),
            (builder._put_command_report, sync.command_reports),
            (builder._put_exec_report, sync.execution_reports), (builder._put_fill, sync.fills),
            (builder._put_fill_pair, sync.fill_pairs), (builder._put_position, sync.positions),
            (builder._put_cash, sync.cash_balances),
            (builder._put_order_strategy, sync.order_strategies),
            (builder._put_strategy_link, sync.order_strategy_links),
            (builder._put_other("marginSnapshot"), sync.margin_snapshots),
            (builder._put_other("accountRiskStatus"), sync.account_risk_statuses),
            (builder._put_other("userAccountAutoLiq"), sync.user_account_auto_liqs),
        ]
        for put, entities in puts:
            for entity in entities:
                put(entity, batch)
        if scope is not None:
            for entity_type, entities in s.others.items():
                if entity_type not in _SNAPSHOT_OTHERS:
                    put_other = builder._put_other(entity_type)
                    for ident, entity in entities.items():
                        if ident not in scope:
                            put_other(entity, batch)
        for order_id in built.orders:
            state = builder._state(order_id)
            if state is not None:
                built.set_state(order_id, state)
        built.order_strategies.refresh_all()
        built.counters["synced"] = 1
        new_fills = tuple(f for f in batch.fills if isinstance(f, NewFill))
        busted = tuple(BustedFill(f, built.orders.get(f.order_id))
                       for i, f in built.fills.items()
                       if not f.active and i in active_before and i in built.delivered)
        orders = tuple(
            OrderStatusChange(i, status_before.get(i), built.orders[i].ord_status
                              if i in built.orders else None, built.states.get(i))
            for i in sorted(set(status_before) | set(built.orders))
            if status_before.get(i) != (built.orders[i].ord_status if i in built.orders
                                        else None))
        positions_after = {(p.account_id, p.contract_id): p for p in built.positions.values()}
        positions = tuple(
            PositionDiff(key[0], key[1], positions_before.get(key), positions_after.get(key))
            for key in sorted(set(positions_before) | set(positions_after))
            if _position_shape(positions_before.get(key))
            != _position_shape(positions_after.get(key)))
        report = SyncReport(initial, new_fills, busted, orders, positions)
        s.commit(built)
        return report

    # ------------------------------------------------------------------ puts

    def _finish(self, batch: _Batch) -> list[AccountChange]:
        s = self._s
        changes: list[AccountChange] = []
        for order_id in batch.orders:
            state = self._state(order_id)
            if state is not None and state != s.states.get(order_id):
                s.set_state(order_id, state)
                changes.append(state)
        for strategy_id in batch.strategies:
            before, after = s.order_strategies.refresh(strategy_id)
            if after is not None and after != before:
                changes.append(after)
        changes.extend(batch.fills)
        changes.extend(batch.records)
        return changes

    def _put_account(self, account: Account, batch: _Batch) -> None:
        self._s.accounts[account.id] = account
        batch.records.append(account)

    def _stale(self) -> None:
        self._s.counters["stale_events"] += 1

    def _put_order(self, order: Order, batch: _Batch) -> None:
        s = self._s
        known = s.orders.get(order.id)
        if known is not None and stale_order(known, order, has_worked=order.id in s.worked):
            self._stale()
            return
        if order.ord_status == "Working":
            s.worked.add(order.id)
        s.orders[order.id] = order
        batch.orders[order.id] = None
        for fill in sorted(s.fills_by_order.get(order.id, {}).values(), key=_fill_id):
            if fill.active and fill.id not in s.booked:
                self._book(fill, order, batch)

    def _put_version(self, version: OrderVersion, batch: _Batch) -> None:
        self._s.versions.setdefault(version.order_id, {})[version.id] = version
        batch.orders[version.order_id] = None

    def _put_command(self, command: Command, batch: _Batch) -> None:
        s = self._s
        previous = s.commands.get(command.id)
        if previous is not None and stale_command(previous, command):
            self._stale()
            return
        s.commands[command.id] = command
        s.commands_by_order.setdefault(command.order_id, {})[command.id] = command
        key = client_key(command)
        if key:
            known = s.command_ids.get(key)
            if known is None or command.id <= known:  # the first command carrying it
                s.cl_ord_ids[key] = command.order_id
                s.command_ids[key] = command.id
        batch.orders[command.order_id] = None

    def _put_command_report(self, report: CommandReport, batch: _Batch) -> None:
        s = self._s
        s.command_reports[report.id] = report
        s.reports_by_command.setdefault(report.command_id, {})[report.id] = report
        command = s.commands.get(report.command_id)
        if command is not None:
            batch.orders[command.order_id] = None
        batch.records.append(report)

    def _put_exec_report(self, report: ExecutionReport, batch: _Batch) -> None:
        s = self._s
        s.exec_reports[report.id] = report
        s.exec_by_order.setdefault(report.order_id, {})[report.id] = report
        batch.orders[report.order_id] = None
        batch.records.append(report)

    def _put_fill(self, fill: Fill, batch: _Batch) -> None:
        s = self._s
        previous = s.fills.get(fill.id)
        if previous is not None and stale_fill(previous, fill):
            self._stale()
            return
        s.fills[fill.id] = fill
        s.fills_by_order.setdefault(fill.order_id, {})[fill.id] = fill
        batch.orders[fill.order_id] = None
        order = s.orders.get(fill.order_id)
        if fill.active:
            if order is not None:
                self._book(fill, order, batch)
            return
        self._unbook(fill.id)
        if previous is not None and previous.active and fill.id in s.delivered:
            batch.fills.append(BustedFill(fill, order))

    def _book(self, fill: Fill, order: Order, batch: _Batch) -> None:
        """Count a linked active fill in the ledger of its trade date and deliver it if it
        never was. A fill of an earlier trade date than the account's never counts today: it
        only corrects that day's kept ledger, if there is one."""
        s = self._s
        key = (order.account_id, fill.contract_id)
        day = _trade_day(fill.trade_date)
        current = self._advance(order.account_id, day)
        ledger: FifoLedger | None
        if day is not None and current is not None and day < current:
            ledger = s.past_ledgers.get(key, {}).get(day)
        else:
            ledger = self._ledger(key, current)
        if ledger is not None:
            ledger.add(fill.id, fill.action == "Buy", fill.qty, fill.price)
            s.booked[fill.id] = ledger
        if fill.id not in s.delivered:
            s.delivered[fill.id] = None
            batch.fills.append(NewFill(fill, order))

    def _unbook(self, fill_id: int) -> None:
        ledger = self._s.booked.pop(fill_id, None)
        if ledger is not None:
            ledger.remove(fill_id)

    def _ledger(self, key: tuple[int, int], day: dt.date | None) -> FifoLedger:
        """The current ledger of (account, contract), made for ``day`` (the account's trade
        date) if there is none; a kept ledger of that day is replaced by the new one."""
        s = self._s
        ledger = s.ledgers.get(key)
        if ledger is None:
            ledger = s.ledgers[key] = FifoLedger(day)
            if day is not None:
                s.past_ledgers.get(key, {}).pop(day, None)
        elif ledger.trade_date is None:
            ledger.trade_date = day
        return ledger

    def _advance(self, account_id: int, day: dt.date | None) -> dt.date | None:
        """Make ``day`` the account's trade date if it is newer (the roll at the session end)
        and return the account's trade date. On a roll each ledger of the account starts the
        new day carrying its position at no price until the position update gives its
        ``prevPrice``; the old ledger is kept for reports."""
        s = self._s
        current = s.trade_dates.get(account_id)
        if day is None or (current is not None and day <= current):
            return current
        s.trade_dates[account_id] = day
        for key, ledger in list(s.ledgers.items()):
            if key[0] != account_id:
                continue
            if ledger.trade_date is None:
                ledger.trade_date = day
                continue
            if ledger.trade_date >= day:
                continue
            if not ledger.is_empty:
                s.past_ledgers.setdefault(key, {})[ledger.trade_date] = ledger
            s.ledgers[key] = FifoLedger(day, ledger.net_pos)
            s.past_ledgers.get(key, {}).pop(day, None)
        return day

    def _put_fill_pair(self, pair: FillPair, batch: _Batch) -> None:
        self._s.fill_pairs[pair.id] = pair

    def _put_position(self, position: Position, batch: _Batch) -> None:
        s = self._s
        key = (position.account_id, position.contract_id)
        known = s.positions.get(position.id)
        if known is not None and stale_position(known, position):
            self._stale()
            return
        s.positions[position.id] = position
        s.position_keys[key] = position.id
        batch.records.append(position)
        day = _trade_day(position.trade_date)
        current = self._advance(position.account_id, day)
        if day is None or day == current:  # an update of an earlier day opens nothing today
            self._ledger(key, current).set_opening(position.prev_pos or 0,
                                                   position.prev_price)

    def _put_cash(self, cash: CashBalance, batch: _Batch) -> None:
        s = self._s
        known = s.cash.get(cash.id)
        if known is not None:
            history = s.cash_history.setdefault(cash.id, deque(maxlen=_CASH_HISTORY))
            if stale_cash(known, cash, history):
                self._stale()
                return
            if known != cash:
                history.append(known)
        s.cash[cash.id] = cash
        s.cash_by_account[cash.account_id] = cash.id
        batch.records.append(cash)
        self._advance(cash.account_id, _trade_day(cash.trade_date))

    def _put_reference(self, entity: Product | Contract | ContractMaturity,
                       batch: _Batch) -> None:
        s = self._s
        if isinstance(entity, Product):
            s.products[entity.id] = entity
        elif isinstance(entity, Contract):
            s.contracts[entity.id] = entity
        else:
            s.maturities[entity.id] = entity

    def _put_order_strategy(self, strategy: OrderStrategy, batch: _Batch) -> None:
        known = self._s.order_strategies.strategies.get(strategy.id)
        if known is not None and stale_strategy(known, strategy):
            self._stale()
            return
        batch.strategies[self._s.order_strategies.put_strategy(strategy)] = None

    def _put_strategy_link(self, link: OrderStrategyLink, batch: _Batch) -> None:
        batch.strategies[self._s.order_strategies.put_link(link)] = None

    def _put_other(self, entity_type: str) -> Callable[[Any, _Batch], None]:
        def put(entity: Any, batch: _Batch) -> None:
            self._s.others.setdefault(entity_type, {})[entity.id] = entity
        return put

    def _delete(self, entity_type: str, entity: Any, batch: _Batch) -> None:
        s = self._s
        ident: int = entity.id
        if entity_type == "fill":
            fill = s.fills.pop(ident, None)
            if fill is not None:
                s.fills_by_order.get(fill.order_id, {}).pop(ident, None)
                batch.orders[fill.order_id] = None
            self._unbook(ident)
        elif entity_type == "order":
            s.orders.pop(ident, None)
            if s.states.pop(ident, None) is not None:
                s.counters["orders_forgotten"] += 1
            s.forget_open(ident)
        elif entity_type == "position":
            position = s.positions.pop(ident, None)
            if position is not None:
                s.position_keys.pop((position.account_id, position.contract_id), None)
        elif entity_type == "cashBalance":
            cash = s.cash.pop(ident, None)
            if cash is not None:
                s.cash_by_account.pop(cash.account_id, None)
        elif entity_type == "account":
            s.accounts.pop(ident, None)
        elif entity_type == "orderVersion":
            s.versions.get(entity.order_id, {}).pop(ident, None)
            batch.orders[entity.order_id] = None
        elif entity_type in ("orderStrategy", "orderStrategyLink"):
            tables = s.order_strategies
            strategy_id = (tables.delete_strategy(ident) if entity_type == "orderStrategy"
                           else tables.delete_link(ident))
            if strategy_id is not None:
                batch.strategies[strategy_id] = None
        else:
            s.others.get(entity_type, {}).pop(ident, None)
        batch.records.append(Removed(entity_type, ident))

    # ------------------------------------------------------------------ order state

    def _state(self, order_id: int) -> OrderState | None:
        s = self._s
        order = s.orders.get(order_id)
        if order is None:
            return None
        version: OrderVersion | None = None
        for ident, candidate in s.versions.get(order_id, {}).items():
            command = s.commands.get(ident)
            effective = (command is None or command.command_type != "Modify"
                         or command.command_status in _ACCEPTED)
            if effective and (version is None or ident > version.id):
                version = candidate
        fills = tuple(sorted((f for f in s.fills_by_order.get(order_id, {}).values()
                              if f.active), key=_fill_id))
        filled = sum(f.qty for f in fills)
        avg = sum(f.qty * f.price for f in fills) / filled if filled else None
        cl_ord_id = reject_reason = reject_text = None
        rejection: CommandReport | None = None
        for ident, command in sorted(s.commands_by_order.get(order_id, {}).items()):
            if command.command_type == "New" and client_key(command):
                cl_ord_id = client_key(command)
            for report in s.reports_by_command.get(ident, {}).values():
                if report.command_status in _REJECTED and (rejection is None
                                                           or report.id > rejection.id):
                    rejection = report
        if rejection is not None:
            reject_reason, reject_text = rejection.reject_reason, rejection.text
        return OrderState(order, version, fills, filled, avg, cl_ord_id, reject_reason,
                          reject_text)


_SNAPSHOT_OTHERS = {"marginSnapshot": "margin_snapshots",
                    "accountRiskStatus": "account_risk_statuses",
                    "userAccountAutoLiq": "user_account_auto_liqs"}
"""The account-level entities a snapshot carries that the store keeps by account id."""


def _with_kept(sync: SyncMessage, s: _AccountState, scope: Collection[int]) -> SyncMessage:
    """``sync`` with, before each of its lists, the entities of ``s`` that belong to
    accounts outside ``scope`` (another login's), in the order the store holds them (fills
    in the order they were booked)."""
    orders = [o for o in s.orders.values() if o.account_id not in scope]
    order_ids = {o.id for o in orders}
    commands = [c for c in s.commands.values() if c.order_id in order_ids]
    command_ids = {c.id for c in commands}
    positions = [p for p in s.positions.values() if p.account_id not in scope]
    position_ids = {p.id for p in positions}
    tables = s.order_strategies
    strategies = [o for o in tables.strategies.values() if o.account_id not in scope]
    strategy_ids = {o.id for o in strategies}
    kept: dict[str, list[Any]] = {
        "accounts": [a for i, a in s.accounts.items() if i not in scope],
        "orders": orders,
        "order_versions": [v for i in order_ids for v in s.versions.get(i, {}).values()],
        "commands": commands,
        "command_reports": [r for r in s.command_reports.values()
                            if r.command_id in command_ids],
        "execution_reports": [r for r in s.exec_reports.values()
                              if r.account_id not in scope],
        "fills": [f for f in s.fills.values() if f.order_id in order_ids],
        "fill_pairs": [p for p in s.fill_pairs.values() if p.position_id in position_ids],
        "positions": positions,
        "cash_balances": [c for c in s.cash.values() if c.account_id not in scope],
        "order_strategies": strategies,
        "order_strategy_links": [link for link in tables.links.values()
                                 if link.order_strategy_id in strategy_ids],
    }
    for entity_type, field in _SNAPSHOT_OTHERS.items():
        kept[field] = [e for i, e in s.others.get(entity_type, {}).items() if i not in scope]
    return msgspec.structs.replace(
        sync, **{name: [*entities, *getattr(sync, name)] for name, entities in kept.items()})


def client_key(command: Command) -> str | None:
    """The client order id a command carried: its ``clOrdId``, else (``New`` commands only:
    a liquidation's order, reference §6.6) its ``customTag50``."""
    if command.cl_ord_id:
        return command.cl_ord_id
    return command.custom_tag50 if command.command_type == "New" else None


def _fill_id(fill: Fill) -> int:
    return fill.id


def _trade_day(trade_date: TradeDate | None) -> dt.date | None:
    """The calendar date of a wire ``tradeDate`` (``None``: absent or not a date)."""
    if trade_date is None:
        return None
    try:
        return dt.date(trade_date.year, trade_date.month, trade_date.day)
    except (ValueError, OverflowError):
        return None


def _position_shape(position: Position | None) -> tuple[int, float | None, int, int] | None:
    if position is None:
        return None
    return (position.net_pos, position.net_price, position.bought, position.sold)


def create_account_store(*, commission_per_side: Mapping[str, float] | None = None,
                         default_commission_per_side: float = 0.0,
                         value_per_point: Mapping[str, float] | None = None,
                         ) -> tuple[AccountView, AccountWriter]:
    """A new account store as its (read-only view, single writer) pair.

    ``commission_per_side`` maps a product name (``"ES"``) to the money charged per contract
    per fill side (``default_commission_per_side`` for the others); ``value_per_point``
    overrides or supplies the products' ``valuePerPoint``.
    """
    state = _AccountState(commission_per_side or {}, default_commission_per_side,
                          value_per_point or {})
    view = AccountView(state)
    return view, AccountWriter(state, view)
