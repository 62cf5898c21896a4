"""The one way to make bytes to sign: known answers from RFC 8785 and a cross-check."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from credential import (
    MalformedError,
    b64url_decode,
    b64url_encode,
    canonical_json,
    strict_json_loads,
)


def test_rfc8785_3_2_2_2_string_escaping_known_answer() -> None:
    # RFC 8785 section 3.2.2.2: the serialised form of a string with controls and escapes.
    value = json.loads(r'"\u20ac$\u000F\u000aA\u0027\u0042\u0022\u005c\\\"\/"')
    assert canonical_json(value) == '"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"'.encode()


def test_rfc8785_3_2_3_sorting_known_answer_bmp_keys() -> None:
    # RFC 8785 section 3.2.3, without the one key outside the BMP (refused here, see below).
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonical_json(value) == expected
    assert canonical_json(value) == rfc8785.dumps(value)


def test_key_outside_bmp_refused_rather_than_sorted_wrongly() -> None:
    with pytest.raises(MalformedError, match="Basic Multilingual Plane"):
        canonical_json({"\U0001f600": "Emoji: Grinning Face"})


@pytest.mark.parametrize("bad", [1.5, float("nan"), {"a": 2**53}, {1: "x"}, "\ud800", object()])
def test_values_without_a_canonical_form_are_refused(bad: object) -> None:
    with pytest.raises(MalformedError):
        canonical_json(bad)


def test_cjk_stays_utf8_not_escaped() -> None:
    assert canonical_json({"n": "张三"}) == '{"n":"张三"}'.encode()


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"])),
            kids,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_matches_reference_jcs_and_round_trips(value: object) -> None:
    try:
        ours = canonical_json(value)
    except MalformedError:
        # only lone surrogates in generated text are refused
        assert "\\ud" in json.dumps(value).lower()
        return
    assert ours == rfc8785.dumps(value)
    assert strict_json_loads(ours) == value


@pytest.mark.parametrize(
    "text",
    ['{"a":1,"a":2}', '{"a":{"b":1,"b":1}}', '{"a":1.0}', '{"a":NaN}', '{"a":Infinity}', "\xff"],
    ids=["duplicate-key", "nested-duplicate", "float", "nan", "infinity", "bad-utf8"],
)
def test_strict_reader_refuses(text: str) -> None:
    data = text.encode("latin-1") if text == "\xff" else text.encode()
    with pytest.raises(MalformedError):
        strict_json_loads(data)


@given(st.binary(max_size=100))
def test_b64url_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize(
    "text",
    ["QQ==", "QR", "Q", "a+b/", "ab cd", "QUJD\n", "QUJ=", "QUJ", "QUJDRA"[:-1] + "B"],
    ids=[
        "padding",
        "non-canonical-2",
        "impossible-length",
        "std-alphabet",
        "space",
        "newline",
        "inner-padding",
        "non-canonical-3",
        "non-canonical-last",
    ],
)
def test_b64url_refuses_every_second_spelling(text: str) -> None:
    with pytest.raises(MalformedError):
        b64url_decode(text)
