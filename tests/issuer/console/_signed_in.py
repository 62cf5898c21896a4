"""A signed-in officer of a given role for the console's area tests (inbox, restrictions,
audit): the officer is made as the factory makes one (with an API key), and a console
session is opened for them directly, as a sign-in would (the sign-in pages themselves are
tested in test_pages.py and test_signin.py). Each officer gets their own browser (a
TestClient with their session cookie).

Private to these tests until a shared ``tests/factory/console.py`` lands on main."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from issuer.console.sessions import new_session
from issuer.db.models import Officer
from issuer.web.office_pages import COOKIE
from tests.factory.issuer import IssuerHarness, officer

ORIGIN = {"Origin": "http://testserver"}


@dataclass
class Browser:
    """An officer's browser: ``client`` carries their session; ``api`` their key header."""

    client: TestClient
    api: dict[str, str]
    username: str

    def get(self, path: str, **kw: object):
        return self.client.get(path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str], *, page: str) -> object:
        """POST ``data`` with the form token read from ``page`` (a path), from this site."""
        token = hidden(self.client.get(page).text, "csrf")
        return self.client.post(path, data={**data, "csrf": token}, headers=ORIGIN)


def hidden(html: str, name: str) -> str:
    """Return the value of the first hidden input ``name`` in ``html``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name}"
    return found[1]


def signed_in(env: IssuerHarness, username: str, role: str) -> Browser:
    """Make officer ``username`` of ``role`` and return their signed-in browser."""
    api = officer(env, username, role)
    with Session(env.engine) as s, s.begin():
        oid = s.query(Officer.id).filter(Officer.username == username).scalar()
        token = new_session(s, officer_id=oid, settings=env.settings, now=dt.datetime.now(dt.UTC))
    client = TestClient(env.app)  # type: ignore[arg-type]
    client.cookies.set(COOKIE, token)
    return Browser(client, api, username)
