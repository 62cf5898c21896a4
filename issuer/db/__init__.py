"""The issuer's database: engines, tables, the write transaction and migrations.

Owns: ``engine`` (engines, ``write``: the one write transaction, ``BEGIN IMMEDIATE`` on
SQLite; Alembic upgrade), ``models`` (the SQLModel tables), ``tables`` (typed table
handles for Core statements), ``migrations`` (Alembic revisions).

May import: ``credential``, ``issuer.settings``, ``issuer.errors``. Every other issuer
sub-package may import it.

Times: a datetime column holds UTC; SQLite hands it back naive, so read it through
``credential.as_utc``.
"""

from issuer.db.engine import begin_write, make_engine, upgrade, write

__all__ = ["begin_write", "make_engine", "upgrade", "write"]
