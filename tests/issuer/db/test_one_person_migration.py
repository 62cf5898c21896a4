"""Revision 0004 (one valid or suspended certificate per person and qualification) on a
database that already holds such duplicates: refused, naming them, nothing changed; once
the surplus certificate is revoked the upgrade goes through and the index holds."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError

from issuer.db.engine import alembic_config, upgrade
from tests.factory.issuer import IssuerHarness, issue


def _downgrade(engine: sa.Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        conn.commit()


def _version(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))


def test_upgrade_over_duplicates_is_refused_naming_them_until_one_is_revoked(
    issuer_env: IssuerHarness,
) -> None:
    engine = issuer_env.engine
    a = issue(issuer_env, 1)["certificate_number"]
    b = issue(issuer_env, 2)["certificate_number"]
    issue(issuer_env, 3)
    _downgrade(engine, "0003")  # after issuing: today's code reads columns of later revisions
    with engine.begin() as conn:  # as an older release could have left them
        conn.execute(
            sa.text(
                "UPDATE certificate SET (id_number_hash, qualification_type, subject) = "
                "(SELECT id_number_hash, qualification_type, subject FROM certificate "
                " WHERE certificate_number = :a) WHERE certificate_number = :b"
            ),
            {"a": a, "b": b},
        )

    with pytest.raises(RuntimeError, match="uq_certificate_person_qualification") as caught:
        upgrade(engine)
    assert f"{min(a, b)}, {max(a, b)}" in str(caught.value)
    assert "1 person(s)" in str(caught.value)
    assert _version(engine) == "0003"

    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE certificate SET status = 'revoked' WHERE certificate_number = :b"),
            {"b": b},
        )
    upgrade(engine)
    assert _version(engine) == ScriptDirectory.from_config(alembic_config()).get_current_head()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE certificate SET status = 'valid' WHERE certificate_number = :b"),
            {"b": b},
        )
