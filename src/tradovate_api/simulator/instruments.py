"""Tradable instruments of the simulator: product, maturity and contract entities together."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..protocol.models import Contract, ContractMaturity, Product


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
        """A contract named or numbered as an md request's ``symbol`` may be."""
        if isinstance(symbol, int):
            return self.by_id(symbol)
        if symbol.isdigit():
            return self.by_id(int(symbol))
        return self.by_name(symbol)

    def product(self, name: str) -> Product | None:
        return self._products.get(name.upper())

    def suggest(self, text: str, limit: int = 10) -> list[Contract]:
        """Contracts whose name starts with ``text`` (case-insensitive), at most ``limit``."""
        prefix = text.upper()
        return [inst.contract for name, inst in sorted(self._by_name.items())
                if name.startswith(prefix)][:max(limit, 0)]
