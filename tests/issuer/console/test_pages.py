"""The console in a browser's place (TestClient): an admin creates an officer, who sets a
password, enrols TOTP (codes computed with pyotp), signs in and sees the home page; forms
without their token are refused; sign-in always makes a new session."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer import console
from issuer.web.deps import now as now_dependency
from tests.factory.issuer import IssuerHarness, ensure_office, officer, rows
from tests.issuer.console.test_signin import PASSWORD

ORIGIN = {"Origin": "http://testserver"}


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name}"
    return found[1]


CLOCK = {"now": dt.datetime(2026, 12, 5, 9, 0, 7, tzinfo=dt.UTC)}


@pytest.fixture(autouse=True)
def clock(issuer_env: IssuerHarness) -> Iterator[dict[str, dt.datetime]]:
    """The app's clock, moved on a TOTP step before each code (each step signs in once)."""
    CLOCK["now"] = dt.datetime(2026, 12, 5, 9, 0, 7, tzinfo=dt.UTC)
    issuer_env.app.dependency_overrides[now_dependency] = lambda: CLOCK["now"]
    try:
        yield CLOCK
    finally:
        issuer_env.app.dependency_overrides.clear()


def _code(secret: str) -> str:
    """Return the TOTP code of the next 30 s step (the clock moves there)."""
    CLOCK["now"] += dt.timedelta(seconds=30)
    return pyotp.TOTP(secret).at(CLOCK["now"])


def _enrol_by_page(env: IssuerHarness, username: str, code: str) -> str:
    """Enrol through the pages with enrolment ``code``; return the TOTP secret."""
    c = env.client
    page = c.get("/office/enrol")
    assert page.status_code == 200
    pre = _hidden(page.text, "csrf")
    r = c.post(
        "/office/enrol",
        data={
            "username": username,
            "code": code,
            "password": PASSWORD,
            "password2": PASSWORD,
            "csrf": pre,
        },
        headers=ORIGIN,
    )
    assert r.status_code == 200, r.text
    assert "<svg" in r.text and "otpauth" not in r.text.split("<svg")[0]
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', r.text)[1]
    recovery = re.findall(r"<li>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</li>", r.text)
    assert len(recovery) == 10
    done = c.post(
        "/office/enrol/confirm",
        data={"username": username, "code": code, "totp": _code(secret), "csrf": pre},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/office/signin?enrolled=1")
    return secret


def _sign_in(env: IssuerHarness, username: str, code: str):
    c = env.client
    pre = _hidden(c.get("/office/signin").text, "csrf")
    return c.post(
        "/office/signin",
        data={"username": username, "password": PASSWORD, "code": code, "csrf": pre},
        headers=ORIGIN,
        follow_redirects=False,
    )


def _admin(env: IssuerHarness) -> str:
    """Make an admin (with an API key, as the factory does) enrolled from the command
    line; sign in; return their TOTP secret and the codes used."""
    officer(env, "ada", "admin")
    with Session(env.engine) as s:
        oid = s.execute(sa.text("SELECT id FROM officer WHERE username='ada'")).scalar_one()
        code = console.issue_enrolment(
            s,
            officer_id=oid,
            office_id=None,
            issued_by=None,
            actor="cli",
            settings=env.settings,
            now=dt.datetime.now(dt.UTC),
        )
    secret = _enrol_by_page(env, "ada", code)
    r = _sign_in(env, "ada", _code(secret))
    assert r.status_code == 303, r.text
    return secret


def test_admin_creates_a_clerk_who_enrols_signs_in_and_sees_home(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    _admin(issuer_env)
    c = issuer_env.client
    officers = c.get("/office/officers")
    assert officers.status_code == 200
    assert 'lang="zh-CN"' in officers.text
    token = _hidden(officers.text, "csrf")
    made = c.post(
        "/office/officers",
        data={"username": "cy", "display_name": "陈一", "role": "clerk", "csrf": token},
        headers=ORIGIN,
    )
    assert made.status_code == 201, made.text
    code = re.search(r'id="issued-code">([A-Z0-9-]+)<', made.text)[1]
    # the admin signs out; the clerk takes the browser
    out = c.post("/office/signout", data={"csrf": token}, headers=ORIGIN, follow_redirects=False)
    assert out.status_code == 303
    assert c.get("/office", follow_redirects=False).status_code == 303
    secret = _enrol_by_page(issuer_env, "cy", code)
    r = _sign_in(issuer_env, "cy", _code(secret))
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/office" in cookie
    home = c.get("/office")
    assert home.status_code == 200
    assert "陈一" in home.text and "经办人员" in home.text
    assert "default-src 'none'" in home.headers["content-security-policy"]
    en = c.get("/office?lang=en")
    assert 'lang="en"' in en.text and "Clerk" in en.text
    # a clerk is not shown, and may not open, the officers page
    assert "/office/officers" not in home.text
    assert c.get("/office/officers").status_code == 403
    actions = [r["action"] for r in rows(issuer_env, "SELECT action FROM audit_record ORDER BY id")]
    assert actions.count("console.signin") == 2 and "console.signout" in actions
    assert "officer.created" in actions and actions.count("console.enrolment_issued") == 2


def test_a_supervisor_from_the_console_waits_for_a_second_admin(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    _admin(issuer_env)
    c = issuer_env.client
    token = _hidden(c.get("/office/officers").text, "csrf")
    r = c.post(
        "/office/officers",
        data={"username": "sup", "display_name": "审核", "role": "supervisor", "csrf": token},
        headers=ORIGIN,
    )
    assert r.status_code == 202, r.text
    assert not rows(issuer_env, "SELECT id FROM officer WHERE username='sup'")
    pending = rows(issuer_env, "SELECT kind, target FROM pending_action")
    assert pending == [{"kind": "create_officer", "target": "sup"}]


def test_a_bad_field_is_named_beside_it(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    _admin(issuer_env)
    c = issuer_env.client
    token = _hidden(c.get("/office/officers").text, "csrf")
    r = c.post(
        "/office/officers",
        data={"username": "Bad Name!", "display_name": "x", "role": "clerk", "csrf": token},
        headers=ORIGIN,
    )
    assert r.status_code == 422
    assert 'aria-describedby="new-username-error"' in r.text
    assert 'id="new-username-error"' in r.text


def test_a_form_without_its_token_is_refused_naming_it(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    _admin(issuer_env)
    c = issuer_env.client
    for data in (
        {"username": "x1", "display_name": "x", "role": "clerk"},
        {"username": "x1", "display_name": "x", "role": "clerk", "csrf": "forged"},
    ):
        r = c.post("/office/officers", data=data, headers=ORIGIN)
        assert r.status_code == 403
        assert "表单令牌" in r.text  # named in words, without the acronym
    # the right token from another site is refused too
    token = _hidden(c.get("/office/officers").text, "csrf")
    r = c.post(
        "/office/officers",
        data={"username": "x1", "display_name": "x", "role": "clerk", "csrf": token},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code in (403,)
    # sign-in's own form needs its double-submit token
    c.cookies.clear()
    r = c.post(
        "/office/signin",
        data={"username": "ada", "password": PASSWORD, "code": "1"},
        headers=ORIGIN,
    )
    assert r.status_code == 403 and "表单令牌" in r.text
    assert not rows(issuer_env, "SELECT id FROM officer WHERE username='x1'")


def test_sign_in_makes_a_new_session_whatever_cookie_came_before(
    issuer_env: IssuerHarness,
) -> None:
    ensure_office(issuer_env)
    secret = _admin(issuer_env)
    c = issuer_env.client
    first = c.cookies.get("jz_office", path="/office")
    assert first
    planted = "attacker-chosen-session-token-0123456789"
    c.cookies.set("jz_office", planted, path="/office")
    r = _sign_in(issuer_env, "ada", _code(secret))
    assert r.status_code == 303
    new = re.search(r"jz_office=([^;]+);", r.headers["set-cookie"])[1]
    assert new not in (first, planted)
    assert len(rows(issuer_env, "SELECT id FROM console_session")) == 2


def test_an_idle_session_sends_the_officer_back_to_sign_in(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    _admin(issuer_env)
    c = issuer_env.client
    assert c.get("/office").status_code == 200
    CLOCK["now"] += dt.timedelta(minutes=issuer_env.settings.console_idle_minutes)
    r = c.get("/office", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/office/signin"
    ended = rows(issuer_env, "SELECT action FROM audit_record ORDER BY id DESC LIMIT 1")
    assert ended == [{"action": "console.session_ended"}]


def test_lockout_shows_a_429_page_beside_the_form(issuer_env: IssuerHarness) -> None:
    ensure_office(issuer_env)
    secret = _admin(issuer_env)
    c = issuer_env.client
    c.cookies.clear()
    pre = _hidden(c.get("/office/signin?lang=en").text, "csrf")
    for i in range(issuer_env.settings.console_max_failures + 1):
        r = c.post(
            "/office/signin",
            data={
                "username": "ada",
                "password": "wrong password",
                "code": _code(secret),
                "csrf": pre,
                "lang": "en",
            },
            headers=ORIGIN,
        )
        assert r.status_code == (401 if i < issuer_env.settings.console_max_failures else 429)
    assert "Too many attempts" in r.text and 'role="alert"' in r.text
    assert 'aria-describedby="signin-error"' in r.text


def test_enrolment_errors_appear_beside_their_fields(issuer_env: IssuerHarness) -> None:
    c = issuer_env.client
    pre = _hidden(c.get("/office/enrol").text, "csrf")
    r = c.post(
        "/office/enrol",
        data={
            "username": "cy",
            "code": "AAAA-BBBB-CCCC-DDDD",
            "password": "short",
            "password2": "short",
            "csrf": pre,
        },
        headers=ORIGIN,
    )
    assert r.status_code == 422
    assert 'aria-describedby="password-hint password-error"' in r.text
    assert 'id="password-error"' in r.text
    r = c.post(
        "/office/enrol",
        data={
            "username": "cy",
            "code": "AAAA-BBBB-CCCC-DDDD",
            "password": PASSWORD,
            "password2": PASSWORD + "x",
            "csrf": pre,
        },
        headers=ORIGIN,
    )
    assert r.status_code == 422 and 'id="password2-error"' in r.text


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/office/static/..%2fbase.html", None),
        ("get", "/office/static/office.js", None),
        ("get", "/office/officers?lang=%00%ff", None),
        ("post", "/office/officers/0/role", {"role": "admin"}),
        ("post", "/office/officers/99999999999/deactivate", {}),
        ("post", "/office/officers/2/nonsense", {}),
        ("post", "/office/officers/99999/enrolment", {}),
        ("post", "/office/officers/1/role", {"role": "\x00" * 300}),
        ("post", "/office/signin", {"username": "é" * 500, "password": "x", "code": "x"}),
        ("post", "/office/enrol/confirm", {"username": "", "code": "", "totp": "𝟙𝟚𝟛𝟜𝟝𝟞"}),
    ],
)
def test_hostile_requests_get_no_5xx(
    issuer_env: IssuerHarness, method: str, path: str, data: dict | None
) -> None:
    ensure_office(issuer_env)
    _admin(issuer_env)
    c = issuer_env.client
    token = _hidden(c.get("/office/officers").text, "csrf")
    body = None if data is None else {**data, "csrf": token}
    r = getattr(c, method)(path, **({} if body is None else {"data": body}), headers=ORIGIN)
    assert r.status_code < 500, (path, r.status_code, r.text[:300])
