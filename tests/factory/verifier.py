"""Shared test helpers."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import segno
import segno.consts
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFilter
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from credential import (
    IdType,
    encode_jws,
    person_reference,
    qr_segments,
    restriction_entry_claim,
    restrictions_changes_claims,
    restrictions_snapshot_claims,
    sign_restrictions,
)
from tests.factory import ISSUER_URL, NOW, VERIFIER_URL, World
from verifier.app import create_app
from verifier.settings import IssuerSource, VerifierSettings

TRUST_URL = "https://trust.example.cn/trust-list.jwt"


FEED_KEY = "verifier-client-key-0123456789abcdef"


PERSON_KEY = "person-ref-key-shared-0123456789abcdef"


_HTTP_DATE = "%a, %d %b %Y %H:%M:%S GMT"


class Clock:
    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def person_ref(row: dict[str, str]) -> str:
    return person_reference(PERSON_KEY.encode(), IdType.parse(row["id_type"]), row["id_number"])


@dataclass
class FakeIssuer:
    """Serves a trust list, status lists and the restricted-list feed, signed by a World."""

    world: World
    clock: Clock
    down: bool = False
    requests: list[httpx.Request] = field(default_factory=list)
    trust_token: str = ""
    status_iat: int | None = None  # fixed iat to serve (rollback tests); else clock - 5
    status_ttl: int = 300
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)  # {seq, op, entry}
    restrictions_iat: int | None = None  # fixed iat for the feed (rollback tests)
    use_etags: bool = True
    use_last_modified: bool = False
    last_modified: dict[str, str] = field(default_factory=dict)
    page_size: int = 100

    def __post_init__(self) -> None:
        self.trust_token = self.world.trust_token()

    @property
    def cursor(self) -> int:
        return self.log[-1]["seq"] if self.log else 0

    def restrict(
        self,
        entry_id: str,
        row: dict[str, str],
        category: str = "revoked",
        affected: tuple[str, ...] = (),
        bar_until: str | None = "2031-11-28",
        decision_date: str = "2026-11-28",
    ) -> None:
        entry = restriction_entry_claim(
            entry_id=entry_id,
            category=category,
            decision_date=dt.date.fromisoformat(decision_date),
            bar_until=(
                dt.date.fromisoformat(bar_until)
                if bar_until is not None and category == "revoked"
                else None
            ),
            deciding_office="北京市教育委员会",
            affected=affected,
        )
        self.entries[entry_id] = entry
        self.log.append({"seq": self.cursor + 1, "op": "add", "entry": entry})

    def unrestrict(self, entry_id: str) -> None:
        self.entries.pop(entry_id)
        self.log.append({"seq": self.cursor + 1, "op": "remove", "entry": {"id": entry_id}})

    def sign(self, typ: str, payload: dict[str, Any]) -> str:
        return encode_jws({"typ": typ}, payload, self.world.office_signer)

    def _iat(self) -> int:
        return int(self.clock().timestamp()) - 5

    def _cached(self, request: httpx.Request, body: str, media: str) -> httpx.Response:
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
        if self.use_etags and request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        modified = self.last_modified.setdefault(body, self.clock().strftime(_HTTP_DATE))
        if self.use_last_modified and request.headers.get("if-modified-since") == modified:
            return httpx.Response(304)
        headers = {"Content-Type": media}
        if self.use_etags:
            headers["ETag"] = etag
        if self.use_last_modified:
            headers["Last-Modified"] = modified
        return httpx.Response(200, text=body, headers=headers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("issuer down", request=request)
        url = str(request.url)
        if url == TRUST_URL:
            return self._cached(request, self.trust_token, "application/jwt")
        if url == self.world.status_uri:
            iat = self.status_iat if self.status_iat is not None else self._iat()
            token = self.world.status_token(iat=iat, ttl=self.status_ttl)
            return self._cached(request, token, "application/statuslist+jwt")
        path = request.url.path
        if path.startswith("/api/v1/restrictions/"):
            if request.headers.get("authorization") != f"Bearer {FEED_KEY}":
                return httpx.Response(401)
            iss = self.world.office_id
            iat = self.restrictions_iat or self._iat()
            if path.endswith("/snapshot"):
                claims = restrictions_snapshot_claims(
                    iss=iss, iat=iat, cursor=self.cursor, entries=list(self.entries.values())
                )
            elif path.endswith("/changes"):
                after = int(request.url.params["after"])
                page = [c for c in self.log if c["seq"] > after][: self.page_size]
                claims = restrictions_changes_claims(
                    iss=iss,
                    iat=iat,
                    after=after,
                    changes=[(c["seq"], c["op"], c["entry"]) for c in page],
                )
            else:
                return httpx.Response(404)
            signed = sign_restrictions(claims, self.world.office_signer)
            return httpx.Response(200, text=signed)
        return httpx.Response(404)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))

    def requested(self, url: str) -> int:
        return sum(1 for r in self.requests if str(r.url).split("?")[0] == url.split("?")[0])


def write_root(world: World, tmp: Path) -> Path:
    path = tmp / "root.jwks.json"
    path.write_text(json.dumps({"keys": [world.root.public_key().to_jwk()]}))
    return path


def settings_for(database_url: str, root: Path, **over: Any) -> VerifierSettings:
    values: dict[str, Any] = dict(
        database_url=database_url,
        public_url=VERIFIER_URL,
        root_jwks=root,
        trust_list_url=TRUST_URL,
        issuers=(IssuerSource(base_url=ISSUER_URL, api_key=FEED_KEY),),
        status_grace=600,
        sync_interval=0,
        reload_interval=0,
    )
    values.update(over)
    return VerifierSettings(**values)


@dataclass
class Harness:
    world: World
    issuer: FakeIssuer
    clock: Clock
    settings: VerifierSettings
    app: Any
    client: TestClient

    @property
    def verifier(self) -> Any:
        return self.app.state.verifier

    def sync(self) -> Any:
        return self.verifier.syncer.run_once()

    def verify(self, **body: Any) -> dict[str, Any]:
        r = self.client.post("/api/v1/verify", json=body)
        assert r.status_code == 200, r.text
        return r.json()


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


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()} {record.exc_text or ''}")


def make_harness(
    database_url: str, tmp: Path, world: World | None = None, **over: Any
) -> Iterator[Harness]:
    """A verifier app on a fake issuer. Every response it gives and every log line of the
    verifier and httpx during the test are scanned at the end for identity numbers (GB
    11643, valid check digit): any found fails the test that produced it."""
    world = world or World()
    clock = Clock()
    issuer = FakeIssuer(world, clock)
    settings = settings_for(database_url, write_root(world, tmp), **over)
    http = issuer.client()
    app = create_app(settings, http=http, clock=clock)
    bodies: list[str] = []
    records = _Records()
    loggers = [logging.getLogger(n) for n in ("jiaozi", "httpx", "uvicorn")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(records)
        lg.setLevel(logging.DEBUG)

    def keep(response: httpx.Response) -> None:
        response.read()
        bodies.append(response.text)

    try:
        with TestClient(app) as client:
            client.event_hooks = {"request": [], "response": [keep]}
            yield Harness(world, issuer, clock, settings, app, client)
    finally:
        http.close()
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(records)
            lg.setLevel(level)
        leaked = gb11643_numbers("\n".join(bodies + records.lines))
        assert leaked == [], f"identity numbers in responses or logs: {len(leaked)}"


def photo(text: str, fmt: str = "PNG") -> bytes:
    """A 'photo' of a printed QR: grey paper, the code off-centre, slightly blurred."""
    code = qr_image(text, scale=6, border=4).convert("RGB")
    page = Image.new("RGB", (1400, 1100), (214, 209, 200))
    ImageDraw.Draw(page).rectangle((80, 60, 1320, 1040), fill=(246, 244, 238))
    page.paste(code, (520, 300))
    page = page.filter(ImageFilter.GaussianBlur(0.8))
    buf = io.BytesIO()
    page.save(buf, format=fmt, quality=85)
    return buf.getvalue()


def pdf(
    qr_text: str | None,
    credential: str | None,
    name: str = "2026110011000001.vc.jwt",
    *,
    photo: bytes | None = None,
) -> bytes:
    """An A4 certificate: title, the QR as a 1-pixel-per-module image, the JWS attached
    (and ``photo`` as ``photo.jpg`` when given). Not signed."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("Helvetica", 14)
    c.drawString(72, 770, "Teacher qualification certificate")
    if qr_text is not None:
        img = qr_image(qr_text)
        c.drawImage(ImageReader(img), 400, 80, 120, 120)
    c.showPage()
    c.save()
    if credential is None and photo is None:
        return buf.getvalue()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    if credential is not None:
        writer.add_attachment(name, credential.encode("ascii"))
    if photo is not None:
        writer.add_attachment("photo.jpg", photo)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def upload(h: Harness, data: bytes, filename: str, media: str, **headers: str):
    return h.client.post("/api/v1/verify", files={"file": (filename, data, media)}, headers=headers)


def ask(h: Harness, key: str, row: dict[str, str], **over: Any):
    """POST an admission check to the verifier (which sends schools to the registry)."""
    body = {
        "name": row["name"],
        "id_type": row["id_type"],
        "id_number": row["id_number"],
        "consent_reference": "HR-2026-0042 signed consent form",
    }
    body.update(over)
    return h.client.post(
        "/api/v1/admission-checks", json=body, headers={"Authorization": f"Bearer {key}"}
    )


def qr_image(text: str, scale: int = 1, border: int = 0) -> Image.Image:
    """The QR as the issuer draws it: 1 pixel per module (or scaled), greyscale."""
    segs = [(c, QR_MODES[m]) for c, m in qr_segments(text)]
    qr = segno.make_qr(segs, error="q", boost_error=False)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=border)
    buf.seek(0)
    return Image.open(buf).convert("L")


QR_MODES = {"byte": segno.consts.MODE_BYTE, "numeric": segno.consts.MODE_NUMERIC}
