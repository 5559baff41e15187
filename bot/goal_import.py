"""Reading a goal's values from a CSV file as open-data portals publish them: a header row, the
date and value columns named (or numbered from 1), thousands separators, ISO or US dates, blank
rows. Nothing is kept unless the whole file reads: every bad line is named."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime

_ISO = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[T ].*)?")
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})")
_NUMBER = re.compile(r"[-+]?\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?|[-+]?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Read:
    values: list[tuple[datetime, float]]  # in file order
    problems: list[str]  # "line 7: ..." for each line that did not read
    skipped: int  # blank rows


def parse_date(text: str) -> datetime | None:
    """2027-01-31, 2027-01 (the month's first day), 01/31/2027 or 1/31/27 (US order)."""
    text = text.strip()
    if match := _ISO.fullmatch(text):
        year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    elif match := _US.fullmatch(text):
        month, day, year = int(match[1]), int(match[2]), int(match[3])
        year += 2000 if year < 100 else 0
    else:
        return None
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def parse_number(text: str) -> float | None:
    """1234, 1,234, 1 234, 1,234.5, -3.2: a number as a spreadsheet writes it in English."""
    text = text.strip().replace("\u00a0", " ")
    if not _NUMBER.fullmatch(text):
        return None
    return float(text.replace(",", "").replace(" ", ""))


def _column(header: list[str], wanted: str) -> int | None:
    names = [h.strip().lower() for h in header]
    if wanted.strip().lower() in names:
        return names.index(wanted.strip().lower())
    if wanted.isdigit() and 1 <= int(wanted) <= len(header):
        return int(wanted) - 1
    return None


def read_values(content: str, date_column: str, value_column: str) -> Read:
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    if not rows:
        return Read([], ["the file is empty"], 0)
    header = rows[0]
    problems = []
    dates, values = _column(header, date_column), _column(header, value_column)
    if dates is None:
        problems.append(f"line 1: no column '{date_column}' (the columns are: {', '.join(header)})")
    if values is None:
        problems.append(f"line 1: no column '{value_column}' (the columns are: {', '.join(header)})")
    if problems:
        return Read([], problems, 0)
    assert dates is not None and values is not None
    found: list[tuple[datetime, float]] = []
    seen: dict[datetime, int] = {}
    skipped = 0
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            skipped += 1
            continue
        if len(row) <= max(dates, values):
            problems.append(f"line {line}: too few columns")
            continue
        day, number = parse_date(row[dates]), parse_number(row[values])
        if day is None:
            problems.append(f"line {line}: '{row[dates]}' is not a date (2027-01-31, 2027-01 or 01/31/2027)")
        if number is None:
            problems.append(f"line {line}: '{row[values]}' is not a number")
        if day is not None and number is not None:
            if day in seen:
                problems.append(f"line {line}: {day.date()} is given twice (first on line {seen[day]})")
                continue
            seen[day] = line
            found.append((day, number))
    return Read(found, problems, skipped)
