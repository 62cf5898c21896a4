"""The issuer's database: engines, tables, the write transaction and migrations.

Owns: ``engine`` (engines, ``write``: the one write transaction, ``BEGIN IMMEDIATE`` on
SQLite; Alembic upgrade), ``types`` (``UtcDateTime``, the column type of every time),
``models`` (the SQLModel tables), ``tables`` (typed table handles for Core statements),
``migrations`` (Alembic revisions).

May import: ``credential``, ``issuer.settings``, ``issuer.errors``. Every other issuer
sub-package may import it.

Times: every datetime column is a ``UtcDateTime``: it holds UTC and reads back as an aware
UTC datetime on SQLite and PostgreSQL alike, so nothing that reads a row converts it.
Raw SQL (``sa.text``, driver-level statements) bypasses the type and gets what the
driver gives.
"""

from issuer.db.engine import begin_write, make_engine, upgrade, write
from issuer.db.types import UtcDateTime

__all__ = ["UtcDateTime", "begin_write", "make_engine", "upgrade", "write"]
