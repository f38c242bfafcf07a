"""Tradable instruments of the simulator: product, maturity and contract entities together."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from ..protocol.models import Contract, ContractGroup, ContractMaturity, Currency, Exchange, Product


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable contract with its product and maturity, plus simulation parameters."""

    product: Product
    maturity: ContractMaturity
    contract: Contract
    commission_per_side: float
    """Money charged per contract per fill side, in the product's currency."""
    start_price: float
    """Mid price the market generator starts from."""

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def contract_id(self) -> int:
        return self.contract.id

    @property
    def tick_size(self) -> float:
        return self.product.tick_size

    @property
    def value_per_point(self) -> float:
        return self.product.value_per_point


class InstrumentCatalog:
    """Look-ups by contract id, contract name and product name (names case-insensitive)."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._by_id: dict[int, Instrument] = {}
        self._by_name: dict[str, Instrument] = {}
        self._products: dict[str, Product] = {}
        for inst in instruments:
            self._by_id[inst.contract_id] = inst
            self._by_name[inst.name.upper()] = inst
            self._products[inst.product.name.upper()] = inst.product

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def by_id(self, contract_id: int) -> Instrument | None:
        return self._by_id.get(contract_id)

    def by_name(self, name: str) -> Instrument | None:
        return self._by_name.get(name.upper())

    def resolve(self, symbol: str | int) -> Instrument | None:
        """A contract named or numbered as an md request's ``symbol`` may be; ``@ES`` (a
        continuous symbol) is the catalog's front contract of product ES."""
        if isinstance(symbol, int):
            return self.by_id(symbol)
        if symbol.isdigit():
            return self.by_id(int(symbol))
        if symbol.startswith("@"):
            root = symbol[1:].upper()
            fronts = [inst for inst in self._by_id.values()
                      if inst.product.name.upper() == root and inst.maturity.is_front]
            return fronts[0] if fronts else None
        return self.by_name(symbol)

    def product(self, name: str) -> Product | None:
        return self._products.get(name.upper())

    def suggest(self, text: str, limit: int = 10) -> list[Contract]:
        """Contracts whose name starts with ``text`` (case-insensitive), at most ``limit``."""
        prefix = text.upper()
        return [inst.contract for name, inst in sorted(self._by_name.items())
                if name.startswith(prefix)][:max(limit, 0)]


# ---------------------------------------------------------------------------- default instruments

_MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}
"""Quarterly cycle of the CME equity index futures."""
_ROLL_DAYS_BEFORE_EXPIRY = 8
"""CME rolls equity index futures on the Thursday 8 calendar days before the third-Friday
expiry; from that day on the next quarter is the front month."""
_CHICAGO = ZoneInfo("America/Chicago")
_EXPIRY_TIME = dt.time(8, 30)
"""Final settlement of the equity index futures: the opening of the third Friday (8:30 CT)."""

USD_ID = 1
CME_ID = 1
EQUITY_INDEX_GROUP_ID = 1


@dataclass(frozen=True, slots=True)
class _Spec:
    root: str
    product_id: int
    description: str
    value_per_point: float
    is_micro: bool
    commission_per_side: float
    start_price: float


_SPECS = (
    _Spec("ES", 810, "E-Mini S&P 500", 50.0, False, 2.09, 6850.0),
    _Spec("NQ", 814, "E-Mini NASDAQ 100", 20.0, False, 2.09, 25100.0),
    _Spec("MES", 2186, "Micro E-mini S&P 500", 5.0, True, 0.79, 6850.0),
    _Spec("MNQ", 2188, "Micro E-mini Nasdaq-100", 2.0, True, 0.79, 25100.0),
)
"""Product ids are stable (NQ's 814 is the id in the reference's ``product/find`` example);
commissions are Tradovate-like all-in per-side fees (commission plus exchange and NFA fees)."""
_TICK_SIZE = 0.25


def third_friday(year: int, month: int) -> dt.date:
    """Expiry day of a CME equity index future of that month."""
    first = dt.date(year, month, 1)
    first_friday = 1 + (4 - first.weekday()) % 7
    return dt.date(year, month, first_friday + 14)


def roll_date(year: int, month: int) -> dt.date:
    """First day on which the contract expiring in ``year``/``month`` is no longer front."""
    return third_friday(year, month) - dt.timedelta(days=_ROLL_DAYS_BEFORE_EXPIRY)


def front_expiry(today: dt.date) -> tuple[int, int]:
    """(year, month) of the front quarterly contract on ``today`` (the roll day itself already
    belongs to the next quarter)."""
    for year in (today.year, today.year + 1):
        for month in _MONTH_CODES:
            if today < roll_date(year, month):
                return year, month
    raise AssertionError("unreachable: a quarterly contract always follows")


def contract_name(root: str, year: int, month: int) -> str:
    """``ESZ6``: root, month code and the single-digit year, as Tradovate names contracts."""
    return f"{root}{_MONTH_CODES[month]}{year % 10}"


def front_month(root: str, today: dt.date) -> str:
    """Name of the front contract of ``root`` on ``today``, e.g. ``ESZ6`` on 2026-11-24."""
    return contract_name(root, *front_expiry(today))


def _expiration_timestamp(day: dt.date) -> str:
    moment = dt.datetime.combine(day, _EXPIRY_TIME, tzinfo=_CHICAGO).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _instrument(spec: _Spec, year: int, month: int) -> Instrument:
    yymm = (year % 100) * 100 + month
    product = Product(
        id=spec.product_id, name=spec.root, currency_id=USD_ID, product_type="Futures",
        description=spec.description, exchange_id=CME_ID,
        contract_group_id=EQUITY_INDEX_GROUP_ID, status="Verified",
        value_per_point=spec.value_per_point, price_format_type="Decimal", price_format=-2,
        tick_size=_TICK_SIZE, months="HMUZ", is_secured=False, is_micro=spec.is_micro,
        market_data_source="Auto")
    maturity = ContractMaturity(
        id=spec.product_id * 10_000 + yymm, product_id=spec.product_id,
        expiration_month=year * 100 + month,
        expiration_date=_expiration_timestamp(third_friday(year, month)), is_front=True,
        archived=False)
    contract = Contract(
        id=spec.product_id * 100_000 + yymm, name=contract_name(spec.root, year, month),
        contract_maturity_id=maturity.id, status="DefinitionChecked",
        provider_tick_size=_TICK_SIZE)
    return Instrument(product, maturity, contract, spec.commission_per_side, spec.start_price)


def default_instruments(today: dt.date) -> list[Instrument]:
    """ES, NQ, MES and MNQ front months on ``today``. Ids are stable: the same contract gets
    the same product, maturity and contract ids whatever the date it is built on."""
    year, month = front_expiry(today)
    return [_instrument(spec, year, month) for spec in _SPECS]


def reference_entities() -> list[Currency | Exchange | ContractGroup]:
    """The currency, exchange and contract group the default products point at."""
    return [Currency(id=USD_ID, name="USD", symbol="$"), Exchange(id=CME_ID, name="CME"),
            ContractGroup(id=EQUITY_INDEX_GROUP_ID, name="Equity Index")]


class ContractFacts(Protocol):
    """A contract known from elsewhere with its maturity and product (e.g. the trading side's
    ``ContractSpec``, or a recording's reference notes joined)."""

    @property
    def contract(self) -> Contract: ...

    @property
    def maturity(self) -> ContractMaturity: ...

    @property
    def product(self) -> Product: ...


def catalog_from_contracts(contracts: Iterable[ContractFacts],
                           commission: Callable[[str], float]) -> InstrumentCatalog:
    """The engine's instruments for contracts known from elsewhere (a recording's reference
    notes); ``commission(product)`` is the fee per contract per side."""
    return InstrumentCatalog(
        Instrument(spec.product, spec.maturity, spec.contract, commission(spec.product.name),
                   0.0) for spec in contracts)

