"""DBN import: every supported schema round-trips into md frames the replay reads; symbols
map to Tradovate contracts; bad files stop with one line or are counted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import databento_dbn as dbn
import pytest
import zstandard
from dbn_files import T0, mbp1, mbp10, trade, write

from tradovate_api.errors import ConfigError
from tradovate_api.protocol import ChartEvent, MarketDataEvent, Messages, decode_frame
from tradovate_api.protocol.ticks import unpack_ticks
from tradovate_api.recording import ChartNote, ReferenceNote, read_entries, recording_files
from tradovate_api.research.dbn_file import DbnFileError
from tradovate_api.research.dbn_import import import_dbn
from tradovate_api.research.dbn_sample import INSTRUMENT_ID, metadata, write_dbn, write_sample
from tradovate_api.research.symbols import SymbolMap, contract_year, split_name


def _read(directory: Path) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """(notes, [(ts, messages)]) of the recording in ``directory``."""
    notes: list[Any] = []
    frames: list[tuple[int, list[Any]]] = []
    for ts, item in read_entries(recording_files([directory])):
        if isinstance(item, bytes):
            frame = decode_frame(item)
            assert type(frame) is Messages
            frames.append((ts, list(frame.items)))
        else:
            notes.append(item)
    return notes, frames


def _quotes(frames: list[tuple[int, list[Any]]]) -> list[tuple[int, Any]]:
    return [(ts, q) for ts, items in frames for m in items if type(m) is MarketDataEvent
            for q in m.data.quotes]


def _ticks(frames: list[tuple[int, list[Any]]]) -> list[Any]:
    return [t for _, items in frames for m in items if type(m) is ChartEvent
            for packet in m.data.charts for t in unpack_ticks(packet)]


def test_mbp1_round_trip_quotes_prints_and_reference(tmp_path: Path) -> None:
    records = [
        mbp1(1, 6850.00, 6850.25, sequence=1),
        mbp1(1, 6850.00, 6850.50, sequence=2, ask_sz=3),  # same packet: one frame, last book
        mbp1(2, 6850.00, 6850.50, action="T", side="B", price=6850.50, size=2, sequence=3),
        mbp1(3, 6849.75, 6850.50, action="T", side="A", price=6849.75, size=4, sequence=4),
    ]
    summary = import_dbn(write(tmp_path / "a.dbn", "mbp-1", records), tmp_path / "out")
    assert (summary.records, summary.frames, summary.prints) == (4, 3, 2)
    assert summary.contracts == {"ESZ6": 4}
    assert not any(summary.warnings.values())
    notes, frames = _read(tmp_path / "out")
    reference = next(n for n in notes if isinstance(n, ReferenceNote))
    contract = reference.contracts[0]
    assert contract.name == "ESZ6"
    assert reference.products[0].tick_size == 0.25
    assert reference.products[0].value_per_point == 50.0
    assert any(isinstance(n, ChartNote) and n.contract_id == contract.id for n in notes)
    assert [ts for ts, _ in frames] == [T0 + 1_000_000, T0 + 2_000_000, T0 + 3_000_000]
    quotes = _quotes(frames)
    first = quotes[0][1].entries
    assert (first.bid.price, first.bid.size, first.offer.price, first.offer.size) == (
        6850.00, 10.0, 6850.50, 3.0)
    assert quotes[1][1].entries.trade.price == 6850.50
    assert quotes[2][1].entries.total_trade_volume.size == 6.0
    ticks = _ticks(frames)
    assert [(t.price, t.size) for t in ticks] == [(6850.50, 2.0), (6849.75, 4.0)]
    # the DBN aggressor side survives as the tick's side of the book
    assert ticks[0].ask_price == 6850.50
    assert ticks[0].bid_price is None
    assert ticks[1].bid_price == 6849.75
    assert ticks[1].ask_price is None


def test_mbp10_round_trip_dom_levels(tmp_path: Path) -> None:
    records = [mbp10(1, 6850.00, 6850.25, sequence=1),
               mbp10(5, 6851.00, 6851.25, action="T", side="A", price=6851.00, size=3,
                     sequence=2)]
    summary = import_dbn(write(tmp_path / "b.dbn.zst", "mbp-10", records), tmp_path / "out")
    assert (summary.schema, summary.records, summary.prints) == ("mbp-10", 2, 1)
    _, frames = _read(tmp_path / "out")
    doms = [d for _, items in frames for m in items if type(m) is MarketDataEvent
            for d in m.data.doms]
    assert len(doms) == 2
    assert [(lv.price, lv.size) for lv in doms[0].bids] == [
        (6850.00 - i * 0.25, 10.0 + i) for i in range(10)]
    assert [(lv.price, lv.size) for lv in doms[1].offers] == [
        (6851.25 + i * 0.25, 20.0 + i) for i in range(10)]
    assert [(t.price, t.size) for t in _ticks(frames)] == [(6851.00, 3.0)]


def test_trades_round_trip(tmp_path: Path) -> None:
    records = [trade(1, 6850.25, 2, "B", 1), trade(1, 6850.25, 1, "B", 2),
               trade(7, 6850.00, 5, "A", 3), trade(9, 6850.00, 1, "N", 4)]
    summary = import_dbn(write(tmp_path / "t.dbn", "trades", records), tmp_path / "out")
    assert (summary.records, summary.frames, summary.prints) == (4, 3, 4)
    assert summary.warnings["no_aggressor"] == 1
    _, frames = _read(tmp_path / "out")
    ticks = _ticks(frames)
    assert [(t.price, t.size) for t in ticks] == [
        (6850.25, 2.0), (6850.25, 1.0), (6850.00, 5.0), (6850.00, 1.0)]
    assert ticks[3].bid_price is None
    assert ticks[3].ask_price is None
    assert [q.entries.trade.price for _, q in _quotes(frames)] == [6850.25, 6850.00, 6850.00]


@pytest.mark.parametrize("schema", ["trades", "mbp-1", "mbp-10"])
def test_sample_files_of_every_schema_import_whole(tmp_path: Path, schema: str) -> None:
    path = write_sample(tmp_path / f"s.{schema}.dbn.zst", schema, events=2_000, seed=3)
    summary = import_dbn(path, tmp_path / "out")
    decoder = dbn.DBNDecoder()
    decoder.write(zstandard.ZstdDecompressor().decompress(path.read_bytes()))
    records = decoder.decode()[1:]
    assert summary.records == len(records)
    assert summary.prints == sum(1 for r in records if r.action == "T")
    assert not any(summary.warnings.values())
    assert _ticks(_read(tmp_path / "out")[1])


def test_contract_names_and_years() -> None:
    assert split_name("ESZ6") == ("ES", 12, 6)
    assert split_name("mnqh27") == ("MNQ", 3, 27)
    assert contract_year(7, dt.date(2026, 11, 24)) == 2027
    assert contract_year(6, dt.date(2026, 11, 24)) == 2026
    assert contract_year(0, dt.date(2029, 12, 1)) == 2030
    with pytest.raises(ValueError, match="outright"):
        split_name("ESZ6-ESH7")
    entities = SymbolMap().entities("ESH7", dt.date(2026, 11, 24))
    assert entities.contract.name == "ESH7"
    assert entities.maturity.expiration_month == 202703
    assert entities.product.name == "ES"


def test_symbol_map_renames_continuous_symbols_and_adds_products(tmp_path: Path) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text('[symbols]\n"ZN.c.0" = "ZNZ6"\n[products.ZN]\ntick_size = 0.015625\n'
                       'value_per_point = 1000.0\n')
    records = [mbp1(1, 112.5, 112.515625), mbp1(2, 112.515625, 112.53125)]
    source = write(tmp_path / "zn.dbn", "mbp-1", records, symbol="ZN.c.0")
    with pytest.raises(DbnFileError, match=r"ZN\.c\.0"):
        import_dbn(source, tmp_path / "without")
    summary = import_dbn(source, tmp_path / "out", SymbolMap.load(mapping))
    assert summary.contracts == {"ZNZ6": 2}
    notes, frames = _read(tmp_path / "out")
    product = next(n for n in notes if isinstance(n, ReferenceNote)).products[0]
    assert (product.name, product.tick_size, product.value_per_point) == ("ZN", 0.015625,
                                                                          1000.0)
    assert _quotes(frames)[1][1].entries.offer.price == 112.53125


def test_instrument_id_symbology_maps_through_the_symbol_map(tmp_path: Path) -> None:
    meta = dbn.Metadata(dataset="GLBX.MDP3", start=T0, end=T0 + 10**9,
                        stype_in=dbn.SType("instrument_id"),
                        stype_out=dbn.SType("instrument_id"), schema=dbn.Schema.from_str(
                            "mbp-1"), symbols=[str(INSTRUMENT_ID)])
    source = write_dbn(tmp_path / "ids.dbn", meta, [mbp1(1, 6850.0, 6850.25)])
    with pytest.raises(DbnFileError, match=f"instrument_id {INSTRUMENT_ID} has no symbol"):
        import_dbn(source, tmp_path / "a")
    summary = import_dbn(source, tmp_path / "b", SymbolMap({str(INSTRUMENT_ID): "MESZ6"}))
    assert summary.contracts == {"MESZ6": 1}


def test_bad_symbol_map_file_is_one_line(tmp_path: Path) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text("[products.ZN]\ntick_size = 0\nvalue_per_point = 1000.0\n")
    with pytest.raises(ConfigError, match=r"products\.ZN: tick_size and value_per_point"):
        SymbolMap.load(mapping)


# ---------------------------------------------------------------------------- bad files


def test_truncated_file(tmp_path: Path) -> None:
    whole = write(tmp_path / "w.dbn", "mbp-1", [mbp1(1, 6850.0, 6850.25),
                                                mbp1(2, 6850.0, 6850.5),
                                                mbp1(3, 6850.0, 6850.25)]).read_bytes()
    cut = tmp_path / "cut.dbn"
    cut.write_bytes(whole[:-17])
    with pytest.raises(DbnFileError, match=r"truncated: \d+ bytes after the last complete "
                                           r"record \(2 records read\)"):
        import_dbn(cut, tmp_path / "out")
    assert not recording_files([tmp_path / "out"])  # the part converted is not left behind
    zcut = tmp_path / "cut.dbn.zst"
    zcut.write_bytes(zstandard.ZstdCompressor().compress(whole)[:-9])
    with pytest.raises(DbnFileError, match="last zstd frame is incomplete"):
        import_dbn(zcut, tmp_path / "out2")
    empty = tmp_path / "empty.dbn"
    empty.write_bytes(b"")
    with pytest.raises(DbnFileError, match="empty or truncated"):
        import_dbn(empty, tmp_path / "out3")


def test_a_file_without_records(tmp_path: Path) -> None:
    with pytest.raises(DbnFileError, match="no mbp-1 records: nothing to backtest"):
        import_dbn(write(tmp_path / "none.dbn", "mbp-1", []), tmp_path / "out")


def test_not_a_dbn_file(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.dbn"
    bogus.write_text("date,price\n2026-11-24,6850.25\n" * 20)
    with pytest.raises(DbnFileError, match="not a readable DBN file"):
        import_dbn(bogus, tmp_path / "out")


def test_unsupported_schema(tmp_path: Path) -> None:
    bar = dbn.OHLCVMsg(rtype=dbn.RType.from_schema(dbn.Schema.from_str("ohlcv-1m")),
                       publisher_id=1, instrument_id=INSTRUMENT_ID, ts_event=T0,
                       open=1, high=1, low=1, close=1, volume=1)
    source = write_dbn(tmp_path / "bars.dbn",
                       metadata("ohlcv-1m", "ESZ6", INSTRUMENT_ID, T0, T0 + 1), [bar])
    with pytest.raises(DbnFileError, match="schema 'ohlcv-1m' is not supported"):
        import_dbn(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_mixed_schemas(tmp_path: Path) -> None:
    source = write_dbn(tmp_path / "mixed.dbn",
                       metadata("mbp-1", "ESZ6", INSTRUMENT_ID, T0, T0 + 10**9),
                       [mbp1(1, 6850.0, 6850.25), trade(2, 6850.25, 1, "B")])
    with pytest.raises(DbnFileError, match="a trades record in a mbp-1 file"):
        import_dbn(source, tmp_path / "out")


def test_unknown_symbol_and_product(tmp_path: Path) -> None:
    with pytest.raises(DbnFileError, match="product XX is not known"):
        import_dbn(write(tmp_path / "xx.dbn", "mbp-1", [mbp1(1, 10.0, 10.25)], symbol="XXZ6"),
                   tmp_path / "a")
    stray = write(tmp_path / "stray.dbn", "mbp-1", [mbp1(1, 6850.0, 6850.25, iid=77)])
    with pytest.raises(DbnFileError, match="instrument_id 77 has no symbol"):
        import_dbn(stray, tmp_path / "b")


def test_off_tick_price_is_an_error(tmp_path: Path) -> None:
    source = write(tmp_path / "off.dbn", "mbp-1", [mbp1(1, 6850.0, 6850.25),
                                                  mbp1(2, 6850.1, 6850.25)])
    with pytest.raises(DbnFileError, match=r"price 6850.1 of ESZ6 is off its tick size 0.25"):
        import_dbn(source, tmp_path / "out")
    assert not recording_files([tmp_path / "out"])


def test_crossed_book_is_counted_and_skipped(tmp_path: Path) -> None:
    records = [mbp1(1, 6850.0, 6850.25), mbp1(2, 6850.5, 6850.25), mbp1(3, 6850.25, 6850.5)]
    summary = import_dbn(write(tmp_path / "x.dbn", "mbp-1", records), tmp_path / "out")
    assert summary.warnings["crossed_book"] == 1
    books = [(q.entries.bid.price, q.entries.offer.price) for _, q in
             _quotes(_read(tmp_path / "out")[1])]
    assert books == [(6850.0, 6850.25), (6850.25, 6850.5)]


def test_gaps_and_disorder_are_counted(tmp_path: Path) -> None:
    records = [mbp1(1, 6850.0, 6850.25, sequence=10),
               mbp1(2, 6850.0, 6850.25, sequence=9),  # backwards
               mbp1(3, 6850.0, 6850.25, sequence=30, flags=dbn.F_MAYBE_BAD_BOOK),  # gap
               mbp1(2, 6850.0, 6850.50, sequence=31)]  # received before the previous
    summary = import_dbn(write(tmp_path / "g.dbn", "mbp-1", records), tmp_path / "out")
    assert summary.warnings == {"crossed_book": 0, "maybe_bad_book": 1,
                                "sequence_backwards": 1, "time_backwards": 1,
                                "no_aggressor": 0}
    frames = _read(tmp_path / "out")[1]
    assert [ts for ts, _ in frames] == sorted(ts for ts, _ in frames)

