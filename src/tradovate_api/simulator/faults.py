"""Fault injection: the ways Tradovate misbehaves, named, seeded and switchable while the
simulator runs (``sim.faults``).

Every fault is in :data:`~tradovate_api.simulator.fault_catalog.FAULTS`. ``arm(name,
probability=, count=, endpoints=, **params)`` arms one, ``disarm(name)`` stops it, and
``fired[name]`` counts how often each actually happened (for a switch: how often it was
switched on). Each arming draws from its own ``random.Random`` seeded from the simulator seed,
the fault seed, the fault's name and how often it was armed before, so a run with the same
seeds makes the same decisions in the same order.

The older switches stay: ``rate_limited``, ``response_delay`` and ``silent`` are properties
over the ``rate_limit``, ``response_delay`` and ``silent`` faults; ``penalize``,
``reject_orders`` and the actions (drop, close frame, shutdown, maintenance, expire tokens,
restart, roll
the trade date) act at once through the :class:`FaultTarget` the simulator provides. ``kind``
picks the sockets an action hits: ``"trading"``, ``"md"`` or ``"all"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..protocol import encode_close
from .fault_catalog import PENALTY_ENDPOINTS, FaultSpec, fault_params, spec_of
from .outgoing import shutdown_frame

SocketKind = Literal["trading", "md", "all"]
"""Which sockets an action hits."""

__all__ = ["PENALTY_ENDPOINTS", "ArmedFault", "FaultTarget", "Faults", "Penalty", "SocketKind"]


class FaultTarget(Protocol):
    """What the simulator lets the fault switches do."""

    async def close_connections(self, kind: SocketKind, frames: list[bytes], *,
                                abort: bool) -> int: ...

    def expire_tokens(self) -> int: ...

    async def restart(self) -> None: ...

    async def maintenance(self, seconds: float) -> int: ...

    def roll_trade_date(self) -> None: ...


@dataclass(slots=True)
class _Ticket:
    issued: float
    wait: float
    captcha: bool


@dataclass(slots=True)
class Penalty:
    """Armed penalty: the next ``remaining`` requests (``None`` = until cleared) to one of
    ``endpoints`` get a ``p-ticket`` instead of being handled."""

    seconds: float
    captcha: bool
    endpoints: frozenset[str]
    remaining: int | None


@dataclass(slots=True, eq=False)
class ArmedFault:
    """One armed fault: its settings, what is left of its count and its random source."""

    spec: FaultSpec
    probability: float
    remaining: int | None
    endpoints: frozenset[str] | None
    params: dict[str, Any]
    rng: random.Random
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name


class Faults:
    """The fault switches of one simulator (``sim.faults``)."""

    def __init__(self, target: FaultTarget, clock: Callable[[], float], *, seed: int = 1,
                 fault_seed: int = 0) -> None:
        self._target = target
        self._clock = clock
        self._seed = seed
        self.fault_seed = fault_seed
        """Second seed of every fault's random source (the first is the simulator's)."""
        self._armed: dict[str, ArmedFault] = {}
        self._generation: Counter[str] = Counter()
        self.fired: Counter[str] = Counter()
        """How many times each fault actually happened (switches: times switched on)."""
        self.penalty: Penalty | None = None
        self._tickets: dict[str, _Ticket] = {}

    # ----------------------------------------------------------------- arming

    def arm(self, name: str, *, probability: float = 1.0, count: int | None = None,
            endpoints: Iterable[str] | None = None, **params: Any) -> ArmedFault:
        """Arm the fault ``name`` (re-arming replaces the earlier settings).

        ``probability``: chance per request, event or period; ``count``: most times it fires
        (``None``: until disarmed); ``endpoints``: the requests a request fault applies to
        (default: the catalog's). Unknown names and parameters raise ``ValueError``. An action
        armed with ``every=SECONDS`` repeats on the running event loop.
        """
        spec = spec_of(name)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"{name}: probability must be between 0 and 1")
        if count is not None and count < 1:
            raise ValueError(f"{name}: count must be at least 1")
        if endpoints is not None and spec.kind != "request":
            raise ValueError(f"{name}: only request faults take endpoints")
        if spec.kind == "switch" and (probability != 1.0 or count is not None):
            raise ValueError(f"{name}: a switch is on or off (no probability or count)")
        values = fault_params(spec, params)
        chosen = (frozenset(e.lower().strip("/") for e in endpoints) if endpoints is not None
                  else spec.endpoints)
        if spec.name == "penalty" and probability != 1.0:
            raise ValueError("penalty: a penalty has no probability")
        self.disarm(name)
        if spec.name == "penalty":
            self.penalize(values["seconds"], captcha=values["captcha"],
                          endpoints=chosen or PENALTY_ENDPOINTS, count=count)
        self._generation[name] += 1
        rng = random.Random(f"{self._seed}:{self.fault_seed}:{name}:{self._generation[name]}")
        armed = ArmedFault(spec, probability, count, chosen, values, rng)
        self._armed[name] = armed
        if spec.kind == "switch":
            self.fired[name] += 1
        elif spec.kind == "action" and values.get("every"):
            armed.task = asyncio.get_running_loop().create_task(self._repeat(armed))
        return armed

    def disarm(self, name: str) -> bool:
        """Stop the fault ``name``; whether it was armed."""
        spec_of(name)
        armed = self._armed.pop(name, None)
        if name == "penalty":
            self.penalty = None
        if armed is None:
            return False
        task = armed.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        return True

    def disarm_all(self) -> None:
        for name in list(self._armed):
            self.disarm(name)
        self.penalty = None

    @property
    def armed(self) -> Mapping[str, ArmedFault]:
        """The armed faults by name (read-only view)."""
        return dict(self._armed)

    def is_armed(self, name: str) -> bool:
        return name in self._armed or (name == "penalty" and self.penalty is not None)

    def any_armed(self, names: Iterable[str]) -> bool:
        return any(name in self._armed for name in names)

    def _take(self, armed: ArmedFault, endpoint: str | None) -> bool:
        """Draw: whether the fault applies now; uses up one of its count."""
        if armed.endpoints is not None and (endpoint is None
                                            or endpoint not in armed.endpoints):
            return False
        if armed.probability < 1.0 and armed.rng.random() >= armed.probability:
            return False
        if armed.remaining is not None:
            armed.remaining -= 1
            if armed.remaining <= 0 and self._armed.get(armed.name) is armed:
                self.disarm(armed.name)
        return True

    def fire(self, name: str, endpoint: str | None = None) -> ArmedFault | None:
        """The armed fault if it fires for this request (``endpoint``) or event, else
        ``None``; a firing is counted in :attr:`fired`."""
        armed = self._armed.get(name)
        if armed is None or not self._take(armed, endpoint):
            return None
        self.fired[name] += 1
        return armed

    async def stop(self) -> None:
        """Cancel the repeating actions (the simulator is stopping)."""
        tasks = [a.task for a in self._armed.values() if a.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _repeat(self, armed: ArmedFault) -> None:
        every = float(armed.params["every"])
        while self._armed.get(armed.name) is armed:
            await asyncio.sleep(every)
            if not self._take(armed, None):
                continue
            await self._act(armed.name, armed.params)

    async def _act(self, name: str, params: dict[str, Any]) -> None:
        kind: SocketKind = params.get("kind", "all")
        if name == "drop":
            await self.drop_connections(kind)
        elif name == "close":
            await self.send_close(params["code"], params["reason"], kind)
        elif name == "shutdown":
            await self.shutdown(params["reason_code"], params["reason"] or None, kind)
        elif name == "expire_tokens":
            self.expire_tokens()
        elif name == "restart":
            await self.restart()
        elif name == "maintenance":
            await self.maintenance(params["seconds"])
        elif name == "roll_trade_date":
            self.roll_trade_date()

    # ----------------------------------------------------------------- switches

    def _switch(self, name: str, on: bool, **params: Any) -> None:
        current = self._armed.get(name)
        if not on:
            self.disarm(name)
        elif current is None or any(current.params.get(k) != v for k, v in params.items()):
            self.arm(name, **params)

    @property
    def rate_limited(self) -> bool:
        """Every REST request gets HTTP 429 with an empty body, every websocket request
        ``{"s":429,"i":id}`` (authorize excepted, so a socket can still be opened)."""
        return "rate_limit" in self._armed

    @rate_limited.setter
    def rate_limited(self, on: bool) -> None:
        self._switch("rate_limit", on)

    @property
    def response_delay(self) -> float:
        """Seconds every response (REST and websocket) is held back (0: none)."""
        armed = self._armed.get("response_delay")
        return 0.0 if armed is None else float(armed.params["seconds"])

    @response_delay.setter
    def response_delay(self, seconds: float) -> None:
        if seconds > 0:
            self._switch("response_delay", True, seconds=float(seconds))
        else:
            self.disarm("response_delay")

    @property
    def silent(self) -> bool:
        """Sockets send nothing at all (no responses, events or heartbeats) while set."""
        return "silent" in self._armed

    @silent.setter
    def silent(self, on: bool) -> None:
        self._switch("silent", on)

    # ----------------------------------------------------------------- penalty tickets

    def penalize(self, seconds: float = 5.0, *, captcha: bool = False,
                 endpoints: Iterable[str] = PENALTY_ENDPOINTS, count: int | None = 1) -> None:
        """Answer the next ``count`` requests to ``endpoints`` with a penalty ticket."""
        self.penalty = Penalty(seconds, captcha, frozenset(e.lower() for e in endpoints), count)

    def check_penalty(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """``None`` if the request may proceed, else the penalty body to answer with.

        A request carrying a ticket whose ``p-time`` has passed proceeds (the ticket is used
        up); a captcha ticket or one resent too early earns a new penalty.
        """
        ticket_value = params.get("p-ticket")
        if isinstance(ticket_value, str) and ticket_value in self._tickets:
            ticket = self._tickets.pop(ticket_value)
            if not ticket.captcha and self._clock() >= ticket.issued + ticket.wait:
                return None
            return self._issue(ticket.wait, ticket.captcha)
        penalty = self.penalty
        if penalty is None or endpoint not in penalty.endpoints:
            return None
        if penalty.remaining is not None:
            penalty.remaining -= 1
            if penalty.remaining <= 0:
                self.penalty = None
                self._armed.pop("penalty", None)
        self.fired["penalty"] += 1
        return self._issue(penalty.seconds, penalty.captcha)

    def _issue(self, seconds: float, captcha: bool) -> dict[str, Any]:
        value = secrets.token_urlsafe(24)
        self._tickets[value] = _Ticket(self._clock(), seconds, captcha)
        body: dict[str, Any] = {"p-ticket": value, "p-time": seconds}
        if captcha:
            body["p-captcha"] = True
        return body

    # ----------------------------------------------------------------- order rejections

    def reject_orders(self, count: int = 1, reason: str = "UnknownReason", *,
                      after_accept: bool = False) -> None:
        """The next ``count`` valid order requests are rejected (``reject_orders`` fault);
        added to an earlier call's count when the reason and kind are the same."""
        current = self._armed.get("reject_orders")
        if (current is not None and current.remaining is not None
                and current.probability == 1.0
                and current.params["reason"] == reason
                and current.params["after_accept"] == after_accept):
            current.remaining += count
            return
        self.arm("reject_orders", count=count, reason=reason, after_accept=after_accept)

    def order_rejection(self, endpoint: str, account: str | None = None
                        ) -> tuple[str, str, bool] | None:
        """For the engine, once a request to ``endpoint`` for ``account`` (its name) passed
        validation: ``(reason, text, after_accept)`` when the ``reject_orders`` fault fires.
        A fault limited to some ``accounts`` neither fires nor counts for the others."""
        current = self._armed.get("reject_orders")
        if current is not None and current.params["accounts"] and \
                account not in current.params["accounts"]:
            return None
        armed = self.fire("reject_orders", endpoint)
        if armed is None:
            return None
        reason = str(armed.params["reason"])
        text = str(armed.params["text"]) or f"Order rejected by simulator fault ({reason})"
        return reason, text, bool(armed.params["after_accept"])

    # ----------------------------------------------------------------- actions

    async def drop_connections(self, kind: SocketKind = "all") -> int:
        """Cut the TCP connections without a close frame or handshake."""
        self.fired["drop"] += 1
        return await self._target.close_connections(kind, [], abort=True)

    async def send_close(self, code: int = 3000, reason: str = "Go away!",
                         kind: SocketKind = "all") -> int:
        """Send ``c[code,"reason"]`` and close."""
        self.fired["close"] += 1
        return await self._target.close_connections(kind, [encode_close(code, reason)],
                                                    abort=False)

    async def shutdown(self, reason_code: str = "Maintenance", reason: str | None = None,
                       kind: SocketKind = "all") -> int:
        """Send a ``shutdown`` event (``Maintenance``, ``ConnectionQuotaReached``,
        ``IPQuotaReached``), then close."""
        self.fired["shutdown"] += 1
        return await self._target.close_connections(
            kind, [shutdown_frame(reason_code, reason)], abort=False)

    def expire_tokens(self) -> int:
        """Every token issued so far expires now (authorized sockets stay open)."""
        self.fired["expire_tokens"] += 1
        return self._target.expire_tokens()

    async def maintenance(self, seconds: float = 10.0) -> int:
        """A maintenance window from now for ``seconds`` (see ``Simulator.maintenance``);
        returns the number of sockets closed."""
        self.fired["maintenance"] += 1
        return await self._target.maintenance(seconds)

    async def restart(self) -> None:
        """Close everything and listen again on the same ports, keeping all state."""
        self.fired["restart"] += 1
        await self._target.restart()

    def roll_trade_date(self) -> None:
        """Start the next trade date now (what happens at 17:00 CT by the clock)."""
        self.fired["roll_trade_date"] += 1
        self._target.roll_trade_date()
