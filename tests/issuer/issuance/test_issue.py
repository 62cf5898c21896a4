"""Issue one certificate over HTTP; the answer verifies offline; bad input is a 422 problem.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from credential import Verdict, VerifyPolicy, parse_jws, verify
from tests.factory.issuer import IssuerHarness, application


def _count(env: IssuerHarness, table: str) -> int:
    with env.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_issue_one_answers_201_with_number_tokens_and_links(issuer_env: IssuerHarness) -> None:
    body = application(1)  # 吴鸣, female, senior_middle, certified 2026-06-17
    r = issuer_env.issue(body)
    assert r.status_code == 201, r.text
    got = r.json()
    number = got["certificate_number"]
    # YYYY PP AAA T S NNNNNN: 2026, Beijing 11, office 001, senior middle 4, female 2, serial 1
    assert number == "20261100142000001"
    assert got["version"] == 1
    assert got["elicence_id"].startswith("1.2.156.3005.2.11100000000013338W009.")
    assert got["id_number_masked"] == "110***********2469"
    assert parse_jws(got["credential"]).typ == "vc+jwt"
    assert parse_jws(got["qr_token"]).typ == "jiaozi-qr+jwt"
    assert got["qr_url"].startswith("https://verify.example.cn/v#")
    assert got["links"]["self"] == f"http://testserver/api/v1/certificates/{number}"
    assert got["links"]["status_list"] == got["status_list"]["uri"]
    assert got["status_list"]["uri"] == "http://testserver/statuslists/1"

    # The office reads back exactly what it was given.
    again = issuer_env.client.get(f"/api/v1/certificates/{number}", headers=issuer_env.headers())
    assert again.status_code == 200
    assert again.json() == got


def test_issued_tokens_verify_valid_against_the_served_status_list(
    issuer_env: IssuerHarness,
) -> None:
    got = issuer_env.issue(application(2)).json()
    uri = got["status_list"]["uri"]
    served = issuer_env.client.get(uri.removeprefix("http://testserver"))
    assert served.headers["content-type"] == "application/statuslist+jwt"
    assert served.headers["cache-control"] == "public, max-age=150"  # ttl/2: see routes/public.py
    snapshot = issuer_env.status_snapshot(uri)
    assert snapshot.status_list.size >= 131072
    now = dt.datetime.now(dt.UTC)

    by_qr = verify(
        got["qr_url"],
        trust=issuer_env.trust,
        status={uri: snapshot},
        now=now,
        policy=VerifyPolicy(verifier_origin="https://verify.example.cn"),
    )
    assert by_qr.verdict is Verdict.VALID, by_qr.checks
    assert by_qr.certificate is not None
    assert by_qr.certificate.certificate_number == got["certificate_number"]

    both = verify(
        got["qr_token"],
        credential=got["credential"],
        trust=issuer_env.trust,
        status={uri: snapshot},
        now=now,
    )
    assert both.verdict is Verdict.VALID, both.checks
    assert {c.name: c.ok for c in both.checks}["binding"] is True


def test_jwks_publishes_the_signing_key(issuer_env: IssuerHarness) -> None:
    r = issuer_env.client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.json() == {"keys": [issuer_env.signer.public_key().to_jwk()]}


def test_identity_number_is_stored_only_inside_the_signed_credential(
    issuer_env: IssuerHarness,
) -> None:
    body = application(3)
    assert issuer_env.issue(body).status_code == 201
    with issuer_env.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM certificate")).mappings().one()
        audit = conn.execute(sa.text("SELECT * FROM audit_record")).mappings().one()
    outside = {k: v for k, v in row.items() if k not in ("credential_jws", "qr_token")}
    assert body["id_number"] not in repr(outside)
    assert body["id_number"] not in repr(dict(audit))
    assert len(row["id_number_hash"]) == 64


BAD_FIELDS = [
    pytest.param({"id_number": "110105197609062468"}, "id_number", "check_digit", id="check-digit"),
    pytest.param({"birth_date": "1976-09-07"}, "id_number", "birth_date_mismatch", id="birth-date"),
    pytest.param(
        {"qualification_type": "university"},
        "qualification_type",
        "unknown_qualification_type",
        id="qualification-type",
    ),
    pytest.param({"name": ""}, "name", "required", id="empty-name"),
    pytest.param({"name": "张" * 200}, "name", "too_long", id="200-char-name"),
    pytest.param({"sex": "unknown"}, "sex", "unknown_sex", id="sex"),
    pytest.param({"certified_on": "2026-02-30"}, "certified_on", "date_format", id="date"),
]


@pytest.mark.parametrize(("over", "field", "code"), BAD_FIELDS)
def test_bad_field_is_422_problem_naming_it_and_writes_nothing(
    issuer_env: IssuerHarness, over: dict[str, str], field: str, code: str
) -> None:
    r = issuer_env.issue(application(1, **over))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422
    assert problem["type"].endswith("/validation")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]
    # Chinese by default.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["errors"][0]["message"])
    for table in ("certificate", "audit_record", "idempotency_record", "serial_counter"):
        assert _count(issuer_env, table) == 0


def test_all_bad_fields_are_reported_together_in_english_on_request(
    issuer_env: IssuerHarness,
) -> None:
    body = application(1, name="", qualification_type="9", id_number="110105197609062468")
    r = issuer_env.issue(body, **{"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    assert r.status_code == 422
    problem = r.json()
    assert problem["title"] == "The request has invalid fields"
    assert {e["field"] for e in problem["errors"]} == {"name", "qualification_type", "id_number"}
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert messages["id_number"] == "check digit should be 9, got 8"
    assert messages["name"] == "must not be empty"


@pytest.mark.parametrize(
    ("send", "field"),
    [
        pytest.param({"content": b"{not json", "ctype": "application/json"}, "body", id="bad-json"),
        pytest.param({"json": [1, 2]}, "body", id="not-an-object"),
        pytest.param({"json": {"name": "x"}}, "sex", id="missing-fields"),
        pytest.param({"json": {**application(1), "extra": "1"}}, "extra", id="unknown-field"),
        pytest.param({"json": {**application(1), "name": 7}}, "name", id="wrong-type"),
    ],
)
def test_malformed_request_is_422_problem(issuer_env: IssuerHarness, send, field) -> None:
    headers = issuer_env.headers()
    if "ctype" in send:
        headers["Content-Type"] = send["ctype"]
    r = issuer_env.client.post(
        "/api/v1/certificates", content=send.get("content"), json=send.get("json"), headers=headers
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in r.json()["errors"]}
    assert _count(issuer_env, "certificate") == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_json_not_in_utf8_is_400_and_stores_nothing(issuer_env: IssuerHarness, encoding) -> None:
    """RFC 8259 8.1: JSON between systems is UTF-8, without a byte-order mark; json.loads
    of bytes would guess UTF-16 and UTF-32 and issue from them."""
    body = json.dumps(application(1), ensure_ascii=False).encode(encoding)
    headers = {**issuer_env.headers(), "Content-Type": "application/json"}
    r = issuer_env.client.post("/api/v1/certificates", content=body, headers=headers)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/invalid_body")
    assert _count(issuer_env, "certificate") == 0
    # the same application in UTF-8 is issued
    r = issuer_env.client.post(
        "/api/v1/certificates",
        content=json.dumps(application(1), ensure_ascii=False).encode("utf-8"),
        headers={**issuer_env.headers(), "Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201, r.text


def test_missing_idempotency_key_is_422_naming_the_header(issuer_env: IssuerHarness) -> None:
    headers = issuer_env.headers()
    del headers["Idempotency-Key"]
    r = issuer_env.client.post("/api/v1/certificates", json=application(1), headers=headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["Idempotency-Key"]


def test_wrong_or_missing_api_key_is_401_problem(issuer_env: IssuerHarness) -> None:
    for auth in (None, "Bearer wrong", "Basic " + "x" * 10):
        headers = issuer_env.headers()
        headers.pop("Authorization")
        if auth:
            headers["Authorization"] = auth
        r = issuer_env.client.post("/api/v1/certificates", json=application(1), headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert _count(issuer_env, "certificate") == 0


def test_unknown_certificate_and_status_list_are_404_problems(issuer_env: IssuerHarness) -> None:
    r = issuer_env.client.get(
        "/api/v1/certificates/20261100142999999", headers=issuer_env.headers()
    )
    assert r.status_code == 404
    assert r.json()["type"].endswith("/not_found")
    assert issuer_env.client.get("/statuslists/99").status_code == 404
    assert issuer_env.client.get("/statuslists/abc").status_code == 422
