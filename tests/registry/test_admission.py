"""The admission query at the registry (issue 12 point 5, contract section 9): accounts,
consent, yes/no only, rate limits, and audit rows from which no number can be confirmed
with what an office holds."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from credential import (
    NATIONAL_ENTRY_TYP,
    REGISTRY_ID,
    IdType,
    mask_id,
    national_entry_claim,
    person_key,
    person_reference,
    sign_national,
)
from jiaozi.cli import main
from keys import generate_data_key
from registry.admission import authenticate, create_account, subject_tag
from registry.app import create_app
from registry.db import accounts, admission_audit, make_engine
from registry.settings import DEV_AUDIT_KEY, DEV_RESTRICTION_KEY, RegistrySettings
from tests.factory.registry import NationalWorld, RegistryHarness

SHARED = DEV_RESTRICTION_KEY.encode()
BARRED = "110105197609062469"
CLEAR = "11010519491231002X"
PATH = "/api/v1/admission-checks"


def ask(env: RegistryHarness, key: str, number: str, **extra: object):
    body = {
        "name": "张三",
        "id_type": "resident_id",
        "id_number": number,
        "consent_reference": "CONSENT-2026-001",
        **extra,
    }
    return env.client.post(PATH, json=body, headers={"Authorization": f"Bearer {key}"})


def employer(env: RegistryHarness, kind: str = "employer") -> str:
    return create_account(env.engine, kind, "第一中学", dt.datetime.now(dt.UTC))[1]


def bar(env: RegistryHarness, number: str, local_id: int = 1, **kw: object) -> None:
    ref = person_reference(SHARED, IdType.RESIDENT_ID, number)
    token = env.world.entry("A", local_id, person_ref=ref, **kw)  # type: ignore[arg-type]
    answer = env.client.post("/api/v1/restrictions", content=token)
    assert answer.status_code == 201


def test_a_restricted_person_is_yes_and_anyone_else_no_and_nothing_more(registry_env) -> None:
    bar(registry_env, BARRED)
    key = employer(registry_env, "school")
    yes, no = ask(registry_env, key, BARRED), ask(registry_env, key, CLEAR)
    assert yes.status_code == no.status_code == 200
    assert set(yes.json()) == {"query_id", "restricted", "checked_at", "data_as_of"}
    assert yes.json()["restricted"] is True and no.json()["restricted"] is False
    assert yes.json()["query_id"] != no.json()["query_id"]
    assert yes.headers["cache-control"] == "no-store"


def test_a_removed_entry_no_longer_restricts(registry_env) -> None:
    bar(registry_env, BARRED, 7)
    removal = registry_env.world.entry("A", 7, op="remove")
    assert registry_env.client.post("/api/v1/restrictions", content=removal).status_code == 201
    assert ask(registry_env, employer(registry_env), BARRED).json()["restricted"] is False


def test_an_ended_bar_no_longer_restricts_and_lost_is_for_good(registry_env) -> None:
    world = registry_env.world
    ref = person_reference(SHARED, IdType.RESIDENT_ID, BARRED)
    claim = national_entry_claim(
        local_id=9,
        person_ref=ref,
        category="revoked",
        decision_date=dt.date(2020, 1, 1),
        bar_until=dt.date(2021, 1, 1),
    )
    claims = {
        "iss": world.office_id("B"),
        "iat": int(dt.datetime.now(dt.UTC).timestamp()),
        "aud": REGISTRY_ID,
        "op": "add",
        "entry": claim,
    }
    token = sign_national(NATIONAL_ENTRY_TYP, claims, world.signers["B"])
    assert registry_env.client.post("/api/v1/restrictions", content=token).status_code == 201
    key = employer(registry_env)
    assert ask(registry_env, key, BARRED).json()["restricted"] is False
    bar(registry_env, BARRED, 10, category="lost")
    assert ask(registry_env, key, BARRED).json()["restricted"] is True


def test_only_accounts_with_a_valid_key_may_ask(registry_env) -> None:
    key = employer(registry_env)
    for bad in ("", "Bearer nope", f"Bearer {key[:-1]}x", "Basic abc"):
        answer = registry_env.client.post(
            PATH, json={"name": "x"}, headers={"Authorization": bad} if bad else {}
        )
        assert answer.status_code == 401
        assert answer.json()["type"].endswith("/unauthorized")
    with registry_env.engine.begin() as conn:
        conn.execute(accounts.update().values(active=False))
    assert authenticate(registry_env.engine, f"Bearer {key}") is None
    assert ask(registry_env, key, CLEAR).status_code == 401


def test_consent_and_fields_are_required_and_named(registry_env) -> None:
    key = employer(registry_env)
    answer = ask(registry_env, key, "110105197609062468", consent_reference=None)
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json()["errors"]}
    assert fields == {"consent_reference", "id_number"}
    bad_type = ask(registry_env, key, CLEAR, id_type="driving_licence")
    assert bad_type.status_code == 422 and bad_type.json()["errors"][0]["field"] == "id_type"
    not_json = registry_env.client.post(
        PATH,
        content=b"{",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    with registry_env.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(admission_audit)).scalar() == 0


def test_each_account_is_rate_limited(database_url: str) -> None:
    world = NationalWorld()
    settings = RegistrySettings(
        env="development",
        database_url=database_url,
        admission_rate_limit=2,
        admission_rate_window=3600,
    )
    engine = make_engine(database_url)
    app = create_app(
        settings,
        engine=engine,
        signer_provider=lambda: world.signers["R"],
        trust_provider=lambda: world.trust,
    )
    with TestClient(app) as client:
        env = RegistryHarness(world, engine, client)
        first, second = employer(env), employer(env)
        codes = [ask(env, first, CLEAR).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = ask(env, first, CLEAR)
        assert limited.json()["type"].endswith("/rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 3600
        assert ask(env, second, CLEAR).status_code == 200
    engine.dispose()


def test_audit_rows_and_the_shared_key_cannot_confirm_a_number(registry_env) -> None:
    """An office holds the shared key; with it, an audit row and the masked number, every
    candidate number's person_ref must match nothing the registry stored for the query."""
    bar(registry_env, BARRED)
    key = employer(registry_env)
    query_id = ask(registry_env, key, BARRED).json()["query_id"]
    with registry_env.engine.connect() as conn:
        row = conn.execute(
            sa.select(admission_audit).where(admission_audit.c.query_id == query_id)
        ).one()
    assert row.id_masked == mask_id(BARRED) and row.consent_reference == "CONSENT-2026-001"
    assert row.restricted is True
    with registry_env.engine.connect() as conn:
        every = conn.execute(sa.select(admission_audit)).all()
    stored = json.dumps([[str(v) for v in r] for r in every])
    assert BARRED not in stored
    # Candidates the masked number leaves, the true one among them (the attacker's best
    # case), each hashed every way an office's shared key allows: none is stored.
    candidates = [BARRED] + [
        row.id_masked[:3] + f"{i:011d}" + row.id_masked[-4:] for i in range(500)
    ]
    for number in candidates:
        message = person_key(IdType.RESIDENT_ID, BARRED) if number == BARRED else number.encode()
        for made in (
            hmac.new(SHARED, message, hashlib.sha256).hexdigest(),
            hmac.new(SHARED, b"audit:" + message, hashlib.sha256).hexdigest(),
            hashlib.sha256(message).hexdigest(),
        ):
            assert made not in stored
    assert person_reference(SHARED, IdType.RESIDENT_ID, BARRED) not in stored
    # Only the registry's audit key makes the stored tag.
    assert row.subject_tag == subject_tag(DEV_AUDIT_KEY.encode(), IdType.RESIDENT_ID, BARRED)


def test_production_refuses_the_default_keys(monkeypatch) -> None:
    monkeypatch.delenv("JIAOZI_ENV", raising=False)
    monkeypatch.delenv("JIAOZI_RESTRICTION_HMAC_KEY", raising=False)
    monkeypatch.delenv("JIAOZI_REGISTRY_AUDIT_KEY", raising=False)
    monkeypatch.setenv("JIAOZI_REGISTRY_DATA_KEY", generate_data_key())  # (its own test)
    with pytest.raises(ValueError, match="JIAOZI_RESTRICTION_HMAC_KEY"):
        RegistrySettings(public_url="https://r.example.cn")
    monkeypatch.setenv("JIAOZI_RESTRICTION_HMAC_KEY", "s" * 32)
    with pytest.raises(ValueError, match="JIAOZI_REGISTRY_AUDIT_KEY"):
        RegistrySettings(public_url="https://r.example.cn")
    monkeypatch.setenv("JIAOZI_REGISTRY_AUDIT_KEY", "s" * 32)
    with pytest.raises(ValueError, match="must differ"):
        RegistrySettings(public_url="https://r.example.cn")
    monkeypatch.setenv("JIAOZI_REGISTRY_AUDIT_KEY", "a" * 32)
    assert RegistrySettings(public_url="https://r.example.cn").audit_key.get_secret_value()


def test_the_cli_creates_an_account_whose_key_works_once_shown(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("JIAOZI_ENV", "development")
    monkeypatch.setenv("JIAOZI_REGISTRY_DATABASE_URL", url)
    out = CliRunner().invoke(main, ["registry", "accounts", "create-employer", "某教育集团"])
    assert out.exit_code == 0, out.output
    key = re.search(r"jzr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", out.output)
    assert key is not None
    engine = make_engine(url)
    found = authenticate(engine, f"Bearer {key.group(0)}")
    assert found is not None and found.kind == "employer" and found.name == "某教育集团"
    with engine.connect() as conn:
        assert key.group(0).split("_", 2)[2] not in json.dumps(
            [str(v) for v in conn.execute(sa.select(accounts)).one()]
        )
    engine.dispose()


def test_a_deactivated_account_key_is_refused_and_listed_as_such(tmp_path, monkeypatch) -> None:
    """An operator who learns a school's key leaked must be able to stop it without the
    database: list shows prefixes (never a key), deactivate stops the key at once."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("JIAOZI_ENV", "development")
    monkeypatch.setenv("JIAOZI_REGISTRY_DATABASE_URL", url)
    runner = CliRunner()
    made = runner.invoke(main, ["registry", "accounts", "create-school", "第二中学"])
    other = runner.invoke(main, ["registry", "accounts", "create-employer", "某集团"])
    assert made.exit_code == 0 and other.exit_code == 0, made.output + other.output
    key = re.search(r"jzr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", made.output).group(0)
    listed = runner.invoke(main, ["registry", "accounts", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 2 and "第二中学" in lines[0] and "\tactive\t" in lines[0]
    assert key.split("_", 2)[2] not in listed.output  # the secret never printed again
    assert f"jzr_{key.split('_')[1]}_…" in lines[0]

    gone = runner.invoke(main, ["registry", "accounts", "deactivate", "1"])
    assert gone.exit_code == 0 and "deactivated" in gone.output, gone.output
    engine = make_engine(url)
    try:
        assert authenticate(engine, f"Bearer {key}") is None
    finally:
        engine.dispose()
    listed = runner.invoke(main, ["registry", "accounts", "list", "--active-only"])
    assert "第二中学" not in listed.output and "某集团" in listed.output
    missing = runner.invoke(main, ["registry", "accounts", "deactivate", "99"])
    assert missing.exit_code != 0 and "no account 99" in missing.output
