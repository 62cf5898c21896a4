"""Shared test helpers."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
    qr_claims,
    qr_url,
)
from keys import (
    KeyStore,
    add_office,
    init_trust,
)
from tests.factory import T0, TYPE_CODE, USCC, VERIFIER_URL, World

PURPOSE = "应聘北京市第一中学教师岗位"


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


OFFICE = "urn:jiaozi:office:11001"


NOW = int(time.time())


def make_store(home: Path) -> KeyStore:
    store = KeyStore(home, PASS)
    init_trust(store, now=NOW)
    add_office(
        store,
        office_id=OFFICE,
        name=OFFICE_NAME,
        province="11",
        office_code="001",
        qualification_types=["senior_middle"],
        now=NOW,
    )
    return store


PASS = b"correct horse battery staple"


OFFICE_NAME = "北京市教育委员会教师资格认定中心"
