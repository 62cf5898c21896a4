"""``make demo``: the whole chain on one machine, with nothing but the sample data.

Creates a national trust root and one office under ``var/demo/``, issues certificates for
a few sample applicants (QR token, full credential, QR image), verifies them, revokes one,
and shows its verdict change. Everything it makes stays under ``var/demo/`` for a look.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import secrets
import shutil
import sys
from pathlib import Path

from credential import (
    STATUS_LIST_TYP,
    Certificate,
    CertificateNumber,
    IdType,
    IndexAllocator,
    QualificationType,
    Sex,
    Signer,
    StatusList,
    StatusReference,
    StatusValue,
    VerifyPolicy,
    elicence_id,
    encode_jws,
    load_status_list,
    normalise_id,
    parse_jws,
    qr_segments,
    qr_url,
    sign_certificate,
    status_list_claims,
    verify,
)
from keys import KeyStore, add_office, current_trust_list, export_trust, init_trust
from verifier.cli import render_text

HOME = Path("var/demo")
OFFICE_ID = "urn:jiaozi:office:11001"
OFFICE_NAME = "北京市教育委员会教师资格认定中心"
ISSUER_URL = "http://127.0.0.1:8100"
VERIFIER_URL = "http://127.0.0.1:8200"
STATUS_URI = f"{ISSUER_URL}/statuslists/1"
TYPE_CODE = "11100000000013338W009"
ISSUER_USCC = "11330105002500287C"
SAMPLES = 5
POLICY = VerifyPolicy(verifier_origin=VERIFIER_URL)


def _applicants() -> list[dict[str, str]]:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "applicants-1000.csv"
    source = (
        shared if shared.is_file() else Path(__file__).with_name("data") / "sample-applicants.csv"
    )
    with source.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))[:SAMPLES]


def _certificate(row: dict[str, str], serial: int) -> Certificate:
    qt = QualificationType.parse(row["qualification_type"])
    sex = Sex.parse(row["gender"], field="gender")
    birth = dt.date.fromisoformat(row["birth_date"])
    id_type = IdType.parse(row["id_type"])
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
    return Certificate(
        certificate_number=number,
        name=row["name"],
        sex=sex,
        birth_date=birth,
        id_type=id_type,
        id_number=normalise_id(id_type, row["id_number"], birth_date=birth, sex=sex),
        qualification_type=qt,
        subject=row["subject"],
        certified_on=dt.date.fromisoformat(row["issue_date"]),
        office_name=OFFICE_NAME,
        office_code="11001",
        elicence_id=elicence_id(
            type_code=TYPE_CODE, issuer_uscc=ISSUER_USCC, serial=number, version=1
        ),
    )


def _publish_status(status: StatusList, signer: Signer, now: int) -> Path:
    claims = status_list_claims(status, uri=STATUS_URI, iat=now, exp=now + 86400, ttl=300)
    path = HOME / "status" / "1.jwt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(encode_jws({"typ": STATUS_LIST_TYP}, claims, signer) + "\n")
    return path


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


def main() -> None:
    if HOME.exists():
        shutil.rmtree(HOME)
    (HOME / "certificates").mkdir(parents=True)
    passphrase = os.environ.get("JIAOZI_KEY_PASSPHRASE") or secrets.token_urlsafe(24)
    pass_file = HOME / "DEMO-PASSPHRASE.txt"
    pass_file.write_text(passphrase + "\n")
    pass_file.chmod(0o600)
    now_dt = dt.datetime.now(dt.UTC).replace(microsecond=0)
    now = int(now_dt.timestamp())

    store = KeyStore(HOME, passphrase.encode())
    init_trust(store, now=now - 120)
    add_office(
        store,
        office_id=OFFICE_ID,
        name=OFFICE_NAME,
        province="11",
        office_code="001",
        qualification_types=list(QualificationType),
        now=now - 60,
    )
    trust = current_trust_list(HOME)
    signer = store.active_signer(OFFICE_ID, now=now)
    print(
        f"信任根与认定机构已创建 / trust root and office created: {OFFICE_NAME} (key {signer.kid})"
    )

    status = StatusList(131072, bits=2)
    allocator = IndexAllocator(131072)
    issued: list[tuple[Certificate, str, str, int]] = []
    for serial, row in enumerate(_applicants(), start=1):
        cert = _certificate(row, serial)
        idx = allocator.allocate()
        tokens = sign_certificate(
            cert,
            signer=signer,
            issuer=OFFICE_ID,
            issued_at=now,
            status=StatusReference(idx, STATUS_URI),
        )
        base = HOME / "certificates" / cert.certificate_number
        url = qr_url(VERIFIER_URL, tokens.qr_token)
        base.with_suffix(".vc.jwt").write_text(tokens.credential + "\n")
        decoded = dict(parse_jws(tokens.credential).payload)
        base.with_suffix(".json").write_text(
            json.dumps(
                {"credential": decoded, "jws": tokens.credential}, ensure_ascii=False, indent=2
            )
            + "\n"
        )
        base.with_suffix(".qr.txt").write_text(url + "\n")
        _save_qr_png(url, base.with_suffix(".qr.png"))
        issued.append((cert, tokens.qr_token, url, idx))

    status_path = _publish_status(status, signer, now)
    export_trust(HOME, HOME / "trust")
    snapshots = {STATUS_URI: load_status_list(status_path.read_text().strip(), trust)}

    print(f"\n已签发 {len(issued)} 张证书 / issued {len(issued)} certificates:")
    for cert, _token, url, _ in issued:
        result = verify(url, trust=trust, status=snapshots, now=now_dt, policy=POLICY)
        print(
            f"  {cert.certificate_number}  {cert.name:<4}  {cert.qualification_type.name_zh:<14} "
            f"→ {result.verdict.zh} ({result.verdict.value})  QR {len(url)} chars"
        )

    victim, _, victim_url, victim_idx = issued[0]
    status.set(victim_idx, StatusValue.INVALID)
    later = now + 1
    status_path = _publish_status(status, signer, later)
    snapshots = {STATUS_URI: load_status_list(status_path.read_text().strip(), trust)}
    after = verify(
        victim_url,
        trust=trust,
        status=snapshots,
        now=now_dt + dt.timedelta(seconds=1),
        policy=POLICY,
    )
    print(f"\n撤销 {victim.certificate_number}（{victim.name}）后再次验证 / after revoking it:\n")
    print("  " + render_text(after, "zh").replace("\n", "\n  "))

    print(f"""
文件 / files under {HOME}/:
  certificates/<证书号码>.vc.jwt  full credential (JWS)     certificates/<证书号码>.json  decoded, with the JWS
  certificates/<证书号码>.qr.txt  the QR's text (a URL)     certificates/<证书号码>.qr.png  the QR image
  trust/trust-list.jwt, trust/root.jwks.json               status/1.jwt  signed status list
  keys/  encrypted private keys (passphrase in DEMO-PASSPHRASE.txt: demo only)

Try it yourself:
  JIAOZI_HOME={HOME} .venv/bin/jiaozi verify "$(cat {HOME}/certificates/{victim.certificate_number}.qr.txt)" --status {HOME}/status/1.jwt
  JIAOZI_HOME={HOME} .venv/bin/jiaozi verify {HOME}/certificates/{issued[1][0].certificate_number}.json --status {HOME}/status/1.jwt --lang en
""")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
