"""A batch with a zip of the holders' photos (issue 15 point 1): each row's photo found by
application number or identity number, normalised when the batch is opened, stored with
the batch until the row is issued, then the certificate's (bound into its credential,
attached to its PDF). Missing, bad and doubled photos are row errors naming the files,
identity numbers masked; an unsafe zip is refused whole; a resumed batch needs no zip.

Every test runs on SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from credential import mask_id, parse_jws, photo_digest
from issuer import batches
from issuer.batches.reading import BatchFileError
from issuer.db import tables
from issuer.issuance import open_credential
from issuer.photos import normalise_photo
from tests.factory import APPLICANTS_CSV
from tests.factory.issuer import (
    IssuerHarness,
    full_id_numbers,
    poll_batch,
)
from tests.factory.photos import photo_zip, synthetic_photo, zip_bomb

MAX_TOTAL = 1 << 30


def _people(n: int, start: int = 0) -> tuple[bytes, list[list[str]]]:
    """Return a CSV of ``n`` rows of the shared applicants and the rows."""
    lines = list(csv.reader(io.StringIO(APPLICANTS_CSV.read_text(encoding="utf-8"))))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(lines[0])
    rows = lines[1 + start : 1 + start + n]
    w.writerows(rows)
    return out.getvalue().encode("utf-8"), rows


def _post(env: IssuerHarness, data: bytes, photos: bytes | None, **headers: str):
    h = {"Authorization": env.headers()["Authorization"], **headers}
    files = {"file": ("round.csv", data)}
    if photos is not None:
        files["photos"] = ("photos.zip", photos)
    return env.client.post("/api/v1/batches", files=files, headers=h)


def _stored(env: IssuerHarness) -> dict[str, bytes]:
    """Return the stored photos by certificate number."""
    c, p = tables.CERTIFICATE.c, tables.CERTIFICATE_PHOTO.c
    with env.engine.connect() as conn:
        got = conn.execute(
            sa.select(c.certificate_number, p.jpeg).join(
                tables.CERTIFICATE_PHOTO, p.certificate_id == c.id
            )
        ).all()
    return {n: bytes(j) for n, j in got}


def _count(env: IssuerHarness, table: sa.Table) -> int:
    with env.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_a_batch_with_photos_binds_stores_and_attaches_each_rows_photo(
    issuer_env: IssuerHarness,
) -> None:
    data, rows = _people(4)
    sent = {
        f"{rows[0][0]}.jpg": synthetic_photo(1),  # by application number
        f"2026/第一批/{rows[1][5]}.JPG": synthetic_photo(2),  # by identity number, in folders
        f"{rows[2][0].upper()}.Png": synthetic_photo(3, fmt="PNG"),  # case ignored; PNG
        f"{rows[3][0]}.jpeg": synthetic_photo(4),
    }
    extra = {"readme.txt": b"photos of round one", "2026/": b""}  # not photos: ignored
    r = _post(issuer_env, data, photo_zip({**sent, **extra}))
    assert r.status_code == 202, r.text
    assert (r.json()["valid_rows"], r.json()["error_rows"]) == (4, 0)
    assert poll_batch(issuer_env, r.json()["id"])["state"] == "done"

    stored = _stored(issuer_env)
    assert len(stored) == 4
    assert sorted(stored.values()) == sorted(normalise_photo(d).jpeg for d in sent.values())
    assert _count(issuer_env, tables.BATCH_PHOTO) == 0  # moved to the certificates
    for number, jpeg in stored.items():
        with Session(issuer_env.engine) as s:
            row = s.execute(
                sa.select(tables.CERTIFICATE.c.credential_jws).where(
                    tables.CERTIFICATE.c.certificate_number == number
                )
            ).scalar_one()
            jws = open_credential(issuer_env.settings, row, certificate_number=number)
        subject = parse_jws(jws).payload["credentialSubject"]
        assert subject["photo"]["digestSRI"] == photo_digest(jpeg)
    number = sorted(stored)[0]
    pdf = issuer_env.client.get(f"/api/v1/certificates/{number}/pdf", headers=issuer_env.headers())
    assert pdf.status_code == 200, pdf.text
    attached = pypdf.PdfReader(io.BytesIO(pdf.content)).attachments["photo.jpg"][0]
    assert attached == stored[number]


def test_missing_bad_and_doubled_photos_are_row_errors_naming_the_files_masked(
    issuer_env: IssuerHarness,
) -> None:
    data, rows = _people(5, start=10)
    ids = [r[5] for r in rows]
    sent = {
        f"{rows[0][0]}.jpg": synthetic_photo(11),  # good
        # rows[1]: none
        f"{ids[2]}.jpg": synthetic_photo(13, size=(800, 600)),  # landscape
        f"{rows[3][0]}.jpg": synthetic_photo(14),  # two for one row
        f"{ids[3]}.png": synthetic_photo(14, fmt="PNG"),
        f"{rows[4][0]}.jpg": b"GIF89a not a photo",
    }
    r = _post(issuer_env, data, photo_zip(sent), **{"Accept-Language": "en"})
    assert r.status_code == 202, r.text
    got = r.json()
    assert (got["valid_rows"], got["error_rows"]) == (1, 4)
    assert poll_batch(issuer_env, got["id"])["issued_rows"] == 1
    report = issuer_env.client.get(
        f"/api/v1/batches/{got['id']}/errors.csv?lang=en", headers=issuer_env.headers()
    ).content.decode("utf-8-sig")
    zh = issuer_env.client.get(
        f"/api/v1/batches/{got['id']}/errors.csv", headers=issuer_env.headers()
    ).content.decode("utf-8-sig")
    lines = {int(x[0]): x for x in list(csv.reader(io.StringIO(report)))[1:]}
    assert f"looked for {rows[1][0]}.jpg/.jpeg/.png, {mask_id(ids[1])}.jpg" in lines[3][4]
    assert f"{mask_id(ids[2])}.jpg: the photo's width to height" in lines[4][4]
    assert f"{rows[3][0]}.jpg, {mask_id(ids[3])}.png" in lines[5][4]
    assert "not a JPEG or PNG" in lines[6][4] and f"{rows[4][0]}.jpg" in lines[6][4]
    assert lines[3][3] == "photo"
    assert "压缩包内没有该行的照片" in zh and "宽高比" in zh
    assert full_id_numbers(report + zh) == []  # every identity number masked
    assert _count(issuer_env, tables.BATCH_PHOTO) == 0 and len(_stored(issuer_env)) == 1


@pytest.mark.parametrize(
    ("zipped", "code"),
    [
        (lambda: zip_bomb("req-0000000.jpg"), "inflates more than"),
        (lambda: photo_zip({"../req-0000000.jpg": synthetic_photo(1)}), "outside its own"),
        (lambda: photo_zip({"/etc/req-0000000.jpg": synthetic_photo(1)}), "outside its own"),
        (lambda: b"this is not a zip", "not a zip archive"),
    ],
)
def test_an_unsafe_zip_is_refused_whole_and_nothing_is_kept(
    issuer_env: IssuerHarness, zipped, code: str
) -> None:
    data, _ = _people(2)
    r = _post(issuer_env, data, zipped(), **{"Accept-Language": "en"})
    assert r.status_code == 422, r.text
    assert code in r.json()["detail"] and "zip of photos" in r.json()["title"]
    assert _count(issuer_env, tables.BATCH) == 0


def test_a_bombs_entry_inside_an_ordinary_zip_is_never_inflated() -> None:
    # declared far past the 2 MiB rule: the row's error, read from the header alone
    bomb = zip_bomb("req-0000000.jpg", size=3 * 1024 * 1024)
    with zipfile.ZipFile(io.BytesIO(bomb)) as zf:
        assert zf.infolist()[0].file_size == 3 * 1024 * 1024
    with pytest.raises(BatchFileError) as exc:
        batches.open_photo_zip(bomb, max_total=MAX_TOTAL)
    assert exc.value.code == "photos_zip_bomb"
    with pytest.raises(BatchFileError) as exc:
        batches.open_photo_zip(photo_zip({"a.jpg": b"x" * 5000}), max_total=1000)
    assert exc.value.code == "photos_too_large"


def test_a_resumed_batch_uses_the_photos_stored_when_it_was_opened(
    issuer_env: IssuerHarness,
) -> None:
    engine, settings = issuer_env.engine, issuer_env.settings
    data, rows = _people(3, start=20)
    zipped = batches.open_photo_zip(
        photo_zip({f"{r[0]}.jpg": synthetic_photo(20 + k) for k, r in enumerate(rows)}),
        max_total=MAX_TOTAL,
    )
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s:
        first = batches.open_batch(
            s, data=data, filename="r.csv", settings=settings, actor="t", now=now, photos=zipped
        )
    assert first.batch.with_photos and _count(issuer_env, tables.BATCH_PHOTO) == 3
    # stopped before issuing (a crash, a restart): the same file again, without the zip
    with Session(engine) as s:
        again = batches.open_batch(
            s, data=data, filename="r.csv", settings=settings, actor="t", now=now
        )
    assert again.resumed and all(r.photo_digest for r in again.rows)
    done = batches.run_batch(
        engine,
        batch_id=again.batch.id,
        rows=again.rows,
        signer=issuer_env.signer,
        settings=settings,
        actor="t",
        now_fn=lambda: dt.datetime.now(dt.UTC),
        workers=1,
    )
    assert done.issued_rows == 3
    stored = _stored(issuer_env)
    assert len(stored) == 3 and _count(issuer_env, tables.BATCH_PHOTO) == 0
    digests = {r.photo_digest for r in again.rows}
    assert {photo_digest(j) for j in stored.values()} == digests
    # a zip sent later with the file of a batch made without one is refused, not ignored
    plain, _ = _people(1, start=30)
    with Session(engine) as s:
        batches.open_batch(s, data=plain, filename="p.csv", settings=settings, actor="t", now=now)
        with pytest.raises(BatchFileError) as exc:
            batches.open_batch(
                s,
                data=plain,
                filename="p.csv",
                settings=settings,
                actor="t",
                now=now,
                photos=zipped,
            )
    assert exc.value.code == "photos_after_start"
    zipped.close()


def test_an_office_requiring_photos_refuses_a_batch_without_its_zip(
    issuer_env: IssuerHarness,
) -> None:
    settings = issuer_env.settings.model_copy(update={"photo_required": True})
    data, _ = _people(1, start=40)
    with Session(issuer_env.engine) as s, pytest.raises(BatchFileError) as exc:
        batches.open_batch(
            s,
            data=data,
            filename="r.csv",
            settings=settings,
            actor="t",
            now=dt.datetime.now(dt.UTC),
        )
    assert exc.value.code == "photos_required" and "照片压缩包" in exc.value.message_zh
    assert _count(issuer_env, tables.BATCH) == 0


def test_the_command_line_takes_the_zip(tmp_path: Path, database_url: str) -> None:
    from issuer.db.engine import make_engine
    from tests.factory.issuer import batch_cli_env
    from tests.issuer.cli.test_batch import _run

    env = batch_cli_env(tmp_path, database_url)
    data, rows = _people(3, start=50)
    (tmp_path / "round.csv").write_bytes(data)
    zipped = photo_zip({f"{r[5]}.jpg": synthetic_photo(50 + k) for k, r in enumerate(rows[:2])})
    (tmp_path / "photos.zip").write_bytes(zipped)
    done = _run(env, str(tmp_path / "round.csv"), "--photos", str(tmp_path / "photos.zip"))
    assert done.returncode == 0, done.stderr
    assert "3 rows, 2 valid, 1 with errors" in done.stdout
    report = (tmp_path / "round.errors.csv").read_bytes().decode("utf-8-sig")
    assert mask_id(rows[2][5]) in report and full_id_numbers(report + done.stdout) == []
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            shas = conn.execute(sa.select(tables.CERTIFICATE_PHOTO.c.sha256)).scalars().all()
    finally:
        engine.dispose()
    expected = {
        hashlib.sha256(normalise_photo(synthetic_photo(50 + k)).jpeg).hexdigest() for k in range(2)
    }
    assert set(shas) == expected


def _console_upload(env: IssuerHarness, data: bytes, photos: bytes, lang: str = ""):
    from tests.issuer.console.test_batches import ORIGIN, _csrf, _signed_in

    _signed_in(env, "cp", "clerk")
    page = env.client.get("/office/batches" + lang)
    assert page.status_code == 200 and 'name="photos"' in page.text
    return env.client.post(
        "/office/batches" + lang,
        data={"csrf": _csrf(page.text)},
        files={"file": ("round.csv", data), "photos": ("photos.zip", photos)},
        headers=ORIGIN,
        follow_redirects=False,
    )


def test_the_consoles_upload_form_takes_the_zip(issuer_env: IssuerHarness) -> None:
    data, rows = _people(2, start=60)
    zipped = photo_zip({f"{r[0]}.jpg": synthetic_photo(60 + k) for k, r in enumerate(rows)})
    r = _console_upload(issuer_env, data, zipped)
    assert r.status_code == 303, r.text[:500]
    batch_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    assert poll_batch(issuer_env, batch_id)["issued_rows"] == 2
    assert len(_stored(issuer_env)) == 2


@pytest.mark.parametrize(
    ("lang", "words"), [("", "照片压缩包"), ("?lang=en", "outside its own folders")]
)
def test_a_bad_zip_is_said_beside_the_photos_field_in_both_languages(
    issuer_env: IssuerHarness, lang: str, words: str
) -> None:
    data, _ = _people(1, start=70)
    r = _console_upload(issuer_env, data, photo_zip({"../x.jpg": synthetic_photo(1)}), lang)
    assert r.status_code == 422, r.text[:500]
    error = re.search(r'<p class="field-error" id="batch-photos-error">([^<]*)</p>', r.text)
    assert error and words in error[1], r.text[:2000]
    assert 'id="batch-file-error"' not in r.text
    assert _count(issuer_env, tables.BATCH) == 0


def test_a_failed_batch_resumes_without_the_zip_keeping_its_photo_errors(
    issuer_env: IssuerHarness,
) -> None:
    engine, settings = issuer_env.engine, issuer_env.settings
    data, rows = _people(4, start=80)
    # rows 2-4 have photos, row 5 (the fourth) has none: a row error
    zipped = batches.open_photo_zip(
        photo_zip({f"{r[0]}.jpg": synthetic_photo(80 + k) for k, r in enumerate(rows[:3])}),
        max_total=MAX_TOTAL,
    )
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s:
        first = batches.open_batch(
            s, data=data, filename="r.csv", settings=settings, actor="t", now=now, photos=zipped
        )
    zipped.close()
    assert (first.batch.valid_rows, first.batch.error_rows) == (3, 1)

    def stop_after_one(issued: int, valid: int) -> None:
        if issued == 1:
            raise KeyboardInterrupt  # the clerk's Ctrl-C after the first row

    with pytest.raises(KeyboardInterrupt):
        batches.run_batch(
            engine,
            batch_id=first.batch.id,
            rows=first.rows,
            signer=issuer_env.signer,
            settings=settings,
            actor="t",
            now_fn=lambda: dt.datetime.now(dt.UTC),
            chunk=1,
            workers=1,
            progress=stop_after_one,
        )
    assert _count(issuer_env, tables.BATCH_PHOTO) == 2 and len(_stored(issuer_env)) == 1
    with Session(engine) as s:  # the same file again, no zip: how a failed batch resumes
        again = batches.open_batch(
            s, data=data, filename="r.csv", settings=settings, actor="t", now=now
        )
    assert again.resumed and again.batch.state == batches.ISSUING
    assert (again.batch.valid_rows, again.batch.error_rows) == (3, 1)
    assert [e.code for e in batches.batch_errors(again.batch)] == ["photo_missing"]
    done = batches.run_batch(
        engine,
        batch_id=again.batch.id,
        rows=again.rows,
        signer=issuer_env.signer,
        settings=settings,
        actor="t",
        now_fn=lambda: dt.datetime.now(dt.UTC),
        workers=1,
    )
    assert done.state == batches.DONE and done.issued_rows == 3
    assert len(_stored(issuer_env)) == 3 and _count(issuer_env, tables.BATCH_PHOTO) == 0
