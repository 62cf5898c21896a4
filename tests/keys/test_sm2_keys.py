"""keys/: an office's SM2 key beside its EdDSA key (issue 16), with the same life:
generation, encrypted storage, rotation of its own line, compromise, publication in the
trust list and the office's JWKS, and the key ceremony's commands."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from credential import Algorithm, add_signature, encode_jws, parse_jws_json
from keys import (
    ROOT_OWNER,
    KeysError,
    KeyStore,
    NoActiveKeyError,
    WrongPassphraseError,
    add_office,
    current_trust_list,
    init_trust,
    mark_compromised,
    owner_dir,
    rotate_office,
)
from tests.factory import T0

PASS = b"correct horse battery staple"
OFFICE = "urn:jiaozi:office:11001"


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path, PASS)


def _listed(store: KeyStore) -> None:
    init_trust(store, now=T0)
    add_office(
        store,
        office_id=OFFICE,
        name="北京市教育委员会",
        province="11",
        office_code="001",
        qualification_types=["primary"],
        now=T0,
    )


def test_an_sm2_key_is_stored_encrypted_and_opens_only_with_the_passphrase(
    store: KeyStore, tmp_path: Path
) -> None:
    store.create_key(OFFICE, now=T0)
    key = store.create_key(OFFICE, alg=Algorithm.SM2SM3, now=T0)
    assert key.alg is Algorithm.SM2SM3
    path = store.keys_dir / owner_dir(OFFICE) / f"{key.kid}.pem"
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN JIAOZI SM2 ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fresh = KeyStore(tmp_path, PASS)  # a new process: decrypts from the file
    signer = fresh.sm2_signer(OFFICE, now=T0 + 1)
    assert signer is not None and signer.kid == key.kid
    assert key.verify(b"x", signer.sign(b"x"))
    # the main line is untouched: EdDSA still signs what it signed
    assert fresh.active_signer(OFFICE, now=T0 + 1).alg is Algorithm.EDDSA
    with pytest.raises(WrongPassphraseError):
        KeyStore(tmp_path, b"wrong passphrase").sm2_signer(OFFICE, now=T0 + 1)
    # a key file copied under another kid does not open (the kid is bound in)
    other = store.create_key(OFFICE, alg=Algorithm.SM2SM3, kid="11001-sm2-x", now=T0)
    (store.keys_dir / owner_dir(OFFICE) / f"{other.kid}.pem").write_bytes(data)
    with pytest.raises(WrongPassphraseError):
        KeyStore(tmp_path, PASS).sm2_signer(OFFICE, now=T0 + 1)


def test_an_office_without_sm2_keys_has_no_sm2_signer(store: KeyStore) -> None:
    store.create_key(OFFICE, now=T0)
    assert store.sm2_signer(OFFICE, now=T0) is None


def test_the_root_never_holds_an_sm2_key(store: KeyStore) -> None:
    with pytest.raises(KeysError):
        store.create_key(ROOT_OWNER, alg=Algorithm.SM2SM3, now=T0)


def test_rotating_one_line_leaves_the_other_alone(store: KeyStore) -> None:
    _listed(store)
    first, trust = rotate_office(store, OFFICE, now=T0 + 10, alg=Algorithm.SM2SM3)
    assert first.alg is Algorithm.SM2SM3 and trust is not None  # the first SM2 key
    eddsa = store.active_signer(OFFICE, now=T0 + 20)
    second, trust = rotate_office(store, OFFICE, now=T0 + 100, alg=Algorithm.SM2SM3)
    assert trust is not None
    by_kid = {k.kid: k for k in store.public_keys(OFFICE)}
    assert by_kid[first.kid].exp == T0 + 101 and by_kid[second.kid].nbf == T0 + 100
    assert by_kid[eddsa.kid].exp is None  # the EdDSA key keeps signing
    assert store.active_signer(OFFICE, now=T0 + 200).kid == eddsa.kid
    sm2 = store.sm2_signer(OFFICE, now=T0 + 200)
    assert sm2 is not None and sm2.kid == second.kid
    # rotating the main line leaves the SM2 key open
    new_main, _ = rotate_office(store, OFFICE, now=T0 + 300)
    assert new_main.alg is Algorithm.EDDSA
    assert {k.kid: k for k in store.public_keys(OFFICE)}[second.kid].exp is None


def test_the_trust_list_and_jwks_publish_the_sm2_key_and_its_compromise(
    store: KeyStore,
) -> None:
    _listed(store)
    sm2_key, _ = rotate_office(store, OFFICE, now=T0 + 10, alg=Algorithm.SM2SM3)
    trust = current_trust_list(store.home)
    found = trust.find_key(sm2_key.kid)
    assert found is not None and found[0].id == OFFICE and found[1].alg is Algorithm.SM2SM3
    jwk = next(k for k in store.jwks(OFFICE)["keys"] if k["kid"] == sm2_key.kid)
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("EC", "SM2", "SM2SM3")
    # a dual-signed token made by the store's two signers verifies under the list
    main = store.active_signer(OFFICE, now=T0 + 20)
    sm2 = store.sm2_signer(OFFICE, now=T0 + 20)
    assert sm2 is not None
    dual = parse_jws_json(add_signature(encode_jws({"typ": "vc+jwt"}, {"iat": T0 + 20}, main), sm2))
    assert dual.others[0].verify(found[1])
    _key, trust2 = mark_compromised(store, sm2_key.kid, at=T0 + 30, now=T0 + 60)
    assert trust2 is not None
    listed = trust2.find_key(sm2_key.kid)
    assert listed is not None and listed[1].covers(T0 + 31) == "compromised"
    # an office whose SM2 keys are all compromised stops dual-signing loudly, not silently
    with pytest.raises(NoActiveKeyError):
        store.sm2_signer(OFFICE, now=T0 + 61)
    assert store.active_signer(OFFICE, now=T0 + 61).alg is Algorithm.EDDSA


def test_a_spawned_batch_worker_reopens_both_keys_or_refuses(
    store: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credential import DualSigner
    from issuer.batches import SignerRef

    monkeypatch.setenv("JIAOZI_KEY_PASSPHRASE", PASS.decode())
    store.create_key(OFFICE, now=T0)
    store.rotate(OFFICE, now=T0, alg=Algorithm.SM2SM3)
    dual = store.issuing_signer(OFFICE, now=T0 + 1)
    assert isinstance(dual, DualSigner)
    ref = SignerRef.for_key_store(dual, home=tmp_path, owner=OFFICE)
    ref.check_matches(dual)
    opened = ref.open(now=T0 + 1)
    assert isinstance(opened, DualSigner)
    assert (opened.kid, opened.sm2.kid) == (dual.kid, dual.sm2.kid)
    # a reference made for the EdDSA key alone never stands in for the dual signer
    with pytest.raises(RuntimeError):
        SignerRef.for_key_store(dual.main, home=tmp_path, owner=OFFICE).check_matches(dual)  # type: ignore[arg-type]
    # the SM2 key rotated meanwhile: the worker refuses rather than sign with another key
    store.rotate(OFFICE, now=T0 + 5, alg=Algorithm.SM2SM3)
    with pytest.raises(RuntimeError):
        ref.open(now=T0 + 6)


def test_the_ceremony_commands_add_rotate_and_compromise_an_sm2_key(tmp_path: Path) -> None:
    from tests.keys.test_cli import add_office as cli_add_office
    from tests.keys.test_cli import jiaozi, ok

    home = tmp_path / "home"
    ok(jiaozi(home, "trust", "init"))
    ok(cli_add_office(home))  # 11001-1, EdDSA
    out = ok(jiaozi(home, "keys", "rotate", "--office", OFFICE, "--alg", "SM2SM3", now=T0 + 10))
    assert "11001-2" in out and "SM2SM3" in out
    jwks = json.loads(ok(jiaozi(home, "keys", "jwks", "--office", OFFICE, now=T0 + 20)))
    assert [(k["kid"], k["alg"]) for k in jwks["keys"]] == [
        ("11001-1", "EdDSA"),
        ("11001-2", "SM2SM3"),
    ]
    ok(jiaozi(home, "keys", "compromise", "11001-2", "--at", str(T0 + 30), now=T0 + 40))
    trust = current_trust_list(home)
    found = trust.find_key("11001-2")
    assert found is not None and found[1].compromised_at == T0 + 30
    assert trust.find_key("11001-1") is not None
    refused = jiaozi(home, "keys", "rotate", "--root", "--alg", "SM2SM3", now=T0 + 50)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
