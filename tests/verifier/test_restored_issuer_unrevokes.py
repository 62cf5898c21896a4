"""The defect "restored issuer un-revokes": an issuer restored from a backup taken before a
revocation signs its list with a newer iat and the entry back at VALID. INVALID is final
(contract section 5): the verifier refuses such a list and keeps the held one.

Every test with the harness runs on SQLite and on PostgreSQL (``database_url``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from credential import StatusList, StatusValue, qr_url
from tests.factory import VERIFIER_URL
from tests.factory.verifier import Harness, make_harness
from verifier.documents import load_document, load_state
from verifier.sync import cleared_invalid


@pytest.fixture
def harness(database_url: str, tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(database_url, tmp_path)


def _list(values: dict[int, int], size: int = 64, bits: int = 2) -> StatusList:
    lst = StatusList(size, bits=bits)
    for i, v in values.items():
        lst.set(i, v)
    return lst


def test_cleared_invalid_counts_only_invalid_entries_that_leave_invalid() -> None:
    held = _list({3: 1, 4: 1, 5: 2, 9: 1, 63: 1})
    assert cleared_invalid(held, held) == 0
    # newly revoked, suspended, reinstated entries are the issuer's to change
    assert cleared_invalid(held, _list({3: 1, 4: 1, 5: 0, 6: 1, 9: 1, 63: 1})) == 0
    # 3 back to VALID, 4 to SUSPENDED, 63 to VALID: three un-revoked
    assert cleared_invalid(held, _list({9: 1, 4: 2, 5: 2})) == 3
    # a shorter list loses the entries past its end
    assert cleared_invalid(held, _list({3: 1, 4: 1, 9: 1}, size=32)) == 1
    # another width: compared entry by entry
    assert cleared_invalid(held, _list({3: 1, 4: 1, 9: 1}, bits=4)) == 1
    one_bit = _list({0: 1, 7: 1}, size=16, bits=1)
    assert cleared_invalid(one_bit, _list({7: 1}, size=16, bits=1)) == 1


def test_restored_issuer_unrevokes_is_refused_and_the_held_list_kept(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    uri = h.world.status_uri
    h.verifier.syncer.run_once(extra_status=[uri])
    token = h.world.issue(idx=31).qr_token
    h.world.status.set(31, StatusValue.INVALID)  # revoked after the issuer's backup
    h.clock.advance(60)
    h.sync()
    revoked = h.verify(qr=qr_url(VERIFIER_URL, token))
    assert (revoked["verdict"], revoked["reason"]) == ("not_valid", "revoked")
    held_iat = h.verifier.store.current().status[uri].issued_at

    # The issuer is restored from the backup: entry 31 is VALID again, with a newer iat.
    h.world.status.set(31, StatusValue.VALID)
    h.clock.advance(60)
    with caplog.at_level(logging.WARNING, logger="jiaozi.verifier.sync"):
        report = h.verifier.syncer.sync_status(uri)
    (o,) = report.outcomes
    assert o.outcome == "refused"
    assert "un-revokes: 1 entry" in o.detail and "INVALID is final" in o.detail
    assert any(uri in r.getMessage() and "1 entry" in r.getMessage() for r in caplog.records)
    assert h.verifier.store.current().status[uri].issued_at == held_iat
    with h.verifier.engine.connect() as conn:
        state = load_state(conn, "status:" + uri)
    assert state is not None and "un-revokes" in state.last_error
    still = h.verify(qr=qr_url(VERIFIER_URL, token))
    assert (still["verdict"], still["reason"]) == ("not_valid", "revoked")

    # Once the issuer has reconciled (31 INVALID again, anything else may change), the
    # newer list is taken and the source is healthy again.
    h.world.status.set(31, StatusValue.INVALID)
    h.world.status.set(40, StatusValue.SUSPENDED)
    h.clock.advance(60)
    (o,) = h.verifier.syncer.sync_status(uri).outcomes
    assert o.outcome == "updated", o.detail
    assert h.verifier.store.current().status[uri].issued_at > held_iat
    with h.verifier.engine.connect() as conn:
        assert load_state(conn, "status:" + uri).last_error is None
    after = h.verify(qr=qr_url(VERIFIER_URL, token))
    assert (after["verdict"], after["reason"]) == ("not_valid", "revoked")


def test_restored_issuer_unrevokes_through_a_bundle_is_refused_too(harness: Harness) -> None:
    from verifier.bundle import export_bundle, import_bundle, read_bundle

    h = harness
    uri = h.world.status_uri
    h.world.status.set(31, StatusValue.INVALID)
    h.verifier.syncer.run_once(extra_status=[uri])
    held_iat = h.verifier.store.current().status[uri].issued_at
    doc = export_bundle(h.verifier.engine, h.clock())
    # the same bundle, carrying the restored issuer's list: newer, entry 31 VALID again
    h.world.status.set(31, StatusValue.VALID)
    (item,) = doc["status_lists"]
    item["token"] = h.world.status_token(iat=held_iat + 60)
    roots = [h.world.root.public_key()]
    bundle = read_bundle(doc, roots)
    done = dict(import_bundle(h.verifier.engine, bundle, h.verifier.store.current(), h.clock()))
    assert done["status " + uri] == "refused: un-revokes 1 held INVALID"
    with h.verifier.engine.connect() as conn:
        assert load_document(conn, "status", uri).version == held_iat
