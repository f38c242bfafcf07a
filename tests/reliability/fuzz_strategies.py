"""Hypothesis strategies shared by the reliability fuzz tests: arbitrary JSON, structure-aware
mutation of valid JSON (type swaps, missing and extra keys, nulls, wrong nesting), valid
Tradovate wire messages for market data and entities, and byte-level mutation."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "protocol"

# ------------------------------------------------------------------------ plain JSON

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=16),
    st.sampled_from(["", "0", "-1", "1e3", "Buy", "Sell", "Filled", "Created", "md", "props",
                     "2024-01-02T03:04:05Z", "null"]))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of a JSON tree (the root is ``()``)."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths.extend(_paths(child, (*prefix, index)))
    return paths


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


_OPS = ("replace", "null", "delete", "add_key", "duplicate", "wrap", "stringify", "negate",
        "huge")


@st.composite
def mutated_json(draw: st.DrawFn, base: Any, max_edits: int = 3) -> Any:
    """``base`` (a JSON tree) after 1..``max_edits`` structural edits at random nodes: the
    result is still JSON, but fields may be missing, extra, null, of the wrong type or out of
    range — what a buggy or newer server could send."""
    tree = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_edits))):
        paths = _paths(tree)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(_OPS))
        node = _get(tree, path)
        if op == "add_key" and isinstance(node, dict):
            node[draw(st.text(max_size=8) | st.sampled_from(sorted(node) or ["x"]))] = draw(
                json_values)
            continue
        if op == "duplicate" and isinstance(node, list) and node:
            node.append(copy.deepcopy(draw(st.sampled_from(node))))
            continue
        if not path:  # edits below replace a node inside its parent
            if op in ("replace", "wrap"):
                tree = draw(json_values) if op == "replace" else [tree]
            continue
        parent, key = _get(tree, path[:-1]), path[-1]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(json_values)
        elif op == "null":
            parent[key] = None
        elif op == "wrap":
            parent[key] = [node]
        elif op == "stringify":
            parent[key] = str(node)
        elif op == "negate" and isinstance(node, int | float) and not isinstance(node, bool):
            parent[key] = -node
        elif op == "huge" and isinstance(node, int | float) and not isinstance(node, bool):
            parent[key] = draw(st.sampled_from([2**63 - 1, -(2**63), 2**64 - 1, 1e308, -1e308,
                                                0, 5e-324]))
    return tree


@st.composite
def mutated_bytes(draw: st.DrawFn, base: bytes, max_edits: int = 4) -> bytes:
    """``base`` with a few byte flips, insertions, deletions or a truncation."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, max_edits))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif op == "truncate":
            del data[at:]
        elif at < len(data) and op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif at < len(data):
            del data[at]
    return bytes(data)


def golden_messages() -> list[Any]:
    """Every golden message fixture as JSON builtins (events and responses)."""
    messages: list[Any] = []
    for path in sorted(FIXTURES.iterdir()):
        if path.name.startswith("event_") or path.name.startswith("msg_response"):
            messages.append(msgspec.json.decode(path.read_bytes()))
        elif path.name.startswith(("frame_props", "frame_issue28_props")):
            messages.extend(msgspec.json.decode(path.read_bytes()[1:]))
        elif path.name.startswith("chart_ticks"):
            messages.append({"e": "chart", "d": msgspec.json.decode(path.read_bytes())})
    return messages


# ------------------------------------------------------------------------ market data

CONTRACTS = (101, 102, 103)
_timestamps = st.sampled_from(["2024-03-01T14:30:00.000Z", "2024-03-01T14:30:01.000Z",
                               "2024-03-01T14:31:00Z", ""])
_prices = st.integers(0, 40_000).map(lambda n: n * 0.25) | st.floats(-1e9, 1e9)
_sizes = st.integers(0, 500) | st.floats(0, 1e6)
_ENTRY_NAMES = ("Bid", "Offer", "Trade", "TotalTradeVolume", "OpenInterest", "HighPrice",
                "LowPrice", "OpeningPrice", "SettlementPrice", "EmptyBook")


def _entry() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={"price": _prices, "size": _sizes})


quote_wire = st.fixed_dictionaries(
    {"contractId": st.sampled_from(CONTRACTS), "timestamp": _timestamps,
     "entries": st.dictionaries(st.sampled_from(_ENTRY_NAMES), _entry(), max_size=6)},
    optional={"id": st.integers(0, 2**31)})
_level = st.fixed_dictionaries({"price": _prices, "size": _sizes})
dom_wire = st.fixed_dictionaries(
    {"contractId": st.sampled_from(CONTRACTS), "timestamp": _timestamps,
     "bids": st.lists(_level, max_size=6), "offers": st.lists(_level, max_size=6)})
histogram_wire = st.fixed_dictionaries(
    {"contractId": st.sampled_from(CONTRACTS), "timestamp": _timestamps,
     "base": _prices, "items": st.dictionaries(st.from_regex(r"\A-?[0-9]{1,3}\Z"), _sizes,
                                               max_size=4),
     "refresh": st.booleans()})
md_wire = st.fixed_dictionaries({}, optional={
    "quotes": st.lists(quote_wire, max_size=3), "doms": st.lists(dom_wire, max_size=2),
    "histograms": st.lists(histogram_wire, max_size=2)}).map(lambda d: {"e": "md", "d": d})

CHART_IDS = (7, 8, 9, 10)
"""Packet ids the tests register: 7/8 are the historical/real-time ids of a tick chart, 9/10
those of a minute-bar chart; other ids are unknown charts."""
_packed_tick = st.fixed_dictionaries(
    {"id": st.integers(0, 60), "t": st.integers(-5_000, 5_000), "p": st.integers(-40, 40),
     "s": _sizes},
    optional={"b": st.integers(-40, 40), "a": st.integers(-40, 40), "bs": _sizes, "as": _sizes})
_tick_packet = st.fixed_dictionaries(
    {"id": st.sampled_from((*CHART_IDS, 99)), "bp": st.integers(1_000, 80_000),
     "bt": st.integers(1_700_000_000_000, 1_700_000_100_000),
     "ts": st.sampled_from([0.25, 1.0, 0.01]), "tks": st.lists(_packed_tick, max_size=6)},
    optional={"s": st.just("db"), "td": st.integers(20240101, 20241231)})
_incomplete_tick_packet = st.fixed_dictionaries(
    {"id": st.sampled_from(CHART_IDS), "tks": st.lists(_packed_tick, min_size=1, max_size=2)},
    optional={"bp": st.integers(1_000, 80_000), "bt": st.integers(0, 2**40),
              "ts": st.sampled_from([0.25, 0.0])})
"""A tick packet the server should never send: bp/bt/ts missing (or a zero tick size)."""
_bar = st.fixed_dictionaries(
    {"timestamp": st.sampled_from(["2024-03-01T14:30:00Z", "2024-03-01T14:31:00Z",
                                   "2024-03-01T14:32:00Z"]),
     "open": _prices, "high": _prices, "low": _prices, "close": _prices},
    optional={"upVolume": _sizes, "downVolume": _sizes})
_bar_packet = st.fixed_dictionaries({"id": st.sampled_from((*CHART_IDS, 99)),
                                     "bars": st.lists(_bar, max_size=4)})
_eoh_packet = st.fixed_dictionaries({"id": st.sampled_from(CHART_IDS), "eoh": st.just(True)})
chart_wire = st.lists(st.one_of(_tick_packet, _bar_packet, _eoh_packet, _incomplete_tick_packet),
                      max_size=3).map(
    lambda packets: {"e": "chart", "d": {"charts": packets}})
market_message = st.one_of(md_wire, chart_wire)
"""A valid ``md`` or ``chart`` message (as JSON builtins)."""


# ------------------------------------------------------------------------ entities

_small_ints = st.integers(0, 20) | st.integers(-(2**63), 2**63 - 1)
_wire_text = st.text(max_size=10) | st.sampled_from(["Buy", "Sell", "Filled", "Working",
                                                     "2024-03-01T14:30:00Z"])


def _wire_for(info: msgspec.inspect.Type) -> st.SearchStrategy[Any]:
    """Builtins (as JSON carries them) valid for a msgspec type."""
    if isinstance(info, msgspec.inspect.StructType):
        return wire_struct(info.cls)
    if isinstance(info, msgspec.inspect.UnionType):
        return st.one_of([_wire_for(t) for t in info.types])
    if isinstance(info, msgspec.inspect.ListType):
        return st.lists(_wire_for(info.item_type), max_size=2)
    if isinstance(info, msgspec.inspect.DictType):
        return st.dictionaries(st.text(max_size=4), _wire_for(info.value_type), max_size=2)
    simple: dict[type, st.SearchStrategy[Any]] = {
        msgspec.inspect.IntType: _small_ints,
        msgspec.inspect.FloatType: st.floats(-1e12, 1e12) | _small_ints,
        msgspec.inspect.StrType: _wire_text, msgspec.inspect.BoolType: st.booleans(),
        msgspec.inspect.NoneType: st.none()}
    return simple[type(info)]


def wire_struct(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid wire object (camelCase builtins) of a model: required fields always,
    optional ones sometimes."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    required = {f.encode_name: _wire_for(f.type) for f in info.fields if f.required}
    optional = {f.encode_name: _wire_for(f.type) for f in info.fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional)
