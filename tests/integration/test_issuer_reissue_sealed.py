"""Identity numbers at rest (contract section 2): the stored credential (and the saved
idempotent answer that contains it) is sealed under the data key, so no identity number
appears in the database in clear, not even base64url-encoded."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import parse_jws
from issuer.issuance import service as services
from issuer.issuance.sealing import PREFIX, SealedDataError
from tests.integration.conftest import IssuerHarness, application

_B64_RUN = re.compile(r"[A-Za-z0-9_-]{16,}")


def _decodings(value: object) -> Iterator[bytes]:
    """Yield ``value`` as bytes and every base64url run inside it, decoded."""
    if isinstance(value, bytes | bytearray | memoryview):
        yield bytes(value)
        return
    text = str(value)
    yield text.encode("utf-8")
    for run in _B64_RUN.findall(text):
        for start in range(4):  # a run may start mid-quantum inside a longer text
            part = run[start:]
            try:
                yield base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            except ValueError:
                continue


def database_dump(engine: sa.Engine) -> Iterator[tuple[str, str, bytes]]:
    """Yield (table, column, bytes) for every non-null value of every table."""
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    for data in _decodings(value):
                        yield table.name, column, data


def assert_no_identity_number(engine: sa.Engine, numbers: list[str]) -> int:
    seen = 0
    for table, column, data in database_dump(engine):
        seen += 1
        for number in numbers:
            assert number.encode("ascii") not in data, f"{number} in clear in {table}.{column}"
    return seen


def test_no_identity_number_is_stored_in_clear_anywhere(issuer_env: IssuerHarness) -> None:
    bodies = [application(40 + i) for i in range(4)]
    ids = [b["id_number"] for b in bodies]
    assert all(len(i) == 18 for i in ids)
    issued = []
    for n, body in enumerate(bodies):
        r = issuer_env.issue(body, key=f"sealed-{n}")
        assert r.status_code == 201, r.text
        issued.append(r.json())
        # the replayed answer comes out of the sealed idempotency record unchanged
        again = issuer_env.issue(body, key=f"sealed-{n}")
        assert again.status_code == 201 and again.content == r.content
    # the same check finds the number when it is there only base64url-encoded
    assert any(ids[0].encode() in d for d in _decodings(issued[0]["credential"]))
    assert assert_no_identity_number(issuer_env.engine, ids) > 50

    with issuer_env.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT credential_jws, kid FROM certificate")).all()
    assert all(s.credential_jws.startswith(PREFIX) for s in stored)
    assert {s.kid for s in stored} == {issuer_env.signer.kid}

    for got, body in zip(issued, bodies, strict=True):
        r = issuer_env.client.get(
            f"/api/v1/certificates/{got['certificate_number']}", headers=issuer_env.headers()
        )
        assert r.status_code == 200
        assert r.json()["credential"] == got["credential"]
        subject = parse_jws(r.json()["credential"]).payload["credentialSubject"]
        assert subject["identityDocument"]["number"] == body["id_number"]


@pytest.mark.parametrize("change", ["tamper", "move"])
def test_a_tampered_or_moved_credential_does_not_open(
    issuer_env: IssuerHarness, change: str
) -> None:
    numbers = []
    for i in range(2):
        r = issuer_env.issue(application(50 + i))
        assert r.status_code == 201
        numbers.append(r.json()["certificate_number"])
    with issuer_env.engine.begin() as conn:
        if change == "tamper":
            value = conn.execute(
                sa.text("SELECT credential_jws FROM certificate WHERE certificate_number = :n"),
                {"n": numbers[0]},
            ).scalar_one()
            i = len(PREFIX) + 40
            value = value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1 :]
        else:  # the second certificate's sealed credential copied onto the first's row
            value = conn.execute(
                sa.text("SELECT credential_jws FROM certificate WHERE certificate_number = :n"),
                {"n": numbers[1]},
            ).scalar_one()
        conn.execute(
            sa.text("UPDATE certificate SET credential_jws = :v WHERE certificate_number = :n"),
            {"v": value, "n": numbers[0]},
        )
    with Session(issuer_env.engine) as session:
        with pytest.raises(SealedDataError):
            services.get_certificate(session, number=numbers[0], settings=issuer_env.settings)
        ok = services.get_certificate(session, number=numbers[1], settings=issuer_env.settings)
    assert parse_jws(ok.credential).payload["credentialSubject"]["certificateNumber"] == numbers[1]
