"""A signed-in officer of the office console, for the console's page tests.

``signed_in(env, "cy", "clerk")`` makes an officer of that role in the harness's office
(with an API key, as ``tests.factory.issuer.officer`` does), enrols them through the
service functions (password, TOTP secret confirmed with a pyotp code a minute in the
past) and signs them in through the sign-in page with the TOTP code of now: no clock
override is needed, and the two codes fall in different 30 s steps so the second is not
refused as a replay. It returns a ``ConsoleOfficer``: its own TestClient holding the
session cookie (so several officers can be signed in at once), the API auth header, and
``form(html)`` / ``post(path, data)`` that carry the page's form token.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pyotp
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from issuer import console
from tests.factory.issuer import IssuerHarness, officer

PASSWORD = "correct horse battery"
ORIGIN = {"Origin": "http://testserver"}


def hidden(html: str, name: str) -> str:
    """Return the value of the hidden input ``name`` in ``html`` (fails the test if none)."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name}"
    return found[1]


@dataclass
class ConsoleOfficer:
    """A signed-in officer: their browser (``client``), username, role, API header."""

    client: TestClient
    username: str
    role: str
    api: dict[str, str]
    officer_id: int

    def token(self) -> str:
        """Return the form token (the ``jz_office_pre`` cookie the forms echo)."""
        return hidden(self.client.get("/office").text, "csrf")

    def get(self, path: str, **kw: Any):
        return self.client.get(path, **kw)

    def post(
        self, path: str, data: dict[str, str] | None = None, *, page: str | None = None, **kw: Any
    ):
        """POST ``data`` as a form to ``path`` with the form token (read from ``page``, a
        path, when given; else from the home page) and a same-origin header."""
        token = hidden(self.client.get(page).text, "csrf") if page else self.token()
        body = {"csrf": token, **(data or {})}
        kw.setdefault("follow_redirects", False)
        return self.client.post(path, data=body, headers=ORIGIN, **kw)


def signed_in(env: IssuerHarness, username: str, role: str) -> ConsoleOfficer:
    """Make officer ``username`` of ``role`` in the harness office, enrol and sign them in;
    return their console session (raises AssertionError if any step fails)."""
    api = officer(env, username, role)
    now = dt.datetime.now(dt.UTC)
    earlier = now - dt.timedelta(seconds=90)
    with Session(env.engine) as s:
        oid = s.execute(
            sa.text("SELECT id FROM officer WHERE username=:u"), {"u": username}
        ).scalar_one()
        code = console.issue_enrolment(
            s,
            officer_id=oid,
            office_id=None,
            issued_by=None,
            actor="cli",
            settings=env.settings,
            now=earlier,
        )
        enrolment = console.start_enrolment(
            s,
            username=username,
            code=code,
            password=PASSWORD,
            client="test",
            settings=env.settings,
            now=earlier,
        )
        console.confirm_enrolment(
            s,
            username=username,
            code=code,
            totp_code=pyotp.TOTP(enrolment.secret).at(earlier),
            client="test",
            settings=env.settings,
            now=earlier,
        )
    client = TestClient(env.app)  # type: ignore[arg-type]
    pre = hidden(client.get("/office/signin").text, "csrf")
    r = client.post(
        "/office/signin",
        data={
            "username": username,
            "password": PASSWORD,
            "code": pyotp.TOTP(enrolment.secret).now(),
            "csrf": pre,
        },
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return ConsoleOfficer(client, username, role, api, oid)
