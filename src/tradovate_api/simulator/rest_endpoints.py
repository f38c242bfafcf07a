"""Every non-market-data endpoint, shared by REST and the trading websocket.

Tradovate serves the same endpoints over both (reference §1.1, §1.3): the REST handler and the
trading session turn their input into ``(endpoint, params, token)`` — ``params`` being the
JSON body object merged over the query parameters — and send back the :class:`Reply`'s status
and body (HTTP status/body, or ``s``/``d``). Endpoint names are matched case-insensitively.

Served: the auth endpoints, the order endpoints, ``orderStrategy/startorderstrategy`` and
``orderStrategy/interruptorderstrategy``, ``cashBalance/getcashbalancesnapshot``,
``userAccountAutoLiq/update`` (refused while the settings are ``changesLocked``),
``user/syncrequest`` (a plain snapshot here; the trading socket also subscribes), and for every
entity type the generic ``list``, ``item``, ``items``, ``deps``, ``ldeps``, ``find``,
``suggest`` operations. The ``odd_fields`` fault changes the entities of the snapshot and of
the generic operations; ``partial_fills_across_reconnect`` paces the order a request creates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from ..protocol.models import (
    ENTITY_CLASSES,
    CancelOrder,
    InterruptOrderStrategy,
    LiquidatePosition,
    ModifyOrder,
    PlaceOCO,
    PlaceOrder,
    PlaceOSO,
    StartOrderStrategy,
    SyncMessage,
    SyncRequest,
    WireModel,
)
from .outgoing import error_body
from .rest_auth import AuthEndpoints, Reply, json_reply

if TYPE_CHECKING:
    from .engine import Exchange
    from .faults import Faults
    from .instruments import InstrumentCatalog
    from .limits import RequestLimits
    from .session_registry import ConnectionRegistry
    from .tokens import Token

log = logging.getLogger("tradovate_api.simulator")

PUBLIC_ENDPOINTS = frozenset({"auth/accesstokenrequest"})
"""Endpoints that need no token."""
_GENERIC_OPS = ("list", "item", "items", "deps", "ldeps", "find", "suggest")
_ENTITY_NAMES = {name.lower(): name for name in ENTITY_CLASSES}
"""Lower-cased entity type → wire entity type."""
_DEFAULT_SUGGEST_LIMIT = 10
_SYNC_ENTITY_TYPES = {"users": "user", "contractGroups": "contractGroup"}
"""``SyncMessage`` fields whose entity type is not the field name less its plural ending."""
Handler = Callable[["Token | None", dict[str, Any]], Reply]


class BadRequest(Exception):
    """The request's parameters are invalid (answered with 400)."""


def not_found(text: str) -> Reply:
    return Reply(404, error_body(text))


def _plural(entity_type: str) -> str:
    """``SyncMessage`` field of an entity type: ``cashBalance`` → ``cashBalances``."""
    if entity_type.endswith("y"):
        return entity_type[:-1] + "ies"
    if entity_type.endswith("s"):
        return entity_type + "es"
    return entity_type + "s"


def _singular(field: str) -> str:
    """Entity type of a ``SyncMessage`` field: ``cashBalances`` → ``cashBalance``."""
    if field.endswith("ies"):
        return field[:-3] + "y"
    if field.endswith("ses"):  # accountRiskStatuses
        return field[:-2]
    return field[:-1]


def _int(params: dict[str, Any], key: str) -> int:
    value = params.get(key)
    try:
        if isinstance(value, bool):
            raise TypeError
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRequest(f"{key}: an integer is required") from None


def _ints(params: dict[str, Any], key: str) -> list[int]:
    value = params.get(key)
    if isinstance(value, list):
        items: list[Any] = value
    elif isinstance(value, str | int) and not isinstance(value, bool):
        items = [v for v in str(value).split(",") if v.strip()]
    else:
        raise BadRequest(f"{key}: a comma-separated list of integers is required")
    try:
        return [int(v) for v in items]
    except (TypeError, ValueError):
        raise BadRequest(f"{key}: a comma-separated list of integers is required") from None


def _body(params: dict[str, Any], model: type[Any]) -> Any:
    try:
        return msgspec.convert(params, model, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(str(exc)) from None


def _name_of(entity: WireModel) -> str | None:
    name = getattr(entity, "name", None)
    return name if isinstance(name, str) else None


class Endpoints:
    """The endpoint table of one simulator: the auth endpoints, and the rest over its
    exchange and instruments; the request limits and faults apply to every request, and
    entities leave as the registry shapes them for the wire."""

    def __init__(self, auth: AuthEndpoints, exchange: Exchange, catalog: InstrumentCatalog,
                 limits: RequestLimits, faults: Faults, registry: ConnectionRegistry) -> None:
        self._auth = auth
        self._exchange = exchange
        self._catalog = catalog
        self._limits = limits
        self._faults = faults
        self._registry = registry
        self._table: dict[str, Handler] = {
            "auth/accesstokenrequest": lambda _t, p: self._auth.access_token_request(p),
            "auth/renewaccesstoken": lambda t, _p: self._auth.renew(self._need(t)),
            "auth/me": lambda t, _p: self._auth.me(self._need(t)),
            "user/syncrequest": lambda t, p: json_reply(self.sync(self._need(t).user_id, p)),
            "cashbalance/getcashbalancesnapshot": self._cash_snapshot,
            "order/placeorder": self._place_order,
            "order/placeoso": self._place_oso,
            "order/placeoco": self._place_oco,
            "order/modifyorder": self._modify_order,
            "order/cancelorder": self._cancel_order,
            "order/liquidateposition": self._liquidate,
            "orderstrategy/startorderstrategy": self._start_strategy,
            "orderstrategy/interruptorderstrategy": self._interrupt_strategy,
            "useraccountautoliq/update": self._update_auto_liq,
        }

    @staticmethod
    def _need(token: Token | None) -> Token:
        assert token is not None  # dispatch refuses non-public endpoints without a token
        return token

    def known(self, endpoint: str) -> bool:
        return self._handler(endpoint) is not None

    def _handler(self, endpoint: str) -> Handler | None:
        handler = self._table.get(endpoint)
        if handler is not None:
            return handler
        entity, _, op = endpoint.partition("/")
        entity_type = _ENTITY_NAMES.get(entity)
        if entity_type is None or op not in _GENERIC_OPS:
            return None
        return lambda token, params: self._generic(entity_type, op, self._need(token), params)

    def dispatch(self, endpoint: str, params: dict[str, Any], token: Token | None, *,
                 peer: str = "?") -> Reply:
        """Answer one request; ``endpoint`` is lower-case, ``token`` already validated,
        ``peer`` the caller's IP (endpoint-level limits are per IP)."""
        handler = self._handler(endpoint)
        if handler is None:
            return not_found(f"Not found: {endpoint}")
        if token is None and endpoint not in PUBLIC_ENDPOINTS:
            return Reply(401, error_body("Access is denied", quoted=False))
        limits = self._limits
        penalty = self._faults.check_penalty(endpoint, params)
        if penalty is None:
            penalty = limits.endpoint_request(endpoint, peer, params)
        if penalty is not None:
            log.info("%s: penalty ticket issued (p-time %s)", endpoint, penalty["p-time"])
            reply = json_reply(penalty)
            reply.penalized = True
            return reply
        pacing = self._faults.fire("partial_fills_across_reconnect", endpoint)
        if pacing is not None:
            self._exchange.pace_next_order(int(pacing.params["parts"]),
                                               float(pacing.params["interval"]))
        try:
            reply = handler(token, params)
        except BadRequest as exc:
            log.info("%s: bad request: %s", endpoint, exc)
            reply = Reply(400, error_body(f"Bad request: {exc}"))
        finally:
            if pacing is not None:
                self._exchange.clear_pace()
        limits.endpoint_done(endpoint, peer, succeeded=reply.status == 200
                             and b'"errorText"' not in reply.body)
        return reply

    # ----------------------------------------------------------------- sync

    def sync(self, user_id: int, params: dict[str, Any]) -> Any:
        """The ``SyncMessage`` for ``user/syncrequest`` as builtins, limited to the request's
        accounts and ``entityTypes`` (``users`` and ``contractGroups`` always stay: the
        schema requires them)."""
        request = _body(params, SyncRequest)
        snapshot: SyncMessage = self._exchange.sync(user_id, request.accounts)
        data: dict[str, Any] = msgspec.to_builtins(snapshot)
        if request.entity_types:
            keep = {_plural(t) for t in request.entity_types} | {"users", "contractGroups"}
            data = {k: v for k, v in data.items() if k in keep}
        if self._registry.reshapes():
            for key, items in data.items():
                entity_type = _SYNC_ENTITY_TYPES.get(key) or _singular(key)
                data[key] = [self._registry.wire_builtins(entity_type, item)
                             for item in items]
        return data

    def _entities_reply(self, entity_type: str, value: Any) -> Reply:
        """A generic operation's answer; entities as the wire carries them
        (:meth:`ConnectionRegistry.wire_builtins`)."""
        if not self._registry.reshapes():
            return json_reply(value)
        odd = self._registry.wire_builtins
        data = msgspec.to_builtins(value)
        if isinstance(data, list):
            return json_reply([odd(entity_type, item) for item in data])
        return json_reply(odd(entity_type, data))

    # ----------------------------------------------------------------- generic entity ops

    def _generic(self, entity_type: str, op: str, token: Token,
                 params: dict[str, Any]) -> Reply:
        exchange = self._exchange
        user_id = token.user_id
        reply = self._entities_reply
        if op == "list":
            return reply(entity_type, exchange.entities(entity_type, user_id))
        if op == "item":
            ident = _int(params, "id")
            found = exchange.item(entity_type, ident, user_id)
            if found is None:
                return not_found(f"{entity_type} {ident} not found")
            return reply(entity_type, found)
        if op == "items":
            items = (exchange.item(entity_type, i, user_id) for i in _ints(params, "ids"))
            return reply(entity_type, [e for e in items if e is not None])
        if op == "deps":
            return reply(entity_type, exchange.deps(entity_type, _int(params, "masterid"),
                                                    user_id))
        if op == "ldeps":
            return reply(entity_type, [e for m in _ints(params, "masterids")
                                       for e in exchange.deps(entity_type, m, user_id)])
        if op == "find":
            return self._find(entity_type, params, user_id)
        return self._suggest(entity_type, params, user_id)

    def _find(self, entity_type: str, params: dict[str, Any], user_id: int) -> Reply:
        name = params.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest("name: a name is required")
        catalog = self._catalog
        found: WireModel | None
        if entity_type == "contract":
            inst = catalog.by_name(name)
            found = None if inst is None else inst.contract
        elif entity_type == "product":
            found = catalog.product(name)
        else:
            found = next((e for e in self._exchange.entities(entity_type, user_id)
                          if (_name_of(e) or "").upper() == name.upper()), None)
        if found is None:
            return not_found(f"{entity_type} {name} not found")
        return json_reply(found)

    def _suggest(self, entity_type: str, params: dict[str, Any], user_id: int) -> Reply:
        text = params.get("t", "")
        if not isinstance(text, str):
            raise BadRequest("t: text is required")
        limit = _int(params, "l") if "l" in params else _DEFAULT_SUGGEST_LIMIT
        if entity_type == "contract":
            return json_reply(self._catalog.suggest(text, limit))
        prefix = text.upper()
        matches = [e for e in self._exchange.entities(entity_type, user_id)
                   if (_name_of(e) or "").upper().startswith(prefix)]
        return json_reply(matches[:max(limit, 0)])

    # ----------------------------------------------------------------- trading

    def _cash_snapshot(self, token: Token | None, params: dict[str, Any]) -> Reply:
        user_id = self._need(token).user_id
        return json_reply(self._exchange.cash_balance_snapshot(
            user_id, _int(params, "accountId")))

    def _place_order(self, token: Token | None, params: dict[str, Any]) -> Reply:
        result, changes = self._exchange.place_order(self._need(token).user_id,
                                                         _body(params, PlaceOrder))
        return Reply(200, msgspec.json.encode(result), changes)

    def _place_oso(self, token: Token | None, params: dict[str, Any]) -> Reply:
        result, changes = self._exchange.place_oso(self._need(token).user_id,
                                                       _body(params, PlaceOSO))
        return Reply(200, msgspec.json.encode(result), changes)

    def _place_oco(self, token: Token | None, params: dict[str, Any]) -> Reply:
        result, changes = self._exchange.place_oco(self._need(token).user_id,
                                                       _body(params, PlaceOCO))
        return Reply(200, msgspec.json.encode(result), changes)

    def _modify_order(self, token: Token | None, params: dict[str, Any]) -> Reply:
        result, changes = self._exchange.modify_order(self._need(token).user_id,
                                                          _body(params, ModifyOrder))
        return Reply(200, msgspec.json.encode(result), changes)

    def _cancel_order(self, token: Token | None, params: dict[str, Any]) -> Reply:
        result, changes = self._exchange.cancel_order(self._need(token).user_id,
                                                          _body(params, CancelOrder))
        return Reply(200, msgspec.json.encode(result), changes)

    def _liquidate(self, token: Token | None, params: dict[str, Any]) -> Reply:
        result, changes = self._exchange.liquidate_position(
            self._need(token).user_id, _body(params, LiquidatePosition))
        return Reply(200, msgspec.json.encode(result), changes)

    def _update_auto_liq(self, token: Token | None, params: dict[str, Any]) -> Reply:
        """``userAccountAutoLiq/update``: the entity back, or ``errorText`` when refused."""
        params = {**params, "id": _int(params, "id")}
        result, changes = self._exchange.update_auto_liq(self._need(token).user_id, params)
        if isinstance(result, str):
            return json_reply({"errorText": result})
        return Reply(200, msgspec.json.encode(result), changes)

    def _start_strategy(self, token: Token | None, params: dict[str, Any]) -> Reply:
        result, changes = self._exchange.start_order_strategy(
            self._need(token).user_id, _body(params, StartOrderStrategy))
        return Reply(200, msgspec.json.encode(result), changes)

    def _interrupt_strategy(self, token: Token | None, params: dict[str, Any]) -> Reply:
        result, changes = self._exchange.interrupt_order_strategy(
            self._need(token).user_id, _body(params, InterruptOrderStrategy))
        return Reply(200, msgspec.json.encode(result), changes)
