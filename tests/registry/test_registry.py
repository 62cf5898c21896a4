"""The registry: who may send an entry, what a replay does, and the consolidated list's
gapless cursor, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from credential import (
    REGISTRY_ID,
    RestrictionListError,
    load_national_list,
)
from jiaozi.cli import main
from keys import InvalidOfficeError, add_office, generate_data_key
from registry.db import changes, entries
from registry.settings import RegistrySettings
from tests.factory.keys import make_store, root_store_of
from tests.factory.registry import NationalWorld, RegistryHarness, person


def post(env: RegistryHarness, token: str):
    return env.client.post(
        "/api/v1/restrictions", content=token, headers={"content-type": "application/jose"}
    )


def read(env: RegistryHarness, office: str = "B", after: int | None = None):
    params = {} if after is None else {"after": after}
    return env.client.get(
        "/api/v1/restricted-list",
        params=params,
        headers={"authorization": f"Bearer {env.world.auth(office)}"},
    )


def listed(env: RegistryHarness, after: int | None = None):
    answer = read(env, after=after)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/jwt")
    return load_national_list(answer.text, env.world.trust, registry_id=REGISTRY_ID)


def test_an_entry_is_recorded_once_and_listed_with_its_office(registry_env) -> None:
    env = registry_env
    token = env.world.entry("A", 7, who=1)
    first = post(env, token)
    assert first.status_code == 201, first.text
    ref = env.world.office_id("A") + "#7"
    assert first.json() == {"ref": ref, "op": "add", "recorded": True, "seq": 1}
    again = post(env, token)  # a replay, or the outbox sending again after a lost answer
    assert again.status_code == 200
    assert again.json()["recorded"] is False
    snapshot = listed(env)
    assert snapshot.cursor == 1
    [entry] = snapshot.entries
    assert (entry.ref, entry.office, entry.person_ref) == (ref, env.world.office_id("A"), person(1))
    assert entry.category == "revoked" and entry.bar_until is not None
    with env.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(changes)).scalar_one() == 1


def test_removal_is_a_change_and_a_replayed_add_does_not_bring_it_back(registry_env) -> None:
    env = registry_env
    add = env.world.entry("A", 3, who=2)
    assert post(env, add).status_code == 201
    removal = env.world.entry("A", 3, op="remove")
    assert post(env, removal).json() == {
        "ref": env.world.office_id("A") + "#3",
        "op": "remove",
        "recorded": True,
        "seq": 2,
    }
    assert post(env, removal).json()["recorded"] is False
    assert post(env, add).json()["recorded"] is False
    assert listed(env).entries == ()
    page = listed(env, after=0)
    assert [(seq, op) for seq, op, _ in page.changes] == [(1, "add"), (2, "remove")]
    assert page.cursor == 2


def test_removal_of_an_unknown_entry_is_refused(registry_env) -> None:
    answer = post(registry_env, registry_env.world.entry("B", 99, op="remove"))
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"] == "body"


def test_an_office_cannot_remove_another_offices_entry(registry_env) -> None:
    env = registry_env
    assert post(env, env.world.entry("A", 5)).status_code == 201
    # B's removal of "its" entry 5 names B's reference, which does not exist
    assert post(env, env.world.entry("B", 5, op="remove")).status_code == 409
    assert len(listed(env).entries) == 1


def test_entries_not_signed_by_the_office_they_name_are_refused(registry_env) -> None:
    env = registry_env
    outsider = NationalWorld(seed=1)  # the same kids, other keys: not in env's trust list
    cases = {
        "unknown key": outsider.entry("A", 1),
        "another office's id": env.world.entry("A", 1, iss=env.world.office_id("B")),
        "signed by B for A": env.world.entry("A", 1, signed_by="B"),
        "signed by the registry": env.world.entry("R", 1, iss=REGISTRY_ID),
        "another audience": env.world.entry("A", 1, aud="urn:jiaozi:registry:other"),
        "not a JWS": "not-a-token",
        "a read request": env.world.auth("A"),
    }
    for what, token in cases.items():
        answer = post(env, token)
        assert answer.status_code == 422, (what, answer.status_code, answer.text)
        assert answer.json()["errors"][0]["field"] == "body", what
    with env.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar_one() == 0


def test_the_list_is_for_listed_offices_only(registry_env) -> None:
    env = registry_env
    outsider = NationalWorld(seed=1)
    for headers in (
        {},
        {"authorization": "Bearer"},
        {"authorization": "Basic abc"},
        {"authorization": f"Bearer {outsider.auth('B')}"},
        {"authorization": f"Bearer {env.world.auth('B', iat=1)}"},  # stale: replayed
        {"authorization": f"Bearer {env.world.auth('B', aud='x')}"},
        {"authorization": f"Bearer {env.world.entry('B', 1)}"},
    ):
        answer = env.client.get("/api/v1/restricted-list", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["errors"][0]["field"] == "Authorization"
    assert read(env, "C").status_code == 200


def test_a_cursor_beyond_the_head_and_a_bad_after_are_problems(registry_env) -> None:
    env = registry_env
    assert read(env, after=5).status_code == 409
    bad = read(env, after=-1)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "after"


def test_the_list_document_is_checked_by_its_readers(registry_env) -> None:
    env = registry_env
    post(env, env.world.entry("A", 1))
    token = read(env).text
    # an office's signature on a list is not the registry's
    try:
        load_national_list(token, env.world.trust, registry_id=env.world.office_id("A"))
    except RestrictionListError as exc:
        assert "registry" in str(exc)
    else:
        raise AssertionError("a list read as another signer's was accepted")


def test_concurrent_pushes_leave_a_gapless_cursor(registry_env) -> None:
    env = registry_env
    tokens = [env.world.entry(name, i, who=i) for name in "ABC" for i in range(1, 9)]
    tokens += tokens[:6]  # replays among them
    results: list[int] = []
    lock = threading.Lock()

    def send(chunk: list[str]) -> None:
        for token in chunk:
            code = post(env, token).status_code
            with lock:
                results.append(code)

    threads = [threading.Thread(target=send, args=(tokens[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(201) == 24 and len(results) == 30
    page = listed(env, after=0)
    assert [seq for seq, _, _ in page.changes] == list(range(1, 25))
    assert len({e.ref for _, _, e in page.changes}) == 24
    # paging from any cursor continues without a gap
    half = listed(env, after=10)
    assert [seq for seq, _, _ in half.changes] == list(range(11, 25))


def test_production_is_the_default_and_refuses_an_http_url(monkeypatch) -> None:
    monkeypatch.delenv("JIAOZI_ENV", raising=False)
    monkeypatch.setenv("JIAOZI_REGISTRY_DATA_KEY", generate_data_key())
    monkeypatch.setenv("JIAOZI_RESTRICTION_HMAC_KEY", "s" * 32)
    monkeypatch.setenv("JIAOZI_REGISTRY_AUDIT_KEY", "a" * 32)
    try:
        RegistrySettings(public_url="http://registry.example.cn")
    except ValueError as exc:
        assert "JIAOZI_ENV" in str(exc)
    else:
        raise AssertionError("production accepted an http public URL")
    settings = RegistrySettings(public_url="https://registry.example.cn")
    assert settings.env == "production" and settings.database_url == "sqlite:///var/registry.db"
    monkeypatch.setenv("JIAOZI_REGISTRY_DATABASE_URL", "sqlite:///x.db")
    assert RegistrySettings(public_url="https://r.example.cn").database_url == "sqlite:///x.db"


def test_the_ceremony_lists_the_registry_with_no_scope(tmp_path) -> None:
    make_store(tmp_path / "home", now=1_780_000_000)
    store = root_store_of(tmp_path / "home")  # the ceremony's root home, not the office's
    listed = add_office(
        store,
        office_id=REGISTRY_ID,
        name="全国教师资格限制库登记中心",
        province="00",
        office_code="000",
        qualification_types=[],
        now=1_780_000_000,
    ).office(REGISTRY_ID)
    assert listed is not None and listed.qualification_types == frozenset()
    assert [k.kid for k in listed.keys] == [k.kid for k in store.public_keys(REGISTRY_ID)]
    with pytest.raises(InvalidOfficeError):
        add_office(
            store,
            office_id=REGISTRY_ID,
            name="x",
            province="00",
            office_code="000",
            qualification_types=["primary"],
            now=1_780_000_000,
        )


def test_jiaozi_registry_is_a_command() -> None:
    out = CliRunner().invoke(main, ["registry", "serve", "--help"])
    assert out.exit_code == 0 and "--port" in out.output


@pytest.mark.parametrize(
    ("path", "cap"),
    [("/api/v1/restrictions", 16 * 1024), ("/api/v1/feed/events", 256 * 1024)],
)
def test_a_body_too_large_or_not_a_jws_is_a_problem_naming_the_body(
    registry_env, path: str, cap: int
) -> None:
    big = registry_env.client.post(path, content=b"a" * (cap + 1))
    assert big.status_code == 413
    assert big.headers["content-type"].startswith("application/problem+json")
    assert big.json()["errors"][0]["field"] == "body"
    odd = registry_env.client.post(path, content="令牌".encode())
    assert odd.status_code == 400 and odd.json()["type"].endswith("/not_a_jws")


def test_an_admission_body_too_large_is_a_413(registry_env) -> None:
    from registry.admission import create_account

    _, key = create_account(registry_env.engine, "school", "某中学", dt.datetime.now(dt.UTC))
    big = registry_env.client.post(
        "/api/v1/admission-checks",
        content=b"{" + b" " * (16 * 1024) + b"}",
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    assert big.status_code == 413
    assert big.headers["content-type"].startswith("application/problem+json")


class CountingSigner:
    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0
        self.kid, self.alg = inner.kid, inner.alg

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return self.inner.sign(data)

    def public_key(self):
        return self.inner.public_key()


def test_the_snapshot_is_signed_once_per_change_not_once_per_office_start(
    registry_env,
) -> None:
    """Defect: every office that started (thousands, nationally) made the registry sign
    the whole list again, about a second of CPU at 100,000 entries."""
    from registry import store

    env = registry_env
    assert post(env, env.world.entry("A", 1, who=1)).status_code == 201
    signer = CountingSigner(env.world.signers["R"])
    now = int(dt.datetime.now(dt.UTC).timestamp())
    first = store.published_snapshot(env.engine, signer=signer, iss=REGISTRY_ID, now=now)
    again = store.published_snapshot(env.engine, signer=signer, iss=REGISTRY_ID, now=now + 60)
    assert again == first and signer.calls == 1
    assert load_national_list(first, env.world.trust, registry_id=REGISTRY_ID).cursor == 1
    # a change: the next read signs the new state
    assert post(env, env.world.entry("A", 2, who=2)).status_code == 201
    newer = store.published_snapshot(env.engine, signer=signer, iss=REGISTRY_ID, now=now + 61)
    assert signer.calls == 2
    doc = load_national_list(newer, env.world.trust, registry_id=REGISTRY_ID)
    assert doc.cursor == 2 and len(doc.entries) == 2
    # an hour on, it is signed afresh even with no change
    store.published_snapshot(env.engine, signer=signer, iss=REGISTRY_ID, now=now + 61 + 3600)
    assert signer.calls == 3
    # and the route serves what was stored: the same bytes as long as nothing changes
    assert read(env).text == read(env).text
