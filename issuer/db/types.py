"""Column types: a datetime column that holds UTC and hands back aware UTC datetimes.

``UtcDateTime`` stores exactly what ``DateTime(timezone=True)`` stores (the migrations
declare that type, and the database cannot tell the two apart), but converts on the way:
a value written is turned into UTC first (a naive one is taken to be UTC already), and a
value read is an aware UTC datetime on every database. SQLite keeps no zone and would
hand the wall-clock time back naive; PostgreSQL would hand it back in the session's zone.
Code reading a row therefore never converts a time it read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from credential import as_utc

__all__ = ["UtcDateTime"]


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """``DateTime(timezone=True)`` whose values are aware UTC datetimes both ways."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[dt.datetime]:
        return dt.datetime

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        return None if value is None else as_utc(value)
