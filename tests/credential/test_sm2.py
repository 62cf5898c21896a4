"""SM2 with SM3 (credential._sm2): the standards' published examples, and OpenSSL 3 as an
independent implementation in both directions (our signature verified by ``openssl
pkeyutl``, its signature verified by us).

Known answers: SM3 of "abc" and of the 64-byte "abcd" x 16 (GB/T 32905-2016, appendix A);
the SM2 signature example on the recommended curve (GB/T 32918.5 / GM/T 0003.5): private
key d_A, its public point, Z_A with the default ID "1234567812345678", e, and the published
(r, s) for the message "message digest".
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
from pathlib import Path

import pytest

from credential import (
    SM2_USER_ID,
    Algorithm,
    KeySigner,
    PublicKey,
    SignatureError,
    Sm2PrivateKey,
    Sm2PublicKey,
    b64url_encode,
    sm3,
)
from credential._sm2 import N, _der, _raw, sm3_za

D_A = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
X_A = bytes.fromhex("09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020")
Y_A = bytes.fromhex("CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
Z_A = bytes.fromhex("B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3")
E = bytes.fromhex("F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640")
R = bytes.fromhex("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3")
S = bytes.fromhex("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
MESSAGE = b"message digest"


def test_sm3_known_answers() -> None:
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert (
        sm3(b"abcd" * 16).hex()
        == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_the_standard_key_za_and_digest() -> None:
    key = Sm2PrivateKey(D_A)
    assert key.public_key().public_bytes() == X_A + Y_A
    assert SM2_USER_ID == b"1234567812345678"
    assert sm3_za(X_A + Y_A) == Z_A
    assert sm3(Z_A + MESSAGE) == E


def test_the_standard_signature_verifies_and_nothing_near_it_does() -> None:
    public = Sm2PublicKey.from_xy(X_A, Y_A)
    assert public.verify(MESSAGE, R + S)
    assert not public.verify(b"message digesT", R + S)
    assert not public.verify(MESSAGE, R + S, user_id=b"ALICE123@YAHOO.COM")
    s = int.from_bytes(S, "big")
    assert not public.verify(MESSAGE, R + ((s + 1) % N).to_bytes(32, "big"))
    # out-of-range values and the zero signature are refused before the library sees them
    assert not public.verify(MESSAGE, bytes(64))
    assert not public.verify(MESSAGE, N.to_bytes(32, "big") + S)
    assert not public.verify(MESSAGE, R + S + b"\x00")
    assert not public.verify(MESSAGE, (R + S)[:63])


def test_sign_then_verify_with_a_fresh_key_and_pickling() -> None:
    key = Sm2PrivateKey.generate()
    sig = key.sign(b"payload")
    assert len(sig) == 64
    assert key.public_key().verify(b"payload", sig)
    assert not Sm2PrivateKey.generate().public_key().verify(b"payload", sig)
    again = pickle.loads(pickle.dumps(key))  # batch workers get signers by pickling
    assert again.public_key() == key.public_key()
    assert key.public_key().verify(b"x", again.sign(b"x"))


def test_keys_refuse_what_is_not_a_key() -> None:
    with pytest.raises(SignatureError):
        Sm2PublicKey(b"\x01" * 64)  # not on the curve
    with pytest.raises(SignatureError):
        Sm2PublicKey(bytes(64))
    with pytest.raises(SignatureError):
        Sm2PublicKey(b"\x04" + X_A + Y_A)
    for bad in (bytes(32), (N - 1).to_bytes(32, "big"), N.to_bytes(32, "big"), D_A[:31]):
        with pytest.raises(SignatureError):
            Sm2PrivateKey(bad)


def test_der_round_trip() -> None:
    for r, s in ((1, 1), (2**255, 2**255 + 7), (N - 1, 0x7F)):
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        assert _raw(_der(r, s)) == raw
    with pytest.raises(SignatureError):
        _raw(b"\x30\x03\x02\x01\x01")


def test_jwk_round_trip_and_refusals() -> None:
    signer = KeySigner(Sm2PrivateKey(D_A), "11001-sm2-1")
    assert signer.alg is Algorithm.SM2SM3
    key = signer.public_key(nbf=10, exp=20)
    jwk = key.to_jwk()
    assert jwk == {
        "kty": "EC",
        "crv": "SM2",
        "x": b64url_encode(X_A),
        "y": b64url_encode(Y_A),
        "kid": "11001-sm2-1",
        "alg": "SM2SM3",
        "use": "sig",
        "nbf": 10,
        "exp": 20,
    }
    back = PublicKey.from_jwk(jwk)
    assert back == key
    assert back.verify(b"data", signer.sign(b"data"))
    for change in ({"alg": "ES256"}, {"alg": "EdDSA"}, {"y": b64url_encode(X_A)}, {"x": "AAAA"}):
        with pytest.raises(SignatureError):
            PublicKey.from_jwk({**jwk, **change})
    # a P-256 JWK with the SM2 point, or an SM2 JWK claiming P-256, never verifies SM2
    with pytest.raises(SignatureError):
        PublicKey.from_jwk({**jwk, "alg": "SM2SM3", "crv": "P-256"})


# --- OpenSSL 3 as the independent implementation ---------------------------------------

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="Debian's openssl not installed")
SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d03420004")


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, check=False)


def _pkeyutl(op: str, key: Path, *more: str | Path) -> subprocess.CompletedProcess[bytes]:
    return _openssl(
        "pkeyutl",
        op,
        *(["-pubin"] if op == "-verify" else []),
        "-inkey",
        key,
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        "distid:1234567812345678",
        *more,
    )


@needs_openssl
def test_openssl_verifies_our_signatures(tmp_path: Path) -> None:
    key = Sm2PrivateKey.generate()
    message = "中文 e-licence payload".encode() * 20
    (tmp_path / "m").write_bytes(message)
    der_spki = SPKI_PREFIX + key.public_key().public_bytes()
    assert OPENSSL is not None
    pub = subprocess.run(
        [OPENSSL, "pkey", "-pubin", "-inform", "DER"], input=der_spki, capture_output=True
    )
    assert pub.returncode == 0, pub.stderr
    (tmp_path / "pub.pem").write_bytes(pub.stdout)
    sig = key.sign(message)
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    (tmp_path / "sig").write_bytes(_der(r, s))
    ok = _pkeyutl(
        "-verify", tmp_path / "pub.pem", "-in", tmp_path / "m", "-sigfile", tmp_path / "sig"
    )
    assert ok.returncode == 0 and b"Verified Successfully" in ok.stdout, ok.stderr
    (tmp_path / "m").write_bytes(message + b".")
    bad = _pkeyutl(
        "-verify", tmp_path / "pub.pem", "-in", tmp_path / "m", "-sigfile", tmp_path / "sig"
    )
    assert bad.returncode != 0


@needs_openssl
def test_we_verify_openssls_signatures(tmp_path: Path) -> None:
    made = _openssl("genpkey", "-algorithm", "SM2", "-out", tmp_path / "k.pem")
    assert made.returncode == 0, made.stderr
    spki = _openssl("pkey", "-in", tmp_path / "k.pem", "-pubout", "-outform", "DER").stdout
    assert spki.startswith(SPKI_PREFIX) and len(spki) == len(SPKI_PREFIX) + 64
    public = Sm2PublicKey(spki[len(SPKI_PREFIX) :])
    message = b"header.payload signed by OpenSSL" * 9
    (tmp_path / "m").write_bytes(message)
    signed = _pkeyutl("-sign", tmp_path / "k.pem", "-in", tmp_path / "m", "-out", tmp_path / "s")
    assert signed.returncode == 0, signed.stderr
    raw = _raw((tmp_path / "s").read_bytes())
    assert public.verify(message, raw)
    assert not public.verify(message + b".", raw)
