"""The verifier against the real issuer app (in process, no sockets): its status lists and
its signed restricted-list feed are what the verifier's sync expects. On SQLite and
PostgreSQL (the issuer's database; the verifier's is SQLite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi.testclient import TestClient

from credential import IdType, b64url_decode, person_reference, sign_trust_list
from tests.factory import signer
from tests.factory.issuer import IssuerHarness, entry_body, issue, officer, record, service_client
from verifier import db
from verifier.app import create_app
from verifier.settings import IssuerSource, VerifierSettings

TRUST_URL = "https://trust.example.cn/trust-list.jwt"
_KEEP = ("etag", "last-modified", "content-type", "cache-control")


def test_verifier_syncs_a_real_issuer(issuer_env: IssuerHarness, tmp_path: Path) -> None:
    env = issuer_env
    root = signer(kid="root-1")
    trust_token = sign_trust_list(env.trust, root)
    (tmp_path / "root.jwks.json").write_text(json.dumps({"keys": [root.public_key().to_jwk()]}))
    feed_auth = service_client(env, "verifier-1", "verifier")["Authorization"]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if str(request.url) == TRUST_URL:
            return httpx.Response(200, text=trust_token)
        assert request.url.host == "testserver", request.url  # nothing else is ever asked
        r = env.client.get(
            request.url.raw_path.decode("ascii"),
            headers={
                k: v
                for k, v in request.headers.items()
                if k.lower() in ("authorization", "if-none-match", "if-modified-since")
            },
        )
        headers = {k: v for k, v in r.headers.items() if k.lower() in _KEEP}
        return httpx.Response(r.status_code, content=r.content, headers=headers)

    settings = VerifierSettings(
        database_url=f"sqlite:///{tmp_path / 'verifier.db'}",
        public_url=env.settings.verifier_url,
        root_jwks=tmp_path / "root.jwks.json",
        trust_list_url=TRUST_URL,
        issuers=(IssuerSource(base_url=env.settings.public_url, api_key=feed_auth[7:]),),
        sync_interval=0,
        reload_interval=0,
    )
    http = httpx.Client(transport=httpx.MockTransport(handler))
    # What `jiaozi issuer serve` does before serving: the restricted list's documents are
    # signed by the publication job, never by the verifier's GET.
    env.app.state.publisher.run_once()  # type: ignore[attr-defined]
    with TestClient(create_app(settings, http=http)) as client:
        v = client.app.state.verifier  # type: ignore[attr-defined]
        report = v.syncer.run_once()
        assert report.ok, report.outcomes
        cert: dict[str, Any] = issue(env, 1)
        body = client.post("/api/v1/verify", json={"qr": cert["qr_token"]}).json()
        assert (body["verdict"], body["reason"]) == ("valid", None), body
        assert cert["status_list"]["uri"] in seen  # fetched on demand from the issuer

        team = {"a": officer(env, "sup-a", "supervisor"), "b": officer(env, "sup-b", "supervisor")}
        record(env, entry_body(1), team["a"], team["b"])
        report = v.syncer.run_once()
        outcomes = {o.what: o.outcome for o in report.outcomes}
        assert outcomes["restrictions " + env.settings.public_url] == "updated", outcomes
        held = v.store.current()
        assert cert["certificate_number"] in held.restrictions.by_number

        body = client.post("/api/v1/verify", json={"qr": cert["qr_token"]}).json()
        assert (body["verdict"], body["reason"]) == ("not_valid", "revoked"), body

        # the issuer's documents name the certificate, never the person (issue 12 point 4)
        person = entry_body(1)
        ref = person_reference(
            env.settings.restriction_hmac_key.get_secret_value().encode(),
            IdType.parse(person["id_type"]),
            person["id_number"],
        )
        with v.engine.connect() as conn:
            tokens = conn.execute(
                sa.select(db.documents.c.token).where(db.documents.c.kind == "restrictions")
            ).scalars()
            payloads = [b64url_decode(t.split(".")[1]).decode() for t in tokens]
        assert payloads and cert["certificate_number"] in "".join(payloads)
        assert all(ref not in p and "person_ref" not in p for p in payloads)
        r = client.post("/api/v1/admission-checks", json={"name": person["name"]})
        assert r.status_code == 410, r.text
    http.close()
