"""Hostile uploads (issue 11 point 1): every file of the battery in tests/factory/hostile.py
is answered with a 422 problem naming its defect, through the real app and its worker
processes; genuine files still verify after the whole battery. How fast and how much
memory is measured by ``make bench`` (bench/hostile.py), never here."""

from __future__ import annotations

import pytest

from credential import qr_url
from tests.factory import VERIFIER_URL, applicants
from tests.factory.hostile import Hostile, battery
from tests.factory.pdf import document_signer, root_private_key, signed_pdf
from tests.factory.verifier import Harness, photo, upload
from verifier.sandbox import ExtractorBusy

BATTERY = battery()


def issued_pdf(h: Harness, idx: int) -> bytes:
    """The issuer's signed e-licence PDF of a fresh certificate of the harness's world."""
    signer = document_signer(root_private_key(h.world))
    return signed_pdf(h.world, h.world.certificate(applicants()[idx]), signer, idx=600 + idx)


def test_the_battery_holds_at_least_30_distinct_hostile_files() -> None:
    assert len({h.name for h in BATTERY}) == len(BATTERY) >= 30
    assert len({h.code for h in BATTERY}) >= 15


@pytest.mark.parametrize("hostile", BATTERY, ids=[h.name for h in BATTERY])
def test_hostile_file_is_a_422_problem_naming_its_defect(api: Harness, hostile: Hostile) -> None:
    r = upload(api, hostile.build(), "upload.bin", "application/octet-stream")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/" + hostile.code) and body["status"] == 422
    assert body["detail"]  # says what is wrong with the file, in the client's language


def test_genuine_files_verify_after_the_whole_battery(unlimited: Harness) -> None:
    for hostile in BATTERY:
        r = upload(unlimited, hostile.build(), "upload.bin", "application/octet-stream")
        assert r.status_code == 422, (hostile.name, r.text)
    workers = unlimited.app.state.sandbox.pids()
    assert workers and all(pid > 0 for pid in workers)
    signed = upload(unlimited, issued_pdf(unlimited, 3), "c.pdf", "application/pdf")
    assert (signed.json()["verdict"], signed.json()["reason"]) == ("valid", None)
    issued = unlimited.world.issue(idx=103)
    shot = upload(unlimited, photo(qr_url(VERIFIER_URL, issued.qr_token)), "q.png", "image/png")
    assert shot.json()["verdict"] == "valid"


def test_uploads_are_503_when_no_file_reader_is_free(
    api: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(_data: bytes) -> None:
        raise ExtractorBusy

    monkeypatch.setattr(api.app.state.sandbox, "run", busy)
    r = upload(api, issued_pdf(api, 4), "c.pdf", "application/pdf", **{"Accept-Language": "en"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["type"].endswith("/extractor_busy")
