"""Certificate PDFs: one page with its QR, rendered and signed with the
credential attached, against a bare reportlab page with the same text and an image of the
same size, measured in the same run (goal 0.6; also the page unsigned);
the QR encoder alone; and a 1,000-page print file. One process, so one core.

The bare page uses the same embedded font, and with it issuer.pdf's fix to reportlab's
subsetting (no copy of the 17 MB glyf table per subset; reportlab shares one face object
per face name in a process, so a "stock" face cannot be measured alongside): the ratio is
the strict one, against the faster baseline.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from bench._harness import interleaved
from credential import (
    Certificate,
    CertificateNumber,
    IdType,
    KeySigner,
    QualificationType,
    Sex,
    StatusReference,
    elicence_id,
    qr_url,
    sign_certificate,
)
from issuer.pdf import (
    PrintItem,
    _style,
    encode_qr,
    field_values,
    render_certificate,
    render_many,
    signed_certificate_pdf,
)
from keys import PadesSigner, office_document_key, pades_signer
from tests.factory.keys import OFFICE, OFFICE_NAME, make_store

VERIFIER = "https://verify.example.cn"
REPO = Path(__file__).resolve().parents[1]


def _rows() -> list[dict[str, str]]:
    shared = REPO.parent / "shared" / "data" / "applicants-1000.csv"
    path = shared if shared.is_file() else REPO / "jiaozi" / "data" / "sample-applicants.csv"
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _items(n: int, credentials: dict[str, str] | None = None) -> list[PrintItem]:
    """Return ``n`` printable sample certificates; ``credentials`` (if given) receives each
    one's credential JWS by certificate number."""
    signer = KeySigner(Ed25519PrivateKey.generate(), "11001-1")
    rows = _rows()
    items = []
    for serial in range(1, n + 1):
        row = rows[(serial - 1) % len(rows)]
        qt = QualificationType.parse(row["qualification_type"])
        sex = Sex.parse(row["gender"])
        number = str(
            CertificateNumber.build(
                year=int(row["issue_date"][:4]),
                province="11",
                office="001",
                qualification_type=qt,
                sex=sex,
                serial=serial,
            )
        )
        cert = Certificate(
            certificate_number=number,
            name=row["name"],
            sex=sex,
            birth_date=dt.date.fromisoformat(row["birth_date"]),
            id_type=IdType.parse(row["id_type"]),
            id_number=row["id_number"],
            qualification_type=qt,
            subject=row["subject"],
            certified_on=dt.date.fromisoformat(row["issue_date"]),
            office_name=OFFICE_NAME,
            office_code="11001",
            elicence_id=elicence_id(
                type_code="11100000000013338W009",
                issuer_uscc="11330105002500287C",
                serial=number,
                version=1,
            ),
        )
        tokens = sign_certificate(
            cert,
            signer=signer,
            issuer=OFFICE,
            issued_at=1_795_000_000,
            status=StatusReference(serial, "https://jszg.example.cn/statuslists/1"),
        )
        items.append(PrintItem(cert, qr_url(VERIFIER, tokens.qr_token)))
        if credentials is not None:
            credentials[number] = tokens.credential
    return items


def document_signer(home: Path) -> PadesSigner:
    """A throwaway key store's office document-signing key, as the issuer uses it."""
    now = int(time.time())
    store = make_store(home, now=now - 60, passphrase=b"bench passphrase, not a secret")
    return pades_signer(office_document_key(store, OFFICE, now=now))


def _bare_page(item: PrintItem, image: ImageReader, font: str) -> bytes:
    """The baseline: the same strings in the same embedded font, an image of the QR's
    pixel size, nothing else (no layout, no fallback checks, no QR encoding)."""
    layout = _style.get_style("v1").layout
    values = field_values(item)
    texts = (
        [t["text"] for t in layout["texts"]]
        + [r["label"] for r in layout["fields"]["rows"]]
        + list(values.values())
        + [
            "扫描二维码核验证书真伪",
            "核验网址：",
            VERIFIER,
            values["office"],
            values["certified_on"],
        ]
        + [layout["footer"]["text"]]
    )
    buf = io.BytesIO()
    c = Canvas(buf, initialFontName=font)
    y = 800.0
    for text in texts:
        c.setFont(font, 12)
        c.drawString(60, y, text)
        y -= 24
    c.drawImage(image, 60, 60, 113.4, 113.4)
    c.showPage()
    c.save()
    return buf.getvalue()


def run() -> dict[str, float]:
    credentials: dict[str, str] = {}
    items = _items(1000, credentials)
    signer = document_signer(Path(tempfile.mkdtemp(prefix="jiaozi-bench-")))
    style = _style.get_style("v1")
    q = style.layout["qr"]
    font = style.fonts.main
    modules = encode_qr(items[0].qr_text, engine=q["engine"]).modules + 2 * q["quiet_modules"]
    image = ImageReader(Image.new("L", (modules, modules), 255))

    # the same layout with zxing-cpp's C++ QR writer, to show what the encoder costs
    zx_layout = {**style.layout, "qr": {**q, "engine": "zxing"}}
    _style.STYLES["bench-zxing"] = _style.Style(zx_layout)

    state = {"i": 0}

    def nxt() -> PrintItem:
        state["i"] = (state["i"] + 1) % len(items)
        return items[state["i"]]

    def one(layout: str = "v1") -> bytes:
        it = nxt()
        return render_certificate(it.cert, qr_text=it.qr_text, verifier_url=VERIFIER, layout=layout)

    def signed() -> bytes:
        it = nxt()
        return signed_certificate_pdf(
            it.cert,
            qr_text=it.qr_text,
            verifier_url=VERIFIER,
            signer=signer,
            credential_jws=credentials[it.cert.certificate_number],
        )

    rates = interleaved(
        {
            "pdf_bare_page_per_s": lambda: _bare_page(nxt(), image, font),
            "pdf_certificate_per_s": one,
            "pdf_certificate_signed_per_s": signed,
            "pdf_certificate_zxing_qr_per_s": lambda: one("bench-zxing"),
            "pdf_qr_segno_fixed_mask_per_s": lambda: encode_qr(nxt().qr_text, mask=0),
            "pdf_qr_segno_best_mask_per_s": lambda: encode_qr(nxt().qr_text, mask=None),
            "pdf_qr_zxing_per_s": lambda: encode_qr(nxt().qr_text, engine="zxing"),
        }
    )
    del _style.STYLES["bench-zxing"]
    bare = rates["pdf_bare_page_per_s"]
    rates["pdf_certificate_ratio"] = rates["pdf_certificate_per_s"] / bare
    rates["pdf_certificate_zxing_qr_ratio"] = rates["pdf_certificate_zxing_qr_per_s"] / bare
    # the goal is for rendering AND signing, the credential attached
    rates["pdf_certificate_signed_ratio"] = rates["pdf_certificate_signed_per_s"] / bare
    rates["pdf_certificate_goal"] = 0.6

    start = time.perf_counter()
    data = render_many(items, verifier_url=VERIFIER)
    elapsed = time.perf_counter() - start
    rates["pdf_batch_1000_pages_per_s"] = len(items) / elapsed
    rates["pdf_batch_1000_mb"] = len(data) / 1e6
    rates["pdf_certificate_kb"] = len(one()) / 1e3
    rates["pdf_certificate_signed_kb"] = len(signed()) / 1e3
    return rates


if __name__ == "__main__":
    for k, v in run().items():
        print(f"{k:<40} {v:12.3f}")
