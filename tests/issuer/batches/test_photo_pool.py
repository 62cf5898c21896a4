"""A batch's photos normalised in a pool of processes: the same photos, digests and row
errors as normalised in the batch's own process, the zip read as the pool goes."""

from __future__ import annotations

import io
import zipfile

import pytest

from issuer.batches import open_photo_zip
from issuer.batches import photos as batch_photos
from issuer.batches.reading import read_batch
from tests.factory.photos import jpeg_with_gps, photo_zip, synthetic_photo
from tests.issuer.batches.test_photos import MAX_TOTAL, _people


def _zip(ids: list[str]) -> bytes:
    files = {f"{ids[0]}.jpg": jpeg_with_gps(60, orientation=6, size=(2448, 3264))}
    files |= {f"{i}.jpg": synthetic_photo(60 + k) for k, i in enumerate(ids[1:5], 1)}
    files[f"{ids[5]}.jpg"] = synthetic_photo(66, size=(800, 600))  # landscape: refused
    files[f"{ids[6]}.jpg"] = synthetic_photo(67)  # damaged below
    data = bytearray(photo_zip(files, compression=zipfile.ZIP_STORED))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(f"{ids[6]}.jpg")
    at = info.header_offset + 30 + len(info.filename) + 200
    data[at] ^= 0xFF  # the stored bytes no longer match their CRC
    return bytes(data)  # ids[7]: no photo


Matched = tuple[list[tuple[int, str | None]], dict[int, bytes], list[tuple[int, str, str]]]


def test_a_pool_normalises_as_the_batch_process_does(monkeypatch: pytest.MonkeyPatch) -> None:
    data, _ = _people(8)
    rows = read_batch(data, filename="r.csv").rows
    ids = [r.request_id or "" for r in rows]
    zipped = _zip(ids)

    def match(workers: int) -> Matched:
        opened = open_photo_zip(zipped, max_total=MAX_TOTAL)
        try:
            keep, photos, errors = batch_photos.match_photos(
                rows, opened, column="photo", workers=workers
            )
        finally:
            opened.close()
        return (
            [(r.row_number, r.photo_digest) for r in keep],
            {n: p.jpeg for n, p in photos.items()},
            sorted((e.row_number, e.code, e.message_en) for e in errors),
        )

    here = match(1)
    # a pool even for these few photos (forked or spawned), two photos a task, at most
    # one task a worker read ahead
    monkeypatch.setattr(batch_photos, "_PARALLEL_MIN", 1)
    monkeypatch.setattr(batch_photos, "_SPAWN_MIN", 1)
    monkeypatch.setattr(batch_photos, "_CHUNK", 2)
    monkeypatch.setattr(batch_photos, "_IN_FLIGHT", 1)
    pooled = match(2)
    assert pooled == here
    kept, _, errors = here
    assert len(kept) == 5 and all(digest for _, digest in kept)
    assert [code for _, code, _ in errors] == [
        "photo_proportions",
        "photo_unreadable",
        "photo_missing",
    ]


def test_a_pool_is_started_for_much_work_not_for_little() -> None:
    pooled = batch_photos._pooled
    # from the command line (forked): 64 small photos, or a few camera ones
    assert not pooled(20, 20 * 12_000, fork=True) and pooled(64, 64 * 12_000, fork=True)
    assert pooled(8, 8 * 1_500_000, fork=True)
    # from a server's thread (spawned, a second or two to start): ~1,000 small photos, or
    # about 100 camera photos of a megabyte and a half
    assert not pooled(800, 800 * 12_000, fork=False) and pooled(1000, 10**7, fork=False)
    assert not pooled(50, 50 * 1_500_000, fork=False) and pooled(100, 150_000_000, fork=False)
