"""The shutdown sequence: stop trading, leave no position naked, say what is left open, close.

The hooks run in this order, within the supervisor's bounded shutdown time: halt new orders
and stop the strategy; unsubscribe market data; secure the positions; the final summary; the
hooks added to the app; flush the log; close both sockets with a close frame.

Securing the positions is the promise of the sequence: :meth:`ShutdownSequence.secure`
cancels the entries and keeps the protective stops, placing one where a position has none — or
flattens, as ``[shutdown]`` says — over REST when the trading socket is down; it waits,
bounded, for the account data to confirm, then prints, logs and alerts what is still open and
what protects it. A second signal skips all that: :meth:`ShutdownSequence.forced_exit` says
in one line what is known to be open. What counts as an entry or a protection is
``exit_plan``'s; the REST way to the account is ``rest_exit``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from ..alerts import Alert, AlertSink, Severity
from ..logwriter import LogWriter
from ..orders import OrderTicket, TicketKind, TicketState
from ..settings import Shutdown
from ..stores import AccountView, AccountWriter
from .accounts import AccountRun
from .changed import Changed
from .exit_plan import ExitPlan, describe, plan_exit
from .logins import LoginRun
from .rest_exit import read_account
from .status import StatusPrinter
from .supervisor import ShutdownHook, Supervisor
from .wiring import Wiring

_log = logging.getLogger("tradovate_api.runtime.shutdown")

SETTLE_FRACTION = 0.5
"""Share of the shutdown time (``shutdown.timeout_seconds``) spent securing the positions
(cancels, stops or flattening sent and confirmed)."""
REST_POLL_SECONDS = 1.0
"""While the shutdown works over REST, how often it reads the account again to confirm."""


class ShutdownSequence:
    """The shutdown of the wired run ``w``. ``account_writer`` is used only while the trading
    reader has no connection (the account read over REST); ``began`` is called first (the
    run's phase and length end there)."""

    def __init__(self, config: Shutdown, w: Wiring, supervisor: Supervisor, *,
                 account: AccountView, account_writer: AccountWriter,
                 account_changed: Changed, alerts: AlertSink,
                 printer: StatusPrinter | None, started: asyncio.Event,
                 log_writer: LogWriter | None, began: Callable[[], None]) -> None:
        self._config = config
        self._w = w
        self._supervisor = supervisor
        self._account = account
        self._account_writer = account_writer
        self._account_changed = account_changed
        self._alerts = alerts
        self._printer = printer
        self._started = started
        self._log_writer = log_writer
        self._began = began
        self._rest_reads_ok = False
        self.exit_lines: list[str] = []
        """What was still open when the run stopped and what protects it (one line per
        position or working order; set by :meth:`secure`)."""

    def register(self, final_summary: ShutdownHook,
                 extra_hooks: Iterable[tuple[str, ShutdownHook, bool]]) -> None:
        """Give the supervisor the hooks in their order, and the forced exit."""
        sup = self._supervisor
        sup.add_shutdown_hook("halt orders", self.halt)
        sup.add_shutdown_hook("unsubscribe market data", self._w.subscriptions.unsubscribe)
        sup.add_shutdown_hook("secure positions", self.secure)
        sup.on_forced_exit = self.forced_exit
        sup.add_shutdown_hook("final summary", final_summary)
        for name, hook, final in extra_hooks:
            sup.add_shutdown_hook(name, hook, final=final)
        sup.add_shutdown_hook("flush log", self.flush_log, final=True)
        sup.add_shutdown_hook("close sockets", self.close_sockets, final=True)

    async def halt(self) -> None:
        """No new orders; the strategy is stopped (if it started)."""
        self._began()
        reason = self._supervisor.exit_reason or "requested"
        _log.info("shutdown (%s): new orders halted, strategy stopped", reason)
        if self._printer is not None:
            self._printer.say(f"shutting down ({reason}); interrupt again to exit at once")
        w = self._w
        if w.copier is not None:  # the followers are secured below, not mirrored any more
            w.copier.stop()
        for account in w.accounts:
            account.orders.halt("shutdown")
        if self._started.is_set():
            for run in w.runs:
                run.dispatcher.stop()

    async def flush_log(self) -> None:
        writer = self._log_writer
        if writer is not None:
            _log.info("shutdown: flushing the log; closing the sockets next")
            await asyncio.to_thread(writer.flush)

    async def close_sockets(self) -> None:
        w = self._w
        await w.md.close("shutdown")
        for login in w.logins:
            await login.trading.close("shutdown")

    async def secure(self) -> None:
        """Leave no position naked: cancel the entries and keep the protective stops,
        placing one where a position has none (or flatten everything, as configured); over
        REST when the trading socket is down. Waits, bounded, for the account data to
        confirm, then reports what is open and what protects it."""
        w = self._w
        config = self._config
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._supervisor.options.shutdown_timeout * SETTLE_FRACTION
        for login in w.logins:
            login.gateway.rest_allowed = True
        down = [login for login in w.logins if not login.trading.ready]
        over_rest = bool(down)
        confirmed = not over_rest
        if over_rest:
            which = "" if len(w.logins) == 1 else " of " + ", ".join(
                login.label for login in down)
            _log.warning("shutdown: the trading socket%s is down; securing the positions over "
                         "REST", which)
            confirmed = await self._read_account_over_rest(deadline, down)
        sent: list[OrderTicket] = []
        protecting: set[tuple[int, int]] = set()
        for account, plan in self._plans():
            tickets = self._exit_orders(account, plan)
            sent += tickets
            protecting |= {(account.account_id, t.contract_id) for t in tickets
                           if t.kind is TicketKind.PLACE and t.state is not TicketState.REFUSED}
        poller = (loop.create_task(self._poll_account_over_rest(down), name="shutdown rest poll")
                  if over_rest and confirmed else None)
        try:
            if confirmed:  # REST unreachable too: nothing could confirm it, do not wait
                async with asyncio.timeout_at(deadline):
                    await self._account_changed.until(lambda: self._exit_settled(protecting))
        except TimeoutError:
            pass
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
        if over_rest:
            confirmed = confirmed and self._rest_reads_ok
        _log.info("shutdown: %d exit requests sent (%s)", len(sent),
                  "flatten" if config.flatten else "cancel entries, keep protective stops")
        self._report_exit(confirmed or all(login.trading.ready for login in w.logins))

    def forced_exit(self) -> None:
        """A second signal: nothing more is sent; say in one line what is known to be open."""
        parts = [line.split(" (", 1)[0] for line in self._describe(confirmed=True)]
        line = ("exiting at once (second interrupt); nothing more is sent. Open: "
                + ("; ".join(parts) if parts else "flat, no working orders"))
        _log.warning("%s", line)
        if self._printer is not None:
            self._printer.say(line)

    def _symbol(self, contract_id: int) -> str:
        spec = self._w.contracts.get(contract_id)
        return spec.symbol if spec is not None else str(contract_id)

    def _plans(self) -> list[tuple[AccountRun, ExitPlan]]:
        return [(account, plan_exit(self._account, account.account_id, self._symbol))
                for account in self._w.accounts]

    def _describe(self, *, confirmed: bool) -> list[str]:
        """What is open, a line each, prefixed by the account's name when there are
        several."""
        several = len(self._w.accounts) > 1
        return [f"{account.name}: {line}" if several else line
                for account, plan in self._plans()
                for line in describe(plan, self._symbol, confirmed=confirmed)]

    def _exit_orders(self, account: AccountRun, plan: ExitPlan) -> list[OrderTicket]:
        """Send what the shutdown settings ask for on one account: liquidations, or cancels
        of the entries and protective stops where a position has none."""
        orders = account.orders
        config = self._config
        if config.flatten:
            return orders.flatten(trigger="shutdown")
        tickets: list[OrderTicket] = []
        if config.cancel_entries:
            cancelling = {o.id for o in plan.entries}
            tickets += [orders.cancel(o.id, trigger="shutdown: entry") for o in plan.entries
                        if o.order.parent_id not in cancelling]  # held legs go with it
        protection = orders.protection
        for position in plan.unprotected:
            ticket = protection.protect(position.contract_id) if protection is not None \
                else None
            if ticket is None:
                _log.error("shutdown: no protective stop can be placed for %s %+d (%s)",
                           position.symbol, position.net, "protective stops are off"
                           if protection is None else "no price or distance, or the market "
                           "is beyond it")
            else:
                tickets.append(ticket)
        return tickets

    def _exit_settled(self, protecting: set[tuple[int, int]]) -> bool:
        """The exit requests are confirmed on every account: flat with no working orders
        (flatten), or the entries gone and the stops placed for ``protecting`` (account id,
        contract id) working."""
        config = self._config
        if config.flatten:
            ids = {account.account_id for account in self._w.accounts}
            return (not any(self._account.open_orders(i) for i in ids)
                    and all(p.net_pos == 0 for p in self._account.positions.values()
                            if p.account_id in ids))
        return all(all((account.account_id, p.contract_id) not in protecting
                       for p in plan.unprotected)
                   and (not config.cancel_entries or not plan.entries)
                   for account, plan in self._plans())

    async def _read_account_over_rest(self, deadline: float, down: list[LoginRun]) -> bool:
        """Replace the (stale) account data of each login of ``down`` (whose trading socket
        is down) with its account read over REST (scoped to its accounts when the run has
        several logins). Its account reader is not running; should it come back meanwhile,
        its own snapshot simply replaces this one."""
        ok = True
        for login in down:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await read_account(login.rest)
            except TimeoutError:
                message = None
            if message is None:
                ok = False
                continue
            scope = login.scope
            self._account_writer.apply_snapshot(
                message, None if scope is None else scope | {a.id for a in message.accounts})
            self._account_changed.notify()
        self._rest_reads_ok = ok
        return ok

    async def _poll_account_over_rest(self, down: list[LoginRun]) -> None:
        while True:
            await asyncio.sleep(REST_POLL_SECONDS)
            await self._read_account_over_rest(asyncio.get_running_loop().time() + 5.0, down)

    def _report_exit(self, confirmed: bool) -> None:
        """Print (summary), log and alert what is still open and what protects it."""
        plans = [plan for _, plan in self._plans()]
        lines = self._describe(confirmed=confirmed)
        self.exit_lines = lines
        if not lines:
            _log.info("shutdown: flat, no working orders%s",
                      "" if confirmed else " (last known: the server could not be read)")
            if confirmed:
                return
            lines = ["flat, no working orders (last known: the server could not be read)"]
        for line in lines:
            _log.warning("open at exit: %s", line)
        if self._printer is not None:  # at once: the summary may come later, or never
            self._printer.say("open at exit: " + "\n              ".join(lines))
        config = self._config
        supervisor = self._supervisor
        failed = supervisor.exit_code not in (None, 0)
        urgent = failed or not confirmed or any(
            bool(plan.unprotected)
            or (bool(plan.entries) and (config.cancel_entries or config.flatten))
            or (config.flatten and bool(plan.positions)) for plan in plans)
        why = f" ({supervisor.exit_reason})" if supervisor.exit_reason else ""
        if urgent:
            self._alerts.emit(Alert(Severity.URGENT, "shutdown.leftovers",
                                    f"Trading stopped{why}: positions or orders left open",
                                    "\n".join(lines)))
        else:
            self._alerts.emit(Alert(Severity.ROUTINE, "shutdown.open_positions",
                                    f"Trading stopped{why}: positions left open, protected",
                                    "\n".join(lines)))
