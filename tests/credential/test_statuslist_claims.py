"""The Status List Token claims (credential.status_list_claims, parse_status_list_claims):
their shape, their round trip, and every malformed claim refused."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from credential._errors import StatusListError
from credential._statuslist import (
    MIN_LIST_SIZE,
    ParsedStatusList,
    StatusList,
    StatusValue,
    parse_status_list_claims,
    status_list_claims,
)

# --- Status List Token claims ----------------------------------------------------------------

URI = "https://jiaozi.example/status/1"
IAT = 1_700_000_000
EXP = IAT + 86_400
TTL = 3_600


def _sample_list() -> StatusList:
    lst = StatusList(MIN_LIST_SIZE, bits=2)
    lst.set(0, StatusValue.INVALID)
    lst.set(99_999, StatusValue.SUSPENDED)
    lst.set(MIN_LIST_SIZE - 1, StatusValue.RESERVED)
    return lst


def test_status_list_claims_shape() -> None:
    lst = _sample_list()
    claims = status_list_claims(lst, uri=URI, iat=IAT, exp=EXP, ttl=TTL)
    assert claims == {
        "sub": URI,
        "iat": IAT,
        "exp": EXP,
        "ttl": TTL,
        "status_list": lst.encode(),
    }
    assert claims["status_list"]["bits"] == 2


def test_claims_round_trip() -> None:
    lst = _sample_list()
    parsed = parse_status_list_claims(
        status_list_claims(lst, uri=URI, iat=IAT, exp=EXP, ttl=TTL), expected_uri=URI
    )
    assert isinstance(parsed, ParsedStatusList)
    assert (parsed.uri, parsed.iat, parsed.exp, parsed.ttl) == (URI, IAT, EXP, TTL)
    assert parsed.status_list == lst
    assert parsed.status_list.get(99_999) == StatusValue.SUSPENDED
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.uri = "https://elsewhere.example/"  # type: ignore[misc]


def test_parse_without_ttl_gives_none() -> None:
    claims = status_list_claims(_sample_list(), uri=URI, iat=IAT, exp=EXP, ttl=TTL)
    del claims["ttl"]
    assert parse_status_list_claims(claims).ttl is None


def test_parse_refuses_other_uri() -> None:
    claims = status_list_claims(_sample_list(), uri=URI, iat=IAT, exp=EXP, ttl=TTL)
    with pytest.raises(StatusListError, match="expected"):
        parse_status_list_claims(claims, expected_uri=URI + "x")


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": URI,
        "iat": IAT,
        "exp": EXP,
        "ttl": TTL,
        "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"},
    }
    for key, value in changes.items():
        if value is _DROP:
            del claims[key]
        else:
            claims[key] = value
    return claims


_DROP = object()


@pytest.mark.parametrize(
    "claims",
    [
        _claims(sub=_DROP),
        _claims(iat=_DROP),
        _claims(exp=_DROP),
        _claims(status_list=_DROP),
        _claims(sub=""),
        _claims(sub=7),
        _claims(iat=True),
        _claims(iat="1700000000"),
        _claims(iat=float(IAT)),
        _claims(exp=False),
        _claims(exp=IAT),
        _claims(exp=IAT - 1),
        _claims(ttl=0),
        _claims(ttl=-60),
        _claims(ttl=True),
        _claims(ttl=None),
        _claims(ttl="3600"),
        _claims(status_list="eNrbuRgAAhcBXQ"),
        _claims(status_list={"bits": 1, "lst": "eNrbuRgAAhcBXR"}),
        _claims(status_list={"bits": 3, "lst": "eNrbuRgAAhcBXQ"}),
    ],
)
def test_parse_refuses_bad_claims(claims: dict[str, Any]) -> None:
    with pytest.raises(StatusListError):
        parse_status_list_claims(claims)


def test_parse_accepts_the_valid_base_claims() -> None:
    # The refusals above each change one field of this claim set.
    parsed = parse_status_list_claims(_claims())
    assert parsed.status_list.to_bytes() == b"\xb9\xa3"


@pytest.mark.parametrize("claims", [None, [], "claims"])
def test_parse_refuses_non_mapping(claims: Any) -> None:
    with pytest.raises(StatusListError, match="object"):
        parse_status_list_claims(claims)


def test_parse_passes_max_entries_to_decode() -> None:
    claims = _claims(status_list=StatusList(MIN_LIST_SIZE, bits=1).encode())
    assert len(parse_status_list_claims(claims).status_list) == MIN_LIST_SIZE
    with pytest.raises(StatusListError, match="more than"):
        parse_status_list_claims(claims, max_entries=MIN_LIST_SIZE // 2)


@pytest.mark.parametrize(
    "changes",
    [
        {"uri": ""},
        {"iat": True},
        {"exp": IAT},
        {"ttl": 0},
        {"ttl": False},
    ],
)
def test_status_list_claims_refuses_bad_values(changes: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"uri": URI, "iat": IAT, "exp": EXP, "ttl": TTL, **changes}
    with pytest.raises(StatusListError):
        status_list_claims(_sample_list(), **kwargs)
