"""Trades and fills as CSV or Parquet, for analysis in pandas or polars.

Rows are msgspec Structs (a report's ``TradeLine``, a replay's ``FillRecord``, the journal's
``JournalFill``...); columns are their fields in declaration order. CSV needs nothing extra;
Parquet needs ``pyarrow``, imported only when asked for, with a clear error if it is missing.
"""

from __future__ import annotations

import csv
import importlib
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import msgspec

from .errors import TradovateError

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")


class ExportError(TradovateError):
    """An export cannot be written (unknown format, missing pyarrow, file error)."""


def _columns(rows: Sequence[Any], row_type: type[Any] | None) -> list[str]:
    kind = row_type or (type(rows[0]) if rows else None)
    if kind is None or not issubclass(kind, msgspec.Struct):
        raise ExportError("export rows must be msgspec Structs (give row_type for no rows)")
    return [field.name for field in msgspec.structs.fields(kind)]


def _cell(value: Any) -> Any:
    """Enums as their value; nested structures as JSON text."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return msgspec.json.encode(value).decode()


def export_rows(rows: Sequence[Any], path: str | Path, fmt: Format | None = None, *,
                row_type: type[Any] | None = None) -> Path:
    """Write ``rows`` to ``path`` as CSV or Parquet (default: from the file suffix)."""
    target = Path(path)
    chosen = fmt or target.suffix.lstrip(".").lower()
    if chosen not in FORMATS:
        raise ExportError(f"{target}: unknown export format {chosen!r} (use csv or parquet)")
    columns = _columns(rows, row_type)
    table = [[_cell(getattr(row, name)) for name in columns] for row in rows]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if chosen == "csv":
            with target.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                writer.writerows(table)
        else:
            _write_parquet(target, columns, table)
    except OSError as exc:
        raise ExportError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return target


def _write_parquet(target: Path, columns: list[str], table: list[list[Any]]) -> None:
    try:
        pa = importlib.import_module("pyarrow")
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ExportError("Parquet export needs the pyarrow package: pip install pyarrow "
                          "(or export CSV)") from None
    data = {name: [row[i] for row in table] for i, name in enumerate(columns)}
    pq.write_table(pa.table(data), target)
