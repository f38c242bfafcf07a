"""DBN instruments → Tradovate contracts.

A DBN file names its instruments by numeric ``instrument_id``; its metadata (or, in live
captures, symbol-mapping records) maps them to symbols of the file's symbology: CME raw
symbols (``ESZ6``), which are Tradovate's contract names too, or continuous/parent symbols
(``ES.c.0``, ``ES.FUT``) that name no single contract. :class:`SymbolMap` resolves a DBN
symbol to a Tradovate contract name (a ``--symbol-map`` file may rename any symbol) and
builds the contract, maturity and product entities a recording's reference note carries, from
a table of CME products (tick size, dollar value of a point) that the same file may extend.

An instrument that resolves to no contract or no known product is an error, never a guess:
a wrong tick size or point value would make every P&L of the backtest wrong.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import msgspec

from ..errors import ConfigError
from ..protocol.models import Contract, ContractMaturity, Product

MONTH_CODES = "FGHJKMNQUVXZ"
"""CME month codes, January first."""
_NAME = re.compile(r"^([A-Z0-9]{1,4}?)([FGHJKMNQUVXZ])(\d{1,2})$")
_EXPIRY_TIME = "T13:30:00.000Z"
"""Nominal expiry stamp (the CME equity index final settlement time, UTC in winter); the
replay uses the maturity only to name and order contracts."""


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """What a backtest needs of a product: its tick and the money a point is worth."""

    root: str
    product_id: int
    tick_size: float
    value_per_point: float
    description: str = ""


PRODUCTS: dict[str, ProductSpec] = {spec.root: spec for spec in (
    ProductSpec("ES", 810, 0.25, 50.0, "E-Mini S&P 500"),
    ProductSpec("NQ", 814, 0.25, 20.0, "E-Mini NASDAQ 100"),
    ProductSpec("MES", 2186, 0.25, 5.0, "Micro E-mini S&P 500"),
    ProductSpec("MNQ", 2188, 0.25, 2.0, "Micro E-mini Nasdaq-100"),
    ProductSpec("RTY", 3001, 0.1, 50.0, "E-mini Russell 2000"),
    ProductSpec("M2K", 3002, 0.1, 5.0, "Micro E-mini Russell 2000"),
    ProductSpec("YM", 3003, 1.0, 5.0, "E-mini Dow"),
    ProductSpec("MYM", 3004, 1.0, 0.5, "Micro E-mini Dow"),
    ProductSpec("CL", 3005, 0.01, 1000.0, "Crude Oil"),
    ProductSpec("MCL", 3006, 0.01, 100.0, "Micro Crude Oil"),
    ProductSpec("GC", 3007, 0.1, 100.0, "Gold"),
    ProductSpec("MGC", 3008, 0.1, 10.0, "Micro Gold"),
)}
"""Built-in CME products (ES/NQ/MES/MNQ with the simulator's product ids)."""


class _ProductEntry(msgspec.Struct, forbid_unknown_fields=True):
    tick_size: float
    value_per_point: float
    product_id: int | None = None
    description: str = ""


class _SymbolMapFile(msgspec.Struct, forbid_unknown_fields=True):
    symbols: dict[str, str] = msgspec.field(default_factory=dict)
    products: dict[str, _ProductEntry] = msgspec.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContractEntities:
    """A Tradovate contract with its maturity and product, as reference notes carry them."""

    contract: Contract
    maturity: ContractMaturity
    product: Product

    @property
    def tick_size(self) -> float:
        return self.product.tick_size


def split_name(name: str) -> tuple[str, int, int]:
    """``ESZ6`` → (``ES``, 12, 6); ``ESZ26`` → (``ES``, 12, 26). :class:`ValueError` for
    anything else (spreads, options, continuous symbols)."""
    match = _NAME.match(name.upper())
    if match is None:
        raise ValueError(f"{name!r} is not an outright futures contract name (ROOT, month "
                         f"code, year: ESZ6)")
    root, code, year = match.groups()
    return root, MONTH_CODES.index(code) + 1, int(year)


def contract_year(year_digits: int, reference: dt.date) -> int:
    """The calendar year of a contract named with one or two year digits, for data starting
    on ``reference``: the first such year not more than a year before it."""
    span = 10 if year_digits < 10 else 100
    year = reference.year - reference.year % span + year_digits
    while year < reference.year - 1:
        year += span
    return year


class SymbolMap:
    """DBN symbols → Tradovate contracts, with the built-in products and those of an optional
    symbol-map TOML::

        [symbols]            # DBN symbol (or instrument id) = Tradovate contract name
        "ES.c.0" = "ESZ6"
        [products.ZN]        # products beyond the built-in table
        tick_size = 0.015625
        value_per_point = 1000.0
    """

    def __init__(self, renames: dict[str, str] | None = None,
                 products: dict[str, ProductSpec] | None = None) -> None:
        self.renames = dict(renames or {})
        self.products = {**PRODUCTS, **(products or {})}

    @classmethod
    def load(cls, path: str | Path | None) -> SymbolMap:
        """The map of the TOML file at ``path`` (``None``: built-ins only); a
        :class:`ConfigError` naming the file and key on a bad file."""
        if path is None:
            return cls()
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
            parsed = msgspec.convert(raw, _SymbolMapFile)
        except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
            raise ConfigError(f"symbol map {path}: {exc}") from None
        products: dict[str, ProductSpec] = {}
        for number, (root, entry) in enumerate(sorted(parsed.products.items()), start=1):
            if not (entry.tick_size > 0 and entry.value_per_point > 0):
                raise ConfigError(f"symbol map {path}: products.{root}: tick_size and "
                                  f"value_per_point must be positive")
            known = PRODUCTS.get(root.upper())
            product_id = entry.product_id or (known.product_id if known else 9000 + number)
            products[root.upper()] = ProductSpec(root.upper(), product_id, entry.tick_size,
                                                 entry.value_per_point, entry.description)
        return cls({k: v.upper() for k, v in parsed.symbols.items()}, products)

    def contract_name(self, symbol: str) -> str:
        """The Tradovate contract name of a DBN symbol (renamed, else the symbol itself)."""
        return self.renames.get(symbol, symbol).upper()

    def entities(self, symbol: str, reference: dt.date) -> ContractEntities:
        """The contract a DBN ``symbol`` maps to, for data starting on ``reference``;
        :class:`ValueError` (with the fix) when it names no outright contract of a known
        product."""
        name = self.contract_name(symbol)
        try:
            root, month, digits = split_name(name)
        except ValueError as exc:
            raise ValueError(f"symbol {symbol!r}: {exc}; map it to a contract with "
                             f"--symbol-map ([symbols] \"{symbol}\" = \"ESZ6\")") from None
        spec = self.products.get(root)
        if spec is None:
            raise ValueError(f"symbol {symbol!r}: product {root} is not known; give its "
                             f"tick_size and value_per_point with --symbol-map "
                             f"([products.{root}])")
        year = contract_year(digits, reference)
        yymm = (year % 100) * 100 + month
        product = Product(
            id=spec.product_id, name=spec.root, currency_id=1, product_type="Futures",
            description=spec.description or spec.root, exchange_id=1, contract_group_id=1,
            status="Verified", value_per_point=spec.value_per_point,
            price_format_type="Decimal", price_format=-2, tick_size=spec.tick_size,
            months=MONTH_CODES, is_secured=False, is_micro=False,
            market_data_source="Auto")
        maturity = ContractMaturity(
            id=spec.product_id * 10_000 + yymm, product_id=spec.product_id,
            expiration_month=year * 100 + month,
            expiration_date=f"{year:04d}-{month:02d}-15{_EXPIRY_TIME}", is_front=True,
            archived=False)
        contract = Contract(
            id=spec.product_id * 100_000 + yymm, name=f"{root}{MONTH_CODES[month - 1]}"
            f"{year % 10}", contract_maturity_id=maturity.id, status="DefinitionChecked",
            provider_tick_size=spec.tick_size)
        return ContractEntities(contract, maturity, product)
