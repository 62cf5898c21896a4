"""A batch's photos: a zip of the holders' photos sent beside the batch file (issue 15
point 1), each row's photo found by its file name, judged and normalised
(``issuer.photos``) when the batch is opened, and stored with the batch's rows
(``batch_photo``) until the row is issued, when it moves to ``certificate_photo``.

Names: ``<application number>`` (the file's ``request_id`` column) or ``<identity
number>``, then ``.jpg``, ``.jpeg`` or ``.png``; name and extension compared without
regard to case; folders inside the zip ignored (``2026/R-0001.JPG`` is ``R-0001.jpg``).
When a zip is given every row needs exactly one photo: none is a row error naming the
names looked for, two (``R-0001.jpg`` and ``R-0001.png``, or one by number and one by
identity number) a row error naming both, a bad one a row error naming the file and the
rule. Identity numbers are masked in every name shown (``110***********2469.jpg``).

The zip is read in memory, never extracted: its central directory is judged before
``zipfile`` reads it (entry count), then every entry's declared sizes (total
uncompressed size, compression ratio); an entry is read only up to the photo's own size
limit. A name with ``..`` or an absolute path is refused with the whole zip (a zip made
by hand to reach outside a folder is not a clerk's export).
"""

from __future__ import annotations

import base64
import io
import multiprocessing
import re
import struct
import threading
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from credential import mask_id
from issuer.batches.files import BatchFileError
from issuer.batches.rows import ApplicantRow, RowError
from issuer.batches.workers import follow_parent
from issuer.photos import MAX_BYTES, Photo, PhotoError, normalise_photo

__all__ = [
    "EXTENSIONS",
    "MAX_ENTRIES",
    "MAX_RATIO",
    "PhotoZip",
    "digests_of",
    "match_photos",
    "open_photo_zip",
    "photos_required_error",
]

EXTENSIONS = (".jpg", ".jpeg", ".png")
MAX_ENTRIES = 250_000  # a batch's 200,000 rows and room for a readme or a thumbnail folder
# JPEG and PNG hardly compress: an entry inflating more than 100 times is a zip bomb's
MAX_RATIO = 100
_RATIO_FLOOR = 64 * 1024  # tiny entries may compress well (a text file): not judged
# The work of normalising, in small photos' worth (~4 ms of one core each): a camera's
# JPEG costs ~30 ms a MB more (entropy decoding its every byte), 8 small photos' worth.
_PER_MB = 8
_PARALLEL_MIN = 64  # less work is done here faster than a pool forks
_SPAWN_MIN = 1000  # ... or than spawned interpreters start (a second or two)
_CHUNK = 16  # photos sent to a pool worker at once
_IN_FLIGHT = 3  # chunks a worker read from the zip and not yet normalised
_EOCD = b"PK\x05\x06"
_ID_RUN = re.compile(r"\d{17}[\dXx]|\d{15}")  # a resident identity number in a name


def _refused(code: str, en: str, zh: str) -> BatchFileError:
    return BatchFileError(code, en, zh)


def photos_required_error() -> BatchFileError:
    """The refusal of a batch without photos where the office requires them."""
    return _refused(
        "photos_required",
        "this office issues certificates only with the holder's photo: send the zip of"
        " photos with the batch file",
        "本机构签发证书须附持证人照片：请随批量文件一并上传照片压缩包",
    )


def _masked(name: str) -> str:
    """Return ``name`` with any identity number in it masked."""
    return _ID_RUN.sub(lambda m: mask_id(m.group(0)), name)


def _central_directory(data: bytes | BinaryIO) -> None:
    """Refuse a zip whose end record declares more than MAX_ENTRIES entries or a central
    directory larger than they need, before ``zipfile`` reads it into memory."""
    if isinstance(data, bytes):
        tail = data[-(65536 + 22) :]
    else:
        data.seek(0, io.SEEK_END)
        size = data.tell()
        data.seek(max(0, size - 65536 - 22))
        tail = data.read()
        data.seek(0)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise _refused(
            "photos_not_zip",
            "the photos file is not a zip archive",
            "照片文件不是zip压缩包",
        )
    entries, cd_size = struct.unpack("<xxxxxxxxxxHI", tail[at : at + 16])
    if entries > MAX_ENTRIES or cd_size > MAX_ENTRIES * 512:  # 0xFFFF.. marks a zip64 count
        if entries != 0xFFFF and cd_size != 0xFFFFFFFF:
            raise _too_many()


def _too_many() -> BatchFileError:
    return _refused(
        "photos_too_many_entries",
        f"the photos zip holds more than {MAX_ENTRIES:,} files",
        f"照片压缩包内文件超过{MAX_ENTRIES:,}个",
    )


@dataclass(frozen=True)
class PhotoZip:
    """An opened zip of photos: its entries by name (upper-cased stem, folders dropped)."""

    zf: zipfile.ZipFile
    by_stem: dict[str, list[zipfile.ZipInfo]]

    def close(self) -> None:
        self.zf.close()

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """Return an entry's bytes, at most MAX_BYTES + 1 of them (enough to refuse it)."""
        with self.zf.open(info) as f:
            return f.read(MAX_BYTES + 1)


def open_photo_zip(data: bytes | BinaryIO, *, max_total: int) -> PhotoZip:
    """Return the zip ``data`` (bytes or a seekable file) opened and indexed, or raise
    BatchFileError: not a zip, too many entries, over ``max_total`` bytes uncompressed, an
    entry compressed more than MAX_RATIO : 1, an encrypted entry, a ``..`` or absolute
    name."""
    _central_directory(data)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refused(
            "photos_not_zip", "the photos file is not a zip archive", "照片文件不是zip压缩包"
        ) from None
    try:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _too_many()
        total = 0
        by_stem: dict[str, list[zipfile.ZipInfo]] = {}
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = name.split("/")
            if name.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":"):
                raise _refused(
                    "photos_unsafe_name",
                    f"the photos zip holds a file named {_masked(name)!r}, outside its own"
                    " folders: make the zip again from the folder of photos",
                    f"照片压缩包内有文件名“{_masked(name)}”指向压缩包以外的位置：请从照片文件夹重新压缩",
                )
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise _refused(
                    "photos_encrypted",
                    "the photos zip is password-protected: make it without a password",
                    "照片压缩包设有密码：请重新压缩，不设密码",
                )
            total += info.file_size
            if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                1, info.compress_size
            ):
                raise _refused(
                    "photos_zip_bomb",
                    f"{_masked(name)} in the photos zip inflates more than {MAX_RATIO} times:"
                    " photos do not, so the zip is refused",
                    f"照片压缩包内的{_masked(name)}解压后膨胀超过{MAX_RATIO}倍（照片不会如此），"
                    "压缩包被拒绝",
                )
            base = parts[-1]
            stem, dot, ext = base.rpartition(".")
            if dot and ("." + ext.lower()) in EXTENSIONS and stem:
                by_stem.setdefault(stem.strip().upper(), []).append(info)
        if total > max_total:
            raise _refused(
                "photos_too_large",
                f"the photos zip holds {total:,} bytes once unpacked: at most {max_total:,}",
                f"照片压缩包解压后共{total:,}字节，不得超过{max_total:,}字节",
            )
    except BaseException:
        zf.close()
        raise
    return PhotoZip(zf, by_stem)


# --- matching the rows ---------------------------------------------------------------------


def _shown(info: zipfile.ZipInfo, row: ApplicantRow) -> str:
    """Return the entry's name as shown to the clerk: identity numbers masked."""
    name = info.filename
    base = name.rsplit("/", 1)[-1]
    stem = base.rpartition(".")[0]
    if stem.strip().upper() == row.id_number.upper():
        name = name[: len(name) - len(base)] + mask_id(row.id_number) + base[len(stem) :]
    return _masked(name)


def _looked_for(row: ApplicantRow) -> str:
    names = ([row.request_id] if row.request_id else []) + [mask_id(row.id_number)]
    return ", ".join(f"{n}.jpg/.jpeg/.png" for n in names)


def _error(row: ApplicantRow, column: str, code: str, en: str, zh: str, shown: str) -> RowError:
    return RowError(
        row.row_number, column, "photo", code, zh, en, shown, row.request_id or "", row.name
    )


def _normalise(item: tuple[int, bytes]) -> tuple[int, bytes | tuple[str, str, str]]:
    """Return (row number, the normalised JPEG) or (row number, (code, en, zh))."""
    row_number, data = item
    try:
        return row_number, normalise_photo(data).jpeg
    except PhotoError as exc:
        return row_number, (exc.code, exc.message, exc.message_zh)


def _normalise_chunk(
    items: list[tuple[int, bytes]],
) -> list[tuple[int, bytes | tuple[str, str, str]]]:
    return [_normalise(item) for item in items]


def _init_worker() -> None:
    follow_parent()


def _chunks(items: Iterable[tuple[int, bytes]], size: int) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pooled(count: int, nbytes: int, *, fork: bool) -> bool:
    """Whether ``count`` photos of ``nbytes`` in all are worth a pool: forked (from a
    single-threaded process) or spawned (from a server's thread): some 64 or 1,000 small
    photos, or 8 or 110 of a megabyte or so from a camera."""
    work = count + _PER_MB * nbytes / 1e6
    return work >= (_PARALLEL_MIN if fork else _SPAWN_MIN)


def _normalise_all(
    items: Iterable[tuple[int, bytes]], count: int, nbytes: int, workers: int
) -> dict[int, bytes | tuple[str, str, str]]:
    """Return every item normalised: in a pool of ``workers`` processes when the
    ``count`` items of ``nbytes`` are worth it (``_pooled``; forked from a single-threaded
    process, as ``jiaozi batch issue`` is; spawned from a server's thread), else here.

    ``items`` is read as the work goes: at most ``_IN_FLIGHT`` chunks a worker are read
    from the zip and not yet normalised, so a zip of 10,000 phone photos (a megabyte or
    two each) is never all in memory at once; only the normalised JPEGs (~20 KB) are kept.
    """
    fork = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    if workers <= 1 or not _pooled(count, nbytes, fork=fork):
        return dict(map(_normalise, items))
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    out: dict[int, bytes | tuple[str, str, str]] = {}
    pending: deque[Future[list[tuple[int, bytes | tuple[str, str, str]]]]] = deque()
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
        for chunk in _chunks(items, _CHUNK):
            if len(pending) >= _IN_FLIGHT * workers:
                out.update(pending.popleft().result())
            pending.append(pool.submit(_normalise_chunk, chunk))
        for future in pending:
            out.update(future.result())
    return out


def match_photos(
    rows: Sequence[ApplicantRow],
    photos: PhotoZip,
    *,
    column: str,
    workers: int = 1,
) -> tuple[list[ApplicantRow], dict[int, Photo], list[RowError]]:
    """Return the rows that have exactly one good photo (each with its ``photo_digest``),
    their normalised photos by row number, and the row errors of the others (``column``
    is the errors' column: ``照片`` or ``photo``)."""
    found: dict[int, zipfile.ZipInfo] = {}
    shown: dict[int, str] = {}
    early: dict[int, bytes | tuple[str, str, str]] = {}
    errors: list[RowError] = []
    for row in rows:
        keys = ([row.request_id.strip().upper()] if row.request_id else []) + [
            row.id_number.upper()
        ]
        hits: list[zipfile.ZipInfo] = []
        for key in dict.fromkeys(keys):
            hits += [i for i in photos.by_stem.get(key, ()) if i not in hits]
        if not hits:
            errors.append(
                _error(
                    row,
                    column,
                    "photo_missing",
                    f"no photo for this row in the zip: looked for {_looked_for(row)}",
                    f"压缩包内没有该行的照片：查找了{_looked_for(row)}",
                    "",
                )
            )
            continue
        if len(hits) > 1:
            names = ", ".join(_shown(i, row) for i in hits)
            errors.append(
                _error(
                    row,
                    column,
                    "photo_duplicate",
                    f"more than one photo for this row in the zip: {names}; keep one",
                    f"压缩包内该行有多张照片：{names}；请只保留一张",
                    names,
                )
            )
            continue
        (info,) = hits
        shown[row.row_number] = _shown(info, row)
        found[row.row_number] = info
        if info.file_size > MAX_BYTES:  # never inflated (a bomb's entry among them)
            early[row.row_number] = _normalise((0, b"\0" * (MAX_BYTES + 1)))[1]  # the size rule

    def read() -> Iterator[tuple[int, bytes]]:
        """Each photo still to judge, read from the zip when the pool is ready for it; a
        damaged entry left out (said below, not as an empty photo)."""
        for n, info in found.items():
            if n not in early:
                try:
                    yield n, photos.read(info)
                except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
                    pass

    todo = [info for n, info in found.items() if n not in early]
    nbytes = sum(info.file_size for info in todo)
    judged = {**_normalise_all(read(), len(todo), nbytes, workers), **early}
    keep: list[ApplicantRow] = []
    out: dict[int, Photo] = {}
    by_number = {r.row_number: r for r in rows}
    for n in found:
        row = by_number[n]
        name = shown[n]
        got = judged.get(n)
        if got is None:
            errors.append(
                _error(
                    row,
                    column,
                    "photo_unreadable",
                    f"{name}: the file cannot be unpacked from the zip (damaged)",
                    f"{name}：无法从压缩包中解出该文件（已损坏）",
                    name,
                )
            )
        elif isinstance(got, tuple):
            code, en, zh = got
            errors.append(_error(row, column, code, f"{name}: {en}", f"{name}：{zh}", name))
        else:
            photo = Photo.of(got)
            out[n] = photo
            keep.append(row._replace(photo_digest=photo.digest_sri))
    keep.sort(key=lambda r: r.row_number)
    return keep, out, errors


def digests_of(stored: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Return ``digestSRI`` by row number from stored (row number, hex SHA-256) pairs."""
    return {n: "sha256-" + base64.b64encode(bytes.fromhex(h)).decode() for n, h in stored}
