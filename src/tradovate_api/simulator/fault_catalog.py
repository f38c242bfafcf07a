"""Every fault the simulator can inject: its name, what Tradovate behaviour it models, its
parameters and their defaults.

The catalog is data, so tests, ``tradovate-api sim --list-faults``, the ``--fault`` option and
the chaos soak all see the same list. :class:`~tradovate_api.simulator.faults.Faults` arms and
fires them. Kinds:

* ``switch``: on while armed, for every request or frame (429, silence, response delay).
* ``request``: drawn for each request to one of its endpoints (order endpoints by default).
* ``event``: drawn for each ``props`` event (or entity) a trading socket is sent.
* ``action``: happens when called (``faults.drop_connections()``...); armed with
  ``every=SECONDS`` it repeats while armed.

Common arming parameters: ``probability`` (chance per request/event/period, default 1),
``count`` (how many times at most; default unlimited) and, for request faults, ``endpoints``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["switch", "request", "event", "action"]

ORDER_ENDPOINTS = frozenset({
    "order/placeorder", "order/placeoso", "order/placeoco", "order/modifyorder",
    "order/cancelorder", "order/liquidateposition", "orderstrategy/startorderstrategy",
    "orderstrategy/interruptorderstrategy",
})
"""Requests that move orders: the default target of the answer faults."""
ENTRY_ENDPOINTS = frozenset({
    "order/placeorder", "order/placeoso", "order/placeoco", "orderstrategy/startorderstrategy",
})
"""Requests that create an entry order (default target of ``partial_fills_across_reconnect``)."""
PENALTY_ENDPOINTS = frozenset({"auth/accesstokenrequest"})
"""Endpoints a penalty applies to unless told otherwise (the "novel operations")."""
BROKEN_ANSWERS = ("500", "502", "503", "504", "cut", "html")
"""How ``error_after_execution``/``error_without_execution`` answer: an HTTP-like 5xx status,
a body cut short (``{"orderId":12``), or an HTML error page where JSON was due."""
SOCKET_KINDS = ("trading", "md", "all")


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a fault; its type is the type of ``default`` (a tuple parameter is a
    list of strings, written ``a+b`` on the command line)."""

    name: str
    default: Any
    help: str


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A named fault: what it does, what it models (with the reference section) and how it is
    tuned."""

    name: str
    kind: FaultKind
    does: str
    models: str
    params: tuple[Param, ...] = ()
    endpoints: frozenset[str] | None = None
    """Default endpoints of a request fault (``None``: every endpoint)."""

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


_EVERY = Param("every", 0.0, "repeat every SECONDS while armed (0: only when called)")
_KIND = Param("kind", "all", "sockets hit: trading, md or all")
_ANSWERS = Param("answers", BROKEN_ANSWERS, "answers to draw from: " + ", ".join(BROKEN_ANSWERS))

FAULTS: Mapping[str, FaultSpec] = {spec.name: spec for spec in (
    FaultSpec("rate_limit", "switch",
              "every request gets HTTP 429 with an empty body / websocket {\"s\":429} "
              "(authorize excepted)",
              "user-level request limits reached (§7.1)"),
    FaultSpec("silent", "switch",
              "sockets send nothing at all, not even heartbeats",
              "a connection that goes quiet; clients detect death by silence (§3.1, §9 #4)"),
    FaultSpec("response_delay", "switch",
              "every answer (REST and websocket) is held back; the request still executes "
              "when its socket closes meanwhile",
              "request time-outs are undocumented (§7.3)",
              (Param("seconds", 1.0, "how long each answer is held"),)),
    FaultSpec("penalty", "request",
              "a p-ticket instead of handling the request; the identical request plus the "
              "ticket succeeds after p-time (a captcha ticket never does)",
              "penalty tickets (§7.2)",
              (Param("seconds", 5.0, "p-time"),
               Param("captcha", False, "tickets carry p-captcha: true")),
              PENALTY_ENDPOINTS),
    FaultSpec("reject_orders", "request",
              "a valid order request is refused (failureReason) or, after_accept, accepted "
              "then risk-rejected (RiskRejected commandReport, Rejected executionReport)",
              "business failures and asynchronous risk rejections (§6.1)",
              (Param("reason", "UnknownReason", "failureReason / rejectReason"),
               Param("after_accept", False, "accept first, then reject"),
               Param("text", "", "failureText (empty: a generated text)"),
               Param("accounts", (), "only requests for these accounts (names, a+b; "
                                     "empty: every account)")),
              ORDER_ENDPOINTS),
    FaultSpec("lost_answer", "request",
              "the order request is executed, then its connection is cut (TCP abort) before "
              "the answer is sent",
              "a request that reached the server executes whatever happens to its socket; "
              "only the answer is lost (§6, §7.3)",
              endpoints=ORDER_ENDPOINTS),
    FaultSpec("late_execution", "request",
              "the request is held, its connection is cut at once, and it executes "
              "min_delay..max_delay seconds after the close: the first snapshot of the next "
              "connection may not contain it yet",
              "execution does not depend on the socket; its time is undocumented (§6, §7.3)",
              (Param("min_delay", 1.0, "earliest execution after the cut (s)"),
               Param("max_delay", 3.0, "latest execution after the cut (s)")),
              ORDER_ENDPOINTS),
    FaultSpec("error_after_execution", "request",
              "executed, then answered with a 5xx or an unreadable body",
              "errors of a gateway in front of the order server (§1.3, §3.2)",
              (_ANSWERS,), ORDER_ENDPOINTS),
    FaultSpec("error_without_execution", "request",
              "not executed, answered with a 5xx or an unreadable body",
              "errors of a gateway in front of the order server (§1.3, §3.2)",
              (_ANSWERS,), ORDER_ENDPOINTS),
    FaultSpec("partial_fills_across_reconnect", "request",
              "the new order fills in parts interval seconds apart and the user's trading "
              "sockets drop after the first part: later parts are only in the next snapshot "
              "or in props after it",
              "partial fills (execType Trade with ordStatus Working, §5.2) and dropped "
              "connections (§3.6)",
              (Param("parts", 3, "most parts an order fills in"),
               Param("interval", 1.0, "seconds between parts")),
              ENTRY_ENDPOINTS),
    FaultSpec("duplicate_events", "event",
              "a props event is sent twice",
              "clients must dedupe by (entityType, id) (§3.2, §9 #6)"),
    FaultSpec("replayed_events", "event",
              "an event sent earlier is sent again after newer ones: the client gets an "
              "older (stale) version of the entity",
              "no ordering guarantee across events is documented (§3.2, §5.3)",
              (Param("depth", 20, "how many recent events a replay picks from"),)),
    FaultSpec("out_of_order_events", "event",
              "a props event is held back and sent in a later frame, after events that "
              "followed it",
              "events can arrive in unexpected order (§5.3)",
              (Param("max_hold", 0.5, "longest hold (s)"),)),
    FaultSpec("odd_fields", "event",
              "entities (props, sync snapshot, entity lists) carry extra fields of the current "
              "spec and made-up future ones, and omit optional fields and schema-required ones "
              "a client cannot rely on (Fill.finallyPaired, Position.prevPos)",
              "the schema grows (§5.2 current additions); unknown fields must be ignored",
              (Param("omit_required", True, "also omit Fill.finallyPaired and "
                                            "Position.prevPos"),)),
    FaultSpec("drop", "action", "cut connections without a close frame (TCP abort)",
              "lost connections (§3.6)", (_KIND, _EVERY)),
    FaultSpec("close", "action", "send c[code,\"reason\"], then close",
              "SockJS close frame (§3.1)",
              (Param("code", 3000, "close code"), Param("reason", "Go away!", "close reason"),
               _KIND, _EVERY)),
    FaultSpec("shutdown", "action", "send a shutdown event, then close",
              "graceful shutdown notice: Maintenance, ConnectionQuotaReached, IPQuotaReached "
              "(§3.2, §3.6)",
              (Param("reason_code", "Maintenance", "reasonCode"),
               Param("reason", "", "reason text (empty: none)"), _KIND, _EVERY)),
    FaultSpec("maintenance", "action",
              "a maintenance window now: every socket gets a shutdown event Maintenance and "
              "closes; REST requests and websocket upgrades are answered 503 until it ends",
              "maintenance windows (§7.3, §7.4); the calendar's own windows are on by default",
              (Param("seconds", 10.0, "length of the window"), _EVERY)),
    FaultSpec("expire_tokens", "action",
              "every token issued so far expires now (authorized sockets stay open)",
              "token expiry (§2.5)", (_EVERY,)),
    FaultSpec("restart", "action",
              "drop every connection and listen again on the same ports, keeping all state",
              "server restarts (§3.6)", (_EVERY,)),
    FaultSpec("roll_trade_date", "action",
              "start the next trade date now: positions carry prevPos/prevPrice, daily "
              "totals reset, earlier fills leave the lists",
              "trade date rolls at the CME session change (§5.4)", (_EVERY,)),
)}
"""Every fault, by name."""


def _convert(spec: FaultSpec, param: Param, value: Any) -> Any:
    """``value`` as the parameter's type; strings (from the command line) are parsed."""
    where = f"{spec.name}: {param.name}"
    default = param.default
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    if isinstance(default, tuple):
        items = value.split("+") if isinstance(value, str) else list(value)
        return tuple(str(item).strip() for item in items if str(item).strip())
    if isinstance(default, int | float):
        try:
            if isinstance(value, bool):
                raise ValueError
            converted = type(default)(value)
        except (TypeError, ValueError):
            kind = "an integer" if isinstance(default, int) else "a number"
            raise ValueError(f"{where}: expected {kind}, got {value!r}") from None
        if converted != converted or converted < 0:  # NaN or negative
            raise ValueError(f"{where}: expected a non-negative number, got {value!r}")
        return converted
    return str(value)


def _check(spec: FaultSpec, params: dict[str, Any]) -> None:
    """Rules across one fault's parameters."""
    name = spec.name
    if "kind" in params and params["kind"] not in SOCKET_KINDS:
        raise ValueError(f"{name}: kind must be one of {', '.join(SOCKET_KINDS)}")
    if "answers" in params:
        answers = params["answers"]
        unknown = [a for a in answers if a not in BROKEN_ANSWERS]
        if unknown or not answers:
            raise ValueError(f"{name}: answers must be some of {', '.join(BROKEN_ANSWERS)}")
    if spec.name == "late_execution" and params["min_delay"] > params["max_delay"]:
        raise ValueError(f"{name}: min_delay must not exceed max_delay")
    if spec.name == "partial_fills_across_reconnect" and params["parts"] < 2:
        raise ValueError(f"{name}: parts must be at least 2")
    if spec.name == "response_delay" and params["seconds"] <= 0:
        raise ValueError(f"{name}: seconds must be positive")
    if spec.name == "replayed_events" and params["depth"] < 1:
        raise ValueError(f"{name}: depth must be at least 1")


def fault_params(spec: FaultSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """The fault's parameters: defaults overlaid with ``given`` (converted and checked);
    ``ValueError`` names an unknown or bad parameter."""
    params = {p.name: p.default for p in spec.params}
    for key, value in given.items():
        param = spec.param(key)
        if param is None:
            known = ", ".join(p.name for p in spec.params) or "none"
            raise ValueError(f"{spec.name}: unknown parameter {key!r} (parameters: {known})")
        params[key] = _convert(spec, param, value)
    _check(spec, params)
    return params


def spec_of(name: str) -> FaultSpec:
    """The fault called ``name``; ``ValueError`` lists the known ones."""
    spec = FAULTS.get(name)
    if spec is None:
        raise ValueError(f"unknown fault {name!r} (known: {', '.join(FAULTS)})")
    return spec


def parse_fault_option(text: str) -> tuple[str, dict[str, str]]:
    """``NAME[:key=value,...]`` (the ``--fault`` option) as the name and its raw settings."""
    name, _, rest = text.partition(":")
    name = name.strip()
    spec_of(name)
    settings: dict[str, str] = {}
    for item in (part for part in rest.split(",") if part.strip()):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{name}: expected key=value, got {item!r}")
        settings[key.strip()] = value.strip()
    return name, settings


def _endpoint_names(endpoints: frozenset[str] | None) -> str:
    if endpoints is None:
        return "all"
    if endpoints == ORDER_ENDPOINTS:
        return "<order endpoints>"
    if endpoints == ENTRY_ENDPOINTS:
        return "<entry endpoints>"
    return "+".join(sorted(endpoints))


def describe_faults() -> str:
    """The catalog as text (``tradovate-api sim --list-faults``)."""
    lines = [f"<order endpoints> = {'+'.join(sorted(ORDER_ENDPOINTS))}",
             f"<entry endpoints> = {'+'.join(sorted(ENTRY_ENDPOINTS))}", ""]
    for spec in FAULTS.values():
        lines.append(f"{spec.name}  [{spec.kind}]")
        lines.append(f"    {spec.does}")
        lines.append(f"    models: {spec.models}")
        common = ["probability=1.0", "count=unlimited"]
        if spec.kind == "request":
            common.append(f"endpoints={_endpoint_names(spec.endpoints)}")
        if spec.kind != "switch":
            lines.append(f"    arming: {', '.join(common)}")
        for param in spec.params:
            default = ("+".join(param.default) if isinstance(param.default, tuple)
                       else param.default)
            lines.append(f"    {param.name}={default}: {param.help}")
    return "\n".join(lines)
