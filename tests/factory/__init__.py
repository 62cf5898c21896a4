"""Builders for a small, self-contained trust world: a root, offices, keys, status lists.

Tests import these instead of repeating set-up; everything is deterministic given ``now``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credential import (
    STATUS_LIST_TYP,
    Certificate,
    CertificateNumber,
    IdType,
    InvalidFieldError,
    KeySigner,
    Office,
    QualificationType,
    Sex,
    Sm2PrivateKey,
    StatusList,
    StatusReference,
    StatusSnapshot,
    TrustList,
    add_signature,
    elicence_id,
    encode_jws,
    load_status_list,
    sign_certificate,
    sign_trust_list,
    status_list_claims,
    verify,
    verify_trust_list,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
APPLICANTS_CSV = SHARED / "data" / "applicants-1000.csv"
NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
T0 = int(NOW.timestamp())
ISSUER_URL = "https://jszg.example.cn"
VERIFIER_URL = "https://verify.example.cn"
TYPE_CODE = "11100000000013338W009"
USCC = "11330105002500287C"


def applicants() -> list[dict[str, str]]:
    """Return the shared synthetic applicants (1,000 invented people)."""
    with APPLICANTS_CSV.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def field_error(fn: object, *args: object, **kwargs: object) -> InvalidFieldError:
    """Return the InvalidFieldError ``fn(*args, **kwargs)`` raises (failing the test if it
    raises none), after checking it has both its English and its Chinese message."""
    assert callable(fn)
    with pytest.raises(InvalidFieldError) as info:
        fn(*args, **kwargs)
    err = info.value
    assert err.message and err.message_zh
    return err


def signer(alg: str = "EdDSA", kid: str = "11001-1", *, seed: int | None = None) -> KeySigner:
    """Return a signer with a fresh key, or a fixed one derived from ``seed`` (reproducible
    tokens: test ids that depend on token bytes must be the same in every xdist worker)."""
    if seed is not None:
        material = hashlib.sha256(f"jiaozi-test-key-{seed}".encode()).digest()
        if alg == "EdDSA":
            return KeySigner(Ed25519PrivateKey.from_private_bytes(material), kid)
        if alg == "SM2SM3":
            return KeySigner(Sm2PrivateKey(material), kid)
        scalar = int.from_bytes(material, "big") % (2**255) + 1
        return KeySigner(ec.derive_private_key(scalar, ec.SECP256R1()), kid)
    if alg == "SM2SM3":
        return KeySigner(Sm2PrivateKey.generate(), kid)
    key = (
        Ed25519PrivateKey.generate() if alg == "EdDSA" else ec.generate_private_key(ec.SECP256R1())
    )
    return KeySigner(key, kid)


@dataclass
class World:
    """A root, one office (all seven types unless scoped) and its status list."""

    root: KeySigner = field(default_factory=lambda: signer(kid="root-1"))
    office_signer: KeySigner = field(default_factory=signer)
    office_id: str = "urn:jiaozi:office:11001"
    scope: frozenset[QualificationType] = frozenset(QualificationType)
    key_window: dict[str, int | None] = field(default_factory=dict)
    status: StatusList = field(default_factory=lambda: StatusList(131072, bits=2))
    status_uri: str = ISSUER_URL + "/statuslists/1"
    serial: int = 0
    #: the office's SM2 key beside its EdDSA one (issue 16), with its own window
    sm2_signer: KeySigner | None = None
    sm2_window: dict[str, int | None] = field(default_factory=dict)

    @property
    def office(self) -> Office:
        return Office(
            id=self.office_id,
            name="北京市教育委员会教师资格认定中心",
            province="11",
            office_code="001",
            qualification_types=self.scope,
            keys=(self.office_signer.public_key(**self.key_window),)
            + (
                (self.sm2_signer.public_key(**self.sm2_window),)
                if self.sm2_signer is not None
                else ()
            ),
        )

    @property
    def trust(self) -> TrustList:
        return TrustList(sequence=1, issued_at=T0 - 86400, offices=(self.office,))

    def trust_token(self) -> str:
        return sign_trust_list(self.trust, self.root)

    def verified_trust(self) -> TrustList:
        return verify_trust_list(self.trust_token(), [self.root.public_key()])

    def status_token(
        self, *, iat: int = T0 - 60, ttl: int = 3600, signer_: KeySigner | None = None
    ) -> str:
        claims = status_list_claims(
            self.status, uri=self.status_uri, iat=iat, exp=iat + 86400, ttl=ttl
        )
        return encode_jws({"typ": STATUS_LIST_TYP}, claims, signer_ or self.office_signer)

    def snapshot(self, **kw: object) -> StatusSnapshot:
        return load_status_list(self.status_token(**kw), self.trust)  # type: ignore[arg-type]

    def certificate(self, row: dict[str, str] | None = None, **over: object) -> Certificate:
        row = row or applicants()[1]
        self.serial += 1
        qt = QualificationType.parse(row["qualification_type"])
        sex = Sex.parse(row["gender"])
        number = str(
            CertificateNumber.build(
                year=int(row["issue_date"][:4]),
                province="11",
                office="001",
                qualification_type=qt,
                sex=sex,
                serial=self.serial,
            )
        )
        fields: dict[str, object] = dict(
            certificate_number=number,
            name=row["name"],
            sex=sex,
            birth_date=dt.date.fromisoformat(row["birth_date"]),
            id_type=IdType.parse(row["id_type"]),
            id_number=row["id_number"],
            qualification_type=qt,
            subject=row["subject"],
            certified_on=dt.date.fromisoformat(row["issue_date"]),
            office_name="北京市教育委员会教师资格认定中心",
            office_code="11001",
            elicence_id=elicence_id(
                type_code=TYPE_CODE, issuer_uscc=USCC, serial=number, version=1
            ),
        )
        fields.update(over)
        return Certificate(**fields)  # type: ignore[arg-type]

    def issue(
        self,
        cert: Certificate | None = None,
        *,
        idx: int = 4242,
        issued_at: int = T0 - 3600,
        signer_: KeySigner | None = None,
        issuer: str | None = None,
    ):
        cert = cert or self.certificate()
        return sign_certificate(
            cert,
            signer=signer_ or self.office_signer,
            issuer=issuer or self.office_id,
            issued_at=issued_at,
            status=StatusReference(idx, self.status_uri),
        )

    def dual(self, credential: str, signer_: KeySigner | None = None) -> str:
        """Return ``credential`` with the office's (or ``signer_``'s) SM2 signature added."""
        sm2 = signer_ or self.sm2_signer
        assert sm2 is not None
        return add_signature(credential, sm2)

    def verify(
        self, qr: str | None = None, *, credential: str | None = None, now: dt.datetime = NOW, **kw
    ):
        status = kw.pop("status", None)
        if status is None:
            snap = self.snapshot()
            status = {snap.uri: snap}
        return verify(
            qr,
            credential=credential,
            trust=kw.pop("trust", self.trust),
            status=status,
            now=now,
            **kw,
        )
