"""CSV files members open in spreadsheet apps: one header row, one kind of row, no formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def cell(value: str) -> str:
    """Spreadsheet apps run cells starting with = + - @ as formulas; a quote keeps them text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A rectangular CSV: every row as long as the header, so it sorts and filters as one table."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells under a header of {len(header)}")
        writer.writerow(row)
    return out.getvalue().encode()
