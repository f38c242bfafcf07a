"""Default instruments: CME quarterly front months, roll dates, entity fields, catalog look-ups."""

from __future__ import annotations

import calendar
import datetime as dt

import msgspec
import pytest

from tradovate_api.protocol.models import Contract, ContractMaturity, Product
from tradovate_api.simulator.instruments import (
    InstrumentCatalog,
    default_instruments,
    front_month,
    reference_entities,
)

CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}


def third_friday(year: int, month: int) -> dt.date:
    fridays = [week[calendar.FRIDAY] for week in calendar.monthcalendar(year, month)
               if week[calendar.FRIDAY]]
    return dt.date(year, month, fridays[2])


def expected_front(day: dt.date) -> str:
    """Independent statement of the rule: the nearest quarter whose roll day (8 days before
    its third Friday) is still ahead."""
    quarters = [(y, m) for y in (day.year, day.year + 1) for m in (3, 6, 9, 12)]
    for year, month in quarters:
        if day < third_friday(year, month) - dt.timedelta(days=8):
            return f"{CODES[month]}{year % 10}"
    raise AssertionError


def test_reference_date_gives_december_2026() -> None:
    day = dt.date(2026, 11, 24)
    assert [i.name for i in default_instruments(day)] == ["ESZ6", "NQZ6", "MESZ6", "MNQZ6"]
    assert front_month("ES", day) == "ESZ6"
    assert front_month("NQ", day) == "NQZ6"


@pytest.mark.parametrize(("last_old", "roll_day", "old", "new"), [
    (dt.date(2026, 3, 11), dt.date(2026, 3, 12), "ESH6", "ESM6"),
    (dt.date(2026, 6, 10), dt.date(2026, 6, 11), "ESM6", "ESU6"),
    (dt.date(2026, 9, 9), dt.date(2026, 9, 10), "ESU6", "ESZ6"),
    (dt.date(2026, 12, 9), dt.date(2026, 12, 10), "ESZ6", "ESH7"),
])
def test_roll_day_boundaries_2026(last_old: dt.date, roll_day: dt.date, old: str,
                                  new: str) -> None:
    # CME's 2026 equity index roll Thursdays: the day before still trades the old front.
    assert roll_day.weekday() == calendar.THURSDAY
    assert front_month("ES", last_old) == old
    assert front_month("ES", roll_day) == new


def test_every_day_of_a_year_and_a_half_follows_the_roll_rule() -> None:
    day, end = dt.date(2026, 1, 1), dt.date(2027, 7, 1)
    changes = []
    previous = None
    while day < end:
        name = front_month("MNQ", day)
        assert name == "MNQ" + expected_front(day)
        if name != previous:
            changes.append((day, name))
            previous = name
        day += dt.timedelta(days=1)
    assert changes == [
        (dt.date(2026, 1, 1), "MNQH6"), (dt.date(2026, 3, 12), "MNQM6"),
        (dt.date(2026, 6, 11), "MNQU6"), (dt.date(2026, 9, 10), "MNQZ6"),
        (dt.date(2026, 12, 10), "MNQH7"), (dt.date(2027, 3, 11), "MNQM7"),
        (dt.date(2027, 6, 10), "MNQU7"),
    ]


def test_decade_wrap_uses_single_digit_year() -> None:
    assert front_month("ES", dt.date(2029, 12, 20)) == "ESH0"


def test_contract_specifications() -> None:
    by_root = {i.product.name: i for i in default_instruments(dt.date(2026, 11, 24))}
    assert {r: (i.tick_size, i.value_per_point) for r, i in by_root.items()} == {
        "ES": (0.25, 50.0), "NQ": (0.25, 20.0), "MES": (0.25, 5.0), "MNQ": (0.25, 2.0)}
    assert by_root["NQ"].product.id == 814
    assert by_root["MES"].product.is_micro
    assert not by_root["ES"].product.is_micro
    for inst in by_root.values():
        assert inst.maturity.expiration_month == 202612
        assert inst.maturity.expiration_date == "2026-12-18T14:30:00.000Z"  # 8:30 CST
        assert inst.maturity.is_front
        assert inst.maturity.product_id == inst.product.id
        assert inst.contract.contract_maturity_id == inst.maturity.id
        assert inst.contract.status == "DefinitionChecked"
        assert inst.contract.provider_tick_size == 0.25
        assert 0 < inst.commission_per_side < 5
        assert inst.start_price % inst.tick_size == 0
    assert by_root["MES"].commission_per_side < by_root["ES"].commission_per_side


def test_summer_expiry_is_in_daylight_time() -> None:
    es = default_instruments(dt.date(2026, 5, 1))[0]
    assert (es.name, es.maturity.expiration_date) == ("ESM6", "2026-06-19T13:30:00.000Z")


def test_entities_round_trip_with_required_fields() -> None:
    for inst in default_instruments(dt.date(2026, 11, 24)):
        for entity, cls in ((inst.product, Product), (inst.maturity, ContractMaturity),
                            (inst.contract, Contract)):
            wire = msgspec.json.encode(entity)
            assert b"null" not in wire
            assert msgspec.json.decode(wire, type=cls) == entity
        product = msgspec.json.decode(msgspec.json.encode(inst.product))
        assert {"id", "name", "currencyId", "productType", "description", "exchangeId",
                "contractGroupId", "status", "valuePerPoint", "priceFormatType", "priceFormat",
                "tickSize"} <= product.keys()
    refs = {type(e).__name__: e for e in reference_entities()}
    product = default_instruments(dt.date(2026, 11, 24))[0].product
    assert refs["Currency"].id == product.currency_id
    assert refs["Exchange"].id == product.exchange_id
    assert refs["ContractGroup"].id == product.contract_group_id


def test_ids_are_stable_and_distinct() -> None:
    a = default_instruments(dt.date(2026, 10, 1))
    b = default_instruments(dt.date(2026, 11, 24))
    assert [i.contract_id for i in a] == [i.contract_id for i in b]
    assert [i.maturity.id for i in a] == [i.maturity.id for i in b]
    march = default_instruments(dt.date(2026, 12, 10))
    assert {i.contract_id for i in march}.isdisjoint(i.contract_id for i in a)
    assert [i.product.id for i in march] == [i.product.id for i in a]
    ids = [i.contract_id for i in a + march]
    assert len(set(ids)) == len(ids)


def test_catalog_resolves_names_ids_and_continuous_symbols() -> None:
    catalog = InstrumentCatalog(default_instruments(dt.date(2026, 11, 24)))
    es = catalog.by_name("ESZ6")
    assert es is not None
    assert catalog.resolve("esz6") is es
    assert catalog.resolve(es.contract_id) is es
    assert catalog.resolve(str(es.contract_id)) is es
    assert catalog.resolve("@ES") is es
    mnq = catalog.resolve("@mnq")
    assert mnq is not None
    assert mnq.name == "MNQZ6"
    assert catalog.resolve("@CL") is None
    assert catalog.resolve("ESH7") is None
    assert [c.name for c in catalog.suggest("M")] == ["MESZ6", "MNQZ6"]
    assert catalog.product("nq") is not None
