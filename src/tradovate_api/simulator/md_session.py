"""The market-data websocket: quote/DOM/histogram subscriptions and charts (reference §4).

``symbol`` may be a contract name, a contract id (number or digits) or ``@ROOT``. A subscribe
answers ``{"mode":"RealTime","subscriptionId":N}`` and then pushes the current full snapshot;
an unknown symbol answers ``mode: "None"`` with ``errorText``/``errorCode: "UnknownSymbol"``.
One subscription of each kind per contract (a repeat just re-sends the snapshot). Unsubscribes
and ``md/cancelChart`` answer a ``MarketDataSubscriptionResult`` too (``mode`` is required,
§4.1): ``mode: "None"``, with ``errorText``/``errorCode`` when there was nothing to end.
``md/getChart`` answers both ids first, then the history (under the realtime id by default,
see :mod:`.charts`) ending in ``eoh``; ``md/cancelChart`` accepts either id. Outside trading
hours subscriptions still answer with the last snapshot. Only ``md/*`` endpoints are served
here; anything else is a 404.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ..protocol import ClientRequest
from ..protocol.models import (
    CancelChart,
    GetChart,
    MarketDataSubscriptionResult,
    SymbolRequest,
)
from .charts import ChartSubscriptions
from .md_hub import chart_event, dom_event, histogram_event, quote_event
from .outgoing import error_body
from .session import SocketSession, log, request_params

if TYPE_CHECKING:
    import asyncio

    from .session_context import ServerContext

_encoder = msgspec.json.Encoder()
_CHART_PACKETS_PER_EVENT = 20


class MarketDataSession(SocketSession):
    """``/v1/websocket`` on the md port."""

    kind = "md"

    def __init__(self, ctx: ServerContext, ws: web.WebSocketResponse,
                 transport: asyncio.Transport | None, peer: str,
                 rng: random.Random | None) -> None:
        super().__init__(ctx, ws, transport, peer)
        self.charts = ChartSubscriptions(ctx.generator, rng=rng,
                                         history_id=ctx.config.chart_history_id)
        self._routes: dict[str, Callable[[ClientRequest, dict[str, Any]], None]] = {
            "md/subscribequote": lambda r, p: self._subscribe("quote", r, p),
            "md/subscribedom": lambda r, p: self._subscribe("dom", r, p),
            "md/subscribehistogram": lambda r, p: self._subscribe("histogram", r, p),
            "md/unsubscribequote": lambda r, p: self._unsubscribe("quote", r, p),
            "md/unsubscribedom": lambda r, p: self._unsubscribe("dom", r, p),
            "md/unsubscribehistogram": lambda r, p: self._unsubscribe("histogram", r, p),
            "md/getchart": self._get_chart,
            "md/cancelchart": self._cancel_chart,
        }

    def on_closed(self) -> None:
        self.ctx.hub.drop(self)

    def handle(self, request: ClientRequest) -> None:
        route = self._routes.get(request.endpoint)
        if route is None:
            log.info("%r: unknown endpoint %s", self, request.raw_endpoint)
            self.respond(404, request.request_id, error_body(f"Not found: {request.endpoint}"))
            return
        try:
            params = request_params(request)
        except ValueError as exc:
            self._bad(request, str(exc))
            return
        route(request, params)

    def _bad(self, request: ClientRequest, text: str) -> None:
        log.info("%r: %s: %s", self, request.endpoint, text)
        self.respond(400, request.request_id, error_body(f"Bad request: {text}"))

    def _decode(self, request: ClientRequest, params: dict[str, Any], model: type[Any]) -> Any:
        try:
            return msgspec.convert(params, model, strict=False)
        except msgspec.ValidationError as exc:
            self._bad(request, str(exc))
            return None

    def _subscribe(self, feed: str, request: ClientRequest, params: dict[str, Any]) -> None:
        body = self._decode(request, params, SymbolRequest)
        if body is None:
            return
        inst = self.ctx.catalog.resolve(body.symbol)
        if inst is None:
            result = MarketDataSubscriptionResult(
                mode="None", error_text=f"Unknown symbol: {body.symbol}",
                error_code="UnknownSymbol")
            self.respond(200, request.request_id, _encoder.encode(result))
            return
        generator = self.ctx.generator
        self.ctx.hub.subscribe(feed, inst.contract_id, self)
        result = MarketDataSubscriptionResult(mode="RealTime",
                                              subscription_id=generator.next_chart_id())
        self.respond(200, request.request_id, _encoder.encode(result))
        cid = inst.contract_id
        if feed == "quote":
            self.send(quote_event(generator.quote(cid)))
        elif feed == "dom":
            self.send(dom_event(generator.dom(cid)))
        else:
            self.send(histogram_event(generator.histogram(cid)))

    def _unsubscribe(self, feed: str, request: ClientRequest, params: dict[str, Any]) -> None:
        body = self._decode(request, params, SymbolRequest)
        if body is None:
            return
        inst = self.ctx.catalog.resolve(body.symbol)
        if inst is None:
            result = MarketDataSubscriptionResult(
                mode="None", error_text=f"Unknown symbol: {body.symbol}",
                error_code="UnknownSymbol")
        else:
            self.ctx.hub.unsubscribe(feed, inst.contract_id, self)
            result = MarketDataSubscriptionResult(mode="None")
        self.respond(200, request.request_id, _encoder.encode(result))

    def _get_chart(self, request: ClientRequest, params: dict[str, Any]) -> None:
        body = self._decode(request, params, GetChart)
        if body is None:
            return
        result, packets = self.charts.subscribe(self.ctx.catalog.resolve(body.symbol), body)
        self.respond(200, request.request_id, _encoder.encode(result))
        self.break_frame()
        for start in range(0, len(packets), _CHART_PACKETS_PER_EVENT):
            self.send(chart_event(packets[start:start + _CHART_PACKETS_PER_EVENT]))
        self.ctx.hub.charts_changed(self)

    def _cancel_chart(self, request: ClientRequest, params: dict[str, Any]) -> None:
        body = self._decode(request, params, CancelChart)
        if body is None:
            return
        if self.charts.cancel(body.subscription_id):
            result = MarketDataSubscriptionResult(mode="None")
        else:
            result = MarketDataSubscriptionResult(
                mode="None", error_text=f"Unknown chart subscription {body.subscription_id}",
                error_code="UnknownReason")
        self.respond(200, request.request_id, _encoder.encode(result))
        self.ctx.hub.charts_changed(self)
