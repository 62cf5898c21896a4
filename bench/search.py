"""Finding a certificate among 1,111,111 on PostgreSQL, a million of them one office's
(issue 13 point 3: under 100 ms).

``make bench-search`` (``python -m bench.search``; not a section of ``make bench``: the
first run loads the database for a few minutes, and its figures are printed, not written
to bench/results.json). Each search kind runs ~200 queries through
``issuer.search.find_certificates`` (judging the input, the keyed hash of an identity
number, the SQL, the answer's shape; not HTTP) and reports p50 and p99 in milliseconds and
``p99 / 100 ms`` as the ratio (goal: at most 1). The kinds are interleaved, so a noisy
neighbour slows them all alike.

The database: ``JIAOZI_BENCH_SEARCH_URL`` (default a ``jiaozi_bench_search`` database on
the local server, created when missing), migrated to head by the issuer's own migrations
so it has exactly their indexes. 1,111,111 certificates are generated (people from
``shared/tools/make_applicants.py``, row ``i`` from its own seed, so a query's clear
identity number can be made again without storing it), 1,000,000 of one office (issue 14
point 6 asks for a million in one office) and 111,111 of another, issued 2019-2026 in
time order, 80 % of the first office's through batches of 2,500 rows, 0.4 % revoked and
0.2 % suspended, with signed texts of realistic length;
each office's certificates hold entries of that office's own status lists of 131,072
two-bit entries (the issuer's size; 8 lists of the first office, 1 of the other), whose
bits say the certificates' statuses (bench.scale publishes and syncs them), and a
restricted-list entry (with its change) for each of the first office's certificates
revoked for misconduct (0.4 %, ~3,600); loaded with COPY after the plain indexes are
dropped, which are then rebuilt from their own definitions, and the tables vacuumed
and analysed. The loaded database is kept: a
marker table holds the migration head, the generator's version and the row count, and
the next run reuses the database when all three match (``search_cached`` 1) and loads it
again otherwise.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

# Every tenth row is the second office's: 1,000,000 rows of the first, 111,111 of the other.
ROWS = 1_111_111
QUERIES = 200
GOAL_MS = 100.0
GENERATOR = "4"  # 2: per-office status lists with their bits; 3: the restricted list;
# 4: a million certificates in the first office (900,000 before)
SEED = 13
OFFICE_A = "urn:jiaozi:office:11001"
OFFICE_B = "urn:jiaozi:office:11002"
BATCH_ROWS = 2_500
LIST_SIZE = 131_072  # the issuer's status_list_size (credential.MIN_LIST_SIZE)
# Each office's lists: ids 1-8 the first office's (1,000,000 entries), 9 the other's.
LISTS_A = -(-(ROWS - ROWS // 10) // LIST_SIZE)
LISTS = LISTS_A + -(-(ROWS // 10) // LIST_SIZE)
ISSUER_URL = "https://jszg.example.cn"
START = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=225)  # 1,111,111 rows over ~7.9 years, none after today
HMAC_KEY = "bench-id-hmac-key-0123456789-abcdef"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
URL = os.environ.get(
    "JIAOZI_BENCH_SEARCH_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/jiaozi_bench_search"
)
MARKER = "bench_search_marker"
_QT = {
    "kindergarten": 1,
    "primary": 2,
    "junior_middle": 3,
    "senior_middle": 4,
    "secondary_vocational": 5,
    "vocational_practice": 6,
    "higher_education": 7,
}
_COLUMNS = (
    "id, certificate_number, version, office_id, year, serial, qualification_type, name, "
    "sex, birth_date, ethnicity, id_type, id_number_hash, id_number_masked, subject, "
    "certified_on, elicence_id, status_list_id, status_idx, credential_jws, qr_token, "
    "status, created_at, kid, status_reason, status_changed_at, layout_version, person_ref"
)
_RESTRICTION_COLUMNS = (
    "id, person_ref, id_type, category, decision_date, bar_until, deciding_office, "
    "legal_basis, affected_json, recorded_at, removed_at, removal_reason, name, "
    "id_number_masked"
)
# Texts of the lengths the signed forms have (a sealed e-licence ~1,100 characters, the
# QR token ~700): the table's width decides how many rows a page of the heap holds.
_BLOB = base64.urlsafe_b64encode(random.Random(SEED).randbytes(1_200)).decode("ascii")


def _applicants() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_applicants", SHARED / "tools" / "make_applicants.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def person(tool: ModuleType, i: int) -> dict[str, str]:
    """Return the invented person of row ``i`` (the same on every run)."""
    return tool.person(random.Random(SEED * 10_000_000 + i), i)  # type: ignore[no-any-return]


def _settings() -> Any:
    from issuer.settings import IssuerSettings

    return IssuerSettings(database_url=URL, id_hmac_key=SecretStr(HMAC_KEY))


def _version() -> str:
    from alembic.script import ScriptDirectory

    from issuer.db.engine import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return f"head={head};generator={GENERATOR};rows={ROWS}"


def _ensure_database() -> None:
    url = make_url(URL)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            ).first()
            if exists is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    finally:
        admin.dispose()


def ensure_database() -> None:
    """Create the database at ``URL`` if the server does not have it (empty)."""
    _ensure_database()


def is_loaded() -> bool:
    """Return True if the database at ``URL`` holds the certificates this generator
    makes (``run`` would reuse them, not load); the database must exist."""
    from issuer.db.engine import make_engine

    engine = make_engine(URL)
    try:
        return _cached(engine)
    finally:
        engine.dispose()


def _cached(engine: Engine) -> bool:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(MARKER):
            return False
        got = conn.execute(sa.text(f"SELECT version FROM {MARKER}")).scalar()
    return got == _version()


def _rows(
    tool: ModuleType, settings: Any, lists: dict[int, Any], restricted: list[str]
) -> Iterator[tuple[str, list[tuple[int, int, int]]]]:
    """Yield (COPY text of one certificate, its batch items (batch, row, id)) per row;
    set each not-valid certificate's entry in ``lists`` (list id to StatusList), and add
    to ``restricted`` the COPY text of a restricted-list entry (category ``revoked``,
    barred five years) for each certificate of the first office revoked for misconduct."""
    from credential import IdType, StatusValue, mask_id
    from issuer.issuance import id_hash, person_ref

    serials: dict[tuple[str, int], int] = {}
    entries = {OFFICE_A: 0, OFFICE_B: 0}  # entries given out per office, in its own lists
    held: set[tuple[str, int, str]] = set()
    batch_rows: dict[int, int] = {}
    for i in range(ROWS):
        p = person(tool, i)
        cert_id = i + 1
        office = OFFICE_B if i % 10 == 9 else OFFICE_A
        group = i // BATCH_ROWS
        in_batch = office == OFFICE_A and group % 5 != 0
        # a batch chunk's certificates share one time (ties the keyset must break)
        at = START + STEP * ((i // 100) * 100 if in_batch else i)
        year = at.year
        serial = serials[(office, year)] = serials.get((office, year), 0) + 1
        qt = _QT[p["qualification_type"]]
        sex = "2" if p["gender"] == "女" else "1"
        code = "001" if office == OFFICE_A else "002"
        number = f"{year}11{code}{qt}{sex}{serial:06d}"
        hashed = id_hash(settings, IdType.RESIDENT_ID, p["id_number"])
        draw = random.Random(i).random()
        status = "revoked" if draw < 0.004 else "suspended" if draw < 0.006 else "valid"
        key = (hashed, qt, p["subject"])
        if status != "revoked":
            if key in held:  # the same person and qualification drawn twice: one holds it
                status = "revoked"
            else:
                held.add(key)
        n = entries[office]
        entries[office] = n + 1
        list_id = (1 if office == OFFICE_A else 1 + LISTS_A) + n // LIST_SIZE
        if status != "valid":
            value = StatusValue.INVALID if status == "revoked" else StatusValue.SUSPENDED
            lists[list_id].set(n % LIST_SIZE, int(value))
        changed = (at + dt.timedelta(days=30)).isoformat() if status != "valid" else "\\N"
        if office == OFFICE_A and draw < 0.004:
            decided = (at + dt.timedelta(days=30)).date()
            restricted.append(
                "\t".join(
                    (
                        str(len(restricted) + 1),
                        person_ref(settings, IdType.RESIDENT_ID, p["id_number"]),
                        "resident_id",
                        "revoked",
                        decided.isoformat(),
                        (decided + dt.timedelta(days=5 * 365)).isoformat(),
                        OFFICE_A,
                        "教师资格条例 第十九条",
                        json.dumps([number]),
                        changed,
                        "\\N",
                        "\\N",
                        p["name"],
                        mask_id(p["id_number"]),
                    )
                )
            )
        reason = {"valid": "\\N", "suspended": "investigation", "revoked": "misconduct"}[status]
        line = "\t".join(
            (
                str(cert_id),
                number,
                "1",
                office,
                str(year),
                str(serial),
                str(qt),
                p["name"],
                p["gender"],
                p["birth_date"],
                "\\N",
                "resident_id",
                hashed,
                mask_id(p["id_number"]),
                p["subject"],
                at.date().isoformat(),
                f"1.2.156.3005.2.bench.{number}.001",
                str(list_id),
                str(n % LIST_SIZE),
                f"{cert_id:08d}.{_BLOB[:1_100]}",
                f"{cert_id:08d}.{_BLOB[:700]}",
                status,
                at.isoformat(),
                "11001-1",
                reason,
                changed,
                "v1",
                "\\N",
            )
        )
        items: list[tuple[int, int, int]] = []
        if in_batch:
            batch_id = group + 1
            batch_rows[batch_id] = batch_rows.get(batch_id, 0) + 1
            items.append((batch_id, batch_rows[batch_id], cert_id))
        yield line, items


def _plain_indexes(conn: sa.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """Return (name, definition) of the indexes of ``tables`` that no constraint owns."""
    got = conn.execute(
        sa.text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:t) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "JOIN pg_class x ON x.oid = c.conindid WHERE x.relname = i.indexname)"
        ),
        {"t": list(tables)},
    ).all()
    return [(r[0], r[1]) for r in got]


def load(engine: Engine) -> tuple[float, float]:
    """Load the 1,111,111 certificates into a freshly migrated schema; return (wall
    seconds, this process's CPU seconds: generating the rows, without the server's)."""
    from credential import StatusList
    from issuer.db.engine import upgrade

    t0, cpu0 = time.perf_counter(), time.process_time()
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    tool, settings = _applicants(), _settings()
    now = START.isoformat()
    with engine.begin() as conn:
        indexes = _plain_indexes(conn, ("certificate", "batch_item"))
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        lists = {n: StatusList(LIST_SIZE, bits=2) for n in range(1, LISTS + 1)}
        conn.execute(
            sa.text(
                "INSERT INTO status_list (id, office_id, ordinal, uri, bits, size, data, "
                "created_at, revision) VALUES (:id, :o, :ord, :uri, 2, :size, :data, :at, 0)"
            ),
            [
                {
                    "id": n,
                    "o": OFFICE_A if n <= LISTS_A else OFFICE_B,
                    "ord": n if n <= LISTS_A else n - LISTS_A,
                    "uri": f"{ISSUER_URL}/statuslists/{n}",
                    "size": LIST_SIZE,
                    "data": lst.to_bytes(),
                    "at": START,
                }
                for n, lst in lists.items()
            ],
        )
        batches = (ROWS + BATCH_ROWS - 1) // BATCH_ROWS
        conn.execute(
            sa.text(
                "INSERT INTO batch (id, office_id, filename, file_sha256, state, total_rows, "
                "valid_rows, error_rows, issued_rows, errors_json, created_by, created_at) "
                "VALUES (:id, :o, :f, :h, 'done', 0, 0, 0, 0, '[]', 'officer:bench', :at)"
            ),
            [
                {"id": g + 1, "o": OFFICE_A, "f": f"round-{g}.csv", "h": f"{g:064d}", "at": now}
                for g in range(batches)
                if g % 5 != 0
            ],
        )
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        items: list[str] = []
        restricted: list[str] = []
        with cur.copy(f"COPY certificate ({_COLUMNS}) FROM STDIN") as copy:
            chunk: list[str] = []
            for line, its in _rows(tool, settings, lists, restricted):
                chunk.append(line)
                items.extend(f"{b}\t{r}\t{c}" for b, r, c in its)
                if len(chunk) == 10_000:
                    copy.write("\n".join(chunk) + "\n")
                    chunk = []
            if chunk:
                copy.write("\n".join(chunk) + "\n")
        with cur.copy("COPY batch_item (batch_id, row_number, certificate_id) FROM STDIN") as copy:
            for start in range(0, len(items), 50_000):
                copy.write("\n".join(items[start : start + 50_000]) + "\n")
        with cur.copy(f"COPY restriction ({_RESTRICTION_COLUMNS}) FROM STDIN") as copy:
            copy.write("".join(line + "\n" for line in restricted))
        with cur.copy("COPY restriction_change (seq, restriction_id, op, at) FROM STDIN") as copy:
            copy.write(
                "".join(
                    f"{n}\t{n}\tadd\t{line.split(chr(9))[9]}\n"
                    for n, line in enumerate(restricted, start=1)
                )
            )
        conn.execute(
            sa.text("UPDATE event_head SET seq = :n WHERE name = 'restriction'"),
            {"n": len(restricted)},
        )
        conn.execute(
            sa.text("UPDATE status_list SET data = :data WHERE id = :id"),
            [{"id": n, "data": lst.to_bytes()} for n, lst in lists.items()],
        )  # the bits the rows set, now that every row is in
        for table in ("certificate", "batch_item", "status_list", "batch", "restriction"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        for _, definition in indexes:
            conn.exec_driver_sql(definition)
        conn.exec_driver_sql(f"CREATE TABLE {MARKER} (version text NOT NULL)")
        conn.execute(sa.text(f"INSERT INTO {MARKER} VALUES (:v)"), {"v": _version()})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) certificate, batch_item, audit_record")
    return time.perf_counter() - t0, time.process_time() - cpu0


def _queries(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Return ~QUERIES criteria per search kind, drawn from the loaded rows."""
    rng = random.Random(SEED)
    tool = _applicants()
    mine = [i for i in rng.sample(range(ROWS), QUERIES * 2) if i % 10 != 9][:QUERIES]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, certificate_number, name, birth_date, created_at FROM certificate "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": [i + 1 for i in mine]},
        ).all()
    by_id = {r.id: r for r in rows}
    picked = [by_id[i + 1] for i in mine]
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def cursor_at(row: Any) -> str:
        from issuer.search.criteria import encode_cursor

        at = row.created_at.astimezone(dt.UTC) - epoch
        micros = (at.days * 86_400 + at.seconds) * 1_000_000 + at.microseconds
        return encode_cursor(("i", micros, int(row.id)))

    batch_ids = [g + 1 for g in range(ROWS // BATCH_ROWS) if g % 5 != 0]
    return {
        "number": [{"number": r.certificate_number} for r in picked],
        "number_prefix": [{"number": r.certificate_number[:10]} for r in picked],
        "name_birth_date": [
            {"name": r.name, "birth_date": r.birth_date.isoformat()} for r in picked
        ],
        "id_number": [{"id_number": person(tool, i)["id_number"]} for i in mine],
        "batch": [{"batch_id": rng.choice(batch_ids)} for _ in picked],
        "status_suspended": [{"status": "suspended"} for _ in picked],
        "status_valid_deep": [{"status": "valid", "cursor": cursor_at(r)} for r in picked],
        "all_page_1": [{} for _ in picked],
        "all_deep_page": [{"cursor": cursor_at(r)} for r in picked],
    }


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000.0


def run() -> dict[str, float]:
    from issuer.db.engine import make_engine
    from issuer.search import find_certificates

    _ensure_database()
    engine = make_engine(URL)
    try:
        cached = _cached(engine)
        seconds, cpu = (0.0, 0.0) if cached else load(engine)
        queries = _queries(engine)
        settings = _settings()
        now = dt.datetime.now(dt.UTC)

        def one(criteria: dict[str, Any]) -> Callable[[], object]:
            def call() -> object:
                with Session(engine) as session:
                    return find_certificates(
                        session,
                        office_id=OFFICE_A,
                        settings=settings,
                        actor=None,
                        now=now,
                        limit=20,
                        **criteria,
                    )

            return call

        for qs in queries.values():  # warm the pool, the caches and the plans
            for q in qs[:20]:
                one(q)()
        times: dict[str, list[float]] = {k: [] for k in queries}
        for n in range(QUERIES):
            for kind, qs in queries.items():
                times[kind].append(_timed(one(qs[n % len(qs)])))
    finally:
        engine.dispose()
    out: dict[str, float] = {
        "search_rows": float(ROWS),
        "search_cached": 1.0 if cached else 0.0,
        "search_load_seconds": seconds,
        "search_load_cpu_seconds": cpu,
    }
    for kind, ts in times.items():
        p50 = statistics.median(ts)
        p99 = statistics.quantiles(ts, n=100)[98]
        out[f"search_{kind}_p50_ms"] = p50
        out[f"search_{kind}_p99_ms"] = p99
        out[f"search_{kind}_p99_ratio"] = p99 / GOAL_MS
    return out


if __name__ == "__main__":
    print("[bench.search]")
    for key, value in run().items():
        print(f"  {key:<36} {value:>14,.3f}")
