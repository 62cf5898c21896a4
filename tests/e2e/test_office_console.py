"""The office console end to end in a real browser: Debian's headless Chromium driven by
Playwright's Python package (its bundled driver only; no browser is ever downloaded;
skips when /usr/bin/chromium is absent: see ``tests.factory.browser``), at a desk's size.

An issuer is served by uvicorn on a free loopback port (its public URL, so the browser's
Origin is the issuer's own), with two-person rules on. Each step is a test; the officers
signed in by the first (their browser pages) serve the others, and a test that runs first
in its xdist worker enrols them itself:

1. an admin, given an enrolment code on the command line's behalf, enrols in the browser
   (password, TOTP computed here), signs in, creates a clerk and two supervisors on the
   officers page (a supervisor waits for a second admin, who approves over the API) and
   gives each an enrolment code; each enrols and signs in in a browser of their own;
2. the clerk uploads a file with errors on the batches page and downloads the error
   report, the manifest and the claim letters;
3. supervisor A requests a revocation on the certificate's page, supervisor B approves it
   in the inbox, and a verifier synced from the issuer then says 无效 (not_valid);
4. a teacher signs in to the holder portal with the code printed in a claim letter (read
   with pdftotext; the console's letters, or the API's when the batches page is absent).

A step whose page is not in the app (areas built on other branches) is skipped, saying
which. Screenshots (1280x800) of the sign-in, home, officers and each area page are taken
every run; with ``JIAOZI_UPDATE_SCREENSHOTS=1`` they go to ``docs/img/office-*.png``,
else to a temporary directory. Every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from credential import sign_trust_list
from issuer import console
from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from jiaozi.demo.samples import result
from keys import office_document_key
from tests.factory import VERIFIER_URL, signer
from tests.factory.browser import CHROMIUM_ARGS, SHOTS, TIMEOUT_MS, chromium
from tests.factory.issuer import (
    DECISION,
    IssuerHarness,
    application,
    bad_rows_file,
    ensure_office,
    officer,
    service_client,
)
from tests.factory.keys import OFFICE, make_store
from tests.factory.pdf import pdftotext
from tests.factory.server import free_port, served
from tests.factory.verifier import settings_for
from verifier.app import create_app as create_verifier
from verifier.cli import render_text
from verifier.settings import IssuerSource

DESK = {"width": 1280, "height": 800}
PASSWORD = "e2e-console-password-0123"
CLAIM_CODE = re.compile(r"\b[2-9A-HJKMNP-Z]{4}(?:-[2-9A-HJKMNP-Z]{4}){3}\b")
NUMBER = re.compile(r"\b\d{17}\b")
HOME = re.compile(r"/office(\?[^/]*)?$")
JS_ERRORS: dict[int, list[str]] = {}  # a page's script errors, by the page's id
SHOT: set[str] = set()  # the screenshots taken by the steps (with their data on the page)


@dataclass
class Office:
    url: str
    settings: IssuerSettings
    app: Any
    signer: Any  # the office's token key
    second_admin: dict[str, str]  # bo's API key: the second admin of the two-person rules
    api_clerk: dict[str, str]  # a clerk's API key, for what the steps need made beforehand
    verifier_key: str  # a verifier client's key for the restricted-list feed
    number: str  # a certificate issued over the API: the revocation's subject
    qr_url: str
    tmp: Path
    people: dict[str, Any] = field(default_factory=dict)  # username -> signed-in page
    letters: bytes | None = field(default=None, repr=False)  # the clerk's claim letters


def _has(app: Any, path: str) -> bool:
    """Whether the app's route table has ``path`` (walking into included routers)."""

    def walk(routes: list[Any]) -> Iterator[str]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes)
            elif hasattr(route, "path"):
                yield route.path

    return path in set(walk(app.routes))


def _need(office: Office, *paths: str) -> None:
    for path in paths:
        if not _has(office.app, path):
            pytest.skip(f"{path} not merged yet")


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    tmp = tmp_path_factory.mktemp("office-console")
    now = int(dt.datetime.now(dt.UTC).timestamp())
    store = make_store(tmp / "keys", now=now - 120)
    doc_key = office_document_key(store, OFFICE, now=now)
    url = f"http://127.0.0.1:{free_port()}"
    settings = IssuerSettings(
        env="development",
        database_url=f"sqlite:///{tmp / 'issuer.db'}",
        public_url=url,
        verifier_url=VERIFIER_URL,
        api_key=secrets.token_urlsafe(32),
        id_hmac_key="e2e-console-id-hmac-key-0123456789",
    )
    key = signer(kid="11001-1")
    app = create_app(settings, signer=key, document_key_provider=lambda: doc_key)
    with TestClient(app), served(app, int(url.rsplit(":", 1)[1])) as base:
        assert base == url
        shim = SimpleNamespace(settings=settings, engine=app.state.engine)
        ensure_office(shim)  # two-person rules on
        api_clerk = officer(shim, "api-clerk", "clerk")
        bo = officer(shim, "bo", "admin")
        officer(shim, "ada", "admin")
        feed = service_client(shim, "verifier", "verifier")
        with httpx.Client(base_url=url, timeout=30) as http:
            made = http.post(
                "/api/v1/certificates",
                json=application(31),
                headers={**api_clerk, "Idempotency-Key": uuid.uuid4().hex},
            )
        assert made.status_code == 201, made.text
        body = made.json()
        yield Office(
            url, settings, app, key, bo, api_clerk, feed["Authorization"][7:],
            body["certificate_number"], body["qr_url"], tmp,
        )  # fmt: skip


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


def _shot(pg: Any, name: str, office: Office) -> None:
    """Screenshot the page as office-<name>.png (the whole page unless it is long)."""
    update = os.environ.get("JIAOZI_UPDATE_SCREENSHOTS") == "1"
    folder = SHOTS if update else office.tmp / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"office-{name}.png"
    whole = pg.evaluate("document.documentElement.scrollHeight") <= 2 * DESK["height"]
    pg.screenshot(path=str(path), full_page=whole)
    assert path.stat().st_size > 5_000
    SHOT.add(name)


def _desk(browser: Any) -> Any:
    context = browser.new_context(
        viewport=DESK, device_scale_factor=1, locale="zh-CN", accept_downloads=True
    )
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    JS_ERRORS[id(pg)] = errors
    pg.on("dialog", lambda dialog: dialog.accept())  # the forms' "are you sure?"
    return pg


def _enrol(pg: Any, office: Office, username: str, code: str) -> tuple[str, list[str]]:
    """Enrol ``username`` with enrolment ``code`` in the browser; return the TOTP secret
    and the recovery codes. The TOTP is confirmed with the previous step's code (one step
    either side is accepted): a code is good once, and the current one is kept for the
    sign-in that follows."""
    pg.goto(office.url + "/office/enrol")
    pg.fill("#username", username)
    pg.fill("#code", code)
    pg.fill("#password", PASSWORD)
    pg.fill("#password2", PASSWORD)
    with pg.expect_navigation():
        pg.click("form[action='/office/enrol'] button[type=submit]")
    secret = pg.locator("#totp-secret").inner_text().strip()
    recovery = re.findall(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", pg.content())
    assert len(set(recovery) - {code}) == 10
    assert pg.locator("svg").count() >= 1  # the QR code, inline
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    pg.fill("#totp", pyotp.TOTP(secret).at(earlier))
    pg.click("form[action='/office/enrol/confirm'] button[type=submit]")
    pg.wait_for_url("**/office/signin?enrolled=1**")
    return secret, sorted(set(recovery) - {code})


def _sign_in(pg: Any, office: Office, username: str, secret: str) -> None:
    if "/office/signin" not in pg.url:
        pg.goto(office.url + "/office/signin")
    pg.fill("#username", username)
    pg.fill("#password", PASSWORD)
    pg.fill("#code", pyotp.TOTP(secret).now())
    pg.click("form[action='/office/signin'] button[type=submit]")
    pg.wait_for_url(HOME)


def _officer_id(office: Office, username: str) -> int:
    with Session(office.app.state.engine) as s:
        return int(
            s.execute(
                sa.text("SELECT id FROM officer WHERE username = :u"), {"u": username}
            ).scalar_one()
        )


def _create(pg: Any, username: str, name: str, role: str) -> str:
    """Create an officer on the officers page; return the page's notice or issued code."""
    form = pg.locator("form[aria-labelledby=create-heading]")
    form.locator("#new-username").fill(username)
    form.locator("#new-display_name").fill(name)
    form.locator("#new-role").select_option(role)
    with pg.expect_navigation():
        form.locator("button[type=submit]").click()
    return pg.content()


def _new_code(pg: Any, officer_id: int) -> str:
    with pg.expect_navigation():
        pg.locator(f"form[action^='/office/officers/{officer_id}/enrolment'] button").click()
    return pg.locator("#issued-code").inner_text().strip()


def test_an_admin_enrols_a_clerk_and_two_supervisors_who_each_sign_in(
    office: Office, browser: Any
) -> None:
    _enrol_everyone(office, browser)
    assert sorted(office.people) == ["ada", "cy", "sa", "sb"]
    clerk_home = office.people["cy"].locator("main").inner_text()
    assert "陈经办" in clerk_home
    assert office.people["cy"].locator("a[href^='/office/officers']").count() == 0


def _enrol_everyone(office: Office, browser: Any) -> None:
    """Step 1, once per office (each xdist worker serving its own): the admin enrols, makes
    a clerk and two supervisors, who enrol and sign in; their pages go to office.people."""
    if office.people:
        return
    office.people["failed"] = None  # a failure here is not run again by later steps
    # the first admin's enrolment code, as `jiaozi accounts console-code` prints it
    with Session(office.app.state.engine) as s:
        code = console.issue_enrolment(
            s, officer_id=_officer_id(office, "ada"), office_id=None, issued_by=None,
            actor="cli", settings=office.settings, now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    admin = _desk(browser)
    admin.goto(office.url + "/office")
    admin.wait_for_url("**/office/signin**")  # not signed in: the sign-in page
    assert admin.locator("#username").count() == 1
    _shot(admin, "signin", office)
    secret, _ = _enrol(admin, office, "ada", code)
    _sign_in(admin, office, "ada", secret)
    assert "ada" in admin.locator("main").inner_text()
    _shot(admin, "home", office)
    office.people["ada"] = admin

    admin.click("a[href^='/office/officers']")
    admin.wait_for_url("**/office/officers**")
    page = _create(admin, "cy", "陈经办", "clerk")
    assert admin.locator("#issued-code").count() == 1, page
    codes = {"cy": admin.locator("#issued-code").inner_text().strip()}
    for username, name in (("sa", "审核人甲"), ("sb", "审核人乙")):
        _create(admin, username, name, "supervisor")
        assert admin.locator("#issued-code").count() == 0  # waits for a second admin
    with httpx.Client(base_url=office.url, timeout=30) as http:
        pending = http.get("/api/v1/pending-actions", headers=office.second_admin)
        assert pending.status_code == 200, pending.text
        items = pending.json()
        waiting = [i for i in items if i["kind"] == "create_officer"]
        assert sorted(i["target"] for i in waiting) == ["sa", "sb"]
        for item in waiting:
            r = http.post(
                f"/api/v1/pending-actions/{item['id']}/approve", headers=office.second_admin
            )
            assert r.status_code == 200, r.text
    admin.goto(office.url + "/office/officers")
    for username in ("sa", "sb"):
        codes[username] = _new_code(admin, _officer_id(office, username))
    _shot(admin, "officers", office)

    for username, code in codes.items():
        pg = _desk(browser)
        secret, _ = _enrol(pg, office, username, code)
        _sign_in(pg, office, username, secret)
        office.people[username] = pg
    del office.people["failed"]


def _person(office: Office, browser: Any, username: str) -> Any:
    """The signed-in page of ``username`` (enrolling everyone first if this worker has
    not); skip if the enrolment step failed."""
    if not office.people:
        _enrol_everyone(office, browser)
    pg = office.people.get(username)
    if pg is None:
        pytest.skip(f"{username} did not sign in (the enrolment step failed)")
    return pg


def _download(pg: Any, link: Any) -> bytes:
    with pg.expect_download() as got:
        link.click()
    return Path(got.value.path()).read_bytes()


def test_the_clerk_uploads_a_file_with_errors_and_downloads_what_it_made(
    office: Office, browser: Any
) -> None:
    _need(office, "/office/batches", "/office/batches/{batch_id}")
    pg = _person(office, browser, "cy")
    pg.goto(office.url + "/office/batches")
    data, expected, _good = bad_rows_file()
    upload = pg.locator("form:has(input[type=file])")
    upload.locator("input[name=file]").set_input_files(
        {"name": "第一批.csv", "mimeType": "text/csv", "buffer": data}
    )
    upload.locator("button[type=submit]").click()
    pg.wait_for_url(re.compile(r"/office/batches/\d+"))
    deadline = time.monotonic() + 120
    while pg.locator("a[href*='/manifest.csv']").count() == 0:  # done: its downloads appear
        assert time.monotonic() < deadline, pg.content()
        time.sleep(0.5)
        pg.reload()
    _shot(pg, "batch", office)
    errors = _download(pg, pg.locator("a[href*='/errors.csv']").first)
    text = errors.decode("utf-8-sig")
    for row in expected:
        assert re.search(rf"^{row},", text, re.M), text
    manifest = _download(pg, pg.locator("a[href*='/manifest.csv']").first)
    numbers = NUMBER.findall(manifest.decode("utf-8-sig"))
    assert len(set(numbers)) == 3, manifest
    with pg.expect_navigation():
        pg.locator("form[action*='/claim-codes'] button[type=submit]").click()
    letters = _download(pg, pg.locator("a[href*='/claim-letters.pdf']").first)
    assert letters.startswith(b"%PDF")
    text = pdftotext(letters)
    assert len(set(CLAIM_CODE.findall(text))) == 3, text
    office.letters = letters
    pg.goto(office.url + "/office/batches")
    _shot(pg, "batches", office)


def _verifier(office: Office) -> Any:
    """A verifier synced from the served issuer (the trust list from a root it pins)."""
    root = signer(kid="root-1")
    harness = IssuerHarness(office.settings, office.signer, office.app, None)  # type: ignore[arg-type]
    trust = dataclasses.replace(harness.trust, sequence=1)
    token = sign_trust_list(trust, root)
    root_file = office.tmp / "root.jwks.json"
    root_file.write_text(json.dumps({"keys": [root.public_key().to_jwk()]}))
    net = httpx.Client(timeout=30)

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url).endswith("/trust-list.jwt"):
            return httpx.Response(200, text=token)
        r = net.request(request.method, request.url, headers=dict(request.headers))
        kept = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "etag")}
        return httpx.Response(r.status_code, content=r.content, headers=kept)

    settings = settings_for(
        f"sqlite:///{office.tmp / 'verifier.db'}",
        root_file,
        issuers=(IssuerSource(base_url=office.url, api_key=office.verifier_key),),
    )
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return create_verifier(settings, http=http, background_sync=False)


def test_a_revocation_asked_by_one_supervisor_approved_by_another_reaches_the_verifier(
    office: Office, browser: Any
) -> None:
    _need(office, "/office/certificates/{number}", "/office/inbox")
    sa_pg, sb_pg = _person(office, browser, "sa"), _person(office, browser, "sb")
    sa_pg.goto(f"{office.url}/office/certificates/{office.number}")
    _shot(sa_pg, "certificate", office)
    form = sa_pg.locator("form[action*='/revoke']")
    form.locator("[name=reason_code]").select_option(DECISION["reason_code"])
    form.locator("[name=decision_date]").fill(DECISION["decision_date"])
    form.locator("[name=legal_basis]").fill(DECISION["legal_basis"])
    with sa_pg.expect_navigation():  # after the page's "are you sure?" (accepted)
        form.locator("button[type=submit]").click()
    assert "已撤销" not in sa_pg.locator("main").inner_text()  # pending: one supervisor only

    sb_pg.goto(office.url + "/office/inbox")
    assert office.number in sb_pg.locator("main").inner_text()
    _shot(sb_pg, "inbox", office)
    item = sb_pg.locator(f"article.request:has-text('{office.number}')")
    with sb_pg.expect_navigation():
        item.locator("form[action*='/approve'] button[type=submit]").click()

    sa_pg.goto(f"{office.url}/office/certificates/{office.number}")
    assert "已撤销" in sa_pg.locator("main").inner_text()
    verifier = _verifier(office)
    with TestClient(verifier) as client:
        deadline = time.monotonic() + 30
        while True:
            verifier.state.verifier.syncer.run_once()
            r = client.post(
                "/api/v1/verify", json={"qr": office.qr_url}, headers={"Accept-Language": "zh-CN"}
            )
            if r.status_code == 200 and r.json()["verdict"] == "not_valid":
                break
            assert time.monotonic() < deadline, r.text
            time.sleep(0.5)
        page = client.get("/", headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200
    assert r.json()["reason"] == "revoked"
    # what the verifier says, as its command line prints the answer in Chinese
    said = render_text(result(r.json()), "zh")
    assert "结论：无效" in said and "✗ 证书状态" in said, said


def _api_letters(office: Office) -> bytes:
    """The claim letters of a batch uploaded and coded over the API (when the console's
    batches page is not there to make them)."""
    data, _, _ = bad_rows_file()
    with httpx.Client(base_url=office.url, timeout=60) as http:
        r = http.post(
            "/api/v1/batches", files={"file": ("api.csv", data)}, headers=office.api_clerk
        )
        assert r.status_code == 202, r.text
        batch_id = r.json()["id"]
        deadline = time.monotonic() + 120
        while (state := http.get(f"/api/v1/batches/{batch_id}", headers=office.api_clerk).json())[
            "state"
        ] not in ("done", "failed"):
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        assert state["state"] == "done", state
        made = http.post(f"/api/v1/batches/{batch_id}/claim-codes", headers=office.api_clerk)
        assert made.status_code in (200, 201), made.text
        letters = http.get(
            f"/api/v1/batches/{batch_id}/claim-letters.pdf", headers=office.api_clerk
        )
        assert letters.status_code == 200, letters.text
        return letters.content


def test_a_teacher_signs_in_to_the_holder_portal_with_the_code_of_a_claim_letter(
    office: Office, browser: Any
) -> None:
    letters = office.letters or _api_letters(office)
    page = pdftotext(letters).split("\f")[0]
    (number,) = set(NUMBER.findall(page))
    (code,) = set(CLAIM_CODE.findall(page))
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    try:
        pg.goto(office.url + "/holder")
        pg.fill("#number", number)
        pg.fill("#code", code)
        pg.click("button[type=submit]")
        pg.wait_for_url("**/holder/certificates")
        assert number in pg.locator(f"#c{number}").inner_text()
    finally:
        context.close()


AREAS = (
    ("certificates", "/office/certificates", "cy"),
    ("batches", "/office/batches", "cy"),
    ("inbox", "/office/inbox", "sb"),
    ("restrictions", "/office/restrictions", "sa"),
    ("audit", "/office/audit", "ada"),
)


@pytest.mark.parametrize(("area", "path", "username"), AREAS, ids=[a[0] for a in AREAS])
def test_each_area_page_opens_for_its_officer(
    office: Office, browser: Any, area: str, path: str, username: str
) -> None:
    _need(office, path)
    pg = _person(office, browser, username)
    answer = pg.goto(office.url + path)
    assert answer is not None and answer.status == 200, path
    assert pg.locator("main h1").count() == 1
    if area not in SHOT:
        _shot(pg, area, office)
    assert JS_ERRORS.get(id(pg)) == []
