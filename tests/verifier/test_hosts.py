"""Host and Origin are checked against the verifier's public URL (issue 11, point 3), on
the JSON fast path as on every route, before anything is read or counted.

The verify API is for people on the verifier's own page and for programs (no Origin);
another site's page may not post to it (no CORS is configured either, so it could not
read the answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factory import VERIFIER_URL
from tests.factory.server import served
from tests.factory.verifier import Harness, make_harness


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    gen = make_harness(
        f"sqlite:///{tmp_path / 'verifier.db'}",
        tmp_path,
        allowed_hosts=("verifier.internal",),  # instead of the tests' "testserver"
        verify_rate_limit=2,
    )
    harness = next(gen)
    harness.verifier.syncer.run_once(extra_status=[harness.world.status_uri])
    yield harness
    gen.close()


def client(h: Harness, base: str = VERIFIER_URL) -> TestClient:
    return TestClient(h.app, base_url=base)


def problem_code(r) -> str:
    assert r.headers["content-type"] == "application/problem+json", r.text
    return r.json()["type"].rsplit("/", 1)[1]


@pytest.mark.parametrize(
    "send",
    [
        lambda c, token: c.post("/api/v1/verify", json={"qr": token}),  # the fast path
        lambda c, token: c.post("/api/v1/verify", data={"qr": token}),  # the route
        lambda c, token: c.get("/"),
        lambda c, token: c.get("/healthz"),
    ],
    ids=["json fast path", "form", "page", "healthz"],
)
def test_a_foreign_host_is_400_everywhere_and_not_counted(h: Harness, send) -> None:
    token = h.world.issue(idx=131).qr_token
    for base in ("https://attacker.example", "http://testserver"):
        r = send(client(h, base), token)
        assert r.status_code == 400 and problem_code(r) == "bad_host"
        assert r.json()["title"] == "请求的主机名不属于本服务"
    # the refused requests used none of this client's verify budget
    c = client(h)
    codes = [c.post("/api/v1/verify", json={"qr": token}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.parametrize(
    "base",
    ["https://VERIFY.example.cn", "https://verify.example.cn:8443", "http://verifier.internal:8200",
     "http://127.0.0.1:8200", "http://localhost", "http://[::1]:8200"],
)  # fmt: skip
def test_the_public_host_an_allowed_host_and_loopback_names_pass(h: Harness, base: str) -> None:
    token = h.world.issue(idx=132).qr_token
    r = client(h, base).post("/api/v1/verify", json={"qr": token})
    assert r.status_code == 200 and r.json()["verdict"] == "valid"


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://attacker.example"}, {"Origin": "null"},
     {"Origin": "http://verify.example.cn"}, {"Sec-Fetch-Site": "cross-site"}],
)  # fmt: skip
def test_another_sites_page_may_not_post(h: Harness, headers: dict[str, str]) -> None:
    token = h.world.issue(idx=133).qr_token
    c = client(h)
    for r in (
        c.post("/api/v1/verify", json={"qr": token}, headers=headers),
        c.post("/api/v1/verify", data={"qr": token}, headers=headers),
        c.post("/api/v1/verify", files={"file": ("c.pdf", b"%PDF-1.7", "application/pdf")},
               headers=headers),
        c.post("/api/v1/admission-checks", json={}, headers=headers),
    ):  # fmt: skip
        assert r.status_code == 403 and problem_code(r) == "bad_origin"
    en = c.post("/api/v1/verify", json={"qr": token}, headers={**headers, "Accept-Language": "en"})
    assert en.json()["title"] == "The request comes from another site"


def test_its_own_page_and_programs_without_origin_pass(h: Harness) -> None:
    token = h.world.issue(idx=134).qr_token
    own = {"Origin": VERIFIER_URL, "Sec-Fetch-Site": "same-origin"}
    assert client(h).post("/api/v1/verify", json={"qr": token}, headers=own).status_code == 200
    local = client(h, "http://127.0.0.1:8200")  # served as itself on a loopback address
    r = local.post(
        "/api/v1/verify", data={"qr": token}, headers={"Origin": "http://127.0.0.1:8200"}
    )
    assert r.status_code == 200 and r.json()["verdict"] == "valid"
    r = client(h).get("/", headers={"Origin": "https://attacker.example"})  # GET: not judged
    assert r.status_code == 200


def test_a_real_server_checks_the_host_with_its_port_and_ignores_forwarded_for(
    h: Harness,
) -> None:
    token = h.world.issue(idx=135).qr_token
    with served(h.app) as url, httpx.Client(base_url=url, timeout=30) as http:
        port = url.rsplit(":", 1)[1]

        def verify(**headers: str) -> httpx.Response:
            return http.post("/api/v1/verify", json={"qr": token}, headers=headers)

        r = verify(Host=f"attacker.example:{port}")  # DNS rebinding: the attacker's name
        assert r.status_code == 400 and problem_code(r) == "bad_host"
        r = verify(Origin="https://attacker.example")
        assert r.status_code == 403 and problem_code(r) == "bad_origin"
        # behind a proxy that passes the public Host on (its port not compared), and on the
        # loopback address itself; a made-up X-Forwarded-For does not buy a fresh budget
        r = verify(Host="verify.example.cn:8443", **{"X-Forwarded-For": "203.0.113.1"})
        assert r.status_code == 200 and r.json()["verdict"] == "valid"
        r = verify(**{"X-Forwarded-For": "203.0.113.2"})
        assert r.status_code == 200
        r = verify(**{"X-Forwarded-For": "203.0.113.3"})
        assert r.status_code == 429
