"""The class a trader subclasses: event hooks called by the framework, order intents and read-only
views on ``self.ctx`` (:class:`~tradovate_api.strategy.api.StrategyAPI`).

Every hook is a plain (synchronous) method called on the reader that received the event, after
the stores were updated, so the strategy sees consistent state and its orders go out without a
queue hop. Hooks must return quickly: no blocking I/O, no ``await``. An exception escaping a
hook is logged and alerted and never stops the process (the strategy is paused if the
settings say so, see :class:`~tradovate_api.strategy.dispatch.Dispatcher`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..orders.tickets import OrderTicket
    from ..protocol.models import Position
    from ..stores import BarUpdated, DomBook, NewFill, OrderState, QuoteState, TradesAdded
    from .api import StrategyAPI


class Strategy:
    """Base strategy: every hook does nothing; override the ones you need.

    Declare the strategy's settings as ``Params`` — a
    :class:`~tradovate_api.strategy.StrategyParams` subclass (or a dataclass) with a type and
    a default per key — and ``[strategy]`` is checked against it by ``config check`` and at
    start, and ``self.ctx.params`` is an instance of it."""

    Params: ClassVar[type[Any] | None] = None
    """The strategy's parameters (``None``: ``ctx.params`` is the raw table)."""
    ctx: StrategyAPI
    """Set by the framework before :meth:`on_start` (the strategy API: :mod:`.api`)."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def on_start(self) -> None:
        """Called once, after the first account snapshot, before any other hook."""

    def on_quote(self, quote: QuoteState) -> None:
        """A contract's merged last quote changed."""

    def on_dom(self, book: DomBook) -> None:
        """A contract's depth of market was replaced."""

    def on_trade(self, trades: TradesAdded) -> None:
        """New time-and-sales prints of one contract (with their aggressor side)."""

    def on_bar(self, bar: BarUpdated) -> None:
        """A bar was added or the current bar changed."""

    def on_order(self, order: OrderState) -> None:
        """An order of the account changed (status, version, fills)."""

    def on_fill(self, fill: NewFill) -> None:
        """A new fill: called exactly once per fill id, ever (also for fills that happened
        while disconnected, delivered after the reconnect's snapshot)."""

    def on_position(self, position: Position) -> None:
        """The server's position in a contract changed."""

    def on_ticket(self, ticket: OrderTicket) -> None:
        """One of our requests changed state after it was sent (ACKED, REJECTED, UNKNOWN,
        NOT_PLACED)."""

    def on_timer(self, now_ms: int) -> None:
        """A time asked for with ``ctx.wake_at`` (or the periodic timer) has come."""

    def on_stop(self) -> None:
        """Called once at shutdown, before working orders are cancelled."""
