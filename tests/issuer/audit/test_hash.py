"""The audit chain's hash: put together from canonical parts, equal to hashing the
canonical JSON of the whole record (how the chain was defined and first written)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from credential import canonical_json
from issuer.audit.chain import GENESIS_HASH, chain_hashes, record_hash


def _reference(
    *, seq: int, at: dt.datetime, actor: str, action: str, subject: str, detail: Any, prev: str
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
            "prev_hash": prev,
        }
    )
    return hashlib.sha256(prev.encode("ascii") + body).hexdigest()


_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
_keys = st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]))
_details = st.dictionaries(
    _keys, st.none() | st.booleans() | st.integers(0, 2**53 - 1) | _text, max_size=5
)


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(1, 2**53 - 10),
    actor=_text,
    action=_text,
    subjects=st.lists(_text, min_size=1, max_size=4),
    detail=_details,
    micro=st.integers(0, 999_999),
)
def test_chain_equals_hashing_the_canonical_record(
    seq: int, actor: str, action: str, subjects: list[str], detail: Any, micro: int
) -> None:
    at = dt.datetime(2026, 11, 29, 3, 4, 5, micro, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    records = [(s, canonical_json(detail).decode("utf-8")) for s in subjects]
    chained = chain_hashes(
        first_seq=seq, at=at, actor=actor, action=action, records=records, prev_hash=GENESIS_HASH
    )
    prev = GENESIS_HASH
    for k, ((subject, _), (got_seq, got_prev, got_hash)) in enumerate(
        zip(records, chained, strict=True)
    ):
        want = _reference(
            seq=seq + k,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            detail=detail,
            prev=prev,
        )
        assert (got_seq, got_prev, got_hash) == (seq + k, prev, want)
        assert got_hash == record_hash(
            seq=seq + k,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            detail=detail,
            prev_hash=prev,
        )
        prev = want


def test_known_answer_for_an_issued_record() -> None:
    # A record as the batch writes it; the value was computed before the chain was put
    # together from parts (sha256 of the previous hash and the whole canonical record).
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    detail = {"certificate_number": "20261100172000005", "version": 1, "名": "张三"}
    got = record_hash(
        seq=7,
        at=at,
        actor="clerk",
        action="certificate.issued",
        subject="20261100172000005",
        detail=detail,
        prev_hash=GENESIS_HASH,
    )
    assert got == _KNOWN


_KNOWN = "6ecffe3a0a967e7712177ceed46ac0902dbc39f5cbe3d8391df3f260b4386be3"


def test_a_sequence_number_past_the_safe_integer_range_is_refused_as_canonical_json_does() -> None:
    """The chain's JSON holds only I-JSON numbers: the last record of a run past 2**53 - 1
    is refused (MalformedError), not hashed in a form no other implementation reads alike."""
    import pytest

    from credential import MalformedError

    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    kw: dict[str, Any] = {"at": at, "actor": "a", "action": "x", "prev_hash": GENESIS_HASH}
    ok = chain_hashes(first_seq=2**53 - 2, records=[("s", "{}")] * 2, **kw)
    assert [seq for seq, _, _ in ok] == [2**53 - 2, 2**53 - 1]
    with pytest.raises(MalformedError):
        chain_hashes(first_seq=2**53 - 2, records=[("s", "{}")] * 3, **kw)
    with pytest.raises(MalformedError):
        chain_hashes(first_seq=-(2**53), records=[("s", "{}")], **kw)
