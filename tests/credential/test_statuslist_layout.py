"""The packed layout of a status list (credential._statuslist): entries LSB first, each
width in place, values and indices in range, and any list round-trips through its JSON form."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credential._errors import StatusListError
from credential._statuslist import MIN_LIST_SIZE, StatusList, StatusValue

# --- layout ------------------------------------------------------------------------------


def test_lsb_first_two_bits() -> None:
    lst = StatusList(4, bits=2)
    for i, value in enumerate([1, 2, 0, 3]):
        lst.set(i, value)
    assert lst.to_bytes() == bytes([0b11_00_10_01]) == b"\xc9"


@pytest.mark.parametrize(
    ("bits", "size", "index", "value", "expected"),
    [
        (1, 8, 0, 1, b"\x01"),
        (1, 8, 7, 1, b"\x80"),
        (1, 16, 8, 1, b"\x00\x01"),
        (2, 4, 3, 3, b"\xc0"),
        (4, 2, 0, 0xA, b"\x0a"),
        (4, 2, 1, 0xA, b"\xa0"),
        (8, 2, 1, 0xFE, b"\x00\xfe"),
    ],
)
def test_single_entry_position(
    bits: int, size: int, index: int, value: int, expected: bytes
) -> None:
    lst = StatusList(size, bits)
    lst.set(index, value)
    assert lst.to_bytes() == expected
    assert lst.get(index) == value


def test_set_overwrites_without_touching_neighbours() -> None:
    lst = StatusList(4, bits=2)
    for i in range(4):
        lst.set(i, 3)
    lst.set(1, 0)
    assert lst.to_bytes() == bytes([0b11_11_00_11])
    lst.set(1, StatusValue.SUSPENDED)
    assert [lst.get(i) for i in range(4)] == [3, 2, 3, 3]


def test_new_list_is_all_valid_and_padded() -> None:
    lst = StatusList(5, bits=2)
    assert len(lst) == 5
    assert lst.to_bytes() == b"\x00\x00"
    assert all(lst.get(i) == StatusValue.VALID for i in range(5))


def test_status_values() -> None:
    assert [int(v) for v in StatusValue] == [0, 1, 2, 3]
    assert [v.name for v in StatusValue] == ["VALID", "INVALID", "SUSPENDED", "RESERVED"]
    assert MIN_LIST_SIZE == 131072


def test_from_bytes_size_is_implied_by_length() -> None:
    lst = StatusList.from_bytes(b"\x00\x00\x00", 2)
    assert len(lst) == 12
    with pytest.raises(StatusListError):
        StatusList.from_bytes(b"", 1)
    with pytest.raises(StatusListError):
        StatusList.from_bytes(b"\x00", 3)


@pytest.mark.parametrize("bits", [0, 3, 5, 16, -1, True, "2", 2.0, None])
def test_constructor_refuses_bad_bits(bits: Any) -> None:
    with pytest.raises(StatusListError, match="bits"):
        StatusList(16, bits)


@pytest.mark.parametrize("size", [0, -1, True, 1.5, "8"])
def test_constructor_refuses_bad_size(size: Any) -> None:
    with pytest.raises(StatusListError, match="size"):
        StatusList(size, 2)


@pytest.mark.parametrize("index", [-1, 16, 1 << 40, True, 1.0, "0"])
def test_get_and_set_refuse_bad_index(index: Any) -> None:
    lst = StatusList(16, bits=2)
    with pytest.raises(StatusListError, match="index"):
        lst.get(index)
    with pytest.raises(StatusListError, match="index"):
        lst.set(index, 1)
    assert lst.to_bytes() == bytes(4)


@pytest.mark.parametrize(("bits", "value"), [(1, 2), (2, 4), (4, 16), (8, 256), (2, -1)])
def test_set_refuses_out_of_range_value(bits: int, value: int) -> None:
    lst = StatusList(8, bits)
    with pytest.raises(StatusListError, match="status"):
        lst.set(0, value)
    assert lst.get(0) == 0


@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_set_refuses_non_int_value(value: Any) -> None:
    lst = StatusList(8, bits=2)
    with pytest.raises(StatusListError):
        lst.set(0, value)
    assert lst.get(0) == 0


# --- round trip ----------------------------------------------------------------------------


@st.composite
def _lists(draw: st.DrawFn) -> tuple[int, list[int]]:
    bits = draw(st.sampled_from([1, 2, 4, 8]))
    values = draw(st.lists(st.integers(0, (1 << bits) - 1), min_size=1, max_size=600))
    return bits, values


@settings(max_examples=200, deadline=None)
@given(_lists())
def test_round_trip(case: tuple[int, list[int]]) -> None:
    bits, values = case
    lst = StatusList(len(values), bits)
    for i, value in enumerate(values):
        lst.set(i, value)
    encoded = lst.encode()
    assert set(encoded) == {"bits", "lst"}
    assert "=" not in encoded["lst"]
    decoded = StatusList.decode(encoded)
    assert decoded.to_bytes() == lst.to_bytes()
    # The size travels as a byte count: the decoded list covers whole bytes.
    per_byte = 8 // bits
    assert len(decoded) == -(-len(values) // per_byte) * per_byte
    assert [decoded.get(i) for i in range(len(values))] == values
    assert all(decoded.get(i) == 0 for i in range(len(values), len(decoded)))
    if len(values) % per_byte == 0:
        assert decoded == lst
