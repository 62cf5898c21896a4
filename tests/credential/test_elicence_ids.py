"""E-licence identifiers (credential._elicence): ISO/IEC 7064 MOD 37,36 against an
independent implementation written from the standard, the contract's example, and every
defect of an identifier with its own code."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from credential._certnumber import CertificateNumber
from credential._elicence import (
    ELICENCE_ROOT,
    ElicenceId,
    elicence_id,
    mod37_36_check,
    mod37_36_is_valid,
    parse_elicence_id,
)
from tests.factory import field_error

# The contract's e-licence example (section 2).
TYPE_CODE = "11100000000013338W009"
USCC = "11330105002500287C"
CONTRACT_EID = f"{ELICENCE_ROOT}.{TYPE_CODE}.{USCC}.2025052201.002.0"

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# --------------------------------------------------------------------------------------
# Independent reference implementations, written from the standards, not from the module
# --------------------------------------------------------------------------------------


def ref_mod37_36_state(s: str) -> int:
    """ISO/IEC 7064 hybrid system, M = 36: p starts at M; s = (p + v) mod M (0 -> M);
    p = 2s mod (M + 1). Returns the final p."""
    m = 36
    p = m
    for ch in s:
        t = (p + ALNUM.index(ch)) % m or m
        p = (t * 2) % (m + 1)
    return p


def ref_mod37_36_check(s: str) -> str:
    """The check c makes (p + c) mod M == 1."""
    return ALNUM[(1 - ref_mod37_36_state(s)) % 36]


def ref_mod37_36_valid(s: str) -> bool:
    """Run the hybrid system over every character including the check: the last s is 1."""
    p = ref_mod37_36_state(s[:-1])
    return (p + ALNUM.index(s[-1])) % 36 == 1


# --------------------------------------------------------------------------------------
# ISO/IEC 7064 MOD 37,36 and the e-licence identifier
# --------------------------------------------------------------------------------------


def test_mod37_36_contract_known_answer() -> None:
    data = TYPE_CODE + USCC + "2025052201" + "002"
    assert len(TYPE_CODE) == 21 and len(USCC) == 18
    assert mod37_36_check(data) == "0"
    assert ref_mod37_36_check(data) == "0"


def test_mod37_36_known_answers_from_first_principles() -> None:
    # "A" (value 10), by hand: p = 36; s = (36 + 10) mod 36 = 10; p = 20 mod 37 = 20;
    # check c with (20 + c) mod 36 == 1: c = 17 = "H".
    assert mod37_36_check("A") == "H"
    # "0": s = 36 mod 36 = 0 -> 36; p = 72 mod 37 = 35; c = (1 - 35) mod 36 = 2.
    assert mod37_36_check("0") == "2"
    # The empty string: p = 36; c = (1 - 36) mod 36 = 1.
    assert mod37_36_check("") == "1"
    # The worked example of ISO/IEC 7064 (as also given by python-stdnum).
    assert mod37_36_check("A12425GABC1234002") == "M"
    assert mod37_36_is_valid("A12425GABC1234002M")


@given(st.text(alphabet=ALNUM, max_size=80))
def test_mod37_36_matches_reference_and_validates(s: str) -> None:
    check = mod37_36_check(s)
    assert check == ref_mod37_36_check(s)
    assert ref_mod37_36_valid(s + check)
    assert mod37_36_is_valid(s + check)


@given(st.text(alphabet=ALNUM, max_size=60), st.data())
def test_mod37_36_detects_every_single_substitution(s: str, data: st.DataObject) -> None:
    whole = s + mod37_36_check(s)
    pos = data.draw(st.integers(0, len(whole) - 1))
    new = data.draw(st.sampled_from(ALNUM).filter(lambda c: c != whole[pos]))
    assert not mod37_36_is_valid(whole[:pos] + new + whole[pos + 1 :])


def transposition_blind_spot(prefix: str, a: str, b: str) -> bool:
    """MOD 37,36 misses swapping adjacent a, b exactly when the running s after the first
    of them is 18 and the second is one higher (mod 36), or s is 19 and the second is one
    lower: one order gives p = 2 * 18 mod 37 = 36, the other p = 2 * 19 mod 37 = 1, and
    both reach the same next s."""
    va, vb = ALNUM.index(a), ALNUM.index(b)
    s1 = (ref_mod37_36_state(prefix) + va) % 36 or 36
    return (s1 == 18 and vb == (va + 1) % 36) or (s1 == 19 and vb == (va - 1) % 36)


@given(st.text(alphabet=ALNUM, min_size=1, max_size=60), st.data())
def test_mod37_36_detects_adjacent_transpositions_outside_its_blind_spot(
    s: str, data: st.DataObject
) -> None:
    whole = s + mod37_36_check(s)
    pos = data.draw(st.integers(0, len(whole) - 2))
    a, b = whole[pos], whole[pos + 1]
    assume(a != b)
    swapped = whole[:pos] + b + a + whole[pos + 2 :]
    assert mod37_36_is_valid(swapped) == transposition_blind_spot(whole[:pos], a, b)


def test_mod37_36_transposition_blind_spot_is_exactly_1_in_630() -> None:
    # Exhaustive over every running state and every ordered pair of distinct characters:
    # ISO/IEC 7064 hybrid systems miss a small fraction of adjacent transpositions.
    prefixes = {ref_mod37_36_state(ALNUM[k]): ALNUM[k] for k in range(36)}
    assert len(prefixes) == 36  # one prefix reaching each state p = 1..36
    missed = total = 0
    for prefix in prefixes.values():
        for a in ALNUM:
            for b in ALNUM:
                if a == b:
                    continue
                total += 1
                check = mod37_36_check(prefix + a + b)
                undetected = mod37_36_is_valid(prefix + b + a + check)
                assert undetected == transposition_blind_spot(prefix, a, b)
                missed += undetected
    assert (missed, total) == (72, 36 * 36 * 35)
    # The first one from the start state: "IJ" and "JI" share check character "0".
    assert mod37_36_check("IJ") == mod37_36_check("JI") == "0"


def test_mod37_36_rejects_characters_outside_the_alphabet() -> None:
    err = field_error(mod37_36_check, "AB-C")
    assert err.code == "characters" and "character 3 is '-'" in err.message
    assert not mod37_36_is_valid("ab")
    assert not mod37_36_is_valid("")


def test_elicence_id_contract_example() -> None:
    built = elicence_id(type_code=TYPE_CODE, issuer_uscc=USCC, serial="2025052201", version=2)
    assert built == CONTRACT_EID
    parsed = parse_elicence_id(CONTRACT_EID)
    assert parsed == ElicenceId(
        type_code=TYPE_CODE, issuer_uscc=USCC, serial="2025052201", version=2, check="0"
    )
    assert str(parsed) == CONTRACT_EID
    assert parse_elicence_id(CONTRACT_EID.lower()) == parsed


@given(serial=st.text(alphabet=ALNUM, min_size=1, max_size=32), version=st.integers(1, 999))
def test_elicence_id_round_trip(serial: str, version: int) -> None:
    text = elicence_id(type_code=TYPE_CODE, issuer_uscc=USCC, serial=serial, version=version)
    parsed = parse_elicence_id(text)
    assert (parsed.serial, parsed.version) == (serial, version)
    assert str(parsed) == text


def test_elicence_id_from_certificate_number() -> None:
    cn = CertificateNumber.parse("20263300132000042")
    text = elicence_id(type_code=TYPE_CODE, issuer_uscc=USCC, serial=cn, version=1)
    assert parse_elicence_id(text).serial == "20263300132000042"
    assert text.split(".")[-2] == "001"


def _eid(tc: str = TYPE_CODE, uscc: str = USCC, sn: str = "2025052201", ver: str = "002") -> str:
    body = tc + uscc + sn + ver
    check = ref_mod37_36_check(body) if all(c in ALNUM for c in body) else "0"
    return f"{ELICENCE_ROOT}.{tc}.{uscc}.{sn}.{ver}.{check}"


@pytest.mark.parametrize(
    ("text", "code", "en", "zh"),
    [
        (CONTRACT_EID.replace("3005", "3006"), "root", "must start with 1.2.156.3005.2", "开头"),
        (CONTRACT_EID[:-2], "parts", "5 dot-separated parts", "应有5段"),
        (CONTRACT_EID + ".0", "parts", "got 6", "实际为6段"),
        (_eid(tc=TYPE_CODE[:-1]), "type_code_length", "21 characters, got 20", "实际为20位"),
        (_eid(tc=TYPE_CODE[:-1] + "_"), "type_code_characters", "character 21 is '_'", "第21位"),
        (_eid(uscc=USCC + "0"), "issuer_uscc_length", "18 characters, got 19", "实际为19位"),
        (_eid(uscc=USCC[:-1] + "I"), "issuer_uscc_characters", "character 18 is 'I'", "第18位"),
        (_eid(uscc=USCC[:-1] + "D"), "issuer_uscc_check_digit", "should be C, got D", "应为C"),
        (_eid(sn=""), "serial_length", "1-32 characters, got 0", "实际为0位"),
        (_eid(sn="A" * 33), "serial_length", "got 33", "实际为33位"),
        (_eid(sn="2025-01"), "serial_characters", "character 5 is '-'", "第5位"),
        (_eid(ver="02"), "version_format", "3 digits", "3位数字"),
        (_eid(ver="00A"), "version_format", "3 digits", "3位数字"),
        (_eid(ver="000"), "version_out_of_range", "1-999, got 0", "实际为0"),
        (CONTRACT_EID[:-1] + "1", "check_character", "should be 0, got 1", "校验位应为0，实际为1"),
        (CONTRACT_EID + "0", "check_character", "should be 0, got 00", "实际为00"),
    ],
)
def test_parse_elicence_id_defects(text: str, code: str, en: str, zh: str) -> None:
    err = field_error(parse_elicence_id, text)
    assert (err.code, err.field) == (code, "elicence_id")
    assert en in err.message, err.message
    assert zh in err.message_zh, err.message_zh


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"type_code": "1" * 20}, "type_code", "type_code_length"),
        ({"issuer_uscc": USCC[:-1] + "0"}, "issuer_uscc", "issuer_uscc_check_digit"),
        ({"serial": ""}, "serial", "serial_length"),
        ({"version": 0}, "version", "version_out_of_range"),
        ({"version": 1000}, "version", "version_out_of_range"),
    ],
)
def test_elicence_id_build_defects(change: dict[str, object], field: str, code: str) -> None:
    kwargs: dict[str, object] = {
        "type_code": TYPE_CODE,
        "issuer_uscc": USCC,
        "serial": "1",
        "version": 1,
        **change,
    }
    err = field_error(elicence_id, **kwargs)
    assert (err.code, err.field) == (code, field)
