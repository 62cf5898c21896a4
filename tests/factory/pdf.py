"""Shared test helpers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from PIL import Image

from credential import (
    QR_TYP,
    Certificate,
    IdType,
    KeySigner,
    QualificationType,
    Sex,
    StatusReference,
    elicence_id,
    encode_jws,
    photo_digest,
    qr_claims,
    qr_url,
)
from keys import KeyStore, PadesSigner, document_signing_certificate, root_certificate
from tests.factory import T0, TYPE_CODE, USCC, VERIFIER_URL, World
from tests.factory import keys as key_store
from tests.factory.keys import OFFICE as OFFICE
from tests.factory.keys import OFFICE_NAME as OFFICE_NAME

PURPOSE = "应聘北京市第一中学教师岗位"
MM_PER_INCH = 25.4


PURPOSE_EXPIRES = dt.date(2026, 12, 31)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: run scripts/system-packages.sh (poppler-utils)")
    return path


def fixed_world() -> World:
    """A World whose keys come from fixed bytes: the same certificate signs to the same
    tokens (Ed25519 is deterministic), so its QR and its page are the same every run."""
    return World(
        root=KeySigner(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), "root-1"),
        office_signer=KeySigner(
            Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132))), "11001-1"
        ),
    )


def sample_certificate(**over: object) -> Certificate:
    number = str(over.pop("certificate_number", "20261100142000001"))
    fields: dict[str, object] = dict(
        certificate_number=number,
        name="吴鸣",
        sex=Sex.FEMALE,
        birth_date=dt.date(1976, 9, 6),
        id_type=IdType.RESIDENT_ID,
        id_number="110105197609062469",
        qualification_type=QualificationType.SENIOR_MIDDLE,
        subject="思想政治",
        certified_on=dt.date(2026, 6, 17),
        office_name="北京市教育委员会教师资格认定中心",
        office_code="11001",
        elicence_id=elicence_id(type_code=TYPE_CODE, issuer_uscc=USCC, serial=number, version=1),
        version=1,
        ethnicity="汉族",
    )
    fields.update(over)
    return Certificate(**fields)  # type: ignore[arg-type]


def qr_text_for(world: World, cert: Certificate) -> str:
    return qr_url(VERIFIER_URL, world.issue(cert).qr_token)


def purpose_qr_text(world: World, cert: Certificate) -> str:
    """A purpose-bound copy's own signed QR token (claims ``p`` and ``exp``)."""
    full = world.issue(cert)
    claims = qr_claims(
        cert,
        issuer=world.office_id,
        issued_at=T0 - 3600,
        status=StatusReference(4242, world.status_uri),
        credential_jws=full.credential,
        purpose=PURPOSE,
        expires_at=int(dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC).timestamp()),
    )
    return qr_url(VERIFIER_URL, encode_jws({"typ": QR_TYP}, claims, world.office_signer))


# the keys and certificates of signed PDFs are made now: pyHanko validates against the clock
NOW = int(time.time())


def make_store(home: Path) -> KeyStore:
    """Return the PDF tests' key store: ``tests.factory.keys.make_store`` at ``NOW``."""
    return key_store.make_store(home, now=NOW)


# --- reading a PDF back: poppler-utils and zxing-cpp ---------------------------------------


def pdftotext(pdf: bytes) -> str:
    """Return the text poppler's pdftotext reads out of ``pdf`` (pages split by form feeds)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(
            [tool("pdftotext"), "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            check=True,
        )
    return out.stdout.decode("utf-8")


def pdffonts(pdf: bytes) -> list[dict[str, str]]:
    """Return poppler's pdffonts table of ``pdf``: name, embedded, subset, unicode map."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(
            [tool("pdffonts"), str(path)], capture_output=True, check=True, text=True
        ).stdout
    lines = out.splitlines()
    assert lines[0].split()[:6] == ["name", "type", "encoding", "emb", "sub", "uni"], out
    rows = []
    for line in lines[2:]:
        # name and type may hold spaces ("Type 1"): read the fixed yes/no columns from the right
        parts = line.split()
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def render_pages(pdf: bytes, dpi: int, *, png: bool = True) -> list[Image.Image]:
    """Render every page with pdftoppm in grey; return loaded PIL images."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.pdf"
        path.write_bytes(pdf)
        args = [tool("pdftoppm"), "-r", str(dpi), "-gray"] + (["-png"] if png else [])
        subprocess.run([*args, str(path), str(Path(d) / "p")], check=True)
        images = []
        for p in sorted(Path(d).glob("p-*.p?m")) + sorted(Path(d).glob("p-*.png")):
            with Image.open(p) as im:
                images.append(im.convert("L"))
    return images


def decode_qr(image: Image.Image) -> list[zxingcpp.Barcode]:
    """Return the QR codes zxing-cpp finds in ``image``."""
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


# --- signed PDFs for the verifier: a document-signing certificate from a World's root -------


def document_signer(
    root_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    *,
    eku: bool = True,
    office_id: str = "urn:jiaozi:office:11001",
) -> PadesSigner:
    """A PAdES signer with a fresh P-256 key whose certificate ``root_key`` issued, as
    ``keys.office_document_key`` makes it (``eku=False``: without Document Signing)."""
    now = dt.datetime.now(dt.UTC)
    root_der = root_certificate(
        root_key,
        name="test root",
        not_before=now - dt.timedelta(hours=1),
        not_after=now + dt.timedelta(days=30),
    )
    key = ec.generate_private_key(ec.SECP256R1())
    if eku:
        cert_der = document_signing_certificate(
            root_key,
            root_der,
            key.public_key(),
            office_name=OFFICE_NAME,
            office_id=office_id,
            not_before=now - dt.timedelta(hours=1),
            not_after=now + dt.timedelta(days=30),
        )
    else:
        root = x509.load_der_x509_certificate(root_der)
        cert_der = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, OFFICE_NAME)]))
            .issuer_name(root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(root_key, None if isinstance(root_key, Ed25519PrivateKey) else hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )
    return PadesSigner(key, cert_der, (root_der,))


def signed_pdf(
    world: World,
    cert: Certificate,
    signer: PadesSigner,
    *,
    idx: int = 4242,
    photo: bytes | None = None,
    attached_photo: bytes | None = None,
) -> bytes:
    """The e-licence PDF the issuer makes for ``cert`` (QR and credential by ``world``),
    signed by ``signer``; with ``photo`` (a normalised JPEG) bound into the credential and
    attached, or ``attached_photo`` attached instead (a forger's PDF, signed by ``signer``)."""
    from issuer.pdf import signed_certificate_pdf

    if photo is not None:
        cert = dataclasses.replace(cert, photo_digest=photo_digest(photo))
    issued = world.issue(cert, idx=idx)
    return signed_certificate_pdf(
        cert,
        qr_text=qr_url(VERIFIER_URL, issued.qr_token),
        verifier_url=VERIFIER_URL,
        signer=signer,
        credential_jws=issued.credential,
        photo=attached_photo if attached_photo is not None else photo,
    )


def root_private_key(world: World) -> Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
    """The private key behind ``world.root`` (the pinned root of the verifier harness)."""
    key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey = world.root._key
    return key
