"""The data cipher recipe (keys.DataCipher) and the issuer's sealed credential text."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

import keys
from credential import encode_jws
from issuer.issuance.sealing import (
    PREFIX,
    SealedDataError,
    open_credential,
    open_text,
    seal_credential,
    seal_text,
)
from issuer.settings import IssuerSettings
from keys import DataCipher, KeysError, generate_data_key, parse_data_key
from tests.factory import signer

JWS = "eyJhbGciOiJFZERTQSJ9.eyJpZCI6IjExMDEwNTE5NzYwOTA2MjQ2OSJ9.c2ln"
NUMBER = "20261100120000001"


def settings(**over: str) -> IssuerSettings:
    return IssuerSettings(**over)  # type: ignore[arg-type]


# --- keys.DataCipher ----------------------------------------------------------------------


def test_seal_and_open_round_trip_with_a_fresh_nonce_each_time() -> None:
    cipher = DataCipher(parse_data_key(generate_data_key()))
    a = cipher.seal(b"secret", aad=b"row-1")
    b = cipher.seal(b"secret", aad=b"row-1")
    assert a != b and a[0] == b[0] == 1
    assert len(a) == 1 + 12 + len(b"secret") + 16
    assert b"secret" not in a
    assert cipher.open(a, aad=b"row-1") == cipher.open(b, aad=b"row-1") == b"secret"


def test_every_changed_byte_wrong_aad_wrong_key_and_short_input_fail() -> None:
    cipher = DataCipher(b"k" * 32)
    sealed = cipher.seal(b"110105197609062469", aad=b"row-1")
    for i in range(len(sealed)):
        changed = bytearray(sealed)
        changed[i] ^= 0x01
        with pytest.raises(KeysError):
            cipher.open(bytes(changed), aad=b"row-1")
    with pytest.raises(KeysError):
        cipher.open(sealed, aad=b"row-2")
    with pytest.raises(KeysError):
        DataCipher(b"j" * 32).open(sealed, aad=b"row-1")
    with pytest.raises(KeysError):
        cipher.open(sealed[:28], aad=b"row-1")
    with pytest.raises(KeysError, match="format version"):
        cipher.open(b"\x02" + sealed[1:], aad=b"row-1")


def test_keys_must_be_32_bytes_of_base64url() -> None:
    with pytest.raises(KeysError):
        DataCipher(b"short")
    key = generate_data_key()
    assert len(parse_data_key(key)) == 32
    assert parse_data_key(key + "=") == parse_data_key(key)
    for bad in ("", "not base64!", base64.urlsafe_b64encode(b"x" * 16).decode(), "a+b/"):
        with pytest.raises(KeysError):
            parse_data_key(bad)
    assert "hidden" in repr(DataCipher(b"k" * 32))


def test_settings_check_the_data_key_and_production_refuses_the_default() -> None:
    assert settings().data_key.get_secret_value() == keys.DEV_DATA_KEY
    with pytest.raises(ValidationError, match="JIAOZI_DATA_KEY"):
        settings(data_key="too-short")
    prod = {
        "env": "production",
        "api_key": "a" * 40,
        "id_hmac_key": "b" * 40,
        "restriction_hmac_key": "c" * 40,
        "public_url": "https://issuer.example.cn",
        "verifier_url": "https://verify.example.cn",
    }
    # refused when the settings are built, not at the first seal in the middle of a round
    with pytest.raises(ValidationError, match="JIAOZI_DATA_KEY"):
        settings(**prod)
    real = settings(**prod, data_key=generate_data_key())
    stored = seal_credential(real, JWS, certificate_number=NUMBER)
    assert open_credential(real, stored, certificate_number=NUMBER) == JWS


# --- issuer.issuance.sealing -----------------------------------------------------------------------


def test_a_sealed_credential_opens_only_for_its_own_certificate() -> None:
    s = settings()
    stored = seal_credential(s, JWS, certificate_number=NUMBER)
    assert stored.startswith(PREFIX) and JWS not in stored
    assert open_credential(s, stored, certificate_number=NUMBER) == JWS
    with pytest.raises(SealedDataError):
        open_credential(s, stored, certificate_number="20261100120000002")
    other_key = settings(data_key=generate_data_key())
    with pytest.raises(SealedDataError):
        open_credential(other_key, stored, certificate_number=NUMBER)


def test_a_tampered_sealed_text_fails() -> None:
    s = settings()
    stored = seal_text(s, "answer", context="idempotency:x")
    body = stored[len(PREFIX) :]
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    with pytest.raises(SealedDataError):
        open_text(s, PREFIX + flipped, context="idempotency:x")
    with pytest.raises(SealedDataError):
        open_text(s, PREFIX + "!!!", context="idempotency:x")


def test_legacy_clear_text_opens_only_as_a_jws_of_its_own_certificate() -> None:
    s = settings()
    legacy = encode_jws(
        {"typ": "vc+jwt"},
        {"credentialSubject": {"certificateNumber": NUMBER}},
        signer(kid="11001-1", seed=1),
    )
    assert open_credential(s, legacy, certificate_number=NUMBER) == legacy
    with pytest.raises(SealedDataError):
        open_credential(s, legacy, certificate_number="20261100120000002")
    with pytest.raises(SealedDataError):
        open_credential(s, "not a token", certificate_number=NUMBER)
