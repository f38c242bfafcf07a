"""The contracts a run trades: symbol ↔ contract id ↔ product (value per point, tick size).

Resolved once at start over REST (``contract/find`` → ``contractMaturity/item`` →
``product/item``), so the hot path only does dictionary look-ups. The same entities are handed
to the account store (:meth:`ContractBook.reference_entities`) for P&L in money.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import msgspec

from ..errors import TradovateError
from ..protocol.models import Contract, ContractMaturity, Product
from ..readonly import SetOnce


class UnknownContract(TradovateError, KeyError):
    """A symbol or contract id that is not in the contract book."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown contract"


class ContractSpec(msgspec.Struct, frozen=True, gc=False):
    """One tradable contract and the product facts orders and P&L need."""

    symbol: str
    contract_id: int
    contract: Contract
    maturity: ContractMaturity
    product: Product

    @property
    def value_per_point(self) -> float:
        return self.product.value_per_point

    @property
    def tick_size(self) -> float:
        return self.product.tick_size

    @property
    def product_name(self) -> str:
        return self.product.name

    def round_price(self, price: float) -> float:
        """``price`` on the tick grid (nearest tick)."""
        tick = self.product.tick_size
        return round(round(price / tick) * tick, 10)


class Requester(Protocol):
    """What :meth:`ContractBook.resolve` needs: :class:`~tradovate_api.client.RestClient`."""

    async def request(self, endpoint: str, body: Any = None, result_type: Any = None, *,
                      query: Any = None, method: str | None = None) -> Any: ...


class ContractBook(SetOnce):
    """Contracts by symbol and by id. Immutable after construction: its tables are read-only
    mappings (the book is shared by the order manager and the strategy's context)."""

    __slots__ = ("_by_id", "_by_symbol")

    def __init__(self, specs: Iterable[ContractSpec] = ()) -> None:
        by_symbol: dict[str, ContractSpec] = {}
        by_id: dict[int, ContractSpec] = {}
        for spec in specs:
            if spec.symbol in by_symbol:
                raise ValueError(f"contract {spec.symbol} listed twice")
            by_symbol[spec.symbol] = spec
            by_id[spec.contract_id] = spec
        self._by_symbol: Mapping[str, ContractSpec] = MappingProxyType(by_symbol)
        self._by_id: Mapping[int, ContractSpec] = MappingProxyType(by_id)

    @classmethod
    def from_entities(cls, contracts: Iterable[Contract],
                      maturities: Iterable[ContractMaturity],
                      products: Iterable[Product]) -> ContractBook:
        """A book of ``contracts`` whose maturity and product are among the others (for
        replays and tests that already hold the reference entities)."""
        by_maturity = {m.id: m for m in maturities}
        by_product = {p.id: p for p in products}
        specs = []
        for contract in contracts:
            maturity = by_maturity.get(contract.contract_maturity_id)
            if maturity is None:
                raise UnknownContract(f"{contract.name}: contract maturity "
                                      f"{contract.contract_maturity_id} not given")
            product = by_product.get(maturity.product_id)
            if product is None:
                raise UnknownContract(f"{contract.name}: product {maturity.product_id} "
                                      f"not given")
            specs.append(ContractSpec(contract.name, contract.id, contract, maturity, product))
        return cls(specs)

    @classmethod
    async def resolve(cls, rest: Requester, symbols: Iterable[str]) -> ContractBook:
        """Look every symbol up on the server; raises :class:`UnknownContract` naming the
        first symbol the server does not know (or a request's own error)."""
        specs = []
        for symbol in symbols:
            try:
                contract = await rest.request("contract/find", None, Contract,
                                              query={"name": symbol})
            except TradovateError as exc:
                if "not found" in str(exc).lower():
                    raise UnknownContract(f"contract {symbol!r} not found on the server") \
                        from None
                raise
            if contract is None:
                raise UnknownContract(f"contract {symbol!r} not found on the server")
            maturity = await rest.request("contractMaturity/item", None, ContractMaturity,
                                          query={"id": contract.contract_maturity_id})
            product = await rest.request("product/item", None, Product,
                                         query={"id": maturity.product_id})
            specs.append(ContractSpec(contract.name, contract.id, contract, maturity, product))
        return cls(specs)

    # ------------------------------------------------------------------ look-ups

    def spec(self, key: str | int) -> ContractSpec:
        """The contract named ``key`` (a symbol) or numbered ``key`` (a contract id)."""
        found = self._by_id.get(key) if isinstance(key, int) else self._by_symbol.get(key)
        if found is None:
            raise UnknownContract(f"contract {key!r} is not in the contract book "
                                  f"(known: {', '.join(self._by_symbol) or 'none'})")
        return found

    def get(self, key: str | int) -> ContractSpec | None:
        return self._by_id.get(key) if isinstance(key, int) else self._by_symbol.get(key)

    def contract_id(self, symbol: str) -> int:
        return self.spec(symbol).contract_id

    def symbol(self, contract_id: int) -> str:
        return self.spec(contract_id).symbol

    def value_per_point(self, key: str | int) -> float:
        return self.spec(key).value_per_point

    def tick_size(self, key: str | int) -> float:
        return self.spec(key).tick_size

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols in the order they were given."""
        return tuple(self._by_symbol)

    @property
    def contract_ids(self) -> tuple[int, ...]:
        return tuple(self._by_id)

    def __contains__(self, key: object) -> bool:
        return key in self._by_id or key in self._by_symbol

    def __iter__(self) -> Iterator[ContractSpec]:
        return iter(self._by_symbol.values())

    def __len__(self) -> int:
        return len(self._by_symbol)

    def reference_entities(self) -> list[Product | Contract | ContractMaturity]:
        """Products, maturities and contracts, for ``AccountWriter.add_reference``."""
        entities: list[Product | Contract | ContractMaturity] = []
        for spec in self._by_symbol.values():
            entities.extend((spec.product, spec.maturity, spec.contract))
        return entities
