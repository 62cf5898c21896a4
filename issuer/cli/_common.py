"""What every issuer command shares: who is acting, and the engine of a command that writes.

Imports nothing heavy at module level: ``jiaozi batch --help`` loads this module too.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from issuer.settings import IssuerSettings

__all__ = ["cli_actor", "cli_lang", "writer_engine"]


def cli_actor() -> str:
    """Return the audit actor of a command: ``cli:<login name>`` (``cli:unknown`` where the
    environment has no login name, as in some containers), at most 200 characters."""
    try:
        user = getpass.getuser()
    except Exception:  # getpass raises OSError or KeyError, depending on the platform
        user = "unknown"
    return f"cli:{user}"[:200]


def cli_lang() -> str:
    """Return the language of this command's messages, ``"zh"`` or ``"en"``: the
    ``jiaozi --lang`` option's (left in the click context's meta as ``jiaozi.lang``), else
    ``JIAOZI_LANG``'s, else the locale's (``credential.cli_language``)."""
    import os

    import click

    from credential import cli_language

    ctx = click.get_current_context(silent=True)
    chosen = ctx.meta.get("jiaozi.lang") if ctx is not None else None
    return cli_language(os.environ, chosen)


def writer_engine(settings: IssuerSettings) -> Engine:
    """Return the engine of a command that writes, migrated first as the service's is
    (when ``settings.auto_migrate``)."""
    from issuer.db import make_engine, upgrade  # here, so that --help loads no SQLAlchemy

    engine = make_engine(settings.database_url)
    if settings.auto_migrate:
        upgrade(engine)
    return engine
