"""Restart reconciliation: a run journals its trading, dies, the market trades on, and the next
run's first snapshot is compared with the journal. Every difference is reported; none is
silently absorbed; the next restart is quiet."""

from __future__ import annotations

from pathlib import Path

from journal_helpers import ES, World

from tradovate_api.alerts import AlertLog
from tradovate_api.journal import (
    Journal,
    JournalReader,
    JournalReconciler,
    OrderChange,
    PositionDifference,
    reconcile,
)
from tradovate_api.orders.tickets import (
    OrderTicket,
    TicketKind,
    TicketState,
    set_order_id,
    set_state,
)
from tradovate_api.protocol.models import SyncMessage


def sent(cl_ord_id: str, action: str, order_type: str = "Market",
         price: float | None = None, kind: TicketKind = TicketKind.PLACE) -> OrderTicket:
    return OrderTicket(cl_ord_id=cl_ord_id, kind=kind, symbol="ESZ6", contract_id=ES,
                       action=action, qty=1, order_type=order_type, price=price,
                       trigger=f"{action} signal")


def first_run(world: World, path: Path) -> dict[str, int | None]:
    """Journal a run that buys, rests a limit sell, sends two more requests and dies: one
    request reached the exchange, one never did."""
    journal = Journal(path)
    journal.sync_snapshot(world.sync(), 1)
    ids: dict[str, int | None] = {}
    for cl_ord_id, action, order_type, price in (("r1-1", "Buy", "Market", None),
                                                  ("r1-2", "Sell", "Limit", 5002.0)):
        ticket = sent(cl_ord_id, action, order_type, price)
        journal.ticket(ticket)
        order_id, events = world.place(action, 1, order_type, price, cl_ord_id=cl_ord_id)
        set_state(ticket, TicketState.ACKED)
        set_order_id(ticket, order_id)
        journal.ticket(ticket)
        for event in events:
            journal.account_event(event)
        ids[cl_ord_id] = order_id
    journal.ticket(sent("r1-3", "Buy"))  # sent; the process dies before the answer...
    ids["r1-3"], _ = world.place("Buy", 1, cl_ord_id="r1-3")  # ...which the exchange has
    journal.ticket(sent("r1-4", "Buy"))  # sent; lost on the wire, never placed
    journal.ticket(sent("r1-5", "", kind=TicketKind.LIQUIDATE))  # its id as customTag50
    journal.close(clean=False)
    return ids


def test_restart_report_lists_what_happened_while_down(tmp_path: Path) -> None:
    world = World()
    path = tmp_path / "journal.db"
    ids = first_run(world, path)
    down_fills = world.trade(5002.0)  # the resting sell fills while the process is down
    assert any(e.entity_type == "fill" for e in down_fills)
    snapshot = world.sync()

    journal = Journal(path)
    assert journal.previous.crashed
    report = reconcile(journal.previous, snapshot)
    journal.close()

    assert report.previous_run_crashed
    fates = {u.cl_ord_id: (u.outcome, u.order_id) for u in report.unacknowledged}
    # Not in the snapshot proves nothing (the exchange can still execute them): unknown.
    assert fates == {"r1-3": ("placed", ids["r1-3"]), "r1-4": ("unknown", None),
                     "r1-5": ("unknown", None)}
    missed = {(f.order_id, f.action, f.price) for f in report.missed_fills}
    assert missed == {(ids["r1-3"], "Buy", 5000.25), (ids["r1-2"], "Sell", 5002.0)}
    assert OrderChange(ids["r1-2"], "r1-2", "Working", "Filled") in report.order_changes
    assert OrderChange(ids["r1-3"], "r1-3", None, "Filled") in report.order_changes
    server = next(p for p in snapshot.positions if p.contract_id == ES)
    assert report.positions == (PositionDifference(world.account, ES, 1, 5000.25,
                                                   server.net_pos, server.net_price, 1, 0,
                                                   2, 1),)
    assert server.net_pos == 1  # bought 2, sold 1: same size, but it moved
    assert report.urgent
    text = "\n".join(report.lines())
    assert "r1-3 -> placed as order" in text
    assert "fill while down: Sell 1 @ 5002" in text


def test_the_reconciler_journals_settles_alerts_and_the_next_restart_is_quiet(
        tmp_path: Path) -> None:
    world = World()
    path = tmp_path / "journal.db"
    ids = first_run(world, path)
    world.trade(5002.0)
    alerts = AlertLog()
    journal = Journal(path)
    reconciler = JournalReconciler(journal, alerts, account_ids={world.account})
    report = reconciler.on_sync(world.sync(), 1)
    assert report is not None
    assert report.changed
    assert reconciler.on_sync(world.sync(), 2) is None  # later snapshots: journaled only
    journal.close()
    [alert] = alerts.recent
    assert alert.key == "journal.restart_differences"
    assert alert.severity == "urgent"
    assert "never acknowledged" in alert.body

    with JournalReader(path) as reader:
        requests = {r.cl_ord_id: r for r in reader.requests()}
        unacknowledged = {r.cl_ord_id for r in reader.unacknowledged()}
        kinds = [r.kind for r in reader.reconciliations()]
        fills = reader.fills()
    assert (requests["r1-3"].state, requests["r1-3"].order_id) == ("ACKED", ids["r1-3"])
    # The snapshot settles only what it shows; the run's order manager follows the rest.
    assert unacknowledged == {"r1-4", "r1-5"}
    assert kinds == ["restart"]
    source = {f.order_id: f.source for f in fills.values()}
    assert source == {ids["r1-1"]: "event", ids["r1-2"]: "sync", ids["r1-3"]: "sync"}

    journal = Journal(path)  # the next run's order manager settles them (its resolver)...
    for cl_ord_id in ("r1-4", "r1-5"):
        settled = sent(cl_ord_id, "Buy")
        set_state(settled, TicketState.NOT_PLACED)
        journal.ticket(settled)
    journal.close()
    journal = Journal(path)  # ...and a clean restart with nothing new has nothing to report
    quiet = JournalReconciler(journal, alerts).on_sync(world.sync(), 1)
    journal.close()
    assert quiet is not None
    assert not quiet.changed
    assert len(alerts.recent) == 1


def test_a_snapshot_busting_a_journaled_fill_is_reported(tmp_path: Path) -> None:
    import msgspec

    world = World()
    path = tmp_path / "journal.db"
    journal = Journal(path)
    _, events = world.place("Buy", 1, cl_ord_id="r1-1")
    for event in events:
        journal.account_event(event)
    journal.close()
    snapshot = world.sync()
    busted = [msgspec.structs.replace(f, active=False) for f in snapshot.fills]
    journal = Journal(path)
    report = reconcile(journal.previous, msgspec.structs.replace(snapshot, fills=busted))
    journal.close()
    assert report.busted_fills == tuple(f.id for f in busted)
    assert not report.previous_run_crashed


# ---------------------------------------------------------------------- orders left working


def journal_sent(journal: Journal, world: World, cl_ord_id: str, action: str, qty: int = 1,
                 order_type: str = "Market", price: float | None = None,
                 stop_price: float | None = None) -> int | None:
    """A request of this app: journaled, placed on the exchange, its events journaled."""
    ticket = OrderTicket(cl_ord_id=cl_ord_id, kind=TicketKind.PLACE, symbol="ESZ6",
                         contract_id=ES, action=action, qty=qty, order_type=order_type,
                         price=price, stop_price=stop_price, trigger="test")
    journal.ticket(ticket)
    order_id, events = world.place(action, qty, order_type, price, cl_ord_id=cl_ord_id,
                                   stop_price=stop_price)
    set_state(ticket, TicketState.ACKED)
    set_order_id(ticket, order_id)
    journal.ticket(ticket)
    for event in events:
        journal.account_event(event)
    return order_id


def run_leaving_orders(world: World, path: Path) -> dict[str, int | None]:
    """A run that is long 2 with a protective stop, a take-profit limit, a second entry
    limit and a bracket entry with held legs working — and dies. A human adds an order."""
    journal = Journal(path)
    ids = {
        "long": journal_sent(journal, world, "r1-1", "Buy", 2),
        "stop": journal_sent(journal, world, "r1-2", "Sell", 2, "Stop", stop_price=4990.0),
        "target": journal_sent(journal, world, "r1-3", "Sell", 2, "Limit", 5010.0),
        "entry": journal_sent(journal, world, "r1-4", "Buy", 1, "Limit", 4980.0),
    }
    bracket = OrderTicket(cl_ord_id="r1-5", kind=TicketKind.OSO, symbol="ESZ6",
                          contract_id=ES, action="Buy", qty=1, order_type="Limit",
                          price=4985.0, trigger="test")
    journal.ticket(bracket)
    ids["bracket"], events = world.bracket("Buy", 4985.0, 4995.0, 4975.0, "r1-5")
    for event in events:
        journal.account_event(event)
    journal.close(clean=False)
    ids["human"], _ = world.place("Sell", 1, "Limit", 5020.0, cl_ord_id="phone-app-1")
    return ids


def test_orders_left_working_are_cancelled_except_the_stop_that_protects_the_position(
        tmp_path: Path) -> None:
    world = World()
    path = tmp_path / "journal.db"
    ids = run_leaving_orders(world, path)
    journal = Journal(path)
    # Only ids whose order may still work are kept in memory: the filled market buy's is not.
    assert {"r1-2", "r1-3", "r1-4", "r1-5"} <= journal.previous.maybe_working
    assert "r1-1" not in journal.previous.maybe_working
    report = reconcile(journal.previous, world.sync(), {world.account})
    journal.close()

    decisions = {w.order_id: (w.ours, w.decision) for w in report.working_orders}
    legs = {w.order_id for w in report.working_orders if w.parent_id == ids["bracket"]}
    assert len(legs) == 2  # take-profit and stop-loss legs, held until the entry fills
    assert decisions == {
        ids["stop"]: (True, "keep"), ids["target"]: (True, "cancel"),
        ids["entry"]: (True, "cancel"), ids["bracket"]: (True, "cancel"),
        **{leg: (True, "cancel") for leg in legs},
        ids["human"]: (False, "leave")}
    # A held leg goes with its entry: only the entry is cancelled explicitly.
    assert {w.order_id for w in report.to_cancel} == {ids["target"], ids["entry"],
                                                      ids["bracket"]}
    stop = next(w for w in report.working_orders if w.order_id == ids["stop"])
    assert (stop.order_type, stop.qty, stop.stop_price, stop.cl_ord_id) == (
        "Stop", 2, 4990.0, "r1-2")
    assert "protective stop of the open position +2" in stop.why
    text = "\n".join(report.lines())
    assert f"working at start: order {ids['stop']} (Sell Stop 2 @ 4990" in text
    assert "-> keep: protective stop" in text
    assert "-> leave: not placed by this app" in text
    assert report.changed
    assert report.urgent  # an order of an earlier run stays working: a human should know


def test_with_cancelling_switched_off_the_orders_are_only_reported(tmp_path: Path) -> None:
    world = World()
    path = tmp_path / "journal.db"
    ids = run_leaving_orders(world, path)
    journal = Journal(path)
    report = reconcile(journal.previous, world.sync(), {world.account}, cancel_previous=False)
    journal.close()
    decisions = {w.order_id: w.decision for w in report.working_orders}
    assert decisions[ids["target"]] == "leave"
    assert decisions[ids["stop"]] == "keep"
    assert report.to_cancel == ()
    assert "journal.cancel_previous_orders is off" in "\n".join(report.lines())


def test_a_journal_order_the_server_no_longer_lists_is_reported(tmp_path: Path) -> None:
    import msgspec

    world = World()
    path = tmp_path / "journal.db"
    ids = run_leaving_orders(world, path)
    snapshot = world.sync()
    gone = msgspec.structs.replace(snapshot, orders=[o for o in snapshot.orders
                                                     if o.id != ids["target"]])
    journal = Journal(path)
    report = reconcile(journal.previous, gone, {world.account})
    journal.close()
    [missing] = report.missing_orders
    assert (missing.order_id, missing.cl_ord_id, missing.journal_status) == (
        ids["target"], "r1-3", "Working")
    assert report.urgent
    assert f"order {ids['target']} (Working in the journal, clOrdId r1-3) is not in the " \
           "server's order list" in "\n".join(report.lines())


def test_requests_only_written_ahead_are_reconciled_as_placed_or_unknown(
        tmp_path: Path) -> None:
    """A run writes two requests ahead and dies before the journal's thread records them:
    the exchange got one, the other never left. The next open folds both from the intent
    file; reconciliation says which was executed (the other stays unknown: only the server's
    order list read after the grace period can prove it absent)."""
    world = World()
    path = tmp_path / "journal.db"
    dying = Journal(path)
    dying.before_send(sent("r1-1", "Buy"))
    placed, _ = world.place("Buy", 1, cl_ord_id="r1-1")
    dying.before_send(sent("r1-2", "Sell"))  # killed before the frame was written
    # (never closed: the process is gone; the next run opens the same file)
    journal = Journal(path)
    assert journal.folded.folded == 2
    assert journal.intents_path.read_bytes() == b""  # folded into SQLite, then emptied
    assert {r.cl_ord_id: r.state for r in journal.previous.unacknowledged} == {
        "r1-1": "INTENT", "r1-2": "INTENT"}
    report = reconcile(journal.previous, world.sync(), {world.account})
    journal.close()
    fates = {u.cl_ord_id: (u.journal_state, u.outcome, u.order_id)
             for u in report.unacknowledged}
    assert fates == {"r1-1": ("INTENT", "placed", placed),
                     "r1-2": ("INTENT", "unknown", None)}


def test_a_liquidation_carrying_its_id_in_custom_tag50_is_found(tmp_path: Path) -> None:
    """``order/liquidateposition`` takes no clOrdId; this app puts its request's id in
    ``customTag50``, which the server keeps on the closing order's command."""
    from tradovate_api.protocol.models import LiquidatePosition

    world = World()
    world.place("Buy", 1)
    path = tmp_path / "journal.db"
    journal = Journal(path)
    journal.ticket(sent("r1-9", "Sell", kind=TicketKind.LIQUIDATE))
    journal.close(clean=False)  # died before the answer
    result, _ = world.exchange.liquidate_position(world.user, LiquidatePosition(
        account_id=world.account, contract_id=ES, custom_tag50="r1-9", is_automated=True))
    journal = Journal(path)
    report = reconcile(journal.previous, world.sync(), {world.account})
    journal.close()
    [unacked] = report.unacknowledged
    assert (unacked.cl_ord_id, unacked.outcome, unacked.order_id) == (
        "r1-9", "placed", result.order_id)


def test_the_take_profit_of_a_filled_bracket_stays_with_its_protective_stop(
        tmp_path: Path) -> None:
    """The entry filled: its stop-loss protects the position and its take-profit is OCO
    with it. Cancelling the take-profit might cancel the stop (undocumented): both stay."""
    world = World()
    path = tmp_path / "journal.db"
    journal = Journal(path)
    journal.ticket(OrderTicket(cl_ord_id="r1-1", kind=TicketKind.OSO, symbol="ESZ6",
                               contract_id=ES, action="Buy", qty=1, order_type="Limit",
                               price=5000.25, trigger="test"))
    entry, events = world.bracket("Buy", 5000.25, 5010.0, 4990.0, "r1-1")  # fills at once
    for event in events:
        journal.account_event(event)
    journal.close(clean=False)
    journal = Journal(path)
    report = reconcile(journal.previous, world.sync(), {world.account})
    journal.close()
    legs = {w.order_type: w for w in report.working_orders}
    assert set(legs) == {"Limit", "Stop"}
    assert all(w.parent_id == entry for w in legs.values())
    assert legs["Stop"].decision == "keep"
    assert legs["Limit"].decision == "keep"
    assert legs["Limit"].why == (f"OCO with the kept protective stop {legs['Stop'].order_id}: "
                                 "cancelling it could cancel the stop too")
    assert report.to_cancel == ()


# ---------------------------------------------------------------------- order strategies


def strategy_ticket(cl_ord_id: str, state: TicketState = TicketState.PENDING,
                    order_id: int | None = None) -> OrderTicket:
    return OrderTicket(cl_ord_id=cl_ord_id, kind=TicketKind.STRATEGY, symbol="ESZ6",
                       contract_id=ES, action="Buy", qty=1, order_type="Market",
                       trigger="strategy entry", state=state, order_id=order_id)


def entry_of(snapshot: SyncMessage, strategy_id: int) -> int:
    return next(link.order_id for link in snapshot.order_strategy_links
                if link.order_strategy_id == strategy_id and link.label == "Entry")


def test_an_unacknowledged_order_strategy_is_reported_as_its_entry_not_a_leg(
        tmp_path: Path) -> None:
    """Its target, its stop and the cancels of an interrupt all carry its customTag50: the
    entry's command is the first of them."""
    world = World()
    path = tmp_path / "journal.db"
    journal = Journal(path)
    journal.ticket(strategy_ticket("r1-7"))
    journal.close(clean=False)  # died before the answer; the exchange had it
    strategy_id, _ = world.strategy("Buy", 1, 10.0, -10.0, "r1-7")  # fills: target + stop
    world.interrupt(strategy_id)  # Cancel commands carrying the same customTag50
    snapshot = world.sync()
    tagged = [c for c in snapshot.commands if c.custom_tag50 == "r1-7"]
    assert {c.command_type for c in tagged} == {"New", "Cancel"}
    assert len({c.order_id for c in tagged}) == 3  # entry, target, stop
    journal = Journal(path)
    report = reconcile(journal.previous, snapshot, {world.account})
    journal.close()
    [unacked] = report.unacknowledged
    assert (unacked.outcome, unacked.order_id, unacked.order_status) == (
        "placed", entry_of(snapshot, strategy_id), "Filled")


def test_an_order_strategys_target_and_stop_are_this_apps_after_its_entry_filled(
        tmp_path: Path) -> None:
    """A run's order strategy filled; its target and stop work (OCO) when it dies. They carry
    only the strategy's customTag50: the restart must know them for this app's, keep the stop
    that protects the position and the target OCO with it."""
    world = World()
    path = tmp_path / "journal.db"
    journal = Journal(path)
    ticket = strategy_ticket("r1-7")
    journal.ticket(ticket)
    strategy_id, events = world.strategy("Buy", 1, 10.0, -10.0, "r1-7")
    for event in events:
        journal.account_event(event)
    set_state(ticket, TicketState.ACKED)
    set_order_id(ticket, entry_of(world.sync(), strategy_id))
    journal.ticket(ticket)
    journal.close(clean=False)

    journal = Journal(path)
    assert "r1-7" in journal.previous.maybe_working  # its entry is filled, its exits work
    report = reconcile(journal.previous, world.sync(), {world.account})
    journal.close()
    legs = {w.order_type: w for w in report.working_orders}
    assert set(legs) == {"Limit", "Stop"}
    assert {(w.ours, w.cl_ord_id) for w in legs.values()} == {(True, "r1-7")}
    assert legs["Stop"].decision == "keep"
    assert legs["Limit"].decision == "keep"  # OCO with the kept stop
    assert report.to_cancel == ()


def test_a_strategy_known_by_an_older_journal_is_still_recognised_after_the_upgrade(
        tmp_path: Path) -> None:
    """A version 2 journal (before order tags) with the same trading: opening it fills the
    order tags from the commands it journaled."""
    import sqlite3

    world = World()
    path = tmp_path / "journal.db"
    journal = Journal(path)
    ticket = strategy_ticket("r1-7")
    journal.ticket(ticket)
    strategy_id, events = world.strategy("Buy", 1, 10.0, -10.0, "r1-7")
    for event in events:
        journal.account_event(event)
    set_state(ticket, TicketState.ACKED)
    set_order_id(ticket, entry_of(world.sync(), strategy_id))
    journal.ticket(ticket)
    journal.close(clean=False)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("DROP TABLE order_tags")
        conn.execute("DROP TABLE trailing")  # version 6's trailing high-water
        for column in ("frame_ns", "decoded_ns", "decided_ns", "checked_ns", "sent_ns",
                       "answered_ns", "filled_ns",  # version 4's latency stamps
                       "account_id", "source"):  # version 5's account and strategy
            conn.execute(f"ALTER TABLE requests DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 2")
    journal = Journal(path)
    assert "r1-7" in journal.previous.maybe_working
    journal.close()


def test_an_order_someone_else_placed_is_never_taken_for_this_apps(tmp_path: Path) -> None:
    """The journal saw a human's order (with a client order id of its own) while the app ran:
    it is still not the app's to cancel."""
    world = World()
    path = tmp_path / "journal.db"
    journal = Journal(path)
    human, events = world.place("Sell", 1, "Limit", 5020.0, cl_ord_id="phone-app-1")
    for event in events:
        journal.account_event(event)
    mine = journal_sent(journal, world, "r1-1", "Buy", 1, "Limit", 4980.0)
    journal.close(clean=False)
    journal = Journal(path)
    assert "phone-app-1" not in journal.previous.maybe_working
    report = reconcile(journal.previous, world.sync(), {world.account})
    journal.close()
    decisions = {w.order_id: (w.ours, w.decision) for w in report.working_orders}
    assert decisions == {human: (False, "leave"), mine: (True, "cancel")}
