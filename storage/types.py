"""Column types shared by the tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back an aware UTC datetime.

    SQLite keeps no time zone, PostgreSQL keeps one; this type makes both behave the same so that
    comparisons against the clock never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if getattr(dialect, "name", "") == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONList(TypeDecorator[list[Any]]):
    """A short list (tags, sectors, channel ids, lead times) stored as JSON text, the same on SQLite
    and PostgreSQL. Assign a new list to change one: a list changed in place is not noticed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: object) -> str | None:
        return None if value is None else json.dumps(list(value), ensure_ascii=False)

    def process_result_value(self, value: str | None, dialect: object) -> list[Any] | None:
        return None if value is None else list(json.loads(value))


class EnumText(TypeDecorator[StrEnum]):
    """A StrEnum kept as its text (the column is the VARCHAR it always was), read back as the
    enum, so code asks the kind (`poll.kind.is_survey`) rather than comparing strings. A value
    that is not one of the enum's is refused on the way in."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else str(self.enum(value))

    def process_result_value(self, value: str | None, dialect: object) -> StrEnum | None:
        return None if value is None else self.enum(value)
