"""A batch certificate's audit detail is written without a dict walk: same canonical text."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from credential import canonical_json
from issuer.batches.signing import _detail_json

_text = st.text(
    st.characters(blacklist_categories=("Cs",)),  # lone surrogates have no JSON form
    max_size=40,
)


@given(
    number=_text,
    elicence_id=_text,
    status_list=_text,
    kid=_text,
    status_idx=st.integers(0, 2**31),
    batch_row=st.integers(2, 10**7),
    photo=st.booleans(),
)
def test_detail_json_is_canonical_json_of_the_detail(
    number: str,
    elicence_id: str,
    status_list: str,
    kid: str,
    status_idx: int,
    batch_row: int,
    photo: bool,
) -> None:
    cred = hashlib.sha256(number.encode()).hexdigest()
    qr = hashlib.sha256(kid.encode()).hexdigest()
    detail = {
        "certificate_number": number,
        "version": 1,
        "elicence_id": elicence_id,
        "status_list": status_list,
        "status_idx": status_idx,
        "kid": kid,
        "credential_sha256": cred,
        "qr_sha256": qr,
        "batch_row": batch_row,
    }
    photo_sha256 = hashlib.sha256(status_list.encode()).hexdigest() if photo else None
    if photo_sha256 is not None:  # a row issued with the holder's photo
        detail["photo_sha256"] = photo_sha256
    got = _detail_json(
        number=number,
        elicence_id=elicence_id,
        status_list=status_list,
        status_idx=status_idx,
        kid=kid,
        credential_sha256=cred,
        qr_sha256=qr,
        batch_row=batch_row,
        photo_sha256=photo_sha256,
    )
    assert got == canonical_json(detail).decode("utf-8")


@given(n=st.integers(0, 5000), chunk=st.integers(1, 1200), tapered=st.booleans())
def test_chunk_bounds_cover_every_row_once(n: int, chunk: int, tapered: bool) -> None:
    from issuer.batches.run import _chunk_bounds

    bounds = _chunk_bounds(n, chunk, tapered=tapered)
    assert [i for s, e in bounds for i in range(s, e)] == list(range(n))
    assert all(0 < e - s <= chunk for s, e in bounds)
    if not tapered:
        assert all(e - s == chunk for s, e in bounds[:-1])


def test_chunk_bounds_taper_the_last_chunk_with_a_pool() -> None:
    from issuer.batches.run import _chunk_bounds

    sizes = [e - s for s, e in _chunk_bounds(10_000, 1000, tapered=True)]
    assert sizes == [1000] * 9 + [500, 250, 125, 125]
