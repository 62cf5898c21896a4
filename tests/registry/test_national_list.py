"""Issue 12 point 3, end to end on loopback: a registry and three offices (A, B, C), each
a real uvicorn on 127.0.0.1 over its own SQLite database, each office running its
national-list round every second (its sync interval), and a verifier syncing B and C.

A person holds certificates at B and C and is restricted at A (two supervisors). Then:
B and C refuse to certify the person (naming A and the end of the bar), their
certificates of the person are revoked (audited with the national entry's reference) and
``not_valid`` at the verifier; A's own entry comes back to A and revokes nothing twice. A
removal at A on appeal lifts the bar at B and reinstates nothing.

Every wait is bounded (a poll up to a generous limit): the test states what becomes true,
not how fast (speed goals are bench's).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.testclient import TestClient

from issuer.settings import IssuerSettings
from issuer.web.app import create_app as issuer_app
from issuer.web.app import national_round
from registry.app import create_app as registry_app
from registry.db import make_engine as registry_engine
from registry.settings import RegistrySettings
from tests.factory.issuer import (
    API_KEY,
    IssuerHarness,
    application,
    entry_body,
    officer,
    post,
    record,
    rows,
    service_client,
)
from tests.factory.registry import OFFICES, NationalWorld
from tests.factory.server import free_port, served
from verifier.app import create_app as verifier_app
from verifier.settings import IssuerSource, VerifierSettings

INTERVAL = 1  # seconds: every office's national round, and the verifier's sync
PATIENCE = 60.0  # the bound of every wait (far above a few intervals)
PERSON = 7  # shared applicant 7: certified at B and C, restricted at A


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    """Return ``check()``'s first truthy value, polling up to PATIENCE seconds."""
    deadline = time.monotonic() + PATIENCE
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {PATIENCE}s: {what}"
        time.sleep(0.1)


@dataclass
class Nation:
    world: NationalWorld
    offices: dict[str, IssuerHarness]
    verify: Callable[[str], dict[str, Any]]


def _trust_app(world: NationalWorld) -> FastAPI:
    app = FastAPI()

    @app.get("/trust-list.jwt")
    def trust_list() -> Response:
        return Response(world.trust_token(), media_type="application/jiaozi-trustlist+jwt")

    return app


@pytest.fixture
def nation(tmp_path: Path) -> Iterator[Nation]:
    world = NationalWorld()
    with ExitStack() as stack:
        rsettings = RegistrySettings(
            env="development", database_url=f"sqlite:///{tmp_path / 'registry.db'}"
        )
        rengine = registry_engine(rsettings.database_url)
        stack.callback(rengine.dispose)
        registry = registry_app(
            rsettings,
            engine=rengine,
            signer_provider=lambda: world.signers["R"],
            trust_provider=lambda: world.trust,
        )
        registry_url = stack.enter_context(served(registry))
        offices: dict[str, IssuerHarness] = {}
        for name, (office_id, province, code) in OFFICES.items():
            port = free_port()
            settings = IssuerSettings(
                database_url=f"sqlite:///{tmp_path / f'office-{name}.db'}",
                office_id=office_id,
                office_name=f"office {name}",
                province=province,
                office_code=code,
                public_url=f"http://127.0.0.1:{port}",
                verifier_url="https://verify.example.cn",
                api_key=API_KEY,
                id_hmac_key=f"test-id-hmac-key-{name}-0123456789-abcdef",
                registry_url=registry_url,
                national_sync_interval=INTERVAL,
            )
            signer = world.signers[name]
            app = issuer_app(settings, signer=signer, trust_provider=lambda: world.trust)
            client = stack.enter_context(TestClient(app))  # its lifespan runs the round
            stack.enter_context(served(app, port))
            offices[name] = IssuerHarness(settings, signer, app, client)
        trust_url = stack.enter_context(served(_trust_app(world)))
        root = tmp_path / "root.jwks.json"
        root.write_text(json.dumps({"keys": [world.root.public_key().to_jwk()]}))
        feeds = {n: service_client(offices[n], "verifier", "verifier") for n in "BC"}
        vsettings = VerifierSettings(
            env="development",
            database_url=f"sqlite:///{tmp_path / 'verifier.db'}",
            public_url="https://verify.example.cn",
            root_jwks=root,
            trust_list_url=f"{trust_url}/trust-list.jwt",
            issuers=tuple(
                IssuerSource(
                    base_url=offices[n].settings.public_url,
                    api_key=feeds[n]["Authorization"].removeprefix("Bearer "),
                )
                for n in "BC"
            ),
            sync_interval=INTERVAL,
            reload_interval=0,
            status_grace=600,
        )
        verifier = stack.enter_context(TestClient(verifier_app(vsettings)))

        def verify(qr: str) -> dict[str, Any]:
            answer = verifier.post("/api/v1/verify", json={"qr": qr})
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        yield Nation(world, offices, verify)


def _issue(env: IssuerHarness, **over: str) -> dict[str, Any]:
    answer = env.issue(application(PERSON, **over))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _status(env: IssuerHarness, number: str) -> str:
    [row] = rows(env, f"SELECT status FROM certificate WHERE certificate_number = '{number}'")
    return str(row["status"])


def test_a_restriction_at_one_office_bars_and_revokes_at_the_others(nation: Nation) -> None:
    a, b, c = (nation.offices[n] for n in "ABC")
    at_b, at_c = _issue(b), _issue(c)
    for cert in (at_b, at_c):
        assert (
            wait_for("valid at the verifier", lambda: nation.verify(cert["qr_token"]))["verdict"]
            == "valid"
        )
    # A records the person (who holds no certificate at A)
    maker, checker = officer(a, "sup-1", "supervisor"), officer(a, "sup-2", "supervisor")
    entry = record(a, entry_body(PERSON), maker, checker)
    ref = f"{a.settings.office_id}#{entry['id']}"

    # B and C revoke their certificates of the person, audited with the national reference
    for env, cert in ((b, at_b), (c, at_c)):
        number = cert["certificate_number"]
        wait_for(f"revoked at {env.settings.office_id}", lambda: _status(env, number) == "revoked")
        [audit] = rows(
            env,
            "SELECT actor, detail_json FROM audit_record WHERE action = 'certificate.revoked'",
        )
        detail = json.loads(audit["detail_json"])
        assert detail["national_ref"] == ref
        assert detail["recording_office"] == a.settings.office_id
        assert detail["reason_code"] == "restricted"
    # ... and the verifier, syncing B's and C's status lists, says not_valid
    for cert in (at_b, at_c):
        wait_for(
            "not_valid at the verifier",
            lambda: nation.verify(cert["qr_token"])["verdict"] == "not_valid",
        )

    # B and C refuse a new application of the person, naming A and the end of the bar
    for env in (b, c):
        refused = env.issue(application(PERSON, subject="英语"))
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert (error["field"], error["code"]) == ("id_number", "restricted")
        assert a.settings.office_id in error["message"]
        assert "2031-11-20" in error["message"]

    # A's own entry came back to A through the national list, and revoked nothing more
    wait_for(
        "A holds its own entry from the registry",
        lambda: rows(a, "SELECT ref FROM national_restriction") == [{"ref": ref}],
    )
    assert (
        rows(a, "SELECT count(*) AS n FROM audit_record WHERE action = 'certificate.revoked'")[0][
            "n"
        ]
        == 0
    )
    [sent] = rows(a, "SELECT op, sent_at FROM national_outbox")
    assert sent["op"] == "add" and sent["sent_at"] is not None

    # Removal on appeal at A: the bar lifts at B; the revoked certificate stays revoked
    removal = {"reason": "行政复议撤销原决定", "decision_date": "2026-11-25"}
    asked = post(a, f"/api/v1/restrictions/{entry['id']}/removal", removal, maker)
    assert asked.status_code == 202, asked.text
    approved = post(
        a, f"/api/v1/pending-actions/{asked.json()['pending_action']['id']}/approve", None, checker
    )
    assert approved.status_code == 200, approved.text
    wait_for(
        "the removal reached B",
        lambda: rows(b, "SELECT removed_at FROM national_restriction")[0]["removed_at"],
    )
    again = b.issue(application(PERSON, subject="英语"))
    assert again.status_code == 201, again.text
    assert _status(b, at_b["certificate_number"]) == "revoked"
    assert nation.verify(at_b["qr_token"])["verdict"] == "not_valid"


def test_an_entry_waits_in_the_outbox_while_the_registry_is_down(tmp_path: Path) -> None:
    world = NationalWorld()
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    office_id, province, code = OFFICES["A"]
    settings = IssuerSettings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        office_id=office_id,
        province=province,
        office_code=code,
        public_url="http://testserver",
        api_key=API_KEY,
        id_hmac_key="test-id-hmac-key-0123456789-abcdef",
        registry_url=dead,
        national_sync_interval=0,
    )
    app = issuer_app(settings, signer=world.signers["A"], trust_provider=lambda: world.trust)
    with TestClient(app) as client:
        env = IssuerHarness(settings, world.signers["A"], app, client)
        maker, checker = officer(env, "sup-1", "supervisor"), officer(env, "sup-2", "supervisor")
        record(env, entry_body(3), maker, checker)
        down = national_round(settings, env.engine, signer=env.signer, trust=world.trust)
        assert down.sent == 0 and down.errors
        [waiting] = rows(env, "SELECT attempts, sent_at, last_error FROM national_outbox")
        assert waiting["sent_at"] is None and waiting["attempts"] == 1
        assert "unreachable" in waiting["last_error"]
        # the registry comes up at that address: the next round sends it, once
        rsettings = RegistrySettings(
            env="development", database_url=f"sqlite:///{tmp_path / 'registry.db'}"
        )
        rengine = registry_engine(rsettings.database_url)
        registry = registry_app(
            rsettings,
            engine=rengine,
            signer_provider=lambda: world.signers["R"],
            trust_provider=lambda: world.trust,
        )
        with served(registry, int(dead.rsplit(":", 1)[1])):
            up = national_round(settings, env.engine, signer=env.signer, trust=world.trust)
            assert (up.sent, up.errors, up.cursor) == (1, [], 1)
            again = national_round(settings, env.engine, signer=env.signer, trust=world.trust)
            assert (again.sent, again.errors) == (0, [])
        with rengine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM rg_change")).scalar_one() == 1
        rengine.dispose()
