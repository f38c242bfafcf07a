"""Every order on the exchange is one intent of the client, written before it was sent.

:func:`order_problems` matches the exchange's orders (all the run ever had:
:class:`.ExchangeRecord`) with the client's intents: the journal's write-ahead file and its
``requests`` table — the client's own record, which survives ``kill -9`` — and the status
channel's witness of each request about to be sent (:mod:`.channel`), which survives a full
disk. An order belongs to the client id of the command that created it: its ``clOrdId``, else
its ``customTag50`` (a liquidation, an order strategy's orders); a bracket leg's ``-tp`` /
``-sl`` id belongs to its entry's intent. It is a mismatch when:

* an order carries no client id, or one the client never wrote down;
* an intent has two orders (two entries, two ``-tp`` legs, two order strategies, two
  liquidation orders...): a duplicate, whatever id the second carries;
* an intent the client settled ``NOT_PLACED`` (even if a late execution turned it ``ACKED``
  afterwards), or ``REFUSED`` (never sent), has an order; or one it settled ``REJECTED`` has an
  order that was not rejected: each is a duplicate in waiting, since the strategy may send the
  same decision again under a new id;
* a request was sent (the witness saw it leave) but neither the journal nor its write-ahead
  file has it, while the journal could write (during a full disk the protective stops,
  cancels and liquidations go without one, by design).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..journal import JournalReader
from ..journal.intents import intents_path, read_intents
from .client_process import TicketRecord
from .exchange_record import ExchangeRecord

LEG_SUFFIXES = ("-tp", "-sl")
_NOT_SENT = frozenset({"refused"})


@dataclass(frozen=True, slots=True)
class JournalIntent:
    cl: str
    kind: str
    state: str
    """Lower case, as the tickets' states (``intent`` when known only from the write-ahead
    file)."""


def journal_intents(path: Path) -> dict[str, JournalIntent]:
    """The journal's requests and the write-ahead file's intents, by client order id."""
    found: dict[str, JournalIntent] = {}
    for intent in read_intents(intents_path(path)).intents:
        found[intent.cl_ord_id] = JournalIntent(intent.cl_ord_id, intent.kind.lower(), "intent")
    if path.exists():
        with JournalReader(path) as reader:
            for request in reader.requests():
                found[request.cl_ord_id] = JournalIntent(request.cl_ord_id,
                                                         request.kind.lower(),
                                                         request.state.lower())
    return found


def _intent_of(client_id: str) -> tuple[str, str | None]:
    for suffix in LEG_SUFFIXES:
        if client_id.endswith(suffix):
            return client_id[:-len(suffix)], suffix
    return client_id, None


def order_problems(record: ExchangeRecord, journal: Mapping[str, JournalIntent],
                   witness: Mapping[str, TicketRecord],
                   unwritable: Iterable[tuple[float, float]]) -> list[str]:
    """What does not match one to one (see the module doc); ``unwritable`` are the
    (monotonic) times the client's disk was full."""
    problems: list[str] = []
    created: dict[int, str] = {}
    for command in sorted(record.commands.values(), key=lambda c: c.id):
        if command.command_type == "New" and command.order_id not in created:
            created[command.order_id] = command.cl_ord_id or command.custom_tag50 or ""
    labels = {link.order_id: link.label for link in record.links.values()}
    by_intent: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    anonymous = []
    for order_id in sorted(record.orders):
        client_id = created.get(order_id, "")
        if not client_id:
            anonymous.append(order_id)
            continue
        intent, leg = _intent_of(client_id)
        by_intent[intent].append((order_id, leg))
    if anonymous:
        problems.append(f"orders without a client id: {anonymous[:10]}")
    strategies: dict[str, list[int]] = defaultdict(list)
    for strategy in record.strategies.values():
        if strategy.custom_tag50:
            strategies[strategy.custom_tag50].append(strategy.id)
    unknown = sorted(i for i in (*by_intent, *strategies) if i not in journal
                     and not (i in witness and witness[i].intent_at is not None))
    if unknown:
        problems.append(f"orders on the exchange for client ids the client never wrote ahead: "
                        f"{unknown[:10]}")
    for intent, orders in sorted(by_intent.items()):
        problems += _one_intent(intent, orders, labels, record, journal.get(intent),
                                witness.get(intent))
    for intent, ids in sorted(strategies.items()):
        if len(ids) > 1:
            problems.append(f"{intent}: {len(ids)} order strategies on the exchange {ids}")
    windows = list(unwritable)
    unjournaled = sorted(
        t.cl for t in witness.values()
        if t.intent_at is not None and t.states and t.states[0][1] not in _NOT_SENT
        and t.cl not in journal
        and not any(start <= t.intent_at <= end for start, end in windows))
    if unjournaled:
        problems.append(f"requests sent while the journal could write that it does not have: "
                        f"{unjournaled[:10]}")
    return problems


def _one_intent(intent: str, orders: list[tuple[int, str | None]], labels: Mapping[int, str],
                record: ExchangeRecord, journaled: JournalIntent | None,
                witnessed: TicketRecord | None) -> list[str]:
    kind = (witnessed.kind if witnessed is not None
            else journaled.kind if journaled is not None else "")
    primary = [o for o, leg in orders if leg is None
               and (kind != "strategy" or labels.get(o, "Entry") == "Entry")]
    problems: list[str] = []
    if len(primary) > 1:
        problems.append(f"{intent} ({kind}): {len(primary)} orders on the exchange {primary}")
    for suffix in LEG_SUFFIXES:
        legs = [o for o, leg in orders if leg == suffix]
        if len(legs) > 1:
            problems.append(f"{intent}{suffix}: {len(legs)} orders on the exchange {legs}")
    statuses = {record.orders[o].ord_status for o, _ in orders}
    # A rejected entry's brackets are cancelled, never filled; the entry itself is rejected.
    live = sorted(o for o, leg in orders if record.orders[o].ord_status not in (
        ("Rejected",) if o in primary else ("Rejected", "Canceled")))
    states: set[str] = set()
    if witnessed is not None:
        states.update(s for _, s, _ in witnessed.states)
    if journaled is not None:
        states.add(journaled.state)
    if "not_placed" in states:
        problems.append(f"{intent} ({kind}) was settled not placed, yet the exchange has "
                        f"orders {sorted(o for o, _ in orders)} ({', '.join(sorted(statuses))})")
    if witnessed is not None and witnessed.state == "refused":
        problems.append(f"{intent} ({kind}) was refused (never sent), yet the exchange has "
                        f"orders {sorted(o for o, _ in orders)}")
    final = witnessed.state if witnessed is not None else (
        journaled.state if journaled is not None else "")
    if final == "rejected" and live:
        problems.append(f"{intent} ({kind}) was settled rejected, yet orders {live} on the "
                        f"exchange were not")
    return problems
