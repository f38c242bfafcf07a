"""What a server ``command`` says about the request that made it: accepted, rejected, or not
decided yet.

Every order request creates a ``command`` carrying its ``clOrdId`` (reference §5.2); its
``commandStatus`` and the ``commandReport`` entities that follow say what became of it (§5.3,
§6.1: a rejection after acceptance is a ``RiskRejected``/``ExecutionRejected`` report). The
mere existence of a command proves only that the server received the request: a modify or a
cancel is settled from its status, never from its existence.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from ..protocol.models import Command, CommandReport
from ..stores import OrderState

ACCEPTED = frozenset({"AtExecution", "OnHold", "ExecutionSuspended", "Replaced"})
"""Command statuses after which the request took effect (the account store's rule for which
order version is working, and the C# sample's, reference §5.3)."""
REJECTED = frozenset({"RiskRejected", "ExecutionRejected"})
"""Command statuses of a refused request: it had no effect."""


class Verdict(Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNDECIDED = "undecided"


def command_verdict(command: Command, reports: Iterable[CommandReport]) -> tuple[Verdict, str]:
    """The verdict of ``command`` from its own status and its reports, with the rejection's
    reason. A rejection wins over an acceptance (a request accepted by the risk check can
    still be rejected at execution)."""
    accepted = command.command_status in ACCEPTED
    rejection: CommandReport | None = None
    for report in reports:
        if report.command_status in REJECTED:
            if rejection is None or report.id > rejection.id:
                rejection = report
        elif report.command_status in ACCEPTED:
            accepted = True
    if rejection is not None:
        reason = ": ".join(x for x in (rejection.reject_reason, rejection.text) if x)
        return Verdict.REJECTED, reason or rejection.command_status
    if command.command_status in REJECTED:
        return Verdict.REJECTED, command.command_status
    return (Verdict.ACCEPTED if accepted else Verdict.UNDECIDED), ""


def finished_order_verdict(cancel: bool, command: Command,
                           order: OrderState | None) -> tuple[Verdict, str]:
    """The verdict of an undecided modify (``cancel`` False) or cancel whose target order has
    finished: the request can no longer change anything. A cancel took effect if the order
    ended ``Canceled``; a modify if the order's working version is the one it made (a
    version's id is its command's id, reference §5.2)."""
    if order is None or not order.is_done:
        return Verdict.UNDECIDED, ""
    if cancel:
        if order.status == "Canceled":
            return Verdict.ACCEPTED, ""
        return Verdict.REJECTED, f"the order was already {order.status}"
    if order.version is not None and order.version.id == command.id:
        return Verdict.ACCEPTED, ""
    return Verdict.REJECTED, f"the order ended {order.status} before the modification took effect"

