"""No full identity number leaves the verifier: a representative run of requests (verify a
token, a credential, a PDF, a photo; the moved admission endpoint; errors; sync), with
every response body and every log record scanned for 18-character numbers with a valid
GB 11643 check digit, and for the applicants' numbers themselves."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from credential import b64url_encode, qr_url
from tests.factory import VERIFIER_URL, applicants
from tests.factory.verifier import Harness, ask, make_harness, pdf, photo, upload

_CANDIDATE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def gb11643_numbers(text: str) -> list[str]:
    """Return the 18-character numbers in ``text`` whose GB 11643 check digit is right."""
    found = []
    for m in _CANDIDATE.finditer(text):
        s = m.group(0).upper()
        check = "10X98765432"[sum(int(d) * w for d, w in zip(s[:17], _WEIGHTS)) % 11]
        if s[17] == check:
            found.append(s)
    return found


def test_the_scanner_finds_what_it_should() -> None:
    number = applicants()[1]["id_number"]
    assert gb11643_numbers(f"id {number}.") == [number]
    assert gb11643_numbers(number[:17] + ("0" if number[17] != "0" else "1")) == []
    assert gb11643_numbers("2026110011000001") == []  # a certificate number: 17 digits


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    gen = make_harness(database_url, tmp_path)
    h = next(gen)
    h.issuer.restrict("r1", applicants()[5], category="lost")
    yield h
    gen.close()


def test_no_identity_number_in_any_response_or_log(
    env: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = env
    caplog.set_level(logging.DEBUG)
    rows = applicants()
    bodies: list[str] = []

    def keep(r) -> None:  # type: ignore[no-untyped-def]
        bodies.append(r.text)

    h.verifier.syncer.run_once(extra_status=[h.world.status_uri])
    issued = [h.world.issue(h.world.certificate(rows[i]), idx=300 + i) for i in range(1, 8)]
    one = issued[0]
    keep(h.client.post("/api/v1/verify", json={"qr": qr_url(VERIFIER_URL, one.qr_token)}))
    keep(h.client.post("/api/v1/verify", json={"qr": one.qr_token}))
    for item in issued:
        keep(h.client.post("/api/v1/verify", json={"credential": item.credential}))
        keep(h.client.post("/api/v1/verify", json={"qr": item.credential}))
    keep(
        h.client.post(
            "/api/v1/verify", json={"qr": one.qr_token, "credential": issued[1].credential}
        )
    )
    keep(
        upload(
            h, pdf(qr_url(VERIFIER_URL, one.qr_token), one.credential), "c.pdf", "application/pdf"
        )
    )
    keep(upload(h, photo(qr_url(VERIFIER_URL, one.qr_token)), "p.png", "image/png"))
    # a credential with a bad signature, and one whose claims are broken but number intact
    head, payload, sig = one.credential.split(".")
    keep(h.client.post("/api/v1/verify", json={"credential": f"{head}.{payload}.{sig[::-1]}"}))
    claims = json.loads(__import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["certificateNumber"] = rows[1]["id_number"]  # format fails
    bad = f"{head}.{b64url_encode(json.dumps(claims, ensure_ascii=False).encode())}.{sig}"
    keep(h.client.post("/api/v1/verify", json={"credential": bad}))
    keep(h.client.post("/api/v1/verify", json={"qr": rows[1]["id_number"]}))
    keep(h.client.post("/api/v1/verify", json={"qr": VERIFIER_URL + "/v#" + rows[1]["id_number"]}))
    keep(
        h.client.post(
            "/api/v1/verify",
            content=rows[1]["id_number"].encode(),
            headers={"Content-Type": "application/json"},
        )
    )
    keep(upload(h, rows[1]["id_number"].encode(), "id.txt", "text/plain"))
    # the admission endpoint moved to the registry: asked anyway, it answers 410
    for i in (5, 9):
        keep(ask(h, "jzv_000000000000_" + "A" * 43, rows[i]))
    assert '"status":410' in bodies[-1].replace(" ", "")
    logged = [
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records
    ]
    everything = "\n".join(bodies + logged)
    assert gb11643_numbers(everything) == []
    for row in rows[:12]:
        assert row["id_number"] not in everything
    assert len(bodies) >= 25 and caplog.records  # the scan saw real traffic and logs
