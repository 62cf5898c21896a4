"""The holder pages in a real browser at a phone's size: Debian's headless Chromium driven
by Playwright's Python package (never downloads a browser; skips when /usr/bin/chromium
is absent: see ``tests.factory.browser``).

An issuer is served by uvicorn on a free loopback port (its public URL, so the browser's
Origin is the issuer's own). The office makes a claim code through the API; the teacher
logs in on the phone, sees the certificate, downloads the PDF and makes a purpose copy.
Screenshots go to ``docs/img/holder-*.png`` with ``JIAOZI_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from keys import office_document_key
from tests.factory import signer
from tests.factory.browser import CHROMIUM_ARGS, PHONE, SHOTS, TIMEOUT_MS, chromium
from tests.factory.issuer import application
from tests.factory.keys import OFFICE, make_store

API_KEY = "e2e-holder-api-key-0123456789-abcdef"


@dataclass
class Issuer:
    url: str
    number: str
    code: str
    masked: str


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issuer]:
    import uvicorn

    tmp = tmp_path_factory.mktemp("holder-pages")
    now = int(dt.datetime.now(dt.UTC).timestamp())
    store = make_store(tmp / "keys", now=now - 120)
    doc_key = office_document_key(store, OFFICE, now=now)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = IssuerSettings(
        database_url=f"sqlite:///{tmp / 'issuer.db'}",
        public_url=url,
        verifier_url="https://verify.example.cn",
        api_key=API_KEY,
    )
    app = create_app(settings, signer=signer(kid="11001-1"), document_key_provider=lambda: doc_key)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        auth = {"Authorization": f"Bearer {API_KEY}"}
        with httpx.Client(base_url=url, timeout=30) as http:
            made = http.post(
                "/api/v1/certificates",
                json=application(71),
                headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert made.status_code == 201, made.text
            number = made.json()["certificate_number"]
            code = http.post(f"/api/v1/certificates/{number}/claim-code", headers=auth)
            assert code.status_code == 201, code.text
        yield Issuer(url, number, code.json()["claim_code"], made.json()["id_number_masked"])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _shot(pg: Any, name: str, tmp_path: Path) -> None:
    folder = SHOTS if os.environ.get("JIAOZI_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"holder-{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000


def _fits_the_phone(pg: Any) -> None:
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
    small = pg.evaluate(
        """() => [...document.querySelectorAll('button, input, a.button')]
            .filter(e => e.offsetParent !== null && e.type !== 'hidden')
            .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)"""
    )
    assert small == [], f"touch targets under 44px: {small}"


def test_teacher_logs_in_downloads_and_makes_a_copy_on_a_phone(
    issuer: Issuer, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        accept_downloads=True,
    )
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        pg.goto(issuer.url + "/holder")
        assert pg.locator("h1").inner_text() == "领取我的电子证书"
        _fits_the_phone(pg)
        _shot(pg, "login", tmp_path)

        pg.fill("#number", issuer.number)
        pg.fill("#code", "wrong-code")
        pg.click("button[type=submit]")
        assert "证书号码或领取码不正确" in pg.locator(".alert").inner_text()

        pg.fill("#code", issuer.code.lower())
        pg.click("button[type=submit]")
        pg.wait_for_url("**/holder/certificates")
        card = pg.locator(f"#c{issuer.number}")
        assert issuer.number in card.inner_text()
        assert issuer.masked in card.inner_text()
        _fits_the_phone(pg)
        _shot(pg, "certificates", tmp_path)

        with pg.expect_download() as got:
            card.locator(f"a[href$='{issuer.number}.pdf']").click()
        pdf = got.value
        assert pdf.suggested_filename == f"{issuer.number}.pdf"
        assert Path(pdf.path()).read_bytes().startswith(b"%PDF")

        card.locator("input[name=purpose]").fill("应聘北京市第一中学教师岗位")
        card.locator("input[name=days]").fill("30")
        with pg.expect_download() as got:
            card.locator("button[type=submit]").click()
        copy = got.value
        assert copy.suggested_filename == f"{issuer.number}-copy.pdf"
        assert Path(copy.path()).read_bytes().startswith(b"%PDF")

        pg.click("text=退出")
        pg.wait_for_url("**/holder")
        assert pg.locator("#code").count() == 1
    finally:
        context.close()
    assert errors == []
