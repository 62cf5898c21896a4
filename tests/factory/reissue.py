"""Shared test helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import (
    VerificationResult,
    load_status_list,
    verify,
)
from issuer.db.models import Certificate, StatusListRow
from issuer.issuance import CertificateCreate, get_certificate, issue_certificate, status_list_token
from issuer.settings import IssuerSettings
from keys import (
    KeyStore,
    current_trust_list,
)
from tests.factory.issuer import application

OFFICE = "urn:jiaozi:office:11001"
PASSPHRASE = "reissue-test-passphrase"
T_KEYS = int(dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC).timestamp())
T_COMPROMISE = T_KEYS + 60  # before the first issuance
T_ISSUE_A = T_KEYS + 3600
T_ROTATE = T_KEYS + 7200
T_ISSUE_B = T_ROTATE + 60
T_MARK = T_ROTATE + 3600
T_REISSUE = T_MARK + 600


def at(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


@dataclass
class Office:
    settings: IssuerSettings
    store: KeyStore
    engine: sa.Engine
    home: Path

    def issue(self, i: int, ts: int) -> str:
        signer = self.store.active_signer(OFFICE, now=ts)
        with Session(self.engine) as session:
            got = issue_certificate(
                session,
                request=CertificateCreate(**application(i)),
                signer=signer,
                settings=self.settings,
                actor="officer:test",
                now=at(ts),
            )
        return got.certificate_number

    def rows(self) -> dict[str, Certificate]:
        with Session(self.engine) as session:
            rows = session.scalars(sa.select(Certificate)).all()
            for r in rows:
                session.expunge(r)
        return {r.certificate_number: r for r in rows}

    def check(self, number: str, ts: int) -> VerificationResult:
        """Verify the stored QR token and credential against the current trust list."""
        trust = current_trust_list(self.home)
        with Session(self.engine) as session:
            cert = get_certificate(
                session, number=number, office_id=self.settings.office_id, settings=self.settings
            )
            list_id = session.scalars(sa.select(StatusListRow.id)).one()
            token = status_list_token(
                session,
                list_id=list_id,
                signer=self.store.active_signer(OFFICE, now=ts),
                settings=self.settings,
                now=at(ts),
            )
        snap = load_status_list(token, trust, expected_uri=cert.status_list.uri)
        return verify(
            cert.qr_token,
            credential=cert.credential,
            trust=trust,
            status={snap.uri: snap},
            now=at(ts),
        )


def reissue_env(database_url: str, home: Path) -> dict[str, str]:
    return {
        "JIAOZI_DATABASE_URL": database_url,
        "JIAOZI_HOME": str(home),
        "JIAOZI_KEY_PASSPHRASE": PASSPHRASE,
        "JIAOZI_OFFICE_ID": OFFICE,
        "JIAOZI_PUBLIC_URL": "https://jszg.example.cn",
        "JIAOZI_VERIFIER_URL": "https://verify.example.cn",
    }
