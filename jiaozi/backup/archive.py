"""Backup archives shared by the three services: one encrypted tar holding a manifest, the
database and the service's files (key store home, trust files), and their restore.

- The database: PostgreSQL through ``pg_dump -Fc`` and ``pg_restore --single-transaction``
  (the URL from the service's settings, turned from SQLAlchemy's form into libpq's, the
  password passed in ``PGPASSWORD``, never on a command line); SQLite through the online
  backup API (``sqlite3.Connection.backup``), safe while the service runs.
- Files: directories and single files copied as they are (private keys stay encrypted
  under their own passphrase inside the archive too).
- The archive: a tar, ``manifest.json`` first (format, service, time, versions, SHA-256
  and size of every member, and what the service adds: the audit checkpoint, high-water
  marks), encrypted by ``keys.encrypt_archive`` (scrypt, AES-256-GCM in chunks). Written
  0600 through a temporary file and a rename.
- Restore: the archive is decrypted and every member checked against the manifest in a
  private staging directory first; only then is anything replaced. A database is restored
  only into an EMPTY target (or with ``force``); PostgreSQL in one transaction, SQLite to a
  temporary file renamed over the target. A home is copied next to the target and swapped
  in; a replaced home is kept aside, never deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from keys import ArchiveError, decrypt_archive, encrypt_archive

__all__ = [
    "FORMAT",
    "PASSPHRASE_ENV",
    "BackupError",
    "Staged",
    "backup_passphrase",
    "database_files",
    "database_is_empty",
    "dump_database",
    "libpq_url",
    "open_archive",
    "restore_database",
    "restore_path",
    "write_archive",
]

FORMAT = "jiaozi-backup/1"
PASSPHRASE_ENV = "JIAOZI_BACKUP_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
MANIFEST = "manifest.json"
PG_DUMP = os.environ.get("JIAOZI_PG_DUMP", "/usr/bin/pg_dump")
PG_RESTORE = os.environ.get("JIAOZI_PG_RESTORE", "/usr/bin/pg_restore")
_MIN_PRODUCTION_PASSPHRASE = 16
_MIN_DISTINCT = 8


class BackupError(Exception):
    """A backup or restore that cannot be done as asked; the message says why and what to
    do. Tampered archives and wrong passphrases are ``keys.ArchiveError`` (re-raised as
    this by :func:`open_archive`, chained).

    The message is English; ``code`` and ``fields`` (what the message was made from) let
    the command line say it in either language (``backup.error.<code>`` in
    ``credential.CLI_TEXT``)."""

    def __init__(self, message: str, /, *, code: str | None = None, **fields: object) -> None:
        super().__init__(message)
        self.code = code
        self.fields = fields


# --- the passphrase --------------------------------------------------------------------------


def backup_passphrase(
    passphrase_file: Path | None, *, production: bool, environ: Mapping[str, str] | None = None
) -> bytes:
    """Return the archive passphrase: the first line of ``passphrase_file``, else
    ``$JIAOZI_BACKUP_PASSPHRASE``. Raises BackupError when there is none, and in production
    when it is shorter than 16 characters or has fewer than 8 distinct ones."""
    env = os.environ if environ is None else environ
    if passphrase_file is not None:
        try:
            text = passphrase_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise BackupError(
                f"cannot read the passphrase file {passphrase_file}: {exc}",
                code="passphrase_file",
                path=passphrase_file,
                error=exc,
            ) from exc
        value = text[0] if text else ""
        where = str(passphrase_file)
    else:
        value = env.get(PASSPHRASE_ENV, "")
        where = PASSPHRASE_ENV
    if not value.strip():
        raise BackupError(
            f"no backup passphrase: set {PASSPHRASE_ENV} or pass --passphrase-file "
            "(an archive is never written or read unencrypted)",
            code="no_passphrase",
            env=PASSPHRASE_ENV,
        )
    if production and (len(value) < _MIN_PRODUCTION_PASSPHRASE or len(set(value)) < _MIN_DISTINCT):
        raise BackupError(
            f"the backup passphrase from {where} is too weak for production: at least "
            f"{_MIN_PRODUCTION_PASSPHRASE} characters, {_MIN_DISTINCT} of them distinct",
            code="weak_passphrase",
            where=where,
            min=_MIN_PRODUCTION_PASSPHRASE,
            distinct=_MIN_DISTINCT,
        )
    return value.encode("utf-8")


# --- databases ---------------------------------------------------------------------------------


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(
            f"not a SQLite file database: {make_url(url)!r}", code="not_sqlite", url=make_url(url)
        )
    return Path(database)


def libpq_url(url: str) -> tuple[str, dict[str, str]]:
    """Return (libpq URL, extra environment) for a SQLAlchemy PostgreSQL URL: the driver
    suffix dropped and the password moved to ``PGPASSWORD`` (out of ``ps``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise BackupError(f"not a PostgreSQL URL: {parsed!r}", code="not_postgres", url=parsed)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    bare = parsed.set(drivername="postgresql", password=None)
    return bare.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed binaries, arguments as a list
            cmd,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"{what}: {exc}", code="tool", tool=what, error=exc) from exc
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        said = lines[-1] if lines else done.returncode
        raise BackupError(f"{what} failed: {said}", code="tool_failed", tool=what, error=said)


def dump_database(url: str, dest_dir: Path) -> str:
    """Copy the database at ``url`` into ``dest_dir``; return the member name written
    (``database.sqlite`` or ``database.pgdump``). Raises BackupError."""
    if _is_sqlite(url):
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"no SQLite database at {source}", code="no_sqlite", path=source)
        name = "database.sqlite"
        target = dest_dir / name
        # A plain connection: read-only opens of a WAL database fail when its -shm file
        # is absent, and the backup API only reads the source anyway.
        src = sqlite3.connect(source)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # online: pages copied while writers go on
            finally:
                dst.close()
        finally:
            src.close()
        target.chmod(0o600)
        return name
    name = "database.pgdump"
    conn, env = libpq_url(url)
    _run(
        [PG_DUMP, "--format=custom", "--no-owner", f"--file={dest_dir / name}", f"--dbname={conn}"],
        env,
        "pg_dump",
    )
    return name


def database_files(url: str) -> set[Path]:
    """Return the resolved paths of a SQLite database's files (the database, its
    ``-wal``, ``-shm`` and ``-journal``); none for PostgreSQL."""
    if not _is_sqlite(url):
        return set()
    base = _sqlite_path(url).resolve()
    return {base, *(Path(f"{base}{s}") for s in ("-wal", "-shm", "-journal"))}


def database_is_empty(url: str) -> bool:
    """Return True when the database at ``url`` has no table (a missing SQLite file is
    empty)."""
    if _is_sqlite(url) and not _sqlite_path(url).exists():
        return True
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        return not sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore_database(url: str, member: Path, *, force: bool) -> None:
    """Restore the dumped ``member`` into the database at ``url``.

    Refuses (BackupError) a target that has tables unless ``force``. PostgreSQL: one
    transaction (all or nothing), with ``force`` dropping what the dump holds first.
    SQLite: the copy is written beside the target and renamed over it (and its ``-wal``,
    ``-shm`` removed), so the target is the old file or the new one, never half.
    """
    if not force and not database_is_empty(url):
        raise BackupError(
            "the target database is not empty: restore into an empty database, or pass "
            "--force to replace it",
            code="database_not_empty",
        )
    if _is_sqlite(url):
        if member.name != "database.sqlite":
            raise BackupError(
                "the archive holds a PostgreSQL dump, the target is SQLite", code="pg_into_sqlite"
            )
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            shutil.copyfile(member, tmp)
            tmp.chmod(0o600)
            check = sqlite3.connect(tmp)
            try:
                ok = check.execute("PRAGMA integrity_check").fetchone()
            finally:
                check.close()
            if not ok or ok[0] != "ok":
                raise BackupError(
                    "the archived SQLite database fails its integrity check", code="integrity"
                )
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{target}{suffix}").unlink()
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return
    if member.name != "database.pgdump":
        raise BackupError(
            "the archive holds a SQLite database, the target is PostgreSQL", code="sqlite_into_pg"
        )
    conn, env = libpq_url(url)
    cmd = [PG_RESTORE, "--no-owner", "--exit-on-error", "--single-transaction"]
    if force:
        cmd += ["--clean", "--if-exists"]
    _run([*cmd, f"--dbname={conn}", str(member)], env, "pg_restore")


# --- files -------------------------------------------------------------------------------------


def restore_path(source: Path, target: Path, *, force: bool) -> Path | None:
    """Put the staged ``source`` (a directory or a file) at ``target``; return where a
    replaced target was kept aside (``<name>.before-restore-<time>``), or None.

    Refuses (BackupError) a target directory that is not empty, or a target file that
    exists, unless ``force``. The copy is made beside the target and renamed into place.
    """
    exists = target.exists() and (not target.is_dir() or any(target.iterdir()))
    if exists and not force:
        raise BackupError(
            f"{target} exists and is not empty: pass --force to replace it",
            code="path_not_empty",
            path=target,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    tmp = target.with_name(f".{target.name}.restore-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    if source.is_dir():
        shutil.copytree(source, tmp, symlinks=True)
        tmp.chmod(0o700)
    else:
        shutil.copy2(source, tmp)
        tmp.chmod(0o600)
    aside: Path | None = None
    if target.exists():
        aside = target.with_name(f"{target.name}.before-restore-{stamp}")
        os.replace(target, aside)
    os.replace(tmp, target)
    return aside


# --- the archive -------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def _version() -> str:
    try:
        return importlib.metadata.version("jiaozi")
    except importlib.metadata.PackageNotFoundError:  # a checkout without an install
        return "unknown"


@dataclass
class Staged:
    """What a backup puts in its archive: member name -> file or directory on disk, and
    the service's own manifest entries."""

    members: dict[str, Path] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # Files left out of the directories (a SQLite database kept inside the home, which
    # the archive holds as its own consistent copy instead)
    exclude: set[Path] = field(default_factory=set)


def write_archive(
    out: Path, *, service: str, staged: Staged, passphrase: bytes, now: dt.datetime
) -> dict[str, Any]:
    """Write the encrypted archive ``out`` (0600, through a temporary file and a rename);
    return its manifest. Raises BackupError."""
    files: dict[str, Path] = {}
    for name, path in staged.members.items():
        if not path.exists():
            raise BackupError(
                f"{name}: {path} does not exist", code="missing", name=name, path=path
            )
        for f in _files(path):
            if f.resolve() in staged.exclude:
                continue
            rel = name if path.is_file() else f"{name}/{f.relative_to(path).as_posix()}"
            files[rel] = f
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "service": service,
        "created_at": now.astimezone(dt.UTC).isoformat(),
        "versions": {"jiaozi": _version(), "python": sys.version.split()[0]},
        "members": {
            rel: {"sha256": _sha256(f), "size": f.stat().st_size} for rel, f in files.items()
        },
        **staged.extra,
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".jiaozi-backup-", dir=out.parent) as work:
        plain = Path(work) / "archive.tar"
        with tarfile.open(plain, "w") as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(body), 0o600, int(now.timestamp())
            tar.addfile(info, io.BytesIO(body))
            for rel, f in files.items():
                tar.add(f, arcname=rel, recursive=False)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as dst, plain.open("rb") as src:
                encrypt_archive(src, dst, passphrase)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp_name, out)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
    return manifest


@contextlib.contextmanager
def open_archive(
    path: Path, *, passphrase: bytes, service: str | None = None
) -> Iterator[tuple[dict[str, Any], Path]]:
    """Decrypt and check the archive ``path`` in a private staging directory; yield (its
    manifest, the directory its members were extracted into). The directory is removed
    on exit.

    Raises BackupError (chained to ``keys.ArchiveError``) for a wrong passphrase or a
    tampered archive, and for a member missing, extra or not matching its SHA-256, or an
    archive of another service than ``service``. Nothing outside the staging directory is
    touched before this returns.
    """
    try:
        src_f = path.open("rb")
    except OSError as exc:
        raise BackupError(
            f"cannot read {path}: {exc}", code="unreadable", path=path, error=exc
        ) from exc
    with tempfile.TemporaryDirectory(prefix=".jiaozi-restore-") as work:
        root = Path(work)
        os.chmod(root, 0o700)
        plain = root / "archive.tar"
        with src_f, plain.open("wb") as dst:
            try:
                decrypt_archive(src_f, dst, passphrase)
            except ArchiveError as exc:
                raise BackupError(
                    f"{path}: {exc}; nothing was restored", code="unopened", path=path, error=exc
                ) from exc
        files = root / "members"
        try:
            with tarfile.open(plain, "r") as tar:
                names = tar.getnames()
                if not names or names[0] != MANIFEST:
                    raise BackupError(
                        f"{path}: no manifest first in the archive", code="no_manifest", path=path
                    )
                tar.extractall(files, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(
                f"{path}: the archive's tar cannot be read: {exc}", code="tar", path=path, error=exc
            ) from exc
        plain.unlink()
        try:
            manifest = json.loads((files / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackupError(
                f"{path}: the manifest cannot be read: {exc}", code="manifest", path=path, error=exc
            ) from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupError(f"{path}: not a {FORMAT} archive", code="not_archive", path=path)
        if service is not None and manifest.get("service") != service:
            raise BackupError(
                f"{path} is a backup of the {manifest.get('service')}, not of the {service}",
                code="other_service",
                path=path,
                found=manifest.get("service"),
                service=service,
            )
        listed = manifest.get("members")
        if not isinstance(listed, dict):
            raise BackupError(
                f"{path}: the manifest lists no members", code="no_members", path=path
            )
        found = {n for n in names if n != MANIFEST and (files / n).is_file()}
        if found != set(listed):
            raise BackupError(
                f"{path}: its members differ from the manifest's list", code="members", path=path
            )
        for name, meta in listed.items():
            if _sha256(files / name) != meta.get("sha256"):
                raise BackupError(
                    f"{path}: member {name} does not match its SHA-256",
                    code="member_hash",
                    path=path,
                    name=name,
                )
        (files / MANIFEST).unlink()
        yield manifest, files
