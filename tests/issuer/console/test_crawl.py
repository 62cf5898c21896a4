"""A hostile crawl of the office console: signed in as an admin, every route under
/office in the app's route table (so each new page is crawled without being named here)
is asked with hostile path and query values, and every POST form is sent without its
token, with a wrong one, and with hostile fields. No answer may be a 5xx, show a
traceback, or echo a script tag unescaped; a form without its right token changes
nothing (a 4xx)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pyotp
import pytest
import sqlalchemy as sa
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from issuer import console
from tests.factory.issuer import (
    IssuerHarness,
    application,
    bad_rows_file,
    ensure_office,
    officer,
    poll_batch,
    post_batch,
)

ORIGIN = {"Origin": "http://testserver"}
PASSWORD = "crawl-password-0123456789"
SCRIPT = "<script>alert(1)</script>"
# what a hostile caller types into a parameter: long, traversal, NUL, markup, numbers out
# of range, dates that are not, unknown ids, SQL, full-width digits, control characters
HOSTILE = (
    "x" * 5000,
    "../../../etc/passwd",
    "..%2F..%2F",
    "\x00",
    "%00",
    SCRIPT,
    "-1",
    "0",
    "99999999999999999999999999",
    "9223372036854775808",
    "1e309",
    "NaN",
    "2026-13-45",
    "2026-02-30T25:61:00",
    "0000-00-00",
    "' OR 1=1 --",
    "１２３",
    "\r\nX-Injected: 1",
    "urn:jiaozi:office:99999",
    "",
)
# generic query parameters a page might read (each route's own, from its signature, get
# every hostile value; these a few)
GENERIC_QUERY = ("lang", "page", "q", "after", "before", "id", "status", "sort")
FEW = (SCRIPT, "x" * 5000, "-1", "\x00", "2026-13-45")
# POSTs that would end the crawl's own session when sent with the right token
SESSION_ENDING = {"/office/signout"}
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/|sqlalchemy\.exc|\bat 0x")


@dataclass
class Admin:
    env: IssuerHarness
    recovery: list[str]
    known: dict[str, str]  # path parameter -> a value that names something that exists

    @property
    def client(self):  # the TestClient
        return self.env.client

    def token(self) -> str:
        """Return the signed-in admin's form token (from the home page), signing in again
        with a recovery code if a request ended the session."""
        home = self.client.get("/office", follow_redirects=False)
        if home.status_code != 200:
            self.sign_in(self.recovery.pop())
            home = self.client.get("/office", follow_redirects=False)
        assert home.status_code == 200, home.text
        found = re.search(r'name="csrf" value="([^"]+)"', home.text)
        assert found, home.text
        return found[1]

    def sign_in(self, code: str) -> None:
        form = self.client.get("/office/signin")
        pre = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert pre, form.text
        r = self.client.post(
            "/office/signin",
            data={"username": "crawl", "password": PASSWORD, "code": code, "csrf": pre[1]},
            headers=ORIGIN,
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text


@pytest.fixture
def admin(request: pytest.FixtureRequest, issuer_env: IssuerHarness) -> Iterator[Admin]:
    """An officer (an admin, or the role given as the fixture's parameter) enrolled through
    ``issuer.console`` (confirmed with the previous step's code, so the current one signs
    in), signed in; a certificate and a finished batch exist."""
    ensure_office(issuer_env)
    made = issuer_env.issue(application(1))  # before any officer: the bootstrap key
    assert made.status_code == 201, made.text
    data, _, _ = bad_rows_file()
    batch = post_batch(issuer_env, data, "crawl.csv")
    assert batch.status_code == 202, batch.text
    assert poll_batch(issuer_env, batch.json()["id"])["state"] == "done"
    known = {
        "number": made.json()["certificate_number"],
        "batch_id": str(batch.json()["id"]),
        "name": "errors.csv",
        "action": "revoke",
    }
    role = getattr(request, "param", "admin")
    officer(issuer_env, "crawl", role)
    now = dt.datetime.now(dt.UTC)
    s = issuer_env.settings
    with Session(issuer_env.engine) as session:
        oid = session.execute(sa.text("SELECT id FROM officer WHERE username='crawl'")).scalar()
        code = console.issue_enrolment(
            session, officer_id=oid, office_id=None, issued_by=None, actor="cli",
            settings=s, now=now,
        )  # fmt: skip
        made = console.start_enrolment(
            session, username="crawl", code=code, password=PASSWORD, client="t",
            settings=s, now=now,
        )  # fmt: skip
        earlier = pyotp.TOTP(made.secret).at(now - dt.timedelta(seconds=30))
        console.confirm_enrolment(
            session, username="crawl", code=code, totp_code=earlier, client="t",
            settings=s, now=now,
        )  # fmt: skip
    who = Admin(issuer_env, list(made.recovery_codes), known)
    who.sign_in(pyotp.TOTP(made.secret).at(now))
    yield who


def _walk(routes: list[Any]) -> Iterator[APIRoute]:
    """The API routes of a route table, into included routers (FastAPI keeps an included
    router as one entry holding the original; the issuer includes its routers unprefixed)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _walk(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def office_routes(app: object) -> list[APIRoute]:
    """Every route of ``app`` under /office (the console's pages, forms, downloads)."""
    routes = [
        r
        for r in _walk(app.routes)  # type: ignore[attr-defined]
        if r.path == "/office" or r.path.startswith("/office/")
    ]
    assert len(routes) >= 8, [r.path for r in routes]
    return routes


def _flat(dependant: Dependant) -> Dependant:
    """Return ``dependant`` with its sub-dependencies' parameters gathered in."""
    out = Dependant(
        path_params=list(dependant.path_params),
        query_params=list(dependant.query_params),
        body_params=list(dependant.body_params),
    )
    for sub in dependant.dependencies:
        inner = _flat(sub)
        out.path_params += inner.path_params
        out.query_params += inner.query_params
        out.body_params += inner.body_params
    return out


def _names(route: APIRoute) -> tuple[list[str], list[str], list[str], set[str]]:
    """Return the route's path, query and form parameter names, and the uploads'."""
    flat = _flat(route.dependant)
    uploads = {f.alias for f in flat.body_params if "UploadFile" in repr(f.field_info.annotation)}
    return (
        [f.alias for f in flat.path_params],
        [f.alias for f in flat.query_params],
        [f.alias for f in flat.body_params],
        uploads,
    )


def _paths(route: APIRoute, path_names: list[str]) -> Iterator[str]:
    """The route's path with each hostile value in each path parameter (the others 1)."""
    if not path_names:
        yield route.path
        return
    for name in path_names:
        for value in HOSTILE:
            if not value:
                continue
            path = route.path
            for other in path_names:
                filled = quote(value, safe="") if other == name else "1"
                path = re.sub(r"\{" + other + r"(:[^}]*)?\}", filled, path)
            yield path


def _known_path(route: APIRoute, known: dict[str, str]) -> str:
    """The route's path with its parameters naming what exists where the crawl knows a
    value (a certificate, a batch), else 1: hostile queries and fields then reach past
    the lookup."""

    def fill(m: re.Match[str]) -> str:
        return known.get(m[1], "1")

    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", fill, route.path)


def _check(r: httpx.Response, what: str) -> None:
    assert r.status_code < 500, f"{what}: {r.status_code}\n{r.text[:2000]}"
    body = r.text
    assert not TRACEBACK.search(body), f"{what}: a traceback\n{body[:2000]}"
    assert SCRIPT not in body, f"{what}: the script tag came back unescaped"
    for name, value in r.headers.items():
        assert "X-Injected" not in name and "\n" not in value, f"{what}: header {name}"


def test_every_console_page_survives_hostile_parameters(admin: Admin) -> None:
    c = admin.client
    pages = 0  # pages the admin saw (so the crawl ran signed in)
    for route in office_routes(admin.env.app):
        if "GET" not in route.methods:
            continue
        path_names, query_names, _, _ = _names(route)
        queries = [*dict.fromkeys([*query_names, *GENERIC_QUERY])]
        tries = [(n, v) for n in query_names for v in HOSTILE]
        tries += [(n, v) for n in GENERIC_QUERY if n not in query_names for v in FEW]
        if not path_names and not query_names:
            plain = c.get(route.path, follow_redirects=False)
            assert plain.status_code == 200, f"GET {route.path}: {plain.status_code}"
            pages += 1
        for path in _paths(route, path_names):
            r = c.get(path, follow_redirects=False)
            _check(r, f"GET {path}")
        base = _known_path(route, admin.known)
        for name, value in tries:
            r = c.get(base, params={name: value}, follow_redirects=False)
            _check(r, f"GET {base}?{name}={value[:40]!r}")
        # every parameter at once, and a parameter given twice
        r = c.get(base, params=[(n, v) for n in queries for v in (SCRIPT, "-1")])
        _check(r, f"GET {base} with every parameter twice")
        admin.token()  # still signed in (or signed in again)
    assert pages >= 3


def _form(
    names: list[str], uploads: set[str], value: str, token: str | None
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    data = {n: value for n in names if n not in uploads and n != "csrf"}
    if token is not None:
        data["csrf"] = token
    files = {
        n: (f"{value[:100]}.csv", value.encode("utf-8", "replace"), "text/csv") for n in uploads
    }
    return data, files


def _audit_count(env: IssuerHarness) -> int:
    with env.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM audit_record")).scalar_one())


@pytest.mark.parametrize("admin", ["admin", "supervisor"], indirect=True)
def test_every_console_form_refuses_a_missing_or_wrong_token_and_hostile_fields(
    admin: Admin,
) -> None:
    c = admin.client
    posts = [r for r in office_routes(admin.env.app) if "POST" in r.methods]
    assert posts
    for route in posts:
        path_names, _, form_names, uploads = _names(route)
        paths = list(_paths(route, path_names))
        plain = _known_path(route, admin.known)
        # without a token, and with a wrong one: refused, nothing written
        refusals = ((None, "ok"), (None, SCRIPT), ("forged", "x" * 5000), (SCRIPT, "ok"))
        for token, value in refusals:
            before = _audit_count(admin.env)
            data, files = _form(form_names, uploads, value, token)
            r = c.post(
                plain, data=data, files=files or None, headers=ORIGIN, follow_redirects=False
            )
            _check(r, f"POST {plain} token={token!r}")
            assert 400 <= r.status_code < 500, f"POST {plain} token={token!r}: {r.status_code}"
            # a failed sign-in or enrolment is audited by design; nothing else is
            if route.path not in ("/office/signin", "/office/enrol", "/office/enrol/confirm"):
                assert _audit_count(admin.env) == before, f"POST {plain} wrote without a token"
        # the right token (from another site too), hostile fields and hostile path values
        if route.path in SESSION_ENDING:
            continue
        sends = [(path, "x") for path in paths if path != plain]
        sends += [(plain, value) for value in HOSTILE]
        for path, value in sends:
            data, files = _form(form_names, uploads, value, admin.token())
            r = c.post(path, data=data, files=files or None, headers=ORIGIN, follow_redirects=False)
            _check(r, f"POST {path} fields={value[:40]!r}")
        data, files = _form(form_names, uploads, "x", admin.token())
        r = c.post(
            plain, data=data, files=files or None, headers={"Origin": "https://evil.example"}
        )
        _check(r, f"POST {plain} from another site")
        assert r.status_code in (403, 422), f"POST {plain} from another site: {r.status_code}"
    admin.token()
