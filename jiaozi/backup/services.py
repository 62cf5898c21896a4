"""What each service's backup holds and how its restore ends (``jiaozi.backup.archive`` does the
archive, the database and the files).

- issuer: the database, the key store home (``$JIAOZI_HOME``: ``keys/``, ``trust/``), a
  fresh signed audit checkpoint and the backup fence's high-water marks
  (``issuer.issuance.fence``). Its restore steps past every number and status list the
  fence allowed after the backup, then checks the audit chain.
- registry: the database and its home (the registry's signing key, the trust list), and
  the trust list and root keys files when the settings name files outside the home.
- verifier: the database and the pinned root keys file; it holds no private key.

Each restore first opens and checks the whole archive and checks every target (empty, or
``force``) before it changes anything.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jiaozi.backup.archive import (
    BackupError,
    Staged,
    database_files,
    database_is_empty,
    dump_database,
    open_archive,
    restore_database,
    restore_path,
    write_archive,
)

__all__ = [
    "DEFAULT_LIST_ALLOWANCE",
    "DEFAULT_SERIAL_ALLOWANCE",
    "Restored",
    "backup_issuer",
    "backup_registry",
    "backup_verifier",
    "restore_issuer",
    "restore_registry",
    "restore_verifier",
]

# What one backup lets the office hand out before the next one (issuer.issuance.fence):
# a night's backups are far apart from 50,000 certificates, and two status lists of
# 131,072 entries or more each.
DEFAULT_SERIAL_ALLOWANCE = 50_000
DEFAULT_LIST_ALLOWANCE = 2


@dataclass
class Restored:
    """What a restore did, for the command to print."""

    manifest: dict[str, Any]
    kept_aside: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # the same notes in Chinese, one for one (the command prints the language it speaks)
    notes_zh: list[str] = field(default_factory=list)
    audit_ok: bool | None = None


def _inside(path: Path, home: Path) -> bool:
    try:
        path.resolve().relative_to(home.resolve())
    except ValueError:
        return False
    return True


def _occupied(path: Path, ignore: set[Path]) -> bool:
    if not path.exists():
        return False
    if not path.is_dir():
        return path.resolve() not in ignore
    return any(p.resolve() not in ignore for p in path.rglob("*") if not p.is_dir())


def _preflight(targets: list[tuple[str, Path]], database_url: str, *, force: bool) -> None:
    """Refuse, before anything changes, a target that is not empty (unless ``force``).

    A SQLite database kept inside a home is the database's target, not the home's: an
    empty one there does not make the home "not empty"."""
    if force:
        return
    if not database_is_empty(database_url):
        raise BackupError(
            "the target database is not empty: restore into an empty database, or pass "
            "--force to replace it (nothing was restored)",
            code="database_not_empty_nothing_done",
        )
    ignore = database_files(database_url)
    for _name, path in targets:
        if _occupied(path, ignore):
            raise BackupError(
                f"{path} exists and is not empty: pass --force to replace it "
                "(nothing was restored)",
                code="path_not_empty_nothing_done",
                path=path,
            )


# --- issuer ------------------------------------------------------------------------------------


def backup_issuer(
    out: Path,
    *,
    passphrase: bytes,
    home: Path,
    key_passphrase: bytes | None,
    serials: int = DEFAULT_SERIAL_ALLOWANCE,
    lists: int = DEFAULT_LIST_ALLOWANCE,
    feeds: int | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Back up the office (settings from ``JIAOZI_*``) to ``out``; return the manifest.

    Signs an audit checkpoint with the office's active key and sets the backup fence
    (``serials``, ``lists``, ``feeds``: default four per serial) before the database is
    copied. Raises BackupError, and the issuer's and keys' errors for settings, database
    and keys.
    """
    from sqlalchemy.orm import Session

    from issuer.audit.check import ChainBroken, write_checkpoint
    from issuer.cli._common import writer_engine
    from issuer.issuance import set_fence
    from issuer.settings import IssuerSettings
    from keys import KeyStore

    settings = IssuerSettings()
    now = now or dt.datetime.now(dt.UTC)
    _outside(out, [home])
    out.parent.mkdir(parents=True, exist_ok=True)
    store = KeyStore(home, key_passphrase)
    signer = store.active_signer(settings.office_id, now=int(now.timestamp()))
    engine = writer_engine(settings)
    checkpoint: dict[str, Any] | None = None
    problem = None
    try:
        with Session(engine) as session:
            try:
                cp = write_checkpoint(session, signer=signer, office_id=settings.office_id, now=now)
                checkpoint = {
                    "id": cp.id,
                    "audit_seq": cp.audit_seq,
                    "audit_hash": cp.audit_hash,
                    "signed_jws": cp.signed_jws,
                }
            except ChainBroken as exc:  # still back up: the archive may be all there is
                problem = exc.report.message_en
            high = set_fence(
                session,
                office_id=settings.office_id,
                serials=serials,
                lists=lists,
                feeds=feeds,
                now=now,
            )
    finally:
        engine.dispose()
    with tempfile.TemporaryDirectory(prefix=".jiaozi-dump-", dir=out.parent) as stage:
        member = dump_database(settings.database_url, Path(stage))
        staged = Staged(
            members={member: Path(stage) / member, "home": home},
            extra={
                "office_id": settings.office_id,
                "audit_checkpoint": checkpoint,
                "audit_problem": problem,
                "high_water": high.to_json(),
            },
            exclude=database_files(settings.database_url),
        )
        return write_archive(out, service="issuer", staged=staged, passphrase=passphrase, now=now)


def restore_issuer(
    archive: Path,
    *,
    passphrase: bytes,
    home: Path,
    force: bool = False,
    extra_serials: int = 0,
    extra_lists: int = 0,
    extra_feeds: int = 0,
    actor: str = "cli:restore",
    now: dt.datetime | None = None,
) -> Restored:
    """Restore the office's database and key store from ``archive``, then step past the
    backup's fence and check the audit chain. Raises BackupError before changing anything
    when the archive does not open or check, is another office's, or a target is not
    empty (without ``force``)."""
    from sqlalchemy.orm import Session

    from credential import beijing_date
    from issuer.audit.check import verify_audit
    from issuer.cli._common import writer_engine
    from issuer.issuance import HighWater, after_restore
    from issuer.settings import IssuerSettings
    from keys import KeyStore

    settings = IssuerSettings()
    now = now or dt.datetime.now(dt.UTC)
    with open_archive(archive, passphrase=passphrase, service="issuer") as (manifest, files):
        if manifest.get("office_id") != settings.office_id:
            raise BackupError(
                f"{archive} is a backup of {manifest.get('office_id')}, this office is "
                f"{settings.office_id} (nothing was restored)",
                code="other_office",
                path=archive,
                found=manifest.get("office_id"),
                office=settings.office_id,
            )
        try:
            high = HighWater.from_json(manifest.get("high_water"))
        except ValueError as exc:
            raise BackupError(
                f"{archive}: {exc}", code="high_water", path=archive, error=exc
            ) from exc
        member = _database_member(manifest)
        _preflight([("home", home)], settings.database_url, force=force)
        done = Restored(manifest=manifest)
        # The home first: a SQLite database kept inside it is then restored into the
        # new home (the old one, with whatever database it held, is kept aside).
        aside = restore_path(files / "home", home, force=True)
        if aside is not None:
            done.kept_aside.append(aside)
        restore_database(settings.database_url, files / member, force=force)
    engine = writer_engine(settings)  # an archive of an older release is migrated up
    try:
        with Session(engine) as session:
            jump = after_restore(
                session,
                high=high,
                settings=settings,
                actor=actor,
                now=now,
                extra_serials=extra_serials,
                extra_lists=extra_lists,
                extra_feeds=extra_feeds,
                archive=archive.name,
            )
            public = KeyStore(home, None).public_keys(settings.office_id)
            report = verify_audit(session, public_keys=public, office_id=settings.office_id)
    finally:
        engine.dispose()
    done.audit_ok = report.ok
    year = beijing_date(now).year
    counter = jump.serials.get(year)
    done.notes.append(
        f"serials moved past the backup by {high.serial_allowance + extra_serials} "
        f"(this year's counter now {'unchanged' if counter is None else counter}); new status "
        f"list {jump.list_id} (ordinal {jump.list_ordinal}); events continue after "
        f"{jump.event_seq}, restricted-list changes after {jump.restriction_seq}; audit "
        f"record {jump.audit_seq}"
    )
    done.notes_zh.append(
        f"证书序号已越过备份时的 {high.serial_allowance + extra_serials} 个"
        f"（今年的计数器现为 {'未变' if counter is None else counter}）；新状态列表 "
        f"{jump.list_id}（序号 {jump.list_ordinal}）；事件从 {jump.event_seq} 之后继续，"
        f"限制名单变更从 {jump.restriction_seq} 之后继续；审计记录 {jump.audit_seq}"
    )
    done.notes.append("issuance is paused until a fresh backup: run `jiaozi backup issuer` now")
    done.notes_zh.append("重新备份之前暂停签发：请立即运行 `jiaozi backup issuer`")
    done.notes.append(
        "then, before the service starts or publishes: `jiaozi issuer reconcile-status "
        "--published DIR_OR_URL` (the status lists published since the backup; "
        "docs/operations.md, Backup and restore); until it has run no status list is "
        "signed, served or exported (`--none-published` if the office never published one)"
    )
    done.notes_zh.append(
        "然后，在服务启动或发布之前运行 `jiaozi issuer reconcile-status --published "
        "DIR_OR_URL`（备份之后发布过的状态列表；见 docs/operations.md 的备份与恢复一节）；"
        "运行之前不签署、不提供、不导出任何状态列表（机构从未发布过则用 `--none-published`）"
    )
    if not report.ok:
        done.notes.append(f"AUDIT CHAIN: {report.message_en}")
        done.notes_zh.append(f"审计链：{report.message_zh}")
    return done


def _outside(out: Path, homes: list[Path]) -> None:
    """Refuse an archive written inside a directory it archives (it would hold itself)."""
    for home in homes:
        if _inside(out.parent, home):
            raise BackupError(
                f"write the archive outside {home}: it is part of the backup",
                code="inside_home",
                home=home,
            )


def _database_member(manifest: dict[str, Any]) -> str:
    names = [n for n in manifest.get("members", {}) if n.startswith("database.")]
    if len(names) != 1:
        raise BackupError("the archive does not hold exactly one database", code="databases")
    return str(names[0])


# --- registry ----------------------------------------------------------------------------------


def _registry_files(home: Path) -> dict[str, Path]:
    from registry.settings import RegistrySettings

    settings = RegistrySettings()
    files: dict[str, Path] = {"home": home}
    for name, path in (("trust_list", settings.trust_list_file), ("root_jwks", settings.root_jwks)):
        if path is not None and not _inside(path, home):
            files[name] = path
    return files


def backup_registry(
    out: Path, *, passphrase: bytes, home: Path, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Back up the registry (settings from ``JIAOZI_*``) to ``out``; return the manifest."""
    from registry.settings import RegistrySettings

    settings = RegistrySettings()
    now = now or dt.datetime.now(dt.UTC)
    _outside(out, [home])
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".jiaozi-dump-", dir=out.parent) as stage:
        member = dump_database(settings.database_url, Path(stage))
        members = {member: Path(stage) / member, **_registry_files(home)}
        paths = {k: str(v) for k, v in members.items() if not k.startswith("database.")}
        staged = Staged(
            members=members,
            extra={"paths": paths},
            exclude=database_files(settings.database_url),
        )
        return write_archive(out, service="registry", staged=staged, passphrase=passphrase, now=now)


def restore_registry(
    archive: Path,
    *,
    passphrase: bytes,
    home: Path,
    force: bool = False,
    now: dt.datetime | None = None,
) -> Restored:
    """Restore the registry's database, home and trust files from ``archive``, then jump
    the list's and the feed's seqs past every one handed out before (``registry.restore``:
    offices and followers then re-read instead of skipping). Raises BackupError before
    changing anything (as :func:`restore_issuer`)."""
    from registry.db import make_engine
    from registry.restore import after_restore
    from registry.settings import RegistrySettings

    settings = RegistrySettings()
    targets = _registry_files(home)
    done = _restore_plain(archive, "registry", settings.database_url, targets, passphrase, force)
    engine = make_engine(settings.database_url)  # an archive of an older release: migrated
    try:
        point = after_restore(engine, now=now or dt.datetime.now(dt.UTC), archive=archive.name)
    finally:
        engine.dispose()
    done.notes.append(
        f"the list's changes continue after {point.list_floor} (the archive's head was "
        f"{point.list_from}), the feed's events after {point.feed_floor} (was "
        f"{point.feed_from}): each office reads a snapshot at its next national round and "
        "sends again what of its own the registry lacks; feed followers cross the jump"
    )
    done.notes_zh.append(
        f"名单变更从 {point.list_floor} 之后继续（备份的链头为 {point.list_from}），订阅事件从 "
        f"{point.feed_floor} 之后继续（原为 {point.feed_from}）：各机构在下一轮全国同步时读取快照，"
        "并重新发送登记中心缺少的本机构记录；订阅方会跨过这一跳跃"
    )
    return done


# --- verifier ----------------------------------------------------------------------------------


def backup_verifier(
    out: Path, *, passphrase: bytes, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Back up the verifier (settings from ``JIAOZI_*``): its database and pinned root keys."""
    from verifier.settings import VerifierSettings

    settings = VerifierSettings()
    now = now or dt.datetime.now(dt.UTC)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".jiaozi-dump-", dir=out.parent) as stage:
        member = dump_database(settings.database_url, Path(stage))
        members = {member: Path(stage) / member, "root_jwks": settings.root_jwks}
        staged = Staged(members=members, extra={"paths": {"root_jwks": str(settings.root_jwks)}})
        return write_archive(out, service="verifier", staged=staged, passphrase=passphrase, now=now)


def restore_verifier(archive: Path, *, passphrase: bytes, force: bool = False) -> Restored:
    """Restore the verifier's database and root keys file from ``archive``."""
    from verifier.settings import VerifierSettings

    settings = VerifierSettings()
    targets = {"root_jwks": settings.root_jwks}
    return _restore_plain(archive, "verifier", settings.database_url, targets, passphrase, force)


def _restore_plain(
    archive: Path,
    service: str,
    database_url: str,
    targets: dict[str, Path],
    passphrase: bytes,
    force: bool,
) -> Restored:
    with open_archive(archive, passphrase=passphrase, service=service) as (manifest, files):
        member = _database_member(manifest)
        listed = set(manifest["members"])
        wanted = {
            name: path
            for name, path in targets.items()
            if name in listed or any(m.startswith(name + "/") for m in listed)
        }
        _preflight(list(wanted.items()), database_url, force=force)
        done = Restored(manifest=manifest)
        for name, path in wanted.items():  # files first (a database may live in a home)
            aside = restore_path(files / name, path, force=True)
            if aside is not None:
                done.kept_aside.append(aside)
        restore_database(database_url, files / member, force=force)
        return done
