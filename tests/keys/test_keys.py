"""keys/: encrypted key storage, rotation, compromise, JWKS, and the signed trust list."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

import keys
from credential import (
    Algorithm,
    KeySigner,
    PublicKey,
    QualificationType,
    RollbackError,
    TrustList,
    TrustListError,
    b64url_encode,
    encode_jws,
    parse_jws,
    verify_trust_list,
)
from keys import (
    ROOT_OWNER,
    InvalidJwksError,
    InvalidOfficeError,
    KeyIdError,
    KeyNotFoundError,
    KeysError,
    KeyStateError,
    KeyStore,
    KeyStoreError,
    NoActiveKeyError,
    PassphraseError,
    TrustAdminError,
    TrustNotInitialisedError,
    WrongPassphraseError,
    add_office,
    current_trust_list,
    current_trust_token,
    export_trust,
    generate_private_key,
    init_trust,
    jiaozi_home,
    mark_compromised,
    owner_dir,
    passphrase_from_env,
    root_keys,
    rotate_office,
    rotate_root,
    sync_office_keys,
)
from tests.factory import T0

PASS = b"correct horse battery staple"
OFFICE = "urn:jiaozi:office:11001"
OFFICE2 = "urn:jiaozi:office:31002"
SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path, PASS)


def _pem(store: KeyStore, owner: str, kid: str) -> Path:
    return store.keys_dir / owner_dir(owner) / f"{kid}.pem"


def _office(store: KeyStore, **kw: object) -> TrustList:
    args: dict[str, object] = dict(
        office_id=OFFICE,
        name="北京市教育委员会",
        province="11",
        office_code="001",
        qualification_types=["kindergarten", "primary"],
        now=T0,
    )
    args.update(kw)
    return add_office(store, **args)  # type: ignore[arg-type]


def _token(signer: KeySigner, iat: int) -> str:
    return encode_jws({"typ": "vc+jwt"}, {"iss": OFFICE, "iat": iat}, signer)


def _ext_jwks(kid: str = "ext-1", alg: Algorithm = Algorithm.ES256) -> dict[str, object]:
    pub = KeySigner(generate_private_key(alg), kid).public_key(nbf=T0)
    return {"keys": [pub.to_jwk()]}


# --- storage ---------------------------------------------------------------------------


def test_private_key_is_encrypted_at_rest_with_mode_0600(store: KeyStore) -> None:
    key = store.create_key(OFFICE, now=T0)
    pem = _pem(store, OFFICE, key.kid)
    data = pem.read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.keys_dir.stat().st_mode) == 0o700
    ring = (pem.parent / "keyring.json").read_text(encoding="utf-8")
    assert '"d"' not in ring and "PRIVATE" not in ring
    assert [p.name for p in pem.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_no_file_of_the_key_store_is_readable_by_other_users(store: KeyStore) -> None:
    """Keyrings were written 0644: every file of the store is its owner's alone (issue 11)."""
    store.create_key(OFFICE, now=T0)
    store.create_key(OFFICE, now=T0 + 10)
    files = [p for p in store.keys_dir.rglob("*") if p.is_file()]
    assert any(p.name == "keyring.json" for p in files)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {
        p.name: "0o600" for p in files
    }
    dirs = [store.keys_dir, *(p for p in store.keys_dir.rglob("*") if p.is_dir())]
    assert {stat.S_IMODE(d.stat().st_mode) for d in dirs} == {0o700}


def test_wrong_passphrase_is_refused(store: KeyStore) -> None:
    key = store.create_key(OFFICE, now=T0)
    other = KeyStore(store.home, b"not the passphrase")
    with pytest.raises(WrongPassphraseError, match="JIAOZI_KEY_PASSPHRASE") as info:
        other.active_signer(OFFICE, now=T0)
    assert PASS.decode() not in str(info.value)
    # nor may it add keys under a second passphrase
    with pytest.raises(WrongPassphraseError):
        other.create_key(OFFICE2, now=T0)
    assert not (store.keys_dir / owner_dir(OFFICE2)).exists()
    assert store.active_signer(OFFICE, now=T0).kid == key.kid


@pytest.mark.parametrize("passphrase", [None, b""])
def test_missing_or_empty_passphrase_is_refused(tmp_path: Path, passphrase: bytes | None) -> None:
    with pytest.raises(PassphraseError, match="JIAOZI_KEY_PASSPHRASE"):
        KeyStore(tmp_path, passphrase).create_key(OFFICE, now=T0)
    assert list((tmp_path / "keys").rglob("*.pem")) == []
    KeyStore(tmp_path, PASS).create_key(OFFICE, now=T0)
    reader = KeyStore(tmp_path, passphrase)
    assert [k.kid for k in reader.public_keys(OFFICE)] == ["11001-1"]  # public ops still work
    with pytest.raises(PassphraseError, match="JIAOZI_KEY_PASSPHRASE"):
        reader.active_signer(OFFICE, now=T0)


def test_unencrypted_key_file_is_refused(store: KeyStore) -> None:
    from cryptography.hazmat.primitives import serialization

    key = store.create_key(OFFICE, now=T0)
    plain = generate_private_key(Algorithm.EDDSA).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _pem(store, OFFICE, key.kid).write_bytes(plain)
    with pytest.raises(KeyStoreError, match="unencrypted"):
        KeyStore(store.home, PASS).active_signer(OFFICE, now=T0)


def test_swapped_key_file_is_detected(store: KeyStore) -> None:
    a = store.create_key(OFFICE, now=T0)
    b = store.create_key(OFFICE2, now=T0)
    _pem(store, OFFICE, a.kid).write_bytes(_pem(store, OFFICE2, b.kid).read_bytes())
    with pytest.raises(KeyStoreError, match="does not match"):
        KeyStore(store.home, PASS).active_signer(OFFICE, now=T0)


def test_damaged_keyring_is_a_keystore_error(store: KeyStore) -> None:
    store.create_key(OFFICE, now=T0)
    ring = store.keys_dir / "office-11001" / "keyring.json"
    ring.write_text('{"format": "jiaozi-keyring/1", "owner": 1}', encoding="utf-8")
    with pytest.raises(KeyStoreError, match="owner or keys missing"):
        store.public_keys(OFFICE)


def test_private_key_is_decrypted_once_and_cached(store: KeyStore) -> None:
    key = store.create_key(OFFICE, now=T0)
    fresh = KeyStore(store.home, PASS)
    first = fresh.active_signer(OFFICE, now=T0)
    _pem(store, OFFICE, key.kid).unlink()  # a second load would now fail
    second = fresh.active_signer(OFFICE, now=T0 + 5)
    assert second is first
    with pytest.raises(KeyStoreError, match="missing"):
        KeyStore(store.home, PASS).active_signer(OFFICE, now=T0)


@pytest.mark.parametrize(("alg", "kty"), [(Algorithm.EDDSA, "OKP"), (Algorithm.ES256, "EC")])
def test_both_algorithms_sign_tokens_that_verify(store: KeyStore, alg: Algorithm, kty: str) -> None:
    key = store.create_key(OFFICE, alg=alg, now=T0)
    signer = KeyStore(store.home, PASS).active_signer(OFFICE, now=T0)
    assert (key.alg, signer.alg, key.to_jwk()["kty"]) == (alg, alg, kty)
    parsed = parse_jws(_token(signer, T0))
    assert parsed.alg == alg.value
    assert parsed.verify(store.public_keys(OFFICE)[0]) is True


def test_default_kids_and_store_wide_uniqueness(store: KeyStore) -> None:
    assert store.create_key(ROOT_OWNER, now=T0).kid == "root-1"
    assert store.create_key(OFFICE, now=T0).kid == "11001-1"
    assert store.rotate(OFFICE, now=T0 + 10).kid == "11001-2"
    with pytest.raises(KeyIdError, match="already used"):
        store.create_key(OFFICE2, kid="root-1", now=T0)
    with pytest.raises(KeyIdError):
        store.create_key(OFFICE2, kid="../escape", now=T0)
    assert store.create_key(OFFICE2, kid="sh-2026a", now=T0).kid == "sh-2026a"
    assert store.owners() == [ROOT_OWNER, OFFICE, OFFICE2]
    assert store.owner_of("11001-2") == OFFICE
    with pytest.raises(KeyNotFoundError):
        store.owner_of("nope-1")


def test_owner_dir_is_filesystem_safe() -> None:
    assert owner_dir("root") == "root"
    assert owner_dir("urn:jiaozi:office:11001") == "office-11001"
    odd = owner_dir("https://jszg.example.cn/offices/上海/../x")
    assert odd.startswith("office-") and len(odd) == 27 and "/" not in odd
    with pytest.raises(KeysError):
        owner_dir("")


def test_env_settings(tmp_path: Path) -> None:
    env = {"JIAOZI_HOME": str(tmp_path), "JIAOZI_KEY_PASSPHRASE": "密码 phrase"}
    assert jiaozi_home(env) == tmp_path
    assert jiaozi_home({}) == Path.cwd() / "var"
    assert passphrase_from_env(env) == "密码 phrase".encode()
    assert passphrase_from_env({"JIAOZI_KEY_PASSPHRASE": ""}) is None
    store = KeyStore.from_env(env)
    assert store.home == tmp_path
    assert store.create_key(OFFICE, now=T0).kid == "11001-1"


# --- rotation --------------------------------------------------------------------------


def test_rotation_keeps_what_the_old_key_signed(store: KeyStore) -> None:
    store.create_key(OFFICE, now=T0)
    old_signer = store.active_signer(OFFICE, now=T0 + 10)
    before = _token(old_signer, T0 + 10)

    new = store.rotate(OFFICE, now=T0 + 100)
    old = next(k for k in store.public_keys(OFFICE) if k.kid == old_signer.kid)

    assert (new.nbf, new.exp, old.exp) == (T0 + 100, None, T0 + 101)
    parsed = parse_jws(before)
    assert parsed.verify(old) is True and old.covers(parsed.payload["iat"]) is None
    # a token the old key makes after the rotation falls outside its window
    after = parse_jws(_token(old_signer, T0 + 200))
    assert parsed.verify(old) and old.covers(after.payload["iat"]) == "expired"
    assert store.active_signer(OFFICE, now=T0 + 200).kid == new.kid
    # the second of the rotation itself is still the old key's (whole-second iat)
    assert old.covers(T0 + 100) is None


def test_rotation_may_change_algorithm_and_refuses_a_clock_behind(store: KeyStore) -> None:
    store.create_key(OFFICE, now=T0)
    new = store.rotate(OFFICE, now=T0 + 50, alg=Algorithm.ES256)
    assert new.alg is Algorithm.ES256
    assert store.active_signer(OFFICE, now=T0 + 60).alg is Algorithm.ES256
    with pytest.raises(KeyStateError, match="clock"):
        store.rotate(OFFICE, now=T0 + 10)
    with pytest.raises(KeyNotFoundError):
        store.rotate(OFFICE2, now=T0)


# --- compromise ------------------------------------------------------------------------


def test_compromise_moves_the_signer_to_another_valid_key(store: KeyStore) -> None:
    first = store.create_key(OFFICE, now=T0)
    second = store.create_key(OFFICE, now=T0 + 10)
    assert store.active_signer(OFFICE, now=T0 + 20).kid == second.kid

    marked = store.compromise(second.kid, at=T0 + 15)
    assert marked.compromised_at == T0 + 15
    assert marked.covers(T0 + 14) is None and marked.covers(T0 + 15) == "compromised"
    assert store.active_signer(OFFICE, now=T0 + 20).kid == first.kid
    stored = {k.kid: k for k in KeyStore(store.home, None).public_keys(OFFICE)}
    assert stored[second.kid].compromised_at == T0 + 15


def test_compromise_of_the_only_key_leaves_no_signer_until_rotation(store: KeyStore) -> None:
    key = store.create_key(OFFICE, now=T0)
    store.active_signer(OFFICE, now=T0)  # cached before the compromise
    store.compromise(key.kid, at=T0 + 5)
    with pytest.raises(NoActiveKeyError, match="compromised"):
        store.active_signer(OFFICE, now=T0 + 6)
    new = store.rotate(OFFICE, now=T0 + 7)
    assert store.active_signer(OFFICE, now=T0 + 8).kid == new.kid


def test_compromise_time_may_move_earlier_but_never_later(store: KeyStore) -> None:
    key = store.create_key(OFFICE, now=T0)
    store.compromise(key.kid, at=T0 + 50)
    assert store.compromise(key.kid, at=T0 + 50).compromised_at == T0 + 50
    assert store.compromise(key.kid, at=T0 + 20).compromised_at == T0 + 20
    with pytest.raises(KeyStateError, match="later"):
        store.compromise(key.kid, at=T0 + 30)
    with pytest.raises(KeyNotFoundError):
        store.compromise("nope-1", at=T0)


# --- JWKS ------------------------------------------------------------------------------


def test_jwks_round_trips_with_windows(store: KeyStore) -> None:
    store.create_key(OFFICE, now=T0)
    store.rotate(OFFICE, now=T0 + 100, alg=Algorithm.ES256)
    store.compromise("11001-1", at=T0 + 50)
    jwks = json.loads(json.dumps(store.jwks(OFFICE)))
    back = [PublicKey.from_jwk(j) for j in jwks["keys"]]
    assert [k.to_jwk() for k in back] == [k.to_jwk() for k in store.public_keys(OFFICE)]
    assert [(k.kid, k.alg, k.nbf, k.exp, k.compromised_at) for k in back] == [
        ("11001-1", Algorithm.EDDSA, T0, T0 + 101, T0 + 50),
        ("11001-2", Algorithm.ES256, T0 + 100, None, None),
    ]
    assert all("d" not in j for j in jwks["keys"])


# --- trust administration --------------------------------------------------------------


def test_init_trust_signs_an_empty_list_and_refuses_twice(store: KeyStore) -> None:
    trust = init_trust(store, now=T0)
    assert (trust.sequence, trust.offices, trust.issued_at) == (1, (), T0)
    assert [k.kid for k in root_keys(store.home)] == ["root-1"]
    assert current_trust_list(store.home) == trust
    with pytest.raises(TrustAdminError, match="already initialised"):
        init_trust(store, now=T0 + 1)
    _office(store)
    again = init_trust(store, now=T0 + 2, force=True)
    assert (again.sequence, again.offices) == (3, ())  # continues the sequence
    assert [k.kid for k in root_keys(store.home)] == ["root-1"]  # same root


def test_trust_state_absent_is_explained(tmp_path: Path) -> None:
    with pytest.raises(TrustNotInitialisedError, match="jiaozi trust init"):
        current_trust_list(tmp_path)
    with pytest.raises(TrustNotInitialisedError):
        _office(KeyStore(tmp_path, PASS))


def test_add_office_generates_its_key_and_signs_the_next_list(store: KeyStore) -> None:
    init_trust(store, now=T0)
    trust = _office(store, qualification_types=["kindergarten", "2", "初级中学"])
    office = trust.office(OFFICE)
    assert office is not None and trust.sequence == 2
    assert office.qualification_types == {
        QualificationType.KINDERGARTEN,
        QualificationType.PRIMARY,
        QualificationType.JUNIOR_MIDDLE,
    }
    assert [k.kid for k in office.keys] == ["11001-1"]
    signer = store.active_signer(OFFICE, now=T0 + 1)
    found = trust.find_key(signer.kid)
    assert found is not None and parse_jws(_token(signer, T0 + 1)).verify(found[1])
    # updating scope keeps the keys and signs seq 3
    updated = _office(store, qualification_types=["higher_education"], now=T0 + 5)
    office3 = updated.office(OFFICE)
    assert updated.sequence == 3 and office3 is not None
    assert office3.qualification_types == {QualificationType.HIGHER_EDUCATION}
    assert [k.kid for k in office3.keys] == ["11001-1"]


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("province", "1", "province"),
        ("province", "05", "province"),
        ("office_code", "01", "office code"),
        ("qualification_types", [], "at least one"),
        ("qualification_types", ["nursery"], "unknown qualification type"),
        ("office_id", "root", "national root"),
        ("office_id", " ", "office id"),
        ("name", "  ", "name"),
    ],
)
def test_bad_office_fields_are_refused(
    store: KeyStore, field: str, value: object, match: str
) -> None:
    init_trust(store, now=T0)
    with pytest.raises(InvalidOfficeError, match=match):
        _office(store, **{field: value})
    assert current_trust_list(store.home).sequence == 1


def test_office_jwks_import(store: KeyStore) -> None:
    init_trust(store, now=T0)
    jwks = _ext_jwks("ext-1")
    trust = _office(store, office_id=OFFICE2, jwks=jwks)
    office = trust.office(OFFICE2)
    assert office is not None and [k.kid for k in office.keys] == ["ext-1"]
    assert not store.has_owner(OFFICE2)  # no private key here
    # a re-import must keep listed keys
    with pytest.raises(InvalidJwksError, match="drops listed key"):
        _office(store, office_id=OFFICE2, jwks=_ext_jwks("ext-2"), now=T0 + 1)
    # a private member is refused
    private = {"keys": [{**jwks["keys"][0], "d": "AAAA"}]}  # type: ignore[index]
    with pytest.raises(InvalidJwksError, match="private"):
        _office(store, office_id="urn:jiaozi:office:44003", jwks=private)
    # kids must not clash with keys held here
    init_root = {"keys": [{**_ext_jwks("root-1")["keys"][0]}]}  # type: ignore[index]
    with pytest.raises(InvalidJwksError, match="root-1"):
        _office(store, office_id="urn:jiaozi:office:44003", jwks=init_root)
    assert current_trust_list(store.home).sequence == 2


@pytest.mark.parametrize("point", SMALL_ORDER)
def test_small_order_ed25519_jwk_is_refused_on_import(store: KeyStore, point: str) -> None:
    init_trust(store, now=T0)
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(bytes.fromhex(point)),
        "kid": "evil-1",
        "alg": "EdDSA",
    }
    with pytest.raises(InvalidJwksError, match="small order") as info:
        _office(store, office_id=OFFICE2, jwks={"keys": [jwk]})
    assert "evil-1" in str(info.value) and OFFICE2 in str(info.value)
    trust = current_trust_list(store.home)
    assert trust.sequence == 1 and trust.find_key("evil-1") is None


def test_rotate_office_resigns_and_old_tokens_stay_valid(store: KeyStore) -> None:
    init_trust(store, now=T0)
    _office(store)
    old_signer = store.active_signer(OFFICE, now=T0 + 10)
    token = parse_jws(_token(old_signer, T0 + 10))
    new, trust = rotate_office(store, OFFICE, now=T0 + 100)
    assert trust is not None and trust.sequence == 3
    found_old, found_new = trust.find_key(old_signer.kid), trust.find_key(new.kid)
    assert found_old is not None and found_new is not None
    assert token.verify(found_old[1]) and found_old[1].covers(T0 + 10) is None
    assert found_old[1].exp == T0 + 101 and found_new[1].nbf == T0 + 100
    assert current_trust_list(store.home) == trust


def test_rotate_office_not_listed_only_rotates(store: KeyStore) -> None:
    store.create_key(OFFICE, now=T0)  # an office-side home without a trust list
    new, trust = rotate_office(store, OFFICE, now=T0 + 10)
    assert trust is None and new.kid == "11001-2"


def test_mark_compromised_resigns_with_compromised_at(store: KeyStore) -> None:
    init_trust(store, now=T0)
    _office(store)
    key, trust = mark_compromised(store, "11001-1", at=T0 + 30, now=T0 + 60)
    assert key.compromised_at == T0 + 30
    assert trust is not None and trust.sequence == 3
    found = trust.find_key("11001-1")
    assert found is not None and found[1].covers(T0 + 31) == "compromised"
    with pytest.raises(NoActiveKeyError):
        store.active_signer(OFFICE, now=T0 + 61)
    with pytest.raises(KeyNotFoundError):
        mark_compromised(store, "nope-1", at=T0, now=T0 + 60)


def test_mark_compromised_of_an_imported_key(store: KeyStore) -> None:
    init_trust(store, now=T0)
    jwks = _ext_jwks("ext-1")
    _office(store, office_id=OFFICE2, jwks=jwks)
    key, trust = mark_compromised(store, "ext-1", at=T0 + 30, now=T0 + 60)
    assert key.compromised_at == T0 + 30 and trust is not None and trust.sequence == 3
    # the office re-sending its JWKS (without the mark) does not lift it
    again = _office(store, office_id=OFFICE2, jwks=jwks, now=T0 + 70)
    found = again.find_key("ext-1")
    assert found is not None and found[1].compromised_at == T0 + 30


def test_sync_office_keys_after_store_change(store: KeyStore) -> None:
    init_trust(store, now=T0)
    _office(store)
    store.rotate(OFFICE, now=T0 + 10)
    assert [k.kid for k in current_trust_list(store.home).office(OFFICE).keys] == ["11001-1"]  # type: ignore[union-attr]
    trust = sync_office_keys(store, OFFICE, now=T0 + 11)
    assert [k.kid for k in trust.office(OFFICE).keys] == ["11001-1", "11001-2"]  # type: ignore[union-attr]
    with pytest.raises(TrustAdminError, match="not in the trust list"):
        sync_office_keys(store, OFFICE2, now=T0 + 12)


def test_trust_list_rollback_is_refused(store: KeyStore) -> None:
    init_trust(store, now=T0)
    older = current_trust_token(store.home)
    newer = _office(store)
    roots = root_keys(store.home)
    assert verify_trust_list(older, roots).sequence == 1
    with pytest.raises(RollbackError):
        verify_trust_list(older, roots, previous=newer)


def test_export_writes_what_verifiers_pin(store: KeyStore, tmp_path: Path) -> None:
    init_trust(store, now=T0)
    _office(store)
    out = tmp_path / "export"
    trust = export_trust(store.home, out)
    token = (out / "trust-list.jwt").read_text(encoding="ascii").strip()
    pins = [PublicKey.from_jwk(j) for j in json.loads((out / "root.jwks.json").read_text())["keys"]]
    assert verify_trust_list(token, pins) == trust
    assert trust.office(OFFICE) is not None


def test_root_rotation_and_root_compromise(store: KeyStore) -> None:
    init_trust(store, now=T0)
    _office(store)
    old_pins = root_keys(store.home)
    key, unsigned = mark_compromised(store, "root-1", at=T0, now=T0 + 10)
    assert key.compromised_at == T0 and unsigned is None
    with pytest.raises(TrustAdminError, match="does not verify"):
        current_trust_list(store.home)  # its iat T0 is no longer inside root-1's window
    new, trust = rotate_root(store, now=T0 + 20)
    assert new.kid == "root-2" and trust is not None and trust.sequence == 3
    assert current_trust_list(store.home) == trust
    assert trust.office(OFFICE) is not None
    with pytest.raises(TrustListError, match="pinned root"):
        verify_trust_list(current_trust_token(store.home), old_pins)


def test_public_surface_is_explicit() -> None:
    for name in keys.__all__:
        assert hasattr(keys, name), name
    public = {n for n in dir(keys) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(keys, n)).__name__ == "module"}
    assert public - modules == set(keys.__all__)
    errors = [getattr(keys, n) for n in keys.__all__ if n.endswith("Error")]
    assert all(issubclass(e, KeysError) for e in errors) and len(errors) == 17


def test_concurrent_changes_never_lose_an_office(store: KeyStore) -> None:
    """Separate stores on one home (as separate processes would be) serialise on the lock."""
    from concurrent.futures import ThreadPoolExecutor

    init_trust(store, now=T0)
    ids = [f"urn:jiaozi:office:{11001 + n}" for n in range(6)]

    def add(office_id: str) -> int:
        return _office(KeyStore(store.home, PASS), office_id=office_id).sequence

    with ThreadPoolExecutor(max_workers=6) as pool:
        sequences = sorted(pool.map(add, ids))
    assert sequences == [2, 3, 4, 5, 6, 7]
    trust = current_trust_list(store.home)
    assert trust.sequence == 7 and sorted(o.id for o in trust.offices) == ids
