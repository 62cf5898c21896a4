"""The demo's samples and its HTTP steps: issuing at an office as a clerk, downloading the
signed PDF, verifying at the verifier, revoking with two supervisors.

The applicants are synthetic (``../shared/data/applicants-1000.csv`` when present, else
the small copy in ``jiaozi/data/``): the first rows, plus one name outside GB 2312.
Every answer the demo did not expect raises DemoError with the URL and the body.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import time
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from credential import (
    CertificateView,
    Check,
    Reason,
    Verdict,
    VerificationResult,
    beijing_date,
    parse_jws,
    qr_segments,
)

from .layout import Layout, OfficeSpec
from .photos import synthetic_photo
from .services import DemoError

__all__ = [
    "SYNC_TIMEOUT",
    "OfficeClient",
    "VerifierClient",
    "applicants",
    "application",
    "expect",
    "pad",
    "poll",
    "result",
    "sample_photo",
    "verdict_text",
]

SAMPLES = 4  # the first rows of the sample data, plus one rare-character name
SYNC_TIMEOUT = 60.0  # seconds for the verifier (or an office) to see what was published
PDF_TIMEOUT = 120.0


def applicants() -> list[dict[str, str]]:
    """Return the first rows of the sample data and its first rare-character name.

    A name outside GB 2312 (喆, 堃, 赟, ...) is what breaks systems and fonts that only
    know the common characters; the demo prints one.
    """
    package = Path(__file__).resolve().parents[1]
    shared = package.parents[1] / "shared" / "data" / "applicants-1000.csv"
    source = shared if shared.is_file() else package / "data" / "sample-applicants.csv"
    with source.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rest = rows[SAMPLES:]
    rare = [row for row in rest if not _common(row["name"])]
    return rows[:SAMPLES] + (rare or rest)[:1]


def _common(name: str) -> bool:
    try:
        name.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def application(row: dict[str, str], **over: str) -> dict[str, str]:
    """Return the issuer API's application body for a sample row."""
    body = {
        "name": row["name"],
        "sex": row["gender"],
        "birth_date": row["birth_date"],
        "id_type": row["id_type"],
        "id_number": row["id_number"],
        "qualification_type": row["qualification_type"],
        "subject": row["subject"],
        "certified_on": row["issue_date"],
    }
    body.update(over)
    return body


def sample_photo(row: dict[str, str]) -> str:
    """Return the base64 of a synthetic photo for ``row`` (the same one every run)."""
    seed = zlib.crc32(row["request_id"].encode("utf-8"))
    return base64.b64encode(synthetic_photo(seed)).decode("ascii")


def _save_qr_png(text: str, path: Path) -> bool:
    try:
        import segno
        import segno.consts
    except ImportError:  # the issuer extra draws QR images; the demo works without
        return False
    modes = {"byte": segno.consts.MODE_BYTE, "numeric": segno.consts.MODE_NUMERIC}
    segments = [(c, modes[m]) for c, m in qr_segments(text)]
    qr = segno.make_qr(segments, error="q", boost_error=False)  # type: ignore[arg-type]
    qr.save(str(path), scale=4, border=4)
    return True


def expect(r: httpx.Response, *codes: int, doing: str) -> Any:
    """Return the body of ``r`` (JSON decoded) if its status is one of ``codes``; raise
    DemoError naming ``doing``, the URL and the body otherwise."""
    if r.status_code not in codes:
        raise DemoError(f"{doing}: HTTP {r.status_code} from {r.request.url}\n    {r.text[:2000]}")
    if r.headers.get("content-type", "").startswith(("application/json", "application/problem")):
        return r.json()
    return r.content


def poll(
    what: str, ask: Callable[[], dict[str, Any]], ok: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Return ``ask()``'s first answer ``ok`` accepts, asking every half second; raise
    DemoError after SYNC_TIMEOUT seconds."""
    deadline = time.monotonic() + SYNC_TIMEOUT
    while True:
        last = ask()
        if ok(last):
            return last
        if time.monotonic() >= deadline:
            raise DemoError(
                f"{what}: not seen within {SYNC_TIMEOUT:.0f} s (logs in var/demo/logs/); "
                f"the last answer: {last}"
            )
        time.sleep(0.5)


def pad(text: str, width: int) -> str:
    """Left-justify ``text`` to ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def result(body: dict[str, Any]) -> VerificationResult:
    """Return the verifier API's JSON (asked in Chinese) as a result, to print like the CLI."""
    checked_at = _ts(body["checked_at"])
    assert checked_at is not None
    return VerificationResult(
        verdict=Verdict(body["verdict"]),
        reason=Reason(body["reason"]) if body.get("reason") else None,
        checks=tuple(Check(c["name"], c["ok"], c["detail"], c["detail"]) for c in body["checks"]),
        certificate=CertificateView(**body["certificate"]) if body.get("certificate") else None,
        status_as_of=_ts(body.get("status_as_of")),
        checked_at=checked_at,
    )


def verdict_text(body: dict[str, Any]) -> str:
    """Return ``有效 (valid)``-style text of a verifier answer, with its reason."""
    text = f"{Verdict(body['verdict']).zh} ({body['verdict']})"
    return text + (f", {body['reason']}" if body.get("reason") else "")


@dataclass
class OfficeClient:
    """One running office as its clerk and supervisors see it over HTTP."""

    spec: OfficeSpec
    url: str
    http: httpx.Client
    layout: Layout
    keys: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> auth header

    def make_accounts(self, *, clerk: bool) -> str:
        """Make a clerk (if ``clerk``) and the verifier's client with the admin's key;
        return the client's key (the supervisors were made on the machine)."""
        admin = self.keys["admin"]
        if clerk:
            r = self.http.post(
                f"{self.url}/api/v1/officers",
                json={"username": "demo-clerk", "display_name": "演示经办人", "role": "clerk"},
                headers=admin,
            )
            body = expect(r, 201, doing=f"creating the clerk at {self.spec.short}")
            self.keys["demo-clerk"] = {"Authorization": f"Bearer {body['api_key']}"}
        r = self.http.post(
            f"{self.url}/api/v1/clients",
            json={"name": "demo-verifier", "kind": "verifier"},
            headers=admin,
        )
        key: str = expect(r, 201, doing="creating the verifier's client account")["api_key"]
        return key

    def apply(self, row: dict[str, str], *, attempt: int = 1, **over: str) -> httpx.Response:
        """Send the application of ``row`` (fields ``over`` changed) as the clerk, the
        ``attempt``-th for this row; return the raw answer."""
        body = application(row, **over)
        body.setdefault("photo", sample_photo(row))  # the holder's photo (synthetic)
        return self.http.post(
            f"{self.url}/api/v1/certificates",
            json=body,
            headers={
                **self.keys["demo-clerk"],
                "Idempotency-Key": f"demo-{self.spec.key}-{row['request_id']}-{attempt}",
            },
        )

    def issue(self, row: dict[str, str]) -> dict[str, Any]:
        """Issue ``row``'s certificate, save its credential and QR under certificates/ and
        its signed PDF under pdf/; return the issuer's answer plus ``pdf`` and ``office``."""
        cert: dict[str, Any] = expect(
            self.apply(row), 201, doing=f"issuing {row['request_id']} at {self.spec.short}"
        )
        number = cert["certificate_number"]
        base = self.layout.certificates / number
        jws = cert["credential"]
        base.with_suffix(".vc.jwt").write_text(jws + "\n")
        doc = {"credential": dict(parse_jws(jws).payload), "jws": jws}
        base.with_suffix(".json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        base.with_suffix(".qr.txt").write_text(cert["qr_url"] + "\n")
        _save_qr_png(cert["qr_url"], base.with_suffix(".qr.png"))
        r = self.http.get(
            f"{self.url}/api/v1/certificates/{number}/pdf",
            headers=self.keys["demo-clerk"],
            timeout=PDF_TIMEOUT,
        )
        pdf = self.layout.pdf / f"{number}.pdf"
        pdf.write_bytes(expect(r, 200, doing=f"downloading the PDF of {number}"))
        cert["pdf"] = str(pdf.relative_to(self.layout.base))
        cert["office"] = self.spec.office_id
        return cert

    def claim_code(self, number: str) -> dict[str, Any]:
        """Make the teacher's claim code for certificate ``number`` as the clerk, as an
        office does (``POST /api/v1/certificates/{number}/claim-code``); return the answer
        (``claim_code``, ``expires_at``, ``holder_url``: the code is shown only this once)."""
        r = self.http.post(
            f"{self.url}/api/v1/certificates/{number}/claim-code", headers=self.keys["demo-clerk"]
        )
        made: dict[str, Any] = expect(r, 201, doing=f"making the claim code of {number}")
        return made

    def two_supervisors(self, path: str, body: dict[str, Any], doing: str) -> dict[str, Any]:
        """POST ``body`` to ``path`` as supervisor A and, when it waits for a second
        person, approve it as supervisor B; return the approval's answer (or the first
        one when the office does not ask for two)."""
        r = self.http.post(f"{self.url}{path}", json=body, headers=self.keys["demo-sup-a"])
        asked: dict[str, Any] = expect(r, 200, 201, 202, doing=doing)
        if asked.get("state") != "pending":
            return asked
        action = asked["pending_action"]["id"]
        r = self.http.post(
            f"{self.url}/api/v1/pending-actions/{action}/approve",
            headers=self.keys["demo-sup-b"],
        )
        approved: dict[str, Any] = expect(r, 200, doing=f"approving: {doing}")
        return approved

    def revoke(self, number: str) -> None:
        """Revoke ``number`` (misconduct): supervisor A asks, supervisor B approves."""
        decision = {
            "reason_code": "misconduct",
            "decision_date": beijing_date(dt.datetime.now(dt.UTC)).isoformat(),
            "legal_basis": "《教师资格条例》第十九条",
        }
        self.two_supervisors(
            f"/api/v1/certificates/{number}/revocations", decision, f"revoking {number}"
        )

    def save_status(self, uri: str) -> Path:
        """Save the status list at ``uri`` under status/; return its path."""
        r = self.http.get(uri)
        name = uri.rstrip("/").rsplit("/", 1)[1]
        path = self.layout.status / f"{self.spec.home_name}-{name}.jwt"
        path.write_text(expect(r, 200, doing=f"fetching {uri}").decode().strip() + "\n")
        return path


@dataclass
class VerifierClient:
    """The verifier's public API, asked in Chinese."""

    url: str
    http: httpx.Client

    def verify(self, qr: str) -> dict[str, Any]:
        """Return the verifier's answer for a QR link (``verdict`` None before the first
        sync round has fetched the trust list: a 503)."""
        r = self.http.post(
            f"{self.url}/api/v1/verify", json={"qr": qr}, headers={"Accept-Language": "zh-CN"}
        )
        if r.status_code == 503:
            return {"verdict": None, "problem": r.json()}
        body: dict[str, Any] = expect(r, 200, doing="verifying")
        return body

    def verify_pdf(self, path: Path) -> dict[str, Any]:
        """Return the verifier's answer for an uploaded PDF."""
        r = self.http.post(
            f"{self.url}/api/v1/verify",
            files={"file": (path.name, path.read_bytes(), "application/pdf")},
            headers={"Accept-Language": "zh-CN"},
            timeout=60,
        )
        body: dict[str, Any] = expect(r, 200, doing=f"verifying the upload of {path.name}")
        return body
