"""The kill switch of the page: halt new entries, cancel working orders, flatten, kill, resume.

Each action goes to what the app already has — the risk manager's entry suspension and its
kill (the SIGUSR2 kill switch), the order manager's ``cancel_all`` and ``flatten``,
:meth:`~tradovate_api.runtime.app.TradingApp.resume_strategy` — so the page can do nothing
the operator could not do otherwise, and every order it causes is a ticket like any other
(journaled ahead of its frame). Each action is logged and alerted like the kill switch and
answers what it did.

``halt`` holds new *entries* (orders that could open or increase a position) until
``resume``; exits and protective stops still pass. ``cancel`` and ``flatten`` hold entries
first too, so the strategy cannot open again what was just closed. ``kill`` is the risk
manager's kill switch: new orders refused for the rest of the run, everything flattened.
"""

from __future__ import annotations

import logging
from typing import Literal

import msgspec

from ..alerts import Alert, AlertSink, Severity
from ..orders import OrderTicket
from ..runtime.app import TradingApp

_log = logging.getLogger("tradovate_api.dashboard.actions")

Action = Literal["halt", "cancel", "flatten", "kill", "resume"]
SOURCE = "dashboard"
"""The suspension source of the page's entry halt (another cause's suspension is untouched)."""


class ActionRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the page posts. ``account``: the account id (``None``: all the run trades);
    ``confirm`` must be true: the page asks the operator first."""

    action: Action
    account: int | None = None
    confirm: bool = False


class TicketDone(msgspec.Struct, frozen=True):
    cl_ord_id: str
    kind: str
    symbol: str
    action: str
    qty: int
    state: str
    reason: str


class ActionResult(msgspec.Struct, frozen=True):
    action: str
    ok: bool
    text: str
    tickets: tuple[TicketDone, ...] = ()


def _done(tickets: list[OrderTicket]) -> tuple[TicketDone, ...]:
    return tuple(TicketDone(t.cl_ord_id, str(t.kind), t.symbol, t.action, t.qty, str(t.state),
                            t.reason) for t in tickets)


class KillSwitch:
    """The page's actions on ``app``; ``alerts`` is the app's sink."""

    def __init__(self, app: TradingApp, alerts: AlertSink) -> None:
        self._app = app
        self._alerts = alerts
        self.entries_halted = ""
        """Why the page holds new entries (empty: it does not)."""

    def run(self, request: ActionRequest) -> ActionResult:
        """Do ``request``; refused (``ok`` false, nothing done) without confirmation,
        before the order path exists, or for an account this run does not trade."""
        app = self._app
        name = request.action
        if not request.confirm:
            return ActionResult(name, False, "not confirmed: nothing done")
        if not app.accounts:
            return ActionResult(name, False, "the app has not started trading yet: nothing "
                                             "done")
        targets = [a for a in app.accounts
                   if request.account is None or a.account_id == request.account]
        if not targets:
            return ActionResult(name, False, f"account {request.account} is not traded by "
                                             f"this run: nothing done")
        where = "every contract" if request.account is None else f"account {request.account}"
        if name == "resume":
            return self._resume()
        if name == "kill":  # every traded account (or the one asked for)
            before = {a.account_id: set(a.orders.tickets) for a in targets}
            for account in targets:
                account.risk.kill("kill switch (dashboard)")
            tickets = [t for a in targets for key, t in a.orders.tickets.items()
                       if key not in before[a.account_id]]
            text = (f"killed: new orders refused for the rest of the run; "
                    f"{len(tickets)} cancel/flatten requests sent")
            return self._done(name, text, tickets, alert=False)  # kill alerts itself
        self._halt_entries()
        if name == "halt":
            return self._done(name, "new entries halted (exits and protective stops still "
                                    "pass); resume lifts it", [])
        if name == "cancel":
            tickets = [t for a in targets for t in a.orders.cancel_all(
                trigger="dashboard: cancel", keep_protective=True)]
            text = (f"new entries halted; {len(tickets)} working orders cancelled in {where} "
                    f"(protective stops kept)")
        else:
            tickets = [t for a in targets
                       for t in a.orders.flatten(trigger="dashboard: flatten")]
            text = (f"new entries halted; {len(tickets)} cancel/liquidation requests sent to "
                    f"flatten {where}")
        return self._done(name, text, tickets)

    def _halt_entries(self) -> None:
        """New entries held on every account (the page's halt is the run's)."""
        if not self.entries_halted:
            self.entries_halted = "halted from the dashboard"
            for account in self._app.accounts:
                account.risk.suspend_entries(None, self.entries_halted, SOURCE)

    def _resume(self) -> ActionResult:
        app = self._app
        done = []
        if self.entries_halted:
            for account in app.accounts:
                account.risk.resume_entries(None, SOURCE)
            self.entries_halted = ""
            done.append("new entries allowed again")
        if app.resume_strategy():
            done.append("the paused strategy resumed")
        text = "; ".join(done) or "nothing to resume"
        halted = app.orders.halted if app.orders is not None else None
        if halted:
            text += f" (orders stay halted for the rest of the run: {halted})"
        return self._done("resume", text, [], severity=Severity.ROUTINE, alert=bool(done))

    def _done(self, name: str, text: str, tickets: list[OrderTicket], *,
              severity: Severity = Severity.URGENT, alert: bool = True) -> ActionResult:
        _log.warning("dashboard %s: %s", name, text, extra={"dashboard_action": name})
        if alert:
            self._alerts.emit(Alert(severity, f"dashboard.{name}",
                                    f"Dashboard: {name}", text))
        return ActionResult(name, True, text, _done(tickets))
