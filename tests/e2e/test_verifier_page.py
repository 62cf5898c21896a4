"""The verifier's web page in a real browser: Debian's headless Chromium
driven by Playwright's Python package (its bundled driver only; no browser is ever
downloaded: ``playwright install`` is never run).

A verifier app synced from the fake issuer of ``tests/factory/verifier.py``
is served by uvicorn on a free loopback port; its public URL is that loopback URL, so the
QR URLs made for it are accepted. The browser opens ``/v#<transport digits>`` as a phone
camera would, and uploads a rendered PDF on ``/``.

Chromium comes from ``scripts/system-packages.sh`` (run by ``make install``); when
``/usr/bin/chromium`` is absent and cannot be installed here, the tests skip saying so.
Screenshots (390x844, a phone) are taken every run; with ``JIAOZI_UPDATE_SCREENSHOTS=1``
they are written to ``docs/img/verifier-*.png``, else to the test's temporary directory.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from credential import qr_url
from tests.factory import World, applicants
from tests.factory.browser import CHROMIUM_ARGS, PHONE, SHOTS, TIMEOUT_MS, chromium
from tests.factory.verifier import Clock, FakeIssuer, settings_for, write_root


@dataclass
class Site:
    url: str
    world: World
    issuer: FakeIssuer
    clock: Clock
    app: Any

    def sync(self) -> None:
        report = self.app.state.verifier.syncer.run_once()
        assert report is not None

    def token(self, row: dict[str, str], idx: int) -> str:
        cert = self.world.certificate(row)
        return self.world.issue(cert, idx=idx).qr_token


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uvicorn

    from verifier.app import create_app

    tmp = tmp_path_factory.mktemp("verifier-page")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    world = World()
    clock = Clock()
    issuer = FakeIssuer(world, clock)
    settings = settings_for(f"sqlite:///{tmp / 'v.db'}", write_root(world, tmp), public_url=url)
    http = issuer.client()
    app = create_app(settings, http=http, clock=clock, background_sync=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    s = Site(url, world, issuer, clock, app)
    s.sync()
    # a status list is first fetched when a token names it: hold it from the start
    assert app.state.verifier.syncer.on_demand_status(world.status_uri) is not None
    try:
        yield s
    finally:
        server.should_exit = True
        thread.join(10)
        http.close()
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


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()
    assert errors == [], f"browser errors: {errors}"


def screenshot(pg: Any, name: str, tmp_path: Path) -> Path:
    folder = SHOTS if os.environ.get("JIAOZI_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"verifier-{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def verdict_of(pg: Any) -> Any:
    card = pg.locator("[data-verdict]")
    card.wait_for()
    return card


def test_qr_landing_valid(site: Site, page: Any, tmp_path: Path) -> None:
    row = applicants()[1]
    url = qr_url(site.url, site.token(row, idx=101))
    assert url.startswith(site.url + "/v#") and url.split("#")[1].isdigit()
    site.clock.advance(180)  # the status data is 3 minutes old when the page asks
    page.goto(url)
    card = verdict_of(page)
    assert card.get_attribute("data-verdict") == "valid"
    assert page.locator(".verdict__zh").inner_text() == "有效"
    assert page.locator(".fields__name").inner_text() == row["name"]
    masked = page.locator("[data-field=id_number_masked] dd").inner_text()
    assert "*" in masked and masked != row["id_number"]
    assert page.locator("[data-check=signature] .check__mark").inner_text() == "✓"
    # a QR alone has no e-licence to compare with: not applicable, not a grey "–"
    binding = page.locator("[data-check=binding]")
    assert binding.get_attribute("class") == "check check--na"
    assert page.locator("[data-check=binding] .check__mark").inner_text() == ""
    assert "不适用" in binding.inner_text() and "仅提供了一种形式" not in binding.inner_text()
    assert "签名正确" in page.locator("[data-check=signature]").inner_text()
    fresh = page.locator(".fresh").inner_text()
    assert fresh.startswith("状态数据更新于") and "3 分钟前" in fresh, fresh
    screenshot(page, "valid", tmp_path)

    # the English switch keeps the fragment, so the same QR is judged again in English
    page.locator("#lang-switch").click()
    page.wait_for_url("**/v?lang=en#*")
    card = verdict_of(page)
    assert page.locator(".verdict__zh").inner_text() == "有效"
    assert page.locator(".verdict__en").inner_text() == "Valid"
    assert "signature verifies" in page.locator("[data-check=signature]").inner_text()
    assert "min ago" in page.locator(".fresh").inner_text()
    screenshot(page, "valid-en", tmp_path)


def test_qr_landing_revoked(site: Site, page: Any, tmp_path: Path) -> None:
    row = applicants()[2]
    token = site.token(row, idx=202)
    site.world.status.set(202, 1)
    site.clock.advance(30)
    site.sync()
    page.goto(qr_url(site.url, token))
    card = verdict_of(page)
    assert card.get_attribute("data-verdict") == "not_valid"
    assert page.locator(".verdict__zh").inner_text() == "无效"
    assert "证书已被撤销" in page.locator(".reason").inner_text()
    assert page.locator("[data-check=status] .check__mark").inner_text() == "✗"
    assert page.locator(".fields__name").inner_text() == row["name"]
    screenshot(page, "revoked", tmp_path)
    page.set_viewport_size({"width": 375, "height": 667})  # the narrowest phone we aim at
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_pdf_upload_on_home_page(site: Site, page: Any, tmp_path: Path) -> None:
    from issuer.pdf import render_certificate

    row = applicants()[3]
    cert = site.world.certificate(row)
    token = site.world.issue(cert, idx=303).qr_token
    pdf = render_certificate(cert, qr_text=qr_url(site.url, token), verifier_url=site.url)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)

    page.goto(site.url + "/")
    assert page.locator("#scan-section").is_hidden()  # no BarcodeDetector in headless Linux
    page.locator("#upload-input").set_input_files(str(path))
    page.locator("#upload-form button[type=submit]").click()
    card = verdict_of(page)
    assert card.get_attribute("data-verdict") == "valid"
    assert page.locator(".verdict__zh").inner_text() == "有效"
    assert page.locator(".fields__name").inner_text() == row["name"]
    screenshot(page, "upload", tmp_path)


def test_paste_box_shows_a_problem_or_a_verdict_without_markup(site: Site, page: Any) -> None:
    page.goto(site.url + "/?lang=en")
    page.locator("#paste-input").fill("<img src=x onerror=alert(1)>")
    page.locator("#paste-form button[type=submit]").click()
    card = verdict_of(page)
    assert card.get_attribute("data-verdict") == "not_valid"
    assert page.locator(".verdict__en").inner_text() == "Not valid"
    assert page.locator("#result img").count() == 0
