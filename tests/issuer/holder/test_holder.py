"""The teacher's pages on the issuer: a claim code from the office, downloads of the
teacher's own certificates, purpose-bound copies that expire."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess

import pytest
import sqlalchemy as sa

from credential import Reason, Verdict, VerifyPolicy, extract_token, parse_jws, verify
from issuer.db import tables
from issuer.db.models import AuditRecord, HolderClaimCode
from issuer.web.deps import now as now_dependency
from tests.factory.issuer import API_KEY, IssuerHarness, application
from verifier.extract import extract

ORIGIN = {"Origin": "http://testserver"}
OFFICE = {"Authorization": f"Bearer {API_KEY}"}
VERIFIER = "https://verify.example.cn"
POLICY = VerifyPolicy(verifier_origin=VERIFIER)


def _issue(env: IssuerHarness, i: int, **over: str) -> dict:
    r = env.issue(application(i, **over))
    assert r.status_code == 201, r.text
    return r.json()


def _claim_code(env: IssuerHarness, number: str) -> str:
    r = env.client.post(f"/api/v1/certificates/{number}/claim-code", headers=OFFICE)
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()["claim_code"]


def _login(env: IssuerHarness, number: str, code: str, **headers: str):
    env.client.cookies.clear()
    return env.client.post(
        "/holder/login",
        data={"number": number, "code": code},
        headers={**ORIGIN, **headers},
        follow_redirects=False,
    )


def _logged_in(env: IssuerHarness, number: str, code: str) -> str:
    r = _login(env, number, code)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/holder/certificates"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/holder" in cookie
    page = env.client.get("/holder/certificates")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match is not None
    return match.group(1)


def _audit(env: IssuerHarness, action: str) -> list[AuditRecord]:
    with env.engine.connect() as conn:
        rows = conn.execute(
            sa.select(tables.AUDIT_RECORD).where(tables.AUDIT_RECORD.c.action == action)
        ).all()
    return list(rows)


def _pdftotext(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def test_claim_code_is_shown_once_and_stored_only_as_a_keyed_hash(
    issuer_env: IssuerHarness,
) -> None:
    cert = _issue(issuer_env, 11)
    number = cert["certificate_number"]
    code = _claim_code(issuer_env, number)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}(-[2-9A-HJKMNP-Z]{4}){3}", code)
    with issuer_env.engine.connect() as conn:
        rows = conn.execute(sa.select(tables.HOLDER_CLAIM_CODE)).all()
        dump = json.dumps([[str(v) for v in r] for r in rows])
    assert len(rows) == 1
    bare = code.replace("-", "")
    assert bare not in dump and code not in dump and bare.lower() not in dump
    assert re.fullmatch(r"[0-9a-f]{64}", rows[0].code_hash)
    (issued,) = _audit(issuer_env, "holder.claim_code_issued")
    assert issued.subject == number and bare not in issued.detail_json
    # A new code replaces the old one (one row per person); the old one stops working.
    again = issuer_env.client.post(f"/api/v1/certificates/{number}/claim-code", headers=OFFICE)
    assert again.json()["replaced_previous"] is True
    with issuer_env.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(HolderClaimCode)).scalar() == 1
    assert _login(issuer_env, number, code).status_code == 401
    # Lower case, spaces instead of dashes: still the code.
    typed = again.json()["claim_code"].lower().replace("-", " ")
    assert _login(issuer_env, number, typed).status_code == 303


def test_claim_code_needs_a_clerk_and_a_known_number(issuer_env: IssuerHarness) -> None:
    number = _issue(issuer_env, 12)["certificate_number"]
    r = issuer_env.client.post(f"/api/v1/certificates/{number}/claim-code")
    assert r.status_code == 401
    r = issuer_env.client.post("/api/v1/certificates/20261100142000999/claim-code", headers=OFFICE)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_wrong_codes_lock_the_number_after_five_and_never_say_if_it_exists(
    issuer_env: IssuerHarness,
) -> None:
    number = _issue(issuer_env, 13)["certificate_number"]
    code = _claim_code(issuer_env, number)
    unknown = "20261100142000999"
    wrong_known = _login(issuer_env, number, "AAAA-BBBB-CCCC-DDDD")
    wrong_unknown = _login(issuer_env, unknown, "AAAA-BBBB-CCCC-DDDD")
    assert wrong_known.status_code == wrong_unknown.status_code == 401
    assert wrong_known.text.replace(number, unknown) == wrong_unknown.text
    for _ in range(4):
        assert _login(issuer_env, number, "AAAA-BBBB-CCCC-DDDD").status_code == 401
    locked = _login(issuer_env, number, code)  # the right code, but locked now
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "set-cookie" not in locked.headers
    with issuer_env.engine.connect() as conn:
        row = conn.execute(
            sa.select(tables.HOLDER_ATTEMPT).where(
                tables.HOLDER_ATTEMPT.c.key == f"number:{number}"
            )
        ).one()
    assert row.locked_until is not None
    assert len(_audit(issuer_env, "holder.login_failed")) == 6
    (lockout,) = _audit(issuer_env, "holder.lockout")
    assert lockout.subject == number and json.loads(lockout.detail_json)["by"] == "number"
    assert len(_audit(issuer_env, "holder.login_refused")) == 1
    # Another person's number is not affected.
    other = _issue(issuer_env, 14)["certificate_number"]
    assert _login(issuer_env, other, _claim_code(issuer_env, other)).status_code == 303


def test_the_lock_comes_back_after_it_has_run_out(issuer_env: IssuerHarness) -> None:
    # A failure after an expired lock starts a new count: five more lock the number again
    # (it once stayed unlockable for ever after its first lockout).
    number = _issue(issuer_env, 15)["certificate_number"]
    code = _claim_code(issuer_env, number)
    clock = {"now": dt.datetime.now(dt.UTC)}
    issuer_env.app.dependency_overrides[now_dependency] = lambda: clock["now"]
    try:
        for _ in range(5):
            assert _login(issuer_env, number, "AAAA-BBBB-CCCC-DDDD").status_code == 401
        assert _login(issuer_env, number, code).status_code == 429
        clock["now"] += dt.timedelta(minutes=16)
        for _ in range(5):
            assert _login(issuer_env, number, "AAAA-BBBB-CCCC-DDDD").status_code == 401
        assert _login(issuer_env, number, code).status_code == 429
        clock["now"] += dt.timedelta(minutes=16)
        assert _login(issuer_env, number, code).status_code == 303
    finally:
        issuer_env.app.dependency_overrides.clear()
    assert len(_audit(issuer_env, "holder.lockout")) == 2


def test_the_client_address_is_limited_too(issuer_env: IssuerHarness) -> None:
    limit = issuer_env.settings.holder_address_max_failures
    for i in range(limit):
        number = f"2026110014200{i:04d}"
        assert _login(issuer_env, number, "AAAA-BBBB-CCCC-DDDD").status_code == 401
    r = _login(issuer_env, "20261100142009999", "AAAA-BBBB-CCCC-DDDD")
    assert r.status_code == 429
    assert any(
        json.loads(a.detail_json)["by"] == "address" for a in _audit(issuer_env, "holder.lockout")
    )


def test_a_teacher_sees_only_their_own_certificates(issuer_env: IssuerHarness) -> None:
    mine = _issue(issuer_env, 21)
    also_mine = _issue(issuer_env, 21, qualification_type="higher_education", subject="数学")
    theirs = _issue(issuer_env, 22)
    code = _claim_code(issuer_env, also_mine["certificate_number"])  # any of my numbers
    csrf = _logged_in(issuer_env, mine["certificate_number"], code)
    page = issuer_env.client.get("/holder/certificates")
    assert mine["certificate_number"] in page.text
    assert also_mine["certificate_number"] in page.text
    assert theirs["certificate_number"] not in page.text
    assert application(21)["id_number"] not in page.text  # the list shows it masked
    assert mine["id_number_masked"] in page.text
    assert page.headers["cache-control"] == "no-store"
    nobody = "20261100142000999"
    for suffix in (".json", ".vc.jwt", ".pdf"):
        r = issuer_env.client.get(f"/holder/certificates/{theirs['certificate_number']}{suffix}")
        assert r.status_code == 404, suffix
        none = issuer_env.client.get(f"/holder/certificates/{nobody}{suffix}")
        # Someone else's certificate looks exactly like one that does not exist.
        assert r.text.replace(theirs["certificate_number"], nobody) == none.text
        assert application(22)["name"] not in r.text
    r = issuer_env.client.post(
        f"/holder/certificates/{theirs['certificate_number']}/copy",
        data={"purpose": "应聘", "days": "30", "csrf": csrf},
        headers=ORIGIN,
    )
    assert r.status_code == 404


def test_downloads_are_the_issued_credential(issuer_env: IssuerHarness) -> None:
    cert = _issue(issuer_env, 31)
    number = cert["certificate_number"]
    _logged_in(issuer_env, number, _claim_code(issuer_env, number))
    jws = issuer_env.client.get(f"/holder/certificates/{number}.vc.jwt")
    assert jws.status_code == 200
    assert jws.headers["content-type"].startswith("application/vc+jwt")
    assert f'filename="{number}.vc.jwt"' in jws.headers["content-disposition"]
    assert jws.text == cert["credential"]
    doc = issuer_env.client.get(f"/holder/certificates/{number}.json")
    assert doc.status_code == 200
    body = doc.json()
    assert body["jws"] == cert["credential"]
    assert body["credential"] == dict(parse_jws(cert["credential"]).payload)
    assert body["header"]["typ"] == "vc+jwt"
    assert body["credential"]["credentialSubject"]["certificateNumber"] == number
    assert body["certificate_number"] == number
    pdf = issuer_env.client.get(f"/holder/certificates/{number}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    found = extract(pdf.content)
    assert found.credential == cert["credential"]
    assert found.qr == cert["qr_url"]


def test_purpose_copy_masks_the_id_carries_purpose_and_expires(
    issuer_env: IssuerHarness,
) -> None:
    cert = _issue(issuer_env, 41)
    number = cert["certificate_number"]
    csrf = _logged_in(issuer_env, number, _claim_code(issuer_env, number))
    purpose = "应聘北京市第一中学教师岗位"
    r = issuer_env.client.post(
        f"/holder/certificates/{number}/copy",
        data={"purpose": purpose, "days": "30", "csrf": csrf},
        headers=ORIGIN,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert f'filename="{number}-copy.pdf"' in r.headers["content-disposition"]
    text = _pdftotext(r.content)
    assert application(41)["id_number"] not in text
    assert cert["id_number_masked"] in text
    assert purpose in text.replace(" ", "")
    found = extract(r.content)
    assert found.credential is None  # no full identity number rides along
    assert found.qr is not None and found.qr.startswith("https://verify.example.cn/v#")
    token = extract_token(found.qr, verifier_origin=VERIFIER)
    claims = parse_jws(token).payload
    assert claims["p"] == purpose and claims["sub"] == number
    assert parse_jws(token).header["typ"] == "jiaozi-qr+jwt"
    now = dt.datetime.now(dt.UTC)
    assert 29 * 86400 < claims["exp"] - now.timestamp() <= 31 * 86400

    def status(uri: str):
        return issuer_env.status_snapshot(uri)

    today = verify(found.qr, trust=issuer_env.trust, status=status, now=now, policy=POLICY)
    assert today.verdict is Verdict.VALID, today
    assert today.certificate is not None and today.certificate.purpose == purpose
    later = dt.datetime.fromtimestamp(claims["exp"] + 60, dt.UTC)
    expired = verify(found.qr, trust=issuer_env.trust, status=status, now=later, policy=POLICY)
    assert expired.verdict is Verdict.NOT_VALID
    assert expired.reason is Reason.EXPIRED

    # The office sees what copies exist; the make is audited.
    with issuer_env.engine.connect() as conn:
        (row,) = conn.execute(sa.select(tables.HOLDER_COPY)).all()
    assert row.purpose == purpose and row.certificate_number == number
    listed = issuer_env.client.get(f"/api/v1/certificates/{number}/copies", headers=OFFICE)
    assert listed.status_code == 200
    assert [c["purpose"] for c in listed.json()] == [purpose]
    # the expiry as the token says it (stored in UTC: SQLite keeps no zone)
    expires = dt.datetime.fromtimestamp(claims["exp"], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listed.json()[0]["expires_at"] == expires
    assert len(_audit(issuer_env, "holder.copy_made")) == 1


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"purpose": "", "days": "30"}, 422),
        ({"purpose": "x" * 61, "days": "30"}, 422),
        ({"purpose": "y" * 100_000, "days": "30"}, 422),
        ({"purpose": "应聘", "days": "0"}, 422),
        ({"purpose": "应聘", "days": "91"}, 422),
        ({"purpose": "应聘", "days": "abc"}, 422),
        ({"purpose": "a\x00b", "days": "3"}, 422),
        ({"purpose": "应" * 32, "days": "30"}, 422),  # 32 characters, but not on one line
        ({"purpose": "\U000f0000", "days": "30"}, 422),  # in no font
    ],
)
def test_bad_copy_requests_are_4xx_pages(issuer_env: IssuerHarness, data, status) -> None:
    number = _issue(issuer_env, 51)["certificate_number"]
    csrf = _logged_in(issuer_env, number, _claim_code(issuer_env, number))
    r = issuer_env.client.post(
        f"/holder/certificates/{number}/copy", data={**data, "csrf": csrf}, headers=ORIGIN
    )
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    with issuer_env.engine.connect() as conn:  # refused before anything is signed or kept
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(tables.HOLDER_COPY)).scalar_one()
            == 0
        )


def test_bad_holder_requests_never_500(issuer_env: IssuerHarness) -> None:
    number = _issue(issuer_env, 52)["certificate_number"]
    code = _claim_code(issuer_env, number)
    c = issuer_env.client
    # Not logged in.
    assert c.get(f"/holder/certificates/{number}.json").status_code == 401
    r = c.get("/holder/certificates", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/holder"
    # Login form: wrong shapes, no origin, a foreign origin.
    assert _login(issuer_env, "", "").status_code == 422
    assert _login(issuer_env, "1234", code).status_code == 422
    assert _login(issuer_env, number, "").status_code == 422
    assert _login(issuer_env, number, "z" * 5000).status_code == 422
    r = c.post("/holder/login", data={"number": number, "code": code}, follow_redirects=False)
    assert r.status_code == 403
    r = _login(issuer_env, number, code, Origin="https://evil.example")
    assert r.status_code == 403
    r = c.post(
        "/holder/login",
        data={"number": number, "code": code},
        headers={"Referer": "http://testserver/holder"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = c.post(
        "/holder/login",
        data={"number": number, "code": code},
        headers={"Referer": "http://[x/holder"},  # not a URL: urlsplit raises
        follow_redirects=False,
    )
    assert r.status_code == 403
    # Logged in: bad file names, a copy without the form token or from elsewhere.
    csrf = _logged_in(issuer_env, number, code)
    for path in ("abc.json", f"{number}.exe", f"{number}", "1" * 400 + ".pdf", f"{number}.JSON"):
        r = c.get(f"/holder/certificates/{path}")
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
    for data, headers in (
        ({"purpose": "应聘", "days": "30"}, ORIGIN),
        ({"purpose": "应聘", "days": "30", "csrf": "0" * 32}, ORIGIN),
        ({"purpose": "应聘", "days": "30", "csrf": csrf}, {"Origin": "https://evil.example"}),
    ):
        r = c.post(f"/holder/certificates/{number}/copy", data=data, headers=headers)
        assert r.status_code == 403
    r = c.post("/holder/certificates/123/copy", data={"csrf": csrf}, headers=ORIGIN)
    assert r.status_code == 404
    r = c.post("/holder/logout", data={}, headers=ORIGIN, follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/holder/logout", data={"csrf": csrf}, headers=ORIGIN, follow_redirects=False)
    assert r.status_code == 303


def test_pages_are_mobile_first_and_bilingual(issuer_env: IssuerHarness) -> None:
    zh = issuer_env.client.get("/holder")
    assert zh.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in zh.text
    assert 'lang="zh-CN"' in zh.text and "领取码" in zh.text
    assert "<script" not in zh.text
    assert "frame-ancestors 'none'" in zh.headers["content-security-policy"]
    en = issuer_env.client.get("/holder?lang=en")
    assert 'lang="en"' in en.text and "Claim code" in en.text
    by_header = issuer_env.client.get("/holder", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Claim code" in by_header.text
    css = issuer_env.client.get("/holder/holder.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_a_new_code_ends_the_sessions_of_the_old_one(issuer_env: IssuerHarness) -> None:
    number = _issue(issuer_env, 61)["certificate_number"]
    _logged_in(issuer_env, number, _claim_code(issuer_env, number))
    assert issuer_env.client.get(f"/holder/certificates/{number}.vc.jwt").status_code == 200
    _claim_code(issuer_env, number)  # the office hands out a new one
    assert issuer_env.client.get(f"/holder/certificates/{number}.vc.jwt").status_code == 401


def test_a_forged_session_cookie_is_refused(issuer_env: IssuerHarness) -> None:
    number = _issue(issuer_env, 62)["certificate_number"]
    _claim_code(issuer_env, number)
    for cookie in (
        "1.9999999999." + "0" * 64,
        "99999999999999.9999999999." + "0" * 64,
        "garbage",
        "1.2",
        "x" * 500,
    ):
        issuer_env.client.cookies.set("jz_holder", cookie, path="/holder")
        r = issuer_env.client.get(f"/holder/certificates/{number}.json")
        assert r.status_code == 401, cookie
        issuer_env.client.cookies.clear()
    # "²" is a digit to str.isdigit() but not to int(): once a 500, now refused
    raw = ("jz_holder=\u00b2.9999999999." + "0" * 64).encode("latin-1")
    r = issuer_env.client.get(f"/holder/certificates/{number}.json", headers={"Cookie": raw})
    assert r.status_code == 401


def test_old_attempt_counters_are_pruned_by_a_successful_login(issuer_env: IssuerHarness) -> None:
    number = _issue(issuer_env, 63)["certificate_number"]
    code = _claim_code(issuer_env, number)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    table = tables.HOLDER_ATTEMPT
    with issuer_env.engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {"key": "addr:192.0.2.1", "failures": 3, "window_start": old},
                {"key": "number:20261100142000111", "failures": 1, "window_start": old},
            ],
        )
    assert _login(issuer_env, number, code).status_code == 303
    with issuer_env.engine.connect() as conn:
        keys = set(conn.execute(sa.select(table.c.key)).scalars())
    assert "addr:192.0.2.1" not in keys and "number:20261100142000111" not in keys
    assert f"number:{number}" in keys  # today's stays


def test_copies_of_a_certificate_are_capped_per_beijing_day(issuer_env: IssuerHarness) -> None:
    """Each copy is a signed token, a signed PDF and an audited row: one certificate gets
    at most holder_max_copies_per_day a day; the next day (Beijing time) it gets more."""
    limit = issuer_env.settings.holder_max_copies_per_day
    number = _issue(issuer_env, 61)["certificate_number"]
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    clock = {"now": dt.datetime.combine(tomorrow, dt.time(15, 50), dt.UTC)}  # 23:50 in Beijing
    issuer_env.app.dependency_overrides[now_dependency] = lambda: clock["now"]
    try:
        csrf = _logged_in(issuer_env, number, _claim_code(issuer_env, number))

        def copy():
            return issuer_env.client.post(
                f"/holder/certificates/{number}/copy",
                data={"purpose": "应聘", "days": "7", "csrf": csrf},
                headers=ORIGIN,
            )

        for _ in range(limit):
            assert copy().status_code == 200
        refused = copy()
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("text/html")
        assert "今日生成的加注件已达上限" in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 10 * 60 + 1  # till 00:00 Beijing
        clock["now"] += dt.timedelta(minutes=15)  # 00:05 the next day in Beijing
        assert copy().status_code == 200
    finally:
        issuer_env.app.dependency_overrides.pop(now_dependency, None)
    with issuer_env.engine.connect() as conn:
        made = conn.execute(sa.select(sa.func.count()).select_from(tables.HOLDER_COPY))
        assert made.scalar_one() == limit + 1
    assert len(_audit(issuer_env, "holder.copy_made")) == limit + 1


@pytest.mark.parametrize("token", ["", "0" * 32, "令牌" * 16, "\ufffd" * 32])
def test_a_wrong_form_token_is_a_403_page_whatever_its_characters(
    issuer_env: IssuerHarness, token: str
) -> None:
    # compared in constant time, as bytes: non-ASCII text must not reach compare_digest as str
    number = _issue(issuer_env, 53)["certificate_number"]
    right = _logged_in(issuer_env, number, _claim_code(issuer_env, number))
    assert token != right
    r = issuer_env.client.post(
        f"/holder/certificates/{number}/copy",
        data={"purpose": "应聘", "days": "30", "csrf": token},
        headers=ORIGIN,
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
