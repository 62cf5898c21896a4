"""A person on the restricted list (contract section 7) gets no new certificate: `lost` for
ever, `revoked` until the bar date; one at a time and in a batch."""

from __future__ import annotations

import csv
import datetime as dt
import io

import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer.db.models import Certificate
from tests.factory.issuer import IssuerHarness, application, poll_batch, post_batch, restrict


def test_lost_bars_issuance_with_a_field_error(issuer_env: IssuerHarness) -> None:
    body = application(3)
    restrict(issuer_env, body, category="lost", bar_until=None)
    r = issuer_env.issue(body)
    assert r.status_code == 422
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("id_number", "restricted")]
    assert body["id_number"] not in r.text
    with Session(issuer_env.engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0


def test_revoked_bars_until_its_date_then_allows(issuer_env: IssuerHarness) -> None:
    body = application(4)  # certified in 2026
    restrict(issuer_env, body, category="revoked", bar_until=dt.date(2030, 1, 1))
    assert issuer_env.issue(body).status_code == 422
    other = application(5)
    restrict(issuer_env, other, category="revoked", bar_until=dt.date(2020, 1, 1))  # bar over
    assert issuer_env.issue(other).status_code == 201


def test_a_batch_reports_the_barred_row_and_issues_the_rest(issuer_env: IssuerHarness) -> None:
    rows = [application(i) for i in (10, 11, 12)]
    restrict(issuer_env, rows[1], category="lost", bar_until=None)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "name",
            "gender",
            "birth_date",
            "id_type",
            "id_number",
            "qualification_type",
            "subject",
            "issue_date",
        ]
    )
    for b in rows:
        w.writerow(
            [
                b["name"],
                b["sex"],
                b["birth_date"],
                b["id_type"],
                b["id_number"],
                b["qualification_type"],
                b["subject"],
                b["certified_on"],
            ]
        )
    r = post_batch(issuer_env, out.getvalue().encode(), "round.csv")
    assert r.status_code == 202, r.text
    done = poll_batch(issuer_env, r.json()["id"])
    assert (done["state"], done["valid_rows"], done["error_rows"], done["issued_rows"]) == (
        "done",
        2,
        1,
        2,
    )
    report = issuer_env.client.get(
        f"/api/v1/batches/{done['id']}/errors.csv?lang=en", headers=issuer_env.headers()
    )
    assert report.status_code == 200
    text = report.content.decode("utf-8-sig")
    assert "restricted" in text.lower() or "lost" in text.lower()
    assert rows[1]["id_number"] not in text
