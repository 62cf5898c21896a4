"""Host and Origin are checked against the public URL (issue 11, point 3), before routing,
body reading and authentication; forwarding headers are read only from trusted proxies.

A request naming another host (DNS rebinding, a poisoned Host) is 400 ``bad_host``; an
unsafe request from another site's page (a cross-site form post to the holder login, an
``Origin: null`` sandbox, ``Sec-Fetch-Site: cross-site``) is 403 ``bad_origin``; an API
client that sends no Origin passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from issuer.db import tables
from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from tests.factory import signer
from tests.factory.issuer import IssuerHarness, application
from tests.factory.server import served

PUBLIC = "https://jszg.example.cn"
LOGIN = {"number": "11001202400000017", "code": "WRONG-CODE"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[object]:
    settings = IssuerSettings(
        database_url=f"sqlite:///{tmp_path / 'i.db'}",
        public_url=PUBLIC,
        allowed_hosts=("issuer.internal",),  # instead of the tests' "testserver"
        trusted_proxies=("10.0.0.0/8",),
    )
    application = create_app(settings, signer=signer(seed=3))
    with TestClient(application):  # runs the lifespan (the engine is disposed after)
        yield application


def client(app: object, base: str = PUBLIC, peer: str = "192.0.2.5") -> TestClient:
    return TestClient(app, base_url=base, client=(peer, 40000))  # type: ignore[arg-type]


def problem_code(r) -> str:
    assert r.headers["content-type"] == "application/problem+json", r.text
    return r.json()["type"].rsplit("/", 1)[1]


@pytest.mark.parametrize(
    "base",
    [PUBLIC, "https://JSZG.Example.CN.", "http://jszg.example.cn:8100", "http://issuer.internal",
     "http://127.0.0.1:8100", "http://localhost:8100", "http://[::1]:8100"],
)  # fmt: skip
def test_the_public_host_an_allowed_host_and_loopback_names_pass(app: object, base: str) -> None:
    r = client(app, base).get("/holder")
    assert r.status_code == 200 and "<form" in r.text


@pytest.mark.parametrize(
    "base",
    ["http://attacker.example", "http://jszg.example.cn.attacker.example", "http://testserver"],
)
def test_any_other_host_is_400_bad_host_in_both_languages(app: object, base: str) -> None:
    c = client(app, base)
    r = c.get("/holder")
    assert r.status_code == 400 and problem_code(r) == "bad_host"
    assert r.json()["title"] == "请求的主机名不属于本服务"
    r = c.get("/holder", headers={"Accept-Language": "en"})
    assert r.json()["title"] == "The host name is not this service's"
    assert r.headers["content-language"] == "en"


def test_a_foreign_host_is_refused_before_authentication_and_the_body(app: object) -> None:
    r = client(app, "http://attacker.example").post(
        "/api/v1/certificates", content=b"x" * 4096, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and problem_code(r) == "bad_host"  # not 401, not 400 bad JSON


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://attacker.example"}, {"Origin": "null"},
     {"Origin": "http://jszg.example.cn"},  # another scheme is another origin
     {"Origin": "https://jszg.example.cn:8443"}, {"Sec-Fetch-Site": "cross-site"}],
)  # fmt: skip
def test_a_cross_origin_form_post_to_the_holder_login_is_403(app: object, headers: dict) -> None:
    r = client(app).post("/holder/login", data=LOGIN, headers=headers, follow_redirects=False)
    assert r.status_code == 403 and problem_code(r) == "bad_origin"


def test_a_same_origin_login_reaches_the_login(app: object) -> None:
    for base, origin in ((PUBLIC, PUBLIC), ("http://127.0.0.1:8100", "http://127.0.0.1:8100")):
        r = client(app, base).post(
            "/holder/login",
            data=LOGIN,
            headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
            follow_redirects=False,
        )
        assert r.status_code == 401 and "<form" in r.text  # judged: a wrong code


def test_safe_methods_are_not_judged_by_origin(app: object) -> None:
    r = client(app).get("/holder", headers={"Origin": "https://attacker.example"})
    assert r.status_code == 200


def test_an_api_client_without_origin_passes_and_with_a_foreign_one_is_403(
    issuer_env: IssuerHarness,
) -> None:
    assert issuer_env.issue(application(1)).status_code == 201
    r = issuer_env.issue(application(2), Origin="https://attacker.example")
    assert r.status_code == 403 and problem_code(r) == "bad_origin"
    r = issuer_env.issue(application(3), Origin="http://testserver")  # its own origin
    assert r.status_code == 201


def _failed_login_clients(app: object) -> list[str]:
    engine: sa.Engine = app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(tables.AUDIT_RECORD.c.detail_json)
            .where(tables.AUDIT_RECORD.c.action == "holder.login_failed")
            .order_by(tables.AUDIT_RECORD.c.id)
        ).all()
    return [json.loads(row.detail_json)["client"] for row in rows]


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(app: object) -> None:
    spoofed = {"Origin": PUBLIC, "X-Forwarded-For": "203.0.113.7"}
    for peer in ("10.1.2.3", "192.0.2.5"):  # a configured proxy, then anybody
        r = client(app, peer=peer).post(
            "/holder/login", data=LOGIN, headers=spoofed, follow_redirects=False
        )
        assert r.status_code == 401
    # what lockouts count and the audit trail records
    assert _failed_login_clients(app) == ["203.0.113.7", "192.0.2.5"]


def test_a_real_server_checks_host_and_origin_of_the_holder_login(app: object) -> None:
    with served(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        port = url.rsplit(":", 1)[1]

        def login(**headers: str) -> httpx.Response:
            return http.post("/holder/login", data=LOGIN, headers=headers)

        r = login(Host=f"attacker.example:{port}", Origin=f"http://attacker.example:{port}")
        assert r.status_code == 400 and problem_code(r) == "bad_host"
        r = login(Origin="https://attacker.example")
        assert r.status_code == 403 and problem_code(r) == "bad_origin"
        r = login(Host="JSZG.example.cn:8443", Origin=PUBLIC)  # behind a proxy passing Host on
        assert r.status_code == 401 and "<form" in r.text
        r = login(Origin=url)  # the loopback address itself, with its port
        assert r.status_code == 401 and "<form" in r.text
